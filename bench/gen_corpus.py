#!/usr/bin/env python3
"""gen_corpus.py — the text-guard benchmark's corpus and lexicons.

usage: gen_corpus.py OUTDIR [--mb 200] [--seed 1] [--jobs 2]

Writes, deterministically for a given --mb and --seed (no downloads, stdlib
only):
  OUTDIR/corpus/part-NNN.txt  --mb files of ~1 MiB each: mixed Chinese/English
                              work chat and official-document text with dates,
                              amounts, URLs, e-mail addresses, phone numbers,
                              valid-checksum PRC ID numbers, bank cards, a few
                              secret-looking tokens, classified markings
                              (机密★1年 …), traditional-character and full-width
                              passages, and lexicon terms at a controlled rate.
  OUTDIR/lex10k.txt, lex1m.txt  lexicons, `term<TAB>category<TAB>severity`.
  OUTDIR/lex10k.rg, lex1m.rg    the term column only, for `rg -F -f`.
  OUTDIR/corpus.json            what was generated (sizes, counts, parameters);
                                written last, so its presence means "complete".

Why it is built this way: the benchmark compares a normalising multi-detector
scan against ripgrep's fixed-string search, so the text must look like what
the guard meets (mostly CJK, some ASCII, occasional evasion forms) and the
lexicon must hit at a realistic rate — a term every few KB. Lexicon terms are
code names composed from a pool of characters that also occur in ordinary
text, so the matcher meets many near misses, but any candidate term that occurs
in a sample of ordinary generated text is rejected: terms then appear only
where the generator injects them, and the hit rate is what we chose.

Files are generated in parallel; each file has its own seeded generator, so
the output does not depend on --jobs.
"""
import argparse
import json
import math
import os
import random
import re
import sys

VERSION = 3  # bump when the output for a given seed changes
FILE_BYTES = 1 << 20

# ---- vocabulary --------------------------------------------------------------

ORGS = ("办公厅 人事处 财务处 信息中心 技术部 市场部 研发中心 综合办公室 后勤保障部 法务部 审计处 "
        "质量管理部 采购中心 安全保卫处 战略发展部 运营中心 客服部 党委办公室 工会 档案室 科技处 "
        "规划处 基建处 保密办 监察室 培训中心 数据中心 产品部 销售部 行政部").split()
NAMES = ("张伟 王芳 李娜 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴强 徐丽 孙浩 马超 朱琳 胡斌 郭婷 何勇 高峰 "
         "林涛 罗佳 郑凯 梁雪 宋宇 谢萍 韩冰 唐敏 冯军 于洋 董丽 萧然 程亮 曹阳 袁媛 邓超 许晴 "
         "傅强 沈冰 曾鑫 彭博 吕琳").split()
TITLES = "经理 主任 处长 总监 科长 老师 工程师 主管 部长 同志 总 助理".split()
DOCS = ("工作方案 会议纪要 年度预算 技术方案 采购合同 季度报告 考核办法 培训计划 实施细则 应急预案 "
        "项目进度表 需求说明书 测试报告 验收报告 财务报表 招标文件 管理制度 操作手册 工作总结 "
        "调研报告 可行性研究报告 请示 批复 通报 函 备忘录 合作协议 接口文档 部署方案 周报").split()
TASKS = ("系统升级 数据迁移 设备采购 人员培训 安全检查 年终考核 预算编制 合同审批 网络改造 档案整理 "
         "服务器维护 软件测试 客户回访 质量抽检 流程优化 资产盘点 信息化建设 制度修订 绩效评估 "
         "应急演练 版本发布 需求评审 代码审查 供应商评估 项目验收 办公用品申领 差旅报销 "
         "值班安排 节前安全检查 用户调研").split()
VERBS = "审核 修改 提交 完善 落实 推进 协调 汇总 整理 核对 签发 报送 跟进 复核 归档 确认 处理 更新".split()
ADVS = "尽快 务必 及时 认真 按时 抓紧 切实 进一步 统筹 严格 全面 稳妥".split()
TIMES = ("今天下午 明天上午 本周五前 下周一 月底前 下午三点 上午十点半 周三下班前 本月二十号 "
         "节后第一天 今晚八点 后天 这周内 下个月初 中午之前").split()
PLACES = ("三楼会议室 第二会议室 报告厅 二号楼五层 视频会议室 行政楼201 多功能厅 线上腾讯会议 "
          "一号楼大厅 东区食堂 培训教室 机房").split()
ITEMS = "人员经费 设备购置费 差旅费 会议费 培训费 外包服务费 软件许可费 办公费 专家咨询费 维修费".split()
CHAT_SHORT = ("收到 好的 辛苦了 谢谢 没问题 马上处理 稍等 已阅 明白 好的，我看一下 收到，谢谢 "
              "👍 好的👌 在开会，晚点回复 已处理 OK 可以 同意 我这边没问题 麻烦了").split()

EN_DOCS = ("design doc,quarterly report,budget proposal,test plan,release notes,contract draft,"
           "meeting minutes,onboarding guide,incident report,API spec,roadmap,slide deck,"
           "security review,invoice,purchase order").split(",")
EN_TASKS = ("database migration,server upgrade,code review,load testing,vendor evaluation,"
            "data cleanup,UI redesign,audit preparation,hiring plan,cost analysis,"
            "customer onboarding,license renewal,backup restore drill,on-call rotation").split(",")
EN_TIMES = ("Friday,end of day,next Monday,tomorrow morning,3 pm,the end of the month,"
            "next sprint,Q3,noon,the weekly sync").split(",")
EN_TEAMS = "platform,data,infra,mobile,finance,legal,sales,support,QA,security,design".split(",")
EN_VERBS = "review,update,finish,ship,check,merge,deploy,schedule,approve,revise,test".split(",")
EN_NAMES = ("Alice,Bob,Carol,David,Emma,Frank,Grace,Henry,Irene,Jack,Kevin Zhang,Lily Wang,"
            "Michael Chen,Nina Liu,Oscar Li,Peter Wu").split(",")
EN_SYSTEMS = "staging,prod-eu,ci-runner-3,build farm,k8s cluster,jenkins,the VPN,GitLab".split(",")
EN_PLACES = "room 3B,the main conference room,Zoom,the 5th floor lounge,Teams".split(",")

CORPS = "hengtai huaxin zhongke tianyuan jinghua ruida".split()
PINYIN = ("zhang wang li liu chen yang zhao huang zhou wu xu sun ma zhu hu guo he gao lin luo "
          "wei fang na yang jing fan lei min jie qiang li hao chao lin bin ting yong feng tao").split()
EXT_DOMAINS = ("gmail.com qq.com 163.com outlook.com sina.com foxmail.com yahoo.com "
               "protonmail.com").split()
AREAS = ("110101 110105 110108 120101 130102 310101 310104 310115 320102 320106 330102 330106 "
         "370102 410105 420106 430104 440103 440305 440106 500103 510104 610113 210102 "
         "350203").split()
MOBILE_PREFIX = ("130 131 132 133 135 136 137 138 139 147 150 151 152 153 155 156 157 158 159 "
                 "166 170 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199").split()
MARKINGS = ("机密★1年 秘密★长期 绝密★30年 机密★10年 秘密★6个月 机密★长期 秘密★5年 "
            "绝密★长期").split()
CN_DIGITS = "〇一二三四五六七八九"

# Simplified → traditional for the characters the vocabulary uses most, enough
# to make passages a reader would call traditional.
TRAD = str.maketrans(
    "会议发门这个时项经计划报说对们国实现应关于为与务处术数据统产进开动网电话机级资长请问题"
    "见该过还让达设务总结财预测试验收档规范围检查组织领导单员书办公费讯图读写东车马鸟"
    "龙凤门风云阳华业务专区为执标准备调决质层确认记录复杂线审核签",
    "會議發門這個時項經計劃報說對們國實現應關於為與務處術數據統產進開動網電話機級資長請問題"
    "見該過還讓達設務總結財預測試驗收檔規範圍檢查組織領導單員書辦公費訊圖讀寫東車馬鳥"
    "龍鳳門風雲陽華業務專區為執標準備調決質層確認記錄複雜線審核簽")

# Lexicon term material. Code-name characters come from ordinary text on
# purpose (near misses for the matcher); candidates that occur in ordinary
# generated text are rejected below.
CODE_CHARS = ("天地玄黄宇宙洪荒日月星辰风云雷电山河湖海江川龙虎凤鹰鹏麒麟狮豹狼雁鹤松柏梅兰竹菊"
              "金银铜铁玉石晶钻红橙绿青蓝紫白黑赤东南西北中长远高新华光明辉耀曙晨旭阳春夏秋冬雪"
              "霜雨露冰火炎焰神圣灵盾剑弓箭矛锋刃航飞翔腾跃启先卫哨鼎昆仑泰岳峰岭瀚澜涛浪舟帆"
              "星磐石坚韧锐捷迅疾远征巡弋穹苍极寰瑞祥")
CODE_SUFFIX = ("工程 项目 计划 行动 系统 基地 专项 平台 型 号 任务 方案 课题 中心 装置 一号 二期 三期 "
               "试验 站 舰 机 卫星 网络 数据库 芯片 模块 协议").split()
SUFFIX_CATEGORY = {"基地": "facility", "中心": "facility", "站": "facility", "舰": "equipment",
                   "机": "equipment", "卫星": "equipment", "型": "equipment", "号": "equipment",
                   "装置": "equipment", "芯片": "equipment", "模块": "equipment"}
EN_ADJ = ("crimson silent iron golden northern hidden frozen swift emerald obsidian scarlet amber "
          "azure silver midnight broken distant hollow radiant shadow stone thunder winter "
          "copper cobalt ivory jade onyx velvet wild").split()
EN_NOUN = ("falcon harbor lantern anvil citadel meridian heron glacier orchid sentinel compass "
           "ember raven tempest beacon cascade dagger fortress horizon kestrel lotus monolith "
           "nebula phoenix quarry rampart spire talon vortex zenith").split()
SEVERITIES = (("info", 10), ("low", 20), ("medium", 35), ("high", 25), ("critical", 10))

# ---- small generators -----------------------------------------------------------


def id_check(first17):
    """GB 11643 check character (ISO 7064 MOD 11-2)."""
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * k for c, k in zip(first17, w)) % 11]


def luhn_complete(prefix15):
    total = 0
    for i, c in enumerate(reversed(prefix15)):
        d = int(c)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix15 + str((10 - total % 10) % 10)


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c)
                   for c in s)


class Gen:
    """Fills templates; every {slot} lookup draws a fresh random value."""

    def __init__(self, rng):
        self.rng = rng
        self.term = None  # the next lexicon term to inject, set by the writer
        r = rng
        c = r.choice

        def date_cn():
            return "%d年%d月%d日" % (r.randint(2019, 2025), r.randint(1, 12), r.randint(1, 28))

        def date_en():
            return "%d-%02d-%02d" % (r.randint(2019, 2025), r.randint(1, 12), r.randint(1, 28))

        def money():
            k = r.random()
            if k < 0.4:
                return "%.1f万元" % (r.randint(5, 9999) / 10)
            if k < 0.8:
                return "{:,}元".format(r.randint(100, 999999))
            return "%d亿元" % r.randint(1, 30)

        self.slots = {
            "org": lambda: c(ORGS), "name": lambda: c(NAMES), "title": lambda: c(TITLES),
            "doc": lambda: c(DOCS), "task": lambda: c(TASKS), "verb": lambda: c(VERBS),
            "adv": lambda: c(ADVS), "time": lambda: c(TIMES), "place": lambda: c(PLACES),
            "item": lambda: c(ITEMS), "short": lambda: c(CHAT_SHORT),
            "date": date_cn, "date_en": date_en, "money": money,
            "year": lambda: str(r.randint(2019, 2025)),
            "n": lambda: str(r.randint(1, 99)), "nn": lambda: str(r.randint(100, 99999)),
            "pct": lambda: "%.1f%%" % (r.random() * 60),
            "q": lambda: str(r.randint(1, 4)),
            "en_doc": lambda: c(EN_DOCS), "en_task": lambda: c(EN_TASKS),
            "en_time": lambda: c(EN_TIMES), "en_team": lambda: c(EN_TEAMS),
            "en_verb": lambda: c(EN_VERBS), "en_name": lambda: c(EN_NAMES),
            "en_system": lambda: c(EN_SYSTEMS), "en_place": lambda: c(EN_PLACES),
            "money_en": lambda: "$%.1fM" % (r.random() * 90 + 1),
            "ticket": lambda: c(("OPS", "DEV", "SEC", "FIN", "HR")),
            "url": self.url, "email": self.email, "phone": self.phone, "idno": self.idno,
            "card": self.card, "secret": self.secret, "marking": lambda: c(MARKINGS),
            "term": lambda: self.term,
        }

    def __getitem__(self, key):  # str.format_map protocol
        return self.slots[key]()

    def fill(self, template):
        return template.format_map(self)

    # -- PII, links, secrets --
    def url(self):
        r = self.rng
        corp = r.choice(CORPS)
        k = r.randrange(7)
        if k == 0:
            return "https://oa.%s.com.cn/workflow/view?id=%d" % (corp, r.randint(10000, 999999))
        if k == 1:
            return "https://docs.%s.cn/d/%x" % (corp, r.getrandbits(48))
        if k == 2:
            return "https://www.gov.cn/zhengce/content/%d-%02d/%02d/content_%d.htm" % (
                r.randint(2019, 2025), r.randint(1, 12), r.randint(1, 28), r.randint(5e6, 7e6))
        if k == 3:
            return "https://github.com/%s/%s/pull/%d" % (corp, r.choice(("core", "infra", "web")),
                                                         r.randint(1, 9999))
        if k == 4:
            return "http://10.%d.%d.%d:8080/jenkins/job/build-%d/" % (
                r.randint(0, 255), r.randint(0, 255), r.randint(1, 254), r.randint(1, 500))
        if k == 5:
            return "https://t.cn/%s" % "".join(r.choice("abcdefghijkLMNOPQ0123456789")
                                               for _ in range(7))
        return "https://pan.baidu.com/s/1%s" % "".join(r.choice("abcdefXYZ0123456789_-")
                                                       for _ in range(22))

    def email(self):
        r = self.rng
        if r.random() < 0.6:
            return "%s.%s@%s.com.cn" % (r.choice(PINYIN), r.choice(PINYIN), r.choice(CORPS))
        if r.random() < 0.5:
            return "%d@qq.com" % r.randint(10000000, 3999999999)
        return "%s%s%d@%s" % (r.choice(PINYIN), r.choice(PINYIN), r.randint(1, 999),
                              r.choice(EXT_DOMAINS))

    def phone(self):
        r = self.rng
        p, a, b = r.choice(MOBILE_PREFIX), r.randint(0, 9999), r.randint(0, 9999)
        k = r.random()
        if k < 0.55:
            return "%s%04d%04d" % (p, a, b)
        if k < 0.7:
            return "%s-%04d-%04d" % (p, a, b)
        if k < 0.85:
            return "%s %04d %04d" % (p, a, b)
        if k < 0.93:
            return "+86 %s %04d %04d" % (p, a, b)
        return "0%d-%04d%04d" % (r.choice((10, 21, 755, 571, 28)), a, b)  # landline

    def idno(self):
        r = self.rng
        first17 = "%s%04d%02d%02d%03d" % (r.choice(AREAS), r.randint(1955, 2004),
                                          r.randint(1, 12), r.randint(1, 28), r.randint(1, 999))
        return first17 + id_check(first17)

    def card(self):
        r = self.rng
        bin_ = r.choice(("622202", "621700", "622848", "622588", "436742", "625965"))
        return luhn_complete(bin_ + "%09d" % r.randint(0, 999999999))

    def secret(self):
        r = self.rng
        k = r.randrange(4)
        if k == 0:
            return "AKIA" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        if k == 1:
            return "ghp_" + "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789")
                                    for _ in range(36))
        if k == 2:
            return "-----BEGIN RSA PRIVATE KEY-----"
        return "xoxb-%d-%d-%s" % (r.randint(1e11, 1e12 - 1), r.randint(1e11, 1e12 - 1),
                                  "".join(r.choice("abcdefghijKLMNOP0123456789")
                                          for _ in range(24)))


# ---- templates --------------------------------------------------------------------

DOC_SENT = [
    "根据{org}《关于{adv}做好{task}工作的通知》要求，现将有关事项通知如下。",
    "{org}要{adv}{verb}{doc}，确保{task}工作顺利开展。",
    "各部门须于{date}前将{doc}报送至{org}，逾期不予受理。",
    "经研究决定，由{name}同志负责{task}相关工作，{org}予以配合。",
    "本{doc}自印发之日起施行，由{org}负责解释。",
    "{year}年度{task}经费预算为{money}，其中{item}占{pct}。",
    "{org}于{date}组织召开{task}专题会议，{name}{title}出席会议并讲话。",
    "会议指出，{task}是当前一项重要工作，各单位要{adv}{verb}，不得敷衍。",
    "截至{date}，已完成{task}{n}项，完成率{pct}，累计投入{money}。",
    "对{task}中发现的问题，{org}将{adv}{verb}整改，并于{time}形成{doc}。",
    "请各单位高度重视，{adv}{verb}{doc}，确保按期完成。",
    "联系人：{org}{name}。",
    "附件：{n}. {doc}",
    "（此件不公开，仅限内部使用）",
]
CHAT_SENT = [
    "{name}{title}，{doc}我已经发你邮箱了，麻烦看一下。",
    "{short}",
    "{short}，{time}之前{verb}完。",
    "{time}在{place}开会，讨论{task}的事情，请准时参加。",
    "@{name} {doc}第{n}页的数据好像不对，能再核对一下吗？",
    "这个{task}的进度怎么样了？客户那边在催。",
    "我在外面，{time}回来再处理。",
    "已{verb}，请查收。",
    "{name}：附件是{doc}（第{n}版），请{adv}{verb}。",
    "{task}的{doc}放在共享盘了，路径是 共享盘/{org}/{year}/{doc}",
    "明天的review改到{time}了，{place}，大家带电脑。",
    "这个bug在{en_system}上能复现，PR已经提了，编号{nn}。",
    "报销的发票抬头写公司全称，金额{money}，{time}前交给{name}。",
    "好的，我这边{adv}跟进，有问题再找你。",
    "{name}的分机是{nn}，有事直接打给他。",
    "合同编号HT-{year}-{nn}，{time}前盖章。",
]
EN_SENT = [
    "Please review the {en_doc} before {en_time}.",
    "The {en_team} team will {en_verb} the {en_task} by {date_en}.",
    "Meeting moved to {en_time} in {en_place}, agenda: {en_task}.",
    "Thanks, I'll {en_verb} it today.",
    "FYI build #{nn} failed on {en_system}; see the CI log.",
    "Q{q} revenue was {money_en}, up {pct} year over year.",
    "Can you send me the latest {en_doc}? The client is waiting.",
    "Ticket {ticket}-{nn} has been assigned to {en_name}.",
    "Hi {en_name}, the {en_doc} is attached. Let me know if anything is missing.",
    "Reminder: {en_task} starts {en_time}, please {en_verb} your part first.",
    "Contact {en_name} for access to {en_system}.",
]
# One of these carries each planted feature; {x} is the feature's slot.
PLANT = {
    "term": ["关于{term}的材料请{adv}{verb}，不要外传。", "{name}：{term}的进度表已更新。",
             "（涉及{term}）", "下午讨论{term}相关事宜，{place}。", "{term}", "re: {term} status?"],
    "phone": ["{name}，电话{phone}。", "有事打我手机 {phone}", "联系方式：{phone}（{name}）",
              "Call me at {phone}."],
    "idno": ["身份证号：{idno}", "{name}，身份证号码{idno}，请核对。", "乘车人 {name} 证件号 {idno}",
             "ID: {idno}"],
    "email": ["请发到{email}。", "Please cc {email}.", "邮箱：{email}"],
    "url": ["详见 {url}", "链接：{url}", "See {url} for details.", "{url}"],
    "card": ["收款账号：{card}，开户行：中国工商银行。", "卡号 {card} 户名 {name}"],
    "secret": ["测试环境的key先用这个：{secret}", "token: {secret}", "{secret}"],
    "marking": ["{marking}", "{marking}\n{org}文件", "密级：{marking}"],
}
# Mean bytes between planted features (exponential gaps).
PLANT_GAP = {"term": 3000, "phone": 8000, "email": 12000, "url": 8000, "idno": 16000,
             "card": 48000, "secret": 64000, "marking": 24000}


def sentence(g, kind):
    r = g.rng
    if kind == "en":
        s = g.fill(r.choice(EN_SENT))
        return fullwidth(s) if r.random() < 0.03 else s
    s = g.fill(r.choice(DOC_SENT if kind == "doc" else CHAT_SENT))
    if r.random() < 0.04:
        s = s.translate(TRAD)
    elif r.random() < 0.01:
        s = fullwidth(s)
    return s


class Writer:
    """Builds one file's text and plants features at exponential byte gaps."""

    def __init__(self, rng, terms):
        self.rng, self.terms = rng, terms
        self.g = Gen(rng)
        self.parts, self.size = [], 0
        self.next = {k: rng.expovariate(1 / v) for k, v in PLANT_GAP.items()}
        self.counts = dict.fromkeys(PLANT_GAP, 0)

    def add(self, s):
        self.parts.append(s)
        self.size += len(s.encode())

    def planted(self):
        """A sentence carrying the next due feature, or None."""
        for k, at in self.next.items():
            if self.size >= at:
                self.next[k] = self.size + self.rng.expovariate(1 / PLANT_GAP[k])
                self.counts[k] += 1
                if k == "term":
                    self.g.term = self.rng.choice(self.terms)
                s = self.g.fill(self.rng.choice(PLANT[k]))
                # Some terms and markings in traditional characters: the guard
                # folds them back, a fixed-string search cannot.
                if k in ("term", "marking") and self.rng.random() < 0.05:
                    s = s.translate(TRAD)
                return s
        return None

    def body(self, kind):
        p = self.planted()
        if p is None:
            return sentence(self.g, kind)
        # Sentences are run together in documents: keep an ASCII token (a
        # key, a URL) from running into the next sentence's digits.
        return p + "。" if kind == "doc" and p[-1:].isascii() else p

    def chat_block(self):
        r, g = self.rng, self.g
        y, mo, d = r.randint(2021, 2025), r.randint(1, 12), r.randint(1, 28)
        h, mi = r.randint(8, 20), r.randint(0, 59)
        group = r.choice(TASKS) + r.choice(("群", "项目群", "工作群", "讨论组"))
        self.add("\n==== %s %d-%02d-%02d ====\n" % (group, y, mo, d))
        for _ in range(r.randint(15, 60)):
            mi += r.randint(0, 9)
            h, mi = h + mi // 60, mi % 60
            who = r.choice(NAMES) if r.random() < 0.85 else r.choice(EN_NAMES)
            kind = "en" if r.random() < 0.12 else "chat"
            msg = self.body(kind)
            if r.random() < 0.3:
                msg += " " + sentence(g, kind)
            self.add("[%d-%02d-%02d %02d:%02d:%02d] %s：%s\n" % (y, mo, d, h % 24, mi,
                                                                   r.randint(0, 59), who, msg))

    def doc_block(self):
        r, g = self.rng, self.g
        if r.random() < 0.1:
            self.add("\n" + g.fill("{marking}") + "\n")
        self.add("\n%s关于%s%s的通知\n\n" % (r.choice(ORGS), r.choice(ADVS) + "做好", r.choice(TASKS)))
        for i in range(r.randint(3, 9)):
            lead = "%s、" % "一二三四五六七八九"[i] if r.random() < 0.5 else "　　"
            self.add(lead + "".join(self.body("doc") for _ in range(r.randint(2, 6))) + "\n")
        self.add("\n%s\n%s\n" % (r.choice(ORGS), g.fill("{date}")))

    def en_block(self):
        r = self.rng
        self.add("\nFrom: %s\nSubject: %s\n\n" % (r.choice(EN_NAMES), r.choice(EN_TASKS)))
        for _ in range(r.randint(2, 5)):
            self.add(" ".join(self.body("en") for _ in range(r.randint(2, 5))) + "\n\n")

    def fill_to(self, nbytes):
        r = self.rng
        while self.size < nbytes:
            k = r.random()
            if k < 0.55:
                self.chat_block()
            elif k < 0.85:
                self.doc_block()
            else:
                self.en_block()
        return "".join(self.parts)


def write_file(args):
    outdir, seed, idx, terms = args
    w = Writer(random.Random("cordon-corpus:%d:%d" % (seed, idx)), terms)
    text = w.fill_to(FILE_BYTES)
    path = os.path.join(outdir, "corpus", "part-%03d.txt" % idx)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return len(text.encode()), w.counts


# ---- lexicons ------------------------------------------------------------------------


def ordinary_text(seed):
    """~2 MB of ordinary (unplanted) text: what terms must not occur in."""
    w = Writer(random.Random("cordon-sample:%d" % seed), ["x"])
    w.next = {k: math.inf for k in w.next}  # plant nothing
    return w.fill_to(2 * FILE_BYTES)


def cjk_substrings(text):
    """Every 2–6-character substring of the text's non-ASCII runs (Chinese
    terms are non-ASCII, so nothing else could equal one)."""
    seen = set()
    for run in re.findall(r"[^\x00-\x7f]{2,}", text):
        for n in range(2, 7):
            for i in range(len(run) - n + 1):
                seen.add(run[i:i + n])
    return seen


def make_terms(seed, count, sample):
    """`count` distinct terms, none occurring in `sample`. English code names
    use words the English templates never do, so they need no check."""
    rng = random.Random("cordon-lexicon:%d" % seed)
    reject = cjk_substrings(sample)
    chars = sorted(set(CODE_CHARS))
    used = set(sample)
    rare = [c for c in chars if c not in used]
    sev_names = [s for s, _ in SEVERITIES]
    sev_w = [w for _, w in SEVERITIES]
    out, seen = [], set()
    while len(out) < count:
        k = rng.random()
        if k < 0.05:  # English code names
            t = "%s %s" % (rng.choice(EN_ADJ), rng.choice(EN_NOUN))
            j = rng.random()
            if j < 0.3:
                t = "project " + t
            elif j < 0.5:
                t = "operation " + t
            elif j < 0.8:
                t += " %d" % rng.randint(1, 999)
            cat = "codename"
        elif k < 0.07 and rare:  # two rare characters: short terms, still rare in text
            t = rng.choice(rare) + rng.choice(chars)
            cat = "codename"
        else:
            name = "".join(rng.choice(chars) for _ in range(2 if rng.random() < 0.7 else 3))
            if rng.random() < 0.15 and len(name) == 3:
                t, cat = name, "codename"
            else:
                suf = rng.choice(CODE_SUFFIX)
                t = name + suf
                cat = SUFFIX_CATEGORY.get(suf, "project")
        if len(t) > 6 and not t.isascii():
            continue
        if t in seen or t in reject:
            continue
        seen.add(t)
        out.append((t, cat, rng.choices(sev_names, sev_w)[0]))
    return out


def write_lexicon(outdir, name, terms):
    with open(os.path.join(outdir, name + ".txt"), "w", encoding="utf-8") as f:
        f.write("".join("%s\t%s\t%s\n" % t for t in terms))
    with open(os.path.join(outdir, name + ".rg"), "w", encoding="utf-8") as f:
        f.write("".join(t[0] + "\n" for t in terms))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--mb", type=int, default=200, help="corpus size in ~1 MiB files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--lex1m", type=int, default=1000000, help="terms in the large lexicon")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.outdir, "corpus"), exist_ok=True)
    try:
        os.remove(os.path.join(a.outdir, "corpus.json"))
    except FileNotFoundError:
        pass

    big = make_terms(a.seed, a.lex1m, ordinary_text(a.seed))
    small = random.Random("cordon-lex10k:%d" % a.seed).sample(big, 10000)
    write_lexicon(a.outdir, "lex1m", big)
    write_lexicon(a.outdir, "lex10k", small)
    print("gen_corpus: lexicons: %d and %d terms" % (len(small), len(big)), file=sys.stderr)

    terms = [t[0] for t in small]
    jobs = [(a.outdir, a.seed, i, terms) for i in range(a.mb)]
    if a.jobs > 1:
        import multiprocessing
        with multiprocessing.Pool(a.jobs) as pool:
            results = pool.map(write_file, jobs, chunksize=4)
    else:
        results = list(map(write_file, jobs))
    counts = dict.fromkeys(PLANT_GAP, 0)
    for _, c in results:
        for k, v in c.items():
            counts[k] += v
    total = sum(n for n, _ in results)
    meta = {"version": VERSION, "seed": a.seed, "mb": a.mb, "files": a.mb, "bytes": total,
            "planted": counts, "lex10k_terms": len(small), "lex1m_terms": len(big)}
    with open(os.path.join(a.outdir, "corpus.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("gen_corpus: %d files, %d bytes, planted %s" % (a.mb, total, counts), file=sys.stderr)


if __name__ == "__main__":
    main()
