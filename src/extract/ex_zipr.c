/*
 * ex_zipr.c — zip members of documents under the job's limits (ex_zipr.h).
 *
 * The sizes in a zip's directory are claims. They are checked up front (a
 * member claiming 1 GB from 1 MB is refused before inflating anything) and
 * enforced again on the bytes actually inflated: a member that yields more
 * than it claimed is corrupt, one that goes past member_bytes or the ratio is
 * stopped there, and every byte counts towards the job's unpacked total.
 */
#include "ex_zipr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

struct exz {
    ex_job *j;
    zip_t *zip;
    uint64_t n;
    bool truncated;
};

struct exz_file {
    exz *z;
    zip_file_t *f;
    uint64_t claimed, comp, got, cap;
    const char *why;
    bool fatal;
};

int exz_open(ex_job *j, const unsigned char *data, size_t len, exz **out, const char **why)
{
    zip_error_t ze;
    zip_source_t *src = NULL;
    exz *z = calloc(1, sizeof *z);
    zip_int64_t n;
    int rc = -1;

    zip_error_init(&ze);
    if (!z)
        goto fail;
    z->j = j;
    src = zip_source_buffer_create(data, len, 0, &ze);
    if (!src)
        goto fail;
    z->zip = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!z->zip) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        src = NULL;
        if (code == ZIP_ER_MEMORY)
            goto fail;
        /* A local header at the start but no readable directory at the end
         * is what a cut-off download looks like. */
        *why = (code == ZIP_ER_NOZIP && len >= 4 && !memcmp(data, "PK\3\4", 4)) ? "truncated"
                                                                                : "corrupt";
        rc = 1;
        goto fail;
    }
    n = zip_get_num_entries(z->zip, 0);
    z->n = n > 0 ? (uint64_t)n : 0;
    if (z->n > ex_job_limits(j)->entries) {
        z->n = ex_job_limits(j)->entries;
        z->truncated = true;
    }
    *out = z;
    zip_error_fini(&ze);
    return 0;
fail:
    zip_error_fini(&ze);
    if (src)
        zip_source_free(src);
    free(z);
    return rc;
}

void exz_close(exz *z)
{
    if (!z)
        return;
    zip_discard(z->zip);
    free(z);
}

uint64_t exz_count(const exz *z)
{
    return z->n;
}

bool exz_truncated(const exz *z)
{
    return z->truncated;
}

const char *exz_name(exz *z, uint64_t i)
{
    const char *s = i < z->n ? zip_get_name(z->zip, i, ZIP_FL_ENC_GUESS) : NULL;
    return s ? s : "";
}

int64_t exz_find(exz *z, const char *name)
{
    zip_int64_t i = zip_name_locate(z->zip, name, ZIP_FL_ENC_GUESS);
    return (i >= 0 && (uint64_t)i < z->n) ? i : -1;
}

int exz_fopen(exz *z, uint64_t i, exz_file **out, const char **why)
{
    const ex_limits *lim = ex_job_limits(z->j);
    zip_stat_t st;
    exz_file *f;

    zip_stat_init(&st);
    if (i >= z->n || zip_stat_index(z->zip, i, 0, &st) < 0) {
        *why = "corrupt";
        return 1;
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
        *why = "encrypted";
        return 1;
    }
    if ((st.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st.comp_method, 0)) {
        *why = "unsupported";
        return 1;
    }
    if ((st.valid & ZIP_STAT_SIZE) && st.size > lim->member_bytes) {
        *why = "limit.member";
        return 1;
    }
    if ((st.valid & ZIP_STAT_SIZE) && (st.valid & ZIP_STAT_COMP_SIZE) &&
        st.size > EXZ_RATIO_GRACE && st.size / (st.comp_size ? st.comp_size : 1) >= lim->ratio) {
        *why = "limit.ratio";
        return 1;
    }
    f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->z = z;
    f->claimed = (st.valid & ZIP_STAT_SIZE) ? st.size : UINT64_MAX;
    f->comp = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
    f->cap = lim->member_bytes;
    f->f = zip_fopen_index(z->zip, i, 0);
    if (!f->f) {
        int code = zip_error_code_zip(zip_get_error(z->zip));
        free(f);
        if (code == ZIP_ER_MEMORY)
            return -1;
        *why = code == ZIP_ER_NOPASSWD || code == ZIP_ER_ENCRNOTSUPP ? "encrypted"
               : code == ZIP_ER_COMPNOTSUPP                          ? "unsupported"
                                                                     : "corrupt";
        return 1;
    }
    *out = f;
    return 0;
}

int exz_fread(exz_file *f, char *buf, int cap)
{
    const ex_limits *lim = ex_job_limits(f->z->j);
    zip_int64_t n;

    if (f->why)
        return -1;
    if (cap <= 0)
        return 0;
    n = zip_fread(f->f, buf, (zip_uint64_t)cap);
    if (n < 0) {
        int code = zip_error_code_zip(zip_file_get_error(f->f));
        f->why = "corrupt"; /* a CRC mismatch or broken deflate data */
        f->fatal = code == ZIP_ER_MEMORY;
        return -1;
    }
    f->got += (uint64_t)n;
    if (f->got > f->claimed) {
        f->why = "corrupt"; /* yields more than its directory entry says */
        return -1;
    }
    if (f->got > f->cap) {
        f->why = "limit.member";
        return -1;
    }
    if (f->got > EXZ_RATIO_GRACE && f->got / (f->comp ? f->comp : 1) >= lim->ratio) {
        f->why = "limit.ratio";
        return -1;
    }
    if (n > 0 && ex_job_account(f->z->j, (uint64_t)n) < 0) {
        f->why = "limit.unpacked";
        f->fatal = true;
        return -1;
    }
    return (int)n;
}

const char *exz_why(const exz_file *f)
{
    return f->why;
}

bool exz_fatal(const exz_file *f)
{
    return f->fatal;
}

void exz_fclose(exz_file *f)
{
    if (!f)
        return;
    zip_fclose(f->f);
    free(f);
}

int exz_slurp(exz *z, uint64_t i, unsigned char **out, size_t *len, const char **why)
{
    exz_file *f = NULL;
    unsigned char *buf = NULL, *nb;
    size_t n = 0, cap = 0;
    int rc, k;

    rc = exz_fopen(z, i, &f, why);
    if (rc)
        return rc;
    rc = -1;
    /* Grow with what arrives, never by the claimed size alone: the claim may
     * be a lie, and the reads are capped by exz_fread anyway. */
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (f->claimed != UINT64_MAX && ncap > f->claimed + 1 && f->claimed + 1 > cap)
                ncap = (size_t)f->claimed + 1;
            if (ncap - n < 4096)
                ncap = n + 65536;
            nb = realloc(buf, ncap);
            if (!nb)
                goto fail;
            buf = nb;
            cap = ncap;
        }
        k = exz_fread(f, (char *)buf + n, (int)((cap - n) > (1u << 30) ? (1u << 30) : cap - n));
        if (k < 0) {
            *why = exz_why(f);
            rc = exz_fatal(f) ? -1 : 1;
            goto fail;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    *out = buf;
    *len = n;
    exz_fclose(f);
    return 0;
fail:
    free(buf);
    exz_fclose(f);
    return rc;
}

const char *exz_explain(const char *why)
{
    if (!why)
        return "could not be read";
    if (!strcmp(why, "encrypted"))
        return "encrypted zip member";
    if (!strcmp(why, "limit.ratio"))
        return "zip member's compression ratio is over the limit (zip bomb?)";
    if (!strcmp(why, "limit.member"))
        return "zip member is larger than the per-member limit";
    if (!strcmp(why, "limit.unpacked"))
        return "total unpacked bytes of this file are over the limit";
    if (!strcmp(why, "unsupported"))
        return "zip member uses an unsupported compression method";
    if (!strcmp(why, "truncated"))
        return "zip is truncated (no central directory)";
    return "zip member is corrupt (bad data or CRC)";
}

static int zread(void *ctx, char *buf, int cap)
{
    return exz_fread(ctx, buf, cap);
}

int exz_xml(ex_job *j, exz *z, uint64_t i, exx_out *out, const char *part, exz_walk_fn walk,
            void *ctx)
{
    const char *name = exz_name(z, i), *why = NULL;
    exz_file *f = NULL;
    xmlTextReaderPtr r = NULL;
    exx_in in;
    int rc = -1, w;

    switch (exz_fopen(z, i, &f, &why)) {
    case 0:
        break;
    case 1:
        return ex_uninspectable(j, name, why, exz_explain(why), false);
    default:
        return -1;
    }
    exx_in_fn(&in, zread, f, true);
    r = exx_reader(&in, name);
    if (!r)
        goto fail;
    if (part && exx_begin(out, j, part) < 0)
        goto fail;
    w = walk(ctx, r);
    if (part && exx_end(out) < 0)
        goto fail;
    if (w < 0)
        goto fail;
    if (in.saw_dtd) {
        if (ex_uninspectable(j, name, "corrupt",
                             "XML part declares a DTD, which office formats never carry "
                             "(entity-expansion attack?); not read",
                             false) < 0)
            goto fail;
    } else if (in.read_err) {
        why = exz_why(f);
        if (ex_uninspectable(j, name, why, exz_explain(why), false) < 0 || exz_fatal(f))
            goto fail;
    } else if (w > 0) {
        if (ex_uninspectable(j, name, "corrupt", "malformed XML; read up to the error", false) < 0)
            goto fail;
    }
    rc = 0;
fail:
    if (r)
        xmlFreeTextReader(r);
    exz_fclose(f);
    return rc;
}

int exz_recurse(ex_job *j, exz *z, uint64_t i)
{
    const char *name = exz_name(z, i), *why = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = exz_slurp(z, i, &data, &len, &why);

    if (rc != 0) {
        if (why && ex_uninspectable(j, name, why, exz_explain(why), false) < 0)
            return -1;
        return rc < 0 ? -1 : 0;
    }
    rc = len ? ex_recurse(j, name, data, len) : 0;
    free(data);
    return rc;
}

int exz_open_doc(ex_job *j, const unsigned char *data, size_t len, const char *kind, exz **out)
{
    const char *why = NULL;
    char msg[128];

    *out = NULL;
    switch (exz_open(j, data, len, out, &why)) {
    case 0:
        break;
    case 1:
        snprintf(msg, sizeof msg,
                 !strcmp(why, "truncated") ? "%s is truncated (zip without its directory)"
                                           : "%s is not a readable zip",
                 kind);
        return ex_uninspectable(j, NULL, why, msg, true) < 0 ? -1 : 1;
    default:
        return -1;
    }
    if (exz_truncated(*out) &&
        ex_uninspectable(j, NULL, "limit.entries",
                         "more parts than the entries limit; the rest were not read", false) < 0) {
        exz_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int exz_each(ex_job *j, exz *z, int (*member)(void *ctx, uint64_t i), void *ctx)
{
    for (uint64_t i = 0; i < exz_count(z); i++) {
        if (ex_job_ms_left(j) == 0) {
            ex_uninspectable(j, NULL, "limit.time", "time limit reached inside the document",
                             false);
            return -1;
        }
        if (member(ctx, i) < 0)
            return -1;
    }
    return 0;
}
