/*
 * srv_policy.h — the guard engine of a running server: start-up, reloads,
 * and what is in force (srv_policy.c). The HTTP side is srv_h_policy.c, the
 * files srv_policy_files.c.
 */
#ifndef SRV_POLICY_H
#define SRV_POLICY_H

#include "srv_policy_files.h"

/* srv_policy_reload (below) with s->policy_update_mu already held. */
int srv_policy_reload_locked(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                             size_t errlen);

/* Start-up: builds the engine from the configured policy and lexicons and
 * what admins saved under the data dir. Returns 0, or -1 with err filled. */
int srv_policy_start(srv *s, guard_error *err);
/* Reloads the policy and lexicons (any worker: serialised with saves). Audits
 * it through st. Returns 0, or -1 with the reason in err. */
int srv_policy_reload(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                      size_t errlen);

/* The name of the policy in force ("default" for the built-in
 * one). Returns buf. */
const char *srv_policy_name(srv *s, char *buf, size_t cap);
/* A copy of the text of the policy in force (heap), or NULL for the
 * built-in policy. */
char *srv_policy_text(srv *s);
/* The same from policy text already in memory. */
const char *srv_policy_name_of(const char *text, char *buf, size_t cap);

#endif
