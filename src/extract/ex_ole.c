/*
 * ex_ole.c — OLE compound files: legacy .doc, .xls, .ppt, .wps, and the
 * container of a password-protected OOXML document.
 *
 * The compound file is opened with libgsf. Then:
 *   - "properties": the SummaryInformation and DocumentSummaryInformation
 *     streams (title, subject, author, keywords, comments, company, manager,
 *     user-defined properties where labels such as 密级 live), always, as
 *     "name: value" lines;
 *   - EncryptionInfo + EncryptedPackage streams: an encrypted OOXML file
 *     (Office's "Encrypt with password") → uninspectable.encrypted;
 *   - WordDocument (Word 97-2003 .doc, and WPS Writer's .wps, which uses the
 *     same format): the FIB's fEncrypted bit → uninspectable.encrypted; else
 *     the text is read through the piece table (FIB → CLX in the 0Table or
 *     1Table stream → PlcPcd → each piece's characters, 8-bit cp1252 or
 *     UTF-16LE). That covers the body, footnotes, headers, comments and text
 *     boxes (all are ranges of the same character stream). Written by hand:
 *     Debian's libwv (wvWare, unmaintained since 2009) wants a file path and
 *     its own callback-driven HTML/text machinery; the piece table is ~100
 *     lines here with every offset and count checked against the stream;
 *   - Workbook/Book (Excel 97-2003 BIFF8): FILEPASS → encrypted; sheet
 *     names (BOUNDSHEET), the shared string table (SST with its CONTINUE
 *     records), numbers (NUMBER, RK, MULRK), labels and cached formula
 *     strings as the segment "Workbook" (cells are not mapped to sheets);
 *   - PowerPoint Document (PowerPoint 97-2003): CryptSession10Container →
 *     encrypted; else every TextCharsAtom, TextBytesAtom and CString in the
 *     record tree (slides, notes, masters) as "PowerPoint Document";
 *   - anything else (Word 6/95, old Works .wps, an embedded object's own
 *     storage, unknown streams): the body is reported as
 *     uninspectable.unsupported — the properties were still read, so the
 *     status is partial, never a silent pass.
 * Embedded objects (ObjectPool) and pictures (the Data stream) of a .doc are
 * not read yet (reported as unsupported when present).
 */
#include "base/base_utf8.h"
#include "ex.h"
#include "ex_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsf/gsf.h>

/* ---- small readers ------------------------------------------------------------ */

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a whole stream, bounded by member_bytes and accounted. 0 with *out
 * (g_free), 1 when over a limit or unreadable (*why set), -1 fatal. */
static int slurp(ex_job *j, GsfInput *in, guint8 **out, size_t *len, const char **why)
{
    gsf_off_t size = gsf_input_size(in);
    guint8 *buf;

    if (size < 0) {
        *why = "corrupt";
        return 1;
    }
    if ((uint64_t)size > ex_job_limits(j)->member_bytes) {
        *why = "limit.member";
        return 1;
    }
    if (ex_job_account(j, (uint64_t)size) < 0) {
        *why = "limit.unpacked";
        return -1;
    }
    buf = g_try_malloc((gsize)size + 1);
    if (!buf)
        return -1;
    if (size && !gsf_input_read(in, (size_t)size, buf)) {
        g_free(buf);
        *why = "corrupt";
        return 1;
    }
    *out = buf;
    *len = (size_t)size;
    return 0;
}

/* ---- properties ---------------------------------------------------------------- */

static void prop_cb(gpointer key, gpointer value, gpointer user)
{
    exx_out *out = user;
    const char *name = key;
    const GValue *v = gsf_doc_prop_get_val(value);
    const char *colon;

    if (!v || !G_VALUE_HOLDS_STRING(v))
        return;                /* dates, counts, thumbnails */
    colon = strchr(name, ':'); /* "dc:title" → "title" */
    exx_prop(out, colon && colon[1] ? colon + 1 : name, g_value_get_string(v));
}

static int emit_properties(ex_job *j, GsfInfile *ole)
{
    static const char *const streams[] = {"\005SummaryInformation",
                                          "\005DocumentSummaryInformation"};
    exx_out out;

    exx_begin(&out, j, "properties");
    for (size_t k = 0; k < 2; k++) {
        GsfInput *s = gsf_infile_child_by_name(ole, streams[k]);
        GsfDocMetaData *md;
        GError *err;
        if (!s)
            continue;
        md = gsf_doc_meta_data_new();
        err = gsf_doc_meta_data_read_from_msole(md, s);
        if (err)
            g_error_free(err); /* what was read before the error is kept */
        gsf_doc_meta_data_foreach(md, prop_cb, &out);
        g_object_unref(md);
        g_object_unref(s);
        if (out.err)
            break;
    }
    return exx_end(&out);
}

/* ---- text helpers ----------------------------------------------------------------- */

/* Windows-1252's 0x80-0x9F; the rest of the upper half is Latin-1. */
static const uint16_t cp1252_hi[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static int put_u(exx_out *out, unsigned c)
{
    char b[4];
    size_t n;

    n = base_utf8_encode(c, b);
    if (!n) /* a UTF-16 surrogate on its own */
        n = base_utf8_encode(0xFFFD, b);
    return exx_put(out, b, n);
}

/* One Word character: control characters mapped to layout, the rest as is.
 * Surrogates pass through as U+FFFD (rare in Chinese documents: BMP). */
static int put_word_char(exx_out *out, unsigned c)
{
    switch (c) {
    case 0x0D: /* paragraph */
    case 0x0B: /* line break */
    case 0x0C: /* page or section break */
        return exx_nl(out);
    case 0x07: /* cell or row end */
    case 0x09:
        return exx_sep(out, '\t');
    case 0x13: /* field begin, separator, end: keep code and result apart */
    case 0x14:
    case 0x15:
    case 0xA0:
        return exx_sep(out, ' ');
    case 0x1E:
        return exx_put(out, "-", 1);
    default:
        if (c < 0x20 || c == 0x1F)
            return 0; /* anchors of pictures, footnote marks, soft hyphens */
        if (c >= 0xD800 && c <= 0xDFFF)
            c = 0xFFFD;
        return put_u(out, c);
    }
}

static int put_text16(exx_out *out, const unsigned char *p, size_t nchars)
{
    for (size_t k = 0; k < nchars; k++)
        if (put_word_char(out, le16(p + 2 * k)) < 0)
            return -1;
    return 0;
}

static int put_text8(exx_out *out, const unsigned char *p, size_t nchars)
{
    for (size_t k = 0; k < nchars; k++) {
        unsigned c = p[k];
        if (c >= 0x80 && c < 0xA0)
            c = cp1252_hi[c - 0x80];
        if (put_word_char(out, c) < 0)
            return -1;
    }
    return 0;
}

/* ---- Word 97-2003 ------------------------------------------------------------------- */

#define FIB_FLAGS       0x0A
#define FIB_ENCRYPTED   0x0100
#define FIB_WHICH_TBL   0x0200
#define FIB_NFIB_WORD97 0x00C1

/* The piece table: 0 done (text written), 1 malformed (reported), -1 fatal. */
static int word_pieces(exx_out *out, const guint8 *wd, size_t wdlen, const guint8 *tbl,
                       size_t tbllen, uint32_t fc, uint32_t lcb)
{
    size_t off, end;

    if (fc > tbllen || lcb > tbllen - fc)
        return 1;
    off = fc;
    end = (size_t)fc + lcb;
    /* Prc entries (formatting) first, then one Pcdt */
    while (off < end && tbl[off] == 0x01) {
        if (end - off < 3)
            return 1;
        off += 3 + (size_t)le16(tbl + off + 1);
    }
    if (off >= end || tbl[off] != 0x02 || end - off < 5)
        return 1;
    {
        uint32_t plc = le32(tbl + off + 1);
        const guint8 *p = tbl + off + 5;
        size_t n;
        if (plc > end - off - 5 || plc < 16 || (plc - 4) % 12)
            return 1;
        n = (plc - 4) / 12; /* n + 1 CPs (4 bytes) and n PCDs (8 bytes) */
        for (size_t k = 0; k < n; k++) {
            uint32_t cp0 = le32(p + 4 * k), cp1 = le32(p + 4 * (k + 1));
            uint32_t fcv = le32(p + 4 * (n + 1) + 8 * k + 2);
            bool compressed = (fcv >> 30) & 1;
            size_t nch, at;
            if (cp1 < cp0)
                return 1;
            nch = cp1 - cp0;
            fcv &= 0x3FFFFFFF;
            at = compressed ? fcv / 2 : fcv;
            if (at > wdlen || nch > (wdlen - at) / (compressed ? 1 : 2))
                return 1;
            if ((compressed ? put_text8(out, wd + at, nch) : put_text16(out, wd + at, nch)) < 0)
                return -1;
        }
    }
    return 0;
}

static int word(ex_job *j, GsfInfile *ole, GsfInput *wds)
{
    guint8 *wd = NULL, *tbl = NULL;
    size_t wdlen = 0, tbllen = 0;
    const char *why = NULL;
    GsfInput *ts = NULL;
    exx_out out;
    uint16_t flags, csw, cslw, cb;
    size_t at;
    int rc = -1, k;

    if ((k = slurp(j, wds, &wd, &wdlen, &why)) != 0) {
        if (why && ex_uninspectable(j, "WordDocument", why, "Word text stream not read", false) < 0)
            return -1;
        return k < 0 ? -1 : 0;
    }
    if (wdlen < 64 || le16(wd) != 0xA5EC) {
        rc = ex_uninspectable(j, "WordDocument", "corrupt", "Word stream without a valid FIB",
                              false);
        goto fail;
    }
    flags = le16(wd + FIB_FLAGS);
    if (flags & FIB_ENCRYPTED) {
        rc = ex_uninspectable(j, NULL, "encrypted", "password-protected Word document", true);
        goto fail;
    }
    if (le16(wd + 2) < FIB_NFIB_WORD97) {
        rc = ex_uninspectable(j, "WordDocument", "unsupported",
                              "Word 6/95 document: only its properties were read", false);
        goto fail;
    }
    /* FibBase (32) | csw | fibRgW | cslw | fibRgLw | cbRgFcLcb | fibRgFcLcb */
    csw = le16(wd + 32);
    at = 34 + 2 * (size_t)csw;
    if (at + 2 > wdlen)
        goto corrupt;
    cslw = le16(wd + at);
    at += 2 + 4 * (size_t)cslw;
    if (at + 2 > wdlen)
        goto corrupt;
    cb = le16(wd + at);
    at += 2;
    if (cb < 34 || at + 34 * 8 > wdlen)
        goto corrupt;
    ts = gsf_infile_child_by_name(ole, (flags & FIB_WHICH_TBL) ? "1Table" : "0Table");
    if (!ts)
        goto corrupt;
    if ((k = slurp(j, ts, &tbl, &tbllen, &why)) != 0) {
        rc = k < 0 ? -1
                   : ex_uninspectable(j, "WordDocument", why, "Word table stream not read", false);
        goto fail;
    }
    exx_begin(&out, j, "body");
    k = word_pieces(&out, wd, wdlen, tbl, tbllen, le32(wd + at + 33 * 8),
                    le32(wd + at + 33 * 8 + 4));
    if (exx_end(&out) < 0 || k < 0)
        goto fail;
    if (k > 0)
        goto corrupt;
    rc = 0;
    {
        GsfInput *op = gsf_infile_child_by_name(ole, "ObjectPool");
        if (op) {
            g_object_unref(op);
            rc = ex_uninspectable(j, "ObjectPool", "unsupported",
                                  "objects embedded in a .doc are not read", false);
        }
    }
    goto fail;
corrupt:
    rc = ex_uninspectable(j, "WordDocument", "corrupt",
                          "Word document structure (FIB or piece table) is damaged", false);
fail:
    if (ts)
        g_object_unref(ts);
    g_free(wd);
    g_free(tbl);
    return rc;
}

/* ---- Excel 97-2003 (BIFF8) -------------------------------------------------------------- */

/* The SST and its CONTINUE records as one stream of bytes that knows where
 * each record starts: a string's characters that cross a record boundary
 * start again with a flags byte (compressed 8-bit or UTF-16). */
typedef struct biff {
    const guint8 *d;
    size_t len;
    size_t pos;     /* in d */
    size_t rec_end; /* end of the current record's data */
} biff;

static bool biff_next_rec(biff *b)
{
    /* only CONTINUE (0x003C) may follow an SST */
    if (b->rec_end + 4 > b->len || le16(b->d + b->rec_end) != 0x003C)
        return false;
    b->pos = b->rec_end + 4;
    b->rec_end = b->pos + le16(b->d + b->rec_end + 2);
    if (b->rec_end > b->len)
        b->rec_end = b->len;
    return true;
}

static bool biff_skip(biff *b, size_t n)
{
    while (n) {
        size_t k;
        if (b->pos >= b->rec_end && !biff_next_rec(b))
            return false;
        k = b->rec_end - b->pos < n ? b->rec_end - b->pos : n;
        b->pos += k;
        n -= k;
    }
    return true;
}

static bool biff_bytes(biff *b, guint8 *out, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (b->pos >= b->rec_end && !biff_next_rec(b))
            return false;
        out[k] = b->d[b->pos++];
    }
    return true;
}

static int sst(exx_out *out, biff *b)
{
    guint8 h[8];
    uint32_t unique;

    if (!biff_bytes(b, h, 8))
        return 1;
    unique = le32(h + 4);
    for (uint32_t s = 0; s < unique; s++) {
        guint8 f, x[4];
        uint16_t cch;
        uint16_t runs = 0;
        uint32_t ext = 0;
        bool wide;
        if (!biff_bytes(b, x, 2) || !biff_bytes(b, &f, 1))
            return 1;
        cch = le16(x);
        if ((f & 0x08) && biff_bytes(b, x, 2))
            runs = le16(x);
        if ((f & 0x04) && biff_bytes(b, x, 4))
            ext = le32(x);
        wide = f & 0x01;
        for (uint16_t c = 0; c < cch; c++) {
            if (b->pos >= b->rec_end) {
                /* characters continue in the next record, with a new flags byte */
                if (!biff_next_rec(b) || b->pos >= b->rec_end)
                    return 1;
                wide = b->d[b->pos++] & 0x01;
            }
            if (wide) {
                if (b->pos + 2 > b->rec_end)
                    return 1;
                if (put_word_char(out, le16(b->d + b->pos)) < 0)
                    return -1;
                b->pos += 2;
            } else {
                unsigned ch = b->d[b->pos++];
                if (ch >= 0x80 && ch < 0xA0)
                    ch = cp1252_hi[ch - 0x80];
                if (put_word_char(out, ch) < 0)
                    return -1;
            }
        }
        if (exx_nl(out) < 0)
            return -1;
        if (!biff_skip(b, 4 * (size_t)runs + ext))
            return 1;
    }
    return 0;
}

static int put_number(exx_out *out, double v)
{
    char b[40];
    int n = snprintf(b, sizeof b, "%.15g", v);
    if (exx_sep(out, '\t') < 0 || exx_put(out, b, (size_t)n) < 0)
        return -1;
    return 0;
}

static double rk_value(uint32_t rk)
{
    double v;
    if (rk & 2) {
        v = (double)((int32_t)rk >> 2);
    } else {
        uint64_t bits = (uint64_t)(rk & 0xFFFFFFFCu) << 32;
        memcpy(&v, &bits, sizeof v);
    }
    return (rk & 1) ? v / 100 : v;
}

/* Cell values that are not shared strings: numbers (a phone number typed in
 * a cell is a number), inline labels, cached formula strings. */
static int cell(exx_out *out, uint16_t type, const guint8 *p, uint16_t n, uint32_t *row)
{
    if (n >= 2 && le16(p) != *row) { /* a new row: a new line */
        *row = le16(p);
        if (exx_nl(out) < 0)
            return -1;
    }
    if (type == 0x0203 && n >= 14) { /* NUMBER */
        double v;
        memcpy(&v, p + 6, sizeof v);
        return put_number(out, v);
    }
    if (type == 0x027E && n >= 10) /* RK */
        return put_number(out, rk_value(le32(p + 6)));
    if (type == 0x00BD && n >= 10) { /* MULRK: row, first col, (ixfe, rk)*, last col */
        for (size_t k = 4; k + 6 <= (size_t)n - 2; k += 6)
            if (put_number(out, rk_value(le32(p + k + 2))) < 0)
                return -1;
        return 0;
    }
    if ((type == 0x0204 && n >= 9) || (type == 0x0207 && n >= 3)) { /* LABEL, STRING */
        size_t at = type == 0x0204 ? 6 : 0, cch = le16(p + at);
        bool wide = p[at + 2] & 1;
        if (at + 3 + cch * (wide ? 2 : 1) > n)
            return 0;
        if (exx_sep(out, '\t') < 0)
            return -1;
        return wide ? put_text16(out, p + at + 3, cch) : put_text8(out, p + at + 3, cch);
    }
    return 0;
}

static int excel(ex_job *j, GsfInput *s)
{
    guint8 *d = NULL;
    size_t len = 0, pos = 0;
    const char *why = NULL;
    exx_out out;
    uint32_t row = UINT32_MAX;
    int rc = -1, k, bad = 0;

    if ((k = slurp(j, s, &d, &len, &why)) != 0) {
        if (why && ex_uninspectable(j, "Workbook", why, "Excel stream not read", false) < 0)
            return -1;
        return k < 0 ? -1 : 0;
    }
    exx_begin(&out, j, "Workbook");
    while (pos + 4 <= len) {
        uint16_t type = le16(d + pos), n = le16(d + pos + 2);
        const guint8 *p = d + pos + 4;
        if (pos + 4 + n > len) {
            bad = 1;
            break;
        }
        if (type == 0x002F) { /* FILEPASS */
            exx_end(&out);
            rc = ex_uninspectable(j, NULL, "encrypted", "password-protected Excel workbook", true);
            goto fail;
        }
        if (type == 0x0085 && n >= 8) { /* BOUNDSHEET: sheet name */
            size_t cch = p[6];
            bool wide = p[7] & 1;
            if (8 + cch * (wide ? 2 : 1) <= n) {
                if (exx_puts(&out, "sheet: ") < 0 ||
                    (wide ? put_text16(&out, p + 8, cch) : put_text8(&out, p + 8, cch)) < 0 ||
                    exx_nl(&out) < 0)
                    goto fail;
            }
        } else if (type == 0x0203 || type == 0x027E || type == 0x00BD || type == 0x0204 ||
                   type == 0x0207) {
            if (cell(&out, type, p, n, &row) < 0)
                goto fail;
        } else if (type == 0x00FC) { /* SST */
            biff b = {d, len, pos + 4, pos + 4 + n};
            k = sst(&out, &b);
            if (k < 0)
                goto fail;
            bad |= k;
        }
        pos += 4 + (size_t)n;
    }
    if (exx_end(&out) < 0)
        goto fail;
    rc = bad ? ex_uninspectable(j, "Workbook", "corrupt", "Excel records are damaged", false) : 0;
fail:
    exx_end(&out);
    g_free(d);
    return rc;
}

/* ---- PowerPoint 97-2003 ------------------------------------------------------------------ */

static int powerpoint(ex_job *j, GsfInput *s)
{
    guint8 *d = NULL;
    size_t len = 0, pos = 0;
    const char *why = NULL;
    exx_out out;
    int rc = -1, k;

    if ((k = slurp(j, s, &d, &len, &why)) != 0) {
        if (why && ex_uninspectable(j, "PowerPoint Document", why, "PowerPoint stream not read",
                                    false) < 0)
            return -1;
        return k < 0 ? -1 : 0;
    }
    exx_begin(&out, j, "PowerPoint Document");
    /* Records: 16-bit version/instance (version 0xF: a container, whose
     * children follow its header), 16-bit type, 32-bit length. Walking the
     * stream flat visits every atom of every container. */
    while (pos + 8 <= len) {
        uint16_t ver = le16(d + pos) & 0x0F, type = le16(d + pos + 2);
        uint32_t n = le32(d + pos + 4);
        pos += 8;
        if (ver == 0x0F)
            continue;
        if (n > len - pos)
            break;
        if (type == 0x2F14) { /* CryptSession10Container */
            exx_end(&out);
            rc = ex_uninspectable(j, NULL, "encrypted", "password-protected PowerPoint file", true);
            goto fail;
        }
        if (type == 0x0FA0 || type == 0x0FBA) /* TextCharsAtom, CString */
            k = put_text16(&out, d + pos, n / 2);
        else if (type == 0x0FA8) /* TextBytesAtom */
            k = put_text8(&out, d + pos, n);
        else
            k = 1;
        if (k < 0 || (k == 0 && exx_nl(&out) < 0))
            goto fail;
        pos += n;
    }
    rc = exx_end(&out);
fail:
    exx_end(&out);
    g_free(d);
    return rc;
}

/* ---- the compound file ----------------------------------------------------------------------- */

static GsfInput *child(GsfInfile *ole, const char *name)
{
    return gsf_infile_child_by_name(ole, name);
}

int ex_ole(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    GsfInput *in = NULL, *s = NULL;
    GsfInfile *ole = NULL;
    GError *err = NULL;
    int rc = -1;

    (void)mime;
    in = gsf_input_memory_new(data, (gsf_off_t)len, FALSE);
    if (!in)
        return -1;
    ole = gsf_infile_msole_new(in, &err);
    if (!ole) {
        rc = ex_uninspectable(j, NULL, "corrupt",
                              "OLE compound file could not be opened (corrupt or truncated)", true);
        goto fail;
    }
    if (emit_properties(j, ole) < 0)
        goto fail;
    if ((s = child(ole, "EncryptedPackage")) || (s = child(ole, "EncryptionInfo"))) {
        rc = ex_uninspectable(j, NULL, "encrypted",
                              "password-protected Office document (encrypted OOXML package)", true);
        goto fail;
    }
    if ((s = child(ole, "WordDocument")))
        rc = word(j, ole, s);
    else if ((s = child(ole, "Workbook")) || (s = child(ole, "Book")))
        rc = excel(j, s);
    else if ((s = child(ole, "PowerPoint Document")))
        rc = powerpoint(j, s);
    else
        rc = ex_uninspectable(j, NULL, "unsupported",
                              "OLE file of a kind whose body is not read (only its properties)",
                              false);
fail:
    if (err)
        g_error_free(err);
    if (s)
        g_object_unref(s);
    if (ole)
        g_object_unref(ole);
    g_object_unref(in);
    return rc;
}
