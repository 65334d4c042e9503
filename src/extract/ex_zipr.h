/*
 * ex_zipr.h — reading the members of a zip-based document (OOXML, ODF) with
 * libzip, under the job's limits.
 *
 * A member is read as a stream (for the XML reader) or whole (for
 * ex_recurse). Both enforce, while inflating and not only from the sizes the
 * zip claims:
 *   - member_bytes: no member yields more than this;
 *   - ratio: unpacked / compressed beyond the first EXZ_RATIO_GRACE bytes
 *     (tiny members of repeated text legitimately compress far better);
 *   - unpacked_bytes: every inflated byte is accounted with ex_job_account.
 * A member that breaks a limit, is encrypted or fails its CRC is reported by
 * the caller with the reason exz_why() gives.
 */
#ifndef EX_ZIPR_H
#define EX_ZIPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ex.h"
#include "ex_xml.h"

/* Bytes of a member read before its compression ratio is enforced. */
#define EXZ_RATIO_GRACE (1u << 20)

typedef struct exz exz;
typedef struct exz_file exz_file;

/* Opens the zip in `data` (borrowed; must outlive the exz). Returns 0 with
 * *out set, or 1 when it is not a readable zip (*why says why: "corrupt",
 * "truncated"), or -1 when out of memory. */
int exz_open(ex_job *j, const unsigned char *data, size_t len, exz **out, const char **why);
void exz_close(exz *z);

/* Members in the central directory, capped at the job's `entries` limit
 * (exz_truncated() says whether the cap was hit). */
uint64_t exz_count(const exz *z);
bool exz_truncated(const exz *z);
/* A member's name (never NULL; "" when unreadable). Valid until exz_close. */
const char *exz_name(exz *z, uint64_t i);
/* The index of a member by exact name, or -1. */
int64_t exz_find(exz *z, const char *name);

/* Opens member i as a stream. 0 with *out set; 1 when it cannot be read
 * (reason in *why: "encrypted", "limit.ratio", "limit.member",
 * "unsupported", "corrupt"); -1 out of memory. */
int exz_fopen(exz *z, uint64_t i, exz_file **out, const char **why);
/* Reads up to `cap` bytes: the count, 0 at the end, -1 on a limit or an
 * error (exz_why() then says which; exz_fatal() whether the job must end). */
int exz_fread(exz_file *f, char *buf, int cap);
const char *exz_why(const exz_file *f);
bool exz_fatal(const exz_file *f);
void exz_fclose(exz_file *f);

/* Reads member i whole into a malloc'd buffer. 0 with *out and *len set (free
 * it); 1 when it cannot be read (*why as for exz_fopen/exz_fread); -1 when
 * the job must end or memory ran out. */
int exz_slurp(exz *z, uint64_t i, unsigned char **out, size_t *len, const char **why);

/* Streams member i through the XML reader (ex_xml.h, DTDs refused) into a
 * segment named `part` of `out` (NULL part: no segment; the walker only
 * collects). `walk` returns 0 at the end, 1 on a parse error, -1 when the
 * job must end. What stops the part early (limit, CRC, DTD, malformed XML)
 * is reported as uninspectable, partial, keeping what was read. 0, or -1
 * when the job must end. */
typedef int (*exz_walk_fn)(void *ctx, xmlTextReaderPtr r);
int exz_xml(ex_job *j, exz *z, uint64_t i, exx_out *out, const char *part, exz_walk_fn walk,
            void *ctx);

/* Reads member i whole and hands it to ex_recurse() under its own name;
 * reports a member that cannot be read. 0, or -1 when the job must end. */
int exz_recurse(ex_job *j, exz *z, uint64_t i);

/* Opens a zip-based document for its extractor. `kind` names the format in
 * the explanations ("Office document"): a file that is not a readable zip
 * is reported uninspectable (unscannable), a directory past the entries
 * limit partial. 0 with *out set (close it); 1 when the file was reported
 * and nothing is left to do; -1 when the job must end (*out NULL unless 0). */
int exz_open_doc(ex_job *j, const unsigned char *data, size_t len, const char *kind, exz **out);

/* Calls `member` for every member in order, stopping at the time limit
 * (reported as partial, then -1: the job ends). 0, or -1 when the time ran
 * out or `member` returned -1. */
int exz_each(ex_job *j, exz *z, int (*member)(void *ctx, uint64_t i), void *ctx);

/* A human explanation for a reason from this module. */
const char *exz_explain(const char *why);

#endif
