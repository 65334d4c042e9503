/*
 * srv.h — `cordon serve`: the whole server behind one call.
 *
 * tool_serve.c parses the command line into a srv_config and calls
 * srv_run(), which returns when the server has stopped (SIGTERM/SIGINT) and
 * everything acknowledged is committed.
 */
#ifndef SRV_H
#define SRV_H

#include "srv_config.h"

typedef struct srv_run_opts {
    /* When the first start creates the admin, also write its one-time
     * password here (mode 0600). NULL: stderr only. */
    const char *admin_password_file;
    /* Use the libsodium minimum argon2id cost (tests only; never in
     * production: the flag is refused unless CORDON_TEST_FAST_HASH=1). */
    int fast_hash;
} srv_run_opts;

/* Runs the server. Returns 0 after a graceful stop, 2 when it could not
 * start (the reason is logged). */
int srv_run(const srv_config *cfg, const srv_run_opts *opts);

#endif
