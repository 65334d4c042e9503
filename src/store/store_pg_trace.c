/*
 * store_pg_trace.c — the PostgreSQL backend's trace and contain (docs/
 * STORE.md "Trace and contain"), the compliance export's pages, and the
 * counts the early-warning rules and the dashboard ask for; the same
 * contracts as store_sqlite_trace.c.
 *
 * These run per officer action or per alert, not per message: their SQL
 * goes through PQexecParams (parsed per call) instead of the prepared set.
 */
#include "store/store_pg_int.h"

#include <stdlib.h>
#include <string.h>

#define SPREAD_MEMBERS_MAX (STORE_SPREAD_MAX * 4)

int pg_message_spread(store *s, const store_spread_query *qy, store_messages *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!qy || qy->root_id <= 0 || qy->limit < 0 || qy->limit > STORE_SPREAD_MAX)
        return STORE_INVAL;
    pa_i64(&a, qy->root_id);
    pa_i64(&a, qy->limit ? qy->limit : STORE_SPREAD_MAX);
    rc = pg_list((pg *)s, PG_ADHOC,
                 "SELECT * FROM (SELECT " PG_MSG_COLS " FROM messages m WHERE m.id = $1 UNION ALL "
                 "SELECT " PG_MSG_COLS " FROM messages m WHERE m.forward_origin_id = $1 AND "
                 "m.id <> $1) x ORDER BY 1 LIMIT $2",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, pg_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

/* A valid export query as $1..$5; STORE_INVAL when invalid. */
static int export_args(pg_args *a, const store_export_query *q)
{
    if ((q->conv_id > 0) == (q->user_id > 0) || q->from >= q->to || q->after < 0 || q->limit < 0 ||
        q->limit > STORE_EXPORT_PAGE_MAX)
        return STORE_INVAL;
    pa_i64(a, q->conv_id > 0 ? q->conv_id : q->user_id);
    pa_i64(a, q->after);
    pa_i64(a, q->from);
    pa_i64(a, q->to);
    pa_i64(a, q->limit ? q->limit : STORE_EXPORT_PAGE_MAX);
    return STORE_OK;
}

int pg_message_export(store *s, const store_export_query *qy, store_messages *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!qy)
        return STORE_INVAL;
    rc = export_args(&a, qy);
    if (rc)
        return rc;
    rc = pg_list((pg *)s, PG_ADHOC,
                 qy->conv_id > 0
                     ? "SELECT " PG_MSG_COLS " FROM messages m WHERE m.conv_id = $1 AND m.id > $2 "
                       "AND m.created_at >= $3 AND m.created_at < $4 ORDER BY m.id LIMIT $5"
                     : "SELECT " PG_MSG_COLS " FROM messages m WHERE m.sender_id = $1 AND "
                       "m.id > $2 AND m.created_at >= $3 AND m.created_at < $4 ORDER BY m.id "
                       "LIMIT $5",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, pg_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

/* The message id an audit target "message:N" names, NULL for any other
 * target (the CASE keeps the cast from seeing text that is not a number). */
#define PG_TARGET_MSG                                                                              \
    "(CASE WHEN target ~ '^message:[0-9]{1,18}$' THEN substr(target, 9)::bigint END)"

int pg_audit_covering(store *s, const store_export_query *qy, store_audit_entries *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!qy)
        return STORE_INVAL;
    rc = export_args(&a, qy);
    if (rc)
        return rc;
    rc = pg_list(
        (pg *)s, PG_ADHOC,
        qy->conv_id > 0
            ? "SELECT " PG_AUDIT_COLS " FROM audit WHERE seq > $2 AND time >= $3 AND "
              "time < $4 AND (target = 'conversation:' || $1::bigint::text OR " PG_TARGET_MSG
              " IN (SELECT id FROM messages WHERE conv_id = $1::bigint)) "
              "ORDER BY seq LIMIT $5"
            : "SELECT " PG_AUDIT_COLS " FROM audit WHERE seq > $2 AND time >= $3 AND "
              "time < $4 AND (actor_id = $1::bigint OR target = 'user:' || "
              "$1::bigint::text OR " PG_TARGET_MSG " IN (SELECT id FROM messages WHERE "
              "sender_id = $1::bigint)) ORDER BY seq LIMIT $5",
        &a, (void **)&out->items, &out->n, sizeof *out->items, pg_row_audit);
    if (rc)
        store_audit_entries_free(out);
    return rc;
}

/* ---------------------------------------------------------------- contain */

#define Q_QUAR_INSERT                                                                              \
    "INSERT INTO message_quarantine(message_id, body, justification, at, by_user) "                \
    "SELECT id, body, justification, $2::bigint, $3::bigint FROM messages WHERE id = $1::bigint"
#define Q_QUAR_HIDE                                                                                \
    "UPDATE messages SET body = NULL, justification = NULL, recalled_at = $2, contained = 1 "      \
    "WHERE id = $1"
#define Q_QUAR_RESTORE                                                                             \
    "UPDATE messages SET body = x.body, justification = x.justification, recalled_at = 0, "        \
    "contained = 0 FROM message_quarantine x WHERE x.message_id = $1 AND messages.id = $1"
#define Q_QUAR_DELETE "DELETE FROM message_quarantine WHERE message_id = $1"
#define Q_MSG_REMOVE                                                                               \
    "UPDATE messages SET body = NULL, justification = NULL, inbound_warning = NULL, "              \
    "recalled_at = CASE WHEN recalled_at = 0 THEN $2 ELSE recalled_at END, contained = 2 "         \
    "WHERE id = $1"

/* The statement of each containment step (store_contain_steps). */
static const char *const step_sql[] = {
    [STORE_STEP_QUAR_INSERT] = Q_QUAR_INSERT,   [STORE_STEP_QUAR_HIDE] = Q_QUAR_HIDE,
    [STORE_STEP_QUAR_RESTORE] = Q_QUAR_RESTORE, [STORE_STEP_QUAR_DELETE] = Q_QUAR_DELETE,
    [STORE_STEP_MSG_REMOVE] = Q_MSG_REMOVE,
};

int pg_message_contain(store *s, int64_t id, store_contain_action action, int64_t actor,
                       int64_t now, bool *changed)
{
    pg *q = (pg *)s;
    store_contain_step steps[2];
    int64_t recalled_at = 0;
    int contained = 0, n = 0, rc;
    pg_args a = {0};
    PGresult *r;

    if (changed)
        *changed = false;
    rc = pg_begin(q);
    if (rc)
        return rc;
    pa_i64(&a, id);
    r = pg_exec(q, PG_ADHOC, "SELECT recalled_at, contained FROM messages WHERE id = $1 FOR UPDATE",
                &a, &rc);
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        recalled_at = pg_i64(r, 0, 0);
        contained = (int)pg_i64(r, 0, 1);
    }
    PQclear(r);
    if (rc)
        goto done;
    n = store_contain_steps(action, recalled_at, contained, steps);
    if (n < 0) {
        rc = STORE_INVAL;
        goto done;
    }
    for (int i = 0; i < n && !rc; i++) {
        pg_args x = {0};

        pa_i64(&x, id);
        if (steps[i] == STORE_STEP_QUAR_INSERT) {
            pa_i64(&x, now);
            pa_i64(&x, actor);
        } else if (steps[i] == STORE_STEP_QUAR_HIDE || steps[i] == STORE_STEP_MSG_REMOVE) {
            pa_i64(&x, now > 0 ? now : 1);
        }
        rc = pg_run(q, PG_ADHOC, step_sql[steps[i]], &x, NULL);
    }
    /* A removal strips the alerts to their evidence, as a recall does; a
     * quarantine keeps their context for the review. */
    if (!rc && n && action == STORE_CONTAIN_REMOVE)
        rc = pg_alerts_redact(q, id, true);
    if (!rc && changed)
        *changed = n > 0;
done:
    rc = pg_end(q, rc);
    if (rc && changed)
        *changed = false;
    return rc;
}

/* PostgreSQL keeps the old row version with the text until VACUUM reuses
 * its space, and the write-ahead log until a checkpoint recycles the
 * segment; neither can be forced from a client without waiting, so there
 * is nothing to flush here: what stays in the files and the operator's
 * guidance (autovacuum, encrypted storage) are in docs/STORE.md. The rows
 * themselves are gone from every read the moment the transaction commits. */
int pg_erase_flush(store *s)
{
    pg *q = (pg *)s;

    return q->depth || q->in_tx ? STORE_INVAL : STORE_OK;
}

int pg_quarantine_text(store *s, int64_t id, char **text, size_t *len)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r;
    int rc;

    *text = NULL;
    *len = 0;
    pa_i64(&a, id);
    r = pg_exec(q, PG_ADHOC, "SELECT body FROM message_quarantine WHERE message_id = $1", &a, &rc);
    q->oom = false;
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        *text = pg_text(q, r, 0, 0);
        *len = *text ? (size_t)PQgetlength(r, 0, 0) : 0;
        if (q->oom)
            rc = STORE_NOMEM;
        else if (!*text)
            rc = STORE_NOTFOUND;
    }
    PQclear(r);
    return rc;
}

static int row_spread_member(pg *q, PGresult *r, int row, void *item)
{
    store_spread_member *x = item;

    x->conv_id = pg_i64(r, row, 0);
    x->kind = (store_conv_kind)pg_i64(r, row, 1);
    x->title = pg_text(q, r, row, 2);
    x->external = pg_bool(r, row, 3);
    x->shared_history = pg_bool(r, row, 4);
    x->user_id = pg_i64(r, row, 5);
    x->history_from = pg_i64(r, row, 6);
    x->read_id = pg_i64(r, row, 7);
    return STORE_OK;
}

int pg_spread_members(store *s, int64_t root_id, store_spread_member_rows *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, root_id);
    pa_i64(&a, SPREAD_MEMBERS_MAX + 1);
    rc = pg_list((pg *)s, PG_ADHOC,
                 "SELECT c.id, c.kind, c.title, c.external, c.shared_history, mb.user_id, "
                 "mb.history_from, mb.read_id FROM conversations c JOIN members mb ON "
                 "mb.conv_id = c.id WHERE c.id IN (SELECT conv_id FROM messages WHERE id = $1 OR "
                 "forward_origin_id = $1) ORDER BY c.id, mb.user_id LIMIT $2",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, row_spread_member);
    if (!rc && out->n > SPREAD_MEMBERS_MAX)
        rc = STORE_CONFLICT;
    if (rc)
        store_spread_member_rows_free(out);
    return rc;
}

/* ------------------------------------------------------ early warning */

int pg_spread_conversations(store *s, int64_t root_id, int64_t since, int64_t *out)
{
    pg_args a = {0};

    *out = 0;
    pa_i64(&a, root_id);
    pa_i64(&a, since);
    return pg_int((pg *)s, PG_ADHOC,
                  "SELECT count(DISTINCT conv_id) FROM messages WHERE (id = $1 OR "
                  "forward_origin_id = $1) AND created_at >= $2",
                  &a, out);
}

int pg_alert_count(store *s, const store_alert_count_query *qy, int64_t *out)
{
    pg_args a = {0};

    *out = 0;
    if (!qy || qy->since <= 0)
        return STORE_INVAL;
    pa_i64(&a, qy->since);
    pa_i64(&a, qy->user_id);
    pa_i64(&a, qy->conv_id);
    pa_i64(&a, qy->message_id);
    pa_text(&a, qy->category);
    pa_bool(&a, qy->attempts);
    pa_bool(&a, qy->delivered);
    return pg_int((pg *)s, PG_ADHOC,
                  "SELECT count(*) FROM alerts WHERE created_at >= $1 AND "
                  "($2::bigint = 0 OR user_id = $2) AND ($3::bigint = 0 OR conv_id = $3) AND "
                  "($4::bigint = 0 OR message_id = $4) AND ($5::text IS NULL OR category = $5) AND "
                  "(NOT $6::boolean OR verdict IN ('block', 'confirm') OR "
                  "category = 'guard.probing') AND (NOT $7::boolean OR (message_id IS NOT NULL "
                  "AND category NOT LIKE 'warning.%'))",
                  &a, out);
}

/* A report's rows (statistics, findings, groups): its bigint parameters
 * in order, every row read into the growing list. */
static int report_rows(store *s, const char *sql, const int64_t *params, int n_params, void **items,
                       size_t *n, size_t size, pg_row_fn *read)
{
    pg_args a = {0};

    for (int i = 0; i < n_params; i++)
        pa_i64(&a, params[i]);
    return pg_list((pg *)s, PG_ADHOC, sql, &a, items, n, size, read);
}

static int row_stat(pg *q, PGresult *r, int row, void *item)
{
    store_alert_stat *x = item;

    x->day = pg_i64(r, row, 0);
    x->category = pg_text(q, r, row, 1);
    x->rule = pg_text(q, r, row, 2);
    x->verdict = pg_text(q, r, row, 3);
    x->count = pg_i64(r, row, 4);
    return STORE_OK;
}

int pg_alert_stats(store *s, int64_t from, int64_t to, int64_t tz_offset_ms,
                   store_alert_stat_rows *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (!store_stats_window_ok(from, to) || !store_tz_offset_ok(tz_offset_ms))
        return STORE_INVAL;
    /* integer division truncates toward zero as SQLite's does; text sorts
     * by bytes and NULL rules first, as in SQLite */
    rc = report_rows(
        s,
        "SELECT (created_at + $3::bigint) / 86400000 * 86400000 - $3::bigint AS day, "
        "category, rule, verdict, count(*) FROM alerts WHERE created_at >= $1 AND "
        "created_at < $2 GROUP BY 1, category, rule, verdict ORDER BY 1, category COLLATE \"C\", "
        "rule COLLATE \"C\" NULLS FIRST, verdict COLLATE \"C\" LIMIT $4",
        (int64_t[]){from, to, tz_offset_ms, STORE_STATS_MAX}, 4, (void **)&out->items, &out->n,
        sizeof *out->items, row_stat);
    if (rc)
        store_alert_stat_rows_free(out);
    return rc;
}

/* ------------------------------------------ schema 9: personal data, groups */

static int row_personal(pg *q, PGresult *r, int row, void *item)
{
    store_personal_row *x = item;

    (void)q;
    x->message_id = pg_i64(r, row, 0);
    x->conv_id = pg_i64(r, row, 1);
    x->alert_id = pg_i64(r, row, 2);
    x->findings = pg_i64(r, row, 3);
    return STORE_OK;
}

int pg_personal_findings(store *s, int64_t user_id, int64_t since, store_personal_rows *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (user_id <= 0 || since <= 0)
        return STORE_INVAL;
    /* findings are canonical JSON written by the store: an array, or an
     * object that counts as no finding here (as SQLite's json_each of an
     * object yields no element with a category) */
    rc =
        report_rows(s,
                    "SELECT message_id, conv_id, id, n FROM (SELECT a.id, a.message_id, a.conv_id, "
                    "(SELECT count(*) FROM jsonb_array_elements(CASE WHEN jsonb_typeof("
                    "a.findings::jsonb) = 'array' THEN a.findings::jsonb ELSE '[]'::jsonb END) j "
                    "WHERE j->>'category' = 'pii') AS n FROM alerts a WHERE a.user_id = $1 AND "
                    "a.created_at >= $2 AND a.message_id IS NOT NULL AND a.kind IS NULL AND "
                    "a.verdict <> 'mask' AND a.category NOT LIKE 'warning.%') x WHERE n > 0 "
                    "ORDER BY id LIMIT $3",
                    (int64_t[]){user_id, since, STORE_PERSONAL_MAX}, 3, (void **)&out->items,
                    &out->n, sizeof *out->items, row_personal);
    if (rc) {
        free(out->items);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

static int row_group(pg *q, PGresult *r, int row, void *item)
{
    store_alert_group *x = item;

    x->department = pg_text(q, r, row, 0);
    x->conv_id = pg_i64(r, row, 1);
    x->conv_title = pg_text(q, r, row, 2);
    x->conv_kind = (int)pg_i64(r, row, 3);
    x->category = pg_text(q, r, row, 4);
    x->count = pg_i64(r, row, 5);
    return STORE_OK;
}

int pg_alert_groups(store *s, int64_t from, int64_t to, store_alert_group_rows *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (!store_stats_window_ok(from, to))
        return STORE_INVAL;
    /* grouped by the conversation's key (its title and kind follow it);
     * ties in the count in the order SQLite's grouping leaves them (NULL
     * first, text by bytes), so both backends list the same rows at the
     * limit */
    rc = report_rows(s,
                     "SELECT u.department, coalesce(a.conv_id, 0), c.title, coalesce(c.kind, 0), "
                     "a.category, count(*) FROM alerts a LEFT JOIN users u ON u.id = a.user_id "
                     "LEFT JOIN conversations c ON c.id = a.conv_id WHERE a.created_at >= $1 AND "
                     "a.created_at < $2 GROUP BY u.department, a.conv_id, c.id, a.category "
                     "ORDER BY 6 DESC, u.department COLLATE \"C\" NULLS FIRST, 2, "
                     "a.category COLLATE \"C\" LIMIT $3",
                     (int64_t[]){from, to, STORE_STATS_MAX}, 3, (void **)&out->items, &out->n,
                     sizeof *out->items, row_group);
    if (rc)
        store_alert_group_rows_free(out);
    return rc;
}

/* The gap fill's recalls older than its floor (store.h): recalled_at has
 * no index, so this scans the table; it runs once a bus gap, on a worker. */
int pg_message_recalled_since(store *s, int64_t since, int64_t max_id, int limit,
                              store_messages *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 1 || limit > 5000 || since < 1)
        return STORE_INVAL;
    pa_i64(&a, since);
    pa_i64(&a, max_id);
    pa_i64(&a, limit);
    rc = pg_list((pg *)s, PG_ADHOC,
                 "SELECT " PG_MSG_COLS
                 " FROM messages m WHERE m.recalled_at > 0 AND m.recalled_at >= $1 "
                 "AND m.id <= $2 "
                 "ORDER BY m.id LIMIT $3",
                 &a, (void **)&out->items, &out->n, sizeof *out->items, pg_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}
