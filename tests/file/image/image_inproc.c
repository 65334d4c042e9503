/*
 * image_inproc.c — runs the image extractor (or ex_strip) in this process,
 * with a job of its own that prints what the extractor reports, one JSON-ish
 * line per event, instead of framing it to a parent. For developing and
 * debugging the image pipeline without the worker (and for timing it):
 *
 *   image_inproc [--no-ocr] [--pixels N] FILE...
 *   image_inproc --strip IN OUT
 *
 * Only the job side of ex.h is implemented here; everything else is the
 * extractor's real code.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ex.h"

struct ex_job {
    ex_limits lim;
    const char *root;
    char part[256];
    char *seg;
    size_t seg_len;
    struct timespec t0;
};

void ex_limits_defaults(ex_limits *l)
{
    memset(l, 0, sizeof *l);
    l->file_bytes = 2ull << 30;
    l->unpacked_bytes = 1ull << 30;
    l->member_bytes = 256ull << 20;
    l->ratio = 200;
    l->entries = 10000;
    l->depth = 8;
    l->pixels = 100000000;
    l->ocr_ms = 30000;
    l->total_ms = 120000;
    l->ocr = true;
}

ex_job *ex_job_new(int out_fd, const ex_limits *l, const char *root)
{
    ex_job *j = calloc(1, sizeof *j);
    (void)out_fd;
    if (j) {
        j->lim = *l;
        j->root = root;
        clock_gettime(CLOCK_MONOTONIC, &j->t0);
    }
    return j;
}

void ex_job_free(ex_job *j)
{
    if (j)
        free(j->seg);
    free(j);
}

static void quoted(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static const char *loc(ex_job *j, const char *part, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", j->root, part ? "!" : "", part ? part : "");
    return buf;
}

int ex_text_begin(ex_job *j, const char *part)
{
    snprintf(j->part, sizeof j->part, "%s", part ? part : "");
    j->seg_len = 0;
    return 0;
}

int ex_text(ex_job *j, const char *utf8, size_t len)
{
    char *q = realloc(j->seg, j->seg_len + len + 1);
    if (!q)
        return -1;
    j->seg = q;
    memcpy(q + j->seg_len, utf8, len);
    j->seg_len += len;
    return 0;
}

int ex_text_end(ex_job *j)
{
    char b[512];
    printf("{\"type\":\"text\",\"location\":\"%s\",\"text\":", loc(j, j->part, b, sizeof b));
    quoted(j->seg ? j->seg : "", j->seg_len);
    puts("}");
    return 0;
}

int ex_text_part(ex_job *j, const char *part, const char *utf8, size_t len)
{
    if (ex_text_begin(j, part) || ex_text(j, utf8, len))
        return -1;
    return ex_text_end(j);
}

int ex_finding(ex_job *j, const char *part, guard_category cat, guard_severity sev, int confidence,
               const char *rule, const char *explanation, const char *excerpt)
{
    char b[512];
    printf("{\"type\":\"finding\",\"location\":\"%s\",\"category\":%d,\"severity\":%d,"
           "\"confidence\":%d,\"rule\":\"%s\",\"explanation\":",
           loc(j, part, b, sizeof b), (int)cat, (int)sev, confidence, rule);
    quoted(explanation, strlen(explanation));
    fputs(",\"excerpt\":", stdout);
    quoted(excerpt ? excerpt : "", excerpt ? strlen(excerpt) : 0);
    puts("}");
    return 0;
}

int ex_uninspectable(ex_job *j, const char *part, const char *reason, const char *explanation,
                     bool whole)
{
    char b[512];
    printf("{\"type\":\"uninspectable\",\"location\":\"%s\",\"rule\":\"uninspectable.%s\","
           "\"whole\":%s,\"explanation\":",
           loc(j, part, b, sizeof b), reason, whole ? "true" : "false");
    quoted(explanation, strlen(explanation));
    puts("}");
    return 0;
}

int ex_recurse(ex_job *j, const char *name, const unsigned char *data, size_t len)
{
    (void)name;
    (void)data;
    (void)len;
    return ex_uninspectable(j, name, "unsupported", "no nesting in this driver", false);
}

int ex_recurse_pix(ex_job *j, const char *name, void *pix)
{
    (void)name;
    return ex_image_pix(j, pix);
}

const ex_limits *ex_job_limits(const ex_job *j)
{
    return &j->lim;
}

uint32_t ex_job_depth(const ex_job *j)
{
    (void)j;
    return 0;
}

int ex_job_account(ex_job *j, uint64_t n)
{
    (void)j;
    (void)n;
    return 0;
}

void ex_job_count_ocr(ex_job *j)
{
    (void)j;
}

uint32_t ex_job_ms_left(const ex_job *j)
{
    struct timespec t;
    uint64_t ms;
    clock_gettime(CLOCK_MONOTONIC, &t);
    ms = (uint64_t)(t.tv_sec - j->t0.tv_sec) * 1000u +
         (uint64_t)((t.tv_nsec - j->t0.tv_nsec) / 1000000);
    return ms >= j->lim.total_ms ? 0 : j->lim.total_ms - (uint32_t)ms;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *d = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        d = malloc((size_t)n + 1);
        if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
            free(d);
            d = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return d;
}

int main(int argc, char **argv)
{
    ex_limits lim;
    int i = 1, rc = 0;

    ex_limits_defaults(&lim);
    if (argc == 4 && !strcmp(argv[1], "--strip")) {
        size_t n = 0;
        unsigned char *d = slurp(argv[2], &n);
        char why[256] = "";
        int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (!d || fd < 0 || ex_strip(d, n, "", fd, why, sizeof why) != 0) {
            fprintf(stderr, "strip: %s\n", why[0] ? why : "cannot read or write");
            rc = 1;
        }
        if (fd >= 0)
            close(fd);
        free(d);
        return rc;
    }
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--no-ocr"))
            lim.ocr = false;
        else if (!strcmp(argv[i], "--pixels") && i + 1 < argc)
            lim.pixels = strtoull(argv[++i], NULL, 10);
    }
    for (; i < argc; i++) {
        size_t n = 0;
        unsigned char *d = slurp(argv[i], &n);
        ex_job *j;
        if (!d) {
            perror(argv[i]);
            rc = 1;
            continue;
        }
        j = ex_job_new(1, &lim, argv[i]);
        if (!j || ex_image(j, d, n, "image/x") < 0)
            rc = 1;
        ex_job_free(j);
        free(d);
    }
    return rc;
}
