/*
 * chat_export.c — the compliance export (chat_export.h): pages of messages
 * and then of audit entries from the store, each record written to the
 * sink as soon as it is made, as JSON Lines or as an mbox of RFC 5322
 * messages built with GMime (encoded-words for Chinese names and subjects,
 * base64 UTF-8 bodies, stable Message-IDs).
 *
 * A message's files (with a blob store) follow it: each read whole from the
 * blob store into memory while its record is made, within the request's
 * per-message budget (files_max), never more.
 *
 * The cursor says where a page stopped: "m<id>" (messages after id) or
 * "a<seq>" (audit entries after seq). Messages come first, then the audit
 * entries, so a cursor never goes back.
 */
#include "chat_export.h"

#include "chat_json.h"

#include "blob/blob.h"
#include "store/store_files.h"

#include <gmime/gmime.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_SLOTS 64 /* senders' and conversations' names kept while exporting */
#define MAIL_HOST  "cordon.invalid"
/* The audit lines of one EML part, at most (they are held to build it). */
#define AUDIT_PART_MAX ((size_t)4 << 20)

typedef struct name_slot {
    int64_t id;
    char *name;
} name_slot;

typedef struct ex {
    store *st;
    const chat_export_req *q;
    chat_export_sink sink;
    void *ctx;
    chat_export_result *res;
    name_slot users[NAME_SLOTS], convs[NAME_SLOTS];
    int rc;
} ex;

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* GMime's global tables are set up once per process and never undone. */
static void gmime_start(void)
{
    g_mime_init();
}

/* ---- cursor ------------------------------------------------------------ */

/* phase 'm' or 'a', after >= 0; false when the text is no cursor. */
static bool cursor_parse(const char *c, char *phase, int64_t *after)
{
    char *end;
    long long v;

    *phase = 'm';
    *after = 0;
    if (!c || !*c)
        return true;
    if ((c[0] != 'm' && c[0] != 'a') || c[1] < '0' || c[1] > '9')
        return false;
    v = strtoll(c + 1, &end, 10);
    if (*end || v < 0)
        return false;
    *phase = c[0];
    *after = v;
    return true;
}

const char *chat_export_check(const chat_export_req *q)
{
    char phase;
    int64_t after;

    if (!q->reason || !*q->reason)
        return "reason_required";
    if (strlen(q->reason) > CHAT_EXPORT_REASON_MAX)
        return "reason_too_long";
    if ((q->conv_id > 0) == (q->user_id > 0))
        return "bad_target";
    if (q->from < 0 || q->from >= q->to)
        return "bad_period";
    if (!cursor_parse(q->cursor, &phase, &after))
        return "bad_cursor";
    return NULL;
}

void chat_export_target(const chat_export_req *q, char *buf, size_t cap)
{
    if (q->conv_id > 0)
        snprintf(buf, cap, "conversation:%" PRId64, q->conv_id);
    else
        snprintf(buf, cap, "user:%" PRId64, q->user_id);
}

json_t *chat_export_audit_detail(const chat_export_req *q, const chat_export_result *res)
{
    return json_pack(
        "{s:s,s:o,s:o,s:I,s:I,s:s,s:I,s:I,s:I,s:o,s:b,s:I,s:I}", "reason",
        q->reason ? q->reason : "", "conversation_id",
        q->conv_id > 0 ? json_integer(q->conv_id) : json_null(), "user_id",
        q->user_id > 0 ? json_integer(q->user_id) : json_null(), "from", (json_int_t)q->from, "to",
        (json_int_t)q->to, "format", q->format == CHAT_EXPORT_EML ? "eml" : "jsonl", "messages",
        (json_int_t)res->messages, "recalled", (json_int_t)res->recalled, "audit_entries",
        (json_int_t)res->audit_entries, "cursor",
        q->cursor && *q->cursor ? json_string(q->cursor) : json_null(), "more", res->more, "files",
        (json_int_t)res->files, "files_omitted", (json_int_t)res->files_omitted);
}

/* ---- output -------------------------------------------------------------- */

static int out(ex *x, const char *data, size_t len)
{
    int rc;

    if (x->rc)
        return x->rc;
    rc = x->sink(x->ctx, data, len);
    if (rc)
        x->rc = rc;
    else
        x->res->bytes += len;
    return rc;
}

/* One JSON line (steals o; NULL = out of memory). */
static int out_json(ex *x, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc;

    json_decref(o);
    if (!s)
        return x->rc = STORE_NOMEM;
    rc = out(x, s, strlen(s));
    if (!rc)
        rc = out(x, "\n", 1);
    free(s);
    return rc;
}

/* ---- names --------------------------------------------------------------- */

static void slots_free(name_slot *s)
{
    for (int i = 0; i < NAME_SLOTS; i++)
        free(s[i].name);
}

/* "display name (login)" of a user, kept in a small direct-mapped cache;
 * "user ID" when the account is gone. Never NULL unless out of memory. */
static const char *user_name(ex *x, int64_t id)
{
    name_slot *s = &x->users[(uint64_t)id % NAME_SLOTS];
    store_user u = {0};
    char buf[512];

    if (s->name && s->id == id)
        return s->name;
    if (!store_user_get(x->st, id, &u) && u.login)
        snprintf(buf, sizeof buf, "%s (%s)",
                 u.display_name && *u.display_name ? u.display_name : u.login, u.login);
    else
        snprintf(buf, sizeof buf, "user %" PRId64, id);
    store_user_clear(&u);
    free(s->name);
    s->id = id;
    s->name = strdup(buf);
    return s->name;
}

/* A conversation's title, "conversation ID" when it has none. */
static const char *conv_name(ex *x, int64_t id)
{
    name_slot *s = &x->convs[(uint64_t)id % NAME_SLOTS];
    store_conv c = {0};
    char buf[512];

    if (s->name && s->id == id)
        return s->name;
    if (!store_conv_get(x->st, id, &c) && c.title && *c.title)
        snprintf(buf, sizeof buf, "%s", c.title);
    else
        snprintf(buf, sizeof buf, "conversation %" PRId64, id);
    store_conv_clear(&c);
    free(s->name);
    s->id = id;
    s->name = strdup(buf);
    return s->name;
}

/* ---- records ------------------------------------------------------------- */

/* What became of a message: "live", "recalled", "quarantined", "removed",
 * "burn" (a live burn-after-reading one), "burned". */
static const char *message_state(const store_message *m)
{
    if (chat_json_contained_name(m->contained))
        return chat_json_contained_name(m->contained);
    if (m->burn == STORE_BURN_DESTROYED)
        return "burned";
    if (m->recalled)
        return "recalled";
    if (m->burn == STORE_BURN_LIVE)
        return "burn";
    return "live";
}

static bool has_text(const store_message *m)
{
    return m->text && !m->recalled && m->burn == STORE_BURN_NONE;
}

static json_t *header_json(ex *x)
{
    const chat_export_req *q = x->q;
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:s,s:s,s:s}", "type", "export", "scope",
                          q->conv_id > 0 ? "conversation" : "user", "conversation_id",
                          q->conv_id > 0 ? json_integer(q->conv_id) : json_null(), "user_id",
                          q->user_id > 0 ? json_integer(q->user_id) : json_null(), "from",
                          (json_int_t)q->from, "to", (json_int_t)q->to, "generated_at",
                          (json_int_t)q->now, "by", q->actor ? q->actor : "", "reason", q->reason,
                          "format", q->format == CHAT_EXPORT_EML ? "eml" : "jsonl");

    if (o && q->conv_id > 0)
        json_object_set_new(o, "conversation_title", json_string(conv_name(x, q->conv_id)));
    if (o && q->user_id > 0)
        json_object_set_new(o, "user", json_string(user_name(x, q->user_id)));
    return o;
}

static json_t *message_json(ex *x, const store_message *m)
{
    json_t *o = chat_json_message(m);

    if (!o)
        return NULL;
    json_object_set_new(o, "type", json_string("message"));
    json_object_set_new(o, "state", json_string(message_state(m)));
    json_object_set_new(o, "sender", json_string(user_name(x, m->sender_id)));
    json_object_set_new(o, "conversation_title", json_string(conv_name(x, m->conv_id)));
    json_object_set_new(o, "verdict", m->verdict ? json_string(m->verdict) : json_null());
    json_object_set_new(o, "justification",
                        m->justification && has_text(m) ? json_string(m->justification)
                                                        : json_null());
    json_object_set_new(o, "inspected_external", json_boolean(m->inspected_external));
    /* Attachments: chat_json_message carries each file's metadata (id,
     * name, size, mime, kind) as the store lists them, none for a recalled
     * message; their bytes follow as "file" records (jsonl_files). */
    return o;
}

/* ---- files --------------------------------------------------------------- */

/* One file of a message as the export carries it. */
typedef struct ex_file {
    char *id, *name, *mime, *hash;
    int64_t size;
    unsigned char *bytes; /* NULL when omitted */
    const char *omitted;  /* "over_cap", "unreadable", "gone" or NULL */
} ex_file;

typedef struct ex_files {
    ex_file *items;
    size_t n;
} ex_files;

static void ex_files_free(ex_files *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].id);
        free(l->items[i].name);
        free(l->items[i].mime);
        free(l->items[i].hash);
        free(l->items[i].bytes);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* The whole blob into *out (size bytes), or a blob error. */
static int read_blob(blob_store *b, const char *hash, int64_t size, unsigned char **out)
{
    blob_reader *rd = NULL;
    unsigned char *p = NULL;
    int64_t have = 0, real = 0;
    int rc = blob_open(b, hash, &rd, &real);

    *out = NULL;
    if (rc)
        return rc;
    if (real != size) {
        rc = BLOB_INVAL;
        goto fail;
    }
    p = malloc(size ? (size_t)size : 1);
    if (!p) {
        rc = BLOB_NOMEM;
        goto fail;
    }
    while (have < size) {
        size_t got = 0;

        rc = blob_read(rd, have, p + have, (size_t)(size - have), &got);
        if (!rc && !got)
            rc = BLOB_IO;
        if (rc)
            goto fail;
        have += (int64_t)got;
    }
    *out = p;
    p = NULL;
fail:
    free(p);
    blob_reader_close(rd);
    return rc;
}

/* The files of message m with their bytes, within files_max for the whole
 * message. Only for a message that still shows its files (not recalled,
 * contained or burned) and with a blob store; else an empty list. A file
 * the store or the blob store cannot give is named with its reason. */
static int load_files(ex *x, const store_message *m, ex_files *out)
{
    json_t *a = NULL, *f;
    size_t i, budget = x->q->files_max;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!x->q->blobs || !m->attachments || m->recalled)
        return 0;
    a = json_loads(m->attachments, 0, NULL);
    if (!json_is_array(a) || !json_array_size(a))
        goto out;
    out->items = calloc(json_array_size(a), sizeof *out->items);
    if (!out->items) {
        rc = x->rc = STORE_NOMEM;
        goto out;
    }
    json_array_foreach(a, i, f)
    {
        const char *id = json_string_value(json_object_get(f, "id"));
        ex_file *e = &out->items[out->n];
        store_file sf = {0};

        if (!id)
            continue;
        out->n++;
        e->id = strdup(id);
        if (store_file_get(x->st, id, &sf)) {
            const char *nm = json_string_value(json_object_get(f, "name"));

            e->omitted = "gone";
            e->name = strdup(nm ? nm : "");
            e->mime = strdup("application/octet-stream");
        } else {
            e->name = sf.name;
            e->mime = sf.mime;
            e->hash = sf.hash;
            e->size = sf.size;
            sf.name = sf.mime = sf.hash = NULL;
            if (sf.size < 0 || (size_t)sf.size > budget)
                e->omitted = "over_cap";
            else if (read_blob(x->q->blobs, e->hash, e->size, &e->bytes))
                e->omitted = "unreadable";
            else
                budget -= (size_t)sf.size;
        }
        store_file_clear(&sf);
        if (!e->id || !e->name || !e->mime) {
            rc = x->rc = STORE_NOMEM;
            break;
        }
        if (e->omitted)
            x->res->files_omitted++;
        else
            x->res->files++;
    }
out:
    json_decref(a);
    if (rc)
        ex_files_free(out);
    return rc;
}

/* JSON Lines: one "file" record per file after its message. */
static int jsonl_files(ex *x, const store_message *m, const ex_files *l)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < l->n; i++) {
        const ex_file *e = &l->items[i];
        gchar *b64 = e->bytes ? g_base64_encode(e->bytes, (gsize)e->size) : NULL;
        json_t *o =
            json_pack("{s:s,s:I,s:s,s:s,s:s,s:I,s:o,s:o}", "type", "file", "message_id",
                      (json_int_t)m->id, "id", e->id, "name", e->name, "mime", e->mime, "size",
                      (json_int_t)e->size, "sha256", e->hash ? json_string(e->hash) : json_null(),
                      "content_base64", b64 ? json_string(b64) : json_null());

        g_free(b64);
        if (o && e->omitted) {
            json_object_set_new(o, "omitted", json_string(e->omitted));
            if (!strcmp(e->omitted, "over_cap"))
                json_object_set_new(o, "cap", json_integer((json_int_t)x->q->files_max));
        }
        rc = out_json(x, o);
    }
    return rc;
}

static json_t *audit_json(const store_audit_entry *e)
{
    json_t *o = chat_json_audit(e);

    if (o)
        json_object_set_new(o, "type", json_string("audit"));
    return o;
}

/* ---- EML --------------------------------------------------------------- */

static void msgid(char *buf, size_t cap, int64_t id)
{
    snprintf(buf, cap, "cordon-message-%" PRId64 "@" MAIL_HOST, id);
}

/* Writes msg as one mbox entry: the "From " line, the message, a blank
 * line. Bodies are base64, so no line of them starts with "From ". */
static int out_mbox(ex *x, GMimeMessage *msg, int64_t when_ms)
{
    char from_line[160], stamp[64];
    time_t t = (time_t)(when_ms / 1000);
    struct tm tm;
    char *text;
    size_t len;
    int rc;

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%a %b %e %H:%M:%S %Y", &tm);
    snprintf(from_line, sizeof from_line, "From cordon-export@" MAIL_HOST " %s\n", stamp);
    text = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
    if (!text)
        return x->rc = STORE_NOMEM;
    len = strlen(text);
    rc = out(x, from_line, strlen(from_line));
    if (!rc)
        rc = out(x, text, len);
    if (!rc && (!len || text[len - 1] != '\n'))
        rc = out(x, "\n", 1);
    if (!rc)
        rc = out(x, "\n", 1);
    g_free(text);
    return rc;
}

/* A message with the common headers and a UTF-8 text/plain body. */
static GMimeMessage *mail_new(const char *from_name, const char *from_addr, const char *to_name,
                              const char *to_addr, const char *subject, int64_t when_ms,
                              const char *id, const char *body, size_t body_len)
{
    GMimeMessage *msg = g_mime_message_new(TRUE);
    GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
    GDateTime *dt = g_date_time_new_from_unix_utc(when_ms / 1000);
    char *copy = g_strndup(body, body_len);

    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name, from_addr);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, to_name, to_addr);
    g_mime_message_set_subject(msg, subject, "utf-8");
    if (dt)
        g_mime_message_set_date(msg, dt);
    g_mime_message_set_message_id(msg, id);
    g_mime_text_part_set_text(part, copy);
    g_mime_text_part_set_charset(part, "utf-8");
    g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_BASE64);
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
    g_object_unref(part);
    g_free(copy);
    if (dt)
        g_date_time_unref(dt);
    return msg;
}

static void header_int(GMimeMessage *msg, const char *name, int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%" PRId64, v);
    g_mime_object_set_header(GMIME_OBJECT(msg), name, buf, NULL);
}

/* One X-Cordon-Attachment header per file of a message that still shows
 * them (not recalled): id, type, size and name (an encoded-word when not
 * ASCII). The bytes are not in the export (docs/API.md). -1 when the
 * store's list does not parse. */
static int eml_attachments(GMimeMessage *msg, const store_message *m)
{
    json_t *a, *f;
    size_t i;

    if (!m->attachments || m->recalled)
        return 0;
    a = json_loads(m->attachments, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return -1;
    }
    json_array_foreach(a, i, f)
    {
        const char *id = json_string_value(json_object_get(f, "id")),
                   *mime = json_string_value(json_object_get(f, "mime")),
                   *name = json_string_value(json_object_get(f, "name"));
        char *v = g_strdup_printf("id=%s; type=%s; size=%" JSON_INTEGER_FORMAT "; name=%s",
                                  id ? id : "", mime ? mime : "",
                                  json_integer_value(json_object_get(f, "size")), name ? name : "");

        g_mime_object_append_header(GMIME_OBJECT(msg), "X-Cordon-Attachment", v, "utf-8");
        g_free(v);
    }
    json_decref(a);
    return 0;
}

/* The message's files as MIME parts: the body becomes multipart/mixed
 * (the text first), each file an attachment in base64 with its name; an
 * omitted file a text part saying which and why, and a header. */
static void eml_files(ex *x, GMimeMessage *msg, const ex_files *l)
{
    GMimeMultipart *mp;
    GMimeObject *body;

    if (!l->n)
        return;
    mp = g_mime_multipart_new_with_subtype("mixed");
    body = g_mime_message_get_mime_part(msg);
    g_mime_multipart_add(mp, body);
    for (size_t i = 0; i < l->n; i++) {
        const ex_file *e = &l->items[i];

        if (e->bytes) {
            const char *slash = strchr(e->mime, '/');
            char type[64];
            GMimePart *att;
            GMimeStream *s;
            GMimeDataWrapper *dw;

            snprintf(type, sizeof type, "%.*s", slash ? (int)(slash - e->mime) : 11,
                     slash ? e->mime : "application");
            att = g_mime_part_new_with_type(type, slash ? slash + 1 : "octet-stream");
            s = g_mime_stream_mem_new_with_buffer((const char *)e->bytes, (size_t)e->size);
            dw = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
            g_mime_part_set_content(att, dw);
            g_mime_part_set_content_encoding(att, GMIME_CONTENT_ENCODING_BASE64);
            g_mime_part_set_filename(att, e->name);
            g_mime_object_set_header(GMIME_OBJECT(att), "X-Cordon-File-Id", e->id, NULL);
            if (e->hash)
                g_mime_object_set_header(GMIME_OBJECT(att), "X-Cordon-File-Sha256", e->hash, NULL);
            g_mime_multipart_add(mp, GMIME_OBJECT(att));
            g_object_unref(dw);
            g_object_unref(s);
            g_object_unref(att);
        } else {
            GMimeTextPart *note = g_mime_text_part_new_with_subtype("plain");
            char *text = g_strdup_printf(
                "[file omitted: %s (%" PRId64 " bytes, id %s): %s]\n", e->name, e->size, e->id,
                !strcmp(e->omitted, "over_cap") ? "over the export's cap of file bytes per message"
                : !strcmp(e->omitted, "gone")   ? "no longer stored"
                                                : "could not be read");
            char *hv =
                g_strdup_printf("id=%s; reason=%s; cap=%zu", e->id, e->omitted, x->q->files_max);

            g_mime_text_part_set_text(note, text);
            g_mime_text_part_set_charset(note, "utf-8");
            g_mime_part_set_content_encoding(GMIME_PART(note), GMIME_CONTENT_ENCODING_BASE64);
            g_mime_multipart_add(mp, GMIME_OBJECT(note));
            g_mime_object_append_header(GMIME_OBJECT(msg), "X-Cordon-Attachment-Omitted", hv, NULL);
            g_object_unref(note);
            g_free(text);
            g_free(hv);
        }
    }
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(mp));
    g_object_unref(mp);
}

static int eml_message(ex *x, const store_message *m, const ex_files *files)
{
    char from_addr[64], to_addr[64], id[96], ref[128];
    const char *state = message_state(m), *body = m->text;
    size_t body_len = m->text_len;
    char placeholder[64];
    GMimeMessage *msg;
    int rc;

    if (!has_text(m)) {
        /* Recalled, contained or burned: the state, never the text. */
        snprintf(placeholder, sizeof placeholder, "[%s]", state);
        body = placeholder;
        body_len = strlen(placeholder);
    }
    snprintf(from_addr, sizeof from_addr, "user-%" PRId64 "@" MAIL_HOST, m->sender_id);
    snprintf(to_addr, sizeof to_addr, "conversation-%" PRId64 "@" MAIL_HOST, m->conv_id);
    msgid(id, sizeof id, m->id);
    msg = mail_new(user_name(x, m->sender_id), from_addr, conv_name(x, m->conv_id), to_addr,
                   conv_name(x, m->conv_id), m->created_at, id, body, body_len);
    if (!msg)
        return x->rc = STORE_NOMEM;
    if (m->forward_of) {
        /* A forward answers to the message it was forwarded from. */
        msgid(id, sizeof id, m->forward_of);
        snprintf(ref, sizeof ref, "<%s>", id);
        g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", ref, NULL);
        msgid(id, sizeof id, m->forward_origin_id);
        snprintf(ref, sizeof ref, "<%s>", id);
        g_mime_object_set_header(GMIME_OBJECT(msg), "References", ref, NULL);
        header_int(msg, "X-Cordon-Forward-Depth", m->forward_depth);
        header_int(msg, "X-Cordon-Forward-Original-Sender", m->forward_author_id);
    }
    header_int(msg, "X-Cordon-Message-Id", m->id);
    header_int(msg, "X-Cordon-Conversation-Id", m->conv_id);
    header_int(msg, "X-Cordon-Sender-Id", m->sender_id);
    g_mime_object_set_header(GMIME_OBJECT(msg), "X-Cordon-State", state, NULL);
    g_mime_object_set_header(GMIME_OBJECT(msg), "X-Cordon-Verdict", m->verdict ? m->verdict : "",
                             NULL);
    if (eml_attachments(msg, m))
        g_mime_object_set_header(GMIME_OBJECT(msg), "X-Cordon-Attachments-Unreadable", "yes", NULL);
    if (m->masked)
        g_mime_object_set_header(GMIME_OBJECT(msg), "X-Cordon-Masked", "yes", NULL);
    if (m->justification && *m->justification && has_text(m))
        g_mime_object_set_header(GMIME_OBJECT(msg), "X-Cordon-Justification", m->justification,
                                 "utf-8");
    eml_files(x, msg, files);
    rc = out_mbox(x, msg, m->created_at);
    g_object_unref(msg);
    return rc;
}

/* A whole text/plain message (the cover and the audit part): from the
 * export itself, body given. */
static int eml_note(ex *x, const char *subject, const char *tag, int64_t n, const char *body,
                    size_t len)
{
    char id[128], to_addr[64];
    GMimeMessage *msg;
    int rc;

    /* Unique per part: an export may hold several audit parts. */
    snprintf(id, sizeof id, "cordon-export-%s-%" PRId64 "-%" PRId64 "@" MAIL_HOST, tag, n,
             x->q->now);
    if (x->q->conv_id > 0)
        snprintf(to_addr, sizeof to_addr, "conversation-%" PRId64 "@" MAIL_HOST, x->q->conv_id);
    else
        snprintf(to_addr, sizeof to_addr, "user-%" PRId64 "@" MAIL_HOST, x->q->user_id);
    msg = mail_new("Cordon export", "cordon-export@" MAIL_HOST,
                   x->q->conv_id > 0 ? conv_name(x, x->q->conv_id) : user_name(x, x->q->user_id),
                   to_addr, subject, x->q->now, id, body, len);
    if (!msg)
        return x->rc = STORE_NOMEM;
    rc = out_mbox(x, msg, x->q->now);
    g_object_unref(msg);
    return rc;
}

/* The JSON header line as the body of the first mbox entry. */
static int eml_cover(ex *x)
{
    json_t *h = header_json(x);
    char *s = h ? json_dumps(h, JSON_COMPACT) : NULL;
    int rc;

    json_decref(h);
    if (!s)
        return x->rc = STORE_NOMEM;
    rc = eml_note(x, "Cordon export", "cover", 0, s, strlen(s));
    free(s);
    return rc;
}

/* ---- the pages ------------------------------------------------------------ */

static bool full(ex *x)
{
    return x->q->max_bytes && x->res->bytes >= x->q->max_bytes;
}

static int export_messages(ex *x, int64_t after, bool *stopped)
{
    store_export_query sq = {x->q->conv_id, x->q->user_id, x->q->from, x->q->to, after, 0};
    store_messages page = {0};
    int rc = 0;

    *stopped = false;
    for (;;) {
        rc = store_message_export(x->st, &sq, &page);
        if (rc)
            break;
        for (size_t i = 0; i < page.n && !rc; i++) {
            const store_message *m = &page.items[i];
            ex_files files = {0};

            rc = load_files(x, m, &files);
            if (!rc)
                rc = x->q->format == CHAT_EXPORT_EML ? eml_message(x, m, &files)
                                                     : out_json(x, message_json(x, m));
            if (!rc && x->q->format == CHAT_EXPORT_JSONL)
                rc = jsonl_files(x, m, &files);
            ex_files_free(&files);
            if (rc)
                break;
            x->res->messages++;
            if (!has_text(m))
                x->res->recalled++;
            sq.after = m->id;
            if (full(x)) {
                snprintf(x->res->next_cursor, sizeof x->res->next_cursor, "m%" PRId64, m->id);
                *stopped = true;
                break;
            }
        }
        if (rc || *stopped || page.n < STORE_EXPORT_PAGE_MAX)
            break;
        store_messages_free(&page);
    }
    store_messages_free(&page);
    return rc;
}

/* Audit entries after seq; EML gathers a page's lines into one part,
 * bounded by max_bytes (or by the page size when there is no cap). */
static int export_audit(ex *x, int64_t after, bool *stopped)
{
    store_export_query sq = {x->q->conv_id, x->q->user_id, x->q->from, x->q->to, after, 0};
    store_audit_entries page = {0};
    char *lines = NULL;
    size_t len = 0, cap = 0;
    int64_t part_first = 0; /* the first seq of the EML audit part being built */
    int rc = 0;

    *stopped = false;
    for (;;) {
        rc = store_audit_covering(x->st, &sq, &page);
        if (rc)
            break;
        for (size_t i = 0; i < page.n && !rc; i++) {
            json_t *o = audit_json(&page.items[i]);

            if (x->q->format == CHAT_EXPORT_EML) {
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                size_t n = s ? strlen(s) : 0;

                json_decref(o);
                if (!s) {
                    rc = x->rc = STORE_NOMEM;
                    break;
                }
                if (len + n + 2 > cap) {
                    size_t ncap = (len + n + 2) * 2;
                    char *nl = realloc(lines, ncap);

                    if (!nl) {
                        free(s);
                        rc = x->rc = STORE_NOMEM;
                        break;
                    }
                    lines = nl;
                    cap = ncap;
                }
                if (!len)
                    part_first = page.items[i].seq;
                memcpy(lines + len, s, n);
                len += n;
                lines[len++] = '\n';
                free(s);
            } else if ((rc = out_json(x, o)))
                break;
            x->res->audit_entries++;
            sq.after = page.items[i].seq;
            if (!x->q->max_bytes && len >= AUDIT_PART_MAX) {
                /* No page cap (a file): one more audit message, go on. */
                rc = eml_note(x, "Cordon export: audit entries", "audit", part_first, lines, len);
                len = 0;
                if (rc)
                    break;
            }
            /* The EML part is still to be written, as base64 (4/3). The
             * last entry of a short page is the end: no empty page after. */
            if (!(i + 1 == page.n && page.n < STORE_EXPORT_PAGE_MAX) &&
                (full(x) || (x->q->max_bytes && x->res->bytes + len / 3 * 4 >= x->q->max_bytes))) {
                snprintf(x->res->next_cursor, sizeof x->res->next_cursor, "a%" PRId64,
                         page.items[i].seq);
                *stopped = true;
                break;
            }
        }
        if (rc || *stopped || page.n < STORE_EXPORT_PAGE_MAX)
            break;
        store_audit_entries_free(&page);
    }
    store_audit_entries_free(&page);
    if (!rc && len)
        rc = eml_note(x, "Cordon export: audit entries", "audit", part_first, lines, len);
    free(lines);
    return rc;
}

int chat_export_run(store *st, const chat_export_req *q, chat_export_sink sink, void *ctx,
                    chat_export_result *res)
{
    ex x = {.st = st, .q = q, .sink = sink, .ctx = ctx, .res = res};
    store_user u = {0};
    store_conv c = {0};
    bool stopped = false;
    char phase;
    int64_t after;
    int rc = STORE_INVAL;

    memset(res, 0, sizeof *res);
    if (chat_export_check(q) || !cursor_parse(q->cursor, &phase, &after))
        goto fail;
    rc = q->conv_id > 0 ? store_conv_get(st, q->conv_id, &c) : store_user_get(st, q->user_id, &u);
    if (rc)
        goto fail;
    if (q->format == CHAT_EXPORT_EML)
        pthread_once(&gmime_once, gmime_start);
    if (phase == 'm' && after == 0) {
        rc = q->format == CHAT_EXPORT_EML ? eml_cover(&x) : out_json(&x, header_json(&x));
        if (rc)
            goto fail;
    }
    if (phase == 'm') {
        rc = export_messages(&x, after, &stopped);
        if (rc)
            goto fail;
        after = 0;
    }
    if (!stopped) {
        rc = export_audit(&x, after, &stopped);
        if (rc)
            goto fail;
    }
    res->more = stopped;
    if (!stopped)
        res->next_cursor[0] = 0;
    if (q->format == CHAT_EXPORT_JSONL)
        rc = out_json(&x, json_pack("{s:s,s:I,s:I,s:o}", "type", "page", "messages",
                                    (json_int_t)res->messages, "audit_entries",
                                    (json_int_t)res->audit_entries, "next_cursor",
                                    stopped ? json_string(res->next_cursor) : json_null()));
fail:
    slots_free(x.users);
    slots_free(x.convs);
    store_user_clear(&u);
    store_conv_clear(&c);
    return rc ? rc : x.rc;
}
