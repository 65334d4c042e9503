/*
 * srv_chunked.c — incremental decoder of the chunked transfer coding
 * (srv_chunked.h). Hostile input: a byte-at-a-time state machine over the
 * framing, chunk data passed through in runs without a copy; every line
 * and the trailer section bounded; sizes bounded to 15 hex digits, so no
 * arithmetic on them can overflow.
 */
#include "srv_chunked.h"

void srv_chunked_init(srv_chunked *c)
{
    *c = (srv_chunked){.st = SRV_CHUNKED_SIZE};
}

static int hexval(unsigned char b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    if (b >= 'a' && b <= 'f')
        return b - 'a' + 10;
    if (b >= 'A' && b <= 'F')
        return b - 'A' + 10;
    return -1;
}

/* A byte that may stand in an extension or a trailer field's line: any
 * visible byte, space, tab or obs-text; never a control. */
static int line_byte(unsigned char b)
{
    return b == '\t' || (b >= 0x20 && b != 0x7f);
}

/* One framing byte b in state c->st. 0, or -1 when malformed. */
static int frame_byte(srv_chunked *c, unsigned char b)
{
    int h;

    switch (c->st) {
    case SRV_CHUNKED_SIZE:
        h = hexval(b);
        if (h >= 0) {
            if (++c->digits > 15)
                return -1;
            c->left = c->left * 16 + (uint64_t)h;
            break;
        }
        if (!c->digits)
            return -1;
        if (b == '\r')
            c->st = SRV_CHUNKED_SIZE_LF;
        else if (b == ';' || b == ' ' || b == '\t')
            c->st = SRV_CHUNKED_EXT;
        else
            return -1;
        break;
    case SRV_CHUNKED_EXT:
        if (b == '\r')
            c->st = SRV_CHUNKED_SIZE_LF;
        else if (!line_byte(b))
            return -1;
        break;
    case SRV_CHUNKED_SIZE_LF:
        if (b != '\n')
            return -1;
        c->line = 0;
        c->st = c->left ? SRV_CHUNKED_DATA : SRV_CHUNKED_TRAILER;
        return 0;
    case SRV_CHUNKED_DATA_CR:
        if (b != '\r')
            return -1;
        c->st = SRV_CHUNKED_DATA_LF;
        return 0;
    case SRV_CHUNKED_DATA_LF:
        if (b != '\n')
            return -1;
        c->st = SRV_CHUNKED_SIZE;
        c->left = 0;
        c->digits = 0;
        c->line = 0;
        return 0;
    case SRV_CHUNKED_TRAILER:
        if (b == '\r') {
            c->st = SRV_CHUNKED_TRAILER_LF;
            return 0;
        }
        if (!line_byte(b) || ++c->trailer > SRV_CHUNKED_TRAILER_MAX)
            return -1;
        break;
    case SRV_CHUNKED_TRAILER_LF:
        if (b != '\n')
            return -1;
        if (!c->line) {
            c->st = SRV_CHUNKED_DONE; /* the empty line: the end */
            return 0;
        }
        c->line = 0;
        c->st = SRV_CHUNKED_TRAILER;
        return 0;
    default:
        return -1;
    }
    /* a byte of a size line or a trailer field */
    return ++c->line > SRV_CHUNKED_LINE_MAX ? -1 : 0;
}

int srv_chunked_feed(srv_chunked *c, const void *in, size_t len, srv_chunked_data_fn data,
                     void *arg, size_t *used)
{
    const unsigned char *p = in;
    size_t i = 0;
    int rc = c->st == SRV_CHUNKED_BAD ? -1 : 0;

    while (i < len && c->st != SRV_CHUNKED_DONE && c->st != SRV_CHUNKED_BAD) {
        if (c->st == SRV_CHUNKED_DATA) {
            size_t n = len - i;

            if ((uint64_t)n > c->left)
                n = (size_t)c->left;
            rc = data(arg, p + i, n);
            if (rc)
                break;
            i += n;
            c->left -= n;
            c->decoded += n;
            if (!c->left)
                c->st = SRV_CHUNKED_DATA_CR;
            continue;
        }
        if (frame_byte(c, p[i])) {
            c->st = SRV_CHUNKED_BAD;
            rc = -1;
            break;
        }
        i++;
    }
    if (used)
        *used = i;
    return rc;
}
