/* ex_job.c — PLACEHOLDER: framing of a job's output to the parent. */
#include "ex.h"

#include <stdlib.h>

struct ex_job {
    int fd;
    ex_limits lim;
};

void ex_limits_defaults(ex_limits *l)
{
    l->file_bytes = 2ull << 30;
    l->unpacked_bytes = 1ull << 30;
    l->member_bytes = 256ull << 20;
    l->ratio = 200;
    l->entries = 10000;
    l->depth = 8;
    l->pixels = 100000000;
    l->ocr_ms = 30000;
    l->total_ms = 120000;
    l->memory_bytes = 2ull << 30;
    l->ocr = true;
}

ex_job *ex_job_new(int out_fd, const ex_limits *l, const char *root)
{
    ex_job *j = calloc(1, sizeof *j);
    (void)root;
    if (j) {
        j->fd = out_fd;
        j->lim = *l;
    }
    return j;
}

void ex_job_free(ex_job *j)
{
    free(j);
}
int ex_text_begin(ex_job *j, const char *part)
{
    (void)j;
    (void)part;
    return 0;
}
int ex_text(ex_job *j, const char *utf8, size_t len)
{
    (void)j;
    (void)utf8;
    (void)len;
    return 0;
}
int ex_text_end(ex_job *j)
{
    (void)j;
    return 0;
}
int ex_text_part(ex_job *j, const char *part, const char *utf8, size_t len)
{
    (void)j;
    (void)part;
    (void)utf8;
    (void)len;
    return 0;
}
int ex_finding(ex_job *j, const char *part, guard_category cat, guard_severity sev, int confidence,
               const char *rule, const char *explanation, const char *excerpt)
{
    (void)j;
    (void)part;
    (void)cat;
    (void)sev;
    (void)confidence;
    (void)rule;
    (void)explanation;
    (void)excerpt;
    return 0;
}
int ex_uninspectable(ex_job *j, const char *part, const char *reason, const char *explanation,
                     bool whole)
{
    (void)j;
    (void)part;
    (void)reason;
    (void)explanation;
    (void)whole;
    return 0;
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
uint32_t ex_job_ms_left(const ex_job *j)
{
    (void)j;
    return 1000;
}
