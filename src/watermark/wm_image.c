/*
 * wm_image.c — the watermark in pixels (wm.h): embedding, measuring, and
 * reading the chips back from a measured plane.
 *
 * The image is cut into a WM_GRID × WM_GRID grid of cells relative to its
 * size, so a rescaled copy has the same cells in the same places. Each cell
 * carries one chip c = ±1 as a change of luminance
 *
 *     dY(x, y) = c · A · sin(2πu) · sin(2πv),   u, v ∈ [0, 1) inside the cell
 *
 * one period of a sine each way: smooth, zero at the cell's border (no
 * block edges), zero mean, and orthogonal to a constant and to a linear
 * gradient, so neither a brightness change nor the image's own slow shading
 * disturbs the correlation that reads it. It is a low frequency (one period
 * per cell: at least 16 px in an image of 512 px), which JPEG keeps and
 * rescaling keeps.
 *
 * Amplitude per cell: A grows with the cell's texture (its standard
 * deviation), small in flat areas where a change would show, larger where
 * the eye cannot see it. The embedder also knows the image's own projection
 * onto the pattern (which a blind decoder sees as noise) and raises A, up
 * to a cap, where that projection works against the chip, so that every
 * cell starts with a margin ("informed embedding").
 *
 * Measuring: the luminance is area-averaged onto a fixed WM_PLANE² plane
 * (WM_SUB² samples per cell), key-free, in the extraction worker. Reading:
 * each cell's samples are correlated with the pattern, normalised by the
 * median magnitude over all cells and clipped, so a few strongly textured
 * cells cannot outvote the rest; wm_code.c does the rest.
 */
#include "wm.h"

#include <leptonica/allheaders.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A_FLAT   1.0  /* grey levels at the peak in a flat cell */
#define A_SLOPE  0.30 /* more per grey level of the cell's standard deviation */
#define A_MAX    7.0  /* the cap for a textured cell */
#define A_BOOST  2.0  /* informed embedding may raise a cell up to this × its A */
#define SOFT_CAP 4.0  /* a cell's z-score is clipped to ±this */
/* The placement search (wm_decode_plane): the picture fills 80 % to 100 %
 * of the found image along each axis, or up to 3 % of it is cut away. */
#define SEARCH_S_MIN          0.80
#define SEARCH_S_MAX          1.06
#define SEARCH_S_STEP         0.01
#define SEARCH_CROP           0.03
#define SEARCH_TOP            4
#define SEARCH_MIN_CONFIDENCE 9.0
#define NOISE_FLOOR           1.0 /* grey levels: the least noise a cell is assumed to have */

/* ---- reading images --------------------------------------------------------- */

/* A JPEG without its end-of-image marker, or a PNG without IEND, is cut
 * short: libjpeg would fill the rest with grey and report success. */
static bool cut_short(const unsigned char *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
        size_t from = n > 4096 ? n - 4096 : 0;
        for (size_t i = n - 1; i > from; i--)
            if (d[i - 1] == 0xFF && d[i] == 0xD9)
                return false;
        return true;
    }
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        return n < 20 || memmem(d + (n > 64 ? n - 64 : 8), n > 64 ? 64 : n - 8, "IEND", 4) == NULL;
    return false;
}

/* Decodes `data` into a 32-bpp RGB PIX, checking the size before decoding. */
static PIX *read_rgb(const unsigned char *data, size_t len, uint64_t max_pixels, char *why,
                     size_t why_cap)
{
    l_int32 format = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
    PIX *pix = NULL, *rgb = NULL;

    setMsgSeverity(L_SEVERITY_NONE); /* Leptonica's complaints about hostile input */
    if (!len || pixReadHeaderMem(data, len, &format, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 ||
        h <= 0) {
        snprintf(why, why_cap, "not an image that can be read (JPEG, PNG, WebP, TIFF, GIF, BMP)");
        goto out;
    }
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        snprintf(why, why_cap, "the image has %llu pixels, over the limit of %llu",
                 (unsigned long long)w * (unsigned long long)h, (unsigned long long)max_pixels);
        goto out;
    }
    if (w < WM_MIN_SIDE || h < WM_MIN_SIDE) {
        snprintf(why, why_cap,
                 "the image is %dx%d: too small to carry a watermark (at least %d px a side)", w, h,
                 WM_MIN_SIDE);
        goto out;
    }
    if (cut_short(data, len)) {
        snprintf(why, why_cap, "the image file is cut short");
        goto out;
    }
    pix = pixReadMem(data, len);
    if (!pix || pixGetWidth(pix) != w || pixGetHeight(pix) != h) {
        snprintf(why, why_cap, "the image cannot be decoded");
        goto out;
    }
    rgb = pixConvertTo32(pix);
    if (!rgb)
        snprintf(why, why_cap, "the image cannot be converted to RGB");
out:
    pixDestroy(&pix);
    return rgb;
}

static inline double luma(l_uint32 px)
{
    return 0.299 * (double)((px >> L_RED_SHIFT) & 0xff) +
           0.587 * (double)((px >> L_GREEN_SHIFT) & 0xff) +
           0.114 * (double)((px >> L_BLUE_SHIFT) & 0xff);
}

/* ---- the pattern --------------------------------------------------------------- */

/* Cell index and pattern value along one axis for pixel `x` of `n`. */
static inline void axis(int x, int n, int *cell, double *p)
{
    double u = ((double)x + 0.5) * WM_GRID / (double)n;
    int c = (int)u;
    if (c >= WM_GRID)
        c = WM_GRID - 1;
    *cell = c;
    *p = sin(2.0 * M_PI * (u - c));
}

/* ---- embedding ----------------------------------------------------------------- */

typedef struct cell_acc {
    double proj, pm; /* Σ y·p (the image's own correlation), Σ p²·m (the mark's) */
} cell_acc;

/* dst = the (2r+1)² mean of src, clamped at the borders; tmp: scratch. */
static void box(const float *src, float *tmp, float *dst, int w, int h, int r)
{
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            float s = 0;
            int n = 0;
            for (int d = -r; d <= r; d++)
                if (i + d >= 0 && i + d < w)
                    s += src[(size_t)j * w + i + d], n++;
            tmp[(size_t)j * w + i] = s / (float)n;
        }
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            float s = 0;
            int n = 0;
            for (int d = -r; d <= r; d++)
                if (j + d >= 0 && j + d < h)
                    s += tmp[(size_t)(j + d) * w + i], n++;
            dst[(size_t)j * w + i] = s / (float)n;
        }
}

/* The masking weight of every pixel: how much change its surroundings hide,
 * A_FLAT in a flat area up to A_MAX on an edge or in fine texture, from the
 * mean gradient magnitude over a 5×5 window. Per pixel, not per cell: a cell
 * holding a few text strokes must not darken the white paper around them.
 * Returns NULL when out of memory. */
static float *masking(const float *y, int w, int h)
{
    float *g = malloc((size_t)w * h * sizeof *g), *t = malloc((size_t)w * h * sizeof *t);
    const int r = 2;

    if (!g || !t)
        goto fail;
    /* the gradient of a 3×3 mean: edges count, pixel grain does not (fine
     * noise hides fine changes, not this mark's slow ones) */
    box(y, t, g, w, h, 1);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)j * w + i;
            float dx = i + 1 < w ? fabsf(g[k + 1] - g[k]) : 0;
            float dy = j + 1 < h ? fabsf(g[k + (size_t)w] - g[k]) : 0;
            t[k] = dx + dy;
        }
    box(t, g, g, w, h, r);
    for (size_t k = 0; k < (size_t)w * h; k++) {
        float m = (float)A_FLAT + (float)A_SLOPE * g[k];
        g[k] = m > (float)A_MAX ? (float)A_MAX : m;
    }
    free(t);
    return g;
fail:
    free(g);
    free(t);
    return NULL;
}

static int embed_pix(PIX *rgb, const int8_t chips[WM_CELLS], double *psnr)
{
    int w = pixGetWidth(rgb), h = pixGetHeight(rgb), wpl = pixGetWpl(rgb);
    l_uint32 *data = pixGetData(rgb);
    cell_acc *acc = calloc(WM_CELLS, sizeof *acc);
    double gain[WM_CELLS], *px = malloc((size_t)w * sizeof *px);
    int *cx = malloc((size_t)w * sizeof *cx);
    float *y = calloc((size_t)w * h, sizeof *y), *m = NULL;
    double se = 0;
    int rc = -1;

    if (!acc || !px || !cx || !y)
        goto out;
    for (int x = 0; x < w; x++)
        axis(x, w, &cx[x], &px[x]);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++)
            y[(size_t)j * w + i] = (float)luma(data[(size_t)j * wpl + i]);
    m = masking(y, w, h);
    if (!m)
        goto out;
    /* pass 1: per cell, the image's own correlation with the pattern and
     * the mark's at gain 1 */
    for (int j = 0; j < h; j++) {
        int cy;
        double py;
        axis(j, h, &cy, &py);
        for (int i = 0; i < w; i++) {
            cell_acc *a = &acc[cy * WM_GRID + cx[i]];
            double p = px[i] * py;
            size_t k = (size_t)j * w + i;
            a->proj += y[k] * p;
            a->pm += p * p * m[k];
        }
    }
    /* informed embedding: where the image's own correlation works against
     * the chip, raise the gain (up to A_BOOST) so that the cell still reads
     * with the margin it would have on a flat image */
    for (int c = 0; c < WM_CELLS; c++) {
        double want = acc[c].pm > 0 ? (acc[c].pm - chips[c] * acc[c].proj) / acc[c].pm : 1.0;
        gain[c] = want < 1.0 ? 1.0 : want > A_BOOST ? A_BOOST : want;
    }
    /* pass 2: apply the same luminance change to R, G and B (hue kept) */
    for (int j = 0; j < h; j++) {
        int cy;
        double py;
        l_uint32 *line = data + (size_t)j * wpl;
        axis(j, h, &cy, &py);
        for (int i = 0; i < w; i++) {
            int c = cy * WM_GRID + cx[i];
            double d = chips[c] * gain[c] * m[(size_t)j * w + i] * px[i] * py;
            l_int32 v3[3];
            extractRGBValues(line[i], &v3[0], &v3[1], &v3[2]);
            for (int k = 0; k < 3; k++) {
                long v = lround(v3[k] + d);
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                se += (double)(v - v3[k]) * (double)(v - v3[k]);
                v3[k] = (l_int32)v;
            }
            composeRGBPixel(v3[0], v3[1], v3[2], &line[i]);
        }
    }
    se /= 3.0 * (double)w * (double)h;
    *psnr = se > 0 ? 10.0 * log10(255.0 * 255.0 / se) : 99.0;
    rc = 0;
out:
    free(acc);
    free(px);
    free(cx);
    free(y);
    free(m);
    return rc;
}

PIX *wm_upright(PIX *p, int orientation)
{
    PIX *t, *out;

    switch (orientation) {
    case 2:
        return pixFlipLR(NULL, p);
    case 3:
        return pixRotate180(NULL, p);
    case 4:
        return pixFlipTB(NULL, p);
    case 5: /* transpose: a quarter turn clockwise, then mirrored */
    case 7: /* transverse: a quarter turn clockwise, then upside down */
        t = pixRotateOrth(p, 1);
        out = !t ? NULL : orientation == 5 ? pixFlipLR(NULL, t) : pixFlipTB(NULL, t);
        pixDestroy(&t);
        return out;
    case 6:
        return pixRotateOrth(p, 1);
    case 8:
        return pixRotateOrth(p, 3);
    default:
        return pixClone(p);
    }
}

int wm_embed(const unsigned char *data, size_t len, uint64_t max_pixels, const wm_key *key,
             uint64_t id, wm_format fmt, int quality, unsigned char **out, size_t *out_len,
             wm_embed_stats *stats, char *why, size_t why_cap)
{
    return wm_embed_oriented(data, len, 1, max_pixels, key, id, fmt, quality, out, out_len, stats,
                             why, why_cap);
}

int wm_embed_oriented(const unsigned char *data, size_t len, int orientation, uint64_t max_pixels,
                      const wm_key *key, uint64_t id, wm_format fmt, int quality,
                      unsigned char **out, size_t *out_len, wm_embed_stats *stats, char *why,
                      size_t why_cap)
{
    int8_t chips[WM_CELLS];

    *out = NULL;
    *out_len = 0;
    if (id > WM_ID_MAX) {
        snprintf(why, why_cap, "the id must be at most %llu (48 bits)",
                 (unsigned long long)WM_ID_MAX);
        return -1;
    }
    wm_chips(key, id, chips);
    return wm_embed_chips(data, len, orientation, max_pixels, chips, fmt, quality, out, out_len,
                          stats, why, why_cap);
}

int wm_embed_chips(const unsigned char *data, size_t len, int orientation, uint64_t max_pixels,
                   const int8_t chips[WM_CELLS], wm_format fmt, int quality, unsigned char **out,
                   size_t *out_len, wm_embed_stats *stats, char *why, size_t why_cap)
{
    PIX *rgb = NULL, *up;
    l_uint8 *enc = NULL;
    size_t enc_n = 0;
    double psnr = 0;
    int rc = -1;

    *out = NULL;
    *out_len = 0;
    for (int c = 0; c < WM_CELLS; c++)
        if (chips[c] != 1 && chips[c] != -1) {
            snprintf(why, why_cap, "a chip is not +1 or -1");
            goto done;
        }
    if (quality < 1 || quality > 100) {
        snprintf(why, why_cap, "the JPEG quality must be 1 to 100");
        goto done;
    }
    rgb = read_rgb(data, len, max_pixels, why, why_cap);
    if (!rgb)
        goto done;
    if (orientation > 1) {
        up = wm_upright(rgb, orientation);
        if (!up) {
            snprintf(why, why_cap, "out of memory");
            goto done;
        }
        pixDestroy(&rgb);
        rgb = up;
    }
    pixSetSpp(rgb, 3); /* an alpha channel is not kept */
    if (embed_pix(rgb, chips, &psnr)) {
        snprintf(why, why_cap, "out of memory");
        goto done;
    }
    if ((fmt == WM_OUT_JPEG ? pixWriteMemJpeg(&enc, &enc_n, rgb, quality, 0)
                            : pixWriteMemPng(&enc, &enc_n, rgb, 0.0f)) != 0 ||
        !enc) {
        snprintf(why, why_cap, "the marked image cannot be encoded");
        goto done;
    }
    /* Leptonica allocates with malloc by default: the caller frees with free() */
    *out = enc;
    *out_len = enc_n;
    enc = NULL;
    if (stats) {
        stats->psnr = psnr;
        stats->width = pixGetWidth(rgb);
        stats->height = pixGetHeight(rgb);
    }
    rc = 0;
done:
    lept_free(enc);
    pixDestroy(&rgb);
    return rc;
}

/* ---- frames ------------------------------------------------------------------ */

/* Skips a GIF's data sub-blocks from *p (size byte, data; a 0 ends them).
 * false when they run past the end. */
static bool gif_skip_blocks(const unsigned char *d, size_t n, size_t *p)
{
    while (*p < n) {
        size_t sz = d[(*p)++];

        if (!sz)
            return true;
        *p += sz;
    }
    return false;
}

/* A GIF's images, by walking its blocks (GIF89a's grammar: header, screen
 * descriptor, global colour table, then extensions and images up to the
 * trailer). Leptonica decodes the first image only and says nothing of the
 * others, and giflib's headers are not among the build's dependencies. */
static int gif_count(const unsigned char *d, size_t n)
{
    size_t p = 13;
    int images = 0;

    if (n < p)
        return 0;
    if (d[10] & 0x80)
        p += 3u << ((d[10] & 7) + 1);
    while (p < n) {
        unsigned char b = d[p++];

        if (b == 0x3B)
            return images;
        if (b == 0x21) {
            if (++p > n || !gif_skip_blocks(d, n, &p))
                return images ? images : 0;
        } else if (b == 0x2C) {
            if (p + 9 > n)
                return images ? images : 0;
            if (d[p + 8] & 0x80)
                p += 3u << ((d[p + 8] & 7) + 1);
            p += 9 + 1; /* the descriptor and the LZW code size */
            if (p > n || !gif_skip_blocks(d, n, &p))
                return images + 1;
            images++;
        } else
            break; /* not a block: the rest is not read */
    }
    return images;
}

int wm_frames(const unsigned char *data, size_t len)
{
    l_int32 n = 0;
    FILE *f;

    if (len >= 6 && (!memcmp(data, "GIF87a", 6) || !memcmp(data, "GIF89a", 6)))
        return gif_count(data, len);
    if (len >= 4 && (!memcmp(data, "II*\0", 4) || !memcmp(data, "MM\0*", 4))) {
        f = fmemopen((void *)data, len, "rb");
        if (!f)
            return 0;
        setMsgSeverity(L_SEVERITY_NONE);
        if (tiffGetCount(f, &n))
            n = 0;
        fclose(f);
        return n;
    }
    return 1;
}

/* ---- measuring ------------------------------------------------------------------ */

/* Area weights along one axis of n pixels: plane sample o covers the pixel
 * interval [o·n/P, (o+1)·n/P), i.e. pixels lo[o]..hi[o], the first with
 * weight wlo[o] (its share inside the interval), the last with whi[o], those
 * in between with 1. The same formula serves shrinking (n > P) and, for an
 * image narrower than the plane, enlarging (one pixel, lo == hi). */
static void plane_axis(int n, int *lo, int *hi, double *wlo, double *whi)
{
    /* for each output sample o: input range [a, b) in pixel units */
    for (int o = 0; o < WM_PLANE; o++) {
        double a = (double)o * n / WM_PLANE, b = (double)(o + 1) * n / WM_PLANE;
        int i0 = (int)a, i1 = (int)ceil(b) - 1;
        if (i1 >= n)
            i1 = n - 1;
        lo[o] = i0;
        hi[o] = i1;
        /* weight of the first and last pixel; those in between weigh 1 */
        wlo[o] = (i0 == i1) ? b - a : (i0 + 1) - a;
        whi[o] = (i0 == i1) ? 0 : b - i1;
    }
}

static inline double axis_weight(int o, int i, const int *lo, const int *hi, const double *wlo,
                                 const double *whi)
{
    if (i == lo[o])
        return wlo[o];
    if (i == hi[o])
        return whi[o];
    return 1.0;
}

int wm_measure(const unsigned char *data, size_t len, uint64_t max_pixels,
               float plane[WM_PLANE * WM_PLANE], char *why, size_t why_cap)
{
    PIX *rgb = read_rgb(data, len, max_pixels, why, why_cap);
    int w, h, wpl, rc = -1;
    int lox[WM_PLANE], hix[WM_PLANE], loy[WM_PLANE], hiy[WM_PLANE];
    double wlox[WM_PLANE], whix[WM_PLANE], wloy[WM_PLANE], whiy[WM_PLANE];
    double *line = NULL;
    const l_uint32 *d;

    if (!rgb)
        return -1;
    w = pixGetWidth(rgb);
    h = pixGetHeight(rgb);
    wpl = pixGetWpl(rgb);
    d = pixGetData(rgb);
    line = malloc((size_t)w * sizeof *line);
    if (!line) {
        snprintf(why, why_cap, "out of memory");
        goto out;
    }
    plane_axis(w, lox, hix, wlox, whix);
    plane_axis(h, loy, hiy, wloy, whiy);
    /* each plane row: the weighted mean of the input rows it covers, each
     * of them first averaged across into WM_PLANE samples */
    for (int oy = 0; oy < WM_PLANE; oy++) {
        double acc[WM_PLANE] = {0}, wsum = 0;
        for (int y = loy[oy]; y <= hiy[oy]; y++) {
            double wy = axis_weight(oy, y, loy, hiy, wloy, whiy);
            const l_uint32 *src = d + (size_t)y * wpl;
            if (wy <= 0)
                continue;
            for (int x = 0; x < w; x++)
                line[x] = luma(src[x]);
            for (int ox = 0; ox < WM_PLANE; ox++) {
                double sum = 0, ws = 0;
                for (int x = lox[ox]; x <= hix[ox]; x++) {
                    double wx = axis_weight(ox, x, lox, hix, wlox, whix);
                    sum += wx * line[x];
                    ws += wx;
                }
                acc[ox] += wy * (ws > 0 ? sum / ws : 0);
            }
            wsum += wy;
        }
        for (int ox = 0; ox < WM_PLANE; ox++)
            plane[(size_t)oy * WM_PLANE + ox] = (float)(wsum > 0 ? acc[ox] / wsum : 0);
    }
    rc = 0;
out:
    free(line);
    pixDestroy(&rgb);
    return rc;
}

/* ---- reading --------------------------------------------------------------------- */

/* Where the marked picture lies in the found image, per axis: original
 * plane coordinate u (0..WM_PLANE) is found-plane coordinate o + s·u. The
 * identity (0, 1) is a copy that was rescaled but not cropped or framed. */
typedef struct fit {
    double o, s;
} fit;

/* The found plane at fractional sample index (fy, fx), bilinear; false when
 * outside. */
static bool sample(const float *plane, double fy, double fx, double *v)
{
    int y0 = (int)floor(fy), x0 = (int)floor(fx);
    double ty = fy - y0, tx = fx - x0, a, b, c, d;
    int y1 = ty > 0 ? y0 + 1 : y0, x1 = tx > 0 ? x0 + 1 : x0;

    if (y0 < 0 || x0 < 0 || y1 >= WM_PLANE || x1 >= WM_PLANE)
        return false;
    a = plane[(size_t)y0 * WM_PLANE + x0];
    b = plane[(size_t)y0 * WM_PLANE + x1];
    c = plane[(size_t)y1 * WM_PLANE + x0];
    d = plane[(size_t)y1 * WM_PLANE + x1];
    *v = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * c + tx * d);
    if (!isfinite(*v))
        *v = 0;
    return true;
}

static void pattern(double pat[WM_SUB], double *pp)
{
    *pp = 0;
    for (int s = 0; s < WM_SUB; s++)
        pat[s] = sin(2.0 * M_PI * ((double)s + 0.5) / WM_SUB);
    for (int sy = 0; sy < WM_SUB; sy++)
        for (int sx = 0; sx < WM_SUB; sx++)
            *pp += pat[sy] * pat[sx] * pat[sy] * pat[sx];
}

/* The soft chips of the cells under one placement, then the decoder. A
 * cell that falls partly outside the found image reads 0 (unknown). */
static void decode_at(const wm_key *key, const float *plane, fit fy, fit fx, wm_result *r)
{
    double pat[WM_SUB], pp;
    float soft[WM_CELLS];

    pattern(pat, &pp);
    for (int cy = 0; cy < WM_GRID; cy++)
        for (int cx = 0; cx < WM_GRID; cx++) {
            double c = 0, sum = 0, sum2 = 0, res, z = 0;
            bool inside = true;
            for (int sy = 0; sy < WM_SUB && inside; sy++)
                for (int sx = 0; sx < WM_SUB && inside; sx++) {
                    double v;
                    inside = sample(plane, fy.o + fy.s * (cy * WM_SUB + sy + 0.5) - 0.5,
                                    fx.o + fx.s * (cx * WM_SUB + sx + 0.5) - 0.5, &v);
                    c += pat[sy] * pat[sx] * v;
                    sum += v;
                    sum2 += v * v;
                }
            if (inside) {
                /* the cell's own texture once the mark's share is taken
                 * out: the noise this cell's reading is subject to, so a
                 * textured cell weighs less than a clean flat one (a
                 * weight of 1/noise, floored so that a perfectly flat cell
                 * is not trusted without bound) */
                res = (sum2 - sum * sum / (WM_SUB * WM_SUB) - c * c / pp) / (WM_SUB * WM_SUB);
                res = sqrt(res > 0 ? res : 0);
                z = c / sqrt(pp) / (res > NOISE_FLOOR ? res : NOISE_FLOOR);
            }
            soft[cy * WM_GRID + cx] = (float)(z > SOFT_CAP    ? SOFT_CAP
                                              : z < -SOFT_CAP ? -SOFT_CAP
                                                              : z);
        }
    wm_decode_soft(key, soft, r);
}

/* Key-free: how strongly the found plane carries a one-period-per-cell
 * sine along one axis (x when !vertical) under the placement f, whatever
 * the other axis' placement: the energy of every line's per-cell sine
 * correlation, per cell counted. The picture's own content gives about the
 * same energy under every placement; the mark adds to it only under the
 * right one (or one shifted by whole cells). */
static double axis_energy(const float *plane, fit f, bool vertical)
{
    double ps[WM_SUB], pc[WM_SUB], pp = 0, e = 0;
    int n = 0;

    for (int i = 0; i < WM_SUB; i++) {
        ps[i] = sin(2.0 * M_PI * ((double)i + 0.5) / WM_SUB);
        pc[i] = cos(2.0 * M_PI * ((double)i + 0.5) / WM_SUB);
        pp += ps[i] * ps[i];
    }
    for (int line = 0; line < WM_PLANE; line += 2) /* every other line is plenty */
        for (int cell = 0; cell < WM_GRID; cell++) {
            double a = 0, b = 0, sum = 0, sum2 = 0, v, res, za, zb;
            bool inside = true;
            for (int i = 0; i < WM_SUB && inside; i++) {
                double pos = f.o + f.s * (cell * WM_SUB + i + 0.5) - 0.5;
                inside = vertical ? sample(plane, pos, line, &v) : sample(plane, line, pos, &v);
                a += ps[i] * v;
                b += pc[i] * v;
                sum += v;
                sum2 += v * v;
            }
            if (!inside)
                continue;
            /* the mark is a sine in phase with the right placement; the
             * picture's own content at that frequency falls on the sine
             * and the cosine alike, so their difference is the mark's */
            res = (sum2 - sum * sum / WM_SUB - (a * a + b * b) / pp) / WM_SUB;
            res = sqrt(res > 0 ? res : 0);
            res = res > NOISE_FLOOR ? res : NOISE_FLOOR;
            za = a / sqrt(pp) / res;
            zb = b / sqrt(pp) / res;
            za = za * za > SOFT_CAP * SOFT_CAP ? SOFT_CAP * SOFT_CAP : za * za;
            zb = zb * zb > SOFT_CAP * SOFT_CAP ? SOFT_CAP * SOFT_CAP : zb * zb;
            e += za - zb;
            n++;
        }
    return n >= WM_PLANE / 2 * WM_GRID / 2 ? e / n : -1e9;
}

/* The SEARCH_TOP best placements along one axis by axis_energy, at least
 * two samples apart. */
static void axis_search(const float *plane, bool vertical, fit top[SEARCH_TOP])
{
    double best[SEARCH_TOP];

    for (int k = 0; k < SEARCH_TOP; k++) {
        best[k] = -1;
        top[k] = (fit){0, 1};
    }
    for (double s = SEARCH_S_MIN; s <= SEARCH_S_MAX + 1e-9; s += SEARCH_S_STEP)
        for (double o = -SEARCH_CROP * WM_PLANE; o + s * WM_PLANE <= WM_PLANE * (1 + SEARCH_CROP);
             o += 1.0) {
            fit f = {o, s};
            double e = axis_energy(plane, f, vertical);
            int k = SEARCH_TOP;
            bool near = false;
            for (int j = 0; j < SEARCH_TOP; j++)
                if (fabs(top[j].o - o) < 2.5 && fabs(top[j].s - s) < 2 * SEARCH_S_STEP &&
                    best[j] >= 0) {
                    near = true;
                    if (e > best[j]) {
                        best[j] = e;
                        top[j] = f;
                    }
                }
            if (near)
                continue;
            while (k > 0 && e > best[k - 1])
                k--;
            if (k == SEARCH_TOP)
                continue;
            for (int j = SEARCH_TOP - 1; j > k; j--) {
                best[j] = best[j - 1];
                top[j] = top[j - 1];
            }
            best[k] = e;
            top[k] = f;
        }
}

/* Climbs from `f` to the best placement nearby (quarter-sample and
 * quarter-percent steps): the coarse grid is too coarse to decode at. */
static fit axis_refine(const float *plane, fit f, bool vertical)
{
    double best = axis_energy(plane, f, vertical);
    fit c = f;

    for (double o = f.o - 1.0; o <= f.o + 1.0 + 1e-9; o += 0.25)
        for (double s = f.s - SEARCH_S_STEP; s <= f.s + SEARCH_S_STEP + 1e-9;
             s += SEARCH_S_STEP / 4) {
            double e = axis_energy(plane, (fit){o, s}, vertical);
            if (e > best) {
                best = e;
                c = (fit){o, s};
            }
        }
    return c;
}

void wm_decode_plane(const wm_key *key, const float plane[WM_PLANE * WM_PLANE], wm_result *r)
{
    fit id = {0, 1}, ty[SEARCH_TOP], tx[SEARCH_TOP];
    wm_result t;

    decode_at(key, plane, id, id, r);
    if (r->found)
        return;
    /* Not as sent or rescaled: perhaps cropped a little or framed (a
     * screenshot with a window around the picture). Find the likeliest
     * placements per axis without the key, then try each pair, and each
     * shifted by a cell either way, with it. More tries mean more chances
     * for noise to pass, so a placement found by search must clear a
     * higher confidence. */
    axis_search(plane, false, tx);
    axis_search(plane, true, ty);
    for (int k = 0; k < SEARCH_TOP; k++) {
        tx[k] = axis_refine(plane, tx[k], false);
        ty[k] = axis_refine(plane, ty[k], true);
    }
    for (int a = 0; a < SEARCH_TOP; a++)
        for (int b = 0; b < SEARCH_TOP; b++)
            for (int da = -1; da <= 1; da++)
                for (int db = -1; db <= 1; db++) {
                    fit fy = {ty[a].o + da * WM_SUB * ty[a].s, ty[a].s};
                    fit fx = {tx[b].o + db * WM_SUB * tx[b].s, tx[b].s};
                    decode_at(key, plane, fy, fx, &t);
                    if (t.mac_ok && t.confidence >= SEARCH_MIN_CONFIDENCE &&
                        (!r->found || t.confidence > r->confidence))
                        *r = t;
                }
}
