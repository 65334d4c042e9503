#!/usr/bin/env python3
"""bench/detect/gen_cases.py — generated detection cases for the guard.

usage: gen_cases.py [--seed N] [--per-class N] > cases.jsonl

Takes secrecy markings, lower-level markings, ID numbers and government
look-alike links, applies each evasion class to them, and adds traps
(ordinary writing that must pass). Separate from tests/cases on purpose: the
tests pin behaviour case by case; this measures how much of each evasion
class a change catches, on many variants the tests never saw.

One JSON object per line:
  id        unique, also the file name the runner writes
  category  marking | internal | pii_id | link
  cls       the evasion class (plain, sep_punct, ...); traps: trap_<kind>
  positive  true: must be caught; false: a trap, must be allowed
  scope     internal | external (what `cordon scan --scope` gets)
  rules     rule ids that count as catching it (positives)
  min       the weakest verdict that counts as caught (positives)
  text      the message

Deterministic for a seed; Python 3 standard library only.
"""
import argparse
import json
import random
import sys

LEVELS = ["绝密", "机密", "秘密"]
TERMS = ["10年", "1年", "30年", "5年", "6个月", "长期", "20年", "十年", "三个月"]
AFTER = ["关于某项目的请示", "关于调整部分人员的通知", "附件：项目清单", "请各单位认真贯彻执行。", ""]
PUNCT = "-_.*~|/+=:;,!#"
QUOTES = [('"', '"'), ("'", "'"), ("“", "”"), ("「", "」")]
STARS = ["*", "★", "☆", "✱", "＊"]
# first character -> its components (the first a Kangxi radical or not)
COMPONENTS = {"机": ["⽊几", "木几"], "秘": ["禾必"], "绝": ["纟色", "糸色", "⽷色"]}
LOOKALIKE = {"机": ["杌", "杋"], "秘": ["袐"], "绝": []}
DENSE = {"密": ["宻"]}
TITLES = ["会议纪要", "工作方案", "情况报告", "项目进展汇报", "人员名单"]
NOUNS = ["件", "文件", "材料", "资料"]
INSTR = ["请勿外传", "不得复制", "严禁转发", "注意保密", ""]
INTERNAL = ["内部资料", "工作秘密", "注意保存", "内部"]
ID_REGIONS = ["110105", "510107", "440305", "320102", "330106", "420111"]
TLDS = ["top", "xyz", "cc", "vip", "club", "site", "online"]
WORDS = ["verify-login", "secure-check", "account", "auth-center", "service", "portal-cn"]


def check_digit(s17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(a) * b for a, b in zip(s17, w)) % 11]


def make_id(rnd):
    y = rnd.randint(1950, 2005)
    m = rnd.randint(1, 12)
    d = rnd.randint(1, 28)
    s17 = "%s%04d%02d%02d%03d" % (rnd.choice(ID_REGIONS), y, m, d, rnd.randint(0, 999))
    return s17 + check_digit(s17)


def bad_id(rnd):
    s = make_id(rnd)
    wrong = [c for c in "0123456789X" if c != s[-1]]
    return s[:-1] + rnd.choice(wrong)


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in s)


class Gen:
    def __init__(self, seed, per):
        self.rnd = random.Random(seed)
        self.per = per
        self.out = []

    def add(self, category, cls, positive, text, scope="external", rules=(), min_verdict="confirm"):
        self.out.append({"id": "%s-%s-%04d" % (category, cls, len(self.out)),
                         "category": category, "cls": cls, "positive": positive,
                         "scope": scope, "rules": list(rules), "min": min_verdict,
                         "text": text})

    def marking(self):
        r = self.rnd
        return r.choice(LEVELS), r.choice(TERMS), r.choice(AFTER)

    def mark(self, cls, text):
        self.add("marking", cls, True, text, rules=["marking.classified"])

    def tail(self, after):
        return "\n" + after + "\n" if after else "\n"

    def markings(self):
        r = self.rnd
        for _ in range(self.per):
            lv, term, after = self.marking()
            t = self.tail(after)
            self.mark("plain", lv + "★" + term + t)
            # separators between every part: 机-密-★-1-0-年
            p = r.choice(PUNCT)
            parts = list(lv) + ["★"] + list(term)
            if r.random() < 0.5:
                self.mark("sep_punct", p.join(parts) + t)
            else:
                self.mark("sep_punct", "".join(c + (r.choice(PUNCT) if r.random() < 0.6 else "")
                                               for c in parts[:-1]) + parts[-1] + t)
            self.mark("sep_space", " ".join(parts) + t)
            self.mark("zero_width", "\u200b".join(lv) + "★" + term + t)
            q = r.choice(QUOTES)
            self.mark("quotes", q[0] + lv + q[1] + "★" + q[0] + term + q[1] + t)
            self.mark("star_inside", lv[0] + r.choice(STARS) + lv[1] + "★" + term + t)
            self.mark("line_break", lv[0] + "\n" + lv[1] + "★" + term + t)
            comp = r.choice(COMPONENTS[lv[0]])
            self.mark("components", comp + lv[1] + "★" + term + t)
            look = LOOKALIKE[lv[0]]
            if look:
                self.mark("lookalike_char", r.choice(look) + lv[1] + "★" + term + t)
            else:
                self.mark("lookalike_char", lv[0] + DENSE["密"][0] + "★" + term + t)
            self.mark("fullwidth", lv + "★" + fullwidth(term) + t)
            self.mark("no_star", lv + r.choice([" ", "  ", ""]) + term + t)
            br = r.choice([("（", "）"), ("【", "】"), ("(", ")"), ("〔", "〕")])
            if r.random() < 0.5:
                self.mark("bracket", r.choice(TITLES) + br[0] + lv + br[1] + t)
            else:
                self.mark("bracket", br[0] + lv + br[1] + "★" + term + " " + after + "\n")
            noun = r.choice(NOUNS)
            instr = r.choice(INSTR)
            self.mark("noun", lv + noun + ("，" + instr if instr else "") + "\n")
            # two evasions at once: a look-alike and separators
            first = r.choice(LOOKALIKE[lv[0]] or [lv[0]])
            self.mark("mixed", first + r.choice(PUNCT) + lv[1] + r.choice(PUNCT) + "★" +
                      r.choice(PUNCT).join(term) + t)

    def internals(self):
        r = self.rnd
        for _ in range(self.per):
            w = r.choice(INTERNAL)
            self.add("internal", "plain", True, w + "\n" + r.choice(AFTER) + "\n",
                     rules=["marking.internal"], min_verdict="block")
            self.add("internal", "with_noun", True,
                     r.choice(["工作秘密", "内部资料", "内部"]) + r.choice([" ", ""]) +
                     r.choice(["文件", "材料"]) + "\n" + r.choice(AFTER) + "\n",
                     rules=["marking.internal"], min_verdict="block")
            ws = r.sample(INTERNAL[:3], r.randint(2, 3))
            self.add("internal", "combined", True, " ".join(ws) + "\n" + r.choice(AFTER) + "\n",
                     rules=["marking.internal"], min_verdict="block")

    def ids(self):
        r = self.rnd
        for _ in range(self.per):
            i = make_id(r)
            kw = r.choice(["身份证", "身份证号：", "证件号 ", "身份证号码 "])
            rules = ["pii.cn_id"]
            self.add("pii_id", "plain", True, kw + i + "\n", rules=rules, min_verdict="mask")
            g = r.choice([(6, 6, 6), (6, 8, 4), (3, 3, 4, 4, 4), (6, 4, 4, 4), (6, 6, 3, 3)])
            parts, p = [], 0
            for n in g:
                parts.append(i[p:p + n])
                p += n
            self.add("pii_id", "grouped_space", True, kw + " ".join(parts) + "\n",
                     rules=rules, min_verdict="mask")
            self.add("pii_id", "grouped_hyphen", True, kw + "-".join(parts) + "\n",
                     rules=rules, min_verdict="mask")
            self.add("pii_id", "fullwidth", True, kw + fullwidth(i) + "\n",
                     rules=rules, min_verdict="mask")

    def links(self):
        r = self.rnd
        for _ in range(self.per):
            host = "%s%s.%s.%s" % (r.choice(["www.", ""]), r.choice(["gov.cn", "mil.cn"]),
                                   r.choice(WORDS), r.choice(TLDS))
            url = r.choice(["https://", "http://", ""]) + host + r.choice(["", "/login", "/v?id=3"])
            self.add("link", "gov_prefix", True, "请点击 " + url + " 完成核验\n",
                     rules=["link.lookalike"], min_verdict="block")

    def traps(self):
        r = self.rnd
        marking_traps = [
            "这是我们的小秘密", "保守国家秘密是公民的义务", "机密文件管理培训通知",
            "据报道，某公司发生机密泄露事件，涉事员工已被调查。", "请把机密件交给保密员登记。",
            "这是关于绝密文件管理办法的培训", "请换一部手机\n密码稍后发你", "信息安全三要素：机密性、完整性和可用性",
            "周末去看《绝密档案》吗？", "秘密花园这本书很好看", "商业秘密保护专题讲座下周举行",
            "她把这个秘密藏了十年", "绝密行动这部电影上映了", "机密等级划分标准学习材料下发",
            "他是机\n关的老同志", "有个秘\n密想告诉你", "秘密★是什么意思？大家讨论一下",
            "这份文件是不是机密件？请确认后再发", "我们要做好保密工作，不该说的不说",
        ]
        for t in marking_traps:
            for suffix in ("", "\n" + r.choice(AFTER[:2])):
                self.add("marking", "trap_sentence", False, t + suffix + "\n")
        internal_traps = ["内部讨论一下这个问题", "工作秘密的定级标准是什么？", "内部资料室今天不开放",
                          "请注意保存好发票", "这是内部员工的福利"]
        for t in internal_traps:
            self.add("internal", "trap_sentence", False, t + "\n")
        for _ in range(self.per):
            b = bad_id(r)
            g = r.choice([(6, 6, 6), (6, 8, 4)])
            parts, p = [], 0
            for n in g:
                parts.append(b[p:p + n])
                p += n
            self.add("pii_id", "trap_number", False,
                     r.choice(["订单号 ", "流水号：", "编号 "]) + r.choice([" ", "-"]).join(parts) + "\n")
        for t in ["https://www.gov.cn/zhengce/", "http://www.beijing.gov.cn/", "www.mof.gov.cn",
                  "https://www.12371.cn/", "http://www.81.cn/", "https://nda.gov.cn.edu.example"]:
            # the last is itself a look-alike: kept out of the traps
            if "example" in t:
                continue
            self.add("link", "trap_real", False, "官网 " + t + " 查看\n")

    def run(self):
        self.markings()
        self.internals()
        self.ids()
        self.links()
        self.traps()
        return self.out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-class", type=int, default=40)
    a = ap.parse_args()
    for c in Gen(a.seed, a.per_class).run():
        sys.stdout.write(json.dumps(c, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
