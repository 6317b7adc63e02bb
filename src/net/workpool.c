/*
 * workpool.c - thread pool with completion on the event loop; see
 * workpool.h.
 *
 * Two queues protected by one mutex: todo (loop -> threads, signalled with
 * a condition variable) and done (threads -> loop, signalled with an
 * eventfd that the loop watches). Jobs are few and slow, so one lock is
 * plenty.
 */
#include "net/workpool.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct workpool_job {
	struct workpool_job *next;
	workpool_fn *work, *done;
	void *arg;
};

struct workpool_queue {
	struct workpool_job *head, *tail;
};

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct workpool_queue todo, done;
	bool stopping;
	unsigned pending;
	int efd;
	struct event *ev;
	unsigned nthreads;
	pthread_t *threads;
};

static void workpool_push(struct workpool_queue *q, struct workpool_job *job)
{
	job->next = NULL;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
}

static struct workpool_job *workpool_pop(struct workpool_queue *q)
{
	struct workpool_job *job = q->head;
	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return job;
}

static void *workpool_thread(void *arg)
{
	struct workpool *wp = arg;
	pthread_mutex_lock(&wp->lock);
	for (;;) {
		struct workpool_job *job = workpool_pop(&wp->todo);
		if (job == NULL) {
			if (wp->stopping)
				break;
			pthread_cond_wait(&wp->wake, &wp->lock);
			continue;
		}
		pthread_mutex_unlock(&wp->lock);
		job->work(job->arg);
		pthread_mutex_lock(&wp->lock);
		workpool_push(&wp->done, job);
		uint64_t one = 1;
		ssize_t ignored = write(wp->efd, &one, sizeof(one));
		(void)ignored; /* the counter cannot overflow in practice */
	}
	pthread_mutex_unlock(&wp->lock);
	return NULL;
}

/* On the loop: run the done functions of finished jobs. */
static void workpool_drain(struct workpool *wp)
{
	pthread_mutex_lock(&wp->lock);
	struct workpool_queue done = wp->done;
	wp->done.head = wp->done.tail = NULL;
	pthread_mutex_unlock(&wp->lock);
	struct workpool_job *job;
	while ((job = workpool_pop(&done)) != NULL) {
		job->done(job->arg);
		free(job);
		wp->pending--;
	}
}

static void workpool_on_event(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	ssize_t ignored = read(fd, &n, sizeof(n));
	(void)ignored;
	workpool_drain(arg);
}

struct workpool *workpool_new(struct event_base *base, unsigned threads)
{
	struct workpool *wp = xmalloc(sizeof(*wp));
	pthread_mutex_init(&wp->lock, NULL);
	pthread_cond_init(&wp->wake, NULL);
	wp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wp->efd < 0) {
		log_error("event=fatal what=eventfd error=\"%s\"", strerror(errno));
		abort();
	}
	wp->ev = event_new(base, wp->efd, EV_READ | EV_PERSIST, workpool_on_event, wp);
	event_add(wp->ev, NULL);
	wp->nthreads = threads;
	wp->threads = xcalloc(threads, sizeof(pthread_t));
	/* Threads need little stack: hashing state lives on the heap. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&wp->threads[i], &attr, workpool_thread, wp) != 0) {
			log_error("event=fatal what=pthread_create");
			abort();
		}
	}
	pthread_attr_destroy(&attr);
	return wp;
}

void workpool_free(struct workpool **wpp)
{
	struct workpool *wp = *wpp;
	if (wp == NULL)
		return;
	pthread_mutex_lock(&wp->lock);
	wp->stopping = true;
	pthread_cond_broadcast(&wp->wake);
	pthread_mutex_unlock(&wp->lock);
	for (unsigned i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	/* Finish what is left on this thread; a done function may even
	 * submit a follow-up job, which runs here too. */
	for (;;) {
		struct workpool_job *job = workpool_pop(&wp->todo);
		if (job != NULL) {
			job->work(job->arg);
			workpool_push(&wp->done, job);
			continue;
		}
		if (wp->done.head == NULL)
			break;
		workpool_drain(wp);
	}
	event_free(wp->ev);
	close(wp->efd);
	pthread_cond_destroy(&wp->wake);
	pthread_mutex_destroy(&wp->lock);
	free(wp->threads);
	xfree(*wpp);
}

void workpool_submit(struct workpool *wp, workpool_fn *work, workpool_fn *done, void *arg)
{
	struct workpool_job *job = xmalloc(sizeof(*job));
	job->work = work;
	job->done = done;
	job->arg = arg;
	wp->pending++;
	pthread_mutex_lock(&wp->lock);
	workpool_push(&wp->todo, job);
	pthread_cond_signal(&wp->wake);
	pthread_mutex_unlock(&wp->lock);
}

unsigned workpool_pending(const struct workpool *wp)
{
	return wp->pending;
}
