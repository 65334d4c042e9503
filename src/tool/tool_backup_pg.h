/*
 * tool_backup_pg.h — the PostgreSQL part of `cordon backup` and `cordon
 * restore` (docs/CLI.md): the store dumped with PostgreSQL's own pg_dump
 * (custom format, one consistent snapshot while the nodes keep serving) and
 * put back with pg_restore into an empty database. Cordon writes no dump
 * format of its own: the database's tools know every type, index and
 * sequence, and an operator can read the dump with them too.
 *
 * The connection comes from the store's URL (`store: postgresql://…`). It
 * never appears on a command line (other users could read it in ps): each
 * of its parameters is handed to the child as libpq's environment variable
 * (PGHOST, PGUSER, PGPASSWORD…). pg_dump and pg_restore are looked up in
 * PATH (Debian: postgresql-client).
 *
 * Errors are printed to stderr as "cordon CMD: …"; the URL is shown with
 * its password masked.
 */
#ifndef TOOL_BACKUP_PG_H
#define TOOL_BACKUP_PG_H

/* pg_dump of the database `url` names into the new file `out` (custom
 * format, no owners or privileges: the restoring role owns what it
 * restores), then `pg_restore --list` of it as a check that it reads back.
 * Returns 0 or -1. */
int tool_pg_dump(const char *cmd, const char *url, const char *out);

/* 1 when the database `url` names holds no table outside PostgreSQL's own
 * schemas, 0 when it holds some, -1 when it cannot be asked. */
int tool_pg_empty(const char *cmd, const char *url);

/* pg_restore of `dump` into the database `url` names, in one transaction,
 * stopping at the first error (so a failed restore leaves the database as
 * empty as it was). Returns 0 or -1. */
int tool_pg_restore(const char *cmd, const char *url, const char *dump);

#endif
