/*
 * wm.h — the invisible watermark: a 48-bit payload (the server's delivery
 * id: which viewer received which image, when) hidden in an image's
 * luminance, keyed, and read back blind from a copy found outside — after
 * JPEG re-compression, rescaling, a brightness change or a screenshot.
 * docs/WATERMARK.md explains the scheme and what it survives.
 *
 * Two layers, both here:
 *   - the code (wm_code.c): payload → 64 bits (48-bit id + a 16-bit keyed
 *     MAC) → one ±1 chip per cell of a WM_GRID × WM_GRID grid, spread by a
 *     keyed permutation and keyed signs; and back, from soft chip values,
 *     with a confidence. Pure computation, no I/O.
 *   - the image (wm_image.c, Leptonica): embedding into pixels (in the
 *     caller's process: the input is an image the server has already
 *     inspected) and measuring an image into a fixed-size luminance plane
 *     (in the extraction worker for untrusted input: ex_worker.c's
 *     "watermark" mode calls wm_measure()). The plane is key-free, so the
 *     key never enters the process that parses the hostile file.
 *
 * Every function returns 0 on success or -1 with a reason in `why` (at most
 * `why_cap` bytes, NUL-terminated), unless said otherwise.
 */
#ifndef WM_H
#define WM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WM_GRID      32                  /* cells per side, relative to the image size */
#define WM_CELLS     (WM_GRID * WM_GRID) /* one chip per cell */
#define WM_SUB       8                   /* plane samples per cell side */
#define WM_PLANE     (WM_GRID * WM_SUB)  /* the measured plane is WM_PLANE² floats */
#define WM_ID_BITS   48
#define WM_MAC_BITS  16
#define WM_BITS      (WM_ID_BITS + WM_MAC_BITS)
#define WM_ID_MAX    ((UINT64_C(1) << WM_ID_BITS) - 1)
#define WM_KEY_BYTES 32
#define WM_MIN_SIDE  128 /* narrower images are refused: cells would be < 4 px */
/* Decisions below this confidence are "no watermark found" (see wm_decode). */
#define WM_MIN_CONFIDENCE 6.0

typedef struct wm_key {
    unsigned char k[WM_KEY_BYTES];
} wm_key;

/* ---- keys (wm_code.c) ---------------------------------------------------- */

/* Reads the key file at `path` (at least 32 bytes; the key is the BLAKE2b
 * hash of its content). With `create`, a missing file is created with 32
 * random bytes, mode 0600, and *created set. */
int wm_key_load(const char *path, bool create, wm_key *key, bool *created, char *why,
                size_t why_cap);

/* ---- the code (wm_code.c) ------------------------------------------------ */

/* The ±1 chip of every cell (row-major) for `id` (<= WM_ID_MAX) under
 * `key`. */
void wm_chips(const wm_key *key, uint64_t id, int8_t chips[WM_CELLS]);

typedef struct wm_result {
    bool found;        /* the MAC matched and confidence >= WM_MIN_CONFIDENCE */
    uint64_t id;       /* when found */
    double confidence; /* standard deviations above what an unmarked image gives */
    double min_margin; /* the weakest bit's |soft value| over its noise (>0) */
    bool mac_ok;       /* the MAC matched (may hold by chance: 1 in 65,536) */
} wm_result;

/* Decodes soft chip values (one per cell, row-major, positive for +1) under
 * `key`: each bit is the sum of its cells' values times their signs
 * (repetition code, soft decision), then the MAC is checked. Never fails. */
void wm_decode_soft(const wm_key *key, const float soft[WM_CELLS], wm_result *r);

/* ---- images (wm_image.c) ------------------------------------------------- */

typedef enum wm_format { WM_OUT_PNG, WM_OUT_JPEG } wm_format;

typedef struct wm_embed_stats {
    double psnr; /* marked vs original, luminance and colour channels, dB */
    int width, height;
} wm_embed_stats;

/* Embeds `id` in the image `data` (JPEG, PNG, WebP, ... what Leptonica
 * reads; at most `max_pixels`) and writes the marked image, encoded as
 * `fmt` (JPEG at `quality`), into *out (malloc'ed, *out_len bytes).
 * `stats` may be NULL. */
int wm_embed(const unsigned char *data, size_t len, uint64_t max_pixels, const wm_key *key,
             uint64_t id, wm_format fmt, int quality, unsigned char **out, size_t *out_len,
             wm_embed_stats *stats, char *why, size_t why_cap);
/* wm_embed of a picture whose EXIF Orientation is `orientation` (1..8; 0 or
 * 1 upright): the pixels are turned upright before the mark goes in, since
 * the marked copy carries no EXIF (a phone's portrait photo would otherwise
 * reach the viewer sideways). */
int wm_embed_oriented(const unsigned char *data, size_t len, int orientation, uint64_t max_pixels,
                      const wm_key *key, uint64_t id, wm_format fmt, int quality,
                      unsigned char **out, size_t *out_len, wm_embed_stats *stats, char *why,
                      size_t why_cap);

/* wm_embed_oriented with the id's chips already made (wm_chips): what the
 * extraction worker runs for the server, so the key never leaves the
 * server's process — the worker that decodes the picture gets the pattern
 * of one delivery id, not the key that makes every id's. */
int wm_embed_chips(const unsigned char *data, size_t len, int orientation, uint64_t max_pixels,
                   const int8_t chips[WM_CELLS], wm_format fmt, int quality, unsigned char **out,
                   size_t *out_len, wm_embed_stats *stats, char *why, size_t why_cap);

/* The pixels of `p` as they are meant to be seen, from an EXIF Orientation
 * (1..8: how row 0 and column 0 are stored; Leptonica does not apply it): a
 * new Pix, or a clone for 1 and unknown values; NULL when out of memory.
 * Here because this is the lowest module that links Leptonica: the
 * extractor's page analysis and previews use it too. */
struct Pix; /* Leptonica's PIX */
struct Pix *wm_upright(struct Pix *p, int orientation);

/* The number of frames (a GIF's images, a TIFF's pages) of `data`: 1 for
 * every other format, 0 when a GIF or TIFF cannot be walked. The marked copy
 * is one frame (wm_embed marks the first): the caller decides what a
 * picture of several frames gets. Walks the container only (bounded by
 * len), decodes no pixels. Never fails. */
int wm_frames(const unsigned char *data, size_t len);

/* Decodes the image `data` (at most `max_pixels`) into the luminance plane
 * (WM_PLANE × WM_PLANE, row-major, area averages). Untrusted input: call it
 * in the extraction worker. */
int wm_measure(const unsigned char *data, size_t len, uint64_t max_pixels,
               float plane[WM_PLANE * WM_PLANE], char *why, size_t why_cap);

/* Reads the watermark from a measured plane under `key`. Never fails; a
 * plane without a mark gives r->found false. The plane is checked for
 * finite values first (it may come from another process). */
void wm_decode_plane(const wm_key *key, const float plane[WM_PLANE * WM_PLANE], wm_result *r);

#endif
