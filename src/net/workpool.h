/*
 * workpool.h - run slow work (password hashing, fsync) off the event loop.
 *
 * A fixed set of threads takes jobs from a queue; each job's work function
 * runs on one of them, then its done function runs back on the loop thread
 * (woken through an eventfd). Jobs must own everything work() touches: the
 * loop may drop the connection that asked for the job meanwhile, so done()
 * is where the result is matched to its connection by id (conn_find) and
 * thrown away if the connection is gone.
 */
#ifndef YUBIN_NET_WORKPOOL_H
#define YUBIN_NET_WORKPOOL_H

struct event_base;
struct workpool;

typedef void workpool_fn(void *arg);

struct workpool *workpool_new(struct event_base *base, unsigned threads);
/* Stops the threads; jobs still queued (and any their done functions
 * submit) are run to completion on the calling thread, so nothing leaks. */
void workpool_free(struct workpool **wp);

void workpool_submit(struct workpool *wp, workpool_fn *work, workpool_fn *done, void *arg);

/* Jobs queued or running, for shutdown decisions and logs. */
unsigned workpool_pending(const struct workpool *wp);

#endif
