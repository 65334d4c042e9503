/*
 * srv_siem.c — the SIEM export thread (srv_siem.h).
 *
 * Each round: audit entries after the recorded seq, then alerts after the
 * recorded id (read newest first in pages and sent oldest first), each as
 * one RFC 5424 message; the position is recorded after each batch that was
 * sent. Bounded: at most ROUND_MAX of each per round, so a backlog drains
 * over several rounds without holding much memory.
 */
#include "srv_siem.h"

#include "chat/chat_json.h"
#include "srv_log.h"
#include "store/store.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ROUND_MAX   500
#define PAGE        100
#define MSG_MAX     (60 * 1024) /* one syslog message; longer payloads are cut */
#define KEY_AUDIT   "siem.audit_seq"
#define KEY_ALERT   "siem.alert_id"
#define SD_ID       "cordon@32473" /* an enterprise-number-shaped SD-ID (RFC 5424 7.2.2) */
#define SEV_NOTICE  5
#define SEV_WARNING 4
#define SEV_ERR     3

struct srv_siem {
    store *st;
    char *host, *port;
    bool tcp, cef;
    int facility, interval_ms;
    int fd;
    char hostname[256];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int64_t audit_seq, alert_id;
};

/* ---- formatting ----------------------------------------------------------- */

void srv_siem_cef_escape(const char *in, bool ext, char *out, size_t cap)
{
    size_t o = 0;

    for (; in && *in && o + 3 < cap; in++) {
        char c = *in;

        if (c == '\\' || (!ext && c == '|') || (ext && c == '=')) {
            out[o++] = '\\';
            out[o++] = c;
        } else if (ext && (c == '\n' || c == '\r')) {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : 'r';
        } else
            out[o++] = c;
    }
    /* never end inside a UTF-8 sequence */
    while (o && (out[o - 1] & 0xC0) == 0x80)
        o--;
    if (o && (unsigned char)out[o - 1] >= 0xC0)
        o--;
    out[o] = 0;
}

static void rfc3339(int64_t ms, char out[64])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The header and structured data of one message into buf; returns its
 * length. msgid: "audit" | "alert". */
static int header(const srv_siem *s, char *buf, size_t cap, int sev, int64_t time_ms,
                  const char *msgid, const char *sd_key, int64_t sd_val, const char *event)
{
    char ts[64], ev[160];

    rfc3339(time_ms, ts);
    /* SD-PARAM values escape `"`, `\` and `]` (RFC 5424 6.3.3) */
    {
        size_t o = 0;

        for (const char *p = event; p && *p && o + 3 < sizeof ev; p++) {
            if (*p == '"' || *p == '\\' || *p == ']')
                ev[o++] = '\\';
            ev[o++] = *p;
        }
        ev[o] = 0;
    }
    return snprintf(buf, cap, "<%d>1 %s %s cordon %d %s [" SD_ID " %s=\"%lld\" event=\"%s\"] ",
                    s->facility * 8 + sev, ts, s->hostname, (int)getpid(), msgid, sd_key,
                    (long long)sd_val, ev);
}

static int alert_severity(const store_alert *a)
{
    if (a->verdict && (!strcmp(a->verdict, "block") || !strcmp(a->verdict, "confirm")))
        return SEV_ERR;
    return SEV_WARNING;
}

/* An alert as it may leave: the findings without the text around them
 * and a justification only as "justified". */
static json_t *alert_json(const store_alert *a)
{
    json_t *o = chat_json_alert(a), *f;
    size_t i;
    json_t *x;

    if (!o)
        return NULL;
    f = json_object_get(o, "findings");
    json_array_foreach(f, i, x)
    {
        json_object_del(x, "context_before");
        json_object_del(x, "context_after");
    }
    json_object_set_new(o, "justified", json_boolean(a->justification != NULL));
    json_object_del(o, "justification");
    return o;
}

/* One audit entry as a complete message into buf (cap bytes). */
static int format_audit(const srv_siem *s, const store_audit_entry *e, char *buf, size_t cap)
{
    int n = header(s, buf, cap, SEV_NOTICE, e->time, "audit", "seq", e->seq, e->event);
    char *text = NULL;

    if (n < 0 || (size_t)n >= cap)
        return -1;
    if (s->cef) {
        char ev[160], actor[200], target[300], detail[4096];

        srv_siem_cef_escape(e->event, false, ev, sizeof ev);
        srv_siem_cef_escape(e->actor, true, actor, sizeof actor);
        srv_siem_cef_escape(e->target, true, target, sizeof target);
        srv_siem_cef_escape(e->detail, true, detail, sizeof detail);
        n += snprintf(buf + n, cap - (size_t)n,
                      "CEF:0|Cordon|Cordon|" CORDON_VERSION
                      "|%s|%s|3|rt=%lld externalId=%lld suid=%lld suser=%s act=%s "
                      "cs1Label=target cs1=%s cs2Label=detail cs2=%s",
                      ev, ev, (long long)e->time, (long long)e->seq, (long long)e->actor_id, actor,
                      ev, target, detail);
    } else {
        json_t *o = chat_json_audit(e);

        if (o)
            json_object_set_new(o, "type", json_string("audit"));
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        n += snprintf(buf + n, cap - (size_t)n, "%s", text ? text : "{}");
    }
    free(text);
    return n < (int)cap ? n : (int)cap - 1;
}

static int format_alert(const srv_siem *s, const store_alert *a, char *buf, size_t cap)
{
    int sev = alert_severity(a);
    int n = header(s, buf, cap, sev, a->created_at, "alert", "alert", a->id,
                   a->category ? a->category : "");
    char *text = NULL;

    if (n < 0 || (size_t)n >= cap)
        return -1;
    if (s->cef) {
        char cat[160], rule[200], verdict[40];

        srv_siem_cef_escape(a->category, false, cat, sizeof cat);
        srv_siem_cef_escape(a->rule ? a->rule : "", true, rule, sizeof rule);
        srv_siem_cef_escape(a->verdict, true, verdict, sizeof verdict);
        n += snprintf(buf + n, cap - (size_t)n,
                      "CEF:0|Cordon|Cordon|" CORDON_VERSION
                      "|alert.%s|%s|%d|rt=%lld externalId=%lld suid=%lld act=%s cs1Label=rule "
                      "cs1=%s cn1Label=conversation cn1=%lld cn2Label=message cn2=%lld",
                      cat, cat, sev == SEV_ERR ? 8 : 5, (long long)a->created_at, (long long)a->id,
                      (long long)a->user_id, verdict, rule, (long long)a->conv_id,
                      (long long)a->message_id);
    } else {
        json_t *o = alert_json(a);

        if (o)
            json_object_set_new(o, "type", json_string("alert"));
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        n += snprintf(buf + n, cap - (size_t)n, "%s", text ? text : "{}");
    }
    free(text);
    return n < (int)cap ? n : (int)cap - 1;
}

/* ---- transport ------------------------------------------------------------ */

static void disconnect(srv_siem *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static int connect_to(srv_siem *s)
{
    struct addrinfo hints = {.ai_socktype = s->tcp ? SOCK_STREAM : SOCK_DGRAM}, *res = NULL, *ai;
    struct timeval tv = {2, 0};
    int rc = getaddrinfo(s->host, s->port, &hints, &res);

    if (rc) {
        SRV_WARN("siem", "%s:%s: %s", s->host, s->port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai && s->fd < 0; ai = ai->ai_next) {
        s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s->fd < 0)
            continue;
        setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(s->fd, ai->ai_addr, ai->ai_addrlen))
            disconnect(s);
    }
    freeaddrinfo(res);
    if (s->fd < 0)
        SRV_WARN("siem", "cannot reach %s:%s (%s); retrying", s->host, s->port, strerror(errno));
    return s->fd < 0 ? -1 : 0;
}

/* Sends one message; 0 or -1 (then the connection is dropped). */
static int send_msg(srv_siem *s, const char *msg, size_t len)
{
    char pre[24];
    int n;

    if (s->fd < 0 && connect_to(s))
        return -1;
    if (!s->tcp) {
        if (send(s->fd, msg, len, MSG_NOSIGNAL) < 0)
            goto fail;
        return 0;
    }
    /* RFC 6587 3.4.1 octet counting: "LEN SP MSG" */
    n = snprintf(pre, sizeof pre, "%zu ", len);
    for (size_t off = 0, total = (size_t)n + len; off < total;) {
        const char *p = off < (size_t)n ? pre + off : msg + (off - (size_t)n);
        size_t left = off < (size_t)n ? (size_t)n - off : total - off;
        ssize_t w = send(s->fd, p, left, MSG_NOSIGNAL);

        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    return 0;
fail:
    SRV_WARN("siem", "send to %s:%s: %s; retrying", s->host, s->port, strerror(errno));
    disconnect(s);
    return -1;
}

/* ---- rounds --------------------------------------------------------------- */

static void save(srv_siem *s, const char *key, int64_t v)
{
    char num[24];

    snprintf(num, sizeof num, "%lld", (long long)v);
    if (store_kv_set(s->st, key, num))
        SRV_WARN("siem", "cannot record %s: %s", key, store_errmsg(s->st));
}

static void round_audit(srv_siem *s, char *buf)
{
    for (int sent = 0; sent < ROUND_MAX;) {
        store_audit_entries l = {0};
        int64_t last = s->audit_seq;

        if (store_audit_page(s->st, s->audit_seq, PAGE, &l) || !l.n) {
            store_audit_entries_free(&l);
            return;
        }
        for (size_t i = 0; i < l.n; i++, sent++) {
            int n = format_audit(s, &l.items[i], buf, MSG_MAX);

            if (n > 0 && send_msg(s, buf, (size_t)n))
                break;
            last = l.items[i].seq;
        }
        if (last != s->audit_seq)
            save(s, KEY_AUDIT, s->audit_seq = last);
        if (last != l.items[l.n - 1].seq || l.n < PAGE) {
            store_audit_entries_free(&l);
            return;
        }
        store_audit_entries_free(&l);
    }
}

static void round_alerts(srv_siem *s, char *buf)
{
    store_alert_filter f = {.limit = PAGE};
    store_alert *todo = NULL;
    size_t n = 0, cap = 0;
    int64_t last = s->alert_id;

    /* newest first, down to the last one sent */
    for (bool more = true; more && n < ROUND_MAX;) {
        store_alerts l = {0};

        if (store_alert_list(s->st, &f, &l))
            break;
        more = l.n == PAGE;
        for (size_t i = 0; i < l.n; i++) {
            if (l.items[i].id <= s->alert_id) {
                more = false;
                break;
            }
            if (n == cap) {
                store_alert *p = realloc(todo, (cap = cap ? 2 * cap : 64) * sizeof *p);

                if (!p) {
                    more = false;
                    break;
                }
                todo = p;
            }
            todo[n++] = l.items[i];
            memset(&l.items[i], 0, sizeof l.items[i]); /* moved */
            f.before_id = todo[n - 1].id;
        }
        store_alerts_free(&l);
    }
    /* oldest first; a round that did not reach the last one sent starts
     * from the oldest it read, the rest next round */
    for (size_t i = n; i-- > 0;) {
        int len = format_alert(s, &todo[i], buf, MSG_MAX);

        if (len > 0 && send_msg(s, buf, (size_t)len))
            break;
        last = todo[i].id;
    }
    if (last != s->alert_id)
        save(s, KEY_ALERT, s->alert_id = last);
    for (size_t i = 0; i < n; i++)
        store_alert_clear(&todo[i]);
    free(todo);
}

static void round_once(srv_siem *s)
{
    char *buf = malloc(MSG_MAX);

    if (!buf)
        return;
    round_audit(s, buf);
    round_alerts(s, buf);
    free(buf);
}

static void *siem_main(void *arg)
{
    srv_siem *s = arg;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec ts;

        pthread_mutex_unlock(&s->mu);
        round_once(s);
        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->interval_ms / 1000;
        ts.tv_nsec += (long)(s->interval_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (!s->stop)
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int64_t kv_int(store *st, const char *key)
{
    char *v = NULL;
    int64_t x = 0;

    if (!store_kv_get(st, key, &v))
        x = strtoll(v, NULL, 10);
    free(v);
    return x > 0 ? x : 0;
}

static void siem_free(srv_siem *s)
{
    if (!s)
        return;
    disconnect(s);
    store_close(s->st);
    free(s->host);
    free(s->port);
    free(s);
}

srv_siem *srv_siem_start(const srv_config *cfg, const char *db_path, bool *failed)
{
    store_options o = {.version = 1, .path = db_path, .maintenance = STORE_MAINT_ELSEWHERE};
    srv_siem *s = NULL;
    const char *colon;
    char *err = NULL;

    *failed = false;
    if (!cfg->siem_address)
        return NULL;
    colon = strrchr(cfg->siem_address, ':');
    if (!colon || colon == cfg->siem_address || !colon[1]) {
        SRV_ERROR("siem", "address '%s': expected host:port", cfg->siem_address);
        goto fail;
    }
    if (!(s = calloc(1, sizeof *s)))
        goto fail;
    s->fd = -1;
    s->tcp = cfg->siem_tcp;
    s->cef = cfg->siem_cef;
    s->facility = cfg->siem_facility;
    s->interval_ms = cfg->siem_interval_ms > 0 ? cfg->siem_interval_ms : 1000;
    s->host = strndup(cfg->siem_address, (size_t)(colon - cfg->siem_address));
    s->port = strdup(colon + 1);
    if (!s->host || !s->port)
        goto fail;
    /* "[::1]:514" */
    if (s->host[0] == '[' && s->host[strlen(s->host) - 1] == ']') {
        memmove(s->host, s->host + 1, strlen(s->host));
        s->host[strlen(s->host) - 1] = 0;
    }
    if (gethostname(s->hostname, sizeof s->hostname - 1) || !s->hostname[0])
        strcpy(s->hostname, "-");
    if (store_open(&o, &s->st, &err)) {
        SRV_ERROR("siem", "store: %s", err ? err : "cannot open");
        goto fail;
    }
    s->audit_seq = kv_int(s->st, KEY_AUDIT);
    s->alert_id = kv_int(s->st, KEY_ALERT);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, siem_main, s)) {
        SRV_ERROR("siem", "cannot start the export thread");
        goto fail;
    }
    SRV_INFO("siem", "exporting alerts and audit entries to %s over %s as %s", cfg->siem_address,
             s->tcp ? "tcp" : "udp", s->cef ? "CEF" : "JSON");
    free(err);
    return s;
fail:
    free(err);
    siem_free(s);
    *failed = true;
    return NULL;
}

void srv_siem_stop(srv_siem *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    round_once(s); /* what the writer committed last */
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    siem_free(s);
}
