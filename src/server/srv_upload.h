/*
 * srv_upload.h — files in chat, the transport's side: tus 1.0 uploads
 * streamed into the blob store (srv_upload.c), inspection of finished
 * uploads in a bounded pool off the loop (srv_inspect.c), downloads
 * (srv_h_file.c). docs/FILES.md "Files in chat", docs/API.md "Files".
 *
 * A request to /api/v1/uploads carries a srv_upstream (r->up), made on the
 * loop from the request's headers. A PATCH (or a POST with a body:
 * creation-with-upload) is streamed, never buffered in the request:
 *
 *   loop    begin(): headers read, rx paused (lws_rx_flow_control), the
 *           request goes to a worker
 *   worker  phase 1: authenticate, the upload is the caller's, still a
 *           member, offset and length right, the upload locked against a
 *           second writer, its staging file opened → "continue"
 *   loop    rx resumed; every body piece goes through the checksum and
 *           into a 256 KiB buffer, written to the staging file when full
 *           (srv_upstream_feed); at the end the rest is written
 *   worker  phase 2: the checksum compared (460 and the chunk cut back on
 *           a mismatch), the new offset answered; the last byte queues the
 *           inspection (srv_inspect.c)
 *
 * A connection that drops mid-chunk keeps what arrived (tus resumes from
 * the offset HEAD reports) unless the chunk had a checksum, which cannot
 * be checked then: it is cut back to where it started.
 *
 * A chunk sent "Transfer-Encoding: chunked" (no Content-Length) streams
 * the same way: libwebsockets hands the raw body over, framing included,
 * and srv_upstream_feed decodes it (srv_chunked.h) before the checksum
 * and the buffer. Its end is the last chunk, not a length lws could
 * count, so the loop starts phase 2 when srv_upstream_feed says the body
 * ended (1); more bytes than the upload has left end it too, and the
 * chunk is refused (413) and cut back. The connection is closed after
 * the answer (lws still expects the body it could not measure). Both a
 * Content-Length and a Transfer-Encoding, or a coding other than chunked,
 * are refused before a byte is read (400 / 501).
 */
#ifndef SRV_UPLOAD_H
#define SRV_UPLOAD_H

#include "blob/blob.h"
#include "srv_chunked.h"
#include "srv_int.h"
#include "srv_tus.h"
#include "srv_upload_lease.h"
#include "store/store_files.h"

#define SRV_UP_BUF (256u << 10) /* body bytes buffered before a write */
/* Raw bytes of one chunked request body at most: libwebsockets reads a
 * body it cannot measure as 100 MiB and then stalls; the upload ends the
 * request before (srv_upstream_feed) and the client goes on from the
 * offset answered. */
#define SRV_UP_CHUNKED_MAX (96u << 20)
#define SRV_UP_META        1024 /* Upload-Metadata bytes kept */
#define SRV_UP_ID_LEN      32   /* hex digits of an upload or file id */
#define SRV_TUS_PREFIX     "/api/v1/uploads"

/* A body refused before it was read is read and dropped up to this size, so
 * the connection lives on and the client gets its answer (a client still
 * sending when the server closes sees EPIPE or a reset, not the 404/403);
 * a larger one is answered and the connection closed, as Go's net/http and
 * nginx do past their own bounds. A client that stops sending meanwhile is
 * closed after SRV_UP_DRAIN_SECONDS. */
#define SRV_UP_DRAIN_MAX     (8 << 20)
#define SRV_UP_DRAIN_SECONDS 10

typedef struct srv_uploads srv_uploads;

typedef enum srv_up_phase { SRV_UP_AUTH, SRV_UP_BODY, SRV_UP_END } srv_up_phase;

typedef struct srv_upstream {
    srv *srv;
    /* ---- the request's tus headers (loop, before the worker) ---- */
    bool has_offset, has_length, has_resumable;
    int64_t hdr_offset, hdr_length, content_length;
    char metadata[SRV_UP_META];
    char checksum[192];
    char ctype[128];
    bool stream;      /* a body is coming that goes to the staging file */
    bool chunked;     /* ... in the chunked transfer coding, no Content-Length */
    int framing_bad;  /* 400: Content-Length and Transfer-Encoding; 501: not chunked */
    srv_chunked dech; /* the chunked body's decoder */
    bool too_long;    /* the chunked body went past the upload's length */
    bool cut;         /* ... or past SRV_UP_CHUNKED_MAX raw bytes */
    uint64_t raw;     /* raw bytes of the chunked body read */
    /* ---- the stream ---- */
    srv_up_phase phase;
    char id[SRV_UP_ID_LEN + 1];
    int64_t length;   /* the upload's declared length */
    blob_upload *bu;  /* open staging file (phase 1 → phase 2) */
    int64_t start;    /* offset where this chunk started */
    int64_t written;  /* bytes of this chunk written to the file */
    int64_t received; /* bytes of this chunk received */
    int algo;         /* 0 none, 1 sha1, 2 sha256 */
    unsigned char want[32];
    void *hash; /* nettle context */
    unsigned char *buf;
    size_t buf_len;
    bool failed; /* a write failed: the chunk is cut back, 500 */
    bool locked; /* holds the upload's lock and lease (srv_upload_lease.h) */
    bool body_done;
} srv_upstream;

/* Server start/stop: the blob store (<data_dir>/blobs), the inspection
 * threads, and uploads left "inspecting" by a previous run queued again. */
int srv_uploads_start(srv *s);
void srv_uploads_stop(srv *s);
/* Housekeeping (a worker): expired uploads and their bytes removed. */
void srv_uploads_expire(srv *s, store *st, int64_t now);

/* Loop: a request to /api/v1/uploads... gets its upstream (NULL: not one,
 * or out of memory, then r->up stays NULL and the route answers 500). */
srv_upstream *srv_upstream_new(srv *s, struct lws *wsi, srv_method m);
void srv_upstream_free(srv_upstream *u);
/* Loop: body bytes of a streamed chunk. 0: go on; 1: the body ended
 * (chunked: its last chunk, or more bytes than the upload has left; the
 * caller ends it and starts phase 2 — lws will not say so); -1: drop the
 * connection (more than a Content-Length announced, malformed chunked
 * framing, a write that failed). */
int srv_upstream_feed(srv_upstream *u, const void *p, size_t n);
/* Loop: the body ended, or the connection dropped (aborted): the buffer
 * goes to the file (or, for a chunk with a checksum that was cut short,
 * the chunk is cut back). */
void srv_upstream_end(srv_upstream *u, bool aborted);

/* The upload leases' counters (/metrics). */
void srv_uploads_lease_stats(srv *s, srv_lease_stats *out);
/* The blob store (for downloads). */
blob_store *srv_uploads_blobs(srv *s);
/* Queues an upload's inspection (any thread). */
void srv_inspect_queue(srv *s, const char *upload_id);

/* srv_inspect.c: the inspection threads (uploads.inspectors), each with
 * its own store handle and guard scanner. Start queues the uploads a
 * previous run left "inspecting" (a file is never clean by default). */
typedef struct srv_inspector srv_inspector;
srv_inspector *srv_inspect_start(srv *s);
void srv_inspect_push(srv_inspector *in, const char *upload_id);
void srv_inspect_stop(srv_inspector *in);

/* A download being written (srv_h_file.c). */
struct srv_download {
    blob_reader *rd;
    int64_t off, end; /* [off, end) left to write */
    /* a viewer's watermarked copy (srv_wmark.h), written from memory
     * instead of rd; NULL for the stored bytes */
    struct srv_wm_copy *mem;
};

/* srv_h_file.c: a download's next piece on the loop (1 done, 0 more,
 * -1 failed) and its release. */
int srv_download_write(srv_download *d, struct lws *wsi);
void srv_download_free(srv_download *d);

/* Answer headers besides the common ones: tus, Location, Range... */
void srv_req_header(srv_req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "uploading" ... JSON of an upload for GET /uploads/{id} and upload.state. */
json_t *srv_upload_json(const store_upload *u, int64_t offset);

#endif
