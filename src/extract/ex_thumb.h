/*
 * ex_thumb.h — the worker's thumb mode (ex_thumb.c): a file's preview made
 * in the sandbox, never in the caller's process.
 */
#ifndef CORDON_EX_THUMB_H
#define CORDON_EX_THUMB_H

#include <stddef.h>
#include <stdint.h>

/* Writes the preview of `data` (`mime` as ex_detect says) to fd `out`: the
 * header "CTH1" + width + height (uint32 LE, the picture upright) + a JPEG
 * of at most GUARD_FILE_PREVIEW_PX (a picture, turned by its EXIF
 * Orientation) or GUARD_FILE_THUMB_PX (a PDF's first page) on its longer
 * side. Pictures over `max_pixels` or the preview limits get none. Returns
 * 0, or -1 with the reason in `why` (not a picture or PDF, too large,
 * cannot be decoded). */
int ex_thumb(const unsigned char *data, size_t len, const char *mime, uint64_t max_pixels, int out,
             char *why, size_t why_cap);

#endif
