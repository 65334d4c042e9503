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
/* Queues a commit and waits until its done ran (a worker that needs what
 * the commit wrote before it can go on: a watermark delivery's id). The
 * caller keeps the commit (it sets done and arg here: leave them unset) and
 * frees it after. A write takes the writer's group-commit time, a few
 * milliseconds; nothing the writer does waits for a worker, so this cannot
 * deadlock. */
void srv_writer_commit_wait(srv *s, chat_commit *c);
/* On the writer's thread while it publishes a group (a commit's done
 * runs then): when that group's commit started and ended (base_now_ns).
 * Both 0 on any other thread or outside a publish. For the stage metrics
 * of a message (srv_metrics.h). */
void srv_writer_group_times(uint64_t *started_ns, uint64_t *committed_ns);
/* Closes the queue, commits what is left, joins. */
void srv_writer_stop(srv *s);

#endif
