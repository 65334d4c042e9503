/*
 * srv_buf.h — reference-counted, immutable bytes for pushing to sockets.
 *
 * An event pushed to many connections (message.new to a 500-member group)
 * is serialised once into a srv_buf and shared: each connection's outbound
 * queue holds a reference, never a copy. The LWS_PRE bytes in front of the
 * payload are libwebsockets' scratch for the frame header; sharing them is
 * safe because every lws_write happens on the one event-loop thread.
 *
 * Reference counts are atomic: a buffer is built on a worker or the writer
 * thread and released on the loop.
 */
#ifndef SRV_BUF_H
#define SRV_BUF_H

#include <libwebsockets.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv_buf {
    atomic_int refs;
    size_t len;
    /* A sent message's frames (message.new, message.ack): when its commit
     * ended and, for the sender's answer, when its frame arrived
     * (base_now_ns; 0 = not a message's frame). The loop observes the
     * fan-out and answer stages when it writes the frame (srv_metrics.h). */
    uint64_t t_commit_ns, t_recv_ns;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then len bytes, then a NUL */
} srv_buf;

/* A buffer of len bytes (uninitialised payload, refs = 1), or NULL. */
srv_buf *srv_buf_new(size_t len);
/* A copy of s[0..len) (refs = 1), or NULL. */
srv_buf *srv_buf_from(const char *s, size_t len);
/* The payload (after the headroom). */
static inline unsigned char *srv_buf_payload(srv_buf *b)
{
    return b->data + LWS_PRE;
}
srv_buf *srv_buf_ref(srv_buf *b);
/* Drops a reference; frees at zero. NULL is allowed. */
void srv_buf_unref(srv_buf *b);

#endif
