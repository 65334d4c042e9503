/*
 * gen_fold: build-time generator of the guard's per-code-point fold table.
 *
 * The guard's matching view folds every character the same way, for the text
 * and for every dictionary term. Doing NFKC/casefold (utf8proc), traditional
 * to simplified (OpenCC's dictionaries) and the TR39 confusables skeleton (ICU)
 * per character at scan time would cost a library round-trip per code point;
 * instead this program runs those libraries once, at build time, over the
 * whole Basic Multilingual Plane and writes a flat C table the scanner indexes
 * directly. Nothing here is hand-made Unicode data: every mapping comes from
 * one of the three libraries; the only policy written by hand is which
 * classes of characters count as separators, stars and evasion.
 *
 * usage: gen_fold OUT.c OPENCC_TEXT_DICT...
 *   Each OpenCC dictionary is the text form written by `opencc_dict -t text`
 *   (KEY<TAB>VALUE [VALUE...]); only single-code-point keys are used and the
 *   first candidate wins. Dictionaries are applied in the order given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <utf8proc.h>

#include "../src/guard/guard_foldtab.h"

#define NCP 0x10000

static uint32_t opencc_map[NCP]; /* 0 = no mapping */

static int utf8_decode1(const unsigned char *s, uint32_t *cp)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate(s, -1, &c);
    if (n <= 0)
        return -1;
    *cp = (uint32_t)c;
    return (int)n;
}

static int load_opencc(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    if (!f) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        uint32_t k, v;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        int kn = utf8_decode1((unsigned char *)line, &k);
        if (kn <= 0 || line[kn] != 0 || k >= NCP)
            continue; /* phrases are not per-character folds */
        if (utf8_decode1((unsigned char *)tab + 1, &v) <= 0)
            continue;
        /* Chain: a variant dictionary may map to a traditional form that a
         * later dictionary maps on to simplified. */
        if (v < NCP && opencc_map[v])
            v = opencc_map[v];
        if (!opencc_map[k])
            opencc_map[k] = v;
        /* Re-point anything already mapped to k. */
        for (uint32_t i = 0; i < NCP; i++)
            if (opencc_map[i] == k && k != v)
                opencc_map[i] = v;
    }
    fclose(f);
    return 0;
}

static int is_cjk(uint32_t c)
{
    UScriptCode sc;
    UErrorCode st = U_ZERO_ERROR;
    sc = uscript_getScript((UChar32)c, &st);
    if (U_FAILURE(st))
        return 0;
    if (sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA ||
        sc == USCRIPT_HANGUL || sc == USCRIPT_BOPOMOFO)
        return u_isalpha((UChar32)c) || c == 0x3007;
    return 0;
}

static int is_star(uint32_t c)
{
    /* Every glyph a person or an OCR engine uses for the ★ of a secrecy
     * marking (GB/T 7156 "机密★10年"). */
    static const uint32_t stars[] = {0x2A,   0x2605, 0x2606, 0x2729, 0x272A, 0x272B, 0x272C, 0x272D,
                                     0x272E, 0x272F, 0x2730, 0x2731, 0x2732, 0x2733, 0x2734, 0x2735,
                                     0x2736, 0x2737, 0x2738, 0x2739, 0x273A, 0x274B, 0x2B50, 0x204E,
                                     0x2217, 0x066D, 0xFF0A, 0x22C6, 0x203B};
    for (size_t i = 0; i < sizeof stars / sizeof *stars; i++)
        if (stars[i] == c)
            return 1;
    return 0;
}

/* Ordinary CJK sentence punctuation: text, not a separator, except next to
 * a lone CJK character (guard_norm.h). */
static int is_ordinary_punct(uint32_t c)
{
    if (c >= 0x3001 && c <= 0x301B) /* 、。〈〉《》「」『』【】〒〓〔〕〖〗〘〙〚〛 */
        return c <= 0x3002 || c >= 0x3008; /* not 〃々〆〇 */
    if (c >= 0xFF01 && c <= 0xFF1F)        /* ！（），：；？ */
        return c == 0xFF01 || c == 0xFF08 || c == 0xFF09 || c == 0xFF0C || c == 0xFF1A ||
               c == 0xFF1B || c == 0xFF1F;
    return c == 0x201C || c == 0x201D || c == 0x2018 || c == 0x2019 || c == 0x2026 || /* “”‘’… */
           c == 0x2014;                                                               /* — */
}

/* Chinese financial (大写) numerals and 〇 fold to their common forms, so
 * 壹年 and 一年 match alike; the marking detector reads the value. */
static uint32_t numeral_fold(uint32_t c)
{
    static const uint32_t from[] = {0x58F9, 0x8D30, 0x53C1, 0x8086, 0x4F0D, 0x9646, 0x67D2,
                                    0x634C, 0x7396, 0x62FE, 0x4F70, 0x4EDF, 0x3007, 0x5169};
    static const uint32_t to[] = {0x4E00, 0x4E8C, 0x4E09, 0x56DB, 0x4E94, 0x516D, 0x4E03,
                                  0x516B, 0x4E5D, 0x5341, 0x767E, 0x5343, 0x96F6, 0x4E24};
    for (size_t i = 0; i < sizeof from / sizeof *from; i++)
        if (from[i] == c)
            return to[i];
    return c;
}

/* Han characters drawn like a character of a secrecy level (杌 for 机, 袐
 * for 秘, 宻 for 密): nothing in Unicode's data links them, and each is rare
 * enough in real writing (杌陧, 宻 an old variant) that folding it costs no
 * meaning. Written by hand, like the numerals above; flagged as evasion. */
static uint32_t lookalike_fold(uint32_t c)
{
    static const uint32_t from[] = {0x674C /* 杌 */, 0x674B /* 杋 */, 0x8890 /* 袐 */,
                                    0x5BBB /* 宻 */};
    static const uint32_t to[] = {0x673A /* 机 */, 0x673A, 0x79D8 /* 秘 */, 0x5BC6 /* 密 */};
    for (size_t i = 0; i < sizeof from / sizeof *from; i++)
        if (from[i] == c)
            return to[i];
    return c;
}

static USpoofChecker *spoof;
/* Skeletons of a-z, 0-9, A-Z (62 characters). */
static UChar ascii_skel[62][16];
static int32_t ascii_skel_len[62];

static uint32_t ascii_of(int i)
{
    return i < 26   ? (uint32_t)('a' + i)
           : i < 36 ? (uint32_t)('0' + i - 26)
                    : (uint32_t)('A' + i - 36);
}

static int32_t skeleton(uint32_t c, UChar *out, int32_t cap)
{
    UChar in[2];
    int32_t n = 0;
    UErrorCode st = U_ZERO_ERROR;
    U16_APPEND_UNSAFE(in, n, (UChar32)c);
    int32_t r = uspoof_getSkeleton(spoof, 0, in, n, out, cap, &st);
    return U_FAILURE(st) ? -1 : r;
}

/* A non-ASCII letter or digit whose TR39 skeleton equals that of an ASCII
 * letter or digit is folded to it: Cyrillic а → a, Greek ο → o. ASCII itself is
 * never touched (the skeleton would turn 0 into O and wreck ID numbers), and
 * digits are only produced from digits. */
/* True when NFKC changes c: full-width and other compatibility forms are
 * ordinary folds, not homoglyph evasion. */
static int is_compat(uint32_t c)
{
    utf8proc_uint8_t src[8], *m = NULL;
    utf8proc_ssize_t sl = utf8proc_encode_char((utf8proc_int32_t)c, src);
    utf8proc_ssize_t ml =
        utf8proc_map(src, sl, &m, UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE);
    int r = ml >= 0 && (ml != sl || memcmp(m, src, (size_t)sl) != 0);
    free(m);
    return r;
}

static uint32_t confusable_fold(uint32_t c)
{
    UChar sk[16];
    int8_t cat;
    if (c < 0x80 || is_cjk(c) || is_compat(c))
        return c;
    cat = u_charType((UChar32)c);
    int is_digit = cat == U_DECIMAL_DIGIT_NUMBER;
    if (!u_isalpha((UChar32)c) && !is_digit)
        return c;
    int32_t n = skeleton(c, sk, 16);
    if (n <= 0)
        return c;
    /* Compared with upper- and lowercase letters: Cyrillic Т looks like T,
     * though its lowercase т looks like no Latin letter. The fold is to the
     * lowercase letter, as the view is casefolded. */
    for (int i = 0; i < 62; i++) {
        int digit = i >= 26 && i < 36;
        if (digit != is_digit)
            continue;
        if (ascii_skel_len[i] == n && memcmp(ascii_skel[i], sk, (size_t)n * sizeof(UChar)) == 0)
            return digit ? ascii_of(i) : (uint32_t)('a' + (i < 26 ? i : i - 36));
    }
    return c;
}

static size_t put_utf8(uint32_t c, unsigned char *o)
{
    return (size_t)utf8proc_encode_char((utf8proc_int32_t)c, o);
}

int main(int argc, char **argv)
{
    FILE *out;
    UErrorCode st = U_ZERO_ERROR;
    static unsigned char pool[1 << 20];
    static uint64_t cjk_bits[NCP / 64], ident_bits[NCP / 64], punct[NCP / 32];
    size_t pool_len = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: gen_fold OUT.c OPENCC_TEXT_DICT...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (load_opencc(argv[i]) != 0)
            return 1;
    spoof = uspoof_open(&st);
    if (U_FAILURE(st)) {
        fprintf(stderr, "uspoof_open: %s\n", u_errorName(st));
        return 1;
    }
    for (int i = 0; i < 62; i++)
        ascii_skel_len[i] = skeleton(ascii_of(i), ascii_skel[i], 16);

    out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out, "/* Generated by tools/gen_fold.c at build time. Do not edit. */\n"
                 "#include \"guard_foldtab.h\"\n\n"
                 "const guard_fold_entry guard_fold_bmp[65536] = {\n");

    for (uint32_t c = 0; c < NCP; c++) {
        unsigned char bytes[64];
        size_t nb = 0;
        unsigned flags = 0;
        utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);

        if (c >= 0xD800 && c <= 0xDFFF) {
            /* Surrogates never decode from valid UTF-8; the normaliser turns
             * them into U+FFFD. */
            nb = put_utf8(0xFFFD, bytes);
        } else if (c == '\n' || c == 0x0B || c == 0x0C || c == 0x85 || c == 0x2028 || c == 0x2029) {
            bytes[nb++] = '\n';
            flags |= GUARD_FOLD_NL;
        } else if (c == '\r') {
            flags |= GUARD_FOLD_DROP; /* CRLF is one line break */
        } else if (c == '\t' || cat == UTF8PROC_CATEGORY_ZS) {
            bytes[nb++] = ' ';
            flags |= GUARD_FOLD_SPACE | GUARD_FOLD_SEP;
        } else if (cat == UTF8PROC_CATEGORY_CC) {
            bytes[nb++] = ' ';
            flags |= GUARD_FOLD_SPACE | GUARD_FOLD_SEP;
        } else if (cat == UTF8PROC_CATEGORY_CF || (c >= 0xFE00 && c <= 0xFE0F) || c == 0x034F ||
                   (c >= 0x180B && c <= 0x180F) || c == 0x115F || c == 0x1160 || c == 0x3164 ||
                   c == 0xFFA0) {
            /* Zero-width and format characters (U+200B..200F, 2060..2064,
             * FEFF, 00AD, variation selectors, fillers): invisible, so their
             * only use inside a word is to break matching. */
            flags |= GUARD_FOLD_DROP | GUARD_FOLD_EVASION;
        } else if (is_star(c)) {
            nb = put_utf8(0x2605, bytes);
            flags |= GUARD_FOLD_STAR;
        } else if (c >= 0x80 && confusable_fold(c) < 0x80) {
            bytes[nb++] = (unsigned char)confusable_fold(c);
            flags |= GUARD_FOLD_EVASION;
        } else {
            utf8proc_uint8_t *m = NULL;
            utf8proc_int32_t one = (utf8proc_int32_t)c;
            utf8proc_uint8_t src[8];
            utf8proc_ssize_t sl = utf8proc_encode_char(one, src);
            utf8proc_ssize_t ml =
                utf8proc_map(src, sl, &m,
                             UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                 UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE);
            if (ml < 0) {
                fprintf(stderr, "utf8proc_map U+%04X: %s\n", c, utf8proc_errmsg(ml));
                return 1;
            }
            const unsigned char *p = m;
            utf8proc_ssize_t left = ml;
            while (left > 0) {
                utf8proc_int32_t r;
                utf8proc_ssize_t k = utf8proc_iterate(p, left, &r);
                if (k <= 0)
                    break;
                p += k;
                left -= k;
                uint32_t f = (uint32_t)r;
                if (f < NCP && opencc_map[f])
                    f = opencc_map[f];
                f = numeral_fold(f);
                if (lookalike_fold(f) != f) {
                    f = lookalike_fold(f);
                    flags |= GUARD_FOLD_EVASION;
                }
                uint32_t g = confusable_fold(f);
                if (g != f)
                    flags |= GUARD_FOLD_EVASION;
                if (is_star(g))
                    g = 0x2605;
                nb += put_utf8(g, bytes + nb);
                if (nb > sizeof bytes - 8)
                    break;
            }
            free(m);
            if (nb == 0) {
                /* A combining mark alone (stripped) or a default-ignorable. */
                flags |= GUARD_FOLD_DROP;
                if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME)
                    flags |= GUARD_FOLD_EVASION;
            } else {
                uint32_t first = 0;
                utf8_decode1(bytes, &first);
                if (is_cjk(first))
                    flags |= GUARD_FOLD_CJK;
                else if (first == ' ')
                    flags |= GUARD_FOLD_SPACE | GUARD_FOLD_SEP;
                else if ((cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_SO) ||
                         cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CN)
                    flags |= GUARD_FOLD_SEP;
            }
        }
        if (nb == 0)
            flags |= GUARD_FOLD_DROP;

        uint32_t val = 0;
        if (nb <= 4) {
            memcpy(&val, bytes, nb); /* little-endian byte order: inline */
        } else {
            val = (uint32_t)pool_len;
            memcpy(pool + pool_len, bytes, nb);
            pool_len += nb;
        }
        unsigned char self[4];
        size_t sn = (c >= 0xD800 && c <= 0xDFFF) ? 0 : put_utf8(c, self);
        if (sn == nb && memcmp(self, bytes, nb) == 0)
            flags |= GUARD_FOLD_IDENT;
        if (flags & GUARD_FOLD_CJK)
            cjk_bits[c / 64] |= (uint64_t)1 << (c % 64);
        if (flags == (GUARD_FOLD_CJK | GUARD_FOLD_IDENT))
            ident_bits[c / 64] |= (uint64_t)1 << (c % 64);
        if (is_ordinary_punct(c) && (flags & GUARD_FOLD_SEP)) {
            uint64_t kind = flags == (GUARD_FOLD_SEP | GUARD_FOLD_IDENT) ? GUARD_PUNCT_IDENT
                            : flags == GUARD_FOLD_SEP && nb == 1         ? GUARD_PUNCT_ASCII
                                                                         : GUARD_PUNCT_OTHER;
            punct[c / 32] |= kind << (c % 32 * 2);
        }
        fprintf(out, "{0x%x,%zu,0x%x},%s", val, nb, flags, (c % 8 == 7) ? "\n" : "");
    }
    fprintf(out, "};\n\nconst uint64_t guard_fold_cjk_bits[%d] = {", NCP / 64);
    for (int i = 0; i < NCP / 64; i++)
        fprintf(out, "%s0x%llx,", (i % 4 == 0) ? "\n" : "", (unsigned long long)cjk_bits[i]);
    fprintf(out, "};\n\nconst uint64_t guard_fold_cjk_ident_bits[%d] = {", NCP / 64);
    for (int i = 0; i < NCP / 64; i++)
        fprintf(out, "%s0x%llx,", (i % 4 == 0) ? "\n" : "", (unsigned long long)ident_bits[i]);
    fprintf(out, "};\n\nconst uint64_t guard_fold_punct[%d] = {", NCP / 32);
    for (int i = 0; i < NCP / 32; i++)
        fprintf(out, "%s0x%llx,", (i % 4 == 0) ? "\n" : "", (unsigned long long)punct[i]);
    fprintf(out, "};\n\nconst unsigned char guard_fold_pool[%zu] = {", pool_len ? pool_len : 1);
    for (size_t i = 0; i < pool_len; i++)
        fprintf(out, "%s%u,", (i % 24 == 0) ? "\n" : "", pool[i]);
    if (!pool_len)
        fprintf(out, "0");
    fprintf(out, "\n};\n");
    uspoof_close(spoof);
    return fclose(out) == 0 ? 0 : 1;
}
