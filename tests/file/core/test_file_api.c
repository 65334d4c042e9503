/*
 * test_file_api.c — the file guard's C API where `cordon scan` does not
 * reach it: guard_file_scan_mem (plain text in process, a zip through the
 * worker), guard_file_scan_fd on a pipe, guard_file_scan on a path, and a
 * worker that cannot be started (an error of the caller's, not a finding).
 *
 * This program is its own worker host, as guard_file.h requires: main()
 * calls guard_file_worker_dispatch() first.
 */
#include "cordon/guard_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s (line %d)\n", what, __LINE__);                                \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

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

static const char plain[] = "会议\n机密★1年\n";

static const guard_finding *find(const guard_result *r, const char *rule)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (!strcmp(r->findings[i].rule, rule))
            return &r->findings[i];
    return NULL;
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
