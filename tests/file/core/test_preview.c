/*
 * test_preview.c — guard_file_make_preview, the previews made in the
 * worker's sandbox (the server never decodes an upload for its preview):
 *   - a JPEG with each EXIF Orientation 1–8, its pixels stored as a camera
 *     stores them, comes back upright: the picture's size as shown, the red
 *     quarter at the top left (a wrong turn or a missing flip moves it);
 *   - a PNG whose eXIf chunk says 6 the same (the tag's other home);
 *   - a TIFF with each Orientation 1–8 in its own IFD0 the same: turned
 *     once (Leptonica's TIFF reader applies the tag itself; the preview
 *     maker turned it a second time before), its size as shown;
 *   - a big JPEG comes back at GUARD_FILE_PREVIEW_PX on its longer side;
 *   - what is not a picture gets GUARD_EINVAL, and a worker that crashes
 *     (CORDON_TEST_WORKER_CRASH=thumb) GUARD_EIO: no preview either way;
 *   - the eight JPEGs are made by a pool's waiting worker (taken, then
 *     started again each time), the rest by workers of their own.
 *
 * The pictures are made here with Leptonica; the EXIF block is written by
 * hand (a TIFF header and one IFD entry, 0x0112). This program is its own
 * worker host (guard_file_worker_dispatch first).
 */
#include "cordon/guard_file.h"
#include "test_check.h"

#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UW 120 /* the upright picture: wider than high */
#define UH 80

/* Upright: a red top-left quarter on grey. */
static PIX *upright_pix(void)
{
    PIX *p = pixCreate(UW, UH, 32);

    pixSetAllArbitrary(p, 0x60606000);
    for (int y = 0; y < UH / 2; y++)
        for (int x = 0; x < UW / 2; x++)
            pixSetPixel(p, x, y, 0xe0101000);
    return p;
}

/* What a camera stores for tag o: the picture that tag o turns upright. */
static PIX *stored_pix(PIX *u, int o)
{
    PIX *r, *t;

    switch (o) {
    case 2:
        return pixFlipLR(NULL, u);
    case 3:
        return pixRotateOrth(u, 2);
    case 4:
        return pixFlipTB(NULL, u);
    case 5: /* transposed: its own inverse */
    case 7: /* transversed: the same */
        r = pixRotateOrth(u, 1);
        t = o == 5 ? pixFlipLR(NULL, r) : pixFlipTB(NULL, r);
        pixDestroy(&r);
        return t;
    case 6:
        return pixRotateOrth(u, 3);
    case 8:
        return pixRotateOrth(u, 1);
    default:
        return pixClone(u);
    }
}

/* "Exif\0\0" + a little-endian TIFF with IFD0 holding Orientation = o. */
static size_t exif_block(unsigned char *b, int o)
{
    static const unsigned char t[] = {'E', 'x', 'i', 'f', 0, 0,    'I',  'I', 42, 0, 8,
                                      0,   0,   0,   1,   0, 0x12, 0x01, 3,   0,  1, 0,
                                      0,   0,   0,   0,   0, 0,    0,    0,   0,  0};
    memcpy(b, t, sizeof t);
    b[6 + 8 + 2 + 8] = (unsigned char)o;
    return sizeof t;
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void put32be(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* `pix` encoded (JPEG with an APP1 after SOI, or PNG with an eXIf chunk
 * after IHDR) into the file `path`. */
static int write_tagged(const char *path, PIX *pix, int o, bool png)
{
    unsigned char *enc = NULL, ex[64];
    size_t n = 0, en = exif_block(ex, o);
    FILE *f = NULL;
    int rc = -1;

    if (png ? pixWriteMemPng(&enc, &n, pix, 0) : pixWriteMemJpeg(&enc, &n, pix, 90, 0))
        return -1;
    f = fopen(path, "wb");
    if (!f)
        goto out;
    if (!png) {
        unsigned char seg[4] = {0xff, 0xe1, (unsigned char)((en + 2) >> 8),
                                (unsigned char)(en + 2)};
        rc = fwrite(enc, 1, 2, f) == 2 && fwrite(seg, 1, 4, f) == 4 && fwrite(ex, 1, en, f) == en &&
                     fwrite(enc + 2, 1, n - 2, f) == n - 2
                 ? 0
                 : -1;
    } else {
        /* signature (8) + IHDR (25), then eXIf: the TIFF without "Exif\0\0" */
        unsigned char ch[80];
        size_t tn = en - 6;

        put32be(ch, (uint32_t)tn);
        memcpy(ch + 4, "eXIf", 4);
        memcpy(ch + 8, ex + 6, tn);
        put32be(ch + 8 + tn, crc32_of(ch + 4, 4 + tn));
        rc = fwrite(enc, 1, 33, f) == 33 && fwrite(ch, 1, 12 + tn, f) == 12 + tn &&
                     fwrite(enc + 33, 1, n - 33, f) == n - 33
                 ? 0
                 : -1;
    }
out:
    if (f && fclose(f))
        rc = -1;
    free(enc);
    return rc;
}

static void put16le(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32le(unsigned char *p, uint32_t v)
{
    put16le(p, v & 0xffff);
    put16le(p + 2, v >> 16);
}

/* `pix` as an uncompressed RGB TIFF whose IFD0 says Orientation = o, in
 * `path` (Leptonica writes no such tag: written here, one strip). */
static int write_tiff(const char *path, PIX *pix, int o)
{
    static const unsigned short tags[] = {256, 257, 258, 259, 262, 273, 274, 277, 278, 279};
    enum { N = sizeof tags / sizeof tags[0] };
    uint32_t w = (uint32_t)pixGetWidth(pix), h = (uint32_t)pixGetHeight(pix);
    size_t px = (size_t)w * h * 3, bps = 8 + 2 + N * 12 + 4, data = bps + 6;
    uint32_t val[N] = {w, h, (uint32_t)bps, 1, 2, (uint32_t)data, (uint32_t)o, 3, h, (uint32_t)px};
    unsigned char *b = calloc(1, data + px), *e;
    FILE *f;
    int rc = -1;

    if (!b)
        return -1;
    memcpy(b, "II*\0", 4);
    put32le(b + 4, 8);
    put16le(b + 8, N);
    for (size_t i = 0; i < N; i++) {
        bool lng = tags[i] == 256 || tags[i] == 257 || tags[i] == 273 || tags[i] >= 278;

        e = b + 10 + i * 12;
        put16le(e, tags[i]);
        put16le(e + 2, lng ? 4 : 3);            /* LONG or SHORT */
        put32le(e + 4, tags[i] == 258 ? 3 : 1); /* BitsPerSample: 3 SHORTs at `bps` */
        if (lng || tags[i] == 258)
            put32le(e + 8, val[i]);
        else
            put16le(e + 8, val[i]);
    }
    for (int k = 0; k < 3; k++)
        put16le(b + bps + 2 * k, 8);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            l_int32 r, g, bl;
            unsigned char *q = b + data + ((size_t)y * w + x) * 3;

            pixGetRGBPixel(pix, (l_int32)x, (l_int32)y, &r, &g, &bl);
            q[0] = (unsigned char)r;
            q[1] = (unsigned char)g;
            q[2] = (unsigned char)bl;
        }
    f = fopen(path, "wb");
    if (f && fwrite(b, 1, data + px, f) == data + px)
        rc = 0;
    if (f && fclose(f))
        rc = -1;
    free(b);
    return rc;
}

static bool red_at(PIX *p, int x, int y)
{
    l_int32 r, g, b;

    pixGetRGBPixel(p, x, y, &r, &g, &b);
    return r > 150 && g < 90 && b < 90;
}

/* The preview of `path`: upright UW×UH with red at the top left only. */
static void check_upright(const char *path, const char *what, guard_file_pool *pool)
{
    guard_file_preview pv;
    guard_error err = {0};
    PIX *p = NULL;
    char msg[128];

    snprintf(msg, sizeof msg, "%s: preview made", what);
    CHECK(guard_file_make_preview(path, &pv, NULL, pool, &err) == GUARD_OK, msg);
    if (!pv.jpeg) {
        fprintf(stderr, "  %s\n", err.message);
        return;
    }
    snprintf(msg, sizeof msg, "%s: the size as shown (%dx%d)", what, pv.width, pv.height);
    CHECK(pv.width == UW && pv.height == UH, msg);
    p = pixReadMem(pv.jpeg, pv.len);
    snprintf(msg, sizeof msg, "%s: a JPEG of the picture's size", what);
    CHECK(p && pixGetWidth(p) == UW && pixGetHeight(p) == UH, msg);
    if (p) {
        PIX *c = pixConvertTo32(p);
        snprintf(msg, sizeof msg, "%s: red at the top left, nowhere else", what);
        CHECK(c && red_at(c, UW / 4, UH / 4) && !red_at(c, 3 * UW / 4, UH / 4) &&
                  !red_at(c, UW / 4, 3 * UH / 4) && !red_at(c, 3 * UW / 4, 3 * UH / 4),
              msg);
        pixDestroy(&c);
    }
    pixDestroy(&p);
    free(pv.jpeg);
}

int main(int argc, char **argv)
{
    int rc = guard_file_worker_dispatch(argc, argv);
    char dir[] = "/tmp/cordon-preview-XXXXXX", path[128], what[64];
    guard_file_preview pv;
    guard_error err = {0};
    guard_file_pool *pool = NULL;
    PIX *u, *s, *big;
    FILE *f;

    if (rc >= 0)
        return rc;
    if (!mkdtemp(dir) || guard_file_pool_new(NULL, &pool, &err))
        return 1;
    u = upright_pix();
    for (int o = 1; o <= 8; o++) {
        s = stored_pix(u, o);
        snprintf(path, sizeof path, "%s/o%d.jpg", dir, o);
        CHECK(s && write_tagged(path, s, o, false) == 0, "write a tagged JPEG");
        snprintf(what, sizeof what, "JPEG Orientation=%d", o);
        check_upright(path, what, pool); /* a pooled worker each time */
        unlink(path);
        pixDestroy(&s);
    }
    for (int o = 1; o <= 8; o++) {
        s = stored_pix(u, o);
        snprintf(path, sizeof path, "%s/o%d.tif", dir, o);
        CHECK(s && write_tiff(path, s, o) == 0, "write a tagged TIFF");
        snprintf(what, sizeof what, "TIFF Orientation=%d", o);
        check_upright(path, what, NULL);
        unlink(path);
        pixDestroy(&s);
    }
    s = stored_pix(u, 6);
    snprintf(path, sizeof path, "%s/o6.png", dir);
    CHECK(s && write_tagged(path, s, 6, true) == 0, "write a tagged PNG");
    check_upright(path, "PNG eXIf Orientation=6", NULL); /* a worker of its own */
    pixDestroy(&s);

    /* a photo larger than the preview: GUARD_FILE_PREVIEW_PX on its longer
     * side (decoded at a reduced scale), the picture's own size reported */
    big = pixScale(u, 3000.0f / UW, 2000.0f / UH);
    snprintf(path, sizeof path, "%s/big.jpg", dir);
    CHECK(big && write_tagged(path, big, 1, false) == 0, "write a big JPEG");
    CHECK(guard_file_make_preview(path, &pv, NULL, NULL, &err) == GUARD_OK, "big: preview made");
    if (pv.jpeg) {
        PIX *p = pixReadMem(pv.jpeg, pv.len);
        CHECK(pv.width == 3000 && pv.height == 2000, "big: its own size reported");
        CHECK(p && pixGetWidth(p) == GUARD_FILE_PREVIEW_PX &&
                  abs(pixGetHeight(p) - GUARD_FILE_PREVIEW_PX * 2 / 3) <= 1,
              "big: the preview's size");
        pixDestroy(&p);
        free(pv.jpeg);
    }
    pixDestroy(&big);

    /* the thumb worker crashes: an error, no preview, no fallback */
    setenv("CORDON_TEST_WORKER_CRASH", "thumb", 1);
    CHECK(guard_file_make_preview(path, &pv, NULL, NULL, &err) == GUARD_EIO && !pv.jpeg,
          "crash: GUARD_EIO, no preview");
    CHECK(strstr(err.message, "crash") != NULL, "crash: said so");
    unsetenv("CORDON_TEST_WORKER_CRASH");
    unlink(path);

    /* not a picture */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    f = fopen(path, "w");
    CHECK(f && fputs("meeting notes\n", f) >= 0 && fclose(f) == 0, "write text");
    CHECK(guard_file_make_preview(path, &pv, NULL, NULL, &err) == GUARD_EINVAL && !pv.jpeg,
          "text: GUARD_EINVAL, no preview");
    unlink(path);

    pixDestroy(&u);
    guard_file_pool_free(pool);
    rmdir(dir);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
