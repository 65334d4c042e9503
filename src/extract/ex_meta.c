/*
 * ex_meta.c — an image's metadata blocks, found by walking its container
 * (ex_imgfmt.c), and what they reveal:
 *
 *   JPEG  APP1 "Exif\0\0" (EXIF), APP1 XMP, APP13 IPTC (captions, keywords),
 *         COM comments
 *   PNG   eXIf, tEXt (Latin-1), zTXt (deflated), iTXt (UTF-8, perhaps
 *         deflated; "XML:com.adobe.xmp" is an XMP packet)
 *   WebP  EXIF and "XMP " chunks
 *   TIFF  the file itself is an EXIF structure
 *   GIF   comment extensions
 *
 * Facts (GPS position, capture time, device, software) become `metadata`
 * findings, one each even when EXIF and XMP both hold them. The free text of
 * all blocks becomes one text segment "metadata", so a marking typed into a
 * photo's description meets the full text guard.
 */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_utf8.h"
#include "ex_image.h"

#define META_TEXT_MAX  (256u << 10) /* text kept from all blocks */
#define INFLATE_MAX    (256u << 10) /* bytes inflated from one zTXt/iTXt */
#define META_MAX_BLOCK 4096         /* blocks walked (a hostile file can hold many) */

typedef struct meta_ctx {
    ex_meta_facts facts;
    char *text;
    size_t len, cap;
} meta_ctx;

static void add_raw(meta_ctx *m, const unsigned char *s, size_t n)
{
    while (n && (s[n - 1] == 0 || s[n - 1] == ' ' || s[n - 1] == '\n'))
        n--;
    if (!n || m->len + n + 1 >= m->cap)
        return;
    memcpy(m->text + m->len, s, n);
    m->len += n;
    m->text[m->len++] = '\n';
    m->text[m->len] = 0;
}

/* tEXt and zTXt are Latin-1 by the PNG specification, but many writers put
 * UTF-8 there: text that is valid UTF-8 is taken as such (Latin-1 text
 * with accents is almost never valid UTF-8 by accident). */
static void add_latin1(meta_ctx *m, const unsigned char *s, size_t n)
{
    if (base_utf8_valid(s, n)) {
        add_raw(m, s, n);
        return;
    }
    for (size_t i = 0; i < n && m->len + 3 < m->cap; i++) {
        unsigned char c = s[i];
        if (c < 0x80) {
            m->text[m->len++] = c < 0x20 ? ' ' : (char)c;
        } else {
            m->text[m->len++] = (char)(0xC0 | c >> 6);
            m->text[m->len++] = (char)(0x80 | (c & 0x3F));
        }
    }
    if (m->len + 1 < m->cap)
        m->text[m->len++] = '\n';
    m->text[m->len] = 0;
}

/* zlib-inflates at most INFLATE_MAX bytes (a compressed text chunk is a
 * classic decompression bomb). Returns a malloc'ed buffer or NULL. */
static unsigned char *inflate_bounded(const unsigned char *in, size_t n, size_t *out_len)
{
    GZlibDecompressor *z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
    unsigned char *out = malloc(INFLATE_MAX);
    size_t done_in = 0, done_out = 0;

    if (!z || !out)
        goto fail;
    while (done_out < INFLATE_MAX) {
        gsize r = 0, w = 0;
        GError *err = NULL;
        GConverterResult res =
            g_converter_convert(G_CONVERTER(z), in + done_in, n - done_in, out + done_out,
                                INFLATE_MAX - done_out, G_CONVERTER_INPUT_AT_END, &r, &w, &err);
        done_in += r;
        done_out += w;
        if (res == G_CONVERTER_ERROR) {
            g_error_free(err);
            break; /* keep what inflated before the damage */
        }
        if (res == G_CONVERTER_FINISHED || (r == 0 && w == 0))
            break;
    }
    g_object_unref(z);
    *out_len = done_out;
    return out;
fail:
    if (z)
        g_object_unref(z);
    free(out);
    return NULL;
}

static const unsigned char *memnul(const unsigned char *s, size_t n)
{
    return memchr(s, 0, n);
}

static void png_text(meta_ctx *m, uint32_t type, const unsigned char *d, size_t n)
{
    const unsigned char *kw_end = memnul(d, n > 80 ? 80 : n), *p, *end = d + n;
    if (!kw_end)
        return;
    p = kw_end + 1;
    if (type == 0x74455874u) { /* tEXt */
        add_latin1(m, p, (size_t)(end - p));
    } else if (type == 0x7A545874u) { /* zTXt: method byte, deflated Latin-1 */
        size_t k = 0;
        unsigned char *t;
        if (p >= end || *p != 0)
            return;
        t = inflate_bounded(p + 1, (size_t)(end - p - 1), &k);
        if (t)
            add_latin1(m, t, k);
        free(t);
    } else { /* iTXt: flag, method, language\0, translated keyword\0, UTF-8 */
        bool compressed, xmp;
        const unsigned char *q;
        if (end - p < 2)
            return;
        compressed = p[0] != 0;
        p += 2;
        for (int i = 0; i < 2; i++) {
            q = memnul(p, (size_t)(end - p));
            if (!q)
                return;
            if (i == 1)
                add_raw(m, p, (size_t)(q - p)); /* the translated keyword is text too */
            p = q + 1;
        }
        xmp = (size_t)(kw_end - d) == 17 && memcmp(d, "XML:com.adobe.xmp", 17) == 0;
        if (compressed) {
            size_t k = 0;
            unsigned char *t = inflate_bounded(p, (size_t)(end - p), &k);
            if (t && xmp)
                ex_xmp_read(t, k, &m->facts, m->text, m->cap, &m->len);
            else if (t)
                add_raw(m, t, k);
            free(t);
        } else if (xmp) {
            ex_xmp_read(p, (size_t)(end - p), &m->facts, m->text, m->cap, &m->len);
        } else {
            add_raw(m, p, (size_t)(end - p));
        }
    }
}

/* IPTC-IIM inside Photoshop's APP13: records 0x1C, 2, dataset, 16-bit
 * length, value. Application record 2 holds captions, keywords, headlines. */
static void iptc(meta_ctx *m, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i + 5 <= n; i++) {
        if (d[i] != 0x1C || d[i + 1] != 2)
            continue;
        size_t len = (size_t)d[i + 3] << 8 | d[i + 4];
        if (d[i + 3] & 0x80 || i + 5 + len > n)
            continue; /* extended lengths are not text */
        if (d[i + 2] != 0 && len)
            add_raw(m, d + i + 5, len);
        i += 4 + len;
    }
}

static void jpeg_block(meta_ctx *m, const ex_block *b)
{
    static const char xmp_ns[] = "http://ns.adobe.com/xap/1.0/";
    if (b->type == 0xE1 && b->data_len >= 6 && memcmp(b->data, "Exif\0", 5) == 0) {
        ex_exif_read(b->data, b->data_len, &m->facts, m->text, m->cap, &m->len);
    } else if (b->type == 0xE1 && b->data_len > sizeof xmp_ns &&
               memcmp(b->data, xmp_ns, sizeof xmp_ns) == 0) {
        ex_xmp_read(b->data + sizeof xmp_ns, b->data_len - sizeof xmp_ns, &m->facts, m->text,
                    m->cap, &m->len);
    } else if (b->type == 0xED && b->data_len > 14 && memcmp(b->data, "Photoshop 3.0", 13) == 0) {
        iptc(m, b->data + 14, b->data_len - 14);
    } else if (b->type == 0xFE) {
        add_raw(m, b->data, b->data_len);
    }
}

static int report(ex_job *j, meta_ctx *m)
{
    ex_meta_facts *f = &m->facts;
    char buf[200];
    int rc = 0;

    if (f->gps) {
        snprintf(buf, sizeof buf, "%.6f %c, %.6f %c", f->lat < 0 ? -f->lat : f->lat,
                 f->lat < 0 ? 'S' : 'N', f->lon < 0 ? -f->lon : f->lon, f->lon < 0 ? 'W' : 'E');
        rc = ex_finding(j, "metadata", GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 95, "metadata.gps",
                        "the image records the GPS position where it was taken", buf);
    }
    if (rc >= 0 && f->capture_time[0])
        rc = ex_finding(j, "metadata", GUARD_CAT_METADATA, GUARD_SEV_INFO, 90,
                        "metadata.capture_time", "the image records when it was taken",
                        f->capture_time);
    if (rc >= 0 && f->device[0])
        rc = ex_finding(j, "metadata", GUARD_CAT_METADATA, GUARD_SEV_LOW, 90, "metadata.device",
                        "the image records the device that took it", f->device);
    if (rc >= 0 && f->software[0])
        rc = ex_finding(j, "metadata", GUARD_CAT_METADATA, GUARD_SEV_INFO, 90, "metadata.software",
                        "the image records the software that made or edited it", f->software);
    if (rc >= 0 && m->len)
        rc = ex_text_part(j, "metadata", m->text, m->len);
    return rc < 0 ? -1 : 0;
}

int ex_meta_scan(ex_job *j, ex_imgfmt fmt, const unsigned char *d, size_t n)
{
    meta_ctx m;
    ex_blocks it;
    ex_block b;
    int rc, count = 0;

    memset(&m, 0, sizeof m);
    m.cap = META_TEXT_MAX;
    m.text = malloc(m.cap);
    if (!m.text)
        return 0; /* metadata is a bonus over the pixels, not worth ending the job */
    m.text[0] = 0;
    if (fmt == EX_FMT_TIFF) {
        ex_exif_read(d, n, &m.facts, m.text, m.cap, &m.len);
    } else {
        ex_blocks_init(&it, fmt, d, n);
        while (count++ < META_MAX_BLOCK && ex_blocks_next(&it, &b) > 0) {
            switch (fmt) {
            case EX_FMT_JPEG:
                jpeg_block(&m, &b);
                break;
            case EX_FMT_PNG:
                if (b.type == 0x65584966u) /* eXIf */
                    ex_exif_read(b.data, b.data_len, &m.facts, m.text, m.cap, &m.len);
                else if (b.type == 0x74455874u || b.type == 0x7A545874u || b.type == 0x69545874u)
                    png_text(&m, b.type, b.data, b.data_len);
                break;
            case EX_FMT_WEBP:
                if (b.type == 0x45584946u) /* EXIF */
                    ex_exif_read(b.data, b.data_len, &m.facts, m.text, m.cap, &m.len);
                else if (b.type == 0x584D5020u) /* "XMP " */
                    ex_xmp_read(b.data, b.data_len, &m.facts, m.text, m.cap, &m.len);
                break;
            case EX_FMT_GIF:
                if (b.type == 0x21FE) { /* comment: sub-blocks */
                    for (size_t p = 0; p < b.data_len && b.data[p];) {
                        size_t k = b.data[p];
                        if (p + 1 + k > b.data_len)
                            break;
                        add_raw(&m, b.data + p + 1, k);
                        p += k + 1;
                    }
                }
                break;
            default:
                break;
            }
        }
    }
    rc = report(j, &m);
    free(m.text);
    return rc;
}
