/*
 * ex_image.c — the image extractor: PNG, JPEG, WebP, TIFF, GIF and BMP.
 *
 * For every image:
 *   1. metadata first (ex_meta.c): EXIF GPS/time/device, XMP, comments and
 *      text chunks. It is read from the container, so even an image whose
 *      pixels cannot be decoded still has its metadata inspected;
 *   2. the size from the header (Leptonica's header readers, or our own GIF
 *      walk, because Leptonica decodes a whole GIF to learn its size): more
 *      than limits.pixels is refused before a single pixel is decoded;
 *   3. decoding with Leptonica from memory; a broken file is
 *      uninspectable.corrupt, a cut one uninspectable.truncated (judged from
 *      the container's structure: libjpeg fills a cut JPEG with grey and
 *      carries on);
 *   4. the EXIF Orientation applied to the decoded pixels (a phone's
 *      portrait shot is stored sideways), so everything below sees the
 *      picture as it is shown;
 *   5. the page pipeline (also ex_image_pix(), for rendered PDF pages):
 *      QR codes and barcodes on the grayscale image; deskew (±15°); a
 *      page with no masthead turned until one shows (masthead_turn), or,
 *      after an unclear upright header pass, by its text (Tesseract OSD,
 *      text_turn) and its header read again; the red
 *      masthead and rule of an official document (an `image` finding);
 *      the header block and the 发文字号 line read line by line at a higher
 *      resolution first ("ocr header": where markings live, so a marked
 *      page can be stopped early), then OCR of the whole page ("ocr").
 *
 * Frames: a multi-page TIFF is read up to MAX_FRAMES pages (more is
 * reported as uninspectable.limit.frames, partial); an animated GIF up to
 * MAX_FRAMES frames (more is not reported: see gif_frames()).
 *
 * Memory: the decoded image is at most limits.pixels; before analysis a
 * large image is scaled down to WORK_PX, so every copy the pipeline makes
 * (32-bit colour, gray, deskewed, binarised) is bounded by that, not by the
 * input.
 */
#include <leptonica/allheaders.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ex_image.h"
#include "watermark/wm.h"

#define MAX_FRAMES        4                     /* TIFF pages, GIF frames read */
#define WORK_PX           (16u * 1000u * 1000u) /* pixels the pipeline works on */
#define OCR_MIN_SIDE      32                    /* smaller images hold no text */
#define OCR_UPSCALE_BELOW 600                   /* narrower images are read at ×2 */
#define HEADER_LINES      12                    /* header lines re-read per page */
#define LINE_TEXT_PX      48                    /* text height for line re-reading */
#define HAN_REREADS       3                     /* header lines read again in Chinese */
#define SKEW_RANGE        15.0f                 /* degrees either way deskew searches */
#define TURN_PX           1000                  /* longest side for the masthead turns */
#define OSD_PX            2400                  /* longest side Tesseract OSD sees */
#define OSD_MIN_CONF      2.0f                  /* below: OSD is guessing */
#define CLEAR_CONF        85 /* a header line read clearly: measured 93-94 upright, <= 35 sideways */
#define CLEAR_LINES       1  /* that many: the page is upright */

/* Tesseract ("Empty page!!"), libjpeg, libpng and libtiff print warnings to
 * stderr, and nothing stops them (the sandbox refuses to open even /dev/null
 * for writing, so Tesseract's debug_file cannot divert them). When the
 * worker's stderr is a regular file, its RLIMIT_FSIZE of 0 turns such a
 * warning into SIGXFSZ, and a harmless image into a "crash". Ignored, the
 * write fails with EFBIG instead: nothing is written either way. */
static void quiet_libraries(void)
{
    signal(SIGXFSZ, SIG_IGN);
    setMsgSeverity(L_SEVERITY_NONE); /* Leptonica's complaints about hostile input */
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Time for one OCR run: the per-image budget, but never past the job's. */
static uint32_t ocr_budget(ex_job *j, uint64_t started)
{
    uint32_t per = ex_job_limits(j)->ocr_ms, left = ex_job_ms_left(j);
    uint64_t used = now_ms() - started;
    uint32_t rest = used >= per ? 0 : per - (uint32_t)used;
    return rest < left ? rest : left;
}

/* Appends `s` to the segment text without its blank lines (Tesseract puts
 * one between paragraphs; the marking detector counts lines from the top). */
static void append_lines(char **buf, size_t *len, size_t *cap, const char *s)
{
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        bool blank = true;
        for (size_t i = 0; i < n && blank; i++)
            blank = s[i] == ' ' || s[i] == '\t' || s[i] == '\r';
        if (!blank) {
            if (*len + n + 2 > *cap) {
                size_t nc = (*cap ? *cap * 2 : 1024) + n + 2;
                char *q = realloc(*buf, nc);
                if (!q)
                    return; /* text lost, not memory corrupted: the caller checks */
                *buf = q;
                *cap = nc;
            }
            memcpy(*buf + *len, s, n);
            *len += n;
            (*buf)[(*len)++] = '\n';
            (*buf)[*len] = 0;
        }
        s += n + (e != NULL);
    }
}

static void part_name(char *out, size_t cap, const char *prefix, const char *what)
{
    snprintf(out, cap, "%s%s%s", prefix ? prefix : "", prefix && *prefix ? " " : "", what);
}

/* A line crop, enlarged so that its text is ~LINE_TEXT_PX high and
 * binarised on its own histogram (Otsu), with (variant 0) or without (1) a
 * 3×3 median first: on a photo's small print the median removes the noise
 * that breaks strokes, on a clean render it thickens them. Variant 2, for
 * the Chinese-only re-read, is enlarged 1.5× more and left gray for
 * Tesseract's own threshold: on the phone photo's blurred 秘密 the binarised
 * crops read 敌密 and 权宅, this one 秘密. Which one reads better is only
 * known afterwards (ocr_line). */
static PIX *line_image(PIX *gray, ex_box b, int variant)
{
    bool median = variant == 0;
    BOX *box = boxCreate(b.x, b.y, b.w, b.h);
    PIX *crop = NULL, *big = NULL, *smooth = NULL, *bin = NULL, *out = NULL;
    float s;
    if (!box)
        return NULL;
    crop = pixClipRectangle(gray, box, NULL);
    boxDestroy(&box);
    if (!crop)
        goto out;
    s = (float)LINE_TEXT_PX * (variant == 2 ? 2.4f : 1.6f) / (float)pixGetHeight(crop);
    if (s < 1.0f)
        s = 1.0f;
    if (s > 5.0f)
        s = 5.0f;
    big = pixScaleGrayLI(crop, s, s);
    if (!big)
        goto out;
    smooth = median ? pixRankFilterGray(big, 3, 3, 0.5f) : pixClone(big);
    if (!smooth)
        goto out;
    if (variant == 2) { /* gray, left to Tesseract's own threshold */
        out = pixAddBorder(smooth, 16, 255);
        goto out;
    }
    if (pixOtsuAdaptiveThreshold(smooth, pixGetWidth(smooth), pixGetHeight(smooth), 0, 0, 0.1f,
                                 NULL, &bin) != 0 ||
        !bin)
        goto out;
    out = pixAddBorder(bin, 16, 0); /* white: Tesseract wants a margin */
out:
    pixDestroy(&bin);
    pixDestroy(&smooth);
    pixDestroy(&big);
    pixDestroy(&crop);
    return out;
}

/* One header line read in single-line mode from both binarisations; the
 * reading Tesseract is surer of wins. Returns malloc'ed text or NULL. */
static char *ocr_line(ex_job *j, PIX *gray, ex_box b, int lang, uint64_t started, bool *timed_out,
                      int *conf_out)
{
    char *best = NULL;
    int best_conf = -1;
    /* Chinese alone (a line the first read lost) also gets the gray
     * enlargement: on the phone photo's 秘密 it is the one that reads it. */
    for (int v = 0; v < (lang == EX_OCR_CHI ? 3 : 2); v++) {
        uint32_t ms = ocr_budget(j, started);
        char *text = NULL;
        int conf = 0;
        bool late = false;
        PIX *li;
        if (!ms) {
            *timed_out = true;
            break;
        }
        li = line_image(gray, b, v);
        if (li && ex_ocr_run(li, EX_PSM_LINE, lang, ms, &text, &conf, &late) == 0) {
            if (conf > best_conf) {
                free(best);
                best = text;
                best_conf = conf;
            } else {
                free(text);
            }
        }
        *timed_out = *timed_out || late;
        pixDestroy(&li);
    }
    *conf_out = best_conf;
    return best;
}

/* True when s holds a CJK ideograph (three-byte UTF-8 E4..E9). */
static bool has_han(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0xE4 && (unsigned char)*s <= 0xE9)
            return true;
    return false;
}

/* A short reading of ASCII letters only ("ee", "Se", "Here"): what the
 * English model makes of two blurred Chinese characters. */
static bool latin_garbage(const char *s)
{
    int letters = 0;
    for (; *s; s++) {
        unsigned char b = (unsigned char)*s;
        if (b >= 0x80 || (b >= '0' && b <= '9'))
            return false;
        letters += (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
    }
    return letters >= 1 && letters <= 6;
}

/* Re-reads the header lines of a page one by one and emits them as one
 * segment, in page order. *clear counts the lines read as Chinese with
 * confidence (CLEAR_CONF): text the right way up. */
static int ocr_header(ex_job *j, PIX *gray, const ex_masthead *m, const char *prefix,
                      uint64_t started, bool *timed_out, int *clear)
{
    ex_box regions[4], lines[HEADER_LINES];
    char *seg = NULL, part[96];
    size_t len = 0, cap = 0;
    int nr, nl = 0, rc = 0;

    nr = ex_header_regions(m, pixGetWidth(gray), pixGetHeight(gray), regions, 4);
    for (int r = 0; r < nr && nl < HEADER_LINES; r++)
        nl += ex_text_lines(gray, regions[r], lines + nl, HEADER_LINES - nl);
    *clear = 0;
    for (int i = 0, again = 0; i < nl && !*timed_out; i++) {
        int conf = 0, hconf = 0;
        char *text = ocr_line(j, gray, lines[i], EX_OCR_CHI_ENG, started, timed_out, &conf);
        /* A short line read as Latin letters only, in a header of Chinese
         * official documents: read again with Chinese alone (a blurred 秘密
         * beside the 份号 comes out "ee" otherwise). A few lines a page, so
         * an English letterhead costs little more. */
        if (text && latin_garbage(text) && again < HAN_REREADS && !*timed_out) {
            char *han = ocr_line(j, gray, lines[i], EX_OCR_CHI, started, timed_out, &hconf);
            again++;
            if (han && has_han(han)) {
                free(text);
                text = han;
                conf = hconf;
            } else {
                free(han);
            }
        }
        if (text)
            append_lines(&seg, &len, &cap, text);
        *clear += text && has_han(text) && conf >= CLEAR_CONF;
        free(text);
    }
    if (len) {
        part_name(part, sizeof part, prefix, "ocr header");
        rc = ex_text_part(j, part, seg, len);
    }
    free(seg);
    return rc;
}

/* The page as Tesseract should see it: the background (a photo's uneven
 * lighting) flattened and sensor noise removed with a 3×3 median, left in
 * gray for Tesseract's own Otsu binarisation. Measured on the test pages,
 * a Sauvola binarisation here, or a ×2 upscale of a 100-dpi page, read
 * worse (the body text of the photo turned to Latin garbage) and took up to
 * twice as long; the header lines are where binarising on a local histogram
 * pays, and ocr_header does it there. */
static PIX *page_for_ocr(PIX *gray)
{
    PIX *big, *flat, *med, *out;
    /* A small image (a cropped screenshot) holds small text: Tesseract
     * reads characters of less than ~20 pixels poorly. */
    bool small = pixGetWidth(gray) < OCR_UPSCALE_BELOW;
    big = small ? pixScaleGrayLI(gray, 2.0f, 2.0f) : pixClone(gray);
    if (!big)
        return NULL;
    flat = pixBackgroundNormSimple(big, NULL, NULL);
    med = pixRankFilterGray(flat ? flat : big, 3, 3, 0.5f);
    /* A small image gets a white margin too: its text often touches the
     * edge (a cropped screenshot, a GIF frame that patches one line), and is
     * then not read at all. Not a page: there the margin shifted Tesseract's
     * global threshold enough to lose the body of the phone photo. */
    out = !med ? NULL : small ? pixAddBorder(med, 16, 255) : pixClone(med);
    pixDestroy(&med);
    pixDestroy(&flat);
    pixDestroy(&big);
    return out;
}

/* Rotates both images so that text lines are horizontal. The skew is
 * measured on a binarised copy; small or unsure angles are left alone. */
static void deskew(PIX **gray, PIX **rgb)
{
    PIX *bin = pixConvertTo1(*gray, 140);
    l_float32 angle = 0, conf = 0;
    if (!bin)
        return;
    /* pixFindSkew's parameters (reductions 4 and 2, 1° sweep steps,
     * 0.01° search) over ±SKEW_RANGE instead of its ±7°: a page held at
     * 12° to the camera is common, and the sweep costs only its range. */
    if (pixFindSkewSweepAndSearch(bin, &angle, &conf, 4, 2, SKEW_RANGE, 1.0f, 0.01f) == 0 &&
        conf >= 2.5f && fabsf(angle) >= 0.2f) {
        float rad = angle * (float)M_PI / 180.0f;
        PIX *g2 = pixRotate(*gray, rad, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
        PIX *c2 = *rgb ? pixRotate(*rgb, rad, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0) : NULL;
        if (g2 && (c2 || !*rgb)) {
            pixDestroy(gray);
            *gray = g2;
            if (c2) {
                pixDestroy(rgb);
                *rgb = c2;
            }
        } else {
            pixDestroy(&g2);
            pixDestroy(&c2);
        }
    }
    pixDestroy(&bin);
}

/* Turns both images `quads` quarter turns clockwise; on failure (memory)
 * they are left as they were. */
static void turn(PIX **gray, PIX **rgb, int quads)
{
    PIX *g2 = pixRotateOrth(*gray, quads);
    PIX *c2 = *rgb ? pixRotateOrth(*rgb, quads) : NULL;
    if (g2 && (c2 || !*rgb)) {
        pixDestroy(gray);
        *gray = g2;
        if (c2) {
            pixDestroy(rgb);
            *rgb = c2;
        }
    } else {
        pixDestroy(&g2);
        pixDestroy(&c2);
    }
}

/* A page with no red masthead as it stands: whether one appears when it is
 * turned (a page photographed sideways or upside down). The masthead is
 * specific enough (wide, centred, in the upper half, red) that it appears
 * in one turn only; this costs three colour passes over a small copy.
 * Returns the clockwise quarter turns that make the page upright, or 0. */
static int masthead_turn(PIX *rgb)
{
    PIX *small;
    int w, h, side, quads = 0;
    if (!rgb)
        return 0;
    w = pixGetWidth(rgb);
    h = pixGetHeight(rgb);
    side = w > h ? w : h;
    small = side > TURN_PX
                ? pixScale(rgb, (float)TURN_PX / (float)side, (float)TURN_PX / (float)side)
                : pixClone(rgb);
    for (int q = 1; small && q <= 3 && !quads; q++) {
        PIX *t = pixRotateOrth(small, q);
        ex_masthead m;
        if (!t)
            break;
        ex_masthead_find(t, &m);
        quads = m.confidence ? q : 0;
        pixDestroy(&t);
    }
    pixDestroy(&small);
    return quads;
}

/* Which way up a page without a masthead is, by its text (Tesseract OSD).
 * Returns the clockwise quarter turns that make it upright, or 0 when it
 * is upright, when OSD is unsure or when no time is left. */
static int text_turn(ex_job *j, PIX *gray, uint64_t started)
{
    int w = pixGetWidth(gray), h = pixGetHeight(gray), side = w > h ? w : h, quads = 0;
    float conf = 0;
    PIX *small;
    if (!ocr_budget(j, started))
        return 0;
    small = side > OSD_PX ? pixScale(gray, (float)OSD_PX / (float)side, (float)OSD_PX / (float)side)
                          : pixClone(gray);
    if (small && ex_ocr_orientation(small, &quads, &conf) == 0 && conf < OSD_MIN_CONF)
        quads = 0;
    pixDestroy(&small);
    return quads;
}

/* The red masthead finding, when the page has one. */
static int masthead_finding(ex_job *j, const ex_masthead *m, const char *prefix)
{
    if (!m->confidence)
        return 0;
    return ex_finding(j, prefix && *prefix ? prefix : NULL, GUARD_CAT_IMAGE, GUARD_SEV_MEDIUM,
                      m->confidence, "image.red_header",
                      "looks like an official document (红头文件): red masthead and rule", m->why);
}

/* The pipeline for one decoded page. `prefix` names the frame ("" or
 * "page 2"). */
static int image_page(ex_job *j, PIX *pix, const char *prefix)
{
    const ex_limits *lim = ex_job_limits(j);
    PIX *work = NULL, *rgb = NULL, *gray = NULL, *ocr = NULL;
    ex_masthead m;
    char part[96], *text = NULL;
    int rc = 0, conf = 0, quads, clear = 0;
    bool timed_out = false, colour;
    uint64_t px = (uint64_t)pixGetWidth(pix) * (uint64_t)pixGetHeight(pix), started = now_ms();

    if (px > WORK_PX) {
        float s = sqrtf((float)WORK_PX / (float)px);
        work = pixScale(pix, s, s);
    } else {
        work = pixClone(pix);
    }
    if (!work)
        goto fail;
    colour = pixGetDepth(work) == 32 || pixGetColormap(work) != NULL;
    if (colour) {
        rgb = pixConvertTo32(work);
        gray = rgb ? pixConvertRGBToLuminance(rgb) : NULL;
    } else {
        gray = pixConvertTo8(work, 0);
    }
    if (!gray)
        goto fail;
    if (pixGetWidth(gray) < OCR_MIN_SIDE || pixGetHeight(gray) < OCR_MIN_SIDE)
        goto out; /* an icon: nothing to read */

    rc = ex_qr_scan(j, gray);
    if (rc < 0)
        goto out;
    deskew(&gray, &rgb);
    ex_masthead_find(rgb, &m);
    /* Sideways or upside down with no EXIF tag to say so (a scan, a
     * screenshot of a photo, a phone that did not write one): a masthead
     * that shows when the page is turned turns it before anything is read. */
    if (!m.confidence && (quads = masthead_turn(rgb)) != 0) {
        turn(&gray, &rgb, quads);
        ex_masthead_find(rgb, &m);
    }
    rc = masthead_finding(j, &m, prefix);
    if (rc < 0 || !lim->ocr)
        goto out;

    /* The header lines first: the marking, the 份号 and the 发文字号 live
     * there, and their segment reaches the caller before the whole page is
     * read, so a marked page can be refused (guard_file_options
     * .stop_at_block) without waiting for the page's OCR, the costliest
     * step. */
    rc = ocr_header(j, gray, &m, prefix, started, &timed_out, &clear);
    if (rc < 0)
        goto out;
    /* No masthead: the page may still be a marked one lying on its side.
     * Unless its header lines were read clearly as Chinese (the text is
     * upright: a clean page of text pays nothing more), its text says
     * which way up it is; turned, its header is read again (the upright
     * reading above has already gone out, so an upright marked page is
     * stopped before this), and the whole page is read turned. */
    if (!m.confidence && !timed_out && clear < CLEAR_LINES &&
        (quads = text_turn(j, gray, started)) != 0) {
        turn(&gray, &rgb, quads);
        ex_masthead_find(rgb, &m);
        rc = masthead_finding(j, &m, prefix);
        if (rc >= 0)
            rc = ocr_header(j, gray, &m, prefix, started, &timed_out, &clear);
        if (rc < 0)
            goto out;
    }
    ocr = timed_out ? NULL : page_for_ocr(gray);
    if (ocr) {
        uint32_t ms = ocr_budget(j, started);
        part_name(part, sizeof part, prefix, "ocr");
        if (!ms) {
            timed_out = true;
        } else if (ex_ocr_run(ocr, EX_PSM_AUTO, EX_OCR_CHI_ENG, ms, &text, &conf, &timed_out) ==
                   0) {
            char *seg = NULL;
            size_t len = 0, cap = 0;
            ex_job_count_ocr(j); /* guard_file_info.ocr_images */
            append_lines(&seg, &len, &cap, text);
            rc = len ? ex_text_part(j, part, seg, len) : 0;
            free(seg);
            if (rc < 0)
                goto out;
        } else {
            /* No engine (tessdata missing, out of memory): the text of the
             * image was not read, and that is not the same as no text. */
            rc = ex_uninspectable(j, part, "ocr_unavailable",
                                  "the OCR engine (Tesseract chi_sim+eng) could not be started",
                                  false);
            goto out;
        }
    }
    if (timed_out) {
        part_name(part, sizeof part, prefix, "ocr");
        rc = ex_uninspectable(j, part, "limit.ocr_time",
                              "OCR stopped at the time limit; the text read so far was inspected",
                              false);
    }
    goto out;
fail:
    rc = ex_uninspectable(j, prefix && *prefix ? prefix : NULL, "limit.memory",
                          "not enough memory to analyse the image", false);
out:
    free(text);
    pixDestroy(&ocr);
    pixDestroy(&gray);
    pixDestroy(&rgb);
    pixDestroy(&work);
    return rc;
}

int ex_image_pix(ex_job *j, void *pix)
{
    PIX *p = pix;
    uint64_t px;
    quiet_libraries();
    if (!p)
        return ex_uninspectable(j, NULL, "corrupt", "no image", true);
    px = (uint64_t)pixGetWidth(p) * (uint64_t)pixGetHeight(p);
    if (px > ex_job_limits(j)->pixels)
        return ex_uninspectable(j, NULL, "limit.pixels", "the image has more pixels than allowed",
                                true);
    return image_page(j, p, NULL);
}

/* Whether the container ends where it should: a JPEG's EOI after the scan,
 * a PNG's IEND, a GIF's trailer, a WebP's chunks filling the RIFF size. */
static bool truncated(ex_imgfmt fmt, const unsigned char *d, size_t n)
{
    ex_blocks it;
    ex_block b;
    int rc;
    bool eoi = false;

    if (fmt == EX_FMT_TIFF)
        return ex_tiff_truncated(d, n);
    if (fmt == EX_FMT_BMP) /* bfSize: the whole file's size */
        return n >= 6 && (uint64_t)(d[2] | d[3] << 8 | d[4] << 16 | (uint32_t)d[5] << 24) > n;
    if (fmt == EX_FMT_WEBP && n >= 8) {
        uint64_t riff = (uint64_t)(d[4] | d[5] << 8 | d[6] << 16 | (uint32_t)d[7] << 24) + 8;
        if (riff > n)
            return true;
    }
    ex_blocks_init(&it, fmt, d, n);
    while ((rc = ex_blocks_next(&it, &b)) > 0) {
        if (fmt == EX_FMT_JPEG && b.type == 0xDA) {
            /* EOI somewhere after the scan header (trailing bytes happen). */
            for (size_t i = b.len; i >= 2 && !eoi; i--)
                eoi = d[b.off + i - 2] == 0xFF && d[b.off + i - 1] == 0xD9;
            return !eoi;
        }
    }
    return rc < 0;
}

/* TIFF pages after the first, each checked against the limit before
 * decoding; more than MAX_FRAMES is reported (a scanned document's page 5
 * is as sensitive as its page 1). */
static int tiff_pages(ex_job *j, const unsigned char *data, size_t len)
{
    l_int32 w = 0, h = 0, bps = 0, spp = 0, res = 0, cmap = 0, format = 0;
    char expl[96];
    int rc = 0;

    for (int pages = 1;; pages++) {
        char name[32];
        PIX *pg;
        if (readHeaderMemTiff(data, len, pages, &w, &h, &bps, &spp, &res, &cmap, &format) != 0)
            break;
        if (pages >= MAX_FRAMES) {
            snprintf(expl, sizeof expl, "only the first %d pages of a TIFF are inspected",
                     MAX_FRAMES);
            rc = ex_uninspectable(j, NULL, "limit.frames", expl, false);
            break;
        }
        snprintf(name, sizeof name, "page %d", pages + 1);
        if ((uint64_t)(w > 0 ? w : 0) * (uint64_t)(h > 0 ? h : 0) > ex_job_limits(j)->pixels) {
            rc = ex_uninspectable(j, name, "limit.pixels", "the page has more pixels than allowed",
                                  false);
        } else if (!(pg = pixReadMemTiff(data, len, pages))) {
            rc = ex_uninspectable(j, name, "corrupt", "the page cannot be decoded", false);
        } else {
            rc = image_page(j, pg, name);
            pixDestroy(&pg);
        }
        if (rc < 0)
            break;
    }
    return rc;
}

/* Frames 2..MAX_FRAMES of an animated GIF, which Leptonica does not decode:
 * each is cut out into a GIF of its own (screen descriptor and global
 * colour table, the frame's graphic control extension, the frame, the
 * trailer) and decoded alone. A frame that only patches part of the screen
 * comes out as that part: its text is still read. Later frames are not
 * reported: animated stickers run to dozens of frames, and holding every
 * sticker for confirmation would teach people to click through. The frame
 * sizes were checked against the limit by the walk in ex_image(). */
static int gif_frames(ex_job *j, const unsigned char *d, size_t n)
{
    ex_blocks it;
    ex_block b, head = {0}, gce = {0};
    int frame = 0, rc = 0;

    ex_blocks_init(&it, EX_FMT_GIF, d, n);
    while (rc >= 0 && ex_blocks_next(&it, &b) > 0) {
        unsigned char *buf;
        size_t m;
        char name[32];
        PIX *pg;
        if (b.type == 'H') {
            head = b;
            continue;
        }
        if (b.type == 0x21F9) {
            gce = b;
            continue;
        }
        if (b.type != 0x2C)
            continue;
        if (++frame == 1 || !head.len) {
            gce.len = 0;
            continue;
        }
        if (frame > MAX_FRAMES)
            break;
        m = head.len + gce.len + b.len + 1;
        buf = malloc(m);
        if (!buf)
            break;
        memcpy(buf, d + head.off, head.len);
        if (gce.len)
            memcpy(buf + head.len, d + gce.off, gce.len);
        memcpy(buf + head.len + gce.len, d + b.off, b.len);
        buf[m - 1] = 0x3B;
        gce.len = 0;
        snprintf(name, sizeof name, "frame %d", frame);
        pg = pixReadMemGif(buf, m);
        free(buf);
        if (!pg) {
            rc = ex_uninspectable(j, name, "corrupt", "the frame cannot be decoded", false);
            continue;
        }
        rc = image_page(j, pg, name);
        pixDestroy(&pg);
    }
    return rc;
}

int ex_image(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    const ex_limits *lim = ex_job_limits(j);
    ex_imgfmt fmt = ex_imgfmt_sniff(data, len);
    l_int32 format = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
    uint64_t px = 0;
    PIX *pix = NULL;
    int rc = 0;
    bool cut;
    char expl[160];

    (void)mime; /* the bytes decide; libmagic's type only chose this extractor */
    quiet_libraries();
    if (fmt == EX_FMT_UNKNOWN)
        return ex_uninspectable(j, NULL, "unsupported", "an image format the guard does not read",
                                true);
    rc = ex_meta_scan(j, fmt, data, len);
    if (rc < 0)
        return rc;

    /* The size before decoding. */
    if (fmt == EX_FMT_GIF) {
        ex_gif_info gi;
        if (ex_gif_walk(data, len, &gi) < 0 && gi.frames == 0)
            return ex_uninspectable(j, NULL, truncated(fmt, data, len) ? "truncated" : "corrupt",
                                    "the GIF's blocks are broken", true);
        px = (uint64_t)gi.screen_w * gi.screen_h;
        if (gi.max_frame_px > px)
            px = gi.max_frame_px;
    } else if (pixReadHeaderMem(data, len, &format, &w, &h, &bps, &spp, &cmap) == 0) {
        px = (uint64_t)(w > 0 ? w : 0) * (uint64_t)(h > 0 ? h : 0);
    } else {
        return ex_uninspectable(j, NULL, truncated(fmt, data, len) ? "truncated" : "corrupt",
                                "the image header cannot be read", true);
    }
    if (px > lim->pixels) {
        snprintf(expl, sizeof expl, "%s image of %llu pixels, over the limit of %llu",
                 ex_imgfmt_name(fmt), (unsigned long long)px, (unsigned long long)lim->pixels);
        return ex_uninspectable(j, NULL, "limit.pixels", expl, true);
    }

    cut = truncated(fmt, data, len);
    if (cut && fmt == EX_FMT_PNG)
        /* libpng allocates a chunk's declared length before reading it (a
         * 1 KB file claiming a 1.6 GB chunk costs 1.6 GB), and it cannot
         * decode a cut PNG anyway: the walk has already found the damage. */
        return ex_uninspectable(j, NULL, "truncated",
                                "the PNG is cut short or a chunk runs past its end", true);
    if (fmt == EX_FMT_TIFF) {
        /* decoded as stored, turned below like every format */
        unsigned char *un = ex_tiff_unoriented(data, len);

        pix = pixReadMemTiff(un ? un : data, len, 0);
        free(un);
    } else {
        pix = pixReadMem(data, len);
    }
    if (!pix || pixGetWidth(pix) <= 0 || pixGetHeight(pix) <= 0) {
        pixDestroy(&pix);
        snprintf(expl, sizeof expl, "the %s image %s", ex_imgfmt_name(fmt),
                 cut ? "is cut short" : "cannot be decoded");
        return ex_uninspectable(j, NULL, cut ? "truncated" : "corrupt", expl, true);
    }
    /* Analysed the way it is shown: a portrait phone photo is stored
     * sideways, and its marking would be read sideways (not at all). */
    {
        int o = ex_image_orientation(fmt, data, len);
        PIX *up = o > 1 ? wm_upright(pix, o) : NULL;
        if (up) {
            pixDestroy(&pix);
            pix = up;
        }
    }
    if (cut) {
        rc = ex_uninspectable(j, NULL, "truncated",
                              "the image file is cut short; the part that decoded was inspected",
                              false);
        if (rc < 0)
            goto out;
    }
    rc = image_page(j, pix, NULL);
    if (rc >= 0 && fmt == EX_FMT_TIFF)
        rc = tiff_pages(j, data, len);
    else if (rc >= 0 && fmt == EX_FMT_GIF)
        rc = gif_frames(j, data, len);
out:
    pixDestroy(&pix);
    return rc;
}
