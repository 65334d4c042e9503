/*
 * ex_masthead.c — the layout of an official document (红头文件), seen the way
 * a person sees it: by colour and position, with no OCR.
 *
 * GB/T 9704-2012 puts the issuing body's name in large red characters centred
 * near the top (the masthead, "XX市教育局文件"), the 发文字号 under it, and a
 * red rule across the page under that. OCR of a photographed page loses the
 * small marking lines first, but the red masthead and rule survive blur,
 * noise and JPEG compression, so they are evidence on their own, and they say
 * where the header lines are, so those can be read again at a higher
 * resolution (ex_ocr.c).
 *
 * The analysis runs on a copy scaled to at most ANALYSE_W pixels wide (cost
 * and thresholds independent of the input's resolution); boxes are returned
 * in the input's coordinates.
 */
#include <leptonica/allheaders.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ex_image.h"

#define ANALYSE_W 1000
#define MAX_LINES 16

/* Red as printed and as photographed: red clearly dominant, not dark. A
 * photo's white balance shifts the whole page, so the test is relative. */
static bool is_red(l_int32 r, l_int32 g, l_int32 b)
{
    l_int32 m = g > b ? g : b;
    return r >= 100 && r - m >= 50 && r * 10 >= m * 16;
}

static PIX *red_mask(PIX *rgb)
{
    l_int32 w = pixGetWidth(rgb), h = pixGetHeight(rgb);
    l_int32 wpls = pixGetWpl(rgb), wpld;
    l_uint32 *ds = pixGetData(rgb), *dd;
    PIX *m = pixCreate(w, h, 1);
    if (!m)
        return NULL;
    wpld = pixGetWpl(m);
    dd = pixGetData(m);
    for (l_int32 y = 0; y < h; y++) {
        const l_uint32 *ls = ds + (size_t)y * (size_t)wpls;
        l_uint32 *ld = dd + (size_t)y * (size_t)wpld;
        for (l_int32 x = 0; x < w; x++) {
            l_int32 r, g, b;
            extractRGBValues(ls[x], &r, &g, &b);
            if (is_red(r, g, b))
                SET_DATA_BIT(ld, x);
        }
    }
    return m;
}

static ex_box box_scaled(l_int32 x, l_int32 y, l_int32 w, l_int32 h, float inv)
{
    ex_box b = {(int)lroundf((float)x * inv), (int)lroundf((float)y * inv),
                (int)lroundf((float)w * inv), (int)lroundf((float)h * inv)};
    return b;
}

void ex_masthead_find(struct Pix *rgb_in, ex_masthead *m)
{
    PIX *small = NULL, *mask = NULL, *closed = NULL;
    BOXA *comps = NULL;
    l_int32 W, H, n;
    float scale = 1.0f;
    long best_title = -1, best_rule = -1;
    l_int32 tx = 0, ty = 0, tw = 0, th = 0, rx = 0, ry = 0, rw = 0, rh = 0;
    l_int32 t_area = 0, r_len = 0;

    memset(m, 0, sizeof *m);
    if (!rgb_in || pixGetDepth(rgb_in) != 32)
        return;
    W = pixGetWidth(rgb_in);
    if (W > ANALYSE_W) {
        scale = (float)ANALYSE_W / (float)W;
        small = pixScale(rgb_in, scale, scale);
    } else {
        small = pixClone(rgb_in);
    }
    if (!small)
        goto out;
    W = pixGetWidth(small);
    H = pixGetHeight(small);
    if (W < 64 || H < 64)
        goto out;
    mask = red_mask(small);
    if (!mask)
        goto out;
    /* Join the characters of the masthead into one component; the rule is
     * far enough below it to stay apart. */
    closed = pixCloseBrick(NULL, mask, W / 40 > 3 ? W / 40 : 3, W / 200 > 1 ? W / 200 : 1);
    if (!closed)
        goto out;
    comps = pixConnComp(closed, NULL, 8);
    if (!comps)
        goto out;
    n = boxaGetCount(comps);
    for (l_int32 i = 0; i < n; i++) {
        l_int32 x, y, w, h, cnt = 0;
        BOX *b = boxaGetBox(comps, i, L_CLONE);
        if (!b)
            continue;
        boxGetGeometry(b, &x, &y, &w, &h);
        pixCountPixelsInRect(mask, b, &cnt, NULL);
        boxDestroy(&b);
        /* The rule: long and thin. Thickness as red pixels per column, so a
         * residual tilt that makes the box taller does not disqualify it. */
        if (w >= W * 2 / 5 && cnt <= w * (H / 80 > 3 ? H / 80 : 3) && h <= H / 25 + 4 &&
            cnt >= w / 2) {
            if (w > r_len) {
                r_len = w;
                best_rule = i;
                rx = x, ry = y, rw = w, rh = h;
            }
            continue;
        }
        /* The masthead: wide, tall as large characters, partly filled (text,
         * not a solid banner), centred, in the upper half. */
        {
            l_int32 cx = x + w / 2, cy = y + h / 2;
            long area = (long)w * h;
            if (w >= W / 5 && h >= H / 50 && h <= H / 6 && cnt * 100 >= area * 8 &&
                cnt * 100 <= area * 75 && cy < H / 2 && labs((long)cx - W / 2) <= W / 5 &&
                area > t_area) {
                t_area = (l_int32)(area > 0x7fffffff ? 0x7fffffff : area);
                best_title = i;
                tx = x, ty = y, tw = w, th = h;
            }
        }
    }

    m->has_title = best_title >= 0;
    m->has_rule = best_rule >= 0;
    if (m->has_title && m->has_rule && ry <= ty + th)
        m->has_rule = ry > H / 2 ? false : m->has_rule; /* a rule above the masthead: odd */
    if (m->has_title && m->has_rule && ry > ty + th && ry - (ty + th) <= H * 35 / 100)
        m->confidence = 90;
    else if (m->has_title)
        m->confidence = 60;
    else if (m->has_rule && ry < H / 2)
        m->confidence = 50;
    else
        m->has_rule = false;
    {
        float inv = 1.0f / scale;
        if (m->has_title)
            m->title = box_scaled(tx, ty, tw, th, inv);
        if (m->has_rule)
            m->rule = box_scaled(rx, ry, rw, rh, inv);
        snprintf(m->why, sizeof m->why, "%s%s%s", m->has_title ? "red masthead" : "",
                 m->has_title && m->has_rule ? " and " : "",
                 m->has_rule ? "red rule under the document number" : "");
        if (m->has_title && m->has_rule)
            snprintf(m->why + strlen(m->why), sizeof m->why - strlen(m->why),
                     " (masthead %d%% of the page width at %d%% height)", tw * 100 / W,
                     (ty + th / 2) * 100 / H);
    }
out:
    boxaDestroy(&comps);
    pixDestroy(&closed);
    pixDestroy(&mask);
    pixDestroy(&small);
}

static ex_box clamp_box(ex_box b, int W, int H)
{
    if (b.x < 0)
        b.w += b.x, b.x = 0;
    if (b.y < 0)
        b.h += b.y, b.y = 0;
    if (b.x + b.w > W)
        b.w = W - b.x;
    if (b.y + b.h > H)
        b.h = H - b.y;
    if (b.w < 0)
        b.w = 0;
    if (b.h < 0)
        b.h = 0;
    return b;
}

int ex_header_regions(const ex_masthead *m, int W, int H, ex_box *out, int cap)
{
    int n = 0;
    ex_box tl = {0, 0, W * 3 / 5, H / 4};
    if (cap < 2)
        return 0;
    if (m->has_title) {
        /* 份号, 密级, 紧急程度: above the masthead, flush left. */
        tl.y = m->title.y - H / 4;
        tl.h = m->title.y - 2 - tl.y;
    } else if (m->has_rule) {
        tl.y = m->rule.y - H * 2 / 5;
        tl.h = m->rule.y - H / 10 - tl.y;
    }
    tl = clamp_box(tl, W, H);
    if (tl.w > 8 && tl.h > 8)
        out[n++] = tl;
    if (m->has_rule) {
        /* The 发文字号: the line right above the rule (and under the masthead
         * when there is one). */
        int top = m->has_title ? m->title.y + m->title.h + 2 : m->rule.y - H / 10;
        if (m->rule.y - top > H / 8)
            top = m->rule.y - H / 8;
        ex_box dr = clamp_box((ex_box){0, top, W, m->rule.y - top}, W, H);
        if (dr.w > 8 && dr.h > 8)
            out[n++] = dr;
    }
    return n;
}

/* The threshold between ink and paper in a region: Otsu over its pixels. */
static int region_threshold(PIX *gray)
{
    l_int32 w = pixGetWidth(gray), h = pixGetHeight(gray), th = 128;
    PIX *pth = NULL;
    if (pixOtsuAdaptiveThreshold(gray, w, h, 0, 0, 0.1f, &pth, NULL) == 0 && pth) {
        l_uint32 v = 128;
        pixGetPixel(pth, 0, 0, &v);
        th = (l_int32)v;
    }
    pixDestroy(&pth);
    return th;
}

int ex_text_lines(struct Pix *gray_page, ex_box r, ex_box *out, int cap)
{
    BOX *clip = boxCreate(r.x, r.y, r.w, r.h);
    PIX *g = NULL, *bin = NULL;
    NUMA *rows = NULL;
    int n = 0, th;
    l_int32 w, h, run_start = -1, gap = 0;

    if (!clip || pixGetDepth(gray_page) != 8)
        goto out;
    g = pixClipRectangle(gray_page, clip, NULL);
    if (!g)
        goto out;
    w = pixGetWidth(g);
    h = pixGetHeight(g);
    th = region_threshold(g);
    /* A region of paper only has Otsu's threshold up in the paper's noise;
     * ink is well below paper. */
    if (th > 170)
        th = 170;
    bin = pixThresholdToBinary(g, th);
    if (!bin)
        goto out;
    rows = pixCountPixelsByRow(bin, NULL);
    if (!rows)
        goto out;
    for (l_int32 y = 0; y <= h && n < cap; y++) {
        l_int32 v = 0;
        bool ink = y < h && numaGetIValue(rows, y, &v) == 0 && v > (w / 200 > 2 ? w / 200 : 2);
        if (ink) {
            if (run_start < 0)
                run_start = y;
            gap = 0;
            continue;
        }
        if (run_start < 0)
            continue;
        if (y < h && ++gap <= 2)
            continue; /* a thin gap inside a line (the 一 of a character) */
        {
            l_int32 y0 = run_start, y1 = y - gap + 1, x0 = w, x1 = -1;
            run_start = -1;
            gap = 0;
            if (y1 - y0 < 6 || y1 - y0 > r.h / 2 + 8 || y1 - y0 > 200)
                continue; /* speckle, or a photo's dark edge */
            for (l_int32 yy = y0; yy < y1; yy++) {
                for (l_int32 x = 0; x < w; x++) {
                    l_uint32 px = 0;
                    pixGetPixel(bin, x, yy, &px);
                    if (px) {
                        if (x < x0)
                            x0 = x;
                        if (x > x1)
                            x1 = x;
                    }
                }
            }
            if (x1 < x0)
                continue;
            {
                int pad = (y1 - y0) / 3 + 2;
                ex_box b = {r.x + x0 - pad, r.y + y0 - pad, x1 - x0 + 1 + 2 * pad,
                            y1 - y0 + 2 * pad};
                out[n++] = clamp_box(b, pixGetWidth(gray_page), pixGetHeight(gray_page));
            }
        }
    }
out:
    numaDestroy(&rows);
    pixDestroy(&bin);
    pixDestroy(&g);
    boxDestroy(&clip);
    return n;
}
