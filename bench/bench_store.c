/*
 * bench_store.c — the store's write and read paths on each backend (docs/
 * BENCH.md, "Store backends"): N messages appended by group commit
 * (store_message_append_batch, batches of B, each message membership- and
 * idempotency-checked, its conversation advanced) and history read back
 * 50 at a time, next to the reference from the same run on the same
 * database: the backend's own client library doing only the INSERTs of the
 * same rows in the same transactions into a table of the same shape
 * (SQLite: a prepared statement; libpq: a prepared statement, one round
 * trip per row, into a copy of `messages` with its indexes and foreign
 * keys), and the same pages read with one SELECT each; on PostgreSQL also
 * the same INSERTs in pipeline mode (a batch in one round trip, as
 * cordon's writer sends it). The ratio is cordon's time over the
 * reference's.
 *
 * usage: bench_store [--pg URL] [N] [B]   (default 20000 messages, batches
 *        of 64; SQLite in a temporary directory, PostgreSQL when a URL is
 *        given: a fresh schema `bench_store` is made in that database)
 *        bench_store --pg URL --writers S [C] [B]
 *
 * --writers: several nodes' writers on one PostgreSQL (docs/BENCH.md,
 * "Session 11"): for S seconds one writer, then for S seconds two writers
 * at once (each its own handle, as two nodes' writer threads), append
 * batches of B (default 64) spread over the same C conversations (default
 * 200: every conversation written by both, the worst case of 1:1 pairs
 * split over two nodes). Next to it the reference: plain libpq pipelined
 * INSERT batches of the same rows, by one connection and then by two — what
 * a second connection gains on this PostgreSQL and disk when nothing orders
 * the writers. Run it against a durable cluster (fsync on): the commits'
 * WAL flushes are what two writers can share.
 */
#include "bench_util.h"

#include "store/store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT "项目例会改到周四下午三点，请各位提前准备材料 (meeting moved to Thursday)"

typedef struct run {
    double append_ms, history_ms, ref_append_ms, ref_history_ms;
    double ref_pipe_ms; /* PostgreSQL: the same INSERTs in pipeline mode (0: not run) */
} run;

static int64_t add_user(store *s, const char *login)
{
    store_user_new u = {.login = login, .password_hash = "$x", .now = 1};
    int64_t id = 0;

    return store_user_create(s, &u, &id) ? -1 : id;
}

static double ms_since(uint64_t t0)
{
    return (double)(bench_now_ns() - t0) / 1e6;
}

/* cordon's side: appends and history pages through store.h. */
static int bench_cordon(store *s, int n, int b, run *r)
{
    int64_t a = add_user(s, "a"), other = add_user(s, "b"), conv = 0, before = 0;
    store_message_new *m = calloc((size_t)b, sizeof *m);
    int *rcs = calloc((size_t)b, sizeof *rcs);
    char(*cid)[24] = calloc((size_t)b, sizeof *cid);
    uint64_t t0;
    int got = 0, rc = -1;

    if (!m || !rcs || !cid || a < 0 || other < 0 ||
        store_conv_create(s, STORE_CONV_GROUP, "bench", a, &other, 1, 1, &conv, NULL))
        goto out;
    t0 = bench_now_ns();
    for (int i = 0; i < n; i += b) {
        int k = n - i < b ? n - i : b;

        for (int j = 0; j < k; j++) {
            snprintf(cid[j], sizeof cid[j], "c%d", i + j);
            m[j] = (store_message_new){.conv_id = conv,
                                       .sender_id = a,
                                       .client_id = cid[j],
                                       .text = TEXT,
                                       .text_len = strlen(TEXT),
                                       .verdict = "allow",
                                       .now = 1796560000000LL + i + j};
        }
        if (store_message_append_batch(s, m, (size_t)k, NULL, rcs, NULL))
            goto out;
    }
    r->append_ms = ms_since(t0);
    t0 = bench_now_ns();
    for (;;) {
        store_messages h = {0};

        if (store_message_history(s, conv, before, 50, &h))
            goto out;
        got += (int)h.n;
        if (h.n)
            before = h.items[h.n - 1].id;
        store_messages_free(&h);
        if (!before || got >= n)
            break;
    }
    r->history_ms = ms_since(t0);
    rc = got == n ? 0 : -1;
out:
    free(m);
    free(rcs);
    free(cid);
    return rc;
}

/* ------------------------------------------------------------ SQLite */

static int ref_sqlite(const char *path, int n, int b, run *r)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *sel = NULL;
    int64_t before = INT64_MAX;
    uint64_t t0;
    int got = 0, rc = -1;

    if (sqlite3_open(path, &db) ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE ref("
                     "id INTEGER PRIMARY KEY, conv_id INTEGER, sender_id INTEGER, client_id TEXT, "
                     "created_at INTEGER, body TEXT, verdict TEXT, UNIQUE(conv_id, sender_id, "
                     "client_id)); CREATE INDEX ref_conv ON ref(conv_id, id)",
                     NULL, NULL, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO ref(conv_id, sender_id, client_id, created_at, body, "
                           "verdict) VALUES(1, 1, ?, ?, ?, 'allow')",
                           -1, &ins, NULL) ||
        sqlite3_prepare_v2(db,
                           "SELECT id, conv_id, sender_id, client_id, created_at, body, verdict "
                           "FROM ref WHERE conv_id = 1 AND id < ? ORDER BY id DESC LIMIT 50",
                           -1, &sel, NULL))
        goto out;
    t0 = bench_now_ns();
    for (int i = 0; i < n; i += b) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (int j = 0; j < b && i + j < n; j++) {
            char cid[24];

            snprintf(cid, sizeof cid, "c%d", i + j);
            sqlite3_bind_text(ins, 1, cid, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins, 2, 1796560000000LL + i + j);
            sqlite3_bind_text(ins, 3, TEXT, -1, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                goto out;
            sqlite3_reset(ins);
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL))
            goto out;
    }
    r->ref_append_ms = ms_since(t0);
    t0 = bench_now_ns();
    while (got < n) {
        int page = 0;

        sqlite3_bind_int64(sel, 1, before);
        while (sqlite3_step(sel) == SQLITE_ROW) {
            char *copy = strdup((const char *)sqlite3_column_text(sel, 5));

            before = sqlite3_column_int64(sel, 0);
            free(copy);
            page++;
        }
        sqlite3_reset(sel);
        got += page;
        if (!page)
            break;
    }
    r->ref_history_ms = ms_since(t0);
    rc = got == n ? 0 : -1;
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_close(db);
    return rc;
}

/* ----------------------------------------------------------- PostgreSQL */

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "bench_store: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static int ref_pg(const char *url, int n, int b, run *r)
{
    PGconn *c = PQconnectdb(url);
    char before[24] = "9223372036854775807";
    uint64_t t0;
    int got = 0, rc = -1;

    if (PQstatus(c) != CONNECTION_OK ||
        /* the messages table's shape: its indexes, identity and the
         * foreign keys to the conversation and the sender (cordon's run
         * made conversation 1 and user 1) */
        exec_ok(c, "SET client_min_messages = warning; DROP TABLE IF EXISTS ref; CREATE TABLE "
                   "ref (LIKE messages INCLUDING ALL); ALTER TABLE ref ADD FOREIGN KEY (conv_id) "
                   "REFERENCES conversations(id), ADD FOREIGN KEY (sender_id) REFERENCES "
                   "users(id)") ||
        exec_ok(c, "PREPARE ins AS INSERT INTO ref(conv_id, sender_id, client_id, created_at, "
                   "body, verdict) VALUES(1, 1, $1, $2, $3, 'allow')") ||
        exec_ok(c, "PREPARE sel AS SELECT id, conv_id, sender_id, client_id, created_at, body, "
                   "verdict FROM ref WHERE conv_id = 1 AND id < $1 ORDER BY id DESC LIMIT 50"))
        goto out;
    t0 = bench_now_ns();
    for (int i = 0; i < n; i += b) {
        if (exec_ok(c, "BEGIN"))
            goto out;
        for (int j = 0; j < b && i + j < n; j++) {
            char cid[24], at[24];
            const char *v[3] = {cid, at, TEXT};
            PGresult *x;

            snprintf(cid, sizeof cid, "c%d", i + j);
            snprintf(at, sizeof at, "%lld", 1796560000000LL + i + j);
            x = PQexecPrepared(c, "ins", 3, v, NULL, NULL, 0);
            if (PQresultStatus(x) != PGRES_COMMAND_OK) {
                PQclear(x);
                goto out;
            }
            PQclear(x);
        }
        if (exec_ok(c, "COMMIT"))
            goto out;
    }
    r->ref_append_ms = ms_since(t0);
    t0 = bench_now_ns();
    while (got < n) {
        const char *v[1] = {before};
        PGresult *x = PQexecPrepared(c, "sel", 1, v, NULL, NULL, 0);
        int page = PQntuples(x);

        for (int i = 0; i < page; i++) {
            char *copy = strdup(PQgetvalue(x, i, 5));

            free(copy);
        }
        if (page)
            snprintf(before, sizeof before, "%s", PQgetvalue(x, page - 1, 0));
        PQclear(x);
        got += page;
        if (!page)
            break;
    }
    r->ref_history_ms = ms_since(t0);
    rc = got == n ? 0 : -1;
out:
    PQfinish(c);
    return rc;
}

/* The same INSERTs as ref_pg's, each batch sent in pipeline mode (libpq
 * 14+): BEGIN, the batch's INSERTs and COMMIT in one write, one sync, the
 * results read after it — what cordon's writer does since it pipelines. */
static int ref_pg_pipeline(const char *url, int n, int b, run *r)
{
    PGconn *c = PQconnectdb(url);
    uint64_t t0;
    int rc = -1;

    if (PQstatus(c) != CONNECTION_OK ||
        exec_ok(c, "SET client_min_messages = warning; DROP TABLE IF EXISTS refp; CREATE TABLE "
                   "refp (LIKE messages INCLUDING ALL); ALTER TABLE refp ADD FOREIGN KEY "
                   "(conv_id) REFERENCES conversations(id), ADD FOREIGN KEY (sender_id) "
                   "REFERENCES users(id)") ||
        exec_ok(c, "PREPARE insp AS INSERT INTO refp(conv_id, sender_id, client_id, created_at, "
                   "body, verdict) VALUES(1, 1, $1, $2, $3, 'allow')"))
        goto out;
    t0 = bench_now_ns();
    for (int i = 0; i < n; i += b) {
        int k = n - i < b ? n - i : b, bad = 0;
        PGresult *x;

        if (!PQenterPipelineMode(c) || !PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
            goto out;
        for (int j = 0; j < k; j++) {
            char cid[24], at[24];
            const char *v[3] = {cid, at, TEXT};

            snprintf(cid, sizeof cid, "c%d", i + j);
            snprintf(at, sizeof at, "%lld", 1796560000000LL + i + j);
            if (!PQsendQueryPrepared(c, "insp", 3, v, NULL, NULL, 0))
                goto out;
        }
        if (!PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c))
            goto out;
        for (int j = 0; j < k + 2; j++) {
            x = PQgetResult(c);
            if (PQresultStatus(x) != PGRES_COMMAND_OK)
                bad = 1;
            PQclear(x);
            while ((x = PQgetResult(c)))
                PQclear(x);
        }
        x = PQgetResult(c); /* the sync */
        if (PQresultStatus(x) != PGRES_PIPELINE_SYNC)
            bad = 1;
        PQclear(x);
        if (bad || !PQexitPipelineMode(c))
            goto out;
    }
    r->ref_pipe_ms = ms_since(t0);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_store: pipeline reference: %s", PQerrorMessage(c));
    PQfinish(c);
    return rc;
}

static void report(const char *name, const run *r, int n)
{
    printf("%-11s append  reference %8.1f ms %8.0f msg/s   cordon %8.1f ms %8.0f msg/s   ratio "
           "%.2f\n",
           name, r->ref_append_ms, n / r->ref_append_ms * 1000, r->append_ms,
           n / r->append_ms * 1000, r->append_ms / r->ref_append_ms);
    printf("%-11s history reference %8.1f ms %8.0f msg/s   cordon %8.1f ms %8.0f msg/s   ratio "
           "%.2f\n",
           name, r->ref_history_ms, n / r->ref_history_ms * 1000, r->history_ms,
           n / r->history_ms * 1000, r->history_ms / r->ref_history_ms);
    if (r->ref_pipe_ms > 0)
        printf("%-11s append  pipelined %8.1f ms %8.0f msg/s   cordon %8.1f ms %8.0f msg/s   "
               "ratio %.2f\n",
               name, r->ref_pipe_ms, n / r->ref_pipe_ms * 1000, r->append_ms,
               n / r->append_ms * 1000, r->append_ms / r->ref_pipe_ms);
}

/* ------------------------------------------------- several writers */

typedef struct writer {
    const char *url;
    const int64_t *convs;
    int64_t senders[2];
    int nconv, b, who, run; /* run: keeps each run's client ids apart */
    bool ref;               /* the libpq reference instead of cordon */
    volatile bool *stop;
    long done, failed;
} writer;

/* cordon: batches through store_message_append_batch on its own handle. */
static void *writer_cordon(void *p)
{
    writer *w = p;
    store_options o = {.version = 1, .path = w->url, .busy_timeout_ms = 30000};
    store_message_new *m = calloc((size_t)w->b, sizeof *m);
    int *rcs = calloc((size_t)w->b, sizeof *rcs);
    char(*cid)[32] = calloc((size_t)w->b, sizeof *cid);
    store *s = NULL;
    long seq = 0;

    if (!m || !rcs || !cid || store_open(&o, &s, NULL)) {
        w->failed = 1;
        goto out;
    }
    while (!*w->stop) {
        for (int j = 0; j < w->b; j++, seq++) {
            snprintf(cid[j], sizeof cid[j], "r%d-w%d-%ld", w->run, w->who, seq);
            m[j] = (store_message_new){.conv_id = w->convs[(seq * 7 + w->who) % w->nconv],
                                       .sender_id = w->senders[seq & 1],
                                       .client_id = cid[j],
                                       .text = TEXT,
                                       .text_len = strlen(TEXT),
                                       .verdict = "allow",
                                       .now = 1796560000000LL + seq};
        }
        int rc = store_message_append_batch(s, m, (size_t)w->b, NULL, rcs, NULL);

        for (int j = 0; j < w->b; j++)
            if (rc || rcs[j]) {
                if (!w->failed++)
                    fprintf(stderr, "writer %d: %s (%s)\n", w->who,
                            store_strerror(rc ? rc : rcs[j]), store_errmsg(s));
            } else
                w->done++;
    }
out:
    store_close(s);
    free(m);
    free(rcs);
    free(cid);
    return NULL;
}

/* The reference: the same rows as plain INSERTs into refw (messages'
 * shape), BEGIN + the batch + COMMIT in one pipeline, one sync. */
static void *writer_ref(void *p)
{
    writer *w = p;
    PGconn *c = PQconnectdb(w->url);
    long seq = 0;

    if (PQstatus(c) != CONNECTION_OK ||
        exec_ok(c, "PREPARE insw AS INSERT INTO refw(conv_id, sender_id, client_id, "
                   "created_at, body, verdict) VALUES($1, $2, $3, $4, $5, 'allow')")) {
        w->failed = 1;
        goto out;
    }
    while (!*w->stop) {
        int bad = 0;
        PGresult *x;

        if (!PQenterPipelineMode(c) || !PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
            break;
        for (int j = 0; j < w->b; j++, seq++) {
            char conv[24], sender[24], cid[32], at[24];
            const char *v[5] = {conv, sender, cid, at, TEXT};

            snprintf(conv, sizeof conv, "%lld", (long long)w->convs[(seq * 7 + w->who) % w->nconv]);
            snprintf(sender, sizeof sender, "%lld", (long long)w->senders[seq & 1]);
            snprintf(cid, sizeof cid, "r%d-w%d-%ld", w->run, w->who, seq);
            snprintf(at, sizeof at, "%lld", 1796560000000LL + seq);
            if (!PQsendQueryPrepared(c, "insw", 5, v, NULL, NULL, 0))
                bad = 1;
        }
        if (!PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c))
            bad = 1;
        for (int j = 0; j < w->b + 2; j++) {
            x = PQgetResult(c);
            if (PQresultStatus(x) != PGRES_COMMAND_OK)
                bad = 1;
            PQclear(x);
            while ((x = PQgetResult(c)))
                PQclear(x);
        }
        x = PQgetResult(c); /* the sync */
        PQclear(x);
        if (!PQexitPipelineMode(c) || bad) {
            fprintf(stderr, "reference writer %d: %s", w->who, PQerrorMessage(c));
            w->failed++;
            break;
        }
        w->done += w->b;
    }
out:
    PQfinish(c);
    return NULL;
}

/* n writers for secs seconds: messages a second (-1: a writer failed). */
static double writers_run(writer *proto, int n, int secs)
{
    volatile bool stop = false;
    writer w[2];
    pthread_t th[2];
    uint64_t t0 = bench_now_ns();
    long done = 0, failed = 0;
    double ms;

    proto->run++;
    for (int i = 0; i < n; i++) {
        w[i] = *proto;
        w[i].who = i;
        w[i].stop = &stop;
        if (pthread_create(&th[i], NULL, proto->ref ? writer_ref : writer_cordon, &w[i]))
            return -1;
    }
    sleep((unsigned)secs);
    stop = true;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        done += w[i].done;
        failed += w[i].failed;
    }
    ms = ms_since(t0);
    return failed ? -1 : done / ms * 1000;
}

static int bench_writers(const char *url, int secs, int nconv, int b)
{
    store_options o = {.version = 1, .path = url};
    int64_t *convs = calloc((size_t)nconv, sizeof *convs);
    writer w = {.url = url, .convs = convs, .nconv = nconv, .b = b};
    PGconn *c = PQconnectdb(url);
    store *s = NULL;
    double one, two, rone, rtwo;
    int rc = 1;

    if (!convs || PQstatus(c) != CONNECTION_OK ||
        exec_ok(c, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; "
                   "CREATE SCHEMA public") ||
        store_open(&o, &s, NULL))
        goto out;
    w.senders[0] = add_user(s, "a");
    w.senders[1] = add_user(s, "b");
    for (int i = 0; i < nconv; i++)
        if (store_conv_create(s, STORE_CONV_GROUP, "pair", w.senders[0], &w.senders[1], 1, 1,
                              &convs[i], NULL))
            goto out;
    if (exec_ok(c, "CREATE TABLE refw (LIKE messages INCLUDING ALL); ALTER TABLE refw ADD "
                   "FOREIGN KEY (conv_id) REFERENCES conversations(id), ADD FOREIGN KEY "
                   "(sender_id) REFERENCES users(id)"))
        goto out;
    printf("writers: batches of %d over %d conversations (all shared), %d s each\n", b, nconv,
           secs);
    one = writers_run(&w, 1, secs);
    two = writers_run(&w, 2, secs);
    w.ref = true;
    rone = writers_run(&w, 1, secs);
    rtwo = writers_run(&w, 2, secs);
    if (one < 0 || two < 0 || rone < 0 || rtwo < 0) {
        fprintf(stderr, "bench_store: a writer failed (cordon %.0f %.0f, reference %.0f %.0f)\n",
                one, two, rone, rtwo);
        goto out;
    }
    printf("cordon      one writer %8.0f msg/s   two writers %8.0f msg/s   two/one %.2f\n", one,
           two, two / one);
    printf("reference   one writer %8.0f msg/s   two writers %8.0f msg/s   two/one %.2f\n", rone,
           rtwo, rtwo / rone);
    printf("cordon / reference     one %.2f   two %.2f\n", one / rone, two / rtwo);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_store: writers: %s%s\n", s ? store_errmsg(s) : "",
                PQerrorMessage(c));
    store_close(s);
    PQfinish(c);
    free(convs);
    return rc;
}

int main(int argc, char **argv)
{
    const char *pg = NULL;
    char dir[] = "/tmp/cordon-bench-store-XXXXXX", path[96], ref[96], cmd[128];
    int n = 20000, b = 64, pos = 0, secs = 0;
    run sq = {0}, pq = {0};
    store *s = NULL;
    store_options o = {.version = 1};
    char *err = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pg") && i + 1 < argc)
            pg = argv[++i];
        else if (!strcmp(argv[i], "--writers") && i + 1 < argc)
            secs = atoi(argv[++i]);
        else if (pos++ == 0)
            n = atoi(argv[i]);
        else
            b = atoi(argv[i]);
    }
    if (secs > 0 && pg)
        return bench_writers(pg, secs, pos ? n : 200, pos > 1 ? b : 64);
    if (n < 100 || b < 1 || b > 4096 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_store [--pg URL] [N >= 100] [B 1..4096]\n"
                        "       bench_store --pg URL --writers SECONDS [CONVS] [B]\n");
        return 2;
    }
    printf("%d messages of %zu bytes, group commit of %d, history pages of 50\n", n, strlen(TEXT),
           b);
    snprintf(path, sizeof path, "%s/cordon.db", dir);
    snprintf(ref, sizeof ref, "%s/ref.db", dir);
    o.path = path;
    if (store_open(&o, &s, &err) || bench_cordon(s, n, b, &sq) || ref_sqlite(ref, n, b, &sq)) {
        fprintf(stderr, "bench_store: sqlite: %s\n", err ? err : s ? store_errmsg(s) : "?");
        return 1;
    }
    store_close(s);
    s = NULL;
    report("sqlite", &sq, n);
    if (pg) {
        /* a fresh database's worth: drop what a previous run left */
        PGconn *c = PQconnectdb(pg);

        if (PQstatus(c) != CONNECTION_OK ||
            exec_ok(c, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; "
                       "CREATE SCHEMA public")) {
            fprintf(stderr, "bench_store: %s", PQerrorMessage(c));
            return 1;
        }
        PQfinish(c);
        o.path = pg;
        if (store_open(&o, &s, &err) || bench_cordon(s, n, b, &pq) || ref_pg(pg, n, b, &pq) ||
            ref_pg_pipeline(pg, n, b, &pq)) {
            fprintf(stderr, "bench_store: postgresql: %s\n", err ? err : s ? store_errmsg(s) : "?");
            return 1;
        }
        store_close(s);
        report("postgresql", &pq, n);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) ? 1 : 0;
}
