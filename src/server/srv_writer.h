/*
 * srv_writer.h — the writer thread: the chat domain's commits (srv_writer.c).
 */
#ifndef SRV_WRITER_H
#define SRV_WRITER_H

#include "srv_int.h"

int srv_writer_start(srv *s);
/* Queues a commit (any thread). Once the writer has stopped, commits it at
 * once with the loop's store handle (shutdown). */
void srv_writer_submit(srv *s, chat_commit *c);
/* Closes the queue, commits what is left, joins. */
void srv_writer_stop(srv *s);

#endif
