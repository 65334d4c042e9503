/*
 * store.h — persistence for `cordon serve` and the `cordon` tool: the ONE
 * interface every caller uses (docs/STORE.md).
 *
 * A backend is a const struct of function pointers (store_methods), like
 * sqlite3_vfs: `version` says which fields exist, so fields are only ever
 * appended. SQLite (embedded, WAL) is the only backend today; PostgreSQL
 * must fit later without touching callers, so nothing here is SQLite-
 * specific: ids are int64, times are int64 milliseconds since the Unix
 * epoch (UTC), blobs are (pointer, length), text is UTF-8 NUL-terminated.
 *
 * Callers use the static inline wrappers (store_user_get(...), in
 * store_calls.h, included at the end of this header),
 * never s->methods directly.
 *
 * RETURN VALUES: every operation returns a store_rc (STORE_OK == 0). Human
 * detail for the last failure on a handle: store_errmsg(s) (never contains
 * passwords, tokens or message text).
 *
 * OWNERSHIP: OUT records (store_user, store_message, ...) are caller-owned
 * structs that the store fills; strings inside them are heap copies owned by
 * the record. Release with the matching store_*_clear() / store_*_list_free().
 * On any error an OUT record is left zeroed (clearing it is harmless, not
 * needed). IN pointers are only read during the call; the store keeps no
 * reference to them. Clear functions accept zeroed records.
 *
 * THREADING: a store handle is used by ONE thread at a time (no internal
 * locks). Open one handle per thread. Handles on the same database see each
 * other's committed writes. SQLite WAL allows one writer and many readers at
 * once: readers never block, writers queue on the busy timeout and get
 * STORE_BUSY when it expires. The server is expected to run one writer
 * thread that groups message appends with store_message_append_batch() (one
 * commit for many messages) and to give each reader thread its own handle.
 * `cordon user` opens its own handle on the same file while the server runs.
 *
 * TRANSACTIONS: every operation is atomic on its own. store_tx_begin()/
 * store_tx_commit()/store_tx_rollback() group several operations into one
 * atomic write (e.g. message + alert + audit entry); operations inside a
 * group that fail roll back only themselves (savepoints) and the caller
 * decides whether to commit the rest. Groups do not nest.
 */
#ifndef CORDON_STORE_H
#define CORDON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- errors */

typedef enum store_rc {
    STORE_OK = 0,
    STORE_NOTFOUND, /* no such row (or not visible to this user: callers map to 404) */
    STORE_CONFLICT, /* uniqueness or state conflict: login taken, already a member,
                       TOTP step already used, alert already resolved... */
    STORE_BUSY,     /* the database stayed locked past the busy timeout: retry */
    STORE_IO,       /* disk or connection error */
    STORE_CORRUPT,  /* the database is damaged, or an invariant of the data broke */
    STORE_NOMEM,    /* allocation failed */
    STORE_INVAL,    /* bad argument (NULL, empty, out of range, bad JSON detail) */
    STORE_VERSION,  /* the schema is newer than this binary, or a method the backend's
                       version does not have */
    STORE_READONLY, /* the handle was opened read-only */
    STORE_RC_COUNT
} store_rc;

/* A static English name for rc ("not found", "busy", ...). */
const char *store_strerror(int rc);

/* --------------------------------------------------------------- records */

#define STORE_TOKEN_HASH_LEN 32 /* BLAKE2b-256 of a session token (acct.h) */
#define STORE_AUDIT_HASH_LEN 32 /* BLAKE2b-256 chain hash (docs/AUDIT.md) */
#define STORE_LOGIN_MAX      64 /* bytes; logins are [a-z0-9._-], checked by acct */
#define STORE_CLIENT_ID_MAX  128

typedef enum store_role {
    STORE_ROLE_MEMBER = 0,
    STORE_ROLE_OFFICER = 1, /* 保密员: alerts and audit */
    STORE_ROLE_ADMIN = 2
} store_role;

/* "member" | "officer" | "admin"; store_role_parse returns -1 when unknown. */
const char *store_role_name(store_role r);
int store_role_parse(const char *s);

typedef struct store_user {
    int64_t id;
    char *login;        /* unique, lower case */
    char *display_name; /* never NULL (may be "") */
    store_role role;
    bool external;             /* an external account: conversations with it are external */
    bool disabled;             /* cannot log in; sessions are revoked when disabled */
    bool must_change_password; /* one-time password set: change before anything else */
    char *password_hash;       /* argon2id encoded string (acct.h); NULL = no password */
    char *totp_secret;         /* base32 secret, NULL when none; pending until totp_enabled */
    bool totp_enabled;         /* enrolment confirmed with a valid code */
    int64_t totp_last_step;    /* last accepted TOTP step (no reuse), 0 = none */
    int failed_logins;         /* consecutive failures since the last success */
    int64_t locked_until;      /* ms; 0 = not locked */
    int64_t created_at;
    int64_t updated_at;
    char *phone;      /* schema version 7: a work phone number, NULL when none */
    char *department; /* schema version 9: the user's department, NULL when none */
} store_user;

typedef struct store_users {
    store_user *items;
    size_t n;
} store_users;

/* A new account. login and password_hash are required; display_name NULL
 * means "same as login". */
typedef struct store_user_new {
    const char *login;
    const char *display_name;
    store_role role;
    bool external;
    const char *password_hash;
    bool must_change_password;
    int64_t now;
} store_user_new;

/* A partial update: only the fields whose bit is set in `fields` change. */
enum {
    STORE_USER_DISPLAY_NAME = 1u << 0,
    STORE_USER_ROLE = 1u << 1,
    STORE_USER_DISABLED = 1u << 2,
    STORE_USER_EXTERNAL = 1u << 3,  /* recomputes `external` of the user's conversations */
    STORE_USER_PASSWORD = 1u << 4,  /* password_hash + must_change_password */
    STORE_USER_TOTP = 1u << 5,      /* totp_secret (NULL clears) + totp_enabled;
                                       resets totp_last_step */
    STORE_USER_LOCKOUT = 1u << 6,   /* failed_logins + locked_until */
    STORE_USER_PHONE = 1u << 7,     /* phone (NULL clears); schema version 7 */
    STORE_USER_DEPARTMENT = 1u << 8 /* department (NULL clears); schema version 9 */
};

typedef struct store_user_patch {
    unsigned fields;
    const char *display_name;
    store_role role;
    bool disabled;
    bool external;
    const char *password_hash;
    bool must_change_password;
    const char *totp_secret;
    bool totp_enabled;
    int failed_logins;
    int64_t locked_until;
    int64_t now; /* becomes updated_at */
    const char *phone;
    const char *department;
} store_user_patch;

typedef struct store_session {
    int64_t id;
    int64_t user_id;
    uint8_t token_hash[STORE_TOKEN_HASH_LEN];
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at;
    char *user_agent; /* may be NULL */
    char *address;    /* client address at login, may be NULL */
} store_session;

typedef struct store_sessions {
    store_session *items;
    size_t n;
} store_sessions;

typedef struct store_session_new {
    int64_t user_id;
    uint8_t token_hash[STORE_TOKEN_HASH_LEN]; /* the token itself is never stored */
    int64_t now;
    int64_t expires_at;
    const char *user_agent; /* optional, truncated to 256 bytes */
    const char *address;    /* optional */
} store_session_new;

typedef enum store_conv_kind { STORE_CONV_DIRECT = 0, STORE_CONV_GROUP = 1 } store_conv_kind;

typedef enum store_member_role {
    STORE_MEMBER = 0,
    STORE_MEMBER_ADMIN = 1,
    STORE_MEMBER_OWNER = 2
} store_member_role;

const char *store_conv_kind_name(store_conv_kind k);     /* "direct" | "group" */
const char *store_member_role_name(store_member_role r); /* "member" | "admin" | "owner" */
int store_member_role_parse(const char *s);              /* -1 when unknown */

typedef struct store_conv {
    int64_t id;
    store_conv_kind kind;
    char *title;   /* never NULL (may be ""); direct conversations have "" */
    bool external; /* any member is external; kept up to date by the store */
    /* Members who join later see the messages sent before they joined
     * (docs/SERVER.md, "History and new members"). false by default. */
    bool shared_history;
    int64_t created_by;
    int64_t created_at;
    int64_t updated_at;
    int64_t last_message_id; /* 0 = no message yet */
    int64_t member_count;
} store_conv;

typedef struct store_member {
    int64_t user_id;
    store_member_role role;
    int64_t joined_at;
    int64_t delivered_id; /* receipt pointers: highest message id delivered / read */
    int64_t read_id;
    bool external; /* the user's flag, for convenience */
    /* The conversation's last message id when the member joined: messages
     * with id <= history_from were sent before (0 for the founding members
     * and for members older than schema version 3). */
    int64_t history_from;
} store_member;

typedef struct store_members {
    store_member *items;
    size_t n;
} store_members;

/* ----- messages ----- */

typedef struct store_message {
    int64_t id; /* increases with commit order across the whole database */
    int64_t conv_id;
    int64_t sender_id;
    char *client_id; /* the sender's idempotency key */
    int64_t created_at;
    char *text;          /* NULL once recalled */
    size_t text_len;     /* bytes, excluding the NUL */
    bool masked;         /* text is the guard's masked copy */
    char *verdict;       /* guard verdict that let it through: "allow"|"warn"|"mask"|"confirm" */
    char *justification; /* the sender's written justification (confirm), or NULL */
    bool recalled;
    int64_t recalled_at;
    /* Forward provenance: forward_of is the message this one was forwarded
     * from (0 = original); forward_origin_id/forward_author_id the first
     * message of the chain and its author; forward_depth counts hops (0 for
     * an original). */
    int64_t forward_of;
    int64_t forward_origin_id;
    int64_t forward_author_id;
    int forward_depth;
    /* The guard ruled on it with the external scope (the conversation was
     * external when it was sent). false for messages older than schema
     * version 3: they count as inspected for internal readers only. */
    bool inspected_external;
    /* An officer's containment (schema version 6): STORE_CONTAINED_* below.
     * A quarantined or removed message reads as recalled (text NULL). */
    int contained;
    /* Schema version 7. kind: "text" (default), "reminder" (a fired
     * reminder's card) or "card" (a colleague's contact card); meta: JSON
     * object text that goes with the kind (NULL for text). burn:
     * STORE_BURN_* (burn-after-reading); burn_deadline: when a live burn
     * message is destroyed (ms). */
    char *kind;
    char *meta;
    int burn;
    int64_t burn_deadline;
    /* Sent in by an external sender to internal members, and the guard's
     * inbound scope found something the recipients should be warned of:
     * the warning as JSON ({"action":..., "findings":[...]}), shown to
     * internal members only (chat_view.h). NULL when none. */
    char *inbound_warning;
    /* Schema 5: the files the message delivers, as the API's JSON array
     * text (docs/API.md "Attachments"); NULL when none. */
    char *attachments;
} store_message;

/* store_message.burn */
enum { STORE_BURN_NONE = 0, STORE_BURN_LIVE = 1, STORE_BURN_DESTROYED = 2 };

enum {
    STORE_CONTAINED_NONE = 0,
    STORE_CONTAINED_QUARANTINED = 1, /* hidden from members, kept for review */
    STORE_CONTAINED_REMOVED = 2      /* erased like a recall, by an officer */
};

/* What store_message_contain does to one message. */
typedef enum store_contain_action {
    STORE_CONTAIN_REMOVE = 0,     /* erase (also a quarantined one's kept copy) */
    STORE_CONTAIN_QUARANTINE = 1, /* hide, keeping the text aside */
    STORE_CONTAIN_RESTORE = 2     /* bring a quarantined message back */
} store_contain_action;

/* The copies of a message to trace (store_message_spread). Messages are
 * found by provenance: the root and every message whose forward origin it
 * is. A file's content hash joins here once files exist (schema version
 * 5), so separate uploads of the same bytes are found too. */
typedef struct store_spread_query {
    int64_t root_id; /* an original message (forward_of 0) */
    int limit;       /* 1..STORE_SPREAD_MAX; 0 = STORE_SPREAD_MAX */
} store_spread_query;

#define STORE_SPREAD_MAX 5000

/* One member of one conversation a spread reaches (store_spread_members):
 * the conversation's fields repeated on each of its members' rows. */
typedef struct store_spread_member {
    int64_t conv_id;
    store_conv_kind kind;
    char *title;
    bool external, shared_history;
    int64_t user_id, history_from, read_id;
} store_spread_member;

typedef struct store_spread_members {
    store_spread_member *items;
    size_t n;
} store_spread_member_rows;

void store_spread_member_rows_free(store_spread_member_rows *l);
/* One page of a compliance export (store_message_export,
 * store_audit_covering; docs/AUDIT.md "Compliance export"): the messages of
 * a conversation, or those a user sent, created in [from, to), and the
 * audit entries of the same period and target. Pages go in id (seq) order
 * after `after`, so an export never holds more than a page. */
typedef struct store_export_query {
    int64_t conv_id;  /* exactly one of conv_id and user_id is > 0 */
    int64_t user_id;  /* the sender (messages); actor, target or message sender (audit) */
    int64_t from, to; /* ms, from < to */
    int64_t after;    /* cursor: the last message id / audit seq of the previous page (0) */
    int limit;        /* 1..STORE_EXPORT_PAGE_MAX; 0 = STORE_EXPORT_PAGE_MAX */
} store_export_query;

#define STORE_EXPORT_PAGE_MAX 500

/* Counting alerts for the early-warning rules (store_alert_count). Zero
 * fields do not filter. */
typedef struct store_alert_count_query {
    int64_t since;        /* created_at >= since (required, > 0) */
    int64_t user_id;      /* the alert's user */
    int64_t conv_id;      /* the alert's conversation */
    int64_t message_id;   /* the alert's message */
    const char *category; /* exact */
    bool attempts;        /* only blocked or held attempts (verdict block/confirm) and probing */
    bool delivered;       /* only guard alerts about a stored message (not warning.*) */
} store_alert_count_query;

/* Statistics of alerts over a period (store_alert_stats): one row per
 * (day, category, rule, verdict) with its count. `day` is the UTC day's
 * start in ms shifted by tz_offset_ms (the caller's time zone). */
typedef struct store_alert_stat {
    int64_t day;
    char *category, *rule, *verdict; /* rule may be NULL */
    int64_t count;
} store_alert_stat;

typedef struct store_alert_stats {
    store_alert_stat *items;
    size_t n;
} store_alert_stat_rows;

void store_alert_stat_rows_free(store_alert_stat_rows *l);

/* A delivered message's personal-data findings (store_personal_findings,
 * the bulk-personal-data warning): its guard alert counted its findings
 * of category "pii". */
typedef struct store_personal_row {
    int64_t message_id, conv_id, alert_id;
    int64_t findings;
} store_personal_row;

typedef struct store_personal_rows {
    store_personal_row *items;
    size_t n;
} store_personal_rows;

#define STORE_PERSONAL_MAX 1000

/* Alerts over a period by the department of their user and by their
 * conversation (store_alert_groups, the dashboard's department/group
 * dimension): one row per (department, conversation, category). */
typedef struct store_alert_group {
    char *department; /* NULL: the user has none (or no user) */
    int64_t conv_id;  /* 0: no conversation */
    char *conv_title; /* NULL when conv_id is 0 */
    int conv_kind;
    char *category;
    int64_t count;
} store_alert_group;

typedef struct store_alert_groups {
    store_alert_group *items;
    size_t n;
} store_alert_group_rows;

void store_alert_group_rows_free(store_alert_group_rows *l);

typedef struct store_messages {
    store_message *items;
    size_t n;
} store_messages;

typedef struct store_message_new {
    int64_t conv_id;
    int64_t sender_id;
    const char *client_id; /* required, 1..STORE_CLIENT_ID_MAX bytes */
    const char *text;      /* text_len bytes, UTF-8; need not be NUL-terminated */
    size_t text_len;
    bool masked;
    const char *verdict;       /* required */
    const char *justification; /* optional */
    int64_t forward_of;        /* 0 or a message id; provenance is computed by the store */
    int64_t now;
    /* The guard ruled with the internal scope. If the conversation has
     * become external since (a member added between the inspection and the
     * commit), the append is refused with STORE_CONFLICT so the caller
     * inspects the text again with the external scope. */
    bool inspected_internal;
    /* Recorded with the message (store_message.inspected_external): the
     * guard ruled with the external scope. */
    bool inspected_external;
    /* Optional: the inbound warning (store_message.inbound_warning), JSON. */
    const char *inbound_warning;
    /* Optional, written in the same transaction as the message and only
     * when it is new (not on an idempotent repeat): an officer alert whose
     * message_id, conv_id and user_id the store fills in, and an audit entry
     * whose target becomes "message:ID" when its target is NULL. */
    const struct store_alert_new *alert;
    const struct store_audit_new *audit;
    /* Optional OUT: the id of the alert written with the message (left
     * untouched when none was written, e.g. on an idempotent repeat). */
    int64_t *alert_id_out;
    /* Schema version 7 (zero: an ordinary text message). kind NULL =
     * "text"; meta JSON object text or NULL. burn: a burn-after-reading
     * message destroyed at burn_deadline unless its readers open it
     * sooner (store_burn_open). reminder_id: this message delivers that
     * reminder, which in the same transaction moves to reminder_next_at
     * (0: it is done), so it is never delivered twice. */
    const char *kind;
    const char *meta;
    bool burn;
    int64_t burn_deadline;
    int64_t reminder_id;
    int64_t reminder_next_at;
    /* Optional: the files the message delivers (file ids, schema 5), linked
     * in the message's own transaction (store_message_files_set). */
    const char *const *attachments;
    size_t n_attachments;
} store_message_new;

/* ----- reminders (schema version 7) ----- */

typedef enum store_remind_repeat {
    STORE_REMIND_ONCE = 0,
    STORE_REMIND_DAILY = 1,
    STORE_REMIND_WORKDAYS = 2,
    STORE_REMIND_WEEKLY = 3
} store_remind_repeat;

typedef enum store_remind_target {
    STORE_REMIND_ME = 0,      /* the creator only */
    STORE_REMIND_MEMBERS = 1, /* target_ids (members at fire time) */
    STORE_REMIND_ALL = 2      /* every member at fire time */
} store_remind_target;

/* "once"|"daily"|"workdays"|"weekly", "me"|"members"|"all"; parse: -1 when unknown. */
const char *store_remind_repeat_name(store_remind_repeat r);
int store_remind_repeat_parse(const char *s);
const char *store_remind_target_name(store_remind_target t);
int store_remind_target_parse(const char *s);

typedef struct store_reminder {
    int64_t id;
    int64_t conv_id;
    int64_t creator_id;
    char *text;
    int64_t at; /* the next time it is due (ms); for repeats, the next occurrence */
    store_remind_repeat repeat;
    char *tz; /* IANA zone the repeats are computed in */
    store_remind_target target;
    char *target_ids; /* JSON array of user ids (STORE_REMIND_MEMBERS) */
    bool active;      /* false once a one-off fired or it was cancelled */
    int64_t fired_count;
    int64_t last_fired_at;
    int64_t created_at;
    int64_t updated_at;
} store_reminder;

typedef struct store_reminders {
    store_reminder *items;
    size_t n;
} store_reminders;

/* A new reminder, or (store_reminder_update) every editable field at once. */
typedef struct store_reminder_new {
    int64_t conv_id;
    int64_t creator_id;
    const char *text; /* required */
    int64_t at;
    store_remind_repeat repeat;
    const char *tz; /* required */
    store_remind_target target;
    const char *target_ids; /* JSON array text; NULL = "[]" */
    bool active;
    int64_t now;
} store_reminder_new;

/* One row of the conversation list (store_conv_list_for_user). */
typedef struct store_conv_summary {
    store_conv conv;
    int64_t unread;     /* messages after the user's read pointer, not sent by the user,
                           not recalled */
    store_message last; /* last message (id 0 when none; text NULL if recalled) */
    store_member_role my_role;
    int64_t my_history_from; /* the user's store_member.history_from */
} store_conv_summary;

typedef struct store_conv_summaries {
    store_conv_summary *items;
    size_t n;
} store_conv_summaries;

/* ----- alerts ----- */

typedef enum store_alert_status {
    STORE_ALERT_OPEN = 0,
    STORE_ALERT_ACKED = 1,
    STORE_ALERT_RESOLVED = 2
} store_alert_status;

const char *store_alert_status_name(store_alert_status s); /* "open"|"acked"|"resolved" */
int store_alert_status_parse(const char *s);               /* -1 when unknown */

typedef struct store_alert {
    int64_t id;
    int64_t created_at;
    int64_t user_id; /* the sender */
    int64_t conv_id;
    int64_t message_id;  /* 0 when nothing was stored (block, unconfirmed) */
    char *category;      /* the main finding's category, for filtering */
    char *verdict;       /* the guard verdict */
    char *rule;          /* the deciding rule, may be NULL */
    char *findings_json; /* JSON array of findings, excerpts already masked */
    char *justification; /* may be NULL */
    store_alert_status status;
    int64_t acked_by, acked_at;
    char *ack_comment; /* may be NULL */
    int64_t resolved_by, resolved_at;
    char *resolve_comment; /* may be NULL */
    /* Reports (举报, kind "report"): who reported (officers only see it),
     * their note, and the reported content as it was (JSON object). For a
     * report, user_id is the person reported (the message's sender). */
    char *kind; /* NULL: a guard alert ("guard" or "override") */
    int64_t reporter_id;
    char *note;
    char *evidence_json;
} store_alert;

typedef struct store_alerts {
    store_alert *items;
    size_t n;
} store_alerts;

typedef struct store_alert_new {
    int64_t user_id;
    int64_t conv_id;
    int64_t message_id;
    const char *category;      /* required */
    const char *verdict;       /* required */
    const char *rule;          /* optional */
    const char *findings_json; /* required, must parse as JSON */
    const char *justification; /* optional */
    int64_t now;
    /* A report (store_alert): all optional; evidence_json must parse as JSON. */
    const char *kind;
    int64_t reporter_id;
    const char *note;
    const char *evidence_json;
} store_alert_new;

/* Filter for store_alerts; zero fields do not filter. Newest first. */
typedef struct store_alert_filter {
    int64_t since, until; /* created_at in [since, until) when non-zero */
    const char *category; /* exact match */
    int64_t user_id;
    int64_t conv_id;
    bool by_status; /* filter on status (false: any status) */
    store_alert_status status;
    int64_t before_id; /* cursor: only ids < before_id (0 = newest) */
    int limit;         /* 1..1000; 0 = 100 */
    const char *kind;  /* "guard" (also overrides), "report"; NULL: any */
    int64_t reporter_id;
} store_alert_filter;

/* ----- audit (docs/AUDIT.md) ----- */

typedef struct store_audit_entry {
    int64_t seq;      /* 1, 2, 3... without gaps */
    int64_t time;     /* ms */
    int64_t actor_id; /* 0 = the system */
    char *actor;      /* login at the time, or "system" */
    char *event;      /* "auth.login", "auth.login_failed", "guard.block", ... */
    char *target;     /* what it acted on, e.g. "user:12", "message:40"; may be "" */
    char *detail;     /* canonical JSON object (sorted keys, compact) */
    uint8_t prev_hash[STORE_AUDIT_HASH_LEN];
    uint8_t hash[STORE_AUDIT_HASH_LEN];
} store_audit_entry;

typedef struct store_audit_entries {
    store_audit_entry *items;
    size_t n;
} store_audit_entries;

/* A change to an account that open connections must follow, whichever
 * process wrote it: session_id 0 = the whole account (disabled or role
 * changed), otherwise one session ended before its time (revoked). */
typedef struct store_account_change {
    int64_t seq, user_id, session_id;
} store_account_change;

typedef struct store_audit_new {
    int64_t time;
    int64_t actor_id;
    const char *actor;  /* NULL = "system" */
    const char *event;  /* required */
    const char *target; /* NULL = "" */
    const char *detail; /* JSON object text or NULL ("{}"); canonicalised by the store */
} store_audit_new;

/* ----------------------------------------------------- opening a handle */

typedef struct store store;
typedef struct store_methods store_methods;

/* The base of every backend's handle: methods first, like sqlite3_file. */
struct store {
    const store_methods *methods;
};

/* How to open. Zero fields take the defaults. */
/* Who does a backend's housekeeping (SQLite: copying the write-ahead log into
 * the database; PostgreSQL has autovacuum and ignores this). */
typedef enum store_maintenance {
    /* The backend's default: inline, inside the commits that need it. */
    STORE_MAINT_INLINE = 0,
    /* This handle is the one writer whose commit latency matters: its
     * housekeeping runs in a background thread the handle owns, off the
     * commit path, until store_close(). */
    STORE_MAINT_BACKGROUND,
    /* Another handle of the process carries it (one opened BACKGROUND);
     * this one keeps only a backstop. */
    STORE_MAINT_ELSEWHERE
} store_maintenance;

/* One step of a backend's housekeeping, told to store_options.on_maint
 * (for the operators' metrics and the debug log; SQLite only). */
typedef struct store_maint_event {
    const char *what; /* "checkpoint": the background thread's pass; "finish": the writer
                         copying the last frames itself (docs/STORE.md, "Threading");
                         "backstop": a checkpoint at SQ_WAL_BACKSTOP pages inside a commit */
    uint64_t ns;      /* how long it took, fsync of the database file included */
    int log_pages;    /* frames in the write-ahead log when it ended (-1: unknown) */
    int copied_pages; /* of them, copied back into the database (-1: unknown) */
} store_maint_event;

typedef struct store_options {
    int version;                   /* 1 */
    const char *backend;           /* "sqlite" or "postgresql"; NULL: chosen by path
                                      (store_backend_for) */
    const char *path;              /* SQLite: the database file, created (mode 0600) when missing;
                                      its directory must exist. PostgreSQL: a libpq connection
                                      URL, postgresql://user@host:port/db (docs/DEPLOY.md) */
    int busy_timeout_ms;           /* default 5000 */
    bool read_only;                /* no migrations, writes fail with STORE_READONLY */
    bool synchronous_normal;       /* false (default): fsync at every commit, so whatever the
                                      server acknowledged survives a power loss. true: faster,
                                      the last commits may be lost on power loss (never corrupt) */
    store_maintenance maintenance; /* who does the backend's housekeeping (below) */
    /* Optional (NULL: nobody): told of each housekeeping step this handle's
     * maintenance runs, on the thread that ran it (the checkpointer's, or the
     * handle's own for "finish" and "backstop"). Must be quick and must not
     * call back into the store. */
    void (*on_maint)(void *arg, const store_maint_event *ev);
    void *maint_arg;
} store_options;

/* Where the handle's last write transaction spent its time (the outermost
 * level, from asking for the write lock to the end of COMMIT), for the
 * log line of a slow commit. Zero when the handle has written nothing. */
typedef struct store_tx_timing {
    uint64_t turn_ns; /* waiting for the write lock (this process's queue and the backend's lock) */
    uint64_t begin_ns;  /* BEGIN */
    uint64_t body_ns;   /* the statements between BEGIN and COMMIT */
    uint64_t commit_ns; /* COMMIT: the log written and synced to disk, maint_ns included */
    uint64_t maint_ns;  /* housekeeping run inside the COMMIT (SQLite: the writer's "finish") */
} store_tx_timing;

/* The file name of the database inside a data directory: "cordon.db". */
#define STORE_DB_FILE "cordon.db"

/* The backend a store path names when store_options.backend is NULL:
 * "postgresql" for a postgresql:// or postgres:// URL, else "sqlite". */
const char *store_backend_for(const char *path);

/* A store path fit for logs and messages: a connection URL's password
 * (user:PASSWORD@, password=...) replaced by "***"; a file path as it is.
 * Writes at most cap bytes (NUL included) into out and returns out. */
char *store_path_redacted(const char *path, char *out, size_t cap);

/* Opens a handle and brings the schema up to date (migrations, each in its
 * own transaction; docs/STORE.md). On success *out is the handle, to be
 * closed with store_close(). On failure *out is NULL and, when errmsg is not
 * NULL, *errmsg is a heap string describing why (free() it). */
int store_open(const store_options *opt, store **out, char **errmsg);

/* Closes the handle (rolls back an open store_tx). NULL is allowed. */
void store_close(store *s);

/* The backend's last error text for this handle ("" when none). */
const char *store_errmsg(store *s);

/* ------------------------------------------------------------- methods */

/* Capabilities, tested instead of backend names. */
enum {
    STORE_CAN_CONCURRENT_WRITERS = 1u << 0, /* PostgreSQL: several writer handles gain */
    STORE_CAN_SECURE_DELETE = 1u << 1       /* erased content is overwritten on disk */
};

struct store_methods {
    int version;       /* 1: every field below exists */
    const char *name;  /* "sqlite" */
    unsigned supports; /* STORE_CAN_* */

    void (*close)(store *s);
    const char *(*errmsg)(store *s);
    int (*schema_version)(store *s, int *out);

    /* Optional (NULL: the backend does not time its transactions). */
    int (*last_tx_timing)(store *s, store_tx_timing *out);
    /* Optional (NULL: nothing to do). */
    int (*maintain)(store *s);

    int (*tx_begin)(store *s);
    int (*tx_commit)(store *s);
    int (*tx_rollback)(store *s);

    /* users */
    int (*user_create)(store *s, const store_user_new *u, int64_t *id_out);
    int (*user_get)(store *s, int64_t id, store_user *out);
    int (*user_get_by_login)(store *s, const char *login, store_user *out);
    int (*user_list)(store *s, bool include_disabled, store_users *out);
    int (*user_count)(store *s, int64_t *out);
    int (*user_update)(store *s, int64_t id, const store_user_patch *p);
    int (*user_totp_use_step)(store *s, int64_t id, int64_t step);

    /* sessions */
    int (*session_create)(store *s, const store_session_new *n, int64_t *id_out);
    int (*session_lookup)(store *s, const uint8_t hash[STORE_TOKEN_HASH_LEN], int64_t now,
                          store_session *sess, store_user *user);
    int (*session_touch)(store *s, int64_t id, int64_t now);
    int (*session_list)(store *s, int64_t user_id, int64_t now, store_sessions *out);
    int (*session_revoke)(store *s, int64_t id, int64_t user_id);
    int (*session_revoke_user)(store *s, int64_t user_id, int64_t except_id, int64_t *n_out);
    int (*session_expire)(store *s, int64_t now, int64_t *n_out);

    /* conversations */
    int (*conv_create)(store *s, store_conv_kind kind, const char *title, int64_t creator,
                       const int64_t *member_ids, size_t n_members, int64_t now, int64_t *id_out,
                       bool *created);
    int (*conv_get)(store *s, int64_t id, store_conv *out);
    int (*conv_list_for_user)(store *s, int64_t user_id, store_conv_summaries *out);
    int (*conv_rename)(store *s, int64_t id, const char *title, int64_t now);
    int (*member_add)(store *s, int64_t conv_id, int64_t user_id, store_member_role role,
                      int64_t now);
    int (*member_remove)(store *s, int64_t conv_id, int64_t user_id, int64_t now);
    int (*member_set_role)(store *s, int64_t conv_id, int64_t user_id, store_member_role role);
    int (*member_check)(store *s, int64_t conv_id, int64_t user_id, store_member_role *out);
    int (*member_list)(store *s, int64_t conv_id, store_members *out);

    /* messages */
    int (*message_append)(store *s, const store_message_new *m, store_message *out,
                          bool *duplicate);
    int (*message_append_batch)(store *s, const store_message_new *m, size_t n, store_message *out,
                                int *rcs, bool *duplicate);
    int (*message_get)(store *s, int64_t id, store_message *out);
    int (*message_history)(store *s, int64_t conv_id, int64_t before_id, int limit,
                           store_messages *out);
    int (*message_since)(store *s, int64_t conv_id, int64_t after_id, int limit,
                         store_messages *out);
    int (*message_recall)(store *s, int64_t id, int64_t now);
    int (*message_forward_chain)(store *s, int64_t id, store_messages *out);

    /* receipts */
    int (*receipt_set)(store *s, int64_t conv_id, int64_t user_id, bool read, int64_t message_id,
                       bool *advanced);

    /* alerts */
    int (*alert_create)(store *s, const store_alert_new *a, int64_t *id_out);
    int (*alert_get)(store *s, int64_t id, store_alert *out);
    int (*alert_list)(store *s, const store_alert_filter *f, store_alerts *out);
    int (*alert_ack)(store *s, int64_t id, int64_t actor, const char *comment, int64_t now);
    int (*alert_resolve)(store *s, int64_t id, int64_t actor, const char *comment, int64_t now);

    /* audit */
    int (*audit_append)(store *s, const store_audit_new *e, int64_t *seq_out);
    int (*audit_page)(store *s, int64_t after_seq, int limit, store_audit_entries *out);
    int (*audit_head)(store *s, int64_t *seq, uint8_t hash[STORE_AUDIT_HASH_LEN]);

    /* settings */
    int (*kv_get)(store *s, const char *key, char **value);
    int (*kv_set)(store *s, const char *key, const char *value);
    int (*kv_delete)(store *s, const char *key);

    /* Account changes, in seq order: up to cap of those after after_seq
     * into out (*n_out of them). after_seq < 0 asks only for the newest seq
     * (*n_out = 0, *head = it); otherwise *head is the last seq returned
     * (after_seq when none). Rows are written by the backend whenever a
     * role, the disabled flag or an unexpired session changes, so changes
     * made by another process show here too. */
    int (*account_changes)(store *s, int64_t after_seq, store_account_change *out, size_t cap,
                           size_t *n_out, int64_t *head);
    /* Removes changes older than `before` (ms). */
    int (*account_changes_prune)(store *s, int64_t before);

    /* Writes a consistent copy of the whole database to dest, a file that
     * must not exist yet (created 0600), while other handles and processes
     * go on writing; STORE_CONFLICT when dest exists. NULL in a backend
     * whose copies are made by its own tools (PostgreSQL: pg_dump). */
    int (*backup)(store *s, const char *dest);

    /* Appended with schema version 3 (NULL in a backend without them: the
     * wrappers answer STORE_VERSION). */
    int (*member_get)(store *s, int64_t conv_id, int64_t user_id, store_member *out);
    int (*conv_set_shared_history)(store *s, int64_t id, bool shared, int64_t now);

    /* Appended with schema version 6 (trace and contain). */
    int (*message_spread)(store *s, const store_spread_query *q, store_messages *out);
    int (*message_contain)(store *s, int64_t id, store_contain_action action, int64_t actor,
                           int64_t now, bool *changed);
    int (*erase_flush)(store *s);
    int (*spread_conversations)(store *s, int64_t root_id, int64_t since, int64_t *out);
    int (*alert_count)(store *s, const store_alert_count_query *q, int64_t *out);
    int (*alert_stats)(store *s, int64_t from, int64_t to, int64_t tz_offset_ms,
                       store_alert_stat_rows *out);
    /* Appended with schema version 7: reminders and burn-after-reading. */
    int (*reminder_create)(store *s, const store_reminder_new *r, int64_t *id_out);
    int (*reminder_get)(store *s, int64_t id, store_reminder *out);
    int (*reminder_list)(store *s, int64_t conv_id, store_reminders *out);
    int (*reminder_update)(store *s, int64_t id, const store_reminder_new *r);
    int (*reminder_delete)(store *s, int64_t id);
    int (*reminder_due)(store *s, int64_t now, int limit, store_reminders *out);
    int (*burn_open)(store *s, int64_t msg_id, int64_t user_id, int64_t now, int64_t destroy_after,
                     bool *first);
    int (*burn_due)(store *s, int64_t now, int64_t *ids, size_t cap, size_t *n_out);
    int (*burn_destroy)(store *s, int64_t msg_id);
    /* Appended with schema version 5: uploads, files, attachments
     * (store_files.h); NULL in a backend without them. */
    const struct store_files_methods *files;
    /* Appended by trace and contain after version 7: the held text of a
     * quarantine and the members of a spread in one read. */
    int (*quarantine_text)(store *s, int64_t id, char **text, size_t *len);
    int (*spread_members)(store *s, int64_t root_id, store_spread_member_rows *out);
    /* Appended for the compliance export (no schema change). */
    int (*message_export)(store *s, const store_export_query *q, store_messages *out);
    int (*audit_covering)(store *s, const store_export_query *q, store_audit_entries *out);
    /* Appended with schema version 9 (issue 17): the bulk-personal-data
     * warning's count and the statistics by department and group. */
    int (*personal_findings)(store *s, int64_t user_id, int64_t since, store_personal_rows *out);
    int (*alert_groups)(store *s, int64_t from, int64_t to, store_alert_group_rows *out);
    /* Appended with schema version 10: burn-after-reading images and the
     * deliveries of watermarked images (store_work.h); NULL without them. */
    const struct store_work_methods *work;
    /* Appended for the bus's gap fill (no schema change): messages of every
     * conversation after an id, oldest first. */
    int (*message_after)(store *s, int64_t after_id, int limit, store_messages *out);
    int (*message_max_id)(store *s, int64_t *out);
    /* Appended for the gap fill's recalls older than its floor (no schema
     * change). */
    int (*message_recalled_since)(store *s, int64_t since, int64_t max_id, int limit,
                                  store_messages *out);
};

/* ------------------------------------------------------ memory helpers */

void store_user_clear(store_user *u);
void store_users_free(store_users *l);
void store_session_clear(store_session *s);
void store_sessions_free(store_sessions *l);
void store_conv_clear(store_conv *c);
void store_members_free(store_members *l);
void store_message_clear(store_message *m);
void store_messages_free(store_messages *l);
void store_alert_clear(store_alert *a);
void store_alerts_free(store_alerts *l);
void store_audit_entry_clear(store_audit_entry *e);
void store_audit_entries_free(store_audit_entries *l);

void store_conv_summaries_free(store_conv_summaries *l);
void store_reminder_clear(store_reminder *r);
void store_reminders_free(store_reminders *l);

/* --------------------------------------------------- the calls (inline) */

/* The static inline wrappers every caller uses (store_user_get(...)): one
 * per method, a missing (newer) method answering STORE_VERSION. In their
 * own header to keep this one the contract of records and methods; they
 * are part of store.h and only ever included through it. */
#include "store/store_calls.h"

#endif
