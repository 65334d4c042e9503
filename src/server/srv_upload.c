/*
 * srv_upload.c — tus 1.0 uploads at /api/v1/uploads (core, creation,
 * creation-with-upload, expiration, checksum sha1/sha256, termination):
 * the handlers, the streamed body (srv_upload.h tells the sequence), the
 * per-upload lock, expiry.
 *
 * Refusals come before a byte is sent (tusd's pre-create hook is the
 * model): at creation a length over uploads.max_size is 413, a refused type
 * 415, a user over quota 429, a conversation the caller is not in 404.
 */
#include "srv_upload.h"

#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_pool.h"
#include "srv_upload_lease.h"
#include "store/store_files.h"

#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TUS_EXTENSIONS "creation,creation-with-upload,expiration,checksum,termination"

struct srv_uploads {
    blob_store *blobs;
    srv_leases *leases;  /* one writer per upload (srv_upload_lease.h) */
    srv_inspector *insp; /* inspection threads (srv_inspect.c) */
};

/* ---- answer headers --------------------------------------------------------- */

void srv_req_header(srv_req *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *v = NULL;

    if (r->n_xh >= SRV_MAX_XHEADERS)
        return;
    va_start(ap, fmt);
    if (vasprintf(&v, fmt, ap) < 0)
        v = NULL;
    va_end(ap);
    if (!v)
        return;
    r->xh[r->n_xh].name = name;
    r->xh[r->n_xh++].value = v;
}

/* ---- the upstream (loop) ------------------------------------------------------------ */

static bool custom(struct lws *wsi, const char *name, char *buf, int cap)
{
    int n = lws_hdr_custom_copy(wsi, buf, cap, name, (int)strlen(name));

    if (n < 0)
        buf[0] = 0;
    return n >= 0;
}

static bool hdr_int(struct lws *wsi, const char *name, int64_t *out)
{
    char buf[32], *end;
    long long v;

    if (!custom(wsi, name, buf, sizeof buf) || !buf[0])
        return false;
    v = strtoll(buf, &end, 10);
    if (*end || v < 0 || buf[0] == '-' || buf[0] == '+')
        v = -1; /* malformed: the handler answers 400 */
    *out = v;
    return true;
}

srv_upstream *srv_upstream_new(srv *s, struct lws *wsi, srv_method m)
{
    srv_upstream *u = calloc(1, sizeof *u);
    char buf[32];

    if (!u)
        return NULL;
    u->srv = s;
    u->has_offset = hdr_int(wsi, "upload-offset:", &u->hdr_offset);
    u->has_length = hdr_int(wsi, "upload-length:", &u->hdr_length);
    u->has_resumable = custom(wsi, "tus-resumable:", buf, sizeof buf) && buf[0];
    custom(wsi, "upload-metadata:", u->metadata, sizeof u->metadata);
    custom(wsi, "upload-checksum:", u->checksum, sizeof u->checksum);
    if (lws_hdr_copy(wsi, u->ctype, sizeof u->ctype, WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
        u->ctype[0] = 0;
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        u->content_length = strtoll(buf, NULL, 10);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        /* lws frames such a body by its Content-Length if it has one (a
         * smuggling shape: refused), else hands it over raw, up to 100 MiB */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            u->framing_bad = 400;
        else if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_TRANSFER_ENCODING) < 0 ||
                 strcasecmp(buf, "chunked"))
            u->framing_bad = 501;
        else
            u->chunked = true;
    }
    srv_chunked_init(&u->dech);
    u->stream = (m == SRV_PATCH || m == SRV_POST) && (u->content_length > 0 || u->chunked) &&
                !u->framing_bad && !strncasecmp(u->ctype, "application/offset+octet-stream", 31);
    return u;
}

/* Lets the upload's lock and lease go: with st (a worker) at once, else
 * (the loop) through the lease keeper. The answer is srv_lease_give's. */
static int unlock_upload(srv_upstream *u, store *st)
{
    srv_uploads *ups = u->srv->uploads;

    if (!u->locked || !ups)
        return SRV_LEASE_OK;
    u->locked = false;
    return srv_lease_give(ups->leases, st, u->id);
}

/* Takes the upload's lock (a worker, with its store handle): SRV_LEASE_OK,
 * SRV_LEASE_HELD (another request writes it, on this node or another:
 * 423) or SRV_LEASE_UNAVAILABLE (the store cannot say whether another node
 * writes it, so nobody does — fail closed, 503). */
static int lock_upload(srv_upstream *u, store *st)
{
    int rc = srv_lease_take(u->srv->uploads->leases, st, u->id);

    u->locked = rc == SRV_LEASE_OK;
    return rc;
}

/* The same when the answer is a request's: false after answering it. */
static bool lock_or_answer(srv_req *r, srv_worker *w, srv_upstream *u, const char *held)
{
    int rc = lock_upload(u, w->st);

    if (rc == SRV_LEASE_HELD)
        srv_error(r, 423, "upload_locked", "%s", held);
    else if (rc != SRV_LEASE_OK) {
        srv_req_header(r, "retry-after:", "1");
        srv_error(r, 503, "upload_lock_unavailable",
                  "whether another node is writing this upload cannot be checked; retry");
    }
    return rc == SRV_LEASE_OK;
}

static void hash_update(srv_upstream *u, const void *p, size_t n)
{
    if (u->algo == 1)
        sha1_update(u->hash, n, p);
    else if (u->algo == 2)
        sha256_update(u->hash, n, p);
}

static int flush(srv_upstream *u)
{
    int rc;

    if (!u->buf_len || u->failed)
        return u->failed ? -1 : 0;
    rc = blob_stage_append(u->bu, u->start + u->written, u->buf, u->buf_len);
    if (rc) {
        SRV_ERROR("upload", "%s: write: %s", u->id, blob_strerror(rc));
        u->failed = true;
        return -1;
    }
    u->written += (int64_t)u->buf_len;
    u->buf_len = 0;
    return 0;
}

/* Body bytes (decoded, for a chunked body): checksum, buffer, file. 1 when
 * they go past what the upload has left (chunked only: a Content-Length
 * was checked against it in phase 1). */
static int take_bytes(srv_upstream *u, const unsigned char *c, size_t n)
{
    if (u->chunked && u->received + (int64_t)n > u->length - u->start) {
        u->too_long = true;
        return 1;
    }
    u->received += (int64_t)n;
    hash_update(u, c, n);
    while (n) {
        size_t take = SRV_UP_BUF - u->buf_len;

        if (take > n)
            take = n;
        memcpy(u->buf + u->buf_len, c, take);
        u->buf_len += take;
        c += take;
        n -= take;
        /* A write to the page cache, 256 KiB at a time: short, and the
         * loop never waits for a whole chunk. */
        if (u->buf_len == SRV_UP_BUF && flush(u))
            return -1;
    }
    return 0;
}

static int take_chunked(void *arg, const unsigned char *p, size_t n)
{
    return take_bytes(arg, p, n);
}

int srv_upstream_feed(srv_upstream *u, const void *p, size_t n)
{
    int rc;

    if (u->phase != SRV_UP_BODY || !u->bu)
        return -1;
    if (!u->chunked)
        /* more than announced: lws frames by Content-Length, so never */
        return u->received + (int64_t)n > u->content_length ? -1 : take_bytes(u, p, n);
    if (u->raw + n > SRV_UP_CHUNKED_MAX) {
        n = SRV_UP_CHUNKED_MAX - (size_t)u->raw;
        u->cut = true;
    }
    u->raw += n;
    rc = srv_chunked_feed(&u->dech, p, n, take_chunked, u, NULL);
    if (rc < 0 && u->dech.st == SRV_CHUNKED_BAD)
        SRV_WARN("upload", "%s: malformed chunked body", u->id);
    if (rc)
        return rc;
    return srv_chunked_done(&u->dech) || u->cut ? 1 : 0;
}

void srv_upstream_end(srv_upstream *u, bool aborted)
{
    if (u->phase != SRV_UP_BODY || !u->bu)
        return;
    u->phase = SRV_UP_END;
    u->body_done = !aborted && !u->too_long &&
                   (u->chunked ? srv_chunked_done(&u->dech) : u->received == u->content_length);
    if (u->too_long || (!u->body_done && u->algo)) {
        /* A chunk with a checksum that did not arrive whole cannot be
         * checked: it goes; so does a chunked one that ran past the
         * upload's length (413). */
        u->buf_len = 0;
        blob_stage_truncate(u->bu, u->start);
        u->written = 0;
        return;
    }
    flush(u);
}

void srv_upstream_free(srv_upstream *u)
{
    if (!u)
        return;
    if (u->phase == SRV_UP_BODY)
        srv_upstream_end(u, true);
    blob_stage_close(u->bu);
    unlock_upload(u, NULL);
    free(u->hash);
    free(u->buf);
    free(u);
}

/* ---- helpers ------------------------------------------------------------------- */

void srv_uploads_lease_stats(srv *s, srv_lease_stats *out)
{
    srv_leases_stats(s->uploads ? s->uploads->leases : NULL, out);
}

blob_store *srv_uploads_blobs(srv *s)
{
    return s->uploads ? s->uploads->blobs : NULL;
}

void srv_inspect_queue(srv *s, const char *upload_id)
{
    if (s->uploads && s->uploads->insp)
        srv_inspect_push(s->uploads->insp, upload_id);
}

static void tus_common(srv_req *r)
{
    for (int i = 0; i < r->n_xh; i++)
        if (!strcmp(r->xh[i].name, "tus-resumable:"))
            return;
    srv_req_header(r, "tus-resumable:", "1.0.0");
}

static bool id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n != SRV_UP_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

/* The last path segment ({name}). */
static const char *path_id(srv_req *r)
{
    const char *p = r->path + strlen(SRV_TUS_PREFIX);

    return *p == '/' ? p + 1 : p;
}

/* The caller's upload, or an answer (404 for someone else's: the same as
 * none). */
static int load_own(srv_req *r, srv_worker *w, store_upload *up)
{
    const char *id = path_id(r);
    int rc;

    if (!id_ok(id)) {
        srv_error(r, 404, "not_found", "no such upload");
        return -1;
    }
    rc = store_upload_get(w->st, id, up);
    if (rc == STORE_NOTFOUND || (!rc && up->user_id != r->user.id)) {
        store_upload_clear(up);
        srv_error(r, 404, "not_found", "no such upload");
        return -1;
    }
    if (rc) {
        srv_store_error(r, w, rc, "upload_get");
        return -1;
    }
    return 0;
}

/* Bytes staged so far (uploading), or the whole length once it finished. */
static int64_t current_offset(srv *s, const store_upload *up)
{
    blob_upload *bu = NULL;
    int64_t size = 0;

    if (up->state != STORE_UP_UPLOADING)
        return up->length;
    if (blob_stage_open(s->uploads->blobs, up->id, false, &bu, &size))
        return 0;
    blob_stage_close(bu);
    return size;
}

static void expires_header(srv_req *r, int64_t ms)
{
    char buf[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    srv_req_header(r, "upload-expires:", "%s", buf);
}

json_t *srv_upload_json(const store_upload *u, int64_t offset)
{
    json_t *o = u->outcome ? json_loads(u->outcome, 0, NULL) : NULL;
    json_t *mime = o ? json_object_get(o, "mime") : NULL;
    json_t *j =
        json_pack("{s:s,s:s,s:I,s:I,s:s,s:O?,s:O?,s:O?,s:s?,s:b,s:O?}", "id", u->id, "state",
                  store_up_state_name(u->state), "offset", (json_int_t)offset, "length",
                  (json_int_t)u->length, "filename", u->filename, "mime", mime ? mime : NULL,
                  "verdict", o ? json_object_get(o, "verdict") : NULL, "findings",
                  o ? json_object_get(o, "findings") : NULL, "file_id", u->file_id,
                  "location_removed", o && json_is_true(json_object_get(o, "location_removed")),
                  "error", o ? json_object_get(o, "error") : NULL);

    if (j && !mime)
        json_object_set_new(j, "mime", u->filetype ? json_string(u->filetype) : json_null());
    if (j && !json_object_get(j, "findings"))
        json_object_set_new(j, "findings", json_array());
    if (j && !json_object_get(j, "verdict"))
        json_object_set_new(j, "verdict", json_null());
    if (j && !json_object_get(j, "error"))
        json_object_set_new(j, "error", json_null());
    if (j && !u->file_id)
        json_object_set_new(j, "file_id", json_null());
    json_decref(o);
    return j;
}

static bool type_refused(srv *s, const char *name, const char *type)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; i < s->cfg->uploads.n_refused_types; i++) {
        const char *t = s->cfg->uploads.refused_types[i];

        if (t[0] == '.' ? dot && !strcasecmp(dot, t) : type && !strcasecmp(type, t))
            return true;
    }
    return false;
}

/* ---- phase 1 of a streamed chunk: may it go on? -------------------------------- */

static int stream_check(srv_req *r, srv_worker *w, const store_upload *up, int64_t offset);

/* Takes the lock; on a refusal lets it go at once (this worker has the
 * store at hand, and the next writer, maybe on another node, need not
 * wait for the keeper). */
static int stream_open(srv_req *r, srv_worker *w, const store_upload *up, int64_t offset)
{
    srv_upstream *u = r->up;

    memcpy(u->id, up->id, sizeof u->id);
    u->length = up->length;
    if (!lock_or_answer(r, w, u, "this upload is being written by another request"))
        return -1;
    if (stream_check(r, w, up, offset)) {
        unlock_upload(u, w->st);
        return -1;
    }
    return 0;
}

static int stream_check(srv_req *r, srv_worker *w, const store_upload *up, int64_t offset)
{
    srv_upstream *u = r->up;
    int64_t size = 0;
    int rc;

    rc = blob_stage_open(w->srv->uploads->blobs, up->id, false, &u->bu, &size);
    if (rc) {
        srv_error(r, 500, "internal", "the upload's bytes are not there");
        return -1;
    }
    if (offset != size) {
        srv_req_header(r, "upload-offset:", "%lld", (long long)size);
        srv_error(r, 409, "offset_mismatch", "the upload is at offset %lld", (long long)size);
        return -1;
    }
    /* a chunked body's length is known at its end (take_bytes) */
    if (!u->chunked && size + u->content_length > up->length) {
        srv_error(r, 413, "upload_too_long", "the chunk goes past Upload-Length");
        return -1;
    }
    if (u->checksum[0]) {
        char algo[16];
        const char *sp = strchr(u->checksum, ' ');
        size_t al = sp ? (size_t)(sp - u->checksum) : 0, got = 0;
        size_t want = 0;

        if (!sp || al >= sizeof algo) {
            srv_error(r, 400, "bad_checksum", "Upload-Checksum: ALGORITHM BASE64");
            return -1;
        }
        memcpy(algo, u->checksum, al);
        algo[al] = 0;
        if (!strcmp(algo, "sha1"))
            u->algo = 1, want = SHA1_DIGEST_SIZE;
        else if (!strcmp(algo, "sha256"))
            u->algo = 2, want = SHA256_DIGEST_SIZE;
        else {
            srv_error(r, 400, "checksum_algorithm", "supported: sha1, sha256");
            return -1;
        }
        if (sodium_base642bin(u->want, sizeof u->want, sp + 1, strlen(sp + 1), NULL, &got, NULL,
                              sodium_base64_VARIANT_ORIGINAL) ||
            got != want) {
            srv_error(r, 400, "bad_checksum", "Upload-Checksum: the digest is not valid base64");
            return -1;
        }
        u->hash = calloc(1, u->algo == 1 ? sizeof(struct sha1_ctx) : sizeof(struct sha256_ctx));
        if (!u->hash) {
            srv_error(r, 500, "internal", "out of memory");
            return -1;
        }
        if (u->algo == 1)
            sha1_init(u->hash);
        else
            sha256_init(u->hash);
    }
    u->buf = malloc(SRV_UP_BUF);
    if (!u->buf) {
        srv_error(r, 500, "internal", "out of memory");
        return -1;
    }
    u->start = size;
    u->phase = SRV_UP_BODY;
    /* no answer yet: the loop resumes the body (srv_api_finish) */
    r->status = 100;
    return 0;
}

/* ---- phase 2: the body is in ---------------------------------------------------- */

/* A chunk that cannot be kept (past the length, a write that failed, a
 * checksum that does not match): cut back to where it started and
 * answered, while this request still holds the upload. */
static bool chunk_refused(srv_req *r, srv_upstream *u)
{
    if (u->too_long || (u->cut && u->algo)) {
        /* past the upload's length; or past SRV_UP_CHUNKED_MAX with a
         * checksum that cannot be checked on part of the chunk */
        blob_stage_truncate(u->bu, u->start);
        srv_req_header(r, "upload-offset:", "%lld", (long long)u->start);
        if (u->too_long)
            srv_error(r, 413, "upload_too_long", "the chunk goes past Upload-Length");
        else
            srv_error(r, 413, "chunk_too_large",
                      "a chunked body with a checksum carries at most %u MiB",
                      SRV_UP_CHUNKED_MAX >> 20);
        return true;
    }
    if (u->failed) {
        blob_stage_truncate(u->bu, u->start);
        srv_error(r, 500, "internal", "the bytes could not be written; retry from the offset");
        return true;
    }
    if (u->algo && u->body_done) {
        unsigned char got[SHA256_DIGEST_SIZE];
        size_t n = u->algo == 1 ? SHA1_DIGEST_SIZE : SHA256_DIGEST_SIZE;

        if (u->algo == 1)
            sha1_digest(u->hash, n, got);
        else
            sha256_digest(u->hash, n, got);
        if (sodium_memcmp(got, u->want, n)) {
            blob_stage_truncate(u->bu, u->start);
            srv_req_header(r, "upload-offset:", "%lld", (long long)u->start);
            srv_error(r, 460, "checksum_mismatch", "the chunk's checksum does not match");
            return true;
        }
    }
    return false;
}

static void stream_done(srv_req *r, srv_worker *w, int created_status)
{
    srv_upstream *u = r->up;
    int64_t offset = u->start + u->written;
    int held;

    if (chunk_refused(r, u)) {
        unlock_upload(u, w->st);
        return;
    }
    /* The chunk is whole: the lease goes before the offset is recorded,
     * and letting it go tells whether it was held to the end. */
    held = unlock_upload(u, w->st);
    if (held == SRV_LEASE_LOST) {
        /* Another node took the upload while the store was out of reach
         * for longer than the lease: the file is its writer's now. */
        srv_error(r, 423, "upload_locked", "this upload was taken over by another request");
        return;
    }
    if (held != SRV_LEASE_OK) {
        /* The store does not answer: the offset cannot be recorded, and
         * whether another node writes cannot be known. The chunk goes (the
         * lease stays until the keeper lets it go or it expires). */
        blob_stage_truncate(u->bu, u->start);
        srv_req_header(r, "retry-after:", "1");
        srv_error(r, 503, "upload_lock_unavailable",
                  "the store cannot be reached to record the chunk; retry from the offset");
        return;
    }
    srv_req_header(r, "upload-offset:", "%lld", (long long)offset);
    if (offset == u->length) {
        /* The last byte landed: inspection, off the loop, before anyone
         * else can see it. */
        blob_stage_close(u->bu);
        u->bu = NULL;
        if (store_upload_update(w->st, u->id, STORE_UP_INSPECTING, NULL, NULL) == STORE_OK) {
            store_upload up = {0};

            /* "inspecting" to the uploader's sockets, then the verdict
             * when the inspection ends (srv_inspect.c) */
            if (!store_upload_get(w->st, u->id, &up))
                srv_emit(&r->job, SRV_EV_USERS,
                         srv_event_buf("upload.state", srv_upload_json(&up, offset)), 0, 0,
                         &up.user_id, 1);
            store_upload_clear(&up);
            srv_inspect_queue(w->srv, u->id);
        }
    }
    srv_reply(r, created_status, NULL);
}

/* ---- handlers --------------------------------------------------------------------- */

void srv_h_upload_options(srv_req *r, srv_worker *w)
{
    tus_common(r);
    srv_req_header(r, "tus-version:", "1.0.0");
    srv_req_header(r, "tus-extension:", TUS_EXTENSIONS);
    srv_req_header(r, "tus-max-size:", "%lld", w->srv->cfg->uploads.max_size);
    srv_req_header(r, "tus-checksum-algorithm:", "sha1,sha256");
    srv_req_header(r, "access-control-allow-methods:", "POST, GET, HEAD, PATCH, DELETE, OPTIONS");
    srv_req_header(r, "access-control-allow-headers:",
                   "Authorization, Content-Type, Upload-Length, Upload-Offset, Upload-Metadata, "
                   "Upload-Checksum, Tus-Resumable, Upload-Defer-Length, X-Requested-With");
    srv_reply(r, 204, NULL);
}

void srv_h_upload_create(srv_req *r, srv_worker *w)
{
    const srv_uploads_config *cfg = &w->srv->cfg->uploads;
    srv_upstream *u = r->up;
    store_upload up = {0};
    char name[512], type[128], convs[32], idb[SRV_UP_ID_LEN / 2];
    char id[SRV_UP_ID_LEN + 1], *end;
    store_member_role role;
    int64_t conv_id, bytes = 0, count = 0;
    int rc;

    tus_common(r);
    if (!u) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    if (!u->has_length || u->hdr_length < 0) {
        srv_error(r, 400, "upload_length_required",
                  "Upload-Length is required (no deferred length)");
        return;
    }
    if (u->hdr_length > cfg->max_size) {
        srv_error(r, 413, "upload_too_large", "the file is over %lld bytes", cfg->max_size);
        json_object_set_new(json_object_get(r->resp, "error"), "max", json_integer(cfg->max_size));
        return;
    }
    if (srv_tus_meta(u->metadata, "filename", name, sizeof name) ||
        srv_tus_meta(u->metadata, "conversation_id", convs, sizeof convs) || !name[0] ||
        !convs[0]) {
        srv_error(r, 400, "upload_metadata",
                  "Upload-Metadata needs filename and conversation_id (base64)");
        return;
    }
    conv_id = strtoll(convs, &end, 10);
    if (*end || conv_id <= 0) {
        srv_error(r, 400, "upload_metadata", "conversation_id must be a number");
        return;
    }
    /* the declared type is a hint (refusals); the stored one is detected */
    if (srv_tus_meta(u->metadata, "filetype", type, sizeof type))
        type[0] = 0;
    /* The name is shown to others: no control characters, no path. */
    for (char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '/' || *p == '\\' || *p == 0x7f)
            *p = '_';
    if (srv_require_member(r, w, conv_id, &role))
        return;
    if (type_refused(w->srv, name, type[0] ? type : NULL)) {
        srv_error(r, 415, "upload_type_refused", "files of this type are not accepted");
        return;
    }
    rc = store_upload_usage(w->st, r->user.id, &bytes, &count);
    if (rc) {
        srv_store_error(r, w, rc, "upload_usage");
        return;
    }
    if (count >= cfg->max_active || bytes + u->hdr_length > cfg->quota_bytes) {
        srv_error(r, 429, "upload_quota",
                  "too many unfinished uploads; finish or cancel one first");
        return;
    }
    randombytes_buf(idb, sizeof idb);
    sodium_bin2hex(id, sizeof id, (unsigned char *)idb, sizeof idb);
    up = (store_upload){.id = id,
                        .user_id = r->user.id,
                        .conv_id = conv_id,
                        .length = u->hdr_length,
                        .filename = name,
                        .filetype = type[0] ? type : NULL,
                        .state = STORE_UP_UPLOADING,
                        .created_at = r->now,
                        .expires_at = r->now + (int64_t)cfg->expiry_seconds * 1000};
    {
        blob_upload *bu = NULL;
        int64_t size = 0;

        if (blob_stage_open(w->srv->uploads->blobs, id, true, &bu, &size)) {
            srv_error(r, 500, "internal", "cannot stage the upload");
            return;
        }
        blob_stage_close(bu);
    }
    rc = store_upload_create(w->st, &up);
    if (rc) {
        blob_stage_delete(w->srv->uploads->blobs, id);
        srv_store_error(r, w, rc, "upload_create");
        return;
    }
    srv_req_header(r, "location:", SRV_TUS_PREFIX "/%s", id);
    expires_header(r, up.expires_at);
    if (u->hdr_length == 0) {
        /* An empty file is complete at creation. */
        if (!store_upload_update(w->st, id, STORE_UP_INSPECTING, NULL, NULL))
            srv_inspect_queue(w->srv, id);
        srv_req_header(r, "upload-offset:", "0");
        srv_reply(r, 201, NULL);
        return;
    }
    if (u->stream) {
        /* creation-with-upload: the body is the first chunk */
        if (!stream_open(r, w, &up, 0))
            return;
        /* refused after the row exists: answer 201 with offset 0 */
        json_decref(r->resp);
        r->resp = NULL;
        r->status = 201;
        srv_req_header(r, "upload-offset:", "0");
        return;
    }
    srv_req_header(r, "upload-offset:", "0");
    srv_reply(r, 201, NULL);
}

void srv_h_upload_patch(srv_req *r, srv_worker *w)
{
    srv_upstream *u = r->up;
    store_upload up = {0};
    store_member_role role;

    tus_common(r);
    if (u && u->chunked)
        /* lws counts on a chunked body it cannot measure (100 MiB): the
         * transaction cannot complete, the connection ends with the answer */
        r->close_after = true;
    if (u && u->phase == SRV_UP_END) {
        /* phase 2 (a POST with a body answers 201) */
        stream_done(r, w, r->method == SRV_POST ? 201 : 204);
        if (r->method == SRV_POST && r->status == 201)
            srv_req_header(r, "location:", SRV_TUS_PREFIX "/%s", u->id);
        return;
    }
    if (r->method == SRV_POST) {
        srv_h_upload_create(r, w);
        return;
    }
    if (!u) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    if (load_own(r, w, &up))
        return;
    if (!u->has_resumable) {
        srv_error(r, 412, "tus_resumable", "Tus-Resumable: 1.0.0 is required");
        goto out;
    }
    if (strncasecmp(u->ctype, "application/offset+octet-stream", 31)) {
        srv_error(r, 415, "content_type", "Content-Type: application/offset+octet-stream");
        goto out;
    }
    if (!u->has_offset || u->hdr_offset < 0) {
        srv_error(r, 400, "upload_offset", "Upload-Offset is required");
        goto out;
    }
    if (up.state != STORE_UP_UPLOADING || up.expires_at <= r->now) {
        if (up.state == STORE_UP_UPLOADING)
            srv_error(r, 410, "upload_expired", "this upload expired");
        else
            srv_error(r, 409, "upload_finished", "this upload takes no more bytes");
        goto out;
    }
    /* Still a member: a removed member's upload stops here. */
    if (srv_require_member(r, w, up.conv_id, &role))
        goto out;
    if (!u->stream) {
        /* An empty PATCH: nothing to write, the offset is the answer. */
        int64_t off = current_offset(w->srv, &up);

        if (off != u->hdr_offset) {
            srv_req_header(r, "upload-offset:", "%lld", (long long)off);
            srv_error(r, 409, "offset_mismatch", "the upload is at offset %lld", (long long)off);
        } else {
            srv_req_header(r, "upload-offset:", "%lld", (long long)off);
            srv_reply(r, 204, NULL);
        }
        goto out;
    }
    stream_open(r, w, &up, u->hdr_offset);
out:
    store_upload_clear(&up);
}

void srv_h_upload_head(srv_req *r, srv_worker *w)
{
    store_upload up = {0};

    tus_common(r);
    if (load_own(r, w, &up))
        return;
    if (up.state == STORE_UP_UPLOADING && up.expires_at <= r->now) {
        /* expired: its bytes go at the next housekeeping */
        srv_error(r, 410, "upload_expired", "this upload expired");
        store_upload_clear(&up);
        return;
    }
    srv_req_header(r, "upload-offset:", "%lld", (long long)current_offset(w->srv, &up));
    srv_req_header(r, "upload-length:", "%lld", (long long)up.length);
    expires_header(r, up.expires_at);
    srv_reply(r, 200, NULL);
    store_upload_clear(&up);
}

void srv_h_upload_get(srv_req *r, srv_worker *w)
{
    store_upload up = {0};

    tus_common(r);
    if (load_own(r, w, &up))
        return;
    srv_reply(r, 200, srv_upload_json(&up, current_offset(w->srv, &up)));
    store_upload_clear(&up);
}

void srv_h_upload_delete(srv_req *r, srv_worker *w)
{
    store_upload up = {0};
    srv_upstream lk = {.srv = w->srv};
    int rc;

    tus_common(r);
    if (load_own(r, w, &up))
        return;
    memcpy(lk.id, up.id, sizeof lk.id);
    if (!lock_or_answer(r, w, &lk, "this upload is being written; retry"))
        goto out;
    if (up.state == STORE_UP_INSPECTING) {
        srv_error(r, 409, "upload_inspecting", "the file is being inspected");
        goto out;
    }
    /* A finished upload's file stays while a message delivers it; only the
     * upload goes. */
    rc = store_upload_delete(w->st, up.id);
    if (rc && rc != STORE_NOTFOUND) {
        srv_store_error(r, w, rc, "upload_delete");
        goto out;
    }
    blob_stage_delete(w->srv->uploads->blobs, up.id);
    srv_reply(r, 204, NULL);
out:
    unlock_upload(&lk, w->st);
    store_upload_clear(&up);
}

/* ---- expiry ------------------------------------------------------------------------ */

void srv_uploads_expire(srv *s, store *st, int64_t now)
{
    store_uploads l = {0};
    size_t n = 0;

    if (!s->uploads || store_upload_list(st, STORE_UP_UPLOADING, now, &l))
        return;
    for (size_t i = 0; i < l.n; i++) {
        srv_upstream lk = {.srv = s};

        snprintf(lk.id, sizeof lk.id, "%s", l.items[i].id);
        if (lock_upload(&lk, st) != SRV_LEASE_OK)
            continue; /* being written right now (or cannot tell): next round */
        if (!store_upload_delete(st, l.items[i].id)) {
            blob_stage_delete(s->uploads->blobs, l.items[i].id);
            n++;
        }
        unlock_upload(&lk, st);
    }
    if (n)
        SRV_INFO("upload", "%zu expired uploads removed", n);
    store_uploads_free(&l);
}

/* ---- start / stop -------------------------------------------------------------------- */

int srv_uploads_start(srv *s)
{
    srv_uploads *ups = calloc(1, sizeof *ups);
    /* A store several processes write (PostgreSQL) may be another node's
     * too: the lease goes in it. One writer (SQLite): a local lock. */
    bool shared = s->st->methods->supports & STORE_CAN_CONCURRENT_WRITERS;
    store_options so = {.version = 1, .path = s->db_path, .maintenance = STORE_MAINT_ELSEWHERE};
    char *dir = NULL;
    int rc;

    if (!ups)
        return -1;
    s->uploads = ups;
    ups->leases = srv_leases_new(shared, &so, s->cfg->node_name);
    if (!ups->leases)
        return -1;
    if (s->cfg->blob_dir ? !(dir = strdup(s->cfg->blob_dir))
                         : asprintf(&dir, "%s/blobs", s->cfg->data_dir) < 0)
        return -1;
    rc = blob_local_open(dir, &ups->blobs);
    if (rc) {
        SRV_ERROR("upload", "blob store %s: %s", dir, blob_strerror(rc));
        free(dir);
        return -1;
    }
    free(dir);
    s->chat.blobs = ups->blobs; /* recall removes bytes nothing refers to */
    ups->insp = srv_inspect_start(s);
    if (!ups->insp)
        return -1;
    /* what expired while the server was down goes now, not in a minute */
    srv_uploads_expire(s, s->st, srv_now_ms());
    return 0;
}

void srv_uploads_stop(srv *s)
{
    srv_uploads *ups = s->uploads;

    if (!ups)
        return;
    srv_inspect_stop(ups->insp);
    s->chat.blobs = NULL;
    blob_close(ups->blobs);
    srv_leases_free(ups->leases);
    free(ups);
    s->uploads = NULL;
}
