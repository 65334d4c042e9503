/*
 * srv_h_file.c — GET /api/v1/files/{id} (and /thumbnail): a delivered
 * file's bytes from the blob store, with Range, to those who may see it.
 *
 * Who: store_file_visible (the owner, or a member who can see a message
 * that delivered it, not recalled); a burn-after-reading message's
 * pictures to their reader for the visible time after the open only
 * (burn_window); anyone else gets 404, the same answer as a file that
 * does not exist. A held or blocked file is never in a
 * delivered message, so only its owner reaches it here.
 *
 * How: the handler (worker) decides and opens the blob; the loop writes it
 * 64 KiB per writable callback (srv_download_write), so a 2 GB download
 * holds no worker and no memory beyond one piece.
 *
 * Watermark: a picture or a preview someone else sent goes out as the
 * viewer's own marked copy (srv_wmark.h; docs/WATERMARK.md, "In chat"):
 * the delivery row is found, or created by the writer (chat_delivery.h)
 * while this worker waits; a picture that cannot carry the mark goes out
 * as stored and that delivery's audit entry says why.
 *
 * Safety: Content-Type from detection (the guard's libmagic), never the
 * client's; attachment with an RFC 5987 filename* unless ?inline=1 for an
 * image or a PDF; nosniff; a CSP sandbox so an opened file runs nothing.
 *
 * GET /api/v1/officer/files/{id}/text: what the guard read in a file an
 * alert names (a document's text, a photographed page's OCR text, each
 * part with its location), for the officer reviewing the alert; audited
 * file.text. The text is not kept anywhere: the delivered bytes are
 * inspected again (the same sandboxed worker, OCR included, so seconds
 * for a photo) and the text collected, at most TEXT_MAX bytes. So it is
 * as costly as the users' OCR (srv_h_ocr.c) and bounded the same way: a
 * bucket per officer (limits.file_text_per_minute, file_text_burst; 429
 * with Retry-After) and a slot among limits.ocr_concurrent (503 ocr_busy).
 */
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_upload.h"
#include "store/store_files.h"
#include "store/store_work.h"
#include "srv_wmark.h"
#include "srv_writer.h"
#include "chat/chat_delivery.h"

#include "base/base_utf8.h"
#include "cordon/guard_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DL_PIECE (64u << 10)
#define TEXT_MAX (1u << 20) /* bytes of a file's text shown to an officer */

void srv_download_free(srv_download *d)
{
    if (!d)
        return;
    blob_reader_close(d->rd);
    srv_wm_copy_unref(d->mem);
    free(d);
}

/* Loop: the next piece. 1 done, 0 more to come, -1 failed. */
int srv_download_write(srv_download *d, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + DL_PIECE];
    size_t want = (size_t)(d->end - d->off < DL_PIECE ? d->end - d->off : DL_PIECE), got = 0;
    bool last;

    if (!want)
        return 1;
    if (d->mem) { /* a viewer's marked copy */
        memcpy(buf + LWS_PRE, d->mem->data + d->off, want);
        got = want;
    } else if (blob_read(d->rd, d->off, buf + LWS_PRE, want, &got) || got != want)
        return -1;
    d->off += (int64_t)got;
    last = d->off == d->end;
    if (lws_write(wsi, buf + LWS_PRE, got, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)got)
        return -1;
    return last ? 1 : 0;
}

/* "attachment; filename="ascii"; filename*=UTF-8''pct" */
static void disposition(srv_req *r, const char *name, bool inl)
{
    char ascii[256], pct[1024];
    size_t a = 0, p = 0;

    for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
        unsigned char c = *s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     strchr("!#$&+-.^_`|~", c);

        if (a + 1 < sizeof ascii)
            ascii[a++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '_';
        if (plain && p + 1 < sizeof pct)
            pct[p++] = (char)c;
        else if (!plain && p + 3 < sizeof pct)
            p += (size_t)snprintf(pct + p, sizeof pct - p, "%%%02X", c);
    }
    ascii[a] = pct[p] = 0;
    srv_req_header(r, "content-disposition:", "%s; filename=\"%s\"; filename*=UTF-8''%s",
                   inl ? "inline" : "attachment", ascii, pct);
}

/* Range: bytes=a-b | a- | -n (one range). 0 ok, 1 none, -1 unsatisfiable. */
static int parse_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    char *end;
    long long a = -1, b = -1;

    if (!h || !*h)
        return 1;
    if (strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 1; /* not understood: the whole file, as RFC 9110 allows */
    h += 6;
    if (*h == '-') {
        b = strtoll(h + 1, &end, 10);
        if (*end || b <= 0)
            return -1;
        *from = size > b ? size - b : 0;
        *to = size - 1;
        return size ? 0 : -1;
    }
    a = strtoll(h, &end, 10);
    if (end == h || *end != '-' || a < 0)
        return 1;
    if (end[1]) {
        b = strtoll(end + 1, &end, 10);
        if (*end || b < a)
            return 1;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b < 0 || b >= size ? size - 1 : b;
    return 0;
}

/* A picture of a burn-after-reading message: its reader, for the visible
 * time after their open (chat_burn.h; a few seconds' grace for the
 * fetches the open starts). Nobody else, the sender included. */
static int burn_window(srv_req *r, srv_worker *w, const char *id, store_file *f)
{
    int64_t since = r->now - ((int64_t)w->srv->chat.lim.burn_after_open_seconds + 5) * 1000;
    int rc = store_burn_file_visible(w->st, id, r->user.id, since, f);

    return rc == STORE_VERSION ? STORE_NOTFOUND : rc;
}

/* Reads blob `hash` whole into *out (malloc'ed, *len bytes): a picture
 * to mark, at most SRV_WM_MAX_BYTES. */
static int read_blob(srv_worker *w, const char *hash, unsigned char **out, size_t *len)
{
    blob_reader *rd = NULL;
    int64_t size = 0;
    size_t got = 0;
    int rc = -1;

    *out = NULL;
    *len = 0;
    if (!hash || blob_open(srv_uploads_blobs(w->srv), hash, &rd, &size) || size < 0 ||
        size > SRV_WM_MAX_BYTES || !(*out = malloc(size ? (size_t)size : 1)))
        goto out;
    if (!blob_read(rd, 0, *out, (size_t)size, &got) && got == (size_t)size) {
        *len = got;
        rc = 0;
    }
out:
    if (rc) {
        free(*out);
        *out = NULL;
    }
    blob_reader_close(rd);
    return rc;
}

/* A picture the viewer receives: an image the inspection knew as one, or a
 * type the mark is written into that it delivers as a plain file (BMP). */
static bool picture(const store_file *f)
{
    return f->image || srv_wmark_type(f->mime);
}

/* Why one form of f — its original or its preview — goes out unmarked
 * (srv_wmark_unmarkable's reason code), or NULL when it carries the mark
 * or is not a picture at all (a PDF's original; a file without preview).
 * `data` is that form's bytes when the caller read them, else NULL: the
 * preview's (a few hundred KB) and a GIF's or TIFF's (their frames) are
 * then read here. */
static const char *form_unmarked(srv_worker *w, const store_file *f, bool preview, uint64_t pixels,
                                 const unsigned char *data, size_t len)
{
    unsigned char *own = NULL;
    const char *why;
    bool frames = f->mime && (!strcmp(f->mime, "image/gif") || !strcmp(f->mime, "image/tiff"));

    if (preview ? !f->thumb_hash : !picture(f))
        return NULL;
    if (!data && (preview || (frames && f->size <= SRV_WM_MAX_BYTES))) {
        if (read_blob(w, preview ? f->thumb_hash : f->hash, &own, &len))
            return "unreadable";
        data = own;
    }
    why = preview ? srv_wmark_unmarkable("image/jpeg", (int64_t)len, 0, 0, pixels, data, len)
                  : srv_wmark_unmarkable(f->mime, f->size, f->width, f->height, pixels, data, len);
    free(own);
    return why;
}

/* The delivery row of f to the viewer: found, or created through the
 * writer (chat_delivery.c: kind "delivery"; with the audit entry of the
 * forms that go out unmarked), this worker waiting for its id. 0 with *d,
 * or -1 when answered (a store failure). */
static int delivery(srv_req *r, srv_worker *w, const store_file *f, bool preview,
                    const char *unmarked, uint64_t pixels, store_delivery *d)
{
    chat_delivery_in in = {
        .user_id = r->user.id, .login = r->user.login, .file_id = f->id, .now = r->now};
    const char *other;
    chat_commit *c;
    int rc = store_delivery_find(w->st, r->user.id, f->id, d);

    if (rc != STORE_NOTFOUND)
        goto out;
    other = form_unmarked(w, f, !preview, pixels, NULL, 0);
    in.unmarked_original = preview ? other : unmarked;
    in.unmarked_preview = preview ? unmarked : other;
    c = chat_delivery_commit(&w->srv->chat, &in);
    if (!c) {
        rc = STORE_NOMEM;
        goto out;
    }
    srv_writer_commit_wait(w->srv, c);
    rc = chat_delivery_result(c, d);
    chat_commit_free(c);
out:
    if (rc)
        srv_store_error(r, w, rc, "delivery");
    return rc ? -1 : 0;
}

/* The viewer's watermarked copy of f's original picture or its preview
 * (docs/WATERMARK.md, "In chat"): from the cache, or the delivery row
 * (one per file and viewer, store_work.h) and the copy carrying its id,
 * marked now (a burn message's pictures are never kept). 0 with *out; 0
 * with *out NULL when this form cannot carry a mark (the delivery's audit
 * entry says why): the stored bytes go out as they are; -1 when answered
 * (a store failure, or a picture that should carry the mark and could not
 * be marked: refused rather than sent unmarked). */
static int watermarked(srv_req *r, srv_worker *w, const store_file *f, bool preview, bool burn,
                       srv_wm_copy **out)
{
    guard_limits lim;
    store_delivery d;
    unsigned char *data = NULL;
    size_t len = 0;
    char key[96], why[256] = "";
    const char *unmarked;
    int rc = -1;

    *out = NULL;
    snprintf(key, sizeof key, "%s/%s", f->id, preview ? "preview" : "original");
    if (!burn && (*out = srv_wmark_cached(w->srv->wmark, key, r->user.id)))
        return 0;
    guard_limits_defaults(&lim);
    if ((preview || f->size <= SRV_WM_MAX_BYTES) &&
        read_blob(w, preview ? f->thumb_hash : f->hash, &data, &len)) {
        SRV_ERROR("file", "%s: blob: the %s cannot be read", f->id,
                  preview ? "preview" : "picture");
        srv_error(r, 500, "internal", "the file's bytes are missing");
        goto out;
    }
    unmarked = form_unmarked(w, f, preview, lim.pixels, data, len);
    if (delivery(r, w, f, preview, unmarked, lim.pixels, &d))
        goto out;
    rc = 0;
    if (unmarked) {
        SRV_INFO("file", "%s: %s delivered unmarked (%s), delivery %lld", f->id,
                 preview ? "preview" : "original", unmarked, (long long)d.id);
        goto out;
    }
    if (srv_wmark_copy(w->srv->wmark, key, r->user.id, (uint64_t)d.id, data, len,
                       preview ? "image/jpeg" : f->mime, !burn, out, why, sizeof why)) {
        SRV_ERROR("file", "%s: the %s could not be marked: %s", f->id,
                  preview ? "preview" : "picture", why);
        srv_error(r, 500, "watermark_failed", "the picture could not be prepared for you");
        rc = -1;
    }
out:
    free(data);
    return rc;
}

/* The name a marked copy is saved under: a GIF, TIFF or BMP marked as a
 * PNG, a WebP as a JPEG, take the copy's extension. */
static void copy_name(const char *name, const char *mime, char *out, size_t cap)
{
    const char *ext = !strcmp(mime, "image/png") ? ".png" : ".jpg";
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);

    if (dot && (!strcasecmp(dot, ext) || (!strcmp(ext, ".jpg") && !strcasecmp(dot, ".jpeg"))))
        stem = strlen(name), ext = "";
    snprintf(out, cap, "%.*s%s", (int)(stem < cap - 8 ? stem : cap - 8), name, ext);
}

static void serve(srv_req *r, srv_worker *w, bool thumb)
{
    const char *p = r->path + strlen("/api/v1/files/");
    char id[SRV_UP_ID_LEN + 1], inl[8], name[512] = "";
    store_file f = {0};
    blob_reader *rd = NULL;
    int64_t size = 0, from = 0, to = 0;
    size_t idl = strcspn(p, "/");
    srv_wm_copy *mark = NULL;
    enum { VIA_NONE, VIA_OWNER, VIA_MEMBER, VIA_BURN } via = VIA_NONE;
    int rc, rr;
    bool inline_ok;

    if (idl != SRV_UP_ID_LEN) {
        srv_error(r, 404, "not_found", "no such file");
        return;
    }
    memcpy(id, p, idl);
    id[idl] = 0;
    rc = store_file_visible(w->st, id, r->user.id, &f);
    if (!rc)
        via = f.owner_id == r->user.id ? VIA_OWNER : VIA_MEMBER;
    if (rc == STORE_NOTFOUND && !(rc = burn_window(r, w, id, &f)))
        via = VIA_BURN;
    if (rc == STORE_NOTFOUND && r->user.role != STORE_ROLE_MEMBER) {
        /* an officer opens a file from the alert that names it (held and
         * blocked files included); the opening is audited */
        int64_t alert_id = 0;

        if (!store_file_in_alert(w->st, id, &alert_id) && !store_file_get(w->st, id, &f)) {
            char target[64];

            rc = STORE_OK;
            snprintf(target, sizeof target, "file:%s", id);
            srv_audit_req(r, w, thumb ? "file.open_thumbnail" : "file.open", target,
                          json_pack("{s:I,s:s}", "alert", (json_int_t)alert_id, "name", f.name));
        }
    }
    if (rc == STORE_NOTFOUND || (thumb && !rc && !f.thumb_hash)) {
        srv_error(r, 404, "not_found", "no such file");
        goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "file_visible");
        goto out;
    }
    /* a picture or a preview someone else sent: this viewer's marked copy */
    if ((via == VIA_MEMBER || via == VIA_BURN) && w->srv->wmark && (thumb || picture(&f)) &&
        watermarked(r, w, &f, thumb, via == VIA_BURN, &mark) < 0)
        goto out;
    if (!mark) {
        rc = blob_open(srv_uploads_blobs(w->srv), thumb ? f.thumb_hash : f.hash, &rd, &size);
        if (rc) {
            SRV_ERROR("file", "%s: blob: %s", id, blob_strerror(rc));
            srv_error(r, 500, "internal", "the file's bytes are missing");
            goto out;
        }
    } else
        size = (int64_t)mark->len;
    r->dl = calloc(1, sizeof *r->dl);
    if (!r->dl) {
        blob_reader_close(rd);
        srv_error(r, 500, "internal", "out of memory");
        goto out;
    }
    r->dl->rd = rd;
    r->dl->mem = mark;
    mark = NULL;
    rr = parse_range(r->range, size, &from, &to);
    if (rr < 0) {
        srv_download_free(r->dl);
        r->dl = NULL;
        srv_req_header(r, "content-range:", "bytes */%lld", (long long)size);
        srv_error(r, 416, "range_not_satisfiable", "the file has %lld bytes", (long long)size);
        goto out;
    }
    if (rr == 0) {
        r->dl->off = from;
        r->dl->end = to + 1;
        srv_req_header(r, "content-range:", "bytes %lld-%lld/%lld", (long long)from, (long long)to,
                       (long long)size);
    } else
        r->dl->end = size;
    r->status = rr == 0 ? 206 : 200;
    inline_ok = thumb || f.image || !strcmp(f.mime, "application/pdf");
    r->dl_type = strdup(r->dl->mem ? r->dl->mem->mime : thumb ? "image/jpeg" : f.mime);
    if (r->dl->mem && !thumb && strcmp(r->dl->mem->mime, f.mime))
        copy_name(f.name, r->dl->mem->mime, name, sizeof name);
    srv_req_header(r, "accept-ranges:", "bytes");
    srv_req_header(r, "content-security-policy:",
                   "sandbox; default-src 'none'; img-src 'self'; "
                   "style-src 'unsafe-inline'");
    disposition(r, name[0] ? name : f.name,
                inline_ok &&
                    (thumb || (!srv_query_str(r, "inline", inl, sizeof inl) && !strcmp(inl, "1"))));
    r->cache_control = "private, no-store";
out:
    srv_wm_copy_unref(mark);
    store_file_clear(&f);
}

void srv_h_file_get(srv_req *r, srv_worker *w)
{
    serve(r, w, false);
}

void srv_h_file_thumb(srv_req *r, srv_worker *w)
{
    serve(r, w, true);
}

/* ---- an officer's view of a file's text ---------------------------------- */

typedef struct text_parts {
    json_t *parts; /* [{location, text}] */
    char *loc;     /* the open part's location */
    char *buf;     /* its text so far */
    size_t len, total;
    bool truncated, oom;
} text_parts;

/* buf[0..len) as a JSON string, invalid UTF-8 (a part cut at a sequence, a
 * binary member) replaced by U+FFFD. */
static json_t *text_json(const char *p, size_t n)
{
    char *out = malloc(n * 3 + 1), *o = out;
    json_t *j;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        int k = base_utf8_seq((const unsigned char *)p + i, n - i);

        if (k > 0 && p[i]) {
            memcpy(o, p + i, (size_t)k);
            o += k;
            i += (size_t)k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(out, (size_t)(o - out));
    free(out);
    return j;
}

static void part_close(text_parts *t)
{
    json_t *txt;

    if (!t->loc)
        return;
    txt = text_json(t->buf ? t->buf : "", t->len);
    if (!txt ||
        json_array_append_new(t->parts, json_pack("{s:s,s:o}", "location", t->loc, "text", txt)))
        t->oom = true;
    free(t->loc);
    free(t->buf);
    t->loc = t->buf = NULL;
    t->len = 0;
}

static void on_text(void *arg, const char *location, const char *text, size_t len)
{
    text_parts *t = arg;
    char *nb;

    if (t->oom || t->truncated)
        return;
    if (!t->loc || strcmp(t->loc, location)) {
        part_close(t);
        t->loc = strdup(location);
        if (!t->loc) {
            t->oom = true;
            return;
        }
    }
    if (len > TEXT_MAX - t->total) {
        len = TEXT_MAX - t->total;
        t->truncated = true;
    }
    nb = realloc(t->buf, t->len + len + 1);
    if (!nb) {
        t->oom = true;
        return;
    }
    memcpy(nb + t->len, text, len);
    t->buf = nb;
    t->len += len;
    t->total += len;
}

void srv_h_officer_file_text(srv_req *r, srv_worker *w)
{
    const char *p = r->path + strlen("/api/v1/officer/files/");
    char id[SRV_UP_ID_LEN + 1], target[64];
    store_file f = {0};
    int64_t alert_id = 0;
    size_t idl = strcspn(p, "/");
    text_parts t = {.parts = json_array()};
    guard_file_options opt = {0};
    guard_file_info info = {0};
    guard_result *res = NULL;
    guard_ruleset *rs = NULL;
    guard_error gerr = {0};
    bool slot = false;
    int fd = -1, rc, retry;

    if (idl != SRV_UP_ID_LEN || strcmp(p + idl, "/text")) {
        srv_error(r, 404, "not_found", "no such file");
        goto out;
    }
    memcpy(id, p, idl);
    id[idl] = 0;
    /* what an officer may open: a file an alert names (held and blocked
     * ones included), as GET /files/{id} */
    rc = store_file_in_alert(w->st, id, &alert_id);
    if (!rc)
        rc = store_file_get(w->st, id, &f);
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such file");
        goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "file_text");
        goto out;
    }
    /* counted once the file is known: a wrong id costs nothing to read */
    retry = srv_rate_file_text(w->srv->rate, r->user.id, r->now);
    if (retry) {
        r->retry_after = retry;
        srv_error(r, 429, "rate_limited", "too many file texts read; retry in %d s", retry);
        goto out;
    }
    if (atomic_fetch_add(&w->srv->ocr_running, 1) >= w->srv->cfg->limits.ocr_concurrent) {
        atomic_fetch_sub(&w->srv->ocr_running, 1);
        r->retry_after = 5;
        srv_error(r, 503, "ocr_busy", "the server is reading other files; retry shortly");
        goto out;
    }
    slot = true;
    if (!t.parts || blob_open_fd(srv_uploads_blobs(w->srv), f.hash, false, &fd)) {
        SRV_ERROR("file", "%s: the bytes cannot be read", id);
        srv_error(r, 500, "internal", "the file's bytes are missing");
        goto out;
    }
    opt = (guard_file_options){.name = f.name, .on_text = on_text, .on_text_arg = &t};
    rs = guard_engine_acquire(w->srv->engine);
    rc = guard_file_scan_fd(w->scanner, rs, fd, &opt, &res, &info, &gerr);
    part_close(&t);
    if (t.oom) {
        srv_error(r, 500, "internal", "out of memory");
        goto out;
    }
    snprintf(target, sizeof target, "file:%s", id);
    srv_audit_req(r, w, "file.text", target,
                  json_pack("{s:I,s:s}", "alert", (json_int_t)alert_id, "name", f.name));
    srv_reply(r, 200,
              json_pack("{s:{s:s,s:s,s:s,s:I},s:O,s:b,s:s,s:I}", "file", "id", id, "name", f.name,
                        "mime", f.mime, "size", (json_int_t)f.size, "parts", t.parts, "truncated",
                        t.truncated, "status",
                        rc || !res ? "unscannable" : guard_status_name(res->status), "ocr_images",
                        (json_int_t)info.ocr_images));
out:
    if (slot)
        atomic_fetch_sub(&w->srv->ocr_running, 1);
    if (rs)
        guard_ruleset_unref(rs);
    guard_result_free(res);
    free(info.text);
    part_close(&t);
    json_decref(t.parts);
    if (fd >= 0)
        close(fd);
    store_file_clear(&f);
}
