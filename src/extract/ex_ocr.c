/*
 * ex_ocr.c — Tesseract inside the worker: one engine per process, reused for
 * every image of the job.
 *
 * Loading chi_sim+eng costs more than reading a small image, so the engine is
 * started on first use and kept until the process exits. This is the one
 * piece of process-wide state in the extractors, and deliberately so: the
 * worker is a single-threaded process that exists for one job, and the engine
 * is a cache, not shared state (every run sets the image, the mode and the
 * deadline it needs). The parent sets OMP_THREAD_LIMIT=1 in the worker's
 * environment: Tesseract's OpenMP threads made it ~6× slower on 2 cores, and
 * parallelism comes from several workers instead.
 *
 * Data: Debian's tessdata (tesseract-ocr-chi-sim, -eng), found by Tesseract's
 * compiled-in default or $TESSDATA_PREFIX. Time: every run gets a deadline
 * through an ETEXT_DESC monitor; recognition stops there and whatever was
 * read so far is returned with *timed_out set.
 */
#include <leptonica/allheaders.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <time.h>

#include "ex_image.h"

/* EX_OCR_CHI_ENG for pages; EX_OCR_CHI, started only when a header line
 * needs it (ex_image.c), for a line chi_sim+eng read as Latin letters: on a
 * phone photo's blurred 秘密 the English model wins with "ee" or "Se", where
 * chi_sim alone reads 秘密. */
/* The third, "osd" (Debian's osd.traineddata, tesseract-ocr), finds which
 * way up a page is (ex_ocr_orientation); it is started only for a page
 * whose orientation is in doubt. */
#define ENGINES 3
#define OSD     2
static const char *const langs[ENGINES] = {"chi_sim+eng", "chi_sim", "osd"};
static TessBaseAPI *engines[ENGINES];
static bool engine_failed[ENGINES];

static void engine_end(void)
{
    for (int i = 0; i < ENGINES; i++) {
        if (engines[i]) {
            TessBaseAPIEnd(engines[i]);
            TessBaseAPIDelete(engines[i]);
            engines[i] = NULL;
        }
    }
}

static TessBaseAPI *engine_get(int lang)
{
    static bool registered;
    TessBaseAPI *e = engines[lang];
    if (e || engine_failed[lang])
        return e;
    e = TessBaseAPICreate();
    if (!e)
        goto fail;
    /* Tesseract writes its diagnostics ("Estimating resolution as ...",
     * empty-page notes) to stderr; the worker's stderr is for real errors. */
    if (TessBaseAPIInit3(e, NULL, langs[lang]) != 0)
        goto fail;
    TessBaseAPISetVariable(e, "debug_file", "/dev/null");
    if (!registered)
        atexit(engine_end);
    registered = true;
    engines[lang] = e;
    return e;

fail:
    if (e)
        TessBaseAPIDelete(e);
    engine_failed[lang] = true;
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ex_ocr_run(struct Pix *pix, int psm, int lang, uint32_t ms, char **out, int *conf,
               bool *timed_out)
{
    TessBaseAPI *api = engine_get(lang == EX_OCR_CHI ? 1 : 0);
    ETEXT_DESC *mon = NULL;
    char *text = NULL, *copy = NULL;
    int rc = -1;
    uint64_t t0;

    if (!api)
        goto fail;
    mon = TessMonitorCreate();
    if (!mon)
        goto fail;
    /* The deadline is an int of milliseconds from now. */
    TessMonitorSetDeadlineMSecs(mon, ms > 0x7fffffff ? 0x7fffffff : (int)(ms ? ms : 1));
    TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
    TessBaseAPISetImage2(api, pix);
    /* Without a resolution Tesseract guesses one and says so on stderr; 300
     * is what its models were trained around, and the pipeline scales text
     * to that size. */
    TessBaseAPISetSourceResolution(api, 300);
    t0 = now_ms();
    (void)TessBaseAPIRecognize(api, mon);
    *timed_out = now_ms() - t0 >= ms;
    text = TessBaseAPIGetUTF8Text(api);
    *conf = text ? TessBaseAPIMeanTextConf(api) : 0;
    copy = strdup(text ? text : "");
    if (!copy)
        goto fail;
    *out = copy;
    rc = 0;
fail:
    if (text)
        TessDeleteText(text);
    if (api)
        TessBaseAPIClear(api);
    if (mon)
        TessMonitorDelete(mon);
    return rc;
}

void ex_ocr_preload(void)
{
    (void)engine_get(0);
    /* The orientation engine too: a picture of text without a masthead (a
     * typed notice, a screenshot) asks it which way up it is, and starting
     * it (osd.traineddata) is most of what that costs. */
    (void)engine_get(OSD);
}

int ex_ocr_orientation(struct Pix *pix, int *quads, float *conf)
{
    TessBaseAPI *api = engine_get(OSD);
    int deg = 0, rc = -1;
    float oconf = 0, sconf = 0;
    const char *script = NULL;

    if (!api)
        return -1;
    TessBaseAPISetPageSegMode(api, PSM_OSD_ONLY);
    TessBaseAPISetImage2(api, pix);
    TessBaseAPISetSourceResolution(api, 300);
    if (TessBaseAPIDetectOrientationScript(api, &deg, &oconf, &script, &sconf)) {
        /* deg: the page's clockwise rotation (baseapi.h); turning it back
         * takes the remaining quarter turns clockwise. */
        *quads = (4 - ((deg % 360 + 360) % 360) / 90) % 4;
        *conf = oconf;
        rc = 0;
    }
    if (script)
        TessDeleteText((char *)script);
    TessBaseAPIClear(api);
    return rc;
}
