/*
 * test_backend.h — one store test suite, two backends. Each store test
 * binary runs every case on the backend named by its first argument:
 * `--backend=sqlite` (the default: a fresh database file per case) or
 * `--backend=postgresql` (a fresh schema per case in a database of the
 * binary's own, on the cluster CORDON_TEST_PG names; tests/store/with-pg.sh
 * starts a throwaway one when it is not set).
 *
 * Cases ask tb_is_pg() only where the backends differ by design (SQLite's
 * files and write-ahead log; docs/STORE.md, "PostgreSQL"). Raw SQL, as an
 * attacker with access to the database would run it, goes through tb_sql().
 */
#ifndef CORDON_TEST_BACKEND_H
#define CORDON_TEST_BACKEND_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool tb_pg;
static char tb_db[64];      /* PostgreSQL: this binary's database */
static char tb_url[1024];   /* PostgreSQL: its URL (the store "path") */
static char tb_admin[1024]; /* PostgreSQL: CORDON_TEST_PG as given */

static inline bool tb_is_pg(void)
{
    return tb_pg;
}

static inline void tb_die(const char *what, const char *why)
{
    fprintf(stderr, "test backend: %s: %s\n", what, why ? why : "?");
    exit(1);
}

static inline void tb_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static inline void tb_pg_exec(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK)
        tb_die(conninfo, PQerrorMessage(c));
    PQsetNoticeProcessor(c, tb_quiet, NULL); /* "does not exist, skipping" */
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        tb_die(sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* Reads --backend=... from argv; name is the binary's own (its database
 * on PostgreSQL, so binaries run in parallel). Exits 77 (a skip to meson,
 * never a pass) when PostgreSQL is asked for without a cluster. */
static inline void tb_init(int argc, char **argv, const char *name)
{
    PQconninfoOption *opts, *o;
    const char *user = NULL, *host = NULL, *port = NULL;
    char sql[160];

    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--backend=postgresql"))
            tb_pg = true;
    if (!tb_pg)
        return;
    if (!getenv("CORDON_TEST_PG") || !*getenv("CORDON_TEST_PG")) {
        fprintf(stderr, "CORDON_TEST_PG is not set (run through tests/store/with-pg.sh)\n");
        exit(77);
    }
    snprintf(tb_admin, sizeof tb_admin, "%s", getenv("CORDON_TEST_PG"));
    opts = PQconninfoParse(tb_admin, NULL);
    if (!opts)
        tb_die("CORDON_TEST_PG", "not a connection string");
    for (o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "user"))
            user = o->val;
        else if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
    }
    snprintf(tb_db, sizeof tb_db, "cordon_test_%s", name);
    {
        bool sock = host && host[0] == '/';
        int n = snprintf(tb_url, sizeof tb_url, "postgresql://%s%s%s/%s", user ? user : "",
                         user ? "@" : "", host && !sock ? host : "", tb_db);
        char sep = '?';

        if (sock) {
            n += snprintf(tb_url + n, sizeof tb_url - (size_t)n, "%chost=%s", sep, host);
            sep = '&';
        }
        if (port)
            snprintf(tb_url + n, sizeof tb_url - (size_t)n, "%cport=%s", sep, port);
    }
    PQconninfoFree(opts);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", tb_db);
    tb_pg_exec(tb_admin, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", tb_db);
    tb_pg_exec(tb_admin, sql);
}

/* A fresh, empty database for one case: *path is what store_options.path
 * takes (the file in a new directory dir, or the URL with an empty
 * schema). */
static inline void tb_fresh(char *dir, size_t dircap, char *path, size_t pathcap)
{
    snprintf(dir, dircap, "/tmp/cordon-store-XXXXXX");
    if (!mkdtemp(dir))
        tb_die("mkdtemp", "failed");
    if (tb_pg) {
        tb_pg_exec(tb_url, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
        snprintf(path, pathcap, "%s", tb_url);
    } else {
        snprintf(path, pathcap, "%s/cordon.db", dir);
    }
}

/* Runs SQL straight on the database, outside the store. Returns 0 when
 * it ran, -1 when the database refused it. */
static inline int tb_sql_try(const char *path, const char *sql)
{
    if (tb_pg) {
        PGconn *c = PQconnectdb(path);
        PGresult *r = PQexec(c, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
    } else {
        sqlite3 *db;
        int r;

        if (sqlite3_open(path, &db) != SQLITE_OK)
            tb_die(path, "cannot open");
        r = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
        return r == SQLITE_OK ? 0 : -1;
    }
}

static inline void tb_sql(const char *path, const char *sql)
{
    if (tb_sql_try(path, sql))
        tb_die("raw SQL refused", sql);
}

/* Column 0 of the first row of a query run straight on the database, as
 * text into out ("" when no row or NULL). */
static inline void tb_sql_text(const char *path, const char *sql, char *out, size_t cap)
{
    out[0] = 0;
    if (tb_pg) {
        PGconn *c = PQconnectdb(path);
        PGresult *r = PQexec(c, sql);

        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            tb_die(sql, PQresultErrorMessage(r));
        if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;
        sqlite3_stmt *st;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            tb_die(sql, sqlite3_errmsg(db));
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
}

/* PostgreSQL: whether any live row of the tables that hold message text
 * contains needle (what a database user could still read; dead row
 * versions until vacuum are docs/STORE.md's matter). */
static inline bool tb_pg_rows_contain(const char *path, const char *needle)
{
    char sql[1024], out[32];

    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT t::text AS x FROM messages t UNION ALL SELECT t::text "
             "FROM alerts t UNION ALL SELECT t::text FROM message_quarantine t UNION ALL SELECT "
             "t::text FROM audit t) a WHERE strpos(a.x, '%s') > 0",
             needle);
    tb_sql_text(path, sql, out, sizeof out);
    return atoi(out) > 0;
}

#endif
