/*
 * guard_marking.c — national-secret and official-document markings.
 *
 * What counts (GB/T 7156 secrecy marks, GB/T 9704-2012 document elements):
 *   绝密/机密/秘密 followed by ★ and a term or condition (机密★10年, 绝密★长期,
 *   秘密★会议开始前, bare 机密★), a 密级 label (密级：机密), a level alone on a
 *   header line; 核心商密/普通商密; lower levels (内部, 内部资料, 工作秘密, 注意保存)
 *   as a marking line; English TOP SECRET/SECRET/CONFIDENTIAL banners; and the
 *   elements of an official document: 份号, 发文字号, 紧急程度, 签发人, masthead.
 * What does not: the words in a sentence (这是我们的小秘密, 保守国家秘密,
 * 机密文件管理培训通知). The difference is position and shape, so every level
 * word hit is judged by what surrounds it in the view: the ★ (or what OCR
 * makes of it: 女, 大, 太, 友 ..., or any one character on a marking line of
 * its own), the term, the line it stands on, and whether other
 * official-document elements corroborate it. Corroboration found later in the
 * input revises the confidence of findings already made (finish()).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "guard_detect.h"

enum {
    M_JUEMI,
    M_JIMI,
    M_MIMI,
    M_CORE_COMMERCIAL,
    M_COMMON_COMMERCIAL,
    M_INTERNAL,
    M_BANNER,
    M_BANNER_LABEL,
    M_DOCNUM,
    M_URGENCY,
    M_SIGNER,
    M_MASTHEAD,
};

#define HEADER_LINES  8    /* lines at the top where document elements live */
#define HEADER_BYTES  2048 /* ... and how far into the view they can be */
#define LINE_MAX_SCAN 400  /* bytes walked to find a line's ends */
#define MAX_TRACKED   256  /* findings revised at the end */
#define MARK_SEPS     6    /* separators skipped between the parts of a marking */

static const struct {
    const char *expr;
    unsigned flags;
    unsigned arg;
} patterns[] = {
    {"绝密", 0, M_JUEMI},
    {"机密", 0, M_JIMI},
    {"秘密", 0, M_MIMI},
    {"核心商密", 0, M_CORE_COMMERCIAL},
    {"普通商密", 0, M_COMMON_COMMERCIAL},
    /* Lower levels on a line of their own, alone or together and with a
     * document noun (工作秘密 文件, 内部资料 注意保存 工作秘密). */
    {"^ ?(内部资料|内部文件|内部材料|内部|工作秘密|注意保存|内部使用)"
     "( ?(内部资料|内部文件|内部材料|内部|工作秘密|注意保存|内部使用|文件|材料|资料)){0,3}"
     "( ?★[^\\n]{0,20})? ?$",
     HS_FLAG_MULTILINE, M_INTERNAL},
    {"^ ?(top secret|secret|confidential|restricted|classified)( ?//[^\\n]{0,40})? ?$",
     HS_FLAG_MULTILINE, M_BANNER},
    {"classification ?: ?(top secret|secret|confidential|restricted)", 0, M_BANNER_LABEL},
    {"^ ?(紧急程度 ?:? ?)?(特急|加急|特提|平急)( |$)", HS_FLAG_MULTILINE, M_URGENCY},
    {"签发人", 0, M_SIGNER},
    /* The masthead line ^ ?[^\n]{2,40}文件 ?$ is decided in C (masthead_word),
     * as are 份号 and 发文字号 (mark_digits): see there. */
    {"文件", 0, M_MASTHEAD},
};

/* A level word cut apart where the normaliser keeps the cut (a ★ between its
 * characters: 机*密★10年 is 机★密★10年 in the view; a line break), or written
 * as the components of its first character (⽊几密: the Kangxi radical folds
 * to 木). Literals, so ordinary text pays nothing for them.
 * `header`: what Tesseract reads for a blurred 秘 on a photographed page
 * (秽密女5年, 柱密 beside the 份号; bench/detect/photos.py) — real
 * characters of other words, so such a word counts only as a marking of its
 * own on one of the first lines: with a ★ or a period, or alone on the line
 * (then corroboration by the 份号 or the masthead decides, finish()). */
#define M_SPLIT 64
static const struct {
    const char *word;
    unsigned level;
    bool header;
} split_words[] = {
    {"机★密", M_JIMI, false},   {"绝★密", M_JUEMI, false},  {"秘★密", M_MIMI, false},
    {"机\n密", M_JIMI, false},  {"绝\n密", M_JUEMI, false}, {"秘\n密", M_MIMI, false},
    {"木几密", M_JIMI, false},  {"禾必密", M_MIMI, false},  {"纟色密", M_JUEMI, false},
    {"糸色密", M_JUEMI, false}, {"秽密", M_MIMI, true},     {"柱密", M_MIMI, true},
    {"敌密", M_MIMI, true},
};

typedef struct mark_state {
    uint64_t line_pos; /* view offset up to which lines were counted */
    unsigned line_no;  /* lines before line_pos */
    bool has_docnum, has_docref, has_masthead, has_signer, has_urgency;
    bool has_level;
    size_t n_tracked;
    size_t n_elements;
    uint64_t last_level_end; /* dedupe: a 密级 label and its level word */
    /* Arrays last: only [0, n_*) is ever read, so begin() zeroes the fields
     * above and not these (a scan of a chat message costs ~2 µs; zeroing 3 KB
     * per message was a measurable share of it). */
    int tracked[MAX_TRACKED]; /* indices of level findings, to revise */
    int tracked_bare[MAX_TRACKED];
    int elements[MAX_TRACKED]; /* indices of document-element findings */
} mark_state;

static int mark_patterns(guard_patset *ps, const guard_settings *cfg)
{
    (void)cfg;
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++)
        if (guard_patset_add_regex(ps, patterns[i].expr, patterns[i].flags, GUARD_DET_MARKING,
                                   patterns[i].arg))
            return -1;
    for (size_t i = 0; i < sizeof split_words / sizeof *split_words; i++)
        if (guard_patset_add_literal(ps, split_words[i].word, strlen(split_words[i].word),
                                     GUARD_DET_MARKING, M_SPLIT + (unsigned)i))
            return -1;
    return 0;
}

static int mark_begin(guard_ctx *c)
{
    mark_state *s = malloc(sizeof *s);
    if (!s)
        return -1;
    memset(s, 0, offsetof(mark_state, tracked));
    c->det_state[GUARD_DET_MARKING] = s;
    return 0;
}

static void mark_end(guard_ctx *c)
{
    free(c->det_state[GUARD_DET_MARKING]);
    c->det_state[GUARD_DET_MARKING] = NULL;
}

/* ---- view helpers -------------------------------------------------------- */

static int vb(const guard_ctx *c, uint64_t off)
{
    if (off >= c->view_end)
        return -1;
    return guard_ctx_view_byte(c, off);
}

/* Decodes the UTF-8 character at off (view); returns its length or 0. */
static int vchar(const guard_ctx *c, uint64_t off, uint32_t *cp)
{
    int b = vb(c, off);
    if (b < 0)
        return 0;
    if (b < 0x80) {
        *cp = (uint32_t)b;
        return 1;
    }
    int n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    uint32_t v = (uint32_t)b & (0x3Fu >> (n - 1));
    for (int i = 1; i < n; i++) {
        int x = vb(c, off + (uint64_t)i);
        if (x < 0)
            return 0;
        v = (v << 6) | ((uint32_t)x & 0x3F);
    }
    *cp = v;
    return n;
}

/* The character ending at off (exclusive); returns its length or 0. */
static int vchar_before(const guard_ctx *c, uint64_t off, uint32_t *cp)
{
    for (int n = 1; n <= 4 && off >= (uint64_t)n; n++) {
        int b = guard_ctx_view_byte(c, off - (uint64_t)n);
        if (b < 0)
            return 0;
        if ((b & 0xC0) != 0x80)
            return vchar(c, off - (uint64_t)n, cp) == n ? n : 0;
    }
    return 0;
}

static bool is_han(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x3FFFF);
}

static uint64_t line_start(const guard_ctx *c, uint64_t off)
{
    uint64_t lim = off > LINE_MAX_SCAN ? off - LINE_MAX_SCAN : 0;
    while (off > lim) {
        int b = guard_ctx_view_byte(c, off - 1);
        if (b < 0 || b == '\n')
            return off;
        off--;
    }
    return off;
}

static uint64_t line_end(const guard_ctx *c, uint64_t off)
{
    uint64_t lim = off + LINE_MAX_SCAN;
    while (off < lim) {
        int b = vb(c, off);
        if (b < 0 || b == '\n')
            return off;
        off++;
    }
    return off;
}

static uint64_t skip_spaces(const guard_ctx *c, uint64_t off, uint64_t end)
{
    while (off < end && vb(c, off) == ' ')
        off++;
    return off;
}

static uint64_t trim_back(const guard_ctx *c, uint64_t start, uint64_t off)
{
    while (off > start && guard_ctx_view_byte(c, off - 1) == ' ')
        off--;
    return off;
}

static bool view_ends_with(const guard_ctx *c, uint64_t start, uint64_t off, const char *s)
{
    size_t n = strlen(s);
    if (off < start + n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (guard_ctx_view_byte(c, off - n + i) != (unsigned char)s[i])
            return false;
    return true;
}

/* 0-based line of a view offset, or HEADER_LINES+ when past the header. */
static unsigned line_of(const guard_ctx *c, mark_state *s, uint64_t off)
{
    if (off > HEADER_BYTES)
        return 1000;
    if (off < s->line_pos) {
        s->line_pos = 0;
        s->line_no = 0;
    }
    while (s->line_pos < off) {
        int b = guard_ctx_view_byte(c, s->line_pos);
        if (b < 0)
            return 1000;
        if (b == '\n')
            s->line_no++;
        s->line_pos++;
    }
    return s->line_no;
}

/* What an evader puts between the parts of a marking (机密-★-1-0-年,
 * "机密"★"10年", 【机密】★10年): a space, ASCII punctuation, a second ★,
 * quotes and brackets. The normaliser drops separators between CJK
 * characters; these stand next to the ★ and the digits, which it keeps. */
static bool mark_sep(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp > ' ' && cp < 0x7F && !guard_is_alnum((int)cp));
    return cp == 0x2605 || (cp >= 0x2018 && cp <= 0x201D) || (cp >= 0x300C && cp <= 0x3017);
}

/* Skips up to MARK_SEPS separators from off (a ★ too unless no_star);
 * *dropped is set when one of them was not a space. */
static uint64_t skip_seps(const guard_ctx *c, uint64_t off, uint64_t end, bool no_star,
                          bool *dropped)
{
    for (int n = 0; n < MARK_SEPS && off < end; n++) {
        uint32_t cp;
        int k = vchar(c, off, &cp);
        if (!k || !mark_sep(cp) || (no_star && cp == 0x2605))
            break;
        if (cp != ' ')
            *dropped = true;
        off += (uint64_t)k;
    }
    return off;
}

/* Reads a number in Arabic or Chinese numerals (一..九, 十, 百, 零, 两 folded
 * to 二) at off; returns bytes consumed, 0 if none. */
static int read_number(const guard_ctx *c, uint64_t off, uint64_t end, unsigned *val, bool *seps)
{
    uint64_t p = off;
    unsigned v = 0, section = 0, digit = 0;
    bool any = false, chinese = false;
    while (p < end) {
        uint32_t cp;
        bool dropped = false;
        /* with seps: separators between the digits (1-0-年) are skipped */
        uint64_t q = seps && any ? skip_seps(c, p, end, false, &dropped) : p;
        int k = vchar(c, q, &cp);
        if (!k)
            break;
        if (cp >= '0' && cp <= '9' && !chinese) {
            v = v * 10 + (cp - '0');
        } else {
            static const char *const digits = "零一二三四五六七八九";
            const char *d = NULL;
            char buf[5] = {0};
            if (k != 3)
                break;
            for (int i = 0; i < 3; i++)
                buf[i] = (char)vb(c, p + (uint64_t)i);
            for (int i = 0; i < 10; i++)
                if (memcmp(digits + i * 3, buf, 3) == 0)
                    d = digits + i * 3;
            if (d) {
                digit = (unsigned)((d - digits) / 3);
            } else if (memcmp(buf, "十", 3) == 0) {
                section += (digit ? digit : 1) * 10;
                digit = 0;
            } else if (memcmp(buf, "百", 3) == 0) {
                section += (digit ? digit : 1) * 100;
                digit = 0;
            } else {
                break;
            }
            chinese = true;
        }
        any = true;
        if (dropped)
            *seps = true;
        p = q + (uint64_t)k;
        if (p - off > 24 || v > 1000)
            break;
    }
    if (chinese)
        v = section + digit;
    *val = v;
    return any ? (int)(p - off) : 0;
}

/* Reads the term after ★: a period (10年, 三个月, 长期) or a condition (会议开始
 * 前). Returns the view offset after it; *kind: 0 none, 1 period, 2 长期,
 * 3 condition. With seps (not NULL), separators before the term and
 * inside a period (★-1-0-年) are skipped, and *seps is set when a period was
 * read across any that are not spaces. */
static uint64_t read_term(const guard_ctx *c, uint64_t off, uint64_t end, int *kind, bool *seps)
{
    static const char *const units[] = {"个月", "年", "月", "天", "日", "周"};
    unsigned v;
    bool dropped = false;
    uint64_t p = seps ? skip_seps(c, off, end, false, &dropped) : skip_spaces(c, off, end);
    int k = read_number(c, p, end, &v, seps ? &dropped : NULL);
    *kind = 0;
    if (k) {
        uint64_t q = p + (uint64_t)k;
        q = seps ? skip_seps(c, q, end, true, &dropped) : skip_spaces(c, q, end);
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            size_t ul = strlen(units[i]);
            bool m = q + ul <= end;
            for (size_t j = 0; m && j < ul; j++)
                m = vb(c, q + j) == (unsigned char)units[i][j];
            if (m) {
                *kind = 1;
                if (dropped)
                    *seps = true;
                return q + ul;
            }
        }
        return off;
    }
    if (view_ends_with(c, p, p + 6, "长期") && vb(c, p + 5) >= 0) {
        *kind = 2;
        return p + 6;
    }
    /* A condition: a run of Han characters (解密条件), up to 16 of them. */
    uint64_t q = p;
    int n = 0;
    while (q < end && n < 16) {
        uint32_t cp;
        int kk = vchar(c, q, &cp);
        if (!kk || !is_han(cp))
            break;
        q += (uint64_t)kk;
        n++;
    }
    if (n >= 2) {
        *kind = 3;
        return q;
    }
    return off;
}

/* The evasion flag judged on the part of a span that carries the match (the
 * level word and its term, the 签发人 keyword): the colon of 密级：机密 or of
 * 签发人：张三 is punctuation, not evasion. */
static int core_evasion(guard_ctx *c, int idx, uint64_t vs, uint64_t ve)
{
    guard_finding *f = guard_ctx_finding(c, idx);
    if (f) {
        uint64_t os, oe;
        guard_norm_to_orig(c->norm, vs, ve, &os, &oe);
        f->evasion = guard_norm_evasive(c->norm, os, oe);
    }
    return idx;
}

static int track(mark_state *s, int idx, bool bare)
{
    if (idx >= 0 && s->n_tracked < MAX_TRACKED) {
        s->tracked_bare[s->n_tracked] = bare;
        s->tracked[s->n_tracked++] = idx;
    }
    return idx;
}

static void element(mark_state *s, int idx)
{
    if (idx >= 0 && s->n_elements < MAX_TRACKED)
        s->elements[s->n_elements++] = idx;
}

/* ---- the level words ------------------------------------------------------- */

/* Characters Tesseract has been seen to read for the ★ of a marking (the
 * normaliser already folds ☆, *, ✱ and the like to ★). */
static bool star_confusion(uint32_t cp)
{
    static const uint32_t set[] = {
        0x5973 /* 女 */, 0x5927 /* 大 */, 0x592A /* 太 */, 0x53CB /* 友 */, 0x592B /* 夫 */,
        0x72AC /* 犬 */, 0x4E08 /* 丈 */, 0x706B /* 火 */, 0x7C73 /* 米 */, 'x',
        0x203B /* ※ */,  0x00D7 /* × */};
    for (size_t i = 0; i < sizeof set / sizeof *set; i++)
        if (set[i] == cp)
            return true;
    return false;
}

/* What cannot stand for a ★: the start of a period (机密10年, 机密十年 are
 * read without a ★), spaces and punctuation of a sentence. */
static bool not_a_star(uint32_t cp)
{
    static const char set[] = " :,.;\"'()[]、。“”《》零一二三四五六七八九十百两长级";
    char u[5] = {0};
    if (cp < 0x80) {
        u[0] = (char)cp;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
    } else {
        return false;
    }
    return (cp >= '0' && cp <= '9') || strstr(set, u) != NULL;
}

/* A CJK numeral right before an ASCII digit (六5年): no period is written
 * so; what OCR makes of a ★ before 5年. */
static bool numeral_before_digit(const guard_ctx *c, uint64_t p)
{
    static const char numerals[] = "零一二三四五六七八九十";
    uint32_t cp = 0;
    int k = vchar(c, p, &cp);
    char u[4] = {0};

    if (k != 3 || cp < 0x800 || cp >= 0x10000 || !guard_is_digit(guard_ctx_view_byte(c, p + 3)))
        return false;
    u[0] = (char)(0xE0 | cp >> 12);
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    return strstr(numerals, u) != NULL;
}

/* Nothing before the level word on its line but perhaps a 6-digit 份号. */
static bool line_prefix_ok(const guard_ctx *c, uint64_t ls, uint64_t pre_end)
{
    bool ok = pre_end == ls;
    if (!ok && pre_end - ls == 6) {
        ok = true;
        for (uint64_t i = ls; i < pre_end; i++)
            ok = ok && guard_is_digit(guard_ctx_view_byte(c, i));
    }
    return ok;
}

/* Brackets a level word may stand in: 会议纪要（机密）, 【机密】★10年 (the
 * normaliser makes （） ASCII). 《》 names a title, so it is not one. */
static bool opener(uint32_t cp)
{
    return cp == '(' || cp == '[' || cp == 0x3010 || cp == 0x3014 || cp == 0x3016 || cp == 0x300C ||
           cp == 0x300E;
}

static bool closer(uint32_t cp)
{
    return cp == ')' || cp == ']' || cp == 0x3011 || cp == 0x3015 || cp == 0x3017 || cp == 0x300D ||
           cp == 0x300F;
}

/* An ASCII ( or [ right before the character at view offset `off` in the
 * original text: the normaliser drops it between CJK characters (方案(机密):
 * 方案机密) as it drops any separator there. */
static bool orig_opener_before(const guard_ctx *c, uint64_t off)
{
    uint64_t os, oe;
    guard_norm_to_orig(c->norm, off, off + 1, &os, &oe);
    if (os <= c->orig_base || os > c->orig_base + c->orig_len)
        return false;
    unsigned char b = c->orig[os - 1 - c->orig_base];
    return b == '(' || b == '[';
}

/* The line's prefix before `off` without the opening quotes, brackets and
 * spaces right before a marking ("机密"★, 【机密】). */
static uint64_t trim_openers(const guard_ctx *c, uint64_t ls, uint64_t off)
{
    for (int n = 0; n < MARK_SEPS && off > ls; n++) {
        uint32_t cp;
        int k = vchar_before(c, off, &cp);
        if (!k ||
            !(opener(cp) || cp == '"' || cp == '\'' || cp == 0x201C || cp == 0x2018 || cp == ' '))
            break;
        off -= (uint64_t)k;
    }
    return off;
}

static bool view_has_at(const guard_ctx *c, uint64_t off, uint64_t end, const char *w)
{
    size_t n = strlen(w);
    if (off + n > end)
        return false;
    for (size_t i = 0; i < n; i++)
        if (vb(c, off + i) != (unsigned char)w[i])
            return false;
    return true;
}

/* A document noun right after a level word (机密件, 绝密文件) followed by
 * the end of the line, punctuation or a space: its length, else 0. 机密文件
 * 管理培训通知 is a title about such documents, not a marking. */
static uint64_t doc_noun(const guard_ctx *c, uint64_t off, uint64_t le)
{
    static const char *const nouns[] = {"文件", "材料", "资料", "文档", "文电", "件"};
    for (size_t i = 0; i < sizeof nouns / sizeof *nouns; i++) {
        uint64_t e = off + strlen(nouns[i]);
        uint32_t cp = 0;
        if (!view_has_at(c, off, le, nouns[i]))
            continue;
        if (e >= le || !vchar(c, e, &cp) || (cp < 0x80 && !guard_is_alnum((int)cp)) ||
            cp == 0x3002 || cp == 0x3001)
            return e - off;
        return 0;
    }
    return 0;
}

/* A question mark later on the line (？ is ? in the view). */
static bool question_in(const guard_ctx *c, uint64_t off, uint64_t le)
{
    for (; off < le; off++)
        if (vb(c, off) == '?')
            return true;
    return false;
}

/* A handling instruction later on the line: 机密件，请勿外传. */
static bool instruction_in(const guard_ctx *c, uint64_t off, uint64_t le)
{
    static const char *const words[] = {"请勿", "不得", "严禁", "禁止", "勿外传", "注意保密"};
    for (; off < le; off++)
        for (size_t i = 0; i < sizeof words / sizeof *words; i++)
            if (view_has_at(c, off, le, words[i]))
                return true;
    return false;
}

/* What the surroundings of one level word say: filled by level_read_*,
 * scored by level_conf, worded and reported by level_emit. */
typedef struct level_word {
    unsigned arg;     /* M_* */
    bool commercial;  /* 核心商密 / 普通商密 */
    bool split;       /* cut apart or written in components */
    bool header_only; /* an OCR look-alike: counts only as a header line */
    uint64_t from, word, to, ls, le, pre_end, pre_open, p, span_end, noun;
    uint32_t next, prev, at;
    int kind; /* read_term's: 1 a period, 2 long-term, 3 a condition */
    bool star, ocr, labelled, alone, seps, enclosed, bracketed, header, quoted;
} level_word;

/* The ★ after the word, or what OCR made of it, and the period after it. */
static void level_read_star(guard_ctx *c, level_word *w)
{
    uint64_t le = w->le;

    /* Separators between the word and its ★ (机密-★, "机密"★) are skipped. */
    w->p = skip_seps(c, w->to, le, true, &w->seps);
    vchar(c, w->p, &w->next);
    if (w->next != 0x2605) {
        w->seps = false;
        w->p = skip_spaces(c, w->to, le);
        w->next = 0;
        vchar(c, w->p, &w->next);
    }
    if (w->next == 0x2605) { /* ★ */
        w->star = true;
        w->span_end = read_term(c, w->p + 3, le, &w->kind, &w->seps);
        if (w->span_end == w->p + 3 || !w->kind)
            w->span_end = w->p + 3;
    } else if (w->next && (!not_a_star(w->next) || numeral_before_digit(c, w->p))) {
        /* What OCR makes of ★ (Debian's chi_sim has no ★ at all): 女, 大, 太,
         * 友 ... or any one character. Only with a period right after it
         * (机密女1年), and an unknown character only when the marking has the
         * line to itself: 秘密有1年了 is a sentence. On a line of its own
         * also a numeral before the period's digits (秘密六5年: nobody
         * writes 六5年) and two characters (绝密人女10年). */
        int k = vchar(c, w->p, &w->next);
        int k2 = 0;
        uint64_t e = read_term(c, w->p + (uint64_t)k, le, &k2, NULL);
        bool own_line = line_prefix_ok(c, w->ls, w->pre_end);
        if (!(k2 == 1 || k2 == 2) && own_line && !not_a_star(w->next)) {
            uint32_t n2 = 0;
            int k3 = vchar(c, w->p + (uint64_t)k, &n2);
            if (n2 && !not_a_star(n2)) {
                e = read_term(c, w->p + (uint64_t)(k + k3), le, &k2, NULL);
                k += k3;
            }
        }
        if ((k2 == 1 || k2 == 2) &&
            (star_confusion(w->next) || (own_line && skip_spaces(c, e, le) == le))) {
            w->star = w->ocr = true;
            w->span_end = e;
            w->kind = k2;
        }
    }
}

/* The rest of the line: a 密级 label before it, the word alone on its line,
 * a document noun after it, or brackets around it. */
static void level_read_line(guard_ctx *c, level_word *w)
{
    uint64_t ls = w->ls, le = w->le;

    /* 密级：机密 / 密级 机密 (the colon may be dropped between CJK characters) */
    {
        uint64_t q = w->pre_end;
        if (q > ls && guard_ctx_view_byte(c, q - 1) == ':')
            q = trim_back(c, ls, q - 1);
        if (view_ends_with(c, ls, q, "密级")) {
            w->labelled = true;
            w->from = q - 6;
        }
    }
    /* Alone: nothing else on the line but perhaps a 6-digit 份号 before it. */
    bool dropped = false;
    uint64_t rest = w->seps ? skip_seps(c, w->span_end, le, false, &dropped)
                            : skip_spaces(c, w->star ? w->span_end : w->to, le);
    bool pre_ok = line_prefix_ok(c, ls, w->pre_open);
    /* A period after a space: 机密 1年 (★ lost, or written without it). */
    if (pre_ok && !w->star && rest < le) {
        int k2 = 0;
        uint64_t e = read_term(c, rest, le, &k2, NULL);
        if (k2 == 1 || k2 == 2) {
            w->span_end = e;
            rest = skip_spaces(c, e, le);
            w->star = false;
            w->kind = k2;
        }
    }
    w->alone = pre_ok && rest == le;
    /* A document noun after the level at the start of a line: 机密件，
     * 绝密文件 (a title or a cover note, not a sentence about them). */
    if (!w->star && !w->kind && !w->alone && pre_ok && !w->commercial)
        w->noun = doc_noun(c, w->to, le);
    /* In brackets after a title or on its own: 会议纪要（机密）. */
    if (!w->star && !w->kind && !w->alone && !w->noun && w->enclosed &&
        !(w->prev == '"' || w->prev == 0x201C)) {
        w->bracketed = true;
        if (opener(w->prev)) /* else the normaliser dropped it */
            w->from -= (uint64_t)vchar_before(c, w->from, &w->prev);
        w->span_end = w->to + (uint64_t)vchar(c, w->to, &w->at);
    }
}

/* How sure the reading is that this is a marking (0-100). */
static int level_conf(guard_ctx *c, const level_word *w)
{
    int conf;

    if (w->labelled)
        conf = 90;
    else if (w->star && w->alone)
        conf = 90;
    else if (w->star && (w->pre_end == w->ls || w->pre_open == w->ls))
        conf = 82;
    else if (w->star)
        conf = 75;
    else if (w->kind)
        conf = 75; /* 机密 10年: the period says marking, the ★ was left out */
    else if (w->noun)
        conf = instruction_in(c, w->to + w->noun, w->le) ? 65 : 55; /* held, not blocked */
    else if (w->bracketed)
        conf = skip_spaces(c, w->span_end, w->le) == w->le || w->pre_open == w->ls ? 60 : 40;
    else
        conf = 50; /* a bare level alone on a line: corroboration decides */
    if (w->star && w->kind == 0 && !w->alone)
        conf -= 10; /* 机密★ followed by prose */
    if (w->quoted && !w->alone && !w->bracketed)
        conf -= 20; /* "标注“秘密★1年”字样": a mention, probably */
    if (w->ocr)
        conf -= 10;
    if (w->header && (w->star || w->labelled || w->alone))
        conf += 5;
    if (w->star && !w->ocr && (w->kind == 0 || w->kind == 3) && !w->alone &&
        question_in(c, w->p, w->le))
        conf = 35; /* "秘密★是什么意思？": a question about the sign, no period */
    if (w->header_only && !w->star && !w->kind)
        conf = 25; /* 柱密 alone: only a 份号 or a masthead make it a marking */
    return conf;
}

/* Words the finding ("<secrecy|commercial-secret> marking <level>[ with ★]
 * [ under a 密级 label][ how]", appended rather than formatted:
 * guard_expl_add), reports it and tracks it for later revision. */
static void level_emit(guard_ctx *c, mark_state *s, const level_word *w, int conf)
{
    static const char *const names[] = {"绝密", "机密", "秘密", "核心商密", "普通商密"};
    uint64_t end = w->noun ? w->to + w->noun : w->span_end;
    guard_severity sev = w->arg == M_MIMI                ? GUARD_SEV_HIGH
                         : w->arg == M_COMMON_COMMERCIAL ? GUARD_SEV_MEDIUM
                         : w->arg == M_CORE_COMMERCIAL   ? GUARD_SEV_HIGH
                                                         : GUARD_SEV_CRITICAL;
    char expl[256];
    size_t el = 0;

    guard_expl_str(expl, sizeof expl, &el,
                   w->commercial ? "commercial-secret marking " : "secrecy marking ");
    guard_expl_str(expl, sizeof expl, &el, names[w->arg]);
    if (w->star)
        guard_expl_str(expl, sizeof expl, &el, w->ocr ? " with an OCR-garbled ★" : " with ★");
    if (w->labelled)
        guard_expl_str(expl, sizeof expl, &el, " under a 密级 label");
    guard_expl_str(expl, sizeof expl, &el,
                   w->noun                            ? " naming a document"
                   : w->bracketed                     ? " in brackets"
                   : w->alone && !w->star && !w->kind ? " alone on a line"
                   : w->kind == 1                     ? " and a period"
                   : w->kind == 2                     ? " (long-term)"
                   : w->kind == 3                     ? " and a condition"
                                                      : "");
    if (w->header_only)
        guard_expl_str(expl, sizeof expl, &el, ", as OCR misreads it");
    else if (w->split || w->seps)
        guard_expl_str(expl, sizeof expl, &el, ", cut apart");
    int idx = guard_emit(c, w->commercial ? "marking.commercial" : "marking.classified",
                         GUARD_CAT_MARKING, sev, conf, w->from, end, expl);
    if (w->labelled)
        core_evasion(c, idx, w->word, w->span_end);
    if ((w->split && !w->header_only) || w->seps) { /* a misreading is no evasion */
        guard_finding *f = guard_ctx_finding(c, idx);
        if (f)
            f->evasion = true;
    }
    track(s, idx, !w->star && !w->labelled && !w->kind && !w->noun && !w->bracketed);
    s->has_level = true;
    s->last_level_end = end;
}

/* A level word of `wlen` view bytes ends at `to`; split: it was cut apart
 * (机★密, 机\n密) or written in components (木几密), which is evasion.
 * Read (the ★, the line) → decide whether it is a marking → score → emit. */
static void level_hit(guard_ctx *c, mark_state *s, unsigned arg, uint64_t to, uint64_t wlen,
                      bool split, bool header_only)
{
    level_word w = {.arg = arg, .split = split, .header_only = header_only, .to = to};

    w.commercial = arg == M_CORE_COMMERCIAL || arg == M_COMMON_COMMERCIAL;
    w.from = w.word = to - wlen;
    if (w.from < s->last_level_end)
        return; /* inside a marking already reported (秘密 in 核心商密? no: 机密 in 机密★) */
    w.ls = line_start(c, w.from);
    w.le = line_end(c, to);
    w.pre_end = trim_back(c, w.ls, w.from);
    w.span_end = to;
    vchar_before(c, w.from, &w.prev);
    vchar(c, to, &w.at);
    /* In quotes or brackets of its own ("机密"★, 【机密】, （机密）): the line's
     * prefix is judged without them. */
    w.enclosed = (opener(w.prev) && closer(w.at)) || (w.prev == '"' && w.at == '"') ||
                 (w.prev == 0x201C && w.at == 0x201D) ||
                 ((w.at == ')' || w.at == ']') && orig_opener_before(c, w.from));
    w.pre_open = w.enclosed ? trim_openers(c, w.ls, w.pre_end) : w.pre_end;

    level_read_star(c, &w);
    level_read_line(c, &w);
    if (!w.star && !w.labelled && !w.alone && !w.noun && !w.bracketed)
        return; /* a word in a sentence, not a marking */

    w.header = line_of(c, s, w.from) < HEADER_LINES;
    if (header_only && !(w.header && (w.star || w.kind || w.alone)))
        return; /* an OCR look-alike counts only as a header line of its own */
    w.quoted = !w.seps && (w.prev == 0x201C || w.prev == '"' || w.prev == 0x300C ||
                           w.prev == 0x300E || w.prev == 0x300A || w.prev == '\'');
    level_emit(c, s, &w, level_conf(c, &w));
}

/* ---- line-shaped markings and document elements ----------------------------- */

/* A masthead names the issuing body right before 文件: 国务院办公厅文件,
 * 某市数据管理局文件, 中共某市委文件, 某某集团公司文件 — not 会议文件 or 附件文件. */
static bool issuer_before(const guard_ctx *c, uint64_t off)
{
    static const char *const ends[] = {"局", "厅", "部", "委", "办", "院", "府", "室", "处", "署",
                                       "司", "所", "心", "团", "校", "学", "会", "省", "市", "县",
                                       "区", "镇", "乡", "军", "队", "社", "行", "馆", "站"};
    uint32_t cp;
    char buf[4] = {0};
    if (vchar_before(c, off, &cp) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        buf[i] = (char)guard_ctx_view_byte(c, off - 3 + (uint64_t)i);
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++)
        if (memcmp(buf, ends[i], 3) == 0)
            return true;
    return false;
}

static bool all_upper_ascii(const guard_ctx *c, uint64_t vs, uint64_t ve)
{
    uint64_t os, oe;
    guard_norm_to_orig(c->norm, vs, ve, &os, &oe);
    if (os < c->orig_base || oe > c->orig_base + c->orig_len)
        return false;
    for (uint64_t i = os; i < oe; i++) {
        unsigned char b = c->orig[i - c->orig_base];
        if (b >= 'a' && b <= 'z')
            return false;
    }
    return true;
}

static void line_hit(guard_ctx *c, mark_state *s, unsigned arg, uint64_t to)
{
    uint64_t ls = line_start(c, to), from = skip_spaces(c, ls, to);
    uint64_t end = trim_back(c, from, to);
    unsigned line = line_of(c, s, from);
    bool header = line < HEADER_LINES;
    int idx;

    if (end <= from)
        return;
    switch (arg) {
    case M_INTERNAL: {
        bool low = view_ends_with(c, from, from + 12, "注意保存");
        idx = guard_emit(c, "marking.internal", GUARD_CAT_MARKING,
                         low ? GUARD_SEV_LOW : GUARD_SEV_MEDIUM, header ? 75 : 55, from, end,
                         "internal-use marking on its own line");
        track(s, idx, false);
        break;
    }
    case M_BANNER: {
        if (!all_upper_ascii(c, from, end))
            return; /* "Confidential" in a sentence or title case: not a banner */
        int b0 = vb(c, from);
        guard_severity sev = b0 == 't'                             ? GUARD_SEV_CRITICAL
                             : b0 == 's'                           ? GUARD_SEV_HIGH
                             : b0 == 'c' && vb(c, from + 1) == 'o' ? GUARD_SEV_MEDIUM
                             : b0 == 'c'                           ? GUARD_SEV_MEDIUM
                                                                   : GUARD_SEV_LOW;
        int conf = sev >= GUARD_SEV_HIGH ? 80 : 75;
        for (uint64_t i = from; i + 1 < end; i++)
            if (vb(c, i) == '/' && vb(c, i + 1) == '/')
                conf += 10; /* TOP SECRET//NOFORN: a real banner's shape */
        if (header)
            conf += 5;
        idx = guard_emit(c, "marking.banner", GUARD_CAT_MARKING, sev, conf > 99 ? 99 : conf, from,
                         end, "classification banner");
        track(s, idx, false);
        break;
    }
    case M_DOCNUM:
        if (line > 1)
            return;
        s->has_docnum = true;
        element(s, guard_emit(c, "marking.doc_number", GUARD_CAT_MARKING, GUARD_SEV_INFO, 60, from,
                              end, "份号 (copy number) of an official document"));
        break;
    case M_URGENCY:
        if (!header)
            return;
        s->has_urgency = true;
        element(s, guard_emit(c, "marking.urgency", GUARD_CAT_MARKING, GUARD_SEV_LOW, 60, from, end,
                              "紧急程度 (urgency) of an official document"));
        break;
    case M_MASTHEAD: {
        /* All Han, short, near the top: 国务院办公厅文件. */
        uint64_t p = from;
        int n = 0;
        if (!header)
            return;
        while (p < end) {
            uint32_t cp;
            int k = vchar(c, p, &cp);
            if (!k || !is_han(cp))
                return;
            p += (uint64_t)k;
            n++;
        }
        if (n < 4 || n > 30 || !issuer_before(c, end - 6))
            return;
        s->has_masthead = true;
        element(s, guard_emit(c, "marking.masthead", GUARD_CAT_MARKING, GUARD_SEV_INFO, 60, from,
                              end, "official-document masthead (…文件)"));
        break;
    }
    }
}

static void docref_hit(guard_ctx *c, mark_state *s, uint64_t to)
{
    /* The pattern ends at 号; find the bracket, then the agency code of 1..12
     * Han characters before it (国办发〔2023〕12号). */
    uint64_t p = to, lim = to > 40 ? to - 40 : 0, open = 0;
    while (p > lim) {
        uint32_t cp;
        int k = vchar_before(c, p, &cp);
        if (!k)
            return;
        p -= (uint64_t)k;
        if (cp == 0x3014 || cp == '[' || cp == 0x3010 || cp == '(' || cp == 0x3016) {
            open = p;
            break;
        }
    }
    if (!open && p == lim)
        return;
    uint64_t q = trim_back(c, 0, open);
    int n = 0;
    while (n < 12) {
        uint32_t cp;
        int k = vchar_before(c, q, &cp);
        if (!k || !is_han(cp))
            break;
        q -= (uint64_t)k;
        n++;
    }
    if (n < 1)
        return;
    s->has_docref = true;
    element(s, guard_emit(c, "marking.doc_ref", GUARD_CAT_MARKING, GUARD_SEV_INFO, 70, q, to,
                          "发文字号 (official document number)"));
}

/* True when the original text right after view offset `to` is a colon or a
 * space: 签发人：张三 is a document field, 签发人是谁 is a question. */
static bool field_separator_after(const guard_ctx *c, uint64_t to)
{
    uint64_t os, oe;
    guard_norm_to_orig(c->norm, to - 1, to, &os, &oe);
    if (oe < c->orig_base || oe >= c->orig_base + c->orig_len)
        return false;
    const unsigned char *o = c->orig + (oe - c->orig_base);
    size_t left = c->orig_len - (size_t)(oe - c->orig_base);
    return o[0] == ':' || o[0] == ' ' || o[0] == '\t' ||
           (left >= 3 && o[0] == 0xEF && o[1] == 0xBC && o[2] == 0x9A) || /* ： */
           (left >= 3 && o[0] == 0xE3 && o[1] == 0x80 && o[2] == 0x80);   /* ideographic space */
}

static void signer_hit(guard_ctx *c, mark_state *s, uint64_t to)
{
    uint64_t p = to, le = line_end(c, to);
    if (!field_separator_after(c, to))
        return;
    if (vb(c, p) == ':')
        p++;
    p = skip_spaces(c, p, le);
    int n = 0;
    while (p < le && n < 5) {
        uint32_t cp;
        int k = vchar(c, p, &cp);
        if (!k || !is_han(cp))
            break;
        p += (uint64_t)k;
        n++;
    }
    if (n < 2 || n > 4)
        return;
    s->has_signer = true;
    int idx = guard_emit(c, "marking.signer", GUARD_CAT_MARKING, GUARD_SEV_INFO, 65, to - 9, p,
                         "签发人 (signing officer) of an official document");
    element(s, core_evasion(c, idx, to - 9, to));
}

/* ---- elements decided in C ------------------------------------------------------ */

/* These were Hyperscan patterns: ^ ?(份号 ?:? ?)?[0-9]{6}( |$) (multiline),
 * [〔\[【(〖][0-9]{4}[〕\]】)〗] ?第?[0-9]{1,5} ?号 and ^ ?[^\n]{2,40}文件 ?$
 * (multiline). Character-class repeats cost the database at every byte of
 * every scan, most of all behind a multiline ^: on the 210 MB benchmark
 * corpus, Hyperscan's time fell from 0.128 s to 0.113 s without them (with
 * the TLD alternation still in the database, they cost 0.044, 0.011 and
 * 0.010 s of 0.183 s). Each is now checked in C where its rare anchor is
 * found (a digit run from the scan loop, the literal 文件) and reports the end
 * the pattern reported, so the handlers above see the hits they saw before. */

static int byte_before(const guard_ctx *c, uint64_t off)
{
    return off ? guard_ctx_view_byte(c, off - 1) : -1;
}

/* ^ in multiline mode: the start of the view or after a line feed. */
static bool at_line_start(const guard_ctx *c, uint64_t off)
{
    return off == 0 || guard_ctx_view_byte(c, off - 1) == '\n';
}

/* ^ ?(份号 ?:? ?)? ends at `off` (the start of a 份号's digits). */
static bool docnum_prefix(const guard_ctx *c, uint64_t off)
{
    if (at_line_start(c, off) || (byte_before(c, off) == ' ' && at_line_start(c, off - 1)))
        return true;
    if (byte_before(c, off) == ' ')
        off--;
    if (byte_before(c, off) == ':')
        off--;
    if (byte_before(c, off) == ' ')
        off--;
    if (!view_ends_with(c, 0, off, "份号"))
        return false;
    off -= 6;
    if (byte_before(c, off) == ' ')
        off--;
    return at_line_start(c, off);
}

/* 份号: a run of exactly six digits ending at `to`, at a line start (after
 * the prefix above) and followed by a space, a line feed or the end. The
 * pattern's match took the space in: so does the reported end. In C because
 * [0-9]{6} behind a multiline ^ was the costliest of the three (0.009 s of
 * Hyperscan's 0.128 s on the benchmark corpus). */
static void docnum_digits(guard_ctx *c, mark_state *s, uint64_t to)
{
    int next = vb(c, to);
    if (to < 6 || !guard_is_digit(byte_before(c, to - 5)) ||
        guard_is_digit(byte_before(c, to - 6)) || (next != ' ' && next != '\n' && next >= 0) ||
        !docnum_prefix(c, to - 6))
        return;
    line_hit(c, s, M_DOCNUM, next == ' ' ? to + 1 : to);
}

/* An open bracket of a 发文字号 (〔 [ 【 ( 〖) ends at off. */
static bool open_bracket_before(const guard_ctx *c, uint64_t off)
{
    int b = byte_before(c, off);
    if (b == '[' || b == '(')
        return true;
    return (b == 0x94 || b == 0x90 || b == 0x96) && off >= 3 &&
           guard_ctx_view_byte(c, off - 3) == 0xE3 && guard_ctx_view_byte(c, off - 2) == 0x80;
}

/* The length of the close bracket (〕 ] 】 ) 〗) at off, or 0. */
static int close_bracket_at(const guard_ctx *c, uint64_t off)
{
    int b = vb(c, off);
    if (b == ']' || b == ')')
        return 1;
    if (b != 0xE3 || vb(c, off + 1) != 0x80)
        return 0;
    b = vb(c, off + 2);
    return b == 0x95 || b == 0x91 || b == 0x97 ? 3 : 0;
}

/* 发文字号: the year, a run of exactly four digits ending at `to`, in
 * brackets (any open, any close: OCR mixes them), then ` ?第?`, one to five
 * digits, ` ?号`. The number may be shorter than a digit run, so it is read
 * forward from the year. Reports the end of 号, as the pattern did. In C:
 * the pattern's two digit repeats cost 0.007 s of Hyperscan's 0.128 s on
 * the benchmark corpus. */
static void docref_digits(guard_ctx *c, mark_state *s, uint64_t to)
{
    uint64_t p = to;
    int k, n = 0;
    if (!open_bracket_before(c, to - 4))
        return;
    k = close_bracket_at(c, p);
    if (!k)
        return;
    p += (uint64_t)k;
    if (vb(c, p) == ' ')
        p++;
    if (view_ends_with(c, p, p + 3, "第") && vb(c, p + 2) >= 0)
        p += 3;
    while (n < 6 && guard_is_digit(vb(c, p + (uint64_t)n)))
        n++;
    if (n < 1 || n > 5)
        return;
    p += (uint64_t)n;
    if (vb(c, p) == ' ')
        p++;
    if (view_ends_with(c, p, p + 3, "号") && vb(c, p + 2) >= 0)
        docref_hit(c, s, p + 3);
}

/* Every digit run of the input comes here (~11,000 per MB of the benchmark
 * corpus, most of them years in prose: 2024年): the bytes around the run
 * settle almost all of them, read straight from the view. */
static bool element_candidate(const guard_ctx *c, uint64_t to)
{
    const guard_norm *v = c->norm;
    if (to < v->base + 7 || to >= v->base + v->len || to >= c->view_end)
        return true;
    const unsigned char *p = v->view + (to - v->base);
    if (!guard_is_digit(p[-5])) /* four digits: a year in brackets? */
        return p[-5] == '[' || p[-5] == '(' || p[-5] == 0x94 || p[-5] == 0x90 || p[-5] == 0x96;
    /* Five or more: a 份号 of six, which counts on the first two lines only
     * (line_hit), and its line starts at most 10 bytes before the digits. */
    return to <= HEADER_BYTES + 16 && guard_is_digit(p[-6]) && !guard_is_digit(p[-7]) &&
           (p[0] == ' ' || p[0] == '\n');
}

static void mark_digits(guard_ctx *c, uint64_t to)
{
    mark_state *s = c->det_state[GUARD_DET_MARKING];
    if (!element_candidate(c, to))
        return;
    if (!guard_is_digit(byte_before(c, to - 4)))
        docref_digits(c, s, to);
    else
        docnum_digits(c, s, to);
}

/* A masthead: 文件 ends at `to`, then ` ?` and the end of the line; before
 * it on the line, after an optional space, 2 to 40 characters (the pattern
 * was UTF-8: characters, not bytes). Reports the end of the line, as the
 * pattern did. In C: [^\n]{2,40} behind a multiline ^ cost 0.003 s of
 * Hyperscan's 0.128 s on the benchmark corpus; the literal next to
 * nothing. */
static void masthead_word(guard_ctx *c, mark_state *s, uint64_t to)
{
    uint64_t end = vb(c, to) == ' ' ? to + 1 : to, p = to - 6;
    int b = vb(c, end);
    unsigned n = 0;
    if (b >= 0 && b != '\n')
        return;
    while (n <= 41 && p > 0) {
        b = guard_ctx_view_byte(c, p - 1);
        if (b < 0 || b == '\n')
            break;
        p--;
        n += (b & 0xC0) != 0x80;
    }
    if (!at_line_start(c, p) || n < 2 || n > 41 || (n == 41 && vb(c, p) != ' '))
        return;
    line_hit(c, s, M_MASTHEAD, end);
}

static void mark_hit(guard_ctx *c, uint32_t arg, uint64_t to)
{
    mark_state *s = c->det_state[GUARD_DET_MARKING];
    switch (arg) {
    case M_JUEMI:
    case M_JIMI:
    case M_MIMI:
    case M_CORE_COMMERCIAL:
    case M_COMMON_COMMERCIAL:
        level_hit(c, s, arg, to, arg == M_CORE_COMMERCIAL || arg == M_COMMON_COMMERCIAL ? 12 : 6,
                  false, false);
        break;
    case M_BANNER_LABEL: {
        uint64_t from = to, ls = line_start(c, to);
        while (from > ls && !view_ends_with(c, ls, from, "classification"))
            from--;
        if (from > ls || view_ends_with(c, ls, from, "classification"))
            from = from >= 14 ? from - 14 : from;
        int idx = guard_emit(c, "marking.banner", GUARD_CAT_MARKING, GUARD_SEV_HIGH, 85, from, to,
                             "classification label");
        track(s, idx, false);
        break;
    }
    case M_MASTHEAD:
        masthead_word(c, s, to);
        break;
    case M_SIGNER:
        signer_hit(c, s, to);
        break;
    default:
        if (arg >= M_SPLIT && arg - M_SPLIT < sizeof split_words / sizeof *split_words) {
            level_hit(c, s, split_words[arg - M_SPLIT].level, to,
                      strlen(split_words[arg - M_SPLIT].word), true,
                      split_words[arg - M_SPLIT].header);
        } else {
            line_hit(c, s, arg, to);
        }
    }
}

/* Corroboration: a level mark next to official-document elements is near
 * certain, and those elements next to a level mark are no longer harmless. */
static void mark_finish(guard_ctx *c)
{
    mark_state *s = c->det_state[GUARD_DET_MARKING];
    int elements = s->has_docnum + s->has_docref + s->has_masthead + s->has_signer + s->has_urgency;
    unsigned lines = 0;
    if (c->view_end <= HEADER_BYTES)
        lines = line_of(c, s, c->view_end) + 1;
    for (size_t i = 0; i < s->n_tracked; i++) {
        guard_finding *f = guard_ctx_finding(c, s->tracked[i]);
        if (!f)
            continue;
        if (elements)
            f->confidence += elements >= 2 ? 15 : 10;
        if (s->tracked_bare[i] && !elements && lines == 1)
            f->confidence = 35; /* the one word "秘密" as a chat reply */
        else if (s->tracked_bare[i] && !elements && lines >= 3)
            f->confidence += 10; /* a header line above more text */
        /* A bare level beside a 份号 is in the marking position of GB/T 9704
         * (份号, then 密级 and 保密期限): how a photographed page reads when
         * OCR lost the ★ and the period. */
        if (s->tracked_bare[i] && s->has_docnum)
            f->confidence += 10;
        if (f->confidence > 99)
            f->confidence = 99;
    }
    for (size_t i = 0; i < s->n_elements; i++) {
        guard_finding *f = guard_ctx_finding(c, s->elements[i]);
        if (!f)
            continue;
        if (s->has_level || elements >= 2)
            f->confidence += s->has_level ? 30 : 15;
        if (f->confidence > 99)
            f->confidence = 99;
    }
}

const guard_detector guard_det_marking = {
    .name = "marking",
    .patterns = mark_patterns,
    .begin = mark_begin,
    .on_hit = mark_hit,
    .on_digits = mark_digits,
    .finish = mark_finish,
    .end = mark_end,
};
