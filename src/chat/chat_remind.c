/*
 * chat_remind.c — scheduled reminders (chat_remind.h), in the domain's
 * stages:
 *
 *   plan (worker)     create/edit: the caller is a member (the creator, to
 *                     edit or cancel); time, zone, repeat and whom it
 *                     reminds are checked; the text passes the guard with
 *                     the conversation's scope.
 *                     fire: whom it reminds now (members at this moment),
 *                     the next occurrence, and a send of kind "reminder"
 *                     (chat_send.c: inspected again with today's scope).
 *   commit (writer)   the reminder row (kind "reminder" below); a fired
 *                     one moves on in the card's own transaction.
 *   publish (writer)  the answer; reminder.due to the people reminded;
 *                     reminder.created|updated|deleted|fired (ids only)
 *                     to the conversation's members, whose open lists
 *                     read themselves again.
 *
 * Time zones: the wall-clock arithmetic of repeats (the same local time
 * tomorrow, next Monday, across a daylight-saving change) needs the
 * creator's zone. glibc converts only through the process-wide TZ
 * variable (setenv + tzset + localtime_r), which is neither thread-safe
 * nor per call; ICU's ucal calendar (libicu, Debian) takes the zone per
 * calendar object, so every worker can compute in its own.
 */
#include "chat_remind.h"

#include "cordon/guard_file.h"

#include "chat_cache.h"
#include "chat_event.h"
#include "chat_json.h"
#include "chat_member.h"
#include "chat_send.h"

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TZ      64
#define MAX_TARGETS 500
#define DAY_MS      86400000LL
/* Reminders are for the coming months, not for decades. */
#define MAX_AHEAD_MS (400LL * DAY_MS)

/* ---- time zones (ICU) ---------------------------------------------------- */

static UCalendar *cal_open(const char *tz)
{
    UChar id[MAX_TZ + 1], canon[MAX_TZ * 2];
    UErrorCode err = U_ZERO_ERROR;
    UBool sys = 0;
    UCalendar *cal;

    if (!tz || !*tz || strlen(tz) > MAX_TZ)
        return NULL;
    u_uastrncpy(id, tz, MAX_TZ);
    id[MAX_TZ] = 0;
    /* An unknown id would silently become GMT: refuse it instead. */
    ucal_getCanonicalTimeZoneID(id, -1, canon, MAX_TZ * 2, &sys, &err);
    if (U_FAILURE(err) || !sys)
        return NULL;
    cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &err);
    if (U_FAILURE(err)) {
        if (cal)
            ucal_close(cal);
        return NULL;
    }
    return cal;
}

bool chat_remind_tz_valid(const char *tz)
{
    UCalendar *cal = cal_open(tz);

    if (cal)
        ucal_close(cal);
    return cal != NULL;
}

/* The occurrence k steps (days) after `at`, at the same local time. */
static int64_t occurrence(UCalendar *cal, int64_t at, int64_t days, bool *weekend)
{
    UErrorCode err = U_ZERO_ERROR;
    int dow;

    ucal_setMillis(cal, (UDate)at, &err);
    if (days)
        ucal_add(cal, UCAL_DATE, (int32_t)days, &err);
    dow = ucal_get(cal, UCAL_DAY_OF_WEEK, &err);
    *weekend = dow == UCAL_SATURDAY || dow == UCAL_SUNDAY;
    return U_FAILURE(err) ? -1 : (int64_t)ucal_getMillis(cal, &err);
}

int chat_remind_next(int64_t at, store_remind_repeat rep, const char *tz, int64_t after,
                     int64_t *next)
{
    UCalendar *cal = cal_open(tz);
    int64_t step = rep == STORE_REMIND_WEEKLY ? 7 : 1, k = 0, t = at;
    bool weekend = false;

    *next = 0;
    if (!cal)
        return -1;
    if (rep == STORE_REMIND_ONCE) {
        *next = at > after ? at : 0;
        ucal_close(cal);
        return 0;
    }
    /* Jump close to `after` at once (a reminder due while the server was
     * down for weeks), then step: a day is 23–25 hours, so start a step
     * early. */
    if (after > at)
        k = ((after - at) / DAY_MS / step - 1) * step;
    if (k < 0)
        k = 0;
    for (int guard = 0; guard < 16; guard++, k += step) {
        t = occurrence(cal, at, k, &weekend);
        if (t < 0)
            break;
        if (t > after && !(rep == STORE_REMIND_WORKDAYS && weekend)) {
            *next = t;
            break;
        }
    }
    ucal_close(cal);
    return *next ? 0 : -1;
}

/* ---- the commit: the reminder row ----------------------------------------- */

typedef enum rem_op { REM_CREATE, REM_UPDATE, REM_DELETE, REM_ADVANCE } rem_op;

typedef struct rem_commit {
    chat_commit base; /* first */
    const chat *chat;
    rem_op op;
    int64_t id, conv_id; /* conv_id: whose members hear of the change */
    store_reminder_new r;
    char *text, *tz, *target_ids; /* owned, behind r's pointers */
    int rc;
} rem_commit;

static const chat_commit_kind rem_kind;

static void rem_free(chat_commit *c)
{
    rem_commit *r = (rem_commit *)c;

    if (!r)
        return;
    free(r->text);
    free(r->tz);
    free(r->target_ids);
    chat_outcome_clear(&r->base.outcome);
    free(r);
}

static rem_commit *rem_new(const chat_env *e, rem_op op, int64_t id)
{
    rem_commit *r = calloc(1, sizeof *r);

    if (r) {
        r->base.kind = &rem_kind;
        r->chat = e->chat;
        r->op = op;
        r->id = id;
    }
    return r;
}

static int rem_write(store *st, void *arg)
{
    rem_commit *r = arg;
    switch (r->op) {
    case REM_CREATE:
        return store_reminder_create(st, &r->r, &r->id);
    case REM_DELETE:
        return store_reminder_delete(st, r->id);
    case REM_UPDATE:
    case REM_ADVANCE:
        return store_reminder_update(st, r->id, &r->r);
    }
    return STORE_INVAL;
}

static void rem_commit_all(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        rem_commit *r = (rem_commit *)items[i];

        r->r.now = chat_now_ms();
        r->rc = chat_retry_busy(st, rem_write, r);
    }
}

/* reminder.created|updated|deleted|fired to the conversation's members,
 * with ids only: a client with the list open reads it again through GET
 * /conversations/{id}/reminders, which shows each member only the
 * reminders they made or that remind them (so no text leaks here). */
static void announce_ids(const chat *c, store *st, int64_t conv_id, int64_t id, const char *name)
{
    if (conv_id)
        chat_publish_conv(c, st, conv_id, name,
                          json_pack("{s:I,s:I}", "conversation_id", (json_int_t)conv_id,
                                    "reminder_id", (json_int_t)id));
}

static void announce(const rem_commit *r, store *st)
{
    static const char *const names[] = {[REM_CREATE] = "reminder.created",
                                        [REM_UPDATE] = "reminder.updated",
                                        [REM_DELETE] = "reminder.deleted",
                                        [REM_ADVANCE] = "reminder.fired"};

    announce_ids(r->chat, st, r->conv_id, r->id, names[r->op]);
}

static void rem_publish(chat_commit **items, size_t n, store *st)
{
    for (size_t i = 0; i < n; i++) {
        rem_commit *r = (rem_commit *)items[i];
        chat_env e = {.chat = r->chat, .st = st};
        store_reminder got = {0};

        if (r->rc == STORE_NOTFOUND)
            chat_fail(&r->base.outcome, 404, "not_found", "no such reminder");
        else if (r->rc)
            chat_fail_store(&e, &r->base.outcome, r->rc, "reminder");
        else if (r->op == REM_DELETE || r->op == REM_ADVANCE) {
            r->base.outcome.status = 204;
            announce(r, st);
        } else if (!store_reminder_get(st, r->id, &got)) {
            r->base.outcome.status = r->op == REM_CREATE ? 201 : 200;
            r->base.outcome.extra = json_pack("{s:o}", "reminder", chat_json_reminder(&got));
            announce(r, st);
        } else
            chat_fail(&r->base.outcome, 500, "internal", "the reminder could not be read back");
        store_reminder_clear(&got);
        if (r->base.done)
            r->base.done(&r->base, r->base.arg);
        else
            rem_free(&r->base);
    }
}

static const chat_commit_kind rem_kind = {
    .name = "reminder",
    .commit = rem_commit_all,
    .publish = rem_publish,
    .free = rem_free,
};

/* ---- JSON ----------------------------------------------------------------- */

json_t *chat_json_reminder(const store_reminder *r)
{
    json_t *ids = r->target_ids ? json_loads(r->target_ids, 0, NULL) : NULL;

    return json_pack("{s:I,s:I,s:I,s:s,s:I,s:s,s:s,s:s,s:o,s:b,s:I,s:I,s:I,s:I}", "id",
                     (json_int_t)r->id, "conversation_id", (json_int_t)r->conv_id, "creator_id",
                     (json_int_t)r->creator_id, "text", r->text ? r->text : "", "at",
                     (json_int_t)r->at, "repeat", store_remind_repeat_name(r->repeat), "tz",
                     r->tz ? r->tz : "UTC", "target", store_remind_target_name(r->target),
                     "member_ids", ids ? ids : json_array(), "active", r->active, "fired_count",
                     (json_int_t)r->fired_count, "last_fired_at", (json_int_t)r->last_fired_at,
                     "created_at", (json_int_t)r->created_at, "updated_at",
                     (json_int_t)r->updated_at);
}

/* ---- plan: create and edit ---------------------------------------------- */

/* The member ids of a "members" target, each a member of conv: a JSON
 * array text in *out. */
static int plan_targets(const chat_conv_snap *conv, const json_t *members, char **out,
                        chat_outcome *o)
{
    json_t *ids = json_array();
    size_t i;
    json_t *v;

    *out = NULL;
    if (!json_is_array(members) || !json_array_size(members) ||
        json_array_size(members) > MAX_TARGETS) {
        chat_fail(o, 422, "invalid", "member_ids must list 1..%d members", MAX_TARGETS);
        goto fail;
    }
    json_array_foreach(members, i, v)
    {
        if (!json_is_integer(v) || !chat_conv_snap_has(conv, json_integer_value(v))) {
            chat_fail(o, 422, "invalid", "member_ids must be members of the conversation");
            goto fail;
        }
        json_array_append(ids, v);
    }
    *out = json_dumps(ids, JSON_COMPACT);
    if (!*out)
        chat_fail(o, 500, "internal", "out of memory");
fail:
    json_decref(ids);
    return *out ? 0 : -1;
}

/* The guard on the text, with the conversation's scope: refused text is
 * never stored. *masked: the text to keep (the masked copy for mask). */
static int plan_inspect(const chat_env *e, const char *text, size_t len, bool external, char **keep,
                        chat_outcome *o)
{
    guard_ruleset *rs = guard_engine_acquire(e->chat->engine);
    guard_result *res = NULL;
    guard_error gerr;
    int rc = guard_file_scan_message(e->scanner, rs, text, len,
                                     external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL, NULL,
                                     &res, &gerr);

    guard_ruleset_unref(rs);
    *keep = NULL;
    if (rc != GUARD_OK) {
        chat_log(e->chat, CHAT_LOG_ERROR, "guard", "reminder scan failed: %s", gerr.message);
        chat_fail(o, 503, "unavailable", "the reminder could not be inspected; retry");
        return -1;
    }
    if (res->verdict == GUARD_BLOCK || res->verdict == GUARD_CONFIRM) {
        chat_fail(o, res->verdict == GUARD_BLOCK ? 403 : 409,
                  res->verdict == GUARD_BLOCK ? "guard_blocked" : "guard_confirm",
                  "the reminder's text is refused by the confidentiality policy");
        o->extra = json_pack("{s:o}", "guard", chat_json_guard(res));
    } else if (res->verdict == GUARD_MASK && res->masked)
        *keep = strndup(res->masked, res->masked_len);
    else
        *keep = strndup(text, len);
    if (!*keep && !o->code)
        chat_fail(o, 500, "internal", "out of memory");
    guard_result_free(res);
    return *keep ? 0 : -1;
}

/* Checks and fills c->r from in over base (the stored reminder for an
 * edit, zero for a create). */
static int plan_fields(const chat_env *e, rem_commit *c, const chat_remind_in *in,
                       const store_reminder *base, const chat_conv_snap *conv, int64_t now,
                       chat_outcome *o)
{
    int repeat = in->repeat ? store_remind_repeat_parse(in->repeat) : (int)base->repeat;
    int target = in->target ? store_remind_target_parse(in->target) : (int)base->target;
    const char *tz = in->tz ? in->tz : base->tz ? base->tz : "UTC";
    int64_t at = in->at ? in->at : base->at, first = 0;

    if (repeat < 0 || target < 0) {
        chat_fail(o, 422, "invalid", "repeat is once|daily|workdays|weekly, target me|members|all");
        return -1;
    }
    if (!chat_remind_tz_valid(tz)) {
        chat_fail(o, 422, "invalid_tz", "unknown time zone");
        return -1;
    }
    /* The first occurrence: at itself, or (workdays) the next workday. */
    if (at <= 0 || at > now + MAX_AHEAD_MS ||
        chat_remind_next(at, (store_remind_repeat)repeat, tz, at - 1, &first) || !first) {
        chat_fail(o, 422, "invalid_time", "the time must be within the next 400 days");
        return -1;
    }
    if (in->at && first <= now - (int64_t)e->chat->lim.remind_late_seconds * 1000) {
        chat_fail(o, 422, "invalid_time", "the time is in the past");
        return -1;
    }
    if (in->text) {
        if (!in->len || in->len > e->chat->lim.max_message_bytes) {
            chat_fail(o, 422, "invalid", "a reminder has 1..%zu bytes of text",
                      e->chat->lim.max_message_bytes);
            return -1;
        }
        if (plan_inspect(e, in->text, in->len, conv->external, &c->text, o))
            return -1;
    } else if (!(c->text = strdup(base->text ? base->text : ""))) {
        chat_fail(o, 500, "internal", "out of memory");
        return -1;
    }
    /* chosen members: given now, or kept from an edited reminder that had them */
    if (target == STORE_REMIND_MEMBERS &&
        (in->members || !base->target_ids || base->target != STORE_REMIND_MEMBERS)) {
        if (plan_targets(conv, in->members, &c->target_ids, o))
            return -1;
    } else
        c->target_ids = strdup(target == STORE_REMIND_MEMBERS ? base->target_ids : "[]");
    c->tz = strdup(tz);
    if (!c->target_ids || !c->tz) {
        chat_fail(o, 500, "internal", "out of memory");
        return -1;
    }
    c->r = (store_reminder_new){.conv_id = conv->conv_id,
                                .creator_id = base->creator_id,
                                .text = c->text,
                                .at = first,
                                .repeat = (store_remind_repeat)repeat,
                                .tz = c->tz,
                                .target = (store_remind_target)target,
                                .target_ids = c->target_ids,
                                .active = true};
    return 0;
}

/* The conversation's members and scope, the caller one of them. */
static int plan_member(const chat_env *e, const chat_caller *who, int64_t conv_id,
                       chat_conv_snap **conv, chat_outcome *o)
{
    int rc = chat_cache_get(e->chat->cache, e->st, conv_id, conv);

    if (rc == STORE_NOTFOUND || (!rc && !chat_conv_snap_has(*conv, who->id))) {
        chat_fail(o, 404, "not_found", "no such conversation");
        return -1;
    }
    if (rc)
        chat_fail_store(e, o, rc, "reminder: conversation");
    return rc ? -1 : 0;
}

int chat_remind_create_plan(const chat_env *e, const chat_caller *who, int64_t conv_id,
                            const chat_remind_in *in, int64_t now, chat_commit **out,
                            chat_outcome *o)
{
    store_reminder base = {.creator_id = who->id, .conv_id = conv_id};
    chat_conv_snap *conv = NULL;
    rem_commit *c = NULL;
    int ret = -1;

    *out = NULL;
    if (!in->text || !in->at) {
        chat_fail(o, 422, "invalid", "text and at are required");
        goto out;
    }
    if (plan_member(e, who, conv_id, &conv, o))
        goto out;
    c = rem_new(e, REM_CREATE, 0);
    if (c)
        c->conv_id = conv_id;
    if (!c) {
        chat_fail(o, 500, "internal", "out of memory");
        goto out;
    }
    if (plan_fields(e, c, in, &base, conv, now, o))
        goto out;
    *out = &c->base;
    c = NULL;
    ret = 0;
out:
    rem_free(c ? &c->base : NULL);
    chat_conv_snap_unref(conv);
    return ret;
}

/* The reminder, for its creator: 404 for non-members, 403 for others. */
static int plan_own(const chat_env *e, const chat_caller *who, int64_t id, store_reminder *r,
                    chat_conv_snap **conv, chat_outcome *o)
{
    int rc = store_reminder_get(e->st, id, r);

    if (rc == STORE_NOTFOUND || (!rc && !r->active)) {
        chat_fail(o, 404, "not_found", "no such reminder");
        return -1;
    }
    if (rc) {
        chat_fail_store(e, o, rc, "reminder");
        return -1;
    }
    if (plan_member(e, who, r->conv_id, conv, o)) {
        if (o->status == 404)
            chat_fail(o, 404, "not_found", "no such reminder");
        return -1;
    }
    if (r->creator_id != who->id) {
        chat_fail(o, 403, "forbidden", "only its creator can change a reminder");
        return -1;
    }
    return 0;
}

int chat_remind_update_plan(const chat_env *e, const chat_caller *who, int64_t id,
                            const chat_remind_in *in, int64_t now, chat_commit **out,
                            chat_outcome *o)
{
    store_reminder base = {0};
    chat_conv_snap *conv = NULL;
    rem_commit *c = NULL;
    int ret = -1;

    *out = NULL;
    if (plan_own(e, who, id, &base, &conv, o))
        goto out;
    c = rem_new(e, REM_UPDATE, id);
    if (c)
        c->conv_id = base.conv_id;
    if (!c) {
        chat_fail(o, 500, "internal", "out of memory");
        goto out;
    }
    if (plan_fields(e, c, in, &base, conv, now, o))
        goto out;
    *out = &c->base;
    c = NULL;
    ret = 0;
out:
    rem_free(c ? &c->base : NULL);
    chat_conv_snap_unref(conv);
    store_reminder_clear(&base);
    return ret;
}

int chat_remind_delete_plan(const chat_env *e, const chat_caller *who, int64_t id,
                            chat_commit **out, chat_outcome *o)
{
    store_reminder base = {0};
    chat_conv_snap *conv = NULL;
    rem_commit *c = NULL;

    *out = NULL;
    if (!plan_own(e, who, id, &base, &conv, o)) {
        c = rem_new(e, REM_DELETE, id);
        if (c) {
            c->conv_id = base.conv_id;
            *out = &c->base;
        } else
            chat_fail(o, 500, "internal", "out of memory");
    }
    chat_conv_snap_unref(conv);
    store_reminder_clear(&base);
    return c ? 0 : -1;
}

/* Whether user is one of r's chosen members. */
static bool chosen(const store_reminder *r, int64_t user)
{
    json_t *ids, *v;
    size_t i;
    bool yes = false;

    if (r->target != STORE_REMIND_MEMBERS || !r->target_ids)
        return false;
    ids = json_loads(r->target_ids, 0, NULL);
    json_array_foreach(ids, i, v) yes = yes || json_integer_value(v) == user;
    json_decref(ids);
    return yes;
}

/* Whether user may see r: its creator, and the people it reminds. */
static bool reminds(const store_reminder *r, int64_t user)
{
    return r->creator_id == user || r->target == STORE_REMIND_ALL || chosen(r, user);
}

json_t *chat_remind_list(const chat_env *e, const chat_caller *who, int64_t conv_id,
                         chat_outcome *o)
{
    store_reminders l = {0};
    chat_conv_snap *conv = NULL;
    json_t *arr = NULL;
    int rc;

    if (plan_member(e, who, conv_id, &conv, o))
        return NULL;
    chat_conv_snap_unref(conv);
    rc = store_reminder_list(e->st, conv_id, &l);
    if (rc) {
        chat_fail_store(e, o, rc, "reminders");
        return NULL;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++)
        if (reminds(&l.items[i], who->id))
            json_array_append_new(arr, chat_json_reminder(&l.items[i]));
    store_reminders_free(&l);
    return json_pack("{s:o}", "reminders", arr);
}

/* ---- fire ------------------------------------------------------------------ */

/* What a delivered card still has to do after its publish: tell the
 * people reminded. */
typedef struct fire_note {
    const chat *chat;
    int64_t conv_id, reminder_id;
    bool late;
    int64_t *users;
    size_t n;
    int64_t *members; /* everyone in the conversation: reminder.fired (ids) */
    size_t n_members;
} fire_note;

static void fire_done(chat_commit *c, void *arg)
{
    fire_note *f = arg;
    const store_message *m = chat_send_message(c);
    json_t *body = NULL;

    /* 201 only: a repeat (200) was announced the first time. */
    if (m && c->outcome.status == 201 && f->n) {
        body =
            json_pack("{s:I,s:I,s:I,s:s%,s:b}", "conversation_id", (json_int_t)f->conv_id,
                      "message_id", (json_int_t)m->id, "reminder_id", (json_int_t)f->reminder_id,
                      "text", m->text ? m->text : "", m->text ? m->text_len : 0, "late", f->late);
        if (body) {
            chat_event ev = {.type = CHAT_EV_CONVERSATION,
                             .audience = CHAT_TO_USERS,
                             .conv_id = f->conv_id,
                             .msg_id = m->id,
                             .name = "reminder.due",
                             .body = body,
                             .users = f->users,
                             .n_users = f->n};

            chat_publish(f->chat->bus, &ev);
        }
        json_decref(body);
    }
    if (m && c->outcome.status == 201 && f->n_members) {
        /* the lists open in the conversation move on too (ids only) */
        json_t *ids = json_pack("{s:I,s:I}", "conversation_id", (json_int_t)f->conv_id,
                                "reminder_id", (json_int_t)f->reminder_id);
        chat_event ev = {.type = CHAT_EV_CONVERSATION,
                         .audience = CHAT_TO_USERS,
                         .conv_id = f->conv_id,
                         .name = "reminder.fired",
                         .body = ids,
                         .users = f->members,
                         .n_users = f->n_members};

        if (ids)
            chat_publish(f->chat->bus, &ev);
        json_decref(ids);
    }
    chat_commit_free(c);
    free(f->users);
    free(f->members);
    free(f);
}

/* The people r reminds now: members at this moment (who left is not
 * reminded). *users heap. */
static int fire_targets(const store_reminder *r, const store_members *ml, int64_t **users,
                        size_t *n)
{
    *n = 0;
    *users = calloc(ml->n ? ml->n : 1, sizeof **users);
    if (!*users)
        return -1;
    for (size_t i = 0; i < ml->n; i++) {
        int64_t u = ml->items[i].user_id;

        if (r->target == STORE_REMIND_ALL || chosen(r, u) ||
            (r->target == STORE_REMIND_ME && u == r->creator_id))
            (*users)[(*n)++] = u;
    }
    return 0;
}

/* The reminder moved on to next (0: done), without a card. */
static chat_commit *advance(const chat_env *e, const store_reminder *r, int64_t next)
{
    rem_commit *c = rem_new(e, REM_ADVANCE, r->id);

    if (c)
        c->conv_id = r->conv_id;

    if (!c || !(c->text = strdup(r->text ? r->text : "")) ||
        !(c->tz = strdup(r->tz ? r->tz : "UTC")) ||
        !(c->target_ids = strdup(r->target_ids ? r->target_ids : "[]"))) {
        rem_free(c ? &c->base : NULL);
        return NULL;
    }
    c->r = (store_reminder_new){.text = c->text,
                                .at = next ? next : r->at,
                                .repeat = r->repeat,
                                .tz = c->tz,
                                .target = r->target,
                                .target_ids = c->target_ids,
                                .active = next != 0};
    return &c->base;
}

void chat_remind_fire_plan(const chat_env *e, const store_reminder *r, int64_t now,
                           chat_commit *out[2], size_t *n)
{
    store_members ml = {0};
    store_user creator = {0};
    chat_outcome o = {0};
    fire_note *f = NULL;
    json_t *meta = NULL, *targets;
    char *meta_text = NULL, cid[64];
    int64_t next = 0;
    bool member = false;
    int rc;

    *n = 0;
    if (r->repeat != STORE_REMIND_ONCE &&
        chat_remind_next(r->at, r->repeat, r->tz, now > r->at ? now : r->at, &next))
        next = 0; /* a zone ICU no longer knows: this is the last time */
    rc = store_member_list(e->st, r->conv_id, &ml);
    if (!rc)
        rc = store_user_get(e->st, r->creator_id, &creator);
    for (size_t i = 0; !rc && i < ml.n; i++)
        member = member || ml.items[i].user_id == r->creator_id;
    if (rc && rc != STORE_NOTFOUND)
        goto out; /* the next tick tries again */
    if (rc || !member || creator.disabled) {
        /* The creator left (or is gone): the reminder goes with them. */
        out[0] = advance(e, r, 0);
        *n = out[0] != NULL;
        goto out;
    }
    f = calloc(1, sizeof *f);
    if (!f || fire_targets(r, &ml, &f->users, &f->n))
        goto out;
    f->chat = e->chat;
    f->conv_id = r->conv_id;
    f->reminder_id = r->id;
    f->members = calloc(ml.n ? ml.n : 1, sizeof *f->members);
    for (size_t i = 0; f->members && i < ml.n; i++)
        f->members[f->n_members++] = ml.items[i].user_id;
    f->late = now - r->at > (int64_t)e->chat->lim.remind_late_seconds * 1000;
    targets = json_array();
    for (size_t i = 0; targets && i < f->n; i++)
        json_array_append_new(targets, json_integer(f->users[i]));
    meta = json_pack(
        "{s:I,s:I,s:b,s:s,s:s,s:o}", "reminder_id", (json_int_t)r->id, "due_at", (json_int_t)r->at,
        "late", f->late, "repeat", store_remind_repeat_name(r->repeat), "target",
        store_remind_target_name(r->target), "user_ids", targets ? targets : json_array());
    meta_text = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!meta_text)
        goto out;
    /* The occurrence names the message: a second firing of it is the same
     * send again (idempotent), never a second card. */
    snprintf(cid, sizeof cid, "reminder:%lld:%lld", (long long)r->id, (long long)r->at);
    {
        chat_caller who = {.id = r->creator_id, .login = creator.login};
        chat_send_in in = {.conv_id = r->conv_id,
                           .client_id = cid,
                           .text = r->text,
                           .len = r->text ? strlen(r->text) : 0,
                           .kind = "reminder",
                           .meta = meta_text,
                           .reminder_id = r->id,
                           .reminder_next_at = next};

        if (chat_send_plan(e, &who, &in, &out[0], &o)) {
            /* 503: not inspected now, the next tick tries again; anything
             * else (the conversation is gone) ends the reminder. */
            if (o.status != 503 && (out[0] = advance(e, r, next)))
                *n = 1;
            goto out;
        }
    }
    *n = 1;
    if (!chat_send_delivers(out[0])) {
        /* Refused by today's policy: the alert is written; the reminder
         * moves on without a card. */
        out[1] = advance(e, r, next);
        *n += out[1] != NULL;
        chat_log(e->chat, CHAT_LOG_INFO, "reminder", "reminder %lld refused by the guard",
                 (long long)r->id);
        goto out;
    }
    out[0]->done = fire_done;
    out[0]->arg = f;
    f = NULL;
out:
    if (f)
        free(f->users);
    if (f)
        free(f->members);
    free(f);
    free(meta_text);
    json_decref(meta);
    chat_outcome_clear(&o);
    store_members_free(&ml);
    store_user_clear(&creator);
}
