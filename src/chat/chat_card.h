/*
 * chat_card.h — contact cards (名片): a colleague's card shared into a
 * chat (chat_card.c).
 *
 * A card message (kind "card", meta {"user_id"}) refers to the account; it
 * copies none of its data. Whoever looks at it gets the card as their own
 * rights allow (chat_card_view): name and login from the directory, the
 * phone number masked (138****5678) unless the viewer may see it (the
 * person themself, officers and admins). Sharing an external contact's
 * card into an internal conversation is audited (card.external_shared).
 */
#ifndef CHAT_CARD_H
#define CHAT_CARD_H

#include "chat_commit.h"

/* The plan of sharing user card_user's card into conv_id, as a send
 * (chat_send.h: the commit and outcomes of a send). 404 not_found when no
 * such (enabled) account. */
int chat_card_plan(const chat_env *e, const chat_caller *who, int64_t conv_id, int64_t card_user,
                   const char *client_id, chat_commit **out, chat_outcome *o);

/* phone with its middle masked: "13812345678" → "138****5678"; short
 * numbers keep less. Heap string; NULL for NULL or out of memory. */
char *chat_card_mask_phone(const char *phone);

/* The card of u as seen by a viewer: {id, login, display_name, external,
 * phone (null when none), phone_masked}. full_phone: the viewer may see
 * the number (themself, an officer or admin). */
json_t *chat_card_view(const store_user *u, bool full_phone);

#endif
