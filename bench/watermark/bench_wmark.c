/*
 * bench_wmark.c — the per-viewer watermark's cost on one picture, next to a
 * plain decode + encode of the same picture in the same process (the work
 * the server would do anyway to send a re-encoded copy). Driven by
 * bench/watermark/run.py, which adds an outside reference (Pillow) and
 * prints the ratios (docs/BENCH.md, "Watermark").
 *
 * usage: bench_wmark IMAGE RUNS
 * prints: embed / worker / reencode p50_ms p90_ms, peak_rss_kb
 *
 *   embed     wm_embed for one viewer (a new delivery id each run): decode,
 *             the texture mask, the keyed pattern, JPEG quality 92, in
 *             this process
 *   worker    the same mark made as the server makes it: in the sandboxed
 *             extraction worker (guard_file_watermark_embed with a pool of
 *             one waiting worker, as srv_wmark.c has: the picture handed
 *             over in a memfd, the copy read back, the next worker
 *             started) — what a viewer's first download costs the server
 *   reencode  Leptonica pixReadMem + pixWriteMemJpeg quality 92: the same
 *             libraries, the same size, no mark
 * Runs alternate (embed, worker, reencode, embed, ...) so that a busy moment of the
 * shared machine falls on both alike.
 */
#include "bench_util.h"
#include "cordon/guard_file.h"
#include "watermark/wm.h"

#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *d = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
        !(d = malloc((size_t)n)) || fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    } else
        *len = (size_t)n;
    fclose(f);
    return d;
}

int main(int argc, char **argv)
{
    wm_key key;
    size_t len = 0, out_len = 0;
    unsigned char *img, *out = NULL;
    uint64_t *emb, *wrk, *ree;
    guard_file_pool *pool = NULL;
    char why[256];
    int runs, rc = guard_file_worker_dispatch(argc, argv); /* a worker host */

    if (rc >= 0)
        return rc;
    rc = 1;

    if (argc != 3 || (runs = atoi(argv[2])) < 1) {
        fprintf(stderr, "usage: bench_wmark IMAGE RUNS\n");
        return 2;
    }
    img = slurp(argv[1], &len);
    emb = calloc((size_t)runs, sizeof *emb);
    wrk = calloc((size_t)runs, sizeof *wrk);
    ree = calloc((size_t)runs, sizeof *ree);
    if (!img || !emb || !wrk || !ree) {
        fprintf(stderr, "bench_wmark: cannot read %s\n", argv[1]);
        goto out;
    }
    setMsgSeverity(L_SEVERITY_NONE);
    memset(&key, 0x5a, sizeof key);
    if (guard_file_pool_new_plain(NULL, &pool, NULL))
        pool = NULL;
    for (int i = 0; i < runs; i++) {
        uint64_t t0 = bench_now_ns();
        PIX *p;
        l_uint8 *j = NULL;
        size_t jn = 0;
        int8_t chips[WM_CELLS];
        guard_error err = {0};

        if (wm_embed(img, len, (uint64_t)1 << 30, &key, (uint64_t)i + 1, WM_OUT_JPEG, 92, &out,
                     &out_len, NULL, why, sizeof why)) {
            fprintf(stderr, "bench_wmark: embed: %s\n", why);
            goto out;
        }
        emb[i] = bench_now_ns() - t0;
        free(out);
        out = NULL;
        t0 = bench_now_ns();
        wm_chips(&key, (uint64_t)i + 1, chips);
        if (guard_file_watermark_embed(img, len, chips, false, 92, &out, &out_len, NULL, pool,
                                       &err)) {
            fprintf(stderr, "bench_wmark: worker: %s\n", err.message);
            goto out;
        }
        wrk[i] = bench_now_ns() - t0;
        free(out);
        out = NULL;
        t0 = bench_now_ns();
        p = pixReadMem(img, len);
        if (!p || pixWriteMemJpeg(&j, &jn, p, 92, 0)) {
            fprintf(stderr, "bench_wmark: re-encode failed\n");
            pixDestroy(&p);
            goto out;
        }
        ree[i] = bench_now_ns() - t0;
        pixDestroy(&p);
        lept_free(j);
    }
    bench_sort_u64(emb, (size_t)runs);
    bench_sort_u64(wrk, (size_t)runs);
    bench_sort_u64(ree, (size_t)runs);
    printf("embed %.1f %.1f\n", bench_quantile_sorted(emb, (size_t)runs, 0.5) / 1e6,
           bench_quantile_sorted(emb, (size_t)runs, 0.9) / 1e6);
    printf("worker %.1f %.1f\n", bench_quantile_sorted(wrk, (size_t)runs, 0.5) / 1e6,
           bench_quantile_sorted(wrk, (size_t)runs, 0.9) / 1e6);
    printf("reencode %.1f %.1f\n", bench_quantile_sorted(ree, (size_t)runs, 0.5) / 1e6,
           bench_quantile_sorted(ree, (size_t)runs, 0.9) / 1e6);
    printf("peak_rss_kb %ld\n", bench_status_kb("VmHWM"));
    rc = 0;
out:
    free(img);
    free(out);
    guard_file_pool_free(pool);
    free(emb);
    free(wrk);
    free(ree);
    return rc;
}
