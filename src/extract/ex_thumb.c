/*
 * ex_thumb.c — the worker's thumb mode: a file's preview, made in the
 * sandbox (issue 15: "thumbnails for images and the first page of PDFs made
 * in the sandbox after inspection"). The server's process never decodes an
 * upload to make its preview; it stores what comes back here.
 *
 * A picture (JPEG, PNG, WebP, TIFF, GIF, BMP — what Leptonica reads) is
 * decoded (a big JPEG at 1/2, 1/4 or 1/8 by libjpeg's DCT scaling, never
 * under the preview's size), scaled to GUARD_FILE_PREVIEW_PX on its longer
 * side, turned upright by its EXIF Orientation tag (the strip keeps that
 * tag: a phone's portrait photo is stored sideways) and written as a JPEG.
 * A PDF's first page is rendered by Poppler (ex_pdf_thumb, a PNG of
 * GUARD_FILE_THUMB_PX into a memfd of this process) and re-encoded the same
 * way. Output on fd `out` (guard_file.h, guard_file_preview): the 12-byte
 * header "CTH1", the picture's upright width and height (uint32, little
 * endian; a PDF's: the preview's), then the JPEG.
 */
#include "ex_thumb.h"

#include "base/base_file.h"
#include "cordon/guard_file.h"
#include "ex.h"
#include "ex_image.h"
#include "watermark/wm.h"

#include <errno.h>
#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define THUMB_Q 80 /* the JPEG quality the server's previews always had */

/* The EXIF Orientation of the picture (1..8), 1 when it has none: the
 * extractor's reader (JPEG APP1, PNG eXIf, WebP EXIF, a TIFF's IFD0). */
int guard_file_image_orientation(const unsigned char *d, size_t len)
{
    int o = ex_image_orientation(ex_imgfmt_sniff(d, len), d, len);

    return o >= 1 && o <= 8 ? o : 1;
}

/* Decodes, scales, turns upright and writes the preview. `max_px` the
 * longer side; `o` the orientation; (w, h) the picture's stored size. */
static int encode(PIX *pix, int max_px, int o, int w, int h, int out, char *why, size_t cap)
{
    PIX *small = NULL, *turned = NULL, *rgb = NULL;
    unsigned char hdr[12] = {'C', 'T', 'H', '1'}, *jpg = NULL;
    size_t jlen = 0;
    int pw = pixGetWidth(pix), ph = pixGetHeight(pix), rc = -1;
    uint32_t uw = (uint32_t)(o >= 5 ? h : w), uh = (uint32_t)(o >= 5 ? w : h);

    small = pw >= ph ? pixScaleToSize(pix, pw > max_px ? max_px : pw, 0)
                     : pixScaleToSize(pix, 0, ph > max_px ? max_px : ph);
    turned = small ? wm_upright(small, o) : NULL;
    rgb = turned ? pixConvertTo32(turned) : NULL;
    if (!rgb || pixWriteMemJpeg(&jpg, &jlen, rgb, THUMB_Q, 0)) {
        snprintf(why, cap, "cannot make the preview");
        goto fail;
    }
    for (int i = 0; i < 4; i++) {
        hdr[4 + i] = (unsigned char)(uw >> (8 * i));
        hdr[8 + i] = (unsigned char)(uh >> (8 * i));
    }
    if (base_file_write_all(out, hdr, sizeof hdr) || base_file_write_all(out, jpg, jlen)) {
        snprintf(why, cap, "cannot write the preview");
        goto fail;
    }
    rc = 0;
fail:
    free(jpg);
    pixDestroy(&rgb);
    pixDestroy(&turned);
    pixDestroy(&small);
    return rc;
}

/* A picture's preview. */
static int picture(const unsigned char *d, size_t len, uint64_t max_pixels, int out, char *why,
                   size_t cap)
{
    l_int32 w = 0, h = 0, bps, spp, cmap, fmt;
    PIX *pix = NULL;
    int red = 1, rc = -1;

    if (len > GUARD_FILE_PREVIEW_MAX_BYTES) {
        snprintf(why, cap, "picture too large for a preview");
        return -1;
    }
    if (pixReadHeaderMem(d, len, &fmt, &w, &h, &bps, &spp, &cmap) || w <= 0 || h <= 0) {
        snprintf(why, cap, "not a picture Leptonica reads");
        return -1;
    }
    if ((uint64_t)w * (uint64_t)h > max_pixels ||
        (uint64_t)w * (uint64_t)h > GUARD_FILE_PREVIEW_MAX_PIXELS) {
        snprintf(why, cap, "too many pixels for a preview");
        return -1;
    }
    if (fmt == IFF_JFIF_JPEG) {
        /* libjpeg scales by 1/2, 1/4, 1/8 while decoding: the largest
         * reduction that still leaves the preview's size */
        int longer = w > h ? w : h;

        while (red < 8 && longer / (red * 2) >= GUARD_FILE_PREVIEW_PX)
            red *= 2;
        pix = pixReadMemJpeg(d, len, 0, red, NULL, 0);
    } else {
        /* a TIFF decoded as stored, turned by encode like every format */
        unsigned char *un = ex_tiff_unoriented(d, len);

        pix = pixReadMem(un ? un : d, len);
        free(un);
    }
    if (!pix) {
        snprintf(why, cap, "the picture cannot be decoded");
        goto fail;
    }
    rc = encode(pix, GUARD_FILE_PREVIEW_PX, guard_file_image_orientation(d, len), w, h, out, why,
                cap);
fail:
    pixDestroy(&pix);
    return rc;
}

/* A PDF's first page: Poppler's PNG into a memfd of this process, read
 * back and re-encoded like a picture (no tag: upright as rendered). */
static int pdf(const unsigned char *d, size_t len, int out, char *why, size_t cap)
{
    int mfd = memfd_create("cordon-page", MFD_CLOEXEC), rc = -1;
    struct stat st;
    void *png = MAP_FAILED;
    PIX *pix = NULL;

    if (mfd < 0) {
        snprintf(why, cap, "memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ex_pdf_thumb(d, len, GUARD_FILE_THUMB_PX, mfd, why, cap))
        goto fail;
    if (fstat(mfd, &st) || st.st_size <= 0 ||
        (png = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0)) == MAP_FAILED ||
        !(pix = pixReadMemPng(png, (size_t)st.st_size))) {
        snprintf(why, cap, "the rendered page cannot be read");
        goto fail;
    }
    rc = encode(pix, GUARD_FILE_THUMB_PX, 1, pixGetWidth(pix), pixGetHeight(pix), out, why, cap);
fail:
    pixDestroy(&pix);
    if (png != MAP_FAILED)
        munmap(png, (size_t)st.st_size);
    close(mfd);
    return rc;
}

int ex_thumb(const unsigned char *data, size_t len, const char *mime, uint64_t max_pixels, int out,
             char *why, size_t why_cap)
{
    setMsgSeverity(L_SEVERITY_NONE); /* Leptonica's complaints about hostile input */
    if (!strcmp(mime, "application/pdf"))
        return pdf(data, len, out, why, why_cap);
    if (!strncmp(mime, "image/", 6))
        return picture(data, len, max_pixels, out, why, why_cap);
    snprintf(why, why_cap, "no preview for %s", mime);
    return -1;
}
