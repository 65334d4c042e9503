/*
 * store_backend.h — what a storage backend provides and may use; private to
 * src/store (callers see only store.h).
 *
 * A backend is a store_backend (its name and open function) whose open
 * returns a handle that embeds `store` first and points at the backend's
 * const store_methods. Adding PostgreSQL = one more file defining
 * store_pg_backend and one more row in store.c's table.
 */
#ifndef CORDON_STORE_BACKEND_H
#define CORDON_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_backend {
    int version;      /* 1 */
    const char *name; /* matched against store_options.backend */
    /* Opens and migrates (store_open's contract). */
    int (*open)(const store_options *opt, store **out, char **errmsg);
} store_backend;

extern const store_backend store_sqlite_backend;
extern const store_backend store_pg_backend; /* store_pg.c: "postgresql" */

/* The latest schema version this binary knows (every backend migrates to
 * the same logical schema; docs/STORE.md). */
#define STORE_SCHEMA_VERSION 10

/* Parses JSON text and writes it back canonically (object keys sorted,
 * compact, UTF-8 unescaped) into *out (heap). want_object: the top level
 * must be an object; otherwise any array or object. NULL in = "{}".
 * STORE_INVAL when it does not parse, STORE_NOMEM. */
int store_json_canonical(const char *in, bool want_object, char **out);

#endif
