/*
 * srv_receipt.h — delivered receipts, coalesced on the loop (srv_receipt.c).
 */
#ifndef SRV_RECEIPT_H
#define SRV_RECEIPT_H

#include "srv_int.h"

srv_receipts *srv_receipts_new(srv *s);
void srv_receipts_free(srv_receipts *p);
/* Loop: message msg reached a socket of user in conv. */
void srv_receipts_note(srv_receipts *p, int64_t conv, int64_t user, int64_t msg);
/* Loop: hands everything pending to the writer (or, once the writer has
 * stopped, writes it with the loop's own store handle). */
void srv_receipts_flush(srv_receipts *p);
/* Loop: message msg of sender reached users[0..n) (the sender excluded);
 * the `receipt` frame to the sender goes at the next live_flush, merged
 * with others of the same conversation and recipients. */
void srv_receipts_live(srv_receipts *p, int64_t sender, int64_t conv, int64_t msg,
                       const int64_t *users, size_t n);
/* Loop, after each drain of completions: sends the held receipts. */
void srv_receipts_live_flush(srv_receipts *p);

#endif
