/*
 * test_srv_wmark.c — which pictures the server can mark for a viewer and
 * why the others go out unmarked (srv_wmark.h: srv_wmark_unmarkable, the
 * reason the audit entry file.delivered_unmarked records), the frame count
 * behind "frames" (wm.h: wm_frames), and a marked copy of each type: a PNG
 * for PNG/GIF/TIFF/BMP, a JPEG for JPEG/WebP, cached per (form, viewer),
 * carrying the delivery id under the server's key although it was made in
 * the extraction worker, which never had the key (so this program is a
 * worker host: guard_file_worker_dispatch first). A picture the worker
 * cannot read, and a worker that crashes, give no copy.
 * The pictures are made here with Leptonica.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cordon/guard_file.h"
#include "server/srv_wmark.h"
#include "watermark/wm.h"

#include <leptonica/allheaders.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIXELS ((uint64_t)100000000)

/* A w × h picture (a gradient) encoded as `fmt` (IFF_*). */
static unsigned char *picture(int w, int h, int fmt, size_t *len)
{
    PIX *p = pixCreate(w, h, 32);
    l_uint8 *d = NULL;

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            pixSetRGBPixel(p, x, y, (x * 255) / w, (y * 255) / h, 128);
    if (fmt == IFF_GIF) {
        PIX *q = pixConvertRGBToColormap(p, 1);

        pixDestroy(&p);
        p = q;
    }
    assert_int_equal(pixWriteMem(&d, len, p, fmt), 0);
    pixDestroy(&p);
    return d;
}

/* A GIF of `frames` 1 × 1 images, written by hand (GIF89a's grammar). */
static size_t tiny_gif(unsigned char *out, int frames)
{
    static const unsigned char head[] = {'G',  'I', 'F', '8', '9', 'a', 1,    0,    1,   0,
                                         0x80, 0,   0,   0,   0,   0,   0xff, 0xff, 0xff};
    static const unsigned char image[] = {0x21, 0xF9, 4, 0, 10, 0, 0, 0, /* graphic control */
                                          0x2C, 0,    0, 0, 0,  1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0};
    size_t n = sizeof head;

    memcpy(out, head, sizeof head);
    for (int i = 0; i < frames; i++, n += sizeof image)
        memcpy(out + n, image, sizeof image);
    out[n++] = 0x3B;
    return n;
}

static void types(void **state)
{
    (void)state;
    for (const char *const *m = (const char *const[]){"image/jpeg", "image/png", "image/webp",
                                                      "image/gif", "image/tiff", "image/bmp", NULL};
         *m; m++)
        assert_true(srv_wmark_type(*m));
    assert_false(srv_wmark_type("application/pdf"));
    assert_false(srv_wmark_type("image/heic"));
    assert_false(srv_wmark_type(NULL));
}

static void frames(void **state)
{
    unsigned char gif[256];
    size_t n, len = 0;
    PIXA *pa = pixaCreate(2);
    l_uint8 *tif = NULL;
    PIX *p = pixCreate(200, 150, 8);

    (void)state;
    n = tiny_gif(gif, 1);
    assert_int_equal(wm_frames(gif, n), 1);
    n = tiny_gif(gif, 3);
    assert_int_equal(wm_frames(gif, n), 3);
    assert_int_equal(wm_frames(gif, 30), 0); /* cut inside the first image */
    pixaAddPix(pa, p, L_COPY);
    pixaAddPix(pa, p, L_COPY);
    assert_int_equal(pixaWriteMemMultipageTiff(&tif, &len, pa), 0);
    assert_int_equal(wm_frames(tif, len), 2);
    assert_string_equal(srv_wmark_unmarkable("image/tiff", (int64_t)len, 0, 0, PIXELS, tif, len),
                        "frames");
    lept_free(tif);
    pixaDestroy(&pa);
    pixDestroy(&p);
}

static void reasons(void **state)
{
    size_t len = 0;
    unsigned char *ok = picture(200, 150, IFF_PNG, &len), *small;

    (void)state;
    assert_null(srv_wmark_unmarkable("image/png", (int64_t)len, 0, 0, PIXELS, ok, len));
    assert_string_equal(srv_wmark_unmarkable("application/pdf", 1000, 0, 0, PIXELS, NULL, 0),
                        "type");
    /* over 64 MiB: refused before a byte is read */
    assert_string_equal(
        srv_wmark_unmarkable("image/jpeg", SRV_WM_MAX_BYTES + 1, 9000, 9000, PIXELS, NULL, 0),
        "too_large");
    assert_null(srv_wmark_unmarkable("image/jpeg", SRV_WM_MAX_BYTES, 4000, 3000, PIXELS, NULL, 0));
    assert_string_equal(
        srv_wmark_unmarkable("image/png", (int64_t)len, 0, 0, 200 * 150 - 1, ok, len), "too_large");
    free(ok);
    small = picture(100, 80, IFF_PNG, &len);
    assert_string_equal(srv_wmark_unmarkable("image/png", (int64_t)len, 0, 0, PIXELS, small, len),
                        "too_small");
    assert_string_equal(srv_wmark_unmarkable("image/png", 10, 200, 127, PIXELS, NULL, 0),
                        "too_small");
    assert_string_equal(
        srv_wmark_unmarkable("image/png", 4, 0, 0, PIXELS, (const unsigned char *)"\x89PNG", 4),
        "unreadable");
    free(small);
}

/* Whether copy c carries `id` under the key srv_wmark made in dir. Called
 * from several threads at once (at_once): its own plane, no cmocka assert
 * (a failed one jumps back to the thread that runs the test). */
static bool carries(const char *dir, const srv_wm_copy *c, uint64_t id)
{
    float *plane = malloc(sizeof(float) * WM_PLANE * WM_PLANE);
    char path[96], why[256];
    wm_key key;
    wm_result r = {0};
    bool created = true;

    snprintf(path, sizeof path, "%s/watermark.key", dir);
    if (plane && !wm_key_load(path, false, &key, &created, why, sizeof why) &&
        !wm_measure(c->data, c->len, PIXELS, plane, why, sizeof why))
        wm_decode_plane(&key, plane, &r);
    free(plane);
    return r.found && r.id == id;
}

static void copies(void **state)
{
    char dir[] = "/tmp/cordon-wmark-XXXXXX", why[256] = "", path[64];
    srv_wmark *m;
    static const struct {
        int fmt;
        const char *mime, *out;
    } cases[] = {{IFF_PNG, "image/png", "image/png"},
                 {IFF_GIF, "image/gif", "image/png"},
                 {IFF_TIFF_ZIP, "image/tiff", "image/png"},
                 {IFF_BMP, "image/bmp", "image/png"},
                 {IFF_JFIF_JPEG, "image/jpeg", "image/jpeg"}};

    (void)state;
    assert_non_null(mkdtemp(dir));
    m = srv_wmark_new(dir, 64 << 20, why, sizeof why);
    assert_non_null(m);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        unsigned char *img = picture(320, 240, cases[i].fmt, &len);
        srv_wm_copy *c = NULL, *again;
        char key[32];

        snprintf(key, sizeof key, "f%zu/original", i);
        assert_null(srv_wmark_unmarkable(cases[i].mime, (int64_t)len, 0, 0, PIXELS, img, len));
        assert_int_equal(
            srv_wmark_copy(m, key, 7, 42, img, len, cases[i].mime, true, &c, why, sizeof why), 0);
        assert_string_equal(c->mime, cases[i].out);
        assert_true(carries(dir, c, 42));
        again = srv_wmark_cached(m, key, 7);
        assert_ptr_equal(again, c); /* the viewer's copy, kept */
        assert_null(srv_wmark_cached(m, key, 8));
        srv_wm_copy_unref(again);
        srv_wm_copy_unref(c);
        free(img);
    }
    srv_wmark_free(m);
    snprintf(path, sizeof path, "%s/watermark.key", dir);
    unlink(path);
    rmdir(dir);
}

/* A srv_wmark in a new temporary directory (its key made there). */
static srv_wmark *fresh(char *dir)
{
    char why[256] = "";
    srv_wmark *m;

    assert_non_null(mkdtemp(dir));
    m = srv_wmark_new(dir, 64 << 20, why, sizeof why);
    assert_non_null(m);
    return m;
}

static void gone(srv_wmark *m, const char *dir)
{
    char path[64];

    srv_wmark_free(m);
    snprintf(path, sizeof path, "%s/watermark.key", dir);
    unlink(path);
    rmdir(dir);
}

/* What the worker cannot mark gives no copy and a reason, and a worker
 * that dies gives none either: never the original passed off as marked.
 * Several copies at once each get theirs (one takes the waiting worker,
 * the others start their own). */
static void no_copy(void **state)
{
    char dir[] = "/tmp/cordon-wmark-XXXXXX", dir2[] = "/tmp/cordon-wmark-XXXXXX", why[256] = "";
    srv_wmark *m;
    srv_wm_copy *c = (srv_wm_copy *)1;
    size_t len = 0;
    unsigned char *img = picture(320, 240, IFF_PNG, &len);
    static const unsigned char junk[] = "\x89PNG\r\n\x1a\n not really a picture";

    (void)state;
    m = fresh(dir);
    assert_int_equal(srv_wmark_copy(m, "junk/original", 7, 42, junk, sizeof junk, "image/png", true,
                                    &c, why, sizeof why),
                     -1);
    assert_null(c);
    assert_true(why[0]);
    assert_null(srv_wmark_cached(m, "junk/original", 7));
    gone(m, dir);
    /* the hook is read by each worker as it starts: the pool's waiting
     * worker is started by srv_wmark_new, so the hook is set before */
    setenv("CORDON_TEST_WORKER_CRASH", "mark", 1);
    m = fresh(dir2);
    for (int i = 0; i < 2; i++) { /* the pool's worker, then one of its own */
        why[0] = 0;
        assert_int_equal(srv_wmark_copy(m, "f/original", 7, 42, img, len, "image/png", true, &c,
                                        why, sizeof why),
                         -1);
        assert_non_null(strstr(why, "crash"));
    }
    assert_null(srv_wmark_cached(m, "f/original", 7));
    unsetenv("CORDON_TEST_WORKER_CRASH");
    gone(m, dir2);
    free(img);
}

/* Threads marking at once: each gets its own viewer's copy. */
typedef struct {
    srv_wmark *m;
    const char *dir;
    const unsigned char *img;
    size_t len;
    int64_t viewer;
    int ok;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    srv_wm_copy *c = NULL;
    char why[256], key[32];

    snprintf(key, sizeof key, "r%lld/original", (long long)r->viewer);
    r->ok = !srv_wmark_copy(r->m, key, r->viewer, (uint64_t)r->viewer, r->img, r->len, "image/png",
                            true, &c, why, sizeof why) &&
            carries(r->dir, c, (uint64_t)r->viewer);
    if (c)
        srv_wm_copy_unref(c);
    return NULL;
}

static void at_once(void **state)
{
    char dir[] = "/tmp/cordon-wmark-XXXXXX";
    srv_wmark *m = fresh(dir);
    size_t len = 0;
    unsigned char *img = picture(320, 240, IFF_PNG, &len);
    pthread_t t[4];
    racer r[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){m, dir, img, len, 100 + i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(r[i].ok);
    }
    gone(m, dir);
    free(img);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(types),  cmocka_unit_test(frames),  cmocka_unit_test(reasons),
        cmocka_unit_test(copies), cmocka_unit_test(no_copy), cmocka_unit_test(at_once),
    };
    int rc = guard_file_worker_dispatch(argc, argv);

    if (rc >= 0)
        return rc;

    setMsgSeverity(L_SEVERITY_NONE);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
