/*
 * ex_image.h — the image family of extractors, inside the worker: what
 * ex_image.c (decode, limits, the per-page pipeline) shares with its helpers.
 *
 *   ex_imgfmt.c    container formats by their bytes: sniffing, and bounded
 *                  walks over JPEG segments, PNG chunks, WebP (RIFF) chunks
 *                  and GIF blocks (used to read metadata and to strip it)
 *   ex_meta.c      finds the metadata blocks in those containers (EXIF, XMP,
 *                  comments, PNG text chunks) and scans their text
 *   ex_exif.c      EXIF (libexif) and XMP (libxml2) → metadata findings
 *   ex_masthead.c  the red masthead and red rule of an official document,
 *                  by colour and layout, and where its header lines are
 *   ex_ocr.c       Tesseract: one engine per worker process, page OCR and
 *                  the re-reading of single header lines
 *   ex_qr.c        QR codes and barcodes (zbar)
 *
 * Leptonica types are used by pointer only, so including this header does
 * not pull in allheaders.h.
 */
#ifndef EX_IMAGE_H
#define EX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ex.h"

struct Pix;

/* ---- formats (ex_imgfmt.c) --------------------------------------------- */

typedef enum ex_imgfmt {
    EX_FMT_UNKNOWN,
    EX_FMT_JPEG,
    EX_FMT_PNG,
    EX_FMT_WEBP,
    EX_FMT_TIFF,
    EX_FMT_GIF,
    EX_FMT_BMP,
} ex_imgfmt;

ex_imgfmt ex_imgfmt_sniff(const unsigned char *d, size_t n);
const char *ex_imgfmt_name(ex_imgfmt f);

/* One block of a container: its type (JPEG marker; PNG or RIFF fourcc as a
 * big-endian uint32), the whole block [off, off+len) and its payload
 * [data, data+data_len), all inside the input. */
typedef struct ex_block {
    uint32_t type;
    size_t off, len;
    const unsigned char *data;
    size_t data_len;
} ex_block;

/* A cursor over the blocks of a JPEG (markers up to SOS; the entropy-coded
 * rest is one block of type 0xDA that runs to the end), PNG (chunks), WebP
 * (RIFF chunks after the 12-byte header). ex_blocks_next() returns 1 with a
 * block, 0 at a clean end, -1 when the structure is broken (a length past
 * the end, a bad marker): the caller reports corrupt or truncated. */
typedef struct ex_blocks {
    const unsigned char *d;
    size_t n, pos;
    ex_imgfmt fmt;
    bool done;
} ex_blocks;

void ex_blocks_init(ex_blocks *it, ex_imgfmt fmt, const unsigned char *d, size_t n);
int ex_blocks_next(ex_blocks *it, ex_block *b);

/* GIF: the logical screen and every image descriptor's size, walked without
 * decoding (Leptonica's header reader decodes the whole GIF). Returns 0, or
 * -1 when the block structure is broken. */
typedef struct ex_gif_info {
    uint32_t screen_w, screen_h;
    uint32_t frames;
    uint64_t max_frame_px; /* the largest frame, width*height */
} ex_gif_info;
int ex_gif_walk(const unsigned char *d, size_t n, ex_gif_info *info);

/* TIFF: whether the first image's strips or tiles run past the end of the
 * file (libtiff decodes what is there and fills the rest). */
bool ex_tiff_truncated(const unsigned char *d, size_t n);

/* ---- metadata (ex_meta.c, ex_exif.c) ----------------------------------- */

/* Reads every metadata block of the image (EXIF, XMP, JPEG COM, PNG
 * tEXt/zTXt/iTXt, WebP EXIF/XMP) and reports findings and one "metadata" text
 * segment. Returns 0, or -1 when the job must end. */
int ex_meta_scan(ex_job *j, ex_imgfmt fmt, const unsigned char *d, size_t n);

/* Collected facts from EXIF and XMP; ex_meta_scan reports them once, so that
 * a GPS position found in both EXIF and XMP is one finding. */
typedef struct ex_meta_facts {
    bool gps;
    double lat, lon;
    char capture_time[40];
    char device[160];
    char software[96];
} ex_meta_facts;

/* EXIF: `d` is a TIFF-structured EXIF blob with or without the "Exif\0\0"
 * prefix. Text values (descriptions, comments, artist) are appended to
 * `text` (at most `cap` bytes, *len updated). */
void ex_exif_read(const unsigned char *d, size_t n, ex_meta_facts *f, char *text, size_t cap,
                  size_t *len);
/* The EXIF Orientation tag (0x0112 in IFD0) of the same kind of blob:
 * 1..8, or 0 when there is none or it is out of range. */
int ex_exif_orientation(const unsigned char *d, size_t n);
/* The Orientation of an image file: from its EXIF block (JPEG APP1, PNG
 * eXIf, WebP EXIF) or a TIFF's own IFD0 (wherever in the file it is). 1..8,
 * or 0 when it has none. */
int ex_image_orientation(ex_imgfmt fmt, const unsigned char *d, size_t n);
/* A copy of the TIFF `d` (malloc'd) whose IFD0 Orientation entry says 1, to
 * decode with Leptonica: its TIFF reader applies the tag itself, and not
 * the same way for every TIFF (Leptonica 1.82: an uncompressed RGB strip
 * turned, a deflate one not; 8 turned the wrong way), while the extractor
 * turns every format's decoded pixels itself, one way (wm_upright by
 * ex_image_orientation of the original bytes). NULL when `d` is not a
 * classic TIFF, its Orientation is absent or 1 already, or out of memory:
 * then decode `d` itself. */
unsigned char *ex_tiff_unoriented(const unsigned char *d, size_t n);
/* XMP: an x:xmpmeta packet. Parsed with libxml2 without network or entity
 * substitution; the same outputs as ex_exif_read. */
void ex_xmp_read(const unsigned char *d, size_t n, ex_meta_facts *f, char *text, size_t cap,
                 size_t *len);

/* ---- official-document layout (ex_masthead.c) --------------------------- */

typedef struct ex_box {
    int x, y, w, h;
} ex_box;

typedef struct ex_masthead {
    int confidence; /* 0: no red header; else how sure (50..95) */
    bool has_title; /* the big red masthead text */
    bool has_rule;  /* the red rule under the 发文字号 */
    ex_box title;   /* in the coordinates of the analysed image */
    ex_box rule;
    char why[160]; /* the evidence, for the finding's excerpt */
} ex_masthead;

/* Looks for a red masthead and a red rule in a deskewed 32-bpp image. */
void ex_masthead_find(struct Pix *rgb, ex_masthead *m);

/* The regions worth reading again, in the page's coordinates: the block at
 * the top left (份号, 密级, 紧急程度) and the 发文字号 line above the rule.
 * Without a masthead, the top left of the page. Returns how many. */
int ex_header_regions(const ex_masthead *m, int page_w, int page_h, ex_box *out, int cap);

/* Splits a region of a grayscale page into text lines by the dark pixels'
 * row profile. Returns how many line boxes were written. */
int ex_text_lines(struct Pix *gray, ex_box region, ex_box *out, int cap);

/* ---- OCR (ex_ocr.c) ------------------------------------------------------ */

/* Recognises `pix` (8 or 1 bpp) with the given Tesseract page-segmentation
 * mode and languages (EX_OCR_*) within `ms` milliseconds. On 0, *out is
 * malloc'ed UTF-8 (may be empty), *conf the mean word confidence, *timed_out
 * whether the deadline cut recognition short. -1: the engine could not be
 * started or ran out of memory (*out untouched). */
/* Starts the page engine (chi_sim+eng) and the orientation engine (osd)
 * now: a waiting worker of the pool (guard_file_pool) does it before its
 * file arrives. */
void ex_ocr_preload(void);
int ex_ocr_run(struct Pix *pix, int psm, int lang, uint32_t ms, char **out, int *conf,
               bool *timed_out);

/* Which way up `pix` (8 or 1 bpp) is, by Tesseract's orientation and
 * script detection (osd.traineddata): *quads is the number of clockwise
 * quarter turns (0..3) that make it upright, *conf Tesseract's confidence
 * in that (below ~2 it is guessing). -1: no engine, or too little text to
 * tell. */
int ex_ocr_orientation(struct Pix *pix, int *quads, float *conf);

/* Languages: Chinese and English (pages), Chinese alone (a header line the
 * first read as a few Latin letters). */
enum { EX_OCR_CHI_ENG = 0, EX_OCR_CHI = 1 };

/* Page segmentation modes used here (tesseract/publictypes.h). */
enum { EX_PSM_AUTO = 3, EX_PSM_BLOCK = 6, EX_PSM_LINE = 7 };

/* ---- codes (ex_qr.c) ---------------------------------------------------- */

/* Decodes QR codes and barcodes in an 8-bpp image; each payload is a text
 * segment "qr". Returns 0, or -1 when the job must end. */
int ex_qr_scan(ex_job *j, struct Pix *gray);

#endif
