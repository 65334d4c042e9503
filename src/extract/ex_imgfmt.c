/*
 * ex_imgfmt.c — image container formats by their bytes: what the file is,
 * and a bounded walk over its blocks.
 *
 * Metadata lives in the containers, not in the pixels: JPEG APPn and COM
 * segments, PNG ancillary chunks, WebP RIFF chunks, GIF extension blocks.
 * Reading it (ex_meta.c) and removing it (ex_strip.c) both need the same
 * walk, so it is here once, with every length checked against the end of
 * the input before it is used. Nothing is decoded.
 */
#include <string.h>

#include "ex_image.h"

ex_imgfmt ex_imgfmt_sniff(const unsigned char *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return EX_FMT_JPEG;
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return EX_FMT_PNG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return EX_FMT_WEBP;
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return EX_FMT_TIFF;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return EX_FMT_GIF;
    if (n >= 14 && d[0] == 'B' && d[1] == 'M')
        return EX_FMT_BMP;
    return EX_FMT_UNKNOWN;
}

const char *ex_imgfmt_name(ex_imgfmt f)
{
    static const char *const names[] = {"unknown", "JPEG", "PNG", "WebP", "TIFF", "GIF", "BMP"};
    return (unsigned)f < sizeof names / sizeof *names ? names[f] : "unknown";
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void ex_blocks_init(ex_blocks *it, ex_imgfmt fmt, const unsigned char *d, size_t n)
{
    memset(it, 0, sizeof *it);
    it->d = d;
    it->n = n;
    it->fmt = fmt;
    switch (fmt) {
    case EX_FMT_JPEG:
        it->pos = 2;
        break;
    case EX_FMT_PNG:
        it->pos = 8;
        break;
    case EX_FMT_WEBP:
        /* The RIFF size bounds the chunks; bytes after it are not WebP. */
        if (n >= 12) {
            uint64_t riff = (uint64_t)le32(d + 4) + 8;
            if (riff < it->n)
                it->n = (size_t)riff;
        }
        it->pos = 12;
        break;
    case EX_FMT_GIF:
        it->pos = 0;
        break;
    default:
        it->done = true;
    }
}

static int jpeg_next(ex_blocks *it, ex_block *b)
{
    const unsigned char *d = it->d;
    size_t p = it->pos, start;
    unsigned m;

    if (p >= it->n)
        return -1; /* no SOS/EOI yet: truncated */
    if (d[p] != 0xFF)
        return -1;
    start = p;
    while (p < it->n && d[p] == 0xFF)
        p++; /* fill bytes */
    if (p >= it->n)
        return -1;
    m = d[p++];
    b->type = m;
    b->off = start;
    if (m == 0xD9) { /* EOI before any scan */
        b->len = p - start;
        b->data = d + p;
        b->data_len = 0;
        it->done = true;
        return 1;
    }
    if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) {
        b->len = p - start;
        b->data = d + p;
        b->data_len = 0;
        it->pos = p;
        return 1;
    }
    if (p + 2 > it->n)
        return -1;
    {
        size_t len = (size_t)d[p] << 8 | d[p + 1];
        if (len < 2 || p + len > it->n)
            return -1;
        if (m == 0xDA) {
            /* The scan: header and entropy-coded data, to the end. */
            b->len = it->n - start;
            b->data = d + p + 2;
            b->data_len = it->n - (p + 2);
            it->done = true;
            return 1;
        }
        b->len = p + len - start;
        b->data = d + p + 2;
        b->data_len = len - 2;
        it->pos = p + len;
    }
    return 1;
}

static int png_next(ex_blocks *it, ex_block *b)
{
    const unsigned char *d = it->d;
    size_t p = it->pos;
    uint32_t len;

    if (p + 12 > it->n)
        return -1; /* no IEND: truncated */
    len = be32(d + p);
    if (len > 0x7fffffffu || (uint64_t)p + 12 + len > it->n)
        return -1;
    b->type = be32(d + p + 4);
    b->off = p;
    b->len = (size_t)len + 12;
    b->data = d + p + 8;
    b->data_len = len;
    it->pos = p + 12 + len;
    if (b->type == 0x49454E44u) /* IEND */
        it->done = true;
    return 1;
}

static int webp_next(ex_blocks *it, ex_block *b)
{
    const unsigned char *d = it->d;
    size_t p = it->pos;
    uint32_t len;

    if (p == it->n) {
        it->done = true;
        return 0;
    }
    if (p + 8 > it->n)
        return -1;
    len = le32(d + p + 4);
    if ((uint64_t)p + 8 + len > it->n)
        return -1;
    b->type = be32(d + p);
    b->off = p;
    b->data = d + p + 8;
    b->data_len = len;
    /* Chunks are padded to an even size; a missing pad byte at the very end
     * is tolerated (some writers omit it). */
    b->len = 8 + (size_t)len + (len & 1);
    if (b->off + b->len > it->n)
        b->len = it->n - b->off;
    it->pos = b->off + b->len;
    return 1;
}

/* GIF sub-blocks: size byte, data, ..., a zero size. Returns the offset
 * after the terminator, or 0 when they run past the end. */
static size_t gif_skip_subblocks(const unsigned char *d, size_t n, size_t p)
{
    while (p < n) {
        size_t k = d[p];
        if (k == 0)
            return p + 1;
        p += k + 1;
    }
    return 0;
}

/* GIF blocks: type 'H' (header, screen descriptor, global colour table),
 * 0x21xx (extension with its label), 0x2C (image: descriptor, local table,
 * data), 0x3B (trailer). */
static int gif_next(ex_blocks *it, ex_block *b)
{
    const unsigned char *d = it->d;
    size_t n = it->n, p = it->pos, e;

    b->off = p;
    if (p == 0) {
        if (n < 13)
            return -1;
        e = 13;
        if (d[10] & 0x80)
            e += 3u * (2u << (d[10] & 7));
        if (e > n)
            return -1;
        b->type = 'H';
        b->data = d;
        b->data_len = e;
    } else {
        if (p >= n)
            return -1; /* no trailer: truncated */
        switch (d[p]) {
        case 0x21:
            if (p + 2 > n)
                return -1;
            b->type = 0x2100u | d[p + 1];
            e = gif_skip_subblocks(d, n, p + 2);
            if (!e)
                return -1;
            b->data = d + p + 2;
            b->data_len = e - (p + 2);
            break;
        case 0x2C: {
            size_t q = p + 10;
            if (q > n)
                return -1;
            if (d[p + 9] & 0x80)
                q += 3u * (2u << (d[p + 9] & 7));
            if (q + 1 > n)
                return -1;
            e = gif_skip_subblocks(d, n, q + 1);
            if (!e)
                return -1;
            b->type = 0x2C;
            b->data = d + p + 1;
            b->data_len = e - (p + 1);
            break;
        }
        case 0x3B:
            e = p + 1;
            b->type = 0x3B;
            b->data = d + e;
            b->data_len = 0;
            it->done = true;
            break;
        default:
            return -1;
        }
    }
    b->len = e - p;
    it->pos = e;
    return 1;
}

int ex_blocks_next(ex_blocks *it, ex_block *b)
{
    int rc;
    if (it->done)
        return 0;
    switch (it->fmt) {
    case EX_FMT_JPEG:
        rc = jpeg_next(it, b);
        break;
    case EX_FMT_PNG:
        rc = png_next(it, b);
        break;
    case EX_FMT_WEBP:
        rc = webp_next(it, b);
        break;
    case EX_FMT_GIF:
        rc = gif_next(it, b);
        break;
    default:
        rc = 0;
    }
    if (rc < 0)
        it->done = true;
    return rc;
}

int ex_gif_walk(const unsigned char *d, size_t n, ex_gif_info *info)
{
    ex_blocks it;
    ex_block b;
    int rc;

    memset(info, 0, sizeof *info);
    ex_blocks_init(&it, EX_FMT_GIF, d, n);
    while ((rc = ex_blocks_next(&it, &b)) > 0) {
        if (b.type == 'H') {
            info->screen_w = (uint32_t)d[6] | (uint32_t)d[7] << 8;
            info->screen_h = (uint32_t)d[8] | (uint32_t)d[9] << 8;
        } else if (b.type == 0x2C) {
            uint64_t w = (uint64_t)(b.data[4] | b.data[5] << 8);
            uint64_t h = (uint64_t)(b.data[6] | b.data[7] << 8);
            info->frames++;
            if (w * h > info->max_frame_px)
                info->max_frame_px = w * h;
        }
    }
    return rc < 0 ? -1 : 0;
}

/* ---- TIFF: do the image data of the first IFD lie inside the file? ---- */

static uint32_t tiff_u(const unsigned char *p, bool le, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint32_t)p[le ? i : bytes - 1 - i] << (8 * (le ? i : bytes - 1 - i));
    return v;
}

/* The i-th value of an IFD entry of type SHORT (3) or LONG (4); false when
 * it lies outside the file. */
static bool tiff_value(const unsigned char *d, size_t n, bool le, const unsigned char *e,
                       uint32_t i, uint32_t *out)
{
    uint32_t type = tiff_u(e + 2, le, 2), count = tiff_u(e + 4, le, 4);
    int sz = type == 3 ? 2 : type == 4 ? 4 : 0;
    uint64_t off;
    if (!sz || i >= count)
        return false;
    if ((uint64_t)count * (uint64_t)sz <= 4)
        off = (uint64_t)(e + 8 - d) + (uint64_t)i * (uint64_t)sz;
    else
        off = (uint64_t)tiff_u(e + 8, le, 4) + (uint64_t)i * (uint64_t)sz;
    if (off + (uint64_t)sz > n)
        return false;
    *out = tiff_u(d + off, le, sz);
    return true;
}

bool ex_tiff_truncated(const unsigned char *d, size_t n)
{
    bool le;
    uint32_t ifd, entries;
    const unsigned char *offs = NULL, *cnts = NULL;

    if (n < 8)
        return true;
    le = d[0] == 'I';
    ifd = tiff_u(d + 4, le, 4);
    if ((uint64_t)ifd + 2 > n)
        return true;
    entries = tiff_u(d + ifd, le, 2);
    if ((uint64_t)ifd + 2 + (uint64_t)entries * 12 > n)
        return true;
    for (uint32_t k = 0; k < entries; k++) {
        const unsigned char *e = d + ifd + 2 + (size_t)k * 12;
        uint32_t tag = tiff_u(e, le, 2);
        if (tag == 273 || tag == 324) /* StripOffsets, TileOffsets */
            offs = e;
        else if (tag == 279 || tag == 325) /* StripByteCounts, TileByteCounts */
            cnts = e;
    }
    if (!offs || !cnts)
        return false; /* not ours to judge: the decoder will */
    {
        uint32_t count = tiff_u(offs + 4, le, 4);
        if (count > (1u << 20))
            count = 1u << 20;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t o, c;
            if (!tiff_value(d, n, le, offs, i, &o) || !tiff_value(d, n, le, cnts, i, &c))
                return true;
            if ((uint64_t)o + c > n)
                return true;
        }
    }
    return false;
}
