/*
 * ex.h — the contract between the extraction worker and its extractors.
 *
 * Runs inside the worker process only (see cordon/guard_file.h). An extractor
 * gets a file's bytes and a job; it reports what it finds through the ex_emit_*
 * calls, which frame it onto the pipe to the parent; it hands nested files
 * (archive members, e-mail attachments, embedded images) back to the
 * dispatcher with ex_recurse(), which detects their type by content and
 * calls the right extractor with a deeper location.
 *
 * Locations: the job keeps a stack of names; ex_recurse() pushes the member
 * name, and ex_text_begin()'s `part` is appended for the text segment, so an
 * extractor only ever names its own parts ("word/document.xml", "page 3",
 * "sheet Budget", "ocr"). Separator between a container and its member: "!".
 *
 * Errors: extractors return 0 on success (even when they reported the file as
 * uninspectable through ex_uninspectable()) and -1 only when the job must end
 * (the parent went away, a global limit such as total time or total bytes was
 * hit). An extractor must never read beyond `len`, must bound every
 * allocation by the job's limits, and must treat every byte as hostile.
 */
#ifndef EX_H
#define EX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cordon/guard.h"

/* The policy's `settings: limits:` (guard_limits in cordon/guard.h): one
 * struct, so the worker gets exactly what the policy says. */
typedef guard_limits ex_limits;

void ex_limits_defaults(ex_limits *l);

typedef struct ex_job ex_job;

/* A job writes its frames to `out_fd` (the pipe to the parent; /dev/null in a
 * fuzz target). `root` names the outer file. */
ex_job *ex_job_new(int out_fd, const ex_limits *l, const char *root);
void ex_job_free(ex_job *j);

/* ---- reporting (ex_job.c) ------------------------------------------------ */

/* A text segment: begin, any number of UTF-8 chunks, end. Chunks need not be
 * valid UTF-8 (the text guard replaces and counts what is not); segments do
 * not nest. */
int ex_text_begin(ex_job *j, const char *part);
int ex_text(ex_job *j, const char *utf8, size_t len);
int ex_text_end(ex_job *j);
/* Convenience: one whole segment. */
int ex_text_part(ex_job *j, const char *part, const char *utf8, size_t len);

/* A finding that is not in text: metadata (category GUARD_CAT_METADATA), an
 * image cue (GUARD_CAT_IMAGE). `part` is appended to the location (may be
 * NULL). start/end of `f` are ignored. */
int ex_finding(ex_job *j, const char *part, guard_category cat, guard_severity sev, int confidence,
               const char *rule, const char *explanation, const char *excerpt);

/* Content that could not be inspected: rule is "uninspectable.<reason>"
 * (encrypted, limit.depth, limit.ratio, corrupt, truncated, unsupported, ...).
 * `whole` says nothing of this file could be read (status unscannable) as
 * opposed to a part of it (status partial). */
int ex_uninspectable(ex_job *j, const char *part, const char *reason, const char *explanation,
                     bool whole);

/* ---- dispatch (ex_dispatch.c) -------------------------------------------- */

/* Inspects a nested file: pushes `name` onto the location, detects the type by
 * content, checks depth, member_bytes and the job's time, counts `len`
 * against the job's unpacked_bytes, checks the name against the type
 * (file.type_mismatch), calls the extractor, pops. Returns -1 only when the
 * job must end (unpacked_bytes or total time used up, parent gone). */
int ex_recurse(ex_job *j, const char *name, const unsigned char *data, size_t len);
/* The same for an image already decoded (a rendered PDF page, an embedded
 * picture); `pix` is a Leptonica PIX*, borrowed. */
int ex_recurse_pix(ex_job *j, const char *name, void *pix);

const ex_limits *ex_job_limits(const ex_job *j);
uint32_t ex_job_depth(const ex_job *j);
/* Accounts `n` unpacked bytes; -1 when the job's total is exceeded (the
 * caller reports uninspectable and stops unpacking). Count only bytes you
 * unpack and do NOT hand to ex_recurse() (which counts its input itself),
 * e.g. the XML parts of a docx; cap a buffer you unpack a member into at
 * the limits (member_bytes and ex_job_unpacked_left()). */
int ex_job_account(ex_job *j, uint64_t n);
/* Unpacked bytes still allowed before the job's unpacked_bytes is reached. */
uint64_t ex_job_unpacked_left(const ex_job *j);
/* Milliseconds left of the job's total time (0 when it is up). */
uint32_t ex_job_ms_left(const ex_job *j);
/* Counts an image whose text OCR read (guard_file_info.ocr_images). */
void ex_job_count_ocr(ex_job *j);

/* ---- extractors ----------------------------------------------------------
 * One per format family, each in its own file. All have this signature;
 * `mime` is libmagic's type of the data. */
typedef int (*ex_extract_fn)(ex_job *j, const unsigned char *data, size_t len, const char *mime);

int ex_text_file(ex_job *j, const unsigned char *data, size_t len,
                 const char *mime); /* ex_text.c: encodings */
int ex_archive(ex_job *j, const unsigned char *data, size_t len,
               const char *mime); /* ex_archive.c: zip 7z tar rar gz bz2 xz zst */
int ex_ooxml(ex_job *j, const unsigned char *data, size_t len,
             const char *mime); /* ex_ooxml.c: docx xlsx pptx */
int ex_odf(ex_job *j, const unsigned char *data, size_t len,
           const char *mime); /* ex_odf.c: odt ods odp */
int ex_pdf(ex_job *j, const unsigned char *data, size_t len, const char *mime); /* ex_pdf.c */
int ex_rtf(ex_job *j, const unsigned char *data, size_t len, const char *mime); /* ex_rtf.c */
int ex_html(ex_job *j, const unsigned char *data, size_t len,
            const char *mime); /* ex_html.c (also XML) */
int ex_eml(ex_job *j, const unsigned char *data, size_t len, const char *mime); /* ex_eml.c */
int ex_ole(ex_job *j, const unsigned char *data, size_t len,
           const char *mime); /* ex_ole.c: doc xls ppt wps */
int ex_image(ex_job *j, const unsigned char *data, size_t len,
             const char *mime); /* ex_image.c: OCR, metadata, QR, masthead */
/* An already decoded image (ex_recurse_pix). */
int ex_image_pix(ex_job *j, void *pix);

/* Metadata removal (ex_strip.c): writes `data` without metadata to fd `out`.
 * Returns 0, or -1 with a reason in `why` (unsupported format, corrupt). */
int ex_strip(const unsigned char *data, size_t len, const char *mime, int out, char *why,
             size_t why_cap);

/* A PDF's first page (ex_pdf.c) rendered at most max_px on its longer side,
 * written to fd `out` as a PNG. Returns 0, or -1 with a reason in `why`. */
int ex_pdf_thumb(const unsigned char *data, size_t len, int max_px, int out, char *why,
                 size_t why_cap);

#endif
