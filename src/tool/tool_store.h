/*
 * tool_store.h — the server's database as `cordon user`, `cordon audit` and
 * `cordon backup` find and open it (--data DIR / --config FILE, the same
 * way `cordon serve` does: docs/SERVER.md, `data_dir`).
 */
#ifndef TOOL_STORE_H
#define TOOL_STORE_H

#include "store/store.h"

#include <stdbool.h>

/* Opens the database named by data/config; errors are printed to stderr as
 * "cordon CMD: ...". create: make the data directory (0700) and the
 * database when missing, as the server would; otherwise a missing database
 * is an error. *dir_out (may be NULL) gets the data directory (heap).
 * Returns a store_rc. */
int tool_store_open(const char *cmd, const char *data, const char *config, bool create, store **s,
                    char **dir_out);

#endif
