/*
 * srv_auditck.c — the audit checkpoint thread (srv_auditck.h).
 *
 * Off the event loop: a checkpoint is a read of the head on this thread's
 * own store handle, an Ed25519 signature, one append with fsync and one
 * syslog line. The thread sleeps on a condition variable between rounds, so
 * stopping does not wait for the interval to end.
 */
#include "srv_auditck.h"

#include "srv_log.h"
#include "store/store_ckpt.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

struct srv_auditck {
    store *st;
    store_ckpt_key key;
    char *key_path, *file;
    int interval_s;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, stop;
    /* The head of the last checkpoint written (thread, then stop). */
    bool wrote;
    int64_t last_seq;
    uint8_t last_hash[STORE_AUDIT_HASH_LEN];
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes a checkpoint if the head moved since the last one (or none was
 * written yet). Failures are logged and retried at the next round. */
static void round_once(srv_auditck *a)
{
    char line[STORE_CKPT_LINE_MAX], err[256];
    uint8_t hash[STORE_AUDIT_HASH_LEN];
    store_ckpt c;
    int64_t seq = 0;
    int rc = store_audit_head(a->st, &seq, hash);

    if (rc) {
        SRV_WARN("audit", "checkpoint: cannot read the head: %s", store_strerror(rc));
        return;
    }
    if (a->wrote && seq == a->last_seq && !memcmp(hash, a->last_hash, sizeof hash))
        return;
    rc = store_ckpt_make(a->st, &a->key, now_ms(), &c, line);
    if (rc) {
        SRV_WARN("audit", "checkpoint: %s", store_strerror(rc));
        return;
    }
    /* The off-host copy first: it is the one a local attacker cannot undo. */
    syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", line);
    if (store_ckpt_append(a->file, line, err, sizeof err)) {
        SRV_ERROR("audit", "checkpoint: %s", err);
        return;
    }
    a->wrote = true;
    a->last_seq = c.seq;
    memcpy(a->last_hash, c.hash, sizeof a->last_hash);
    SRV_DEBUG("audit", "checkpoint at seq %lld", (long long)c.seq);
}

static void *auditck_main(void *arg)
{
    srv_auditck *a = arg;
    struct timespec until;

    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += a->interval_s;
        while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &until) != ETIMEDOUT)
            ;
        if (a->stop)
            break;
        pthread_mutex_unlock(&a->mu);
        round_once(a);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void auditck_free(srv_auditck *a)
{
    store_close(a->st);
    sodium_memzero(&a->key, sizeof a->key);
    free(a->key_path);
    free(a->file);
    free(a);
}

srv_auditck *srv_auditck_start(const srv_config *cfg, const char *db_path)
{
    store_options so = {.version = 1, .path = db_path, .read_only = true};
    char err[512], pk[2 * STORE_CKPT_PK_LEN + 1], *msg = NULL;
    srv_auditck *a = calloc(1, sizeof *a);
    bool created = false;

    if (!a || srv_config_audit_paths(cfg, &a->key_path, &a->file))
        goto fail;
    a->interval_s = cfg->audit_checkpoint_interval_s;
    if (store_ckpt_key_load(a->key_path, true, &a->key, &created, err, sizeof err)) {
        SRV_ERROR("audit", "checkpoint key: %s", err);
        goto fail;
    }
    sodium_bin2hex(pk, sizeof pk, a->key.pk, sizeof a->key.pk);
    if (created)
        SRV_WARN("audit",
                 "created the checkpoint signing key %s (public key %s): keep the "
                 "public key off this machine to verify checkpoints with",
                 a->key_path, pk);
    SRV_INFO("audit", "checkpoints to %s and syslog, signed by %s", a->file, pk);
    if (store_open(&so, &a->st, &msg)) {
        char shown[512];

        SRV_ERROR("audit", "store %s: %s", store_path_redacted(db_path, shown, sizeof shown),
                  msg ? msg : "cannot open");
        free(msg);
        goto fail;
    }
    if (pthread_mutex_init(&a->mu, NULL))
        goto fail;
    if (pthread_cond_init(&a->cv, NULL)) {
        pthread_mutex_destroy(&a->mu);
        goto fail;
    }
    if (a->interval_s > 0 && pthread_create(&a->th, NULL, auditck_main, a)) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        goto fail;
    }
    a->started = a->interval_s > 0;
    return a;
fail:
    if (a)
        auditck_free(a);
    return NULL;
}

void srv_auditck_stop(srv_auditck *a)
{
    if (!a)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->th, NULL);
    }
    round_once(a); /* the last word: the head as the server leaves it */
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    auditck_free(a);
}
