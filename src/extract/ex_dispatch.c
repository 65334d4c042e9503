/*
 * ex_dispatch.c — type detection and dispatch inside the worker.
 *
 * Every file, the outer one and every nested one, comes through here: its
 * type is detected by content (libmagic, MAGIC_MIME_TYPE), checked against
 * its name, and the extractor for the type is called (table in
 * ex_core_type.c). Nesting goes through ex_recurse(), which owns the depth,
 * member-size, total-bytes and time checks, so no extractor can forget them.
 *
 * Byte accounting: ex_recurse() counts every nested file it is handed against
 * the job's unpacked_bytes. An extractor counts (ex_job_account) only what it
 * unpacks and does NOT hand to ex_recurse (the XML parts of a docx, say).
 */
#include "ex_core.h"

#include <magic.h>
#include <stdio.h>
#include <string.h>

/* libmagic reads at most this much of a file: enough for every test in its
 * database that matters here, and detection stays cheap on big members. */
#define DETECT_MAX ((size_t)256 * 1024)
/* Plain UTF-8 text is told by the same cheap sniff as the caller's fast
 * path, on this much of its head: libmagic's text tests (regular
 * expressions over the buffer) cost more than scanning the text itself. */
#define SNIFF_MAX ((size_t)64 * 1024)

/* The one libmagic handle of the process. Process-wide because loading the
 * database costs milliseconds and must happen before the sandbox closes;
 * it is immutable once loaded and the worker (like a fuzz target) is
 * single-threaded. */
static magic_t ex_magic;
static int ex_magic_state; /* 0 not tried, 1 loaded, -1 failed */

int ex_magic_preload(void)
{
    if (ex_magic_state)
        return ex_magic_state > 0 ? 0 : -1;
    ex_magic_state = -1;
    ex_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
    if (!ex_magic)
        return -1;
    if (magic_load(ex_magic, NULL)) {
        magic_close(ex_magic);
        ex_magic = NULL;
        return -1;
    }
    ex_magic_state = 1;
    return 0;
}

void ex_detect(const unsigned char *data, size_t len, char *mime, size_t cap)
{
    const char *m = NULL;

    if (!len) {
        snprintf(mime, cap, "application/x-empty");
        return;
    }
    if (ex_text_is_plain(data, len < SNIFF_MAX ? len : SNIFF_MAX, len <= SNIFF_MAX)) {
        snprintf(mime, cap, "text/plain");
        return;
    }
    if (ex_magic_preload() == 0)
        m = magic_buffer(ex_magic, data, len < DETECT_MAX ? len : DETECT_MAX);
    snprintf(mime, cap, "%s", m && *m ? m : "application/octet-stream");
    /* UTF-16 without a BOM has NULs everywhere: libmagic calls it binary */
    if (!strcmp(mime, "application/octet-stream") && ex_text_is_utf16(data, len))
        snprintf(mime, cap, "text/plain");
}

/* A zip appended to a file of another type (a JPEG or a text with an
 * archive behind it, the classic way to hide one) is inspected as a member
 * named "(appended zip)". */
static int appended(ex_job *j, const unsigned char *data, size_t len)
{
    size_t at = ex_zip_appended(data, len);
    if (ex_finding(j, NULL, GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 90, "file.appended_archive",
                   "a zip archive is appended to this file", "application/zip"))
        return -1;
    return ex_recurse(j, "(appended zip)", data + at, len - at);
}

/* Detects, checks the name, runs the extractor. `root` says the M frame is
 * due. */
static int dispatch(ex_job *j, const char *name, const unsigned char *data, size_t len, bool root)
{
    char mime[EX_MIME_CAP], ext[16], why[256];
    ex_extract_fn fn;

    ex_detect(data, len, mime, sizeof mime);
    if (root && ex_job_mime(j, mime))
        return -1;
    if (!len)
        return 0; /* empty: nothing to hide in */
    fn = ex_type_extractor(mime);
    if (fn == ex_archive && !strcmp(mime, "application/zip"))
        fn = ex_zip_kind(data, len);
    if (ex_type_mismatch(name, mime, ext, sizeof ext)) {
        snprintf(why, sizeof why, "the name says %s but the content is %s", ext, mime);
        if (ex_finding(j, NULL, GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 90, "file.type_mismatch", why,
                       mime))
            return -1;
    }
    if (ex_type_executable(mime) &&
        ex_finding(j, NULL, GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 95, "file.executable",
                   "the file is an executable program", mime))
        return -1;
    if (!fn) {
        /* nothing reads the head, but a zip behind it is still read */
        if (ex_zip_appended(data, len))
            return appended(j, data, len);
        snprintf(why, sizeof why, "no extractor reads %s", mime);
        return ex_uninspectable(j, NULL, "unsupported", why, true);
    }
    if (fn(j, data, len, mime))
        return -1;
    if (fn != ex_archive && fn != ex_ooxml && fn != ex_odf && ex_zip_appended(data, len))
        return appended(j, data, len);
    return 0;
}

int ex_dispatch_root(ex_job *j, const char *name, const unsigned char *data, size_t len)
{
    return dispatch(j, name, data, len, true);
}

/* The checks every nested file passes before its extractor runs. Returns 1
 * to go on, 0 when reported and skipped, -1 when the job must end. */
static int admit(ex_job *j, uint64_t len)
{
    const ex_limits *l = ex_job_limits(j);
    char why[160];

    if (ex_job_depth(j) > l->depth) {
        snprintf(why, sizeof why, "nested deeper than %u levels", (unsigned)l->depth);
        return ex_uninspectable(j, NULL, "limit.depth", why, true) ? -1 : 0;
    }
    if (!ex_job_ms_left(j)) {
        ex_uninspectable(j, NULL, "limit.total_ms", "the time for this file ran out", true);
        return -1;
    }
    if (len > l->member_bytes) {
        snprintf(why, sizeof why, "member of %llu bytes (limit %llu)", (unsigned long long)len,
                 (unsigned long long)l->member_bytes);
        return ex_uninspectable(j, NULL, "limit.member_bytes", why, true) ? -1 : 0;
    }
    if (ex_job_account(j, len)) {
        snprintf(why, sizeof why, "more than %llu bytes unpacked from this file",
                 (unsigned long long)l->unpacked_bytes);
        ex_uninspectable(j, NULL, "limit.unpacked_bytes", why, true);
        return -1;
    }
    return 1;
}

int ex_recurse(ex_job *j, const char *name, const unsigned char *data, size_t len)
{
    int rc;

    ex_job_push(j, name);
    rc = admit(j, len);
    if (rc > 0)
        rc = dispatch(j, name, data, len, false);
    ex_job_pop(j);
    return rc < 0 || ex_job_broken(j) ? -1 : 0;
}

int ex_recurse_pix(ex_job *j, const char *name, void *pix)
{
    int rc;

    ex_job_push(j, name);
    rc = admit(j, 0);
    if (rc > 0)
        rc = ex_image_pix(j, pix);
    ex_job_pop(j);
    return rc < 0 || ex_job_broken(j) ? -1 : 0;
}
