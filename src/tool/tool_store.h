/*
 * tool_store.h — the server's database as `cordon user`, `cordon audit` and
 * `cordon backup` find and open it (--data DIR / --config FILE, the same
 * way `cordon serve` does: docs/SERVER.md, `data_dir`).
 */
#ifndef TOOL_STORE_H
#define TOOL_STORE_H

#include "store/store.h"

#include <stdbool.h>

/* Where the server's data directory and database are: data (when not NULL)
 * wins, else `data_dir` of the config file (when not NULL), else the
 * server's default — read with the server's own configuration reader, so
 * cordon.yaml is parsed one way. *db_path and *dir are heap strings (dir
 * may be NULL). Returns 0, or -1 with the reason in err. */
int tool_locate(const char *data, const char *config, char **db_path, char **dir, char *err,
                size_t errlen);

/* Where the server keeps file contents: `blob_dir` of the config file when
 * set (a directory every node mounts), else DATA_DIR/blobs — as `cordon
 * serve` finds it. *blob_dir is a heap string. Returns 0, or -1 with the
 * reason in err. */
int tool_locate_blobs(const char *data, const char *config, char **blob_dir, char *err,
                      size_t errlen);

/* Opens the database named by data/config; errors are printed to stderr as
 * "cordon CMD: ...". create: make the data directory (0700) and the
 * database when missing, as the server would; otherwise a missing database
 * is an error. *dir_out (may be NULL) gets the data directory (heap).
 * Returns a store_rc. */
int tool_store_open(const char *cmd, const char *data, const char *config, bool create, store **s,
                    char **dir_out);

#endif
