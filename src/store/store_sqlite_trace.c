/*
 * store_sqlite_trace.c — the SQLite backend's trace and contain (schema
 * version 6, docs/STORE.md "Trace and contain"): the spread of a message
 * by its forward provenance, and an officer's removal, quarantine and
 * restore of one message. The writer contains many copies in one
 * store_tx; each call here is one savepoint of it. Also the counts the
 * early-warning rules ask for and the dashboard's statistics.
 */
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

int sq_message_spread(store *s, const store_spread_query *qy, store_messages *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int limit, rc;

    memset(out, 0, sizeof *out);
    if (!qy || qy->root_id <= 0 || qy->limit < 0 || qy->limit > STORE_SPREAD_MAX)
        return STORE_INVAL;
    limit = qy->limit ? qy->limit : STORE_SPREAD_MAX;
    st = sq_stmt(q, SQ_MSG_SPREAD);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, qy->root_id);
    sqlite3_bind_int(st, 2, limit);
    q->oom = false;
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, sq_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}

int sq_export_bind(sqlite3_stmt *st, const store_export_query *q)
{
    if ((q->conv_id > 0) == (q->user_id > 0) || q->from >= q->to || q->after < 0 || q->limit < 0 ||
        q->limit > STORE_EXPORT_PAGE_MAX)
        return STORE_INVAL;
    sqlite3_bind_int64(st, 1, q->conv_id > 0 ? q->conv_id : q->user_id);
    sqlite3_bind_int64(st, 2, q->after);
    sqlite3_bind_int64(st, 3, q->from);
    sqlite3_bind_int64(st, 4, q->to);
    sqlite3_bind_int(st, 5, q->limit ? q->limit : STORE_EXPORT_PAGE_MAX);
    return STORE_OK;
}

int sq_message_export(store *s, const store_export_query *qy, store_messages *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!qy || (qy->conv_id > 0) == (qy->user_id > 0))
        return STORE_INVAL;
    st = sq_stmt(q, qy->conv_id > 0 ? SQ_MSG_EXPORT_CONV : SQ_MSG_EXPORT_USER);
    if (!st)
        return sq_prep_rc(q);
    rc = sq_export_bind(st, qy);
    q->oom = false;
    if (!rc)
        rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, sq_row_message);
    else
        sqlite3_reset(st);
    if (rc)
        store_messages_free(out);
    return rc;
}

/* The statement of each containment step (store_contain_steps). */
static const int step_stmt[] = {
    [STORE_STEP_QUAR_INSERT] = SQ_QUAR_INSERT,   [STORE_STEP_QUAR_HIDE] = SQ_QUAR_HIDE,
    [STORE_STEP_QUAR_RESTORE] = SQ_QUAR_RESTORE, [STORE_STEP_QUAR_DELETE] = SQ_QUAR_DELETE,
    [STORE_STEP_MSG_REMOVE] = SQ_MSG_REMOVE,
};

int sq_message_contain(store *s, int64_t id, store_contain_action action, int64_t actor,
                       int64_t now, bool *changed)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int64_t recalled_at = 0;
    int contained = 0, n = 0, rc;
    store_contain_step steps[2];

    if (changed)
        *changed = false;
    rc = sq_begin(q);
    if (rc)
        return rc;
    st = sq_stmt(q, SQ_MSG_STATE);
    if (!st) {
        rc = sq_prep_rc(q);
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    rc = sq_step_row(q, st);
    if (!rc) {
        recalled_at = sqlite3_column_int64(st, 0);
        contained = sqlite3_column_int(st, 1);
    }
    sq_done(st);
    if (rc)
        goto done;
    n = store_contain_steps(action, recalled_at, contained, steps);
    if (n < 0) {
        rc = STORE_INVAL;
        goto done;
    }
    for (int i = 0; i < n && !rc; i++) {
        int stmt = step_stmt[steps[i]];

        switch (steps[i]) {
        case STORE_STEP_QUAR_INSERT:
            rc = sq_run_ids(q, stmt, id, now, actor, 3);
            break;
        case STORE_STEP_QUAR_HIDE:
        case STORE_STEP_MSG_REMOVE:
            rc = sq_run_ids(q, stmt, id, now > 0 ? now : 1, 0, 2);
            break;
        default:
            rc = sq_run_ids(q, stmt, id, 0, 0, 1);
        }
    }
    /* A removal strips the alerts to their evidence, as a recall does; a
     * quarantine keeps their context for the review. */
    if (!rc && n && action == STORE_CONTAIN_REMOVE)
        rc = sq_alerts_redact(q, id);
    if (!rc && changed)
        *changed = n > 0;
done:
    rc = sq_end(q, rc);
    if (rc && changed)
        *changed = false;
    if (!rc && n && action == STORE_CONTAIN_REMOVE && q->depth == 0)
        sq_erase_flush(s);
    return rc;
}

int sq_quarantine_text(store *s, int64_t id, char **text, size_t *len)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_QUAR_TEXT);
    int rc;

    *text = NULL;
    *len = 0;
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    q->oom = false;
    rc = sq_step_row(q, st);
    if (!rc) {
        *text = sq_col_text(q, st, 0);
        *len = *text ? (size_t)sqlite3_column_bytes(st, 0) : 0;
        if (q->oom)
            rc = STORE_NOMEM;
        else if (!*text)
            rc = STORE_NOTFOUND;
    }
    sq_done(st);
    return rc;
}

static int row_spread_member(sq *q, sqlite3_stmt *st, void *item)
{
    store_spread_member *x = item;

    x->conv_id = sqlite3_column_int64(st, 0);
    x->kind = (store_conv_kind)sqlite3_column_int(st, 1);
    x->title = sq_col_text(q, st, 2);
    x->external = sqlite3_column_int(st, 3);
    x->shared_history = sqlite3_column_int(st, 4);
    x->user_id = sqlite3_column_int64(st, 5);
    x->history_from = sqlite3_column_int64(st, 6);
    x->read_id = sqlite3_column_int64(st, 7);
    return STORE_OK;
}

#define SPREAD_MEMBERS_MAX (STORE_SPREAD_MAX * 4)

int sq_spread_members(store *s, int64_t root_id, store_spread_member_rows *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_SPREAD_MEMBERS);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, root_id);
    sqlite3_bind_int(st, 2, SPREAD_MEMBERS_MAX + 1);
    q->oom = false;
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_spread_member);
    if (!rc && out->n > SPREAD_MEMBERS_MAX)
        rc = STORE_CONFLICT;
    if (rc)
        store_spread_member_rows_free(out);
    return rc;
}

/* ------------------------------------------------------ early warning */

int sq_spread_conversations(store *s, int64_t root_id, int64_t since, int64_t *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_SPREAD_CONVS);
    int rc;

    *out = 0;
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, root_id);
    sqlite3_bind_int64(st, 2, since);
    rc = sq_step_row(q, st);
    if (!rc)
        *out = sqlite3_column_int64(st, 0);
    sq_done(st);
    return rc;
}

int sq_alert_count(store *s, const store_alert_count_query *qy, int64_t *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    *out = 0;
    if (!qy || qy->since <= 0)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_ALERT_COUNT);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, qy->since);
    sqlite3_bind_int64(st, 2, qy->user_id);
    sqlite3_bind_int64(st, 3, qy->conv_id);
    sqlite3_bind_int64(st, 4, qy->message_id);
    sq_bind_text(st, 5, qy->category);
    sqlite3_bind_int(st, 6, qy->attempts);
    sqlite3_bind_int(st, 7, qy->delivered);
    rc = sq_step_row(q, st);
    if (!rc)
        *out = sqlite3_column_int64(st, 0);
    sq_done(st);
    return rc;
}

static int row_stat(sq *q, sqlite3_stmt *st, void *item)
{
    store_alert_stat *x = item;

    x->day = sqlite3_column_int64(st, 0);
    x->category = sq_col_text(q, st, 1);
    x->rule = sq_col_text(q, st, 2);
    x->verdict = sq_col_text(q, st, 3);
    x->count = sqlite3_column_int64(st, 4);
    return STORE_OK;
}

int sq_alert_stats(store *s, int64_t from, int64_t to, int64_t tz_offset_ms,
                   store_alert_stat_rows *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!store_stats_window_ok(from, to) || !store_tz_offset_ok(tz_offset_ms))
        return STORE_INVAL;
    st = sq_stmt(q, SQ_ALERT_STATS);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, tz_offset_ms);
    sqlite3_bind_int(st, 4, STORE_STATS_MAX);
    q->oom = false;
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_stat);
    if (rc)
        store_alert_stat_rows_free(out);
    return rc;
}

static int row_personal(sq *q, sqlite3_stmt *st, void *item)
{
    store_personal_row *x = item;

    (void)q;
    x->message_id = sqlite3_column_int64(st, 0);
    x->conv_id = sqlite3_column_int64(st, 1);
    x->alert_id = sqlite3_column_int64(st, 2);
    x->findings = sqlite3_column_int64(st, 3);
    return STORE_OK;
}

int sq_personal_findings(store *s, int64_t user_id, int64_t since, store_personal_rows *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (user_id <= 0 || since <= 0)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_PERSONAL_FINDINGS);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int(st, 3, STORE_PERSONAL_MAX);
    q->oom = false;
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_personal);
    if (rc) {
        free(out->items);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

static int row_group(sq *q, sqlite3_stmt *st, void *item)
{
    store_alert_group *x = item;

    x->department = sq_col_text(q, st, 0);
    x->conv_id = sqlite3_column_int64(st, 1);
    x->conv_title = sq_col_text(q, st, 2);
    x->conv_kind = sqlite3_column_int(st, 3);
    x->category = sq_col_text(q, st, 4);
    x->count = sqlite3_column_int64(st, 5);
    return STORE_OK;
}

int sq_alert_groups(store *s, int64_t from, int64_t to, store_alert_group_rows *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!store_stats_window_ok(from, to))
        return STORE_INVAL;
    st = sq_stmt(q, SQ_ALERT_GROUPS);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int(st, 3, STORE_STATS_MAX);
    q->oom = false;
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_group);
    if (rc)
        store_alert_group_rows_free(out);
    return rc;
}

/* The gap fill's recalls older than its floor (store.h): recalled_at has
 * no index, so this scans the table; it runs once a bus gap, on a worker. */
int sq_message_recalled_since(store *s, int64_t since, int64_t max_id, int limit,
                              store_messages *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 1 || limit > 5000 || since < 1)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_MSG_RECALLED_SINCE);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, max_id);
    sqlite3_bind_int(st, 3, limit);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, sq_row_message);
    if (rc)
        store_messages_free(out);
    return rc;
}
