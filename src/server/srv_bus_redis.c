/*
 * srv_bus_redis.c — the bus between nodes over Redis (srv_bus_redis.h).
 *
 * One channel, <prefix>:<db>:bus, carries everything every node must hear:
 * events, control messages and heartbeats. One channel rather than one per
 * user or conversation: a group message would otherwise be a PUBLISH per
 * member, and each socket's open and close a SUBSCRIBE round trip; each
 * node already filters by the users whose sockets it holds (the in-process
 * bus it wraps does exactly that), and with the tens of nodes an
 * organisation runs the fan-out costs Redis one write per node per event
 * (Mattermost sends every WebSocket event to every node the same way).
 *
 * A message on the channel is a header line of space-separated words, a
 * line feed, and for an event its wire frame, for a control message its
 * JSON body:
 *   E ORIGIN SEQ MS TYPE AUDIENCE CONV MSG SENDER CONTAINED N U1 .. UN
 *   {"type":"message.new",...}
 *   C ORIGIN SEQ MS KIND
 *   {...}
 *   H ORIGIN LAST_SEQ MS
 * ORIGIN names a process (node name, pid and a random suffix per start), so
 * a restarted node starts a new sequence rather than going back in one.
 * Plain words rather than a JSON header: parsing one with jansson cost half
 * of both nodes' CPU per event in bench/bus (callgrind), the header is
 * numbers only, and the frame after it is sent on as it is.
 *
 * For the gap fill (srv_deliver.c) the bus notes the message ids it hands
 * to this node's sockets and samples the highest. (Upload leases live in
 * the store: srv_upload_lease.h.)
 *
 * Redis connections: the publisher's (PUBLISH pipelined, heartbeat, leader lease),
 * the subscriber's, and a command connection under a mutex for the rate
 * counters and readiness. hiredis' synchronous API on threads of our own:
 * the libev adapter would put Redis on the loop that serves every socket,
 * where a slow Redis must never be; these threads only queue and wait.
 */
#include "srv_bus_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ORIGINS_MAX   64   /* other processes remembered (oldest forgotten first) */
#define PUB_BATCH     256  /* PUBLISHes pipelined per round trip */
#define RETRY_MS      500  /* between connection attempts */
#define CMD_RETRY_MS  1000 /* the command connection, after a failure */
#define IO_TIMEOUT_MS 1000 /* connect and every command */
#define HEADER_MAX    (1 << 20)
/* The gap fill (docs/SCALING.md): message ids this node delivered, a
 * circular bitmap of the last SEEN_WINDOW ids (128 KiB a map); samples of
 * the highest id seen, so a gap's start names an id below which nothing
 * can have been lost; the margin covers a message committed (its id given)
 * that long before its event reached this node. */
#define SEEN_WINDOW    (1 << 20)
#define SAMPLES        512 /* 2 minutes of samples */
#define SAMPLE_MS      250
#define FILL_MARGIN_MS 5000
#define FILL_WAIT_MS   10000

/* Extends the lease if it is still ours: compare and expire in one step. */
static const char LUA_RENEW[] =
    "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('pexpire',KEYS[1],ARGV[2]) "
    "else return 0 end";
/* Lets the lease go at shutdown, if it is ours. */
static const char LUA_RELEASE[] =
    "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end";
/* The per-session request counts of one window (srv_rate_sync): ARGV[1]
 * the key prefix, ARGV[2] the window, ARGV[3] its keys' life in ms,
 * ARGV[4] "SESSION:USED ..." this node's use since its last report. Adds
 * each and returns every node's total, in order. Keys are made here, one
 * per session: a standalone Redis (the bus is one). */
static const char LUA_SUM[] =
    "local out={} for sid,n in string.gmatch(ARGV[4],'(%d+):(%d+)') do "
    "local k=ARGV[1]..sid..':'..ARGV[2] out[#out+1]=redis.call('incrby',k,n) "
    "redis.call('pexpire',k,ARGV[3]) end return out";
/* A hit in a fixed window: the window starts at the first hit. */
static const char LUA_HIT[] =
    "local n=redis.call('incr',KEYS[1]) if n==1 then redis.call('pexpire',KEYS[1],ARGV[1]) end "
    "return n";
/* A token bucket: tokens and time of the last refill in a hash; returns 0
 * when a token was taken, else the milliseconds until one is there. */
static const char LUA_TAKE[] =
    "local rate=tonumber(ARGV[1]) local burst=tonumber(ARGV[2]) local now=tonumber(ARGV[3]) "
    "local v=redis.call('hmget',KEYS[1],'t','ts') local t=tonumber(v[1]) or burst "
    "local ts=tonumber(v[2]) or now if now>ts then t=math.min(burst,t+(now-ts)*rate/1000) end "
    "local wait=0 if t>=1 then t=t-1 else wait=math.ceil((1-t)*1000/rate) end "
    "redis.call('hset',KEYS[1],'t',tostring(t),'ts',tostring(math.max(now,ts))) "
    "redis.call('pexpire',KEYS[1],math.ceil(burst*1000/rate)+1000) return wait";

typedef struct qitem {
    struct qitem *next;
    uint64_t q;
    size_t len;
    char data[];
} qitem;

typedef struct origin {
    char id[80];
    uint64_t last;
    int64_t seen; /* ms (monotonic) */
} origin;

typedef struct seen_sample {
    int64_t ms; /* monotonic */
    int64_t max_id;
} seen_sample;

typedef struct redis_chat {
    chat_bus base; /* first */
    srv_bus_redis *owner;
} redis_chat;

struct srv_bus_redis {
    redis_chat chat;
    chat_bus *local; /* this node's subscribers */
    srv_bus_hooks hooks;
    char *host, *password;
    int port, db;
    char inst[80]; /* this process on the bus: node name and a random suffix */
    char channel[128], lease_key[128], rl_prefix[128];
    int lease_ms, hb_ms;
    size_t max_queue;
    atomic_bool stop;
    /* the publisher's queue, in sequence order */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    qitem *head, **tail;
    size_t n_queued;
    uint64_t seq;    /* last number given */
    uint64_t sent_q; /* every number up to this was published or dropped */
    uint64_t lost_q; /* the last number given to nothing (lose_number) */
    pthread_t pub_th, sub_th;
    bool pub_started, sub_started;
    /* the subscriber thread's own */
    origin origins[ORIGINS_MAX];
    int64_t subscribed_at;
    /* the command connection */
    pthread_mutex_t cmd_mu;
    redisContext *cmd;
    int64_t cmd_retry_at;
    /* state and stats read by any thread */
    atomic_bool pub_up, sub_up;
    atomic_llong last_rx_ms, leader_until;
    atomic_ullong published, dropped, received, gaps, reconnects;
    atomic_llong lag_us, lag_max_us;
    srv_rate_shared rate;
    /* the gap fill, under seen_mu (any thread) */
    pthread_mutex_t seen_mu;
    uint64_t *seen_bits, *filled_bits; /* SEEN_WINDOW bits each, by id modulo */
    int64_t seen_lo;                   /* the maps hold ids [seen_lo, seen_lo + SEEN_WINDOW) */
    int64_t max_id;                    /* the highest message id seen */
    seen_sample samples[SAMPLES];      /* a ring, oldest overwritten */
    size_t n_samples, sample_next;
    int64_t gap_start; /* pending gap: its earliest start (monotonic ms), 0: none */
    bool gap_unknown;  /* pending gap whose start is not known */
    int64_t started_ms, dropped_rx_ms, last_sample_ms;
    atomic_bool filling; /* a gap's fill is under way: live events wait */
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(srv_bus_redis *b, int ms)
{
    /* In short steps, so stopping is prompt. */
    for (int i = 0; i < ms && !atomic_load(&b->stop); i += 50)
        usleep(50000);
}

/* ---- connections --------------------------------------------------------------- */

/* "redis://[:password@]host[:port][/db]". Returns 0 or -1. */
static int parse_url(srv_bus_redis *b, const char *url)
{
    const char *p = url, *at, *slash, *colon, *hend;
    int rc = -1;

    if (strncmp(p, "redis://", 8))
        goto out;
    p += 8;
    slash = strchr(p, '/');
    at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
    if (at) {
        const char *pw = memchr(p, ':', (size_t)(at - p));

        pw = pw ? pw + 1 : p;
        b->password = strndup(pw, (size_t)(at - pw));
        if (!b->password)
            goto out;
        p = at + 1;
    }
    hend = slash ? slash : p + strlen(p);
    colon = memchr(p, ':', (size_t)(hend - p));
    b->port = 6379;
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);

        if (end != hend || port < 1 || port > 65535)
            goto out;
        b->port = (int)port;
    } else
        colon = hend;
    if (colon == p)
        goto out;
    b->host = strndup(p, (size_t)(colon - p));
    if (!b->host)
        goto out;
    if (slash && slash[1]) {
        char *end;
        long db = strtol(slash + 1, &end, 10);

        if (*end || db < 0 || db > 1000)
            goto out;
        b->db = (int)db;
    }
    rc = 0;
out:
    return rc;
}

static bool reply_ok(redisReply *r)
{
    return r && r->type != REDIS_REPLY_ERROR;
}

/* A connection with bounded connect and command times, authenticated and on
 * the configured database; NULL when Redis does not answer. */
static redisContext *rconnect(srv_bus_redis *b)
{
    struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(b->host, b->port, tv);
    redisReply *r = NULL;

    if (!c || c->err)
        goto fail;
    if (redisSetTimeout(c, tv) || redisEnableKeepAlive(c))
        goto fail;
    if (b->password) {
        r = redisCommand(c, "AUTH %s", b->password);
        if (!reply_ok(r))
            goto fail;
        freeReplyObject(r);
        r = NULL;
    }
    if (b->db) {
        r = redisCommand(c, "SELECT %d", b->db);
        if (!reply_ok(r))
            goto fail;
        freeReplyObject(r);
        r = NULL;
    }
    return c;
fail:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

/* A command on the shared command connection (any thread). The reply (the
 * caller frees it), or NULL: Redis unreachable or an error reply; the
 * connection is then retried after CMD_RETRY_MS, not on every call, so a
 * Redis that is down costs callers nothing. */
static redisReply *command(srv_bus_redis *b, const char *fmt, ...)
{
    redisReply *r = NULL;
    int64_t now = mono_ms();
    va_list ap;

    pthread_mutex_lock(&b->cmd_mu);
    /* A connection that failed on its first use since Redis restarted was
     * stale, not Redis down: one fresh connection and one more try. */
    for (int attempt = 0; attempt < 2 && !r; attempt++) {
        bool stale = b->cmd != NULL;

        if (!b->cmd && (attempt || now >= b->cmd_retry_at)) {
            b->cmd = rconnect(b);
            if (!b->cmd)
                b->cmd_retry_at = now + CMD_RETRY_MS;
        }
        if (!b->cmd)
            goto out;
        va_start(ap, fmt);
        r = redisvCommand(b->cmd, fmt, ap);
        va_end(ap);
        if (!r) { /* I/O error: the context is unusable */
            redisFree(b->cmd);
            b->cmd = NULL;
            b->cmd_retry_at = now + CMD_RETRY_MS;
            if (!stale)
                break;
        }
    }
    if (r && r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        r = NULL;
    }
out:
    pthread_mutex_unlock(&b->cmd_mu);
    return r;
}

/* ---- the publisher ---------------------------------------------------------- */

/* Queues data (taken) under the next number. The caller holds b->mu. The
 * oldest waiting item makes room when the queue is full: receivers see the
 * jump and resync. */
static void enqueue_locked(srv_bus_redis *b, qitem *it)
{
    it->next = NULL;
    *b->tail = it;
    b->tail = &it->next;
    b->n_queued++;
    if (b->n_queued > b->max_queue) {
        qitem *old = b->head;

        b->head = old->next;
        if (!b->head)
            b->tail = &b->head;
        b->n_queued--;
        b->sent_q = old->q;
        atomic_fetch_add(&b->dropped, 1);
        free(old);
    }
    pthread_cond_signal(&b->cv);
}

/* A number given to something that could not be sent: the others notice
 * it missing (the next message's number, or the heartbeat's). */
static void lose_number(srv_bus_redis *b)
{
    pthread_mutex_lock(&b->mu);
    b->seq++;
    atomic_fetch_add(&b->dropped, 1);
    b->lost_q = b->seq; /* the heartbeat tells once what is queued before it went */
    pthread_mutex_unlock(&b->mu);
}

/* Queues "K ORIGIN SEQ TS REST\nBODY" under the next number (rest: rest_len
 * bytes, may be 0; body may be NULL). The allocation happens outside the
 * lock; the number is taken inside it, so the queue is in number order. */
static int publish_line(srv_bus_redis *b, char k, const char *rest, size_t rest_len,
                        const char *body)
{
    size_t bl = body ? strlen(body) : 0;
    size_t cap = sizeof b->inst + 64 + rest_len + bl;
    qitem *it = malloc(sizeof *it + cap);
    long long ts = (long long)wall_ms();
    int n;

    if (!it) {
        lose_number(b);
        return -1;
    }
    pthread_mutex_lock(&b->mu);
    it->q = ++b->seq;
    n = snprintf(it->data, cap, "%c %s %llu %lld %.*s\n", k, b->inst, (unsigned long long)it->q, ts,
                 (int)rest_len, rest ? rest : "");
    if (bl)
        memcpy(it->data + n, body, bl);
    it->len = (size_t)n + bl;
    it->data[it->len] = 0;
    enqueue_locked(b, it);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

/* Publishes a batch pipelined; false when the connection failed. */
static bool publish_batch(srv_bus_redis *b, redisContext *c, qitem *batch)
{
    size_t n = 0;
    bool ok = true;

    for (qitem *it = batch; it; it = it->next, n++)
        if (redisAppendCommand(c, "PUBLISH %s %b", b->channel, it->data, it->len) != REDIS_OK) {
            ok = false;
            break;
        }
    for (size_t i = 0; ok && i < n; i++) {
        void *r = NULL;

        if (redisGetReply(c, &r) != REDIS_OK)
            ok = false;
        else
            atomic_fetch_add(&b->published, 1);
        if (r)
            freeReplyObject(r);
    }
    return ok;
}

/* The leader lease: renew it if ours, else try to take it. Only the
 * publisher thread calls this. */
static void lease(srv_bus_redis *b, redisContext *c)
{
    int64_t t0 = mono_ms();
    redisReply *r =
        redisCommand(c, "EVAL %s 1 %s %s %d", LUA_RENEW, b->lease_key, b->inst, b->lease_ms);
    bool ours = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    if (r)
        freeReplyObject(r);
    if (!ours && c->err == 0) {
        r = redisCommand(c, "SET %s %s NX PX %d", b->lease_key, b->inst, b->lease_ms);
        ours = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
        if (r)
            freeReplyObject(r);
    }
    /* Believed until a heartbeat before Redis lets it expire: the renewal
     * was sent after t0, so Redis' expiry is later than t0 + lease_ms. */
    atomic_store(&b->leader_until, ours ? t0 + b->lease_ms - b->hb_ms : 0);
}

static void heartbeat(srv_bus_redis *b, redisContext *c, uint64_t q)
{
    char msg[256];
    int len = snprintf(msg, sizeof msg, "H %s %llu %lld \n", b->inst, (unsigned long long)q,
                       (long long)wall_ms());
    redisReply *r = redisCommand(c, "PUBLISH %s %b", b->channel, msg, (size_t)len);

    if (r)
        freeReplyObject(r);
}

static void *pub_main(void *arg)
{
    srv_bus_redis *b = arg;
    redisContext *c = NULL;
    int64_t next_hb = 0, retry_at = 0;

    pthread_mutex_lock(&b->mu);
    while (!atomic_load(&b->stop)) {
        int64_t now = mono_ms();
        qitem *batch = NULL, **bt = &batch;
        uint64_t last_q = 0;

        if (!c && now >= retry_at) {
            pthread_mutex_unlock(&b->mu);
            c = rconnect(b);
            pthread_mutex_lock(&b->mu);
            if (!c) {
                retry_at = now + RETRY_MS;
                atomic_store(&b->leader_until, 0);
            } else
                atomic_fetch_add(&b->reconnects, 1);
            atomic_store(&b->pub_up, c != NULL);
        }
        for (int i = 0; c && b->head && i < PUB_BATCH; i++) {
            qitem *it = b->head;

            b->head = it->next;
            b->n_queued--;
            *bt = it;
            bt = &it->next;
            last_q = it->q;
        }
        *bt = NULL;
        if (!b->head)
            b->tail = &b->head;
        pthread_mutex_unlock(&b->mu);
        if (batch && !publish_batch(b, c, batch)) {
            size_t n = 0;

            for (qitem *it = batch; it; it = it->next)
                n++;
            atomic_fetch_add(&b->dropped, n);
            redisFree(c);
            c = NULL;
            atomic_store(&b->pub_up, false);
            atomic_store(&b->leader_until, 0);
        }
        while (batch) {
            qitem *nx = batch->next;

            free(batch);
            batch = nx;
        }
        pthread_mutex_lock(&b->mu);
        if (last_q)
            b->sent_q = last_q;
        if (c && now >= next_hb) {
            uint64_t q = b->sent_q;

            /* A number lost after everything still queued is settled too:
             * the heartbeat names it, so a last event lost is noticed. */
            if (b->lost_q > q && (!b->head || b->head->q > b->lost_q))
                q = b->lost_q;

            pthread_mutex_unlock(&b->mu);
            heartbeat(b, c, q);
            lease(b, c);
            if (c->err) {
                redisFree(c);
                c = NULL;
                atomic_store(&b->pub_up, false);
                atomic_store(&b->leader_until, 0);
            }
            pthread_mutex_lock(&b->mu);
            next_hb = now + b->hb_ms;
        }
        if (!atomic_load(&b->stop) && (!b->head || !c)) {
            int64_t until = c ? next_hb : retry_at;
            int64_t wait = until - mono_ms();
            struct timespec ts;

            if (wait < 1)
                wait = 1;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (c) { /* the next leader need not wait for the lease to expire */
        redisReply *r = redisCommand(c, "EVAL %s 1 %s %s", LUA_RELEASE, b->lease_key, b->inst);

        if (r)
            freeReplyObject(r);
        redisFree(c);
    }
    atomic_store(&b->leader_until, 0);
    return NULL;
}

/* ---- what this node delivered: the gap fill's bookkeeping ------------------ */

static bool bit_get(const uint64_t *m, int64_t id)
{
    uint64_t i = (uint64_t)id % SEEN_WINDOW;

    return m[i >> 6] >> (i & 63) & 1;
}

static void bit_set(uint64_t *m, int64_t id, bool on)
{
    uint64_t i = (uint64_t)id % SEEN_WINDOW;

    if (on)
        m[i >> 6] |= (uint64_t)1 << (i & 63);
    else
        m[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

/* Moves the window so it holds id; ids leaving it are forgotten. Under
 * seen_mu. */
static void window_hold(srv_bus_redis *b, int64_t id)
{
    int64_t lo;

    if (id < b->seen_lo + SEEN_WINDOW)
        return;
    lo = id - SEEN_WINDOW + 1;
    if (lo - b->seen_lo >= SEEN_WINDOW) {
        memset(b->seen_bits, 0, SEEN_WINDOW / 8);
        memset(b->filled_bits, 0, SEEN_WINDOW / 8);
    } else
        for (int64_t i = b->seen_lo; i < lo; i++) {
            bit_set(b->seen_bits, i, false);
            bit_set(b->filled_bits, i, false);
        }
    b->seen_lo = lo;
}

/* A message.new of id about to reach this node's sockets: live (from the
 * bus, fill false) or read from the store by the gap fill (fill true).
 * Whether to deliver it: live, unless the fill delivered it already; the
 * fill, unless it was delivered at all (then it is marked so live does
 * not deliver it again). One check and mark under the lock: either may
 * come first. */
static bool seen_note(srv_bus_redis *b, int64_t id, bool fill)
{
    bool ok;

    if (id <= 0)
        return !fill;
    pthread_mutex_lock(&b->seen_mu);
    window_hold(b, id);
    if (id < b->seen_lo)
        ok = !fill; /* older than memory: live goes, the fill cannot tell */
    else if (fill) {
        ok = !bit_get(b->seen_bits, id);
        if (ok) {
            bit_set(b->seen_bits, id, true);
            bit_set(b->filled_bits, id, true);
        }
    } else {
        ok = !bit_get(b->filled_bits, id);
        bit_set(b->seen_bits, id, true);
    }
    if (id > b->max_id)
        b->max_id = id;
    pthread_mutex_unlock(&b->seen_mu);
    return ok;
}

/* Every SAMPLE_MS (the subscriber thread): the highest id seen by then. */
static void sample(srv_bus_redis *b, int64_t now)
{
    pthread_mutex_lock(&b->seen_mu);
    /* (not from the ring's last entry: the start's base has no time) */
    if (!b->last_sample_ms || now - b->last_sample_ms >= SAMPLE_MS) {
        b->last_sample_ms = now;
        b->samples[b->sample_next] = (seen_sample){.ms = now, .max_id = b->max_id};
        b->sample_next = (b->sample_next + 1) % SAMPLES;
        if (b->n_samples < SAMPLES)
            b->n_samples++;
    }
    pthread_mutex_unlock(&b->seen_mu);
}

/* The highest id seen at or before t (monotonic ms), or -1 when no sample
 * is that old. Under seen_mu. */
static int64_t seen_at(srv_bus_redis *b, int64_t t)
{
    int64_t best = -1, best_ms = INT64_MIN;

    for (size_t i = 0; i < b->n_samples; i++)
        if (b->samples[i].ms <= t && b->samples[i].ms >= best_ms) {
            best_ms = b->samples[i].ms;
            best = b->samples[i].max_id;
        }
    return best;
}

void srv_bus_redis_seen_base(srv_bus_redis *b, int64_t max_id)
{
    pthread_mutex_lock(&b->seen_mu);
    if (max_id > b->max_id)
        b->max_id = max_id;
    /* Older than any gap: whatever is lost later has a greater id. */
    b->samples[b->sample_next] = (seen_sample){.ms = INT64_MIN, .max_id = b->max_id};
    b->sample_next = (b->sample_next + 1) % SAMPLES;
    if (b->n_samples < SAMPLES)
        b->n_samples++;
    pthread_mutex_unlock(&b->seen_mu);
}

int srv_bus_redis_gap_take(srv_bus_redis *b, int64_t *after_id, int64_t *age_ms)
{
    int rc = 0;
    int64_t floor, now = mono_ms();

    *after_id = *age_ms = 0;
    pthread_mutex_lock(&b->seen_mu);
    if (b->gap_unknown)
        rc = -1;
    else if (b->gap_start) {
        floor = seen_at(b, b->gap_start - FILL_MARGIN_MS);
        /* Ids between the floor and what the maps hold cannot be told
         * delivered or not. */
        if (floor < 0 || floor + 1 < b->seen_lo)
            rc = -1;
        else {
            rc = 1;
            *after_id = floor;
            *age_ms = now - b->gap_start;
        }
    }
    b->gap_start = 0;
    b->gap_unknown = false;
    pthread_mutex_unlock(&b->seen_mu);
    return rc;
}

bool srv_bus_redis_fill_claim(srv_bus_redis *b, int64_t msg_id)
{
    return seen_note(b, msg_id, true);
}

bool srv_bus_redis_delivered(srv_bus_redis *b, int64_t msg_id)
{
    bool yes;

    pthread_mutex_lock(&b->seen_mu);
    yes = msg_id < b->seen_lo || bit_get(b->seen_bits, msg_id);
    pthread_mutex_unlock(&b->seen_mu);
    return yes;
}

void srv_bus_redis_fill_deliver(srv_bus_redis *b, const chat_event *ev)
{
    chat_publish(b->local, ev);
}

/* ---- the subscriber ------------------------------------------------------------ */

/* Something published since start_ms (monotonic; -1: unknown) may be lost
 * to this node: noted for srv_bus_redis_gap_take, then the hook. */
static void gap(srv_bus_redis *b, bool count, int64_t start_ms)
{
    if (count)
        atomic_fetch_add(&b->gaps, 1);
    pthread_mutex_lock(&b->seen_mu);
    if (start_ms < 0)
        b->gap_unknown = true;
    else if (!b->gap_start || start_ms < b->gap_start)
        b->gap_start = start_ms > 0 ? start_ms : 1;
    pthread_mutex_unlock(&b->seen_mu);
    atomic_store(&b->filling, b->hooks.gap && b->hooks.gap_fill);
    if (b->hooks.gap)
        b->hooks.gap(b->hooks.arg);
}

/* The subscriber thread, after a gap: what is read next from Redis waits
 * (in Redis' buffer for this subscriber) until the server has handed on
 * what it filled from the store, so a socket gets the missed messages
 * before newer ones. Bounded: a server that does not answer (still
 * starting) costs at most FILL_WAIT_MS. */
static void fill_wait(srv_bus_redis *b)
{
    int64_t until = mono_ms() + FILL_WAIT_MS;

    while (atomic_load(&b->filling) && !atomic_load(&b->stop) && mono_ms() < until)
        usleep(10000);
    atomic_store(&b->filling, false);
    atomic_store(&b->last_rx_ms, mono_ms()); /* the wait was not silence */
}

void srv_bus_redis_fill_done(srv_bus_redis *b)
{
    atomic_store(&b->filling, false);
}

/* The entry of another process, created (the oldest forgotten) when new. */
static origin *origin_of(srv_bus_redis *b, const char *id, bool *is_new)
{
    origin *oldest = &b->origins[0];

    *is_new = false;
    for (int i = 0; i < ORIGINS_MAX; i++) {
        if (b->origins[i].id[0] && !strcmp(b->origins[i].id, id))
            return &b->origins[i];
        if (!b->origins[i].id[0] || b->origins[i].seen < oldest->seen)
            oldest = &b->origins[i];
        if (!b->origins[i].id[0])
            break;
    }
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->id, sizeof oldest->id, "%s", id);
    *is_new = true;
    return oldest;
}

/* Whether the message numbered q of this origin is new; notices gaps. A
 * heartbeat carries the last number sent and is never delivered. */
static bool in_order(srv_bus_redis *b, const char *id, uint64_t q, bool hb, int64_t now)
{
    bool is_new, fresh;
    origin *o = origin_of(b, id, &is_new);
    /* What this origin sent after the last thing heard of it is lost. */
    int64_t since = is_new ? -1 : o->seen;

    o->seen = now;
    if (is_new) {
        /* An origin first heard of: once this node has listened for a few
         * heartbeats it knows every live origin, so a newcomer's first
         * message should be its first (a heartbeat: nothing sent yet). */
        if (now - b->subscribed_at > 3 * b->hb_ms && q > (hb ? 0 : 1))
            gap(b, true, -1);
        o->last = q;
        return !hb;
    }
    if (hb) {
        if (q > o->last) {
            gap(b, true, since);
            o->last = q;
        }
        return false;
    }
    fresh = q > o->last;
    if (q > o->last + 1)
        gap(b, true, since);
    if (fresh)
        o->last = q;
    return fresh;
}

/* The next space-separated integer of [*p, end); false when there is none. */
static bool next_int(const char **p, const char *end, long long *out)
{
    const char *s = *p;
    bool neg = false;
    long long v = 0;
    int digits = 0;

    while (s < end && *s == ' ')
        s++;
    if (s < end && *s == '-') {
        neg = true;
        s++;
    }
    for (; s < end && *s >= '0' && *s <= '9' && digits < 19; s++, digits++)
        v = v * 10 + (*s - '0');
    if (!digits || (s < end && *s != ' '))
        return false;
    *out = neg ? -v : v;
    *p = s;
    return true;
}

/* The next space-separated word of [*p, end) into out (NUL-terminated); false
 * when there is none or it does not fit. */
static bool next_word(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p, *w;

    while (s < end && *s == ' ')
        s++;
    for (w = s; s < end && *s != ' '; s++)
        ;
    if (s == w || (size_t)(s - w) >= cap)
        return false;
    memcpy(out, w, (size_t)(s - w));
    out[s - w] = 0;
    *p = s;
    return true;
}

/* An event of another node: "t a c m s x n u1 .. un" after the common part. */
static void on_event(srv_bus_redis *b, const char *p, const char *end, const char *wire)
{
    long long t, a, c, m, s, x, n;
    int64_t small[64], *users = small;
    chat_event ev;

    if (!next_int(&p, end, &t) || !next_int(&p, end, &a) || !next_int(&p, end, &c) ||
        !next_int(&p, end, &m) || !next_int(&p, end, &s) || !next_int(&p, end, &x) ||
        !next_int(&p, end, &n) || n < 0 || n > (end - p + 1) / 2)
        goto lost;
    if (n > 64 && !(users = malloc((size_t)n * sizeof *users)))
        goto lost;
    for (long long i = 0; i < n; i++) {
        long long u;

        if (!next_int(&p, end, &u))
            goto lost;
        users[i] = u;
    }
    ev = (chat_event){.type = (chat_event_type)t,
                      .audience = (chat_audience)a,
                      .conv_id = c,
                      .msg_id = m,
                      .sender_id = s,
                      .contained = (int)x,
                      .users = users,
                      .n_users = (size_t)n,
                      .wire = wire};
    atomic_fetch_add(&b->received, 1);
    /* A message the gap fill delivered already is not delivered twice. */
    if (ev.type != CHAT_EV_MESSAGE_NEW || seen_note(b, ev.msg_id, false))
        chat_publish(b->local, &ev);
    goto out;
lost:
    gap(b, true, -1); /* unreadable or out of memory: as good as lost */
out:
    if (users != small)
        free(users);
}

/* "K ORIGIN SEQ TS REST\nBODY": K is E (event), C (control) or H
 * (heartbeat: SEQ is the last number sent). */
static void on_message(srv_bus_redis *b, const char *data, size_t len)
{
    const char *nl = memchr(data, '\n', len < HEADER_MAX ? len : HEADER_MAX), *p = data + 1;
    char who[sizeof b->inst], kind[64];
    long long q, ts;
    int64_t now = mono_ms();
    bool fresh;

    if (!nl || len < 2 || data[1] != ' ' || !next_word(&p, nl, who, sizeof who) ||
        !next_int(&p, nl, &q) || q < 0 || !next_int(&p, nl, &ts))
        return; /* not ours */
    atomic_store(&b->last_rx_ms, now);
    if (!strcmp(who, b->inst))
        return; /* this node's own: delivered at publish */
    if (ts > 0) {
        long long lag = (wall_ms() - ts) * 1000;

        if (lag < 0)
            lag = 0;
        atomic_store(&b->lag_us, lag);
        if (lag > atomic_load(&b->lag_max_us))
            atomic_store(&b->lag_max_us, lag);
    }
    fresh = in_order(b, who, (uint64_t)q, data[0] == 'H', now);
    if (atomic_load(&b->filling))
        fill_wait(b); /* this message is newer than what is filled */
    if (!fresh)
        return;
    if (data[0] == 'E')
        on_event(b, p, nl, nl + 1);
    else if (data[0] == 'C' && b->hooks.control && next_word(&p, nl, kind, sizeof kind)) {
        json_t *body =
            nl + 1 < data + len ? json_loadb(nl + 1, len - (size_t)(nl + 1 - data), 0, NULL) : NULL;

        b->hooks.control(b->hooks.arg, kind, body);
        json_decref(body);
    }
}

static redisContext *subscribe(srv_bus_redis *b)
{
    redisContext *c = rconnect(b);
    redisReply *r;

    if (!c)
        return NULL;
    r = redisCommand(c, "SUBSCRIBE %s", b->channel);
    if (!reply_ok(r)) {
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

static void *sub_main(void *arg)
{
    srv_bus_redis *b = arg;
    redisContext *c = NULL;
    bool had = false;

    while (!atomic_load(&b->stop)) {
        redisReply *r = NULL;
        int64_t now = mono_ms();

        sample(b, now);
        if (!c) {
            c = subscribe(b);
            if (!c) {
                sleep_ms(b, RETRY_MS);
                continue;
            }
            b->subscribed_at = now;
            atomic_store(&b->last_rx_ms, now);
            /* Whatever was published while this node was not listening is
             * lost to it, and sockets may have attached meanwhile (the
             * first time too, when Redis came up after the server). */
            gap(b, had, had ? b->dropped_rx_ms : b->started_ms);
            /* At start the server is not serving yet (and has no socket):
             * only a resubscription waits for its fill. */
            if (had)
                fill_wait(b);
            else
                atomic_store(&b->filling, false);
            had = true;
            atomic_store(&b->sub_up, true);
        }
        if (redisGetReplyFromReader(c, (void **)&r) != REDIS_OK)
            goto drop;
        if (!r) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            int pr = poll(&p, 1, 200);

            if (pr < 0 && errno != EINTR)
                goto drop;
            if (pr > 0 && redisBufferRead(c) != REDIS_OK)
                goto drop;
            /* Every node (this one too) sends a heartbeat each hb_ms:
             * silence means the connection died without telling. */
            if (mono_ms() - atomic_load(&b->last_rx_ms) > 3 * b->hb_ms)
                goto drop;
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->str &&
            !strcmp(r->element[0]->str, "message") && r->element[2]->type == REDIS_REPLY_STRING)
            on_message(b, r->element[2]->str, r->element[2]->len);
        freeReplyObject(r);
        continue;
    drop:
        redisFree(c);
        c = NULL;
        atomic_store(&b->sub_up, false);
        /* the last thing heard: anything after it may be lost */
        b->dropped_rx_ms = atomic_load(&b->last_rx_ms);
    }
    if (c)
        redisFree(c);
    return NULL;
}

/* ---- the chat bus --------------------------------------------------------------- */

/* ev to the other nodes: its header line and wire text on the channel. */
static int publish_remote(srv_bus_redis *b, const chat_event *ev)
{
    char small[1024], *rest = small;
    size_t cap = 8 * 24 + ev->n_users * 21, at;
    int rc = -1;

    if (!ev->wire || (cap > sizeof small && !(rest = malloc(cap)))) {
        lose_number(b);
        goto out;
    }
    at = (size_t)snprintf(rest, cap, "%d %d %lld %lld %lld %d %zu", (int)ev->type,
                          (int)ev->audience, (long long)ev->conv_id, (long long)ev->msg_id,
                          (long long)ev->sender_id, ev->contained, ev->n_users);
    for (size_t i = 0; i < ev->n_users; i++)
        at += (size_t)snprintf(rest + at, cap - at, " %lld", (long long)ev->users[i]);
    rc = publish_line(b, 'E', rest, at, ev->wire);
out:
    if (rest != small)
        free(rest);
    return rc;
}

int srv_bus_redis_forward(srv_bus_redis *b, const chat_event *ev)
{
    return publish_remote(b, ev);
}

static void r_publish(chat_bus *bb, const chat_event *ev)
{
    srv_bus_redis *b = ((redis_chat *)bb)->owner;
    char *wire = ev->wire ? NULL : b->hooks.wire ? b->hooks.wire(b->hooks.arg, ev) : NULL;
    chat_event mine = *ev;

    if (wire)
        mine.wire = wire;
    /* this node's sockets first: no round trip (unless the gap fill
     * delivered it already, read from the store just after its commit) */
    if (mine.type != CHAT_EV_MESSAGE_NEW || seen_note(b, mine.msg_id, false))
        chat_publish(b->local, &mine);
    publish_remote(b, &mine);
    free(wire);
}

static int r_subscribe(chat_bus *bb, chat_sub *s, chat_topic t, int64_t id)
{
    return chat_subscribe(((redis_chat *)bb)->owner->local, s, t, id);
}

static void r_unsubscribe(chat_bus *bb, chat_sub *s, chat_topic t, int64_t id)
{
    chat_unsubscribe(((redis_chat *)bb)->owner->local, s, t, id);
}

static void r_destroy(chat_bus *bb)
{
    (void)bb; /* owned by srv_bus_redis */
}

static const chat_bus_ops redis_ops = {
    .version = 1,
    .name = "redis",
    .publish = r_publish,
    .subscribe = r_subscribe,
    .unsubscribe = r_unsubscribe,
    .destroy = r_destroy,
};

chat_bus *srv_bus_redis_chat(srv_bus_redis *b)
{
    return &b->chat.base;
}

int srv_bus_redis_control(srv_bus_redis *b, const char *kind, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc = -1;

    /* A kind is one word (it travels in the header line). */
    if (!kind || !*kind || strlen(kind) >= 64 || strpbrk(kind, " \n") || (body && !text)) {
        lose_number(b);
        goto out;
    }
    rc = publish_line(b, 'C', kind, strlen(kind), text);
out:
    free(text);
    json_decref(body);
    return rc;
}

/* ---- shared counters (srv_rate.h) ---------------------------------------------- */

static long rl_hit(void *arg, const char *key, int64_t window_ms)
{
    srv_bus_redis *b = arg;
    redisReply *r =
        command(b, "EVAL %s 1 %s%s %lld", LUA_HIT, b->rl_prefix, key, (long long)window_ms);
    long n = r && r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;

    if (r)
        freeReplyObject(r);
    return n;
}

static int rl_lock(void *arg, const char *key, int64_t ttl_ms)
{
    srv_bus_redis *b = arg;
    redisReply *r = command(b, "SET %s%s 1 PX %lld", b->rl_prefix, key, (long long)ttl_ms);
    int rc = r ? 0 : -1;

    if (r)
        freeReplyObject(r);
    return rc;
}

static int64_t rl_ttl(void *arg, const char *key)
{
    srv_bus_redis *b = arg;
    redisReply *r = command(b, "PTTL %s%s", b->rl_prefix, key);
    int64_t ms = r && r->type == REDIS_REPLY_INTEGER ? (r->integer > 0 ? r->integer : 0) : -1;

    if (r)
        freeReplyObject(r);
    return ms;
}

static int rl_clear(void *arg, const char *key)
{
    srv_bus_redis *b = arg;
    redisReply *r = command(b, "DEL %s%s", b->rl_prefix, key);
    int rc = r ? 0 : -1;

    if (r)
        freeReplyObject(r);
    return rc;
}

static int64_t rl_take(void *arg, const char *key, double rate, double burst, int64_t now_ms)
{
    srv_bus_redis *b = arg;
    char rs[32], bs[32];
    redisReply *r;
    int64_t ms;

    snprintf(rs, sizeof rs, "%.6f", rate);
    snprintf(bs, sizeof bs, "%.6f", burst);
    r = command(b, "EVAL %s 1 %s%s %s %s %lld", LUA_TAKE, b->rl_prefix, key, rs, bs,
                (long long)now_ms);
    ms = r && r->type == REDIS_REPLY_INTEGER ? (int64_t)r->integer : -1;
    if (r)
        freeReplyObject(r);
    return ms;
}

static int rl_sum(void *arg, int64_t window, const int64_t *ids, const long *used, long *totals,
                  size_t n)
{
    srv_bus_redis *b = arg;
    size_t cap = n * 44 + 1, len = 0;
    char *list = malloc(cap);
    redisReply *r = NULL;
    int rc = -1;

    if (!list)
        return -1;
    list[0] = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, cap - len, "%lld:%ld ", (long long)ids[i], used[i]);
    r = command(b, "EVAL %s 0 %ssw: %lld %d %s", LUA_SUM, b->rl_prefix, (long long)window, 3000,
                list);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == n) {
        rc = 0;
        for (size_t i = 0; i < n; i++)
            totals[i] =
                r->element[i]->type == REDIS_REPLY_INTEGER ? (long)r->element[i]->integer : -1;
    }
    if (r)
        freeReplyObject(r);
    free(list);
    return rc;
}

const srv_rate_shared *srv_bus_redis_rate(srv_bus_redis *b)
{
    return &b->rate;
}

/* ---- state ---------------------------------------------------------------------- */

bool srv_bus_redis_leader(srv_bus_redis *b)
{
    return mono_ms() < atomic_load(&b->leader_until);
}

bool srv_bus_redis_ready(srv_bus_redis *b)
{
    redisReply *r;
    bool ok;

    if (!atomic_load(&b->pub_up) || !atomic_load(&b->sub_up) ||
        mono_ms() - atomic_load(&b->last_rx_ms) > 3 * b->hb_ms)
        return false;
    r = command(b, "PING");
    ok = r != NULL;
    if (r)
        freeReplyObject(r);
    return ok;
}

void srv_bus_redis_stats(srv_bus_redis *b, srv_bus_stats *out)
{
    *out = (srv_bus_stats){
        .published = atomic_load(&b->published),
        .dropped = atomic_load(&b->dropped),
        .received = atomic_load(&b->received),
        .gaps = atomic_load(&b->gaps),
        .reconnects = atomic_load(&b->reconnects),
        .lag_seconds = (double)atomic_load(&b->lag_us) / 1e6,
        .lag_max_seconds = (double)atomic_load(&b->lag_max_us) / 1e6,
        .connected = atomic_load(&b->pub_up) && atomic_load(&b->sub_up),
        .leader = srv_bus_redis_leader(b),
    };
}

/* ---- life --------------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

int srv_bus_redis_new(const srv_bus_opts *o, const srv_bus_hooks *h, srv_bus_redis **out, char *err,
                      size_t errlen)
{
    srv_bus_redis *b = calloc(1, sizeof *b);
    const char *prefix = o->prefix ? o->prefix : "cordon";
    unsigned char rnd[6];
    char host[64] = "node";

    *out = NULL;
    if (!b) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    pthread_mutex_init(&b->cmd_mu, NULL);
    pthread_mutex_init(&b->seen_mu, NULL);
    b->tail = &b->head;
    b->started_ms = mono_ms();
    b->seen_bits = calloc(SEEN_WINDOW / 64, sizeof *b->seen_bits);
    b->filled_bits = calloc(SEEN_WINDOW / 64, sizeof *b->filled_bits);
    if (!b->seen_bits || !b->filled_bits) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    if (!o->url || parse_url(b, o->url)) {
        set_err(err, errlen, "bus: expected redis://[:password@]HOST[:PORT][/DB]");
        goto fail;
    }
    b->hooks = *h;
    b->lease_ms = o->lease_ms > 0 ? o->lease_ms : 5000;
    b->hb_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
    if (b->lease_ms < 2 * b->hb_ms)
        b->lease_ms = 2 * b->hb_ms;
    b->max_queue = o->max_queue ? o->max_queue : 65536;
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        set_err(err, errlen, "no random bytes");
        goto fail;
    }
    if (!o->node)
        gethostname(host, sizeof host - 1);
    snprintf(b->inst, sizeof b->inst, "%.40s/%d/%02x%02x%02x%02x%02x%02x", o->node ? o->node : host,
             (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    /* One word in the header line, whatever the configured name holds. */
    for (char *c = b->inst; *c; c++)
        if (*c <= ' ' || *c > '~')
            *c = '_';
    /* Pub/sub channels are global to a Redis, not per database: the
     * database number is in the channel's name, so two clusters on one
     * Redis (each its /db) never hear each other. */
    snprintf(b->channel, sizeof b->channel, "%.64s:%d:bus", prefix, b->db);
    snprintf(b->lease_key, sizeof b->lease_key, "%.64s:leader", prefix);
    snprintf(b->rl_prefix, sizeof b->rl_prefix, "%.64s:rl:", prefix);
    b->rate = (srv_rate_shared){.arg = b,
                                .hit = rl_hit,
                                .lock = rl_lock,
                                .ttl = rl_ttl,
                                .clear = rl_clear,
                                .take = rl_take,
                                .sum = rl_sum};
    b->local = chat_bus_local_new();
    if (!b->local) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    b->chat.base.ops = &redis_ops;
    b->chat.owner = b;
    if (pthread_create(&b->sub_th, NULL, sub_main, b)) {
        set_err(err, errlen, "cannot start the bus subscriber thread");
        goto fail;
    }
    b->sub_started = true;
    if (pthread_create(&b->pub_th, NULL, pub_main, b)) {
        set_err(err, errlen, "cannot start the bus publisher thread");
        goto fail;
    }
    b->pub_started = true;
    *out = b;
    return 0;
fail:
    srv_bus_redis_free(b);
    return -1;
}

void srv_bus_redis_free(srv_bus_redis *b)
{
    if (!b)
        return;
    atomic_store(&b->stop, true);
    pthread_mutex_lock(&b->mu);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (b->pub_started)
        pthread_join(b->pub_th, NULL);
    if (b->sub_started)
        pthread_join(b->sub_th, NULL);
    while (b->head) {
        qitem *nx = b->head->next;

        free(b->head);
        b->head = nx;
    }
    if (b->cmd)
        redisFree(b->cmd);
    if (b->local)
        b->local->ops->destroy(b->local);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->cmd_mu);
    pthread_mutex_destroy(&b->seen_mu);
    free(b->seen_bits);
    free(b->filled_bits);
    free(b->host);
    free(b->password);
    free(b);
}
