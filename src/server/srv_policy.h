/*
 * srv_policy.h — the guard engine of a running server: start-up, reloads,
 * and what is in force (srv_policy.c). The HTTP side is srv_h_policy.c, the
 * files srv_policy_files.c.
 */
#ifndef SRV_POLICY_H
#define SRV_POLICY_H

#include "srv_policy_files.h"

/* srv_policy_reload (srv_int.h) with s->policy_update_mu already held. */
int srv_policy_reload_locked(srv *s, store *st, int64_t actor_id, const char *actor, char *err,
                             size_t errlen);

#endif
