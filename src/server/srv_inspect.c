/*
 * srv_inspect.c — a finished upload's inspection, off the loop and off the
 * request workers: uploads.inspectors threads, each with its own store
 * handle (read-only) and guard scanner, take upload ids from a queue.
 *
 * One inspection, top to bottom (inspect()):
 *   1. the upload is still "inspecting" (a row, not a flag in memory: a
 *      server killed here finds it so at start and inspects again)
 *   2. key: SHA-256 of the staged bytes + the rules in force + the scope
 *      (external if any member of the conversation is): the same bytes
 *      under the same rules for the same readers are inspected once
 *   3. guard_file_scan_fd (worker process, every extractor, OCR...), or
 *      the stored outcome for that key; a failure is `uninspectable` and
 *      the verdict is block (fail closed)
 *   4. an image loses its metadata (guard_file_strip: GPS, time, device)
 *      and the stripped bytes are what is committed and delivered
 *   5. a preview: an image's from the stripped bytes (turned upright by
 *      its EXIF Orientation), a PDF's first page, both made by a sandboxed
 *      worker (guard_file_make_preview): no upload is decoded in this
 *      process
 *   6. one transaction on the writer thread (an `inspected` commit,
 *      chat_inspected.c, awaited): the cache entry, the file row (blob
 *      reference) and the upload's state and outcome; then upload.state to
 *      the uploader's sockets
 */
#include "srv_upload.h"

#include "chat/chat_inspected.h"
#include "chat/chat_json.h"
#include "cordon/guard_file.h"
#include "srv_log.h"
#include "srv_pool.h"
#include "srv_registry.h"
#include "srv_req.h"
#include "srv_writer.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INSPECT_QUEUE_CAP 100000

struct srv_inspector {
    srv *srv;
    srv_queue q;
    pthread_t *th;
    int n_th;
};

typedef struct insp_item {
    srv_qnode node; /* first */
    char id[SRV_UP_ID_LEN + 1];
    double queued; /* mono_ms() when pushed: the wait for a thread */
} insp_item;

/* A monotonic clock in ms, for the phases of an inspection (logged: where
 * a verdict's time goes, docs/BENCH.md). */
static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct insp_thread {
    srv_inspector *in;
    store *st;
    guard_scanner *sc;
    guard_file_pool *pool; /* this thread's waiting workers (NULL: none) */
} insp_thread;

void srv_inspect_push(srv_inspector *in, const char *upload_id)
{
    insp_item *it = calloc(1, sizeof *it);

    if (!it)
        return; /* the row stays "inspecting": the next start inspects it */
    snprintf(it->id, sizeof it->id, "%s", upload_id);
    it->queued = mono_ms();
    if (srv_queue_push(&in->q, &it->node, false))
        free(it);
}

/* The SHA-256 of what fd holds, hex. */
static int hash_fd(int fd, char out[65])
{
    struct sha256_ctx h;
    unsigned char buf[1 << 16], d[SHA256_DIGEST_SIZE];
    ssize_t n;
    off_t off = 0;

    sha256_init(&h);
    while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
        sha256_update(&h, (size_t)n, buf);
        off += n;
    }
    if (n < 0)
        return -1;
    sha256_digest(&h, sizeof d, d);
    sodium_bin2hex(out, 65, d, sizeof d);
    return 0;
}

/* Which rules: a hash of the policy text in force (the built-in one has
 * none), so a reload with other rules inspects again. */
static void rules_id(srv *s, char out[33])
{
    unsigned char d[16];

    pthread_mutex_lock(&s->policy_mu);
    crypto_generichash(d, sizeof d, (const unsigned char *)(s->policy_text ? s->policy_text : ""),
                       s->policy_text ? strlen(s->policy_text) : 0, NULL, 0);
    pthread_mutex_unlock(&s->policy_mu);
    sodium_bin2hex(out, 33, d, sizeof d);
}

static bool is_image(const char *mime)
{
    static const char *const types[] = {"image/jpeg", "image/png", "image/webp", "image/gif",
                                        "image/tiff"};

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(mime, types[i]))
            return true;
    return false;
}

/* The guard's outcome as JSON: verdict, status, mime, findings. */
static json_t *scan(insp_thread *t, int fd, const store_upload *up, guard_scope scope)
{
    srv *s = t->in->srv;
    guard_ruleset *rs = guard_engine_acquire(s->engine);
    /* a marked page is refused at its header, without its full OCR */
    guard_file_options opt = {
        .name = up->filename, .scope = scope, .stop_at_block = true, .pool = t->pool};
    guard_file_info info = {0};
    guard_result *res = NULL;
    guard_error gerr = {0};
    guard_err ge;
    json_t *o;

    ge = guard_file_scan_fd(t->sc, rs, fd, &opt, &res, &info, &gerr);
    guard_ruleset_unref(rs);
    if (ge || !res) {
        /* Nothing could be inspected: fail closed. */
        SRV_WARN("inspect", "%s: uninspectable: %s", up->id, gerr.message);
        o = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:s}],s:s}", "verdict", "block",
                      "status", "unscannable", "mime",
                      info.mime[0] ? info.mime : "application/octet-stream", "findings", "rule",
                      "uninspectable", "category", "uninspectable", "severity", "high", "location",
                      up->filename, "excerpt", "", "action", "block", "error", "uninspectable");
    } else {
        o = json_pack("{s:s,s:s,s:s,s:o}", "verdict", guard_action_name(res->verdict), "status",
                      guard_status_name(res->status), "mime",
                      info.mime[0] ? info.mime : "application/octet-stream", "findings",
                      chat_json_findings(res));
        if (o && res->status != GUARD_STATUS_SCANNED)
            json_object_set_new(o, "error", json_string("uninspectable"));
    }
    guard_result_free(res);
    free(info.text);
    return o;
}

/* The file name's extension, lower case ("" without one): part of the
 * cache key, as the type-mismatch finding depends on it (the same bytes
 * named .txt and .jpg are not the same inspection). */
static void ext_of(const char *name, char out[16])
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    size_t i = 0;

    if (dot && !strchr(dot, '/'))
        for (dot++; *dot && i < 15; dot++)
            out[i++] = (char)((*dot >= 'A' && *dot <= 'Z') ? *dot + 32 : *dot);
    out[i] = 0;
}

/* A cached outcome's findings name the file the bytes were first uploaded
 * as (the first part of every location); this upload has its own name.
 * `name` in the cached outcome says which to replace; it is removed. */
static void rename_locations(json_t *outcome, const char *name)
{
    const char *old = json_string_value(json_object_get(outcome, "name"));
    size_t ol = old ? strlen(old) : 0, i;
    json_t *f;

    if (old && strcmp(old, name))
        json_array_foreach(json_object_get(outcome, "findings"), i, f)
        {
            const char *loc = json_string_value(json_object_get(f, "location"));
            char *n = NULL;

            if (!loc || strncmp(loc, old, ol) || (loc[ol] && loc[ol] != '!'))
                continue;
            if (asprintf(&n, "%s%s", name, loc + ol) >= 0) {
                json_object_set_new(f, "location", json_string(n));
                free(n);
            }
        }
    json_object_del(outcome, "name");
}

static bool has_gps(json_t *outcome)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(outcome, "findings"), i, f)
    {
        const char *rule = json_string_value(json_object_get(f, "rule"));

        if (rule && !strncmp(rule, "metadata.", 9))
            return true;
    }
    return false;
}

/* Writes the image at fd without metadata into a new staging upload and
 * commits it: hash_out is what will be delivered. */
static int strip_commit(srv *s, const char *id, int fd, char hash_out[BLOB_HASH_LEN + 1])
{
    blob_store *b = s->uploads ? srv_uploads_blobs(s) : NULL;
    char in[64], *tmp = NULL, sid[SRV_UP_ID_LEN + 2];
    guard_error gerr = {0};
    blob_upload *bu = NULL;
    unsigned char buf[1 << 16];
    int64_t size = 0;
    int rc = -1, tfd = -1;
    bool dup;
    ssize_t n;

    snprintf(in, sizeof in, "/proc/self/fd/%d", fd);
    snprintf(sid, sizeof sid, "%ss", id);
    if (asprintf(&tmp, "%s/blobs/strip-%s", s->cfg->data_dir, id) < 0) {
        tmp = NULL;
        goto fail;
    }
    unlink(tmp);
    if (guard_file_strip(in, tmp, NULL, &gerr)) {
        SRV_WARN("inspect", "%s: metadata not removed: %s", id, gerr.message);
        goto fail;
    }
    tfd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (tfd < 0)
        goto fail;
    blob_stage_delete(b, sid); /* a leftover of a run killed here */
    if (blob_stage_open(b, sid, true, &bu, &size))
        goto fail;
    while ((n = read(tfd, buf, sizeof buf)) > 0) {
        if (blob_stage_append(bu, size, buf, (size_t)n))
            goto fail;
        size += n;
    }
    if (n < 0)
        goto fail;
    rc = blob_stage_commit(bu, hash_out, &dup);
    bu = NULL;
fail:
    if (bu) {
        blob_stage_close(bu);
        blob_stage_delete(b, sid);
    }
    if (tfd >= 0)
        close(tfd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    return rc ? -1 : 0;
}

/* The preview, made by a sandboxed worker (guard_file_make_preview): a
 * picture's from the bytes that will be delivered (already stripped and
 * inspected), a PDF's first page (blob `hash` either way), never decoded
 * in this process — a decoder exploit would run with the server's
 * rights. The JPEG is committed as its own blob (`out`); the picture's
 * upright size comes back in *w, *h. A preview that cannot be made in the
 * sandbox is none at all (the web shows the picture itself): there is no
 * in-process fallback. The thread's pool's waiting plain worker makes it
 * (no process started while the upload waits; a new one starts after). Both outcomes are logged at
 * info ("preview made in the sandbox" / "no preview"), which the tests read. */
static int thumbnail(srv *s, guard_file_pool *pool, const char *id, const char *hash,
                     char out[BLOB_HASH_LEN + 1], int64_t *out_size, int *w, int *h)
{
    blob_store *b = srv_uploads_blobs(s);
    guard_file_preview pv = {0};
    guard_error gerr = {0};
    blob_upload *bu = NULL;
    char sid[SRV_UP_ID_LEN + 3], in[64];
    int64_t zero = 0;
    bool dup;
    int rc = -1, bfd = -1;

    out[0] = 0;
    if (blob_open_fd(b, hash, false, &bfd))
        goto fail;
    snprintf(in, sizeof in, "/proc/self/fd/%d", bfd);
    if (guard_file_make_preview(in, &pv, NULL, pool, &gerr)) {
        SRV_INFO("inspect", "upload %s: no preview: %s", id, gerr.message);
        goto fail;
    }
    SRV_INFO("inspect", "upload %s: preview made in the sandbox (%dx%d, %zu bytes)", id, pv.width,
             pv.height, pv.len);
    *w = pv.width;
    *h = pv.height;
    snprintf(sid, sizeof sid, "%st", id);
    blob_stage_delete(b, sid);
    if (blob_stage_open(b, sid, true, &bu, &zero) || blob_stage_append(bu, 0, pv.jpeg, pv.len))
        goto fail;
    rc = blob_stage_commit(bu, out, &dup);
    bu = NULL;
    if (!rc)
        *out_size = (int64_t)pv.len;
fail:
    if (bu) {
        blob_stage_close(bu);
        blob_stage_delete(b, sid);
    }
    if (rc)
        out[0] = 0;
    if (bfd >= 0)
        close(bfd);
    free(pv.jpeg);
    return rc;
}

static void event_finish(srv_job *j, srv *s)
{
    srv_deliver_events(s, j->events);
    srv_events_free(j->events);
    free(j);
}

/* upload.state to the uploader's sockets (through the loop). */
static void announce(srv *s, const store_upload *up, int64_t offset)
{
    srv_job *j = calloc(1, sizeof *j);

    if (!j)
        return;
    j->finish = event_finish;
    j->ev_tail = &j->events;
    srv_emit(j, SRV_EV_USERS, srv_event_buf("upload.state", srv_upload_json(up, offset)), 0, 0,
             &up->user_id, 1);
    /* counted like every job that comes back to the loop (srv_main.c) */
    atomic_fetch_add(&s->jobs_in_flight, 1);
    srv_complete(s, j);
}

/* Writes through the writer thread (the one write path) and waits: the
 * upload.state event goes out only once the rows are written. */
static int commit_wait(srv *s, const chat_inspected_in *in)
{
    chat_commit *c = chat_inspected_commit(&s->chat, in);
    int rc;

    if (!c)
        return STORE_NOMEM;
    srv_writer_commit_wait(s, c);
    rc = chat_inspected_rc(c);
    chat_commit_free(c);
    return rc;
}

/* mask on a file: an image whose masked findings are all in its metadata
 * is delivered masked (its metadata removed, which every image is);
 * anything else cannot be masked and is held like confirm
 * (docs/POLICY.md, "mask on files"). */
static int state_of(const char *verdict, bool image, json_t *findings, const char *name)
{
    if (!strcmp(verdict, "block"))
        return STORE_UP_BLOCKED;
    if (!strcmp(verdict, "confirm") ||
        (!strcmp(verdict, "mask") && !(image && chat_file_mask_met(findings, name))))
        return STORE_UP_HELD;
    return STORE_UP_READY;
}

/* The inspected file and the upload's new state, in one transaction on
 * the writer (chat_inspected.c), with the cache entry when the outcome is
 * new (cache_key): a file row (with its thumbnail when the image got one)
 * for bytes that were committed to the blob store (hash non-NULL), or only
 * the upload's outcome for bytes that are gone. *state: where the upload
 * ended. Returns 0, or -1 (logged): the upload stays "inspecting" and is
 * inspected again at the next start. */
static int record(insp_thread *t, store_upload *up, json_t *outcome, const char *verdict,
                  const char *hash, bool stripped, bool pdf, const char *cache_key,
                  const char *cache_value, store_up_state *state)
{
    srv *s = t->in->srv;
    blob_store *b = srv_uploads_blobs(s);
    const char *id = up->id;
    char fid[SRV_UP_ID_LEN + 1], thumb[BLOB_HASH_LEN + 1] = "";
    unsigned char fidb[SRV_UP_ID_LEN / 2];
    int64_t thumb_size = 0, bsize = 0;
    int rc, tw = 0, th = 0;
    blob_reader *rd = NULL;
    store_file f = {0};
    char *text = NULL;
    chat_inspected_in in = {
        .upload_id = id, .cache_key = cache_key, .cache_value = cache_value, .now = srv_now_ms()};

    free(up->outcome);
    up->outcome = json_dumps(outcome, JSON_COMPACT);
    if (!up->outcome)
        return -1;
    in.outcome = up->outcome;
    if (!hash) {
        in.state = STORE_UP_BLOCKED;
        rc = commit_wait(s, &in);
        if (rc) {
            SRV_ERROR("inspect", "%s: store: %s", id, store_strerror(rc));
            return -1;
        }
        *state = STORE_UP_BLOCKED;
        return 0;
    }
    randombytes_buf(fidb, sizeof fidb);
    sodium_bin2hex(fid, sizeof fid, fidb, sizeof fidb);
    if (!blob_open(b, hash, &rd, &bsize))
        blob_reader_close(rd);
    if (strcmp(verdict, "block") && (stripped || pdf) &&
        !thumbnail(s, t->pool, id, hash, thumb, &thumb_size, &tw, &th))
        SRV_DEBUG("inspect", "%s: thumbnail %dx%d", id, tw, th);
    text = json_dumps(json_object_get(outcome, "findings"), JSON_COMPACT);
    f = (store_file){
        .id = fid,
        .owner_id = up->user_id,
        .conv_id = up->conv_id,
        .hash = (char *)hash,
        .name = up->filename,
        .mime = (char *)(json_string_value(json_object_get(outcome, "mime"))
                             ?: "application/octet-stream"),
        .size = bsize,
        .image = stripped,
        .location_removed = json_is_true(json_object_get(outcome, "location_removed")),
        .state = state_of(verdict, stripped, json_object_get(outcome, "findings"), up->filename),
        .thumb_hash = thumb[0] ? thumb : NULL,
        .width = stripped ? tw : 0,
        .height = stripped ? th : 0,
        .verdict = (char *)verdict,
        .findings = text,
        .created_at = in.now};
    in.file = &f;
    in.state = f.state;
    in.blob_size = bsize;
    in.thumb_size = thumb_size;
    rc = commit_wait(s, &in);
    free(text);
    if (rc) {
        SRV_ERROR("inspect", "%s: store: %s", id, store_strerror(rc));
        return -1;
    }
    free(up->file_id);
    up->file_id = strdup(fid);
    *state = f.state;
    return 0;
}

static void inspect(insp_thread *t, const char *id, double queued)
{
    double t0 = mono_ms(), t_scan = 0, t_scanned = 0, t_record = 0;
    srv *s = t->in->srv;
    blob_store *b = srv_uploads_blobs(s);
    store_upload up = {0};
    store_conv conv = {0};
    json_t *outcome = NULL;
    char raw[65], key[192], rules[33], hash[BLOB_HASH_LEN + 1], ext[16];
    char *cached = NULL, *text = NULL, scanned[32];
    const char *verdict;
    guard_scope scope;
    bool stripped = false, pdf = false, dup;
    int fd = -1;
    store_up_state state;

    if (store_upload_get(t->st, id, &up) || up.state != STORE_UP_INSPECTING)
        goto out;
    if (store_conv_get(t->st, up.conv_id, &conv))
        goto out;
    scope = conv.external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL;
    if (blob_open_fd(b, id, true, &fd) || hash_fd(fd, raw)) {
        SRV_ERROR("inspect", "%s: the staged bytes are gone", id);
        outcome = json_pack("{s:s,s:s,s:[],s:s}", "verdict", "block", "status", "unscannable",
                            "findings", "error", "lost");
        goto decided;
    }
    rules_id(s, rules);
    ext_of(up.filename, ext);
    snprintf(key, sizeof key, "%s:%s:%s:%s", raw, rules, conv.external ? "external" : "internal",
             ext);
    if (!store_inspection_get(t->st, key, &cached))
        outcome = json_loads(cached, 0, NULL);
    if (!outcome) {
        t_scan = mono_ms();
        outcome = scan(t, fd, &up, scope);
        t_scanned = mono_ms();
        /* cached with the name its locations start with (rename_locations),
         * in the same transaction as the upload's outcome (record) */
        if (outcome)
            json_object_set_new(outcome, "name", json_string(up.filename));
        text = outcome ? json_dumps(outcome, JSON_COMPACT) : NULL;
    }
    if (outcome)
        rename_locations(outcome, up.filename);
    if (!outcome)
        goto out; /* out of memory: stays "inspecting", inspected at next start */
    verdict = json_string_value(json_object_get(outcome, "verdict"));
    if (!verdict)
        verdict = "block";
    /* 4. what is delivered: an image without its metadata */
    if (strcmp(verdict, "block") &&
        is_image(json_string_value(json_object_get(outcome, "mime")) ?: "")) {
        if (strip_commit(s, id, fd, hash)) {
            /* Metadata that cannot be removed is never delivered. */
            json_object_set_new(outcome, "verdict", json_string("block"));
            json_object_set_new(outcome, "error", json_string("metadata_not_removed"));
        } else {
            stripped = true;
            json_object_set_new(outcome, "location_removed", json_boolean(has_gps(outcome)));
        }
    }
    /* 5. a preview, made in the sandbox in record: an image's from the
     * stripped bytes, a PDF's first page */
    pdf = strcmp(verdict, "block") &&
          !strcmp(json_string_value(json_object_get(outcome, "mime")) ?: "", "application/pdf");
decided:
    verdict = json_string_value(json_object_get(outcome, "verdict"));
    if (!verdict)
        verdict = "block";
    if (!stripped && fd >= 0) {
        blob_upload *bu = NULL;
        int64_t sz;

        if (blob_stage_open(b, id, false, &bu, &sz) || blob_stage_commit(bu, hash, &dup)) {
            SRV_ERROR("inspect", "%s: commit failed", id);
            goto out;
        }
    }
    t_record = mono_ms();
    if (record(t, &up, outcome, verdict, fd >= 0 ? hash : NULL, stripped, pdf, text ? key : NULL,
               text, &state))
        goto out;
    if (stripped)
        blob_stage_delete(b, id); /* the bytes with metadata go */
    up.state = state;
    /* the phases, in ms: waiting for a thread, before the guard (reads,
     * hash), the guard (worker, extractors, OCR), after it (strip, blob
     * commit), the record (thumbnail, the writer's commit) */
    /* "scan=cached": the same bytes under the same rules and scope were
     * inspected before and their findings reused (tests rely on the word) */
    if (t_scan)
        snprintf(scanned, sizeof scanned, "%.1f", t_scanned - t_scan);
    SRV_INFO("inspect", "upload %s: %s (%s) wait=%.1f pre=%.1f scan=%s post=%.1f record=%.1f", id,
             store_up_state_name(up.state), verdict, t0 - queued, (t_scan ? t_scan : t_record) - t0,
             t_scan ? scanned : "cached", t_record - (t_scan ? t_scanned : t_record),
             mono_ms() - t_record);
    announce(s, &up, up.length);
out:
    if (fd >= 0)
        close(fd);
    free(text);
    free(cached);
    json_decref(outcome);
    store_conv_clear(&conv);
    store_upload_clear(&up);
}

static void *insp_main(void *arg)
{
    insp_thread *t = arg;
    srv_qnode *n;

    while ((n = srv_queue_pop(&t->in->q))) {
        insp_item *it = (insp_item *)n;

        inspect(t, it->id, it->queued);
        free(it);
    }
    store_close(t->st);
    guard_scanner_free(t->sc);
    guard_file_pool_free(t->pool);
    free(t);
    return NULL;
}

srv_inspector *srv_inspect_start(srv *s)
{
    srv_inspector *in = calloc(1, sizeof *in);
    /* read-only: every write of an inspection goes through the writer
     * (chat_inspected.c) — issue 14's one write path, enforced */
    store_options so = {
        .version = 1, .path = s->db_path, .read_only = true, .maintenance = STORE_MAINT_ELSEWHERE};
    int n = s->cfg->uploads.inspectors;
    store_uploads left = {0};
    guard_error gerr;
    char *msg = NULL;

    if (!in || srv_queue_init(&in->q, INSPECT_QUEUE_CAP)) {
        free(in);
        return NULL;
    }
    in->srv = s;
    in->th = calloc((size_t)n, sizeof *in->th);
    if (!in->th)
        goto fail;
    for (int i = 0; i < n; i++) {
        insp_thread *t = calloc(1, sizeof *t);

        if (!t)
            goto fail;
        t->in = in;
        /* without a pool (it cannot start) every file starts its worker */
        if (guard_file_pool_new(NULL, &t->pool, &gerr))
            SRV_WARN("inspect", "thread %d: no waiting workers: %s", i, gerr.message);
        if (store_open(&so, &t->st, &msg) || guard_scanner_new(&t->sc, &gerr) ||
            pthread_create(&in->th[i], NULL, insp_main, t)) {
            SRV_ERROR("inspect", "thread %d: %s", i, msg ? msg : "cannot start");
            free(msg);
            store_close(t->st);
            guard_scanner_free(t->sc);
            guard_file_pool_free(t->pool);
            free(t);
            goto fail;
        }
        in->n_th = i + 1;
    }
    /* A previous run stopped during these inspections: again, from the
     * start (never "clean by default"). */
    if (!store_upload_list(s->st, STORE_UP_INSPECTING, 0, &left)) {
        for (size_t i = 0; i < left.n; i++)
            srv_inspect_push(in, left.items[i].id);
        if (left.n)
            SRV_INFO("inspect", "%zu uploads inspected again after a restart", left.n);
    }
    store_uploads_free(&left);
    SRV_INFO("inspect", "%d inspection threads", n);
    return in;
fail:
    srv_inspect_stop(in);
    return NULL;
}

void srv_inspect_stop(srv_inspector *in)
{
    srv_qnode *n;

    if (!in)
        return;
    /* What is still queued stays "inspecting" in the store: the next
     * start inspects it. */
    n = srv_queue_drain(&in->q);
    while (n) {
        srv_qnode *next = n->next;

        free(n);
        n = next;
    }
    srv_queue_close(&in->q);
    for (int i = 0; i < in->n_th; i++)
        pthread_join(in->th[i], NULL);
    free(in->th);
    srv_queue_destroy(&in->q);
    free(in);
}
