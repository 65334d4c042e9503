/*
 * cordon/guard_file.h — the guard for files: documents, archives, encodings
 * and images. The whole public contract of the file layer.
 *
 * A file is parsed in a separate worker process (a parser crash or a hostile
 * file cannot take down the caller), which extracts text segments (a document
 * body, a sheet, an archive member, OCR text, a decoded QR code) and
 * non-text findings (photo metadata, a red-headed official document, an
 * encrypted member). The caller's process feeds every text segment through
 * the text guard (cordon/guard.h) and merges everything into one
 * guard_result whose findings carry their `location`, e.g.
 *
 *     report.zip!/drafts/plan.docx!word/document.xml
 *     scan.pdf!page 3 (ocr)
 *
 * Limits (file size, unpacked bytes, ratio, entries, depth, pixels, OCR and
 * total time) come from the policy's `limits:` section (docs/POLICY.md). What
 * hits a limit, is encrypted, corrupt or truncated is reported as an
 * `uninspectable` finding with the reason and a status of partial or
 * unscannable — never a silent allow.
 *
 * Host programs: the worker is the host's own executable started again with
 * GUARD_FILE_WORKER_ARG as argv[1]. Every program that calls
 * guard_file_scan() must therefore begin main() with
 *
 *     int rc = guard_file_worker_dispatch(argc, argv);
 *     if (rc >= 0) return rc;
 */
#ifndef CORDON_GUARD_FILE_H
#define CORDON_GUARD_FILE_H

#include "cordon/guard.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GUARD_FILE_WORKER_ARG "__cordon-extract-worker"

/* Runs the extraction worker when this process was started as one (argv[1]
 * is GUARD_FILE_WORKER_ARG) and returns its exit code; returns -1 otherwise,
 * without touching anything. */
int guard_file_worker_dispatch(int argc, char **argv);

/* Workers started before their file (issue 15: a worker's start — exec,
 * ~120 libraries, libmagic, Tesseract's models — off the critical path).
 * A pool keeps one waiting worker for images (Tesseract's page engine
 * loaded) and one for everything else (libmagic only), each started after
 * the previous file of its kind was answered. A file still gets a process
 * of its own, sandboxed once it has the file, exactly like a spawned one.
 * Not thread-safe: one pool per thread. */
typedef struct guard_file_pool guard_file_pool;
guard_err guard_file_pool_new(const char *worker_path, guard_file_pool **out, guard_error *err);
/* A pool of the plain worker only (previews, watermarked copies): no
 * Tesseract loaded for nothing. */
guard_err guard_file_pool_new_plain(const char *worker_path, guard_file_pool **out,
                                    guard_error *err);
void guard_file_pool_free(guard_file_pool *p); /* ends the waiting workers */

typedef struct guard_file_options {
    /* The file's name as the user knows it (for the location prefix and the
     * extension check); NULL: the path's base name or "-". */
    const char *name;
    guard_scope scope;
    /* Executable started as the worker; NULL: /proc/self/exe. */
    const char *worker_path;
    /* Hand the file's bytes back in guard_file_info.text when it was plain
     * text read in process as one block (so a caller wanting line and
     * column need not read it again). */
    bool keep_text;
    /* Hand the text OCR read from the file's pictures back in
     * guard_file_info.ocr_text, at most this many bytes (0: not kept): a
     * user's own "recognise text" request. Only the page reads (locations
     * ending in "ocr"), not the header lines read again; pages joined by a
     * line feed. It is the same text the guard inspected. */
    size_t ocr_text_max;
    /* Called with every piece of text inspected (a document's body, a
     * page's OCR text, an archive member's text, a decoded QR code ...) and
     * where it was found (the location findings there would carry; the
     * file's name for its own text), in order; several calls may carry
     * one part. For a reviewer's view of what the guard read; NULL: none. */
    void (*on_text)(void *arg, const char *location, const char *text, size_t len);
    void *on_text_arg;
    /* Stop reading the file as soon as the verdict is block (the worker is
     * ended): nothing further can make it weaker, and a marked page is
     * refused without waiting for the rest of it (the chat server's
     * uploads). The result then holds the findings made until then;
     * guard_file_info.stopped_at_block says so. A tool that reports every
     * finding leaves it false. */
    bool stop_at_block;
    /* Take the worker from this pool (NULL: start one per file). */
    guard_file_pool *pool;
} guard_file_options;

/* Facts about what was inspected, beyond the findings. */
typedef struct guard_file_info {
    char mime[128];      /* the outer file's type by content (libmagic) */
    uint64_t parts;      /* text segments inspected */
    uint64_t bytes_text; /* bytes of extracted text inspected */
    uint64_t ocr_images; /* images that went through OCR */
    double seconds;      /* wall time, worker included */
    /* With keep_text: the bytes inspected as plain text in process, when
     * they were one block (at most 16 MiB), malloc'd for the caller to
     * free; else NULL. Finding offsets without a location index them. */
    char *text;
    size_t text_len;
    /* With ocr_text_max: the OCR text, malloc'd (NUL-terminated) for the
     * caller to free, NULL when OCR read nothing; ocr_text_cut when there
     * was more than ocr_text_max. */
    char *ocr_text;
    size_t ocr_text_len;
    bool ocr_text_cut;
    /* With stop_at_block: the inspection ended at a block verdict before
     * the worker had finished. */
    bool stopped_at_block;
} guard_file_info;

/* Inspects the file at `path` ("-" is not accepted: use guard_file_scan_fd).
 * On GUARD_OK *out is a result to free with guard_result_free(); a file that
 * could not be inspected is still GUARD_OK, with status unscannable and an
 * uninspectable finding. An error return means the caller's own resources
 * failed (out of memory, the worker could not be started). `info` may be
 * NULL. */
guard_err guard_file_scan(guard_scanner *s, guard_ruleset *rs, const char *path,
                          const guard_file_options *opt, guard_result **out, guard_file_info *info,
                          guard_error *err);
/* The same for an open file descriptor (read from its current offset; a pipe
 * is fine) or for bytes in memory. */
guard_err guard_file_scan_fd(guard_scanner *s, guard_ruleset *rs, int fd,
                             const guard_file_options *opt, guard_result **out,
                             guard_file_info *info, guard_error *err);
guard_err guard_file_scan_mem(guard_scanner *s, guard_ruleset *rs, const void *data, size_t len,
                              const guard_file_options *opt, guard_result **out,
                              guard_file_info *info, guard_error *err);

/* Inspects a chat message as the server does: its text through the text
 * guard, and every file smuggled inside it as text — a base64 data: URL, or
 * a bare base64 run (standard or URL-safe, wrapped or not) of 32 characters
 * or more that decodes cleanly to text or to a type an extractor reads —
 * through the file guard, bounded (16 files, 32 MiB decoded; past that an
 * uninspectable finding). An embedded file's findings carry the location
 * "(base64 at byte N)…" or "(data:TYPE at byte N)…". Mask cannot reach
 * inside encoded bytes: a mask verdict owed to an embedded file becomes
 * confirm (decided_by "embedded.unmaskable"). Returns as guard_scan(). */
guard_err guard_file_scan_message(guard_scanner *s, guard_ruleset *rs, const char *text, size_t len,
                                  guard_scope scope, const char *worker_path, guard_result **out,
                                  guard_error *err);

/* Writes a copy of the image (JPEG, PNG, WebP, TIFF, GIF, BMP) at `in` to
 * `out` with all metadata removed (EXIF incl. GPS, XMP, IPTC, comments,
 * text chunks); pixels are kept bit-exact where the format allows it (JPEG and
 * PNG are rewritten without re-encoding). Also runs in a worker. */
guard_err guard_file_strip(const char *in, const char *out, const char *worker_path,
                           guard_error *err);

/* A file's preview, made in a worker (the sandbox every parser runs in)
 * under the default limits, so the caller's process never decodes the file:
 * a picture (JPEG, PNG, WebP, TIFF, GIF, BMP; at most
 * GUARD_FILE_PREVIEW_MAX_BYTES and GUARD_FILE_PREVIEW_MAX_PIXELS) scaled to
 * GUARD_FILE_PREVIEW_PX on its longer side and turned upright by its EXIF
 * Orientation tag, or a PDF's first page at GUARD_FILE_THUMB_PX; a JPEG
 * either way, at most GUARD_FILE_THUMB_MAX_BYTES. On success out->jpeg
 * (malloc'd, the caller frees) and out->len, and the picture's upright size
 * in out->width/height (a PDF's: the preview's). GUARD_EINVAL with the
 * reason when no preview can be made (not a picture or a PDF, too large,
 * corrupt); GUARD_EIO when the worker failed (crash, time or memory limit)
 * or sent something that is not a preview. With `pool` (NULL: a worker of
 * its own) the pool's waiting plain worker makes it, no process started
 * while the caller waits. */
#define GUARD_FILE_THUMB_PX           320
#define GUARD_FILE_PREVIEW_PX         1024
#define GUARD_FILE_PREVIEW_MAX_BYTES  (64 << 20)
#define GUARD_FILE_PREVIEW_MAX_PIXELS 50000000ull
#define GUARD_FILE_THUMB_MAX_BYTES    (4 << 20)
typedef struct guard_file_preview {
    unsigned char *jpeg;
    size_t len;
    int width, height;
} guard_file_preview;
guard_err guard_file_make_preview(const char *in, guard_file_preview *out, const char *worker_path,
                                  guard_file_pool *pool, guard_error *err);

/* The EXIF Orientation (1..8) of an image's bytes (JPEG APP1, PNG eXIf,
 * WebP EXIF, a TIFF's IFD0), 1 when it has none. Walks the container and
 * the EXIF block only (bounded by len), decodes no pixels. The worker
 * turns a picture's decoded pixels by it for previews and watermarked
 * copies (a TIFF decoded as stored: ex_tiff_unoriented). */
int guard_file_image_orientation(const unsigned char *data, size_t len);

/* Reads the image at `in` (a file found outside: untrusted) in a worker,
 * under the default limits (pixels, memory, time), and fills `plane` with
 * exactly `plane_len` bytes: the watermark decoder's luminance plane
 * (src/watermark/wm.h, wm_measure). GUARD_EINVAL with the reason when the
 * image cannot be read (not an image, cut short, too many pixels, too
 * small); GUARD_EIO when the worker failed or hit a limit. */
guard_err guard_file_watermark_plane(const char *in, void *plane, size_t plane_len,
                                     const char *worker_path, guard_error *err);

/* A picture marked for one viewer (docs/WATERMARK.md, "In chat"), made in a
 * worker under the default limits, so the caller's process never decodes
 * it: `img` (len bytes: JPEG, PNG, WebP, GIF, TIFF or BMP; at most
 * GUARD_FILE_MARK_MAX_BYTES) turned upright by its EXIF Orientation, the
 * mark of `chips` added (GUARD_FILE_MARK_CHIPS values of +1 or -1: wm_chips
 * of the delivery id under the key, src/watermark/wm.h — the worker gets
 * the pattern of this one id, never the key), encoded as a PNG (`png`) or a
 * JPEG of `quality`. On success *out (malloc'd, the caller frees) and
 * *out_len, at most GUARD_FILE_MARK_OUT_MAX. GUARD_EINVAL with the reason
 * when the picture cannot be marked (not decodable, too many pixels, bad
 * arguments); GUARD_EIO when the worker failed (crash, time or memory
 * limit, a copy over the cap) or sent something that is not the picture
 * asked for. With `pool` (NULL: a worker of its own) the pool's waiting
 * plain worker makes it, as for a preview. */
#define GUARD_FILE_MARK_CHIPS     1024
#define GUARD_FILE_MARK_MAX_BYTES ((uint64_t)64 << 20)
#define GUARD_FILE_MARK_OUT_MAX   ((uint64_t)256 << 20)
guard_err guard_file_watermark_embed(const unsigned char *img, size_t len,
                                     const int8_t chips[GUARD_FILE_MARK_CHIPS], bool png,
                                     int quality, unsigned char **out, size_t *out_len,
                                     const char *worker_path, guard_file_pool *pool,
                                     guard_error *err);

#ifdef __cplusplus
}
#endif
#endif
