/*
 * chat_json.h — the API's JSON shapes of store records and guard results
 * (docs/API.md, "Objects"). Every function returns a new reference, or
 * NULL when out of memory (jansson's packers then fail the whole reply).
 */
#ifndef CHAT_JSON_H
#define CHAT_JSON_H

#include "cordon/guard.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>

/* full: the account as its owner or an admin sees it; otherwise the
 * directory entry (id, login, display_name, external). */
json_t *chat_json_user(const store_user *u, bool full);
json_t *chat_json_session(const store_session *s, int64_t current_id);
/* With "inbound_warning" when m has one: pass a copy without it to
 * whoever must not see it (external members: chat_view.h). */
json_t *chat_json_message(const store_message *m);
/* "quarantined" | "removed" for a store_message.contained, NULL for none. */
const char *chat_json_contained_name(int contained);
/* members may be NULL (no "members" key). my_role < 0: no "my_role". */
json_t *chat_json_conv(const store_conv *c, const store_members *members, int my_role);
json_t *chat_json_alert(const store_alert *a);
json_t *chat_json_audit(const store_audit_entry *e);

/* The guard outcome for the sender: verdict, decided_by, status and the
 * findings with personal data and secrets masked in the excerpts. */
json_t *chat_json_guard(const guard_result *r);
/* Only the findings array (the alert's findings_json). */
json_t *chat_json_findings(const guard_result *r);
/* The same, each finding with `context_before` / `context_after`: up to 48
 * bytes of the message either side (personal data and secrets in them
 * starred), for officers' alerts. `text` is what was scanned. */
json_t *chat_json_findings_ctx(const guard_result *r, const char *text, size_t len);
/* The warning the guard's inbound scope gives recipients of what an
 * external sender sent in (docs/POLICY.md, "The inbound scope in chat"):
 * {"action", "decided_by", "findings": those with an action other than
 * allow}. NULL when the verdict is allow (or out of memory: *oom). */
json_t *chat_json_inbound_warning(const guard_result *r, bool *oom);
/* The category of the finding that decided the verdict ("pii", ...). */
const char *chat_guard_category(const guard_result *r);

#endif
