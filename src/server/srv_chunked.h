/*
 * srv_chunked.h — the chunked transfer coding of an HTTP/1.1 request body
 * (RFC 9112 section 7.1), decoded incrementally without I/O: pure,
 * unit-tested (tests/server/unit/test_srv_chunked.c) and fuzzed
 * (fuzz/fuzz_chunked.c).
 *
 * Why here: libwebsockets 4.1 reads a PATCH or POST without a
 * Content-Length as up to 100 MiB of raw body and hands it over framing
 * included, so a tus chunk sent "Transfer-Encoding: chunked" is decoded
 * by the upload stream itself (srv_upload.c), piece by piece as it
 * arrives, in constant memory.
 *
 * Strict, as a server that is no proxy can afford to be: CRLF only (a
 * bare LF is malformed), hexadecimal sizes of at most 15 digits, chunk
 * extensions skipped, every line (size + extensions, each trailer field)
 * at most SRV_CHUNKED_LINE_MAX bytes and the trailer section at most
 * SRV_CHUNKED_TRAILER_MAX bytes. Trailer fields are read and dropped.
 */
#ifndef SRV_CHUNKED_H
#define SRV_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#define SRV_CHUNKED_LINE_MAX    4096 /* a size line with extensions, a trailer field */
#define SRV_CHUNKED_TRAILER_MAX 8192 /* the whole trailer section */

typedef enum srv_chunked_state {
    SRV_CHUNKED_SIZE,    /* hex digits of a chunk's size */
    SRV_CHUNKED_EXT,     /* after the size: extensions up to CR */
    SRV_CHUNKED_SIZE_LF, /* CR seen after the size line */
    SRV_CHUNKED_DATA,    /* the chunk's bytes */
    SRV_CHUNKED_DATA_CR, /* CRLF after the chunk's bytes */
    SRV_CHUNKED_DATA_LF,
    SRV_CHUNKED_TRAILER,    /* a trailer field line, or the final empty line */
    SRV_CHUNKED_TRAILER_LF, /* CR seen in the trailer section */
    SRV_CHUNKED_DONE,       /* the body ended; nothing more is read */
    SRV_CHUNKED_BAD,        /* malformed; nothing more is read */
} srv_chunked_state;

typedef struct srv_chunked {
    srv_chunked_state st;
    uint64_t left;    /* the current chunk's bytes still to come; its size while SIZE */
    int digits;       /* hex digits of the size read */
    size_t line;      /* bytes of the current line (size + extensions, or trailer field) */
    size_t trailer;   /* bytes of the trailer section so far */
    uint64_t decoded; /* body bytes handed over */
} srv_chunked;

/* Called with each run of body bytes, in order. Returns 0 to go on, any
 * other value to stop (srv_chunked_feed then returns it). */
typedef int (*srv_chunked_data_fn)(void *arg, const unsigned char *p, size_t n);

void srv_chunked_init(srv_chunked *c);

/* Decodes in[0..len) (any split of the body is fine: a size, a CRLF, a
 * chunk may end anywhere). The body bytes go to data(arg, ...). Returns 0
 * when every byte was taken, or the body ended inside it (*used, may be
 * NULL, says how many: the rest belongs to no body); -1 when the framing
 * is malformed (the state becomes SRV_CHUNKED_BAD and stays); or data's
 * own non-zero answer. After DONE or BAD, nothing more is read
 * (*used = 0). */
int srv_chunked_feed(srv_chunked *c, const void *in, size_t len, srv_chunked_data_fn data,
                     void *arg, size_t *used);

/* The last chunk and the trailer section were read: the body is whole. */
static inline int srv_chunked_done(const srv_chunked *c)
{
    return c->st == SRV_CHUNKED_DONE;
}

#endif
