/*
 * tool_backup_pg.c — pg_dump and pg_restore for `cordon backup`/`restore`
 * on a PostgreSQL store (see tool_backup_pg.h).
 */
#include "tool_backup_pg.h"

#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_ENV 4096 /* our variables plus the URL's: a larger environment is refused */

/* The child's environment: ours without any PG* variable (an operator's
 * PGDATABASE must not redirect the dump), plus each parameter of the URL
 * as libpq's variable for it. Returns a NULL-terminated array whose strings
 * from index *own on are heap (freed by env_free), or NULL with the reason
 * printed. */
static char **env_for(const char *cmd, const char *url, size_t *own)
{
    PQconninfoOption *opts = NULL, *o;
    char **env = calloc(MAX_ENV + 1, sizeof *env), *err = NULL;
    size_t n = 0;

    if (!env)
        goto fail;
    *own = 0;
    for (char **e = environ; *e; e++) {
        if (n >= MAX_ENV - 64) { /* nothing of ours allocated yet */
            fprintf(stderr, "cordon %s: the environment is too large to pass on\n", cmd);
            free(env);
            return NULL;
        }
        if (strncmp(*e, "PG", 2))
            env[n++] = *e;
    }
    *own = n;
    opts = PQconninfoParse(url, &err);
    if (!opts) {
        fprintf(stderr, "cordon %s: the store's URL does not parse: %s\n", cmd,
                err ? err : "out of memory");
        goto fail;
    }
    for (o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        /* a parameter libpq has no variable for cannot reach the child
         * without its command line: refused rather than dropped */
        if (!o->envvar) {
            fprintf(stderr,
                    "cordon %s: the store's URL sets %s, which pg_dump cannot be given "
                    "outside its command line; set it in ~/.pg_service.conf instead\n",
                    cmd, o->keyword);
            goto fail;
        }
        if (n >= MAX_ENV || asprintf(&env[n], "%s=%s", o->envvar, o->val) < 0) {
            env[n] = NULL;
            goto fail;
        }
        n++;
    }
    PQconninfoFree(opts);
    return env;
fail:
    if (env)
        for (size_t i = *own; env[i]; i++)
            free(env[i]);
    free(env);
    PQconninfoFree(opts);
    PQfreemem(err);
    return NULL;
}

static void env_free(char **env, size_t own)
{
    if (!env)
        return;
    for (size_t i = own; env[i]; i++)
        free(env[i]);
    free(env);
}

/* Runs argv (argv[0] looked up in PATH) with the URL's environment; its
 * standard output goes to /dev/null unless keep_out, its errors to ours.
 * Returns 0 when it exited 0, else -1 with the reason printed. */
static int run(const char *cmd, const char *url, char *const argv[], bool keep_out)
{
    posix_spawn_file_actions_t fa;
    size_t own = 0;
    char **env = env_for(cmd, url, &own);
    pid_t pid;
    int st = 0, rc = -1, e;

    if (!env)
        return -1;
    posix_spawn_file_actions_init(&fa);
    if (!keep_out)
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    if (e) {
        fprintf(stderr, "cordon %s: cannot run %s: %s (install postgresql-client)\n", cmd, argv[0],
                strerror(e));
        goto out;
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            goto out;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        rc = 0;
    else
        fprintf(stderr, "cordon %s: %s failed (%s %d)\n", cmd, argv[0],
                WIFEXITED(st) ? "exit status" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
out:
    posix_spawn_file_actions_destroy(&fa);
    env_free(env, own);
    return rc;
}

int tool_pg_dump(const char *cmd, const char *url, const char *out)
{
    char *dump[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                    "--file",  (char *)out,       NULL};
    char *list[] = {"pg_restore", "--list", (char *)out, NULL};

    if (run(cmd, url, dump, false))
        return -1;
    if (run(cmd, url, list, false)) {
        fprintf(stderr, "cordon %s: the dump does not read back\n", cmd);
        return -1;
    }
    return 0;
}

int tool_pg_empty(const char *cmd, const char *url)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = NULL;
    char shown[512];
    int rc = -1;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cordon %s: %s: %s", cmd, store_path_redacted(url, shown, sizeof shown),
                PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, "SELECT count(*) FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace n "
                  "ON n.oid = k.relnamespace WHERE k.relkind IN ('r', 'p') AND n.nspname NOT IN "
                  "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "cordon %s: %s", cmd, PQerrorMessage(c));
        goto out;
    }
    rc = !strcmp(PQgetvalue(r, 0, 0), "0");
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

int tool_pg_restore(const char *cmd, const char *url, const char *dump)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
    const char *db = NULL;
    char *argv[] = {"pg_restore", "--exit-on-error", "--single-transaction",
                    "--no-owner", "--no-privileges", "--dbname",
                    NULL,         (char *)dump,      NULL};
    int rc;

    /* pg_restore restores into a database only when given one; its name is
     * no secret (the rest of the URL goes through the environment) */
    for (o = opts; o && o->keyword; o++) {
        if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
            db = o->val;
        if (!db && !strcmp(o->keyword, "user") && o->val && *o->val)
            db = o->val; /* libpq's default: the database named as the user */
    }
    if (!db) {
        fprintf(stderr, "cordon %s: the store's URL names no database\n", cmd);
        PQconninfoFree(opts);
        return -1;
    }
    argv[6] = (char *)db;
    rc = run(cmd, url, argv, false);
    PQconninfoFree(opts);
    return rc;
}
