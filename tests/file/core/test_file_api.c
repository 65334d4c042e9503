/*
 * test_file_api.c — the file guard's C API where `cordon scan` does not
 * reach it: guard_file_scan_mem (plain text in process, a zip through the
 * worker), guard_file_scan_fd on a pipe, guard_file_scan on a path, and a
 * worker that cannot be started (an error of the caller's, not a finding);
 * an image read by OCR (counted in guard_file_info.ocr_images); the pool of
 * waiting workers (the same results as spawned ones, again after the spare
 * was used), stop_at_block and the on_text hook.
 *
 * This program is its own worker host, as guard_file.h requires: main()
 * calls guard_file_worker_dispatch() first.
 */
#include "cordon/guard_file.h"
#include "test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A stored zip with plan.txt = "会议\n机密★1年\n" (made by Python's zipfile). */
static const unsigned char plan_zip[] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x50, 0x8f,
    0xa9, 0xc9, 0x4b, 0x15, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x70, 0x6c, 0x61, 0x6e, 0x2e, 0x74, 0x78, 0x74, 0xe4, 0xbc, 0x9a, 0xe8, 0xae, 0xae, 0x0a,
    0xe6, 0x9c, 0xba, 0xe5, 0xaf, 0x86, 0xe2, 0x98, 0x85, 0x31, 0xe5, 0xb9, 0xb4, 0x0a, 0x50,
    0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x50,
    0x8f, 0xa9, 0xc9, 0x4b, 0x15, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x70, 0x6c, 0x61, 0x6e, 0x2e, 0x74, 0x78, 0x74, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x01, 0x00, 0x36, 0x00, 0x00, 0x00, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* A 240x48 1-bit PNG of the line 会议纪要 (Pillow, WenQuanYi Zen Hei 28 px). */
static const unsigned char minutes_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x30, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0xc6, 0xca,
    0x8b, 0x00, 0x00, 0x01, 0x52, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0xed, 0x94, 0xb1, 0x4a, 0xec,
    0x50, 0x14, 0x45, 0xd7, 0x1d, 0x07, 0x26, 0x03, 0xf2, 0xa6, 0x16, 0x44, 0xaf, 0x7f, 0x20, 0x56,
    0x16, 0x22, 0x53, 0x59, 0x5b, 0x58, 0x58, 0xfa, 0x07, 0xfa, 0x03, 0x8f, 0x5c, 0x3f, 0xe0, 0xc1,
    0xb4, 0x56, 0x11, 0xfc, 0x01, 0x3f, 0x21, 0xc8, 0x2b, 0xb4, 0x0b, 0x56, 0x5a, 0x99, 0x69, 0xc6,
    0xe9, 0xcc, 0x3c, 0x05, 0x93, 0x10, 0xb3, 0x5f, 0x27, 0xe8, 0xbd, 0xb1, 0xb3, 0x73, 0xb7, 0x8b,
    0xbd, 0xcf, 0x39, 0x6c, 0x38, 0x46, 0x7c, 0xa5, 0x1e, 0x3f, 0xf8, 0x9b, 0xb0, 0xcb, 0xba, 0x71,
    0x8d, 0xd2, 0x92, 0x37, 0x00, 0x1a, 0x1f, 0x97, 0x90, 0xaf, 0x16, 0xcd, 0xc2, 0xfc, 0x36, 0x26,
    0x0a, 0x85, 0x9b, 0xe3, 0xc9, 0x9d, 0x19, 0xb4, 0x4b, 0xcd, 0x6b, 0xc0, 0xfd, 0x04, 0xb4, 0xd4,
    0x51, 0xc7, 0xec, 0x99, 0x63, 0x3f, 0xa2, 0x00, 0xfa, 0x43, 0xeb, 0xe3, 0x61, 0xca, 0xc6, 0x55,
    0xd4, 0x1f, 0x77, 0xb8, 0xb3, 0x1c, 0xfa, 0xcc, 0x81, 0x9d, 0x57, 0xe7, 0x63, 0x77, 0x02, 0xa0,
    0x8e, 0xbb, 0x65, 0x0f, 0x16, 0xf6, 0x28, 0xdb, 0xea, 0x08, 0xaf, 0xd3, 0x5f, 0x00, 0xcb, 0x2e,
    0x68, 0xd7, 0x22, 0xbe, 0x8e, 0x93, 0x64, 0xbd, 0x2a, 0x89, 0x61, 0x5d, 0x1f, 0xd5, 0xe3, 0xf6,
    0x74, 0x2f, 0x65, 0xd3, 0x96, 0x40, 0x1b, 0xe7, 0x5e, 0xf8, 0x5f, 0x2d, 0x1c, 0xa2, 0x67, 0x5a,
    0xda, 0x40, 0xf8, 0x83, 0xa4, 0x64, 0x16, 0x3f, 0x56, 0x52, 0x23, 0x79, 0xe1, 0x16, 0xa0, 0x66,
    0x7e, 0x4e, 0xd5, 0x37, 0x5e, 0xfd, 0x4a, 0x21, 0x4e, 0x0a, 0xb9, 0x15, 0xa9, 0x2a, 0x7d, 0x37,
    0x40, 0x3d, 0x64, 0x94, 0x43, 0x6d, 0xfc, 0xd9, 0x7a, 0x92, 0xce, 0x0a, 0xa9, 0x92, 0x1e, 0x9f,
    0x03, 0xee, 0xbb, 0x94, 0xba, 0x70, 0x00, 0xf7, 0x2f, 0x81, 0x4a, 0xae, 0x73, 0x5e, 0x66, 0x29,
    0x96, 0x6c, 0xdb, 0x06, 0xf0, 0x64, 0x4e, 0x74, 0x93, 0x4f, 0x8f, 0xc8, 0x06, 0xc1, 0x4a, 0x76,
    0x60, 0x72, 0x72, 0xe1, 0x40, 0x2b, 0x3e, 0x6e, 0xc7, 0x96, 0x3f, 0x76, 0x7b, 0x15, 0xf8, 0x77,
    0xe8, 0xd5, 0xa6, 0x12, 0xa3, 0xcb, 0x78, 0xaa, 0x92, 0x35, 0xd3, 0x8e, 0x3e, 0x6d, 0x8e, 0x8a,
    0x41, 0xa9, 0xa9, 0x9e, 0xd5, 0xb0, 0x3b, 0x50, 0xe2, 0x61, 0xe9, 0x4d, 0xef, 0xf7, 0x3e, 0x7c,
    0xc2, 0xe6, 0xe7, 0x71, 0x85, 0xf4, 0x1f, 0x69, 0x75, 0x0c, 0xe3, 0x29, 0xed, 0x11, 0xcc, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static const char plain[] = "会议\n机密★1年\n";

static const guard_finding *find(const guard_result *r, const char *rule)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (!strcmp(r->findings[i].rule, rule))
            return &r->findings[i];
    return NULL;
}

typedef struct seen {
    char loc[128];
    char text[256];
    size_t len;
    int calls;
} seen;

static void on_text(void *arg, const char *location, const char *text, size_t len)
{
    seen *s = arg;

    s->calls++;
    snprintf(s->loc, sizeof s->loc, "%s", location);
    if (len > sizeof s->text - 1 - s->len)
        len = sizeof s->text - 1 - s->len;
    memcpy(s->text + s->len, text, len);
    s->len += len;
    s->text[s->len] = 0;
}

/* The zip and the picture through a pool's waiting workers, twice each
 * (the second time, the worker started after the first answer). */
static void pool_checks(guard_scanner *sc, guard_ruleset *rs)
{
    guard_file_pool *pool = NULL;
    guard_file_options opt = {0};
    guard_file_info info;
    guard_error err = {0};
    guard_result *r = NULL;
    const guard_finding *f;
    seen sn = {0};

    CHECK(guard_file_pool_new(NULL, &pool, &err) == GUARD_OK && pool, "pool");
    opt.pool = pool;
    for (int i = 0; i < 2; i++) {
        opt.name = "plan.zip";
        /* a worker that could not be spawned: the waiting one is used */
        opt.worker_path = "/nonexistent/cordon";
        CHECK(guard_file_scan_mem(sc, rs, plan_zip, sizeof plan_zip, &opt, &r, &info, &err) ==
                  GUARD_OK,
              "pooled zip (the waiting worker took it)");
        opt.worker_path = NULL;
        f = r ? find(r, "marking.classified") : NULL;
        CHECK(f && f->location && !strcmp(f->location, "plan.zip!plan.txt"), "pooled zip finding");
        CHECK(!strcmp(info.mime, "application/zip") && !info.stopped_at_block, "pooled zip info");
        guard_result_free(r);
        r = NULL;
        opt.name = "minutes.png";
        CHECK(guard_file_scan_mem(sc, rs, minutes_png, sizeof minutes_png, &opt, &r, &info, &err) ==
                  GUARD_OK,
              "pooled png");
        CHECK(!strcmp(info.mime, "image/png") && info.ocr_images == 1, "pooled png read by OCR");
        guard_result_free(r);
        r = NULL;
    }
    /* stop_at_block: the zip's member blocks, the worker is not waited for */
    opt.name = "plan.zip";
    opt.stop_at_block = true;
    CHECK(guard_file_scan_mem(sc, rs, plan_zip, sizeof plan_zip, &opt, &r, &info, &err) == GUARD_OK,
          "stop_at_block zip");
    CHECK(r && r->verdict == GUARD_BLOCK && find(r, "marking.classified"), "stopped: still block");
    CHECK(info.stopped_at_block, "stopped_at_block reported");
    guard_result_free(r);
    r = NULL;
    /* on_text: every piece of text read, with its location */
    opt.stop_at_block = false;
    opt.on_text = on_text;
    opt.on_text_arg = &sn;
    CHECK(guard_file_scan_mem(sc, rs, plan_zip, sizeof plan_zip, &opt, &r, &info, &err) == GUARD_OK,
          "on_text zip");
    CHECK(sn.calls >= 1 && !strcmp(sn.loc, "plan.zip!plan.txt") &&
              !strcmp(sn.text, "会议\n机密★1年\n"),
          "on_text gives the member's text and location");
    guard_result_free(r);
    guard_file_pool_free(pool);
}

int main(int argc, char **argv)
{
    int rc = guard_file_worker_dispatch(argc, argv);
    guard_ruleset *rs = NULL;
    guard_scanner *sc = NULL;
    guard_result *r = NULL;
    guard_file_info info;
    guard_file_options opt = {0};
    guard_options gopt = {0};
    guard_error err = {0};
    const guard_finding *f;
    int p[2];

    if (rc >= 0)
        return rc;
    if (guard_ruleset_load(&gopt, &rs, &err) || guard_scanner_new(&sc, &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    opt.name = "plan.zip";

    /* plain text in memory: in process, no location, offsets into the input */
    CHECK(guard_file_scan_mem(sc, rs, plain, strlen(plain), &opt, &r, &info, &err) == GUARD_OK,
          "scan_mem text");
    f = r ? find(r, "marking.classified") : NULL;
    CHECK(f && !f->location && !memcmp(plain + f->start, "机密★1年", f->end - f->start),
          "text finding in the input's own bytes");
    CHECK(r && r->verdict == GUARD_BLOCK && r->status == GUARD_STATUS_SCANNED, "text verdict");
    CHECK(!strcmp(info.mime, "text/plain") && info.parts == 1, "text info");
    guard_result_free(r);
    r = NULL;

    /* a zip in memory: through the worker (memfd) */
    CHECK(guard_file_scan_mem(sc, rs, plan_zip, sizeof plan_zip, &opt, &r, &info, &err) == GUARD_OK,
          "scan_mem zip");
    f = r ? find(r, "marking.classified") : NULL;
    CHECK(f && f->location && !strcmp(f->location, "plan.zip!plan.txt") &&
              !strcmp(f->excerpt, "机密★1年"),
          "zip member location");
    CHECK(!strcmp(info.mime, "application/zip") && info.parts == 1, "zip info");
    guard_result_free(r);
    r = NULL;

    /* an image: OCR reads it, and the info counts the image it read */
    opt.name = "minutes.png";
    CHECK(guard_file_scan_mem(sc, rs, minutes_png, sizeof minutes_png, &opt, &r, &info, &err) ==
              GUARD_OK,
          "scan_mem png");
    CHECK(!strcmp(info.mime, "image/png") && info.ocr_images == 1, "png info counts OCR");
    guard_result_free(r);
    r = NULL;
    opt.name = "plan.zip";

    /* the same zip through a pipe: spooled, then the worker */
    if (pipe(p) == 0) {
        CHECK(write(p[1], plan_zip, sizeof plan_zip) == (ssize_t)sizeof plan_zip, "pipe write");
        close(p[1]);
        CHECK(guard_file_scan_fd(sc, rs, p[0], &opt, &r, NULL, &err) == GUARD_OK, "scan_fd pipe");
        CHECK(r && find(r, "marking.classified"), "pipe zip finding");
        close(p[0]);
        guard_result_free(r);
        r = NULL;
    }

    pool_checks(sc, rs);

    /* a worker that cannot be started is the caller's error */
    opt.worker_path = "/nonexistent/cordon";
    CHECK(guard_file_scan_mem(sc, rs, plan_zip, sizeof plan_zip, &opt, &r, NULL, &err) == GUARD_EIO,
          "missing worker is an error");
    CHECK(r == NULL, "no result on error");
    opt.worker_path = NULL;

    /* a path that does not exist */
    CHECK(guard_file_scan(sc, rs, "/nonexistent/file.zip", NULL, &r, NULL, &err) == GUARD_EIO,
          "missing file is an error");

    guard_scanner_free(sc);
    guard_ruleset_unref(rs);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
