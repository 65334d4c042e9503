/*
 * ex_core_proto.h — the wire protocol between the extraction worker and the
 * caller's process (private to the file layer; docs/FILES.md describes it).
 *
 * The worker writes frames to its stdout, a pipe to the parent. A frame is an
 * 8-byte header — type (1 byte), flags (1), zero (2), payload length (4,
 * little-endian) — and the payload. Every payload has a hard maximum per type,
 * checked by the parent before it reads the payload, so a hostile or broken
 * worker can neither make the parent allocate by a length it claims nor
 * overrun a buffer. Anything that does not parse is a crash of the worker.
 *
 *   M mime      the outer file's type by content (text, <= EXP_MIME_MAX)
 *   B begin     a text segment starts; payload: its location
 *   D data      text of the open segment (<= EXP_DATA_MAX per frame)
 *   E end       the open segment ends
 *   F finding   a finding that is not in text (see exp_finding layout)
 *   S stats     counters: u64 ocr_images
 *   X fail      strip, watermark, thumb and mark modes: why nothing was made
 *   Z done      the job finished; nothing follows
 *
 * Finding payload: category, severity, confidence, flags (EXP_F_*), then four
 * NUL-terminated strings: rule, location, explanation, excerpt.
 */
#ifndef EX_CORE_PROTO_H
#define EX_CORE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define EXP_HDR      8
#define EXP_MIME_MAX 128u
#define EXP_LOC_MAX  4096u                      /* a location, NUL excluded */
#define EXP_DATA_MAX (64u * 1024)               /* text bytes per D frame */
#define EXP_FIND_MAX (4u + EXP_LOC_MAX + 8192u) /* a whole F payload */
#define EXP_FAIL_MAX 512u
#define EXP_MAX      EXP_FIND_MAX /* largest payload of any frame */

enum {
    EXP_MIME = 'M',
    EXP_BEGIN = 'B',
    EXP_DATA = 'D',
    EXP_END = 'E',
    EXP_FIND = 'F',
    EXP_STATS = 'S',
    EXP_FAIL = 'X',
    EXP_DONE = 'Z',
};

/* Finding flags. */
#define EXP_F_WHOLE 1u /* nothing of the file at this location could be read */
#define EXP_F_ROOT  2u /* ... and that file is the outer one */

/* The mark mode's job, at the start of its input (fd 0), the picture after
 * it (the worker's OFFSET is EXP_MARK_HDR): "CWM1", the format (1 PNG, 0
 * JPEG), the JPEG quality, two zero bytes, then one byte per chip (1 for
 * +1, 0xff for -1; src/watermark/wm.h). The key is not in it. */
#define EXP_MARK_MAGIC "CWM1"
#define EXP_MARK_CHIPS 1024u
#define EXP_MARK_HDR   (8u + EXP_MARK_CHIPS)

/* Worker exit codes beyond 0 (see ex_worker.c). */
#define EXP_EXIT_USAGE  64 /* bad arguments: a bug of the parent */
#define EXP_EXIT_SETUP  65 /* the sandbox or libmagic could not be set up */
#define EXP_EXIT_NOMEM  66 /* out of memory under RLIMIT_AS */
#define EXP_EXIT_PARENT 67 /* the pipe to the parent broke */

static inline void exp_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t exp_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
