/*
 * chat_delivery.h — the delivery of a watermarked picture as a commit
 * (chat_delivery.c; docs/WATERMARK.md, "In chat").
 *
 * A viewer's first download of a picture (or of a file's preview) someone
 * else sent creates the delivery row whose id the copy's pixels carry:
 * who received which file, when. Like every write it goes through the
 * writer (chat_commit.h: kind "delivery", a group in one transaction);
 * the request's worker waits for it, then marks the copy with the id.
 *
 * A picture that cannot carry the mark (too small, too large, several
 * frames, a type the mark cannot be written into) is still delivered, but
 * never silently: the delivery that creates the row also writes an audit
 * entry `file.delivered_unmarked` naming the delivery, the file and, for
 * the original and its preview, why it goes out unmarked — in the same
 * transaction, so the record of who received it says so.
 */
#ifndef CHAT_DELIVERY_H
#define CHAT_DELIVERY_H

#include "chat_commit.h"
#include "store/store_work.h"

typedef struct chat_delivery_in {
    int64_t user_id;   /* the viewer */
    const char *login; /* the viewer's login (the audit entry's actor) */
    const char *file_id;
    int64_t now;
    /* Why each form goes out unmarked (a short reason code, see
     * docs/WATERMARK.md); NULL: it carries the mark, or is not delivered
     * as a picture (a PDF's original, a file without a preview). */
    const char *unmarked_original, *unmarked_preview;
} chat_delivery_in;

/* A commit creating (or finding) the delivery; NULL when out of memory.
 * Owned by the caller, who hands it to the writer and frees it
 * (chat_commit_free) after its done ran. */
chat_commit *chat_delivery_commit(const chat *c, const chat_delivery_in *in);

/* After done: 0 with *out the row, or the store's error code. */
int chat_delivery_result(const chat_commit *c, store_delivery *out);

#endif
