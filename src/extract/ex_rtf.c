/*
 * ex_rtf.c — RTF, read by a hand-written, bounded reader.
 *
 * No Debian library extracts text from RTF for C programs (librtf and
 * unrtf are programs, not libraries; AbiWord and LibreOffice are far too big
 * to embed in a worker), so this is a small single-pass tokenizer:
 *   - groups with a depth cap (EX_RTF_MAX_DEPTH; deeper groups are skipped
 *     and reported), each with its own destination and \ucN skip count;
 *   - control words, with \uN (signed, UTF-16, surrogate pairs joined) and
 *     the \ucN replacement characters after it skipped;
 *   - \'hh and raw 8-bit bytes in the current code page (\ansicpgN, or the
 *     current font's \fcharsetN from the font table: 134 → GBK, 136 → Big5
 *     ...) converted with iconv;
 *   - skipped destinations: {\*\...} unless known, fonttbl (parsed for
 *     charsets), colortbl, stylesheet, list tables, revision and rsid
 *     tables, themes, \nonshppict (a duplicate of \shppict's picture);
 *   - \pict pictures and \objdata embedded objects: hex-decoded (or \binN)
 *     into a buffer bounded by member_bytes and handed to ex_recurse (an
 *     OLE1 object's native data is unwrapped first, and a Packager object's
 *     file is extracted under its own name);
 *   - \info (title, author, subject, keywords, comments, company ...) is
 *     collected apart and emitted as a "metadata" segment;
 *   - \par, \line, \sect, \page, \row become newlines, \tab and \cell tabs;
 *     headers, footers, footnotes, annotations and field instructions
 *     (HYPERLINK "...") are text like the body.
 * The body is the segment "body"; it is closed around each nested file
 * (segments do not nest) and resumed after it.
 */
#include "base/base_utf8.h"
#include "ex.h"
#include "ex_xml.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EX_RTF_MAX_DEPTH 200
#define EX_RTF_MAX_FONTS 1024
#define EX_RTF_INFO_CAP  (64u << 10)

enum dest {
    D_TEXT,    /* body, headers, footnotes, fields: content */
    D_SKIP,    /* ignored destination */
    D_FONTTBL, /* font table: numbers and charsets */
    D_INFO,    /* \info container */
    D_INFOTXT, /* one \info field (\title, \author ...) */
    D_PICT,    /* picture data */
    D_OBJDATA  /* embedded object data */
};

typedef struct grp {
    enum dest dest;
    int uc;   /* replacement characters to skip after \uN */
    int font; /* current font number */
} grp;

typedef struct font {
    int num, cp;
} font;

typedef struct rtf {
    ex_job *j;
    const unsigned char *p, *end;
    exx_out out;
    grp st[EX_RTF_MAX_DEPTH + 1];
    int depth, over; /* over: groups past the cap, not pushed */
    int ansicpg;
    font fonts[EX_RTF_MAX_FONTS];
    int nfonts, tbl_font;
    int skip; /* replacement characters still to skip */
    unsigned hi_surrogate;
    /* bytes in the current code page waiting for conversion */
    char pend[256];
    size_t npend;
    iconv_t cd;
    int cd_cp;
    /* \info */
    char info[EX_RTF_INFO_CAP];
    size_t ninfo;
    /* \pict / \objdata */
    unsigned char *blob;
    size_t nblob, capblob;
    int nibble; /* -1, or a pending high nibble */
    bool blob_over;
    unsigned npict, nobj;
    bool depth_reported, blob_reported;
} rtf;

/* ---- output -------------------------------------------------------------------- */

static int cp_of(rtf *r)
{
    int f = r->st[r->depth].font;
    for (int k = 0; k < r->nfonts; k++)
        if (r->fonts[k].num == f && r->fonts[k].cp)
            return r->fonts[k].cp;
    return r->ansicpg;
}

static const char *iconv_name(int cp)
{
    switch (cp) {
    case 936:
        return "GB18030"; /* a superset of GBK and GB2312 */
    case 950:
        return "BIG5";
    case 932:
        return "CP932";
    case 949:
        return "CP949";
    case 874:
        return "CP874";
    case 10000:
        return "MACINTOSH";
    case 65001:
        return "UTF-8";
    default:
        return NULL;
    }
}

static int put_text(rtf *r, const char *s, size_t n)
{
    enum dest d = r->st[r->depth].dest;

    if (d == D_TEXT)
        return exx_put(&r->out, s, n);
    if (d == D_INFOTXT) {
        size_t k = n < sizeof r->info - r->ninfo ? n : sizeof r->info - r->ninfo;
        memcpy(r->info + r->ninfo, s, k);
        r->ninfo += k;
    }
    return 0;
}

/* Converts the pending code-page bytes to UTF-8. */
static int flush_bytes(rtf *r)
{
    char outb[1024];
    char *in = r->pend;
    size_t left = r->npend;
    int cp = cp_of(r);

    if (!r->npend)
        return 0;
    r->npend = 0;
    if (cp != r->cd_cp) {
        char name[32];
        const char *nm = iconv_name(cp);
        if (r->cd != (iconv_t)-1)
            iconv_close(r->cd);
        if (!nm) {
            snprintf(name, sizeof name, "CP%d", cp >= 1250 && cp <= 1258 ? cp : 1252);
            nm = name;
        }
        r->cd = iconv_open("UTF-8", nm);
        if (r->cd == (iconv_t)-1)
            r->cd = iconv_open("UTF-8", "CP1252");
        r->cd_cp = cp;
    }
    while (left) {
        char *o = outb;
        size_t room = sizeof outb;
        size_t rc = r->cd == (iconv_t)-1 ? (size_t)-1 : iconv(r->cd, &in, &left, &o, &room);
        if (o > outb && put_text(r, outb, (size_t)(o - outb)) < 0)
            return -1;
        if (rc == (size_t)-1 && errno != E2BIG) {
            /* an invalid or cut-off sequence: one replacement, go on */
            if (put_text(r, "\xEF\xBF\xBD", 3) < 0)
                return -1;
            in++;
            left--;
            if (r->cd != (iconv_t)-1)
                iconv(r->cd, NULL, NULL, NULL, NULL);
        }
    }
    return 0;
}

static int put_byte(rtf *r, unsigned char c)
{
    enum dest d = r->st[r->depth].dest;

    if (d != D_TEXT && d != D_INFOTXT)
        return 0;
    if (r->npend == sizeof r->pend && flush_bytes(r) < 0)
        return -1;
    r->pend[r->npend++] = (char)c;
    return 0;
}

static int put_str(rtf *r, const char *s)
{
    if (flush_bytes(r) < 0)
        return -1;
    return put_text(r, s, strlen(s));
}

static int put_cp(rtf *r, unsigned cp)
{
    char b[4];
    size_t n;

    if (flush_bytes(r) < 0)
        return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        r->hi_surrogate = cp;
        return 0;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        if (!r->hi_surrogate)
            return 0;
        cp = 0x10000 + ((r->hi_surrogate - 0xD800) << 10) + (cp - 0xDC00);
    }
    r->hi_surrogate = 0;
    n = base_utf8_encode(cp, b);
    if (!n) /* a lone surrogate or past U+10FFFF */
        n = base_utf8_encode(0xFFFD, b);
    return put_text(r, b, n);
}

static int newline(rtf *r)
{
    if (flush_bytes(r) < 0)
        return -1;
    if (r->st[r->depth].dest == D_INFOTXT)
        return put_text(r, " ", 1);
    return r->st[r->depth].dest == D_TEXT ? exx_nl(&r->out) : 0;
}

/* ---- pictures and objects ----------------------------------------------------------- */

static void blob_byte(rtf *r, unsigned char c)
{
    if (r->blob_over)
        return;
    if (r->nblob == r->capblob) {
        size_t nc = r->capblob ? r->capblob * 2 : 65536;
        unsigned char *p;
        if (nc > ex_job_limits(r->j)->member_bytes)
            nc = (size_t)ex_job_limits(r->j)->member_bytes;
        if (nc <= r->nblob || !(p = realloc(r->blob, nc))) {
            r->blob_over = true;
            return;
        }
        r->blob = p;
        r->capblob = nc;
    }
    r->blob[r->nblob++] = c;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An OLE1 object (MS-OLEDS 2.2.4): version, format id, class name, topic,
 * item, native data. A "Package" object wraps a file: label, path, data. */
static int emit_object(rtf *r, const unsigned char *d, size_t n)
{
    char name[600], cls[64] = "object";
    size_t off = 8;
    uint32_t len;

    r->nobj++;
    if (n >= 12 && le32(d + 4) == 2) { /* embedded */
        for (int s = 0; s < 3; s++) {  /* class, topic, item: length-prefixed */
            if (off + 4 > n)
                goto raw;
            len = le32(d + off);
            if (len > n - off - 4)
                goto raw;
            if (s == 0 && len > 0 && len < sizeof cls)
                snprintf(cls, sizeof cls, "%.*s", (int)len - 1, (const char *)d + off + 4);
            off += 4 + len;
        }
        if (off + 4 > n || (len = le32(d + off)) > n - off - 4)
            goto raw;
        d += off + 4;
        n = len;
        if (!strcmp(cls, "Package") && n > 2) {
            /* Packager: 2-byte header, label\0, source path\0, 4 bytes,
             * temp path length + path, data length + data */
            size_t p = 2, lab, k;
            lab = p;
            while (p < n && d[p])
                p++;
            k = p - lab;
            for (int s = 0; s < 2 && p < n; s++) { /* label's NUL, then the path */
                p++;
                while (s == 0 && p < n && d[p])
                    p++;
            }
            p += 4; /* two 16-bit words of flags */
            if (p + 4 <= n && (len = le32(d + p)) <= n - p - 4) {
                p += 4 + len;
                if (p + 4 <= n && (len = le32(d + p)) <= n - p - 4) {
                    snprintf(name, sizeof name, "object %u %.*s", r->nobj, (int)(k < 200 ? k : 200),
                             (const char *)d + lab);
                    return ex_recurse(r->j, name, d + p + 4, len);
                }
            }
        }
    }
raw:
    snprintf(name, sizeof name, "object %u (%s)", r->nobj, cls);
    return ex_recurse(r->j, name, d, n);
}

/* Called when a \pict or \objdata group closes. */
static int end_blob(rtf *r, enum dest d)
{
    char name[64];
    int rc = 0;

    if (r->blob_over && !r->blob_reported) {
        r->blob_reported = true;
        rc = ex_uninspectable(r->j, d == D_PICT ? "picture" : "object", "limit.member",
                              "embedded picture or object larger than the member limit", false);
    } else if (r->nblob && ex_job_account(r->j, r->nblob) < 0) {
        rc = ex_uninspectable(r->j, NULL, "limit.unpacked", "unpacked bytes over the limit", false);
        rc = -1;
    } else if (r->nblob) {
        /* segments do not nest: close the body around the nested file */
        if (exx_end(&r->out) < 0)
            return -1;
        if (d == D_PICT) {
            snprintf(name, sizeof name, "picture %u", ++r->npict);
            rc = ex_recurse(r->j, name, r->blob, r->nblob);
        } else {
            rc = emit_object(r, r->blob, r->nblob);
        }
        exx_begin(&r->out, r->j, "body");
    }
    r->nblob = 0;
    r->blob_over = false;
    r->nibble = -1;
    return rc;
}

/* ---- control words -------------------------------------------------------------------- */

static const char *const skip_dests[] = {
    "colortbl",     "stylesheet", "listtable",   "listoverridetable", "revtbl",
    "rsidtbl",      "generator",  "xmlnstbl",    "themedata",         "colorschememapping",
    "latentstyles", "datastore",  "nonshppict",  "filetbl",           "pgdsctbl",
    "private",      "mmathPr",    "fontemb",     "fontfile",          "blipuid",
    "panose",       "falt",       "listpicture", "pnseclvl",          "xmlopen",
    "objclass",     "objname",    "result",      "bkmkstart",         "bkmkend",
    "picprop",      "sp",         "sn",
};

/* Known \* destinations whose text is content. */
static const char *const text_dests[] = {
    "shppict", "fldinst", "annotation", "atnid",   "atnauthor", "footnote", "header",
    "footer",  "headerl", "headerr",    "headerf", "footerl",   "footerr",  "footerf",
    "shpinst", "shptxt",  "object",     "objdata", "pict",
};

static const char *const info_fields[] = {
    "title",   "subject", "author",   "keywords", "doccomm",   "comment",
    "company", "manager", "operator", "category", "hlinkbase",
};

static bool in_list(const char *w, const char *const *l, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(w, l[k]))
            return true;
    return false;
}

#define LIST(a) a, sizeof a / sizeof *a

static int info_start(rtf *r, const char *w)
{
    char h[40];
    int k = snprintf(h, sizeof h, "%s%s: ", r->ninfo ? "\n" : "", w);
    if (k > 0 && (size_t)k < sizeof r->info - r->ninfo) {
        memcpy(r->info + r->ninfo, h, (size_t)k);
        r->ninfo += (size_t)k;
    }
    return 0;
}

static int control(rtf *r, const char *w, bool has_arg, long arg, bool starred)
{
    grp *g = &r->st[r->depth];

    if (g->dest == D_SKIP)
        return 0;
    if (g->dest == D_PICT || g->dest == D_OBJDATA) {
        if (!strcmp(w, "bin") && has_arg && arg > 0) {
            /* raw binary data follows: take it (bounded), never parse it */
            size_t n =
                (size_t)arg < (size_t)(r->end - r->p) ? (size_t)arg : (size_t)(r->end - r->p);
            for (size_t k = 0; k < n; k++)
                blob_byte(r, r->p[k]);
            r->p += n;
        } else if (!strcmp(w, "objdata")) {
            g->dest = D_OBJDATA;
        } else if (in_list(w, LIST(skip_dests))) {
            g->dest = D_SKIP;
        }
        return 0;
    }
    if (g->dest == D_FONTTBL) {
        if (!strcmp(w, "f") && has_arg) {
            if (r->nfonts < EX_RTF_MAX_FONTS) {
                r->tbl_font = r->nfonts++;
                r->fonts[r->tbl_font].num = (int)arg;
                r->fonts[r->tbl_font].cp = 0;
            }
        } else if (!strcmp(w, "fcharset") && has_arg && r->tbl_font >= 0) {
            static const int map[][2] = {{128, 932},  {129, 949},  {134, 936},  {136, 950},
                                         {161, 1253}, {162, 1254}, {177, 1255}, {178, 1256},
                                         {186, 1257}, {204, 1251}, {222, 874},  {238, 1250}};
            for (size_t k = 0; k < sizeof map / sizeof *map; k++)
                if (map[k][0] == arg)
                    r->fonts[r->tbl_font].cp = map[k][1];
        } else if (!strcmp(w, "cpg") && has_arg && r->tbl_font >= 0) {
            r->fonts[r->tbl_font].cp = (int)arg;
        }
        return 0;
    }
    if (g->dest == D_INFO) {
        if (in_list(w, LIST(info_fields))) {
            g->dest = D_INFOTXT;
            return info_start(r, w);
        }
        if (starred || strcmp(w, "info"))
            g->dest = D_SKIP; /* dates, counts, \*\... */
        return 0;
    }
    /* D_TEXT or D_INFOTXT */
    if (!strcmp(w, "bin") && has_arg && arg > 0) {
        /* binary data in the text flow: skip it, never parse it as RTF */
        r->p += (size_t)arg < (size_t)(r->end - r->p) ? (size_t)arg : (size_t)(r->end - r->p);
        return 0;
    }
    if (!strcmp(w, "u") && has_arg) {
        r->skip = g->uc;
        return put_cp(r, (unsigned)(arg < 0 ? arg + 65536 : arg) & 0xFFFF);
    }
    if (!strcmp(w, "uc") && has_arg) {
        g->uc = arg < 0 ? 0 : arg > 16 ? 16 : (int)arg;
        return 0;
    }
    if (!strcmp(w, "ansicpg") && has_arg) {
        r->ansicpg = (int)arg;
        return 0;
    }
    if (!strcmp(w, "f") && has_arg) {
        if (flush_bytes(r) < 0)
            return -1;
        g->font = (int)arg;
        return 0;
    }
    if (!strcmp(w, "fonttbl")) {
        g->dest = D_FONTTBL;
        r->tbl_font = -1;
        return 0;
    }
    if (!strcmp(w, "info")) {
        g->dest = D_INFO;
        return 0;
    }
    if (!strcmp(w, "pict")) {
        g->dest = D_PICT;
        r->nibble = -1;
        return 0;
    }
    if (!strcmp(w, "objdata")) {
        g->dest = D_OBJDATA;
        r->nibble = -1;
        return 0;
    }
    if (in_list(w, LIST(skip_dests)) || (starred && !in_list(w, LIST(text_dests)))) {
        if (flush_bytes(r) < 0)
            return -1;
        g->dest = D_SKIP;
        return 0;
    }
    if (!strcmp(w, "par") || !strcmp(w, "line") || !strcmp(w, "sect") || !strcmp(w, "page") ||
        !strcmp(w, "row"))
        return newline(r);
    if (!strcmp(w, "fldrslt"))
        return put_str(r, " "); /* keep a field's code apart from its result */
    if (!strcmp(w, "tab") || !strcmp(w, "cell"))
        return put_str(r, "\t");
    if (!strcmp(w, "emdash"))
        return put_str(r, "\xE2\x80\x94");
    if (!strcmp(w, "endash"))
        return put_str(r, "\xE2\x80\x93");
    if (!strcmp(w, "lquote") || !strcmp(w, "rquote"))
        return put_str(r, "'");
    if (!strcmp(w, "ldblquote") || !strcmp(w, "rdblquote"))
        return put_str(r, "\"");
    if (!strcmp(w, "bullet"))
        return put_str(r, "\xE2\x80\xA2");
    if (!strcmp(w, "emspace") || !strcmp(w, "enspace"))
        return put_str(r, " ");
    return 0;
}

/* ---- the tokenizer ---------------------------------------------------------------------- */

static int open_group(rtf *r)
{
    if (flush_bytes(r) < 0)
        return -1;
    if (r->over || r->depth >= EX_RTF_MAX_DEPTH) {
        r->over++;
        if (!r->depth_reported) {
            r->depth_reported = true;
            return ex_uninspectable(r->j, NULL, "limit.depth",
                                    "RTF groups nested deeper than the reader's cap; the deeper "
                                    "groups were not read",
                                    false);
        }
        return 0;
    }
    r->st[r->depth + 1] = r->st[r->depth];
    r->depth++;
    r->skip = 0;
    return 0;
}

static int close_group(rtf *r)
{
    enum dest d;

    if (flush_bytes(r) < 0)
        return -1;
    r->skip = 0;
    if (r->over) {
        r->over--;
        return 0;
    }
    if (r->depth == 0)
        return 0; /* unbalanced '}': ignore */
    d = r->st[r->depth].dest;
    r->depth--;
    if ((d == D_PICT || d == D_OBJDATA) && r->st[r->depth].dest != d)
        return end_blob(r, d);
    if (d == D_INFOTXT && r->ninfo < sizeof r->info)
        r->info[r->ninfo] = 0;
    return 0;
}

static int run(rtf *r)
{
    while (r->p < r->end) {
        unsigned char c = *r->p++;
        grp *g = &r->st[r->depth];
        int rc = 0;

        if (r->over && c != '{' && c != '}' && c != '\\')
            continue;
        if (c == '{') {
            rc = open_group(r);
        } else if (c == '}') {
            rc = close_group(r);
        } else if (c == '\\') {
            char w[33];
            size_t n = 0;
            bool neg = false, has = false;
            long arg = 0;
            if (r->p >= r->end)
                break;
            c = *r->p;
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                r->p++;
                if (r->over)
                    continue;
                if (c == '\'') { /* \'hh */
                    int hi = r->p < r->end ? hexval(r->p[0]) : -1;
                    int lo = r->p + 1 < r->end ? hexval(r->p[1]) : -1;
                    if (hi < 0 || lo < 0)
                        continue;
                    r->p += 2;
                    if (r->skip) {
                        r->skip--;
                        continue;
                    }
                    rc = put_byte(r, (unsigned char)(hi << 4 | lo));
                } else if (c == '*') {
                    /* \*\word: an ignorable destination unless we know it */
                    if (r->p < r->end && *r->p == '\\') {
                        const unsigned char *q = r->p + 1;
                        while (q < r->end && n < sizeof w - 1 &&
                               ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
                            w[n++] = (char)*q++;
                        w[n] = 0;
                        if (n && !in_list(w, LIST(text_dests)) && g->dest != D_PICT &&
                            g->dest != D_OBJDATA) {
                            rc = flush_bytes(r);
                            g->dest = D_SKIP;
                        }
                    }
                } else if (c == '{' || c == '}' || c == '\\') {
                    char s[2] = {(char)c, 0};
                    if (r->skip)
                        r->skip--;
                    else
                        rc = put_str(r, s);
                } else if (c == '~') {
                    rc = put_str(r, " ");
                } else if (c == '_') {
                    rc = put_str(r, "-");
                } else if (c == '\n' || c == '\r') {
                    rc = newline(r); /* "\<newline>" is \par */
                }
            } else {
                while (r->p < r->end && n < sizeof w - 1 &&
                       ((*r->p >= 'a' && *r->p <= 'z') || (*r->p >= 'A' && *r->p <= 'Z')))
                    w[n++] = (char)*r->p++;
                w[n] = 0;
                while (r->p < r->end &&
                       ((*r->p >= 'a' && *r->p <= 'z') || (*r->p >= 'A' && *r->p <= 'Z')))
                    r->p++; /* a word longer than any real one: drop the rest */
                if (r->p < r->end && *r->p == '-') {
                    neg = true;
                    r->p++;
                }
                while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
                    if (arg < 100000000)
                        arg = arg * 10 + (*r->p - '0');
                    has = true;
                    r->p++;
                }
                if (neg)
                    arg = -arg;
                if (r->p < r->end && *r->p == ' ')
                    r->p++;
                if (r->over)
                    continue;
                if (r->skip && strcmp(w, "u") && strcmp(w, "bin")) {
                    r->skip--; /* a control word counts as one replacement character */
                    continue;
                }
                rc = control(r, w, has, arg, false);
            }
        } else if (c == '\r' || c == '\n') {
            continue;
        } else if (g->dest == D_PICT || g->dest == D_OBJDATA) {
            int v = hexval(c);
            if (v >= 0) {
                if (r->nibble < 0) {
                    r->nibble = v;
                } else {
                    blob_byte(r, (unsigned char)(r->nibble << 4 | v));
                    r->nibble = -1;
                }
            }
        } else if (g->dest == D_FONTTBL || g->dest == D_SKIP || g->dest == D_INFO) {
            continue;
        } else if (r->skip) {
            r->skip--;
        } else if (c >= 0x80) {
            rc = put_byte(r, c);
        } else {
            char s[2] = {(char)c, 0};
            rc = put_str(r, s);
        }
        if (rc < 0 || r->out.err)
            return -1;
    }
    return flush_bytes(r);
}

int ex_rtf(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    rtf *r = calloc(1, sizeof *r);
    int rc = -1;

    (void)mime;
    if (!r)
        return -1;
    r->j = j;
    r->p = data;
    r->end = data + len;
    r->ansicpg = 1252;
    r->cd = (iconv_t)-1;
    r->cd_cp = -1;
    r->nibble = -1;
    r->st[0].dest = D_TEXT;
    r->st[0].uc = 1;
    if (len < 5 || memcmp(data, "{\\rtf", 5)) {
        rc = ex_uninspectable(j, NULL, "corrupt", "not an RTF document", true);
        goto fail;
    }
    exx_begin(&r->out, j, "body");
    if (run(r) < 0)
        goto fail;
    if (exx_end(&r->out) < 0)
        goto fail;
    if (r->ninfo) {
        exx_begin(&r->out, j, "metadata");
        if (exx_put(&r->out, r->info, r->ninfo) < 0 || exx_end(&r->out) < 0)
            goto fail;
    }
    /* an RTF document ends where its outermost group closes */
    if ((r->depth > 0 || r->over) &&
        ex_uninspectable(j, NULL, "truncated", "RTF document ends inside a group (cut off?)",
                         false) < 0)
        goto fail;
    rc = 0;
fail:
    exx_end(&r->out);
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    free(r->blob);
    free(r);
    return rc;
}
