/*
 * ex_core.h — what the core of the file layer (worker, job, dispatch, parent
 * side) shares beyond ex.h. Extractors do not need it.
 */
#ifndef EX_CORE_H
#define EX_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ex.h"

#define EX_MIME_CAP 128 /* a MIME type with its NUL */

/* ---- job internals (ex_job.c) -------------------------------------------- */

/* Pushes `name` (a member, an attachment) onto the job's location. Returns 0,
 * or -1 when the location would pass EXP_LOC_MAX (the name is then cut). */
int ex_job_push(ex_job *j, const char *name);
void ex_job_pop(ex_job *j);
/* Writes an M frame (the outer file's type). */
int ex_job_mime(ex_job *j, const char *mime);
/* Writes an X frame (strip mode: why no copy was written). */
int ex_job_fail(ex_job *j, const char *why);
/* Writes the S and Z frames and flushes. */
int ex_job_done(ex_job *j);
/* True once a frame could not be written (the parent went away). */
bool ex_job_broken(const ex_job *j);

/* ---- dispatch (ex_dispatch.c) ---------------------------------------------- */

/* Loads libmagic's database once per process (the worker calls it before
 * seccomp; otherwise the first detection does). Returns 0 or -1. */
int ex_magic_preload(void);
/* libmagic's MIME type of data into mime[cap]; "application/octet-stream"
 * when libmagic cannot tell. */
void ex_detect(const unsigned char *data, size_t len, char *mime, size_t cap);
/* Inspects the outer file: detects its type, reports it (M frame), checks the
 * name against the type, runs the extractor. `name` may be NULL. */
int ex_dispatch_root(ex_job *j, const char *name, const unsigned char *data, size_t len);

/* ---- types (ex_core_type.c) ------------------------------------------------ */

/* When `name`'s extension names a type that `mime` (by content) is not,
 * writes the extension into ext[cap] and returns true. Unknown extensions
 * never mismatch. */
bool ex_type_mismatch(const char *name, const char *mime, char *ext, size_t cap);
/* The extractor for a MIME type, or NULL (unsupported). Zip files need a look
 * inside (ex_zip_kind). */
ex_extract_fn ex_type_extractor(const char *mime);

/* True when libmagic's type `mime` is a program: a Windows PE, an ELF or
 * Mach-O binary, an MSI package (finding file.executable). */
bool ex_type_executable(const char *mime);
/* Tells OOXML (a [Content_Types].xml member), ODF (a `mimetype` member
 * naming an OpenDocument type) and plain zip apart from the central
 * directory, without unpacking. Returns ex_ooxml, ex_odf or ex_archive. */
ex_extract_fn ex_zip_kind(const unsigned char *data, size_t len);

/* The offset of a zip appended to another file (a JPEG or a text with a zip
 * behind it: a zip's records are found from its end), or 0 when there is
 * none or the zip starts at 0. */
size_t ex_zip_appended(const unsigned char *data, size_t len);

/* ---- text sniffing (ex_text.c) ----------------------------------------------- */

/* True when p[0..n) (the head of a file, or all of it when `whole`) is UTF-8
 * text that needs no extractor: no NUL, valid UTF-8 (a sequence cut at the
 * end of a head is fine), and no sign of markup (HTML/XML, RTF, PDF, e-mail
 * headers). Cheap: run in the caller's process on every file. */
bool ex_text_is_plain(const unsigned char *p, size_t n, bool whole);
/* True when data that libmagic calls binary is text after all: UTF-16 without
 * a BOM (NULs in every other position). */
bool ex_text_is_utf16(const unsigned char *p, size_t n);

/* ---- files pasted into a message as text (ex_embed.c) ------------------- */

#define EX_EMBED_MIN_CHARS 32 /* a bare base64 run shorter than this is an id */

typedef struct ex_embed_run ex_embed_run;
struct ex_embed_run {
    size_t at;        /* where the run (or its data: URL) starts in the text */
    const char *type; /* a data: URL's declared type ("" when none); NULL: a bare run */
    /* The decoded bytes; NULL when a data: URL did not decode cleanly or
     * (over_limit) decoding it would pass the caller's byte budget. */
    const unsigned char *data;
    size_t len;
    bool over_limit;
};
/* Returns 0 to go on, anything else to stop (ex_embed_each returns it). */
typedef int (*ex_embed_fn)(void *arg, const ex_embed_run *r);

/* Calls fn, in text order, for every base64 data: URL and every bare base64
 * run of at least EX_EMBED_MIN_CHARS characters (not all hex digits) that
 * decodes cleanly, with the decoded bytes, at most max_bytes of them in all.
 * Returns 0, fn's non-zero value, or -1 when out of memory. */
int ex_embed_each(const char *text, size_t len, size_t max_bytes, ex_embed_fn fn, void *arg);

/* Fills f as the finding for something that could not be inspected: rule
 * "uninspectable.<reason>" written into rule[0..cap), medium severity, full
 * confidence, the explanation `why` at `location` (file guard, parent side). */
void ex_uninspectable_finding(guard_finding *f, char *rule, size_t cap, const char *reason,
                              const char *why, const char *location);

#endif
