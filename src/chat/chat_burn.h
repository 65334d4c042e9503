/*
 * chat_burn.h — burn-after-reading (阅后即焚) for text and up to six
 * pictures (chat_burn.c).
 *
 * A message sent with burn (chat_send_in.burn) is stored like any other
 * after the guard, but no shape of it carries its text (chat_json.c):
 * history, the conversation list, events and the sender's own answer say
 * only that it arrived. Each reader gets the text once, from an open;
 * the sender never again. It is destroyed — text erased with secure_delete
 * and the write-ahead log truncated (store_burn_destroy) — a short time
 * after every reader opened it, or when it stayed unopened too long
 * (chat_limits); destruction publishes message.burned with ids only.
 */
#ifndef CHAT_BURN_H
#define CHAT_BURN_H

#include "chat_commit.h"

/* Pictures one burn message may carry (chat_send.c refuses more, and any
 * file that is not a picture). No shape of the message lists them
 * ("burn_images": their number); the open hands the list to the reader,
 * who may fetch them within the visible time (store_burn_file_visible),
 * and the destruction deletes their rows, blobs and thumbnails. */
#define CHAT_BURN_MAX_IMAGES 6

/* The plan of an open by the caller, on a worker. The commit's outcome:
 * 200 with extra {"message_id", "text", "attachments", "visible_seconds"}
 * the first time
 * the caller opens it; 409 burn_opened afterwards; 404 not_found (no such
 * live burn message the caller may see, destroyed included); 403
 * burn_sender for its sender. The text is as the caller may see it
 * (chat_view.h: masked or withheld for an external reader). */
int chat_burn_open_plan(const chat_env *e, const chat_caller *who, int64_t msg_id, int64_t now,
                        chat_commit **out, chat_outcome *o);

/* The destruction of burn message msg_id (due: store_burn_due), for the
 * writer; the commit frees itself. NULL when out of memory. */
chat_commit *chat_burn_destroy_plan(const chat_env *e, int64_t msg_id);

#endif
