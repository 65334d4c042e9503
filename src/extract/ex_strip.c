/*
 * ex_strip.c — metadata removal: a copy of an image without EXIF (GPS,
 * device, time), XMP, IPTC, comments and text chunks.
 *
 * The pixels are not touched where the format allows it: a JPEG is rewritten
 * segment by segment (no re-encoding, so no generation loss), a PNG chunk by
 * chunk, a WebP chunk by chunk, a GIF block by block. What is kept is what
 * decoding needs and what changes how the pixels look (colour profiles,
 * gamma, transparency, animation control); everything else goes, including
 * unknown ancillary blocks (vendor data is metadata too) and bytes after the
 * end of the image (phones append depth maps and second pictures there).
 *
 *   JPEG  keep SOF/DHT/DQT/DRI/SOS and scan data, APP0 JFIF, APP2 ICC_PROFILE,
 *         APP14 Adobe (colour transform); drop APP1 (EXIF, XMP), APP13
 *         (IPTC), COM, every other APPn (MPF, JFXX thumbnails ...), and
 *         anything after EOI
 *   PNG   keep the critical chunks and cHRM gAMA iCCP sBIT sRGB cICP bKGD
 *         hIST tRNS pHYs sPLT acTL fcTL fdAT; drop tEXt zTXt iTXt eXIf tIME
 *         and every other ancillary chunk, and anything after IEND
 *   WebP  keep VP8 VP8L VP8X ALPH ANIM ANMF ICCP; drop EXIF, XMP and unknown
 *         chunks; the VP8X EXIF/XMP flags are cleared, the RIFF size fixed
 *   GIF   keep images, graphic control and plain-text extensions, the
 *         NETSCAPE2.0/ANIMEXTS1.0 loop extension; drop comments and other
 *         application extensions (XMP lives there)
 *   BMP   has no metadata fields: copied unchanged
 *   TIFF  tags are metadata and image structure at once, so it is decoded
 *         and re-encoded by Leptonica (lossless, zip): single-page images of
 *         at most 8 bits per sample only; others are refused
 *
 * Orientation: the EXIF Orientation tag goes with the rest of EXIF, but a
 * phone stores a portrait shot sideways and relies on it, so a JPEG, PNG or
 * WebP whose EXIF said anything but "upright" gets a minimal EXIF back
 * holding that one tag and nothing else (orient_tiff: TIFF header and one
 * IFD entry, 26 bytes): as APP1 after SOI/APP0, as eXIf after IHDR, as an
 * EXIF chunk after the image data (with the VP8X flag set again). A TIFF is
 * re-encoded without it (Leptonica does not write the tag), its pixels
 * turned upright instead, so it is shown the same.
 *
 * The output is built in memory (never larger than the input plus the
 * Orientation block, except a re-encoded TIFF) and written in one go, so a
 * refusal writes nothing.
 */
#include <errno.h>
#include <leptonica/allheaders.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/base_file.h"
#include "ex_image.h"
#include "watermark/wm.h"

#define STRIP_MAX_TIFF_PX (100u * 1000u * 1000u)
#define ORIENT_TIFF_LEN   26u /* header, entry count, one entry, next-IFD offset */
#define ORIENT_EXTRA      64u /* room in the output for the block written back */

typedef struct obuf {
    unsigned char *d;
    size_t n, cap;
} obuf;

static int put(obuf *o, const void *p, size_t n)
{
    if (n > o->cap - o->n)
        return -1; /* the output never outgrows the capacity reserved for it */
    memcpy(o->d + o->n, p, n);
    o->n += n;
    return 0;
}

/* A TIFF structure (big-endian) with one IFD0 entry: Orientation = o. */
static void orient_tiff(unsigned char t[ORIENT_TIFF_LEN], int o)
{
    static const unsigned char head[ORIENT_TIFF_LEN] = {
        'M',  'M',  0, 42, 0, 0, 0, 8,             /* byte order, magic, IFD0 at 8 */
        0,    1,                                   /* one entry */
        0x01, 0x12, 0, 3,  0, 0, 0, 1, 0, 0, 0, 0, /* 0x0112 SHORT ×1, value */
        0,    0,    0, 0,                          /* no next IFD */
    };
    memcpy(t, head, ORIENT_TIFF_LEN);
    t[19] = (unsigned char)o;
}

/* ---- JPEG ---------------------------------------------------------------------- */

static bool jpeg_keep(unsigned m, const unsigned char *p, size_t n)
{
    if (m == 0xE0)
        return n >= 5 && memcmp(p, "JFIF\0", 5) == 0;
    if (m == 0xE2)
        return n >= 12 && memcmp(p, "ICC_PROFILE\0", 12) == 0;
    if (m == 0xEE)
        return n >= 5 && memcmp(p, "Adobe", 5) == 0;
    if ((m >= 0xE0 && m <= 0xEF) || m == 0xFE)
        return false;
    return true;
}

/* Walks every marker, also after the first scan (progressive JPEGs have
 * tables and further scans there, and a segment hidden between scans is
 * still metadata). Entropy-coded data runs to the next marker that is not a
 * stuffed 0xFF00 or a restart marker. */
static int jpeg_orientation(obuf *o, int orientation)
{
    unsigned char seg[4 + 6 + ORIENT_TIFF_LEN] = {
        0xFF, 0xE1, 0, 2 + 6 + ORIENT_TIFF_LEN, 'E', 'x', 'i', 'f', 0, 0};
    orient_tiff(seg + 10, orientation);
    return put(o, seg, sizeof seg);
}

static int strip_jpeg(const unsigned char *d, size_t n, obuf *o, int orientation, char *why,
                      size_t cap)
{
    size_t p = 2;
    bool oriented = orientation <= 1; /* nothing to write back */
    if (put(o, d, 2))
        goto broken;
    for (;;) {
        unsigned m;
        size_t len;
        if (p >= n || d[p] != 0xFF)
            goto broken;
        while (p < n && d[p] == 0xFF)
            p++;
        if (p >= n)
            goto broken;
        m = d[p++];
        if (m == 0xD9) {
            static const unsigned char eoi[2] = {0xFF, 0xD9};
            return put(o, eoi, 2);
        }
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0x00)
            goto broken; /* no standalone marker belongs between segments */
        if (p + 2 > n)
            goto broken;
        len = (size_t)d[p] << 8 | d[p + 1];
        if (len < 2 || p + len > n)
            goto broken;
        if (jpeg_keep(m, d + p + 2, len - 2)) {
            unsigned char mk[2] = {0xFF, (unsigned char)m};
            /* APP1 EXIF goes after a JFIF APP0, before everything else. */
            if (!oriented && m != 0xE0) {
                if (jpeg_orientation(o, orientation))
                    goto broken;
                oriented = true;
            }
            if (put(o, mk, 2) || put(o, d + p, len))
                goto broken;
        }
        p += len;
        if (m == 0xDA) {
            size_t s = p;
            while (p + 1 < n && !(d[p] == 0xFF && d[p + 1] != 0x00 &&
                                  !(d[p + 1] >= 0xD0 && d[p + 1] <= 0xD7) && d[p + 1] != 0xFF))
                p++;
            if (p + 1 >= n)
                goto broken; /* no EOI: cut short */
            if (put(o, d + s, p - s))
                goto broken;
        }
    }
broken:
    snprintf(why, cap, "the JPEG's segment structure is broken or cut short");
    return -1;
}

/* ---- PNG ----------------------------------------------------------------------- */

static bool png_keep(uint32_t t)
{
    static const char *const keep[] = {"cHRM", "gAMA", "iCCP", "sBIT", "sRGB", "cICP", "bKGD",
                                       "hIST", "tRNS", "pHYs", "sPLT", "acTL", "fcTL", "fdAT"};
    char name[5] = {(char)(t >> 24), (char)(t >> 16), (char)(t >> 8), (char)t, 0};
    if (!(name[0] & 0x20))
        return true; /* critical: IHDR PLTE IDAT IEND (and any a decoder must know) */
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (!memcmp(name, keep[i], 4))
            return true;
    return false;
}

static int png_orientation(obuf *o, int orientation)
{
    unsigned char c[12 + ORIENT_TIFF_LEN] = {0, 0, 0, ORIENT_TIFF_LEN, 'e', 'X', 'I', 'f'};
    uLong crc;
    orient_tiff(c + 8, orientation);
    crc = crc32(crc32(0L, Z_NULL, 0), c + 4, 4 + ORIENT_TIFF_LEN);
    c[8 + ORIENT_TIFF_LEN] = (unsigned char)(crc >> 24);
    c[9 + ORIENT_TIFF_LEN] = (unsigned char)(crc >> 16);
    c[10 + ORIENT_TIFF_LEN] = (unsigned char)(crc >> 8);
    c[11 + ORIENT_TIFF_LEN] = (unsigned char)crc;
    return put(o, c, sizeof c);
}

static int strip_png(const unsigned char *d, size_t n, obuf *o, int orientation, char *why,
                     size_t cap)
{
    ex_blocks it;
    ex_block b;
    int rc;
    bool end = false;
    if (put(o, d, 8))
        goto broken;
    ex_blocks_init(&it, EX_FMT_PNG, d, n);
    while ((rc = ex_blocks_next(&it, &b)) > 0) {
        if (png_keep(b.type) && put(o, d + b.off, b.len))
            goto broken;
        /* eXIf must come before the image data: right after IHDR. */
        if (b.type == 0x49484452u && orientation > 1 && png_orientation(o, orientation))
            goto broken;
        end = b.type == 0x49454E44u;
    }
    if (rc < 0 || !end)
        goto broken;
    return 0;
broken:
    snprintf(why, cap, "the PNG's chunk structure is broken or cut short");
    return -1;
}

/* ---- WebP ---------------------------------------------------------------------- */

static int strip_webp(const unsigned char *d, size_t n, obuf *o, int orientation, char *why,
                      size_t cap)
{
    static const char *const keep[] = {"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"};
    ex_blocks it;
    ex_block b;
    int rc;
    size_t vp8x = 0, body;
    if (put(o, d, 12))
        goto broken;
    ex_blocks_init(&it, EX_FMT_WEBP, d, n);
    while ((rc = ex_blocks_next(&it, &b)) > 0) {
        bool k = false;
        for (size_t i = 0; i < sizeof keep / sizeof *keep && !k; i++)
            k = !memcmp(d + b.off, keep[i], 4);
        if (!k)
            continue;
        if (!memcmp(d + b.off, "VP8X", 4) && b.data_len >= 1)
            vp8x = o->n + 8;
        if (put(o, d + b.off, b.len))
            goto broken;
        if (b.len & 1) { /* a pad byte the writer left out */
            static const unsigned char zero = 0;
            if (put(o, &zero, 1))
                goto broken;
        }
    }
    if (rc < 0)
        goto broken;
    if (vp8x)
        o->d[vp8x] &= (unsigned char)~0x0Cu; /* EXIF (0x08) and XMP (0x04) present */
    /* EXIF belongs to the extended format only (after the image data); a
     * simple WebP cannot have carried an Orientation in the first place. */
    if (vp8x && orientation > 1) {
        unsigned char c[8 + ORIENT_TIFF_LEN] = {'E', 'X', 'I', 'F', ORIENT_TIFF_LEN, 0, 0, 0};
        orient_tiff(c + 8, orientation);
        if (put(o, c, sizeof c))
            goto broken;
        o->d[vp8x] |= 0x08u;
    }
    body = o->n - 8;
    o->d[4] = (unsigned char)body;
    o->d[5] = (unsigned char)(body >> 8);
    o->d[6] = (unsigned char)(body >> 16);
    o->d[7] = (unsigned char)(body >> 24);
    return 0;
broken:
    snprintf(why, cap, "the WebP's chunk structure is broken or cut short");
    return -1;
}

/* ---- GIF ----------------------------------------------------------------------- */

static int strip_gif(const unsigned char *d, size_t n, obuf *o, char *why, size_t cap)
{
    ex_blocks it;
    ex_block b;
    int rc;
    bool end = false;
    ex_blocks_init(&it, EX_FMT_GIF, d, n);
    while ((rc = ex_blocks_next(&it, &b)) > 0) {
        bool k = true;
        if (b.type == 0x21FE)
            k = false; /* comment */
        else if (b.type == 0x21FF)
            k = b.data_len >= 12 && b.data[0] == 11 &&
                (!memcmp(b.data + 1, "NETSCAPE2.0", 11) || !memcmp(b.data + 1, "ANIMEXTS1.0", 11));
        if (k && put(o, d + b.off, b.len))
            goto broken;
        end = b.type == 0x3B;
    }
    if (rc < 0 || !end)
        goto broken;
    return 0;
broken:
    snprintf(why, cap, "the GIF's block structure is broken or cut short");
    return -1;
}

/* ---- TIFF ---------------------------------------------------------------------- */

static int strip_tiff(const unsigned char *d, size_t n, int out, char *why, size_t cap)
{
    l_int32 w = 0, h = 0, bps = 0, spp = 0, res = 0, cmap = 0, format = 0;
    PIX *pix = NULL;
    l_uint8 *enc = NULL;
    unsigned char *un = NULL;
    size_t enc_n = 0;
    int rc = -1, turn;

    setMsgSeverity(L_SEVERITY_NONE);
    if (readHeaderMemTiff(d, n, 0, &w, &h, &bps, &spp, &res, &cmap, &format) != 0) {
        snprintf(why, cap, "the TIFF cannot be read");
        goto out;
    }
    if (readHeaderMemTiff(d, n, 1, &w, &h, &bps, &spp, &res, &cmap, &format) == 0) {
        snprintf(why, cap, "multi-page TIFF: not supported (a re-encoded copy would lose pages)");
        goto out;
    }
    readHeaderMemTiff(d, n, 0, &w, &h, &bps, &spp, &res, &cmap, &format);
    if (bps > 8) {
        snprintf(why, cap,
                 "TIFF with %d bits per sample: not supported (the pixels could not be kept exact)",
                 bps);
        goto out;
    }
    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > STRIP_MAX_TIFF_PX) {
        snprintf(why, cap, "the TIFF is too large to re-encode");
        goto out;
    }
    /* Decoded as stored, then turned upright here: the tag is not written
     * back (Leptonica writes none), the copy is shown the same without it */
    un = ex_tiff_unoriented(d, n);
    pix = pixReadMemTiff(un ? un : d, n, 0);
    if (!pix) {
        snprintf(why, cap, "the TIFF cannot be decoded");
        goto out;
    }
    turn = ex_image_orientation(EX_FMT_TIFF, d, n);
    if (turn > 1) {
        PIX *up = wm_upright(pix, turn);

        if (!up) {
            snprintf(why, cap, "out of memory");
            goto out;
        }
        pixDestroy(&pix);
        pix = up;
    }
    pixSetText(pix, NULL); /* Leptonica would write it back as ImageDescription */
    if (pixWriteMemTiff(&enc, &enc_n, pix, IFF_TIFF_ZIP) != 0 || !enc) {
        snprintf(why, cap, "the TIFF cannot be re-encoded");
        goto out;
    }
    if (base_file_write_all(out, enc, enc_n)) {
        snprintf(why, cap, "cannot write the output: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(un);
    lept_free(enc);
    pixDestroy(&pix);
    return rc;
}

int ex_strip(const unsigned char *data, size_t len, const char *mime, int out, char *why,
             size_t why_cap)
{
    ex_imgfmt fmt = ex_imgfmt_sniff(data, len);
    obuf o = {NULL, 0, len};
    int rc = -1, orientation;

    (void)mime; /* the bytes decide */
    why[0] = 0;
    signal(SIGXFSZ, SIG_IGN); /* a library warning on stderr: see ex_image.c */
    switch (fmt) {
    case EX_FMT_TIFF:
        return strip_tiff(data, len, out, why, why_cap);
    case EX_FMT_UNKNOWN:
        snprintf(why, why_cap,
                 "not an image format metadata can be removed from "
                 "(JPEG, PNG, WebP, GIF, BMP, TIFF)");
        return -1;
    default:
        break;
    }
    orientation = ex_image_orientation(fmt, data, len);
    /* +1: a WebP chunk may gain its missing pad byte; and room for the
     * Orientation written back. */
    o.cap = len + 1 + ORIENT_EXTRA;
    o.d = malloc(o.cap);
    if (!o.d) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    switch (fmt) {
    case EX_FMT_JPEG:
        rc = strip_jpeg(data, len, &o, orientation, why, why_cap);
        break;
    case EX_FMT_PNG:
        rc = strip_png(data, len, &o, orientation, why, why_cap);
        break;
    case EX_FMT_WEBP:
        rc = strip_webp(data, len, &o, orientation, why, why_cap);
        break;
    case EX_FMT_GIF:
        rc = strip_gif(data, len, &o, why, why_cap);
        break;
    default: /* BMP */
        rc = put(&o, data, len);
        break;
    }
    if (rc == 0 && base_file_write_all(out, o.d, o.n)) {
        snprintf(why, why_cap, "cannot write the output: %s", strerror(errno));
        rc = -1;
    }
    free(o.d);
    return rc;
}
