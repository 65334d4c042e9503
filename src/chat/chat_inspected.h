/*
 * chat_inspected.h — a finished upload's inspection, written by the writer
 * (chat_inspected.c).
 *
 * The transport's inspection threads (srv_inspect.c) read the staged bytes,
 * run the file guard and commit the blobs; what they decided becomes a
 * commit like every other write (issue 14: one write path): the
 * inspection's cache entry, the file row (a reference on its blobs) and the
 * upload's new state, in one transaction on the writer thread.
 */
#ifndef CHAT_INSPECTED_H
#define CHAT_INSPECTED_H

#include "chat_commit.h"
#include "store/store_files.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct chat_inspected_in {
    const char *upload_id;
    int state;               /* store_up_state the upload ends in */
    const char *outcome;     /* JSON text of the outcome (the upload's row) */
    const char *cache_key;   /* NULL: nothing to cache (a reused outcome) */
    const char *cache_value; /* the outcome as cached, when cache_key */
    const store_file *file;  /* NULL: the bytes are gone, no file row */
    int64_t blob_size, thumb_size;
    int64_t now;
} chat_inspected_in;

/* The commit (copies everything it needs from in). After publish its
 * result is chat_inspected_rc(); the caller waits for done and frees it.
 * NULL when out of memory. */
chat_commit *chat_inspected_commit(const chat *c, const chat_inspected_in *in);

/* The store code the commit ended with (0: written). */
int chat_inspected_rc(const chat_commit *c);

/* Whether `mask` on the image `name` is met by what every delivered image
 * gets anyway — its metadata removed: true when every finding the policy
 * masks is in the image's own metadata (location "NAME!metadata") and
 * there is at least one. A masked finding in the pixels (OCR, a QR code)
 * cannot be starred out of a picture, so the picture is held like
 * confirm (docs/POLICY.md, "mask on files"). findings: the file's findings
 * with their `action`, as judged for the conversation's scope. */
bool chat_file_mask_met(json_t *findings, const char *name);

#endif
