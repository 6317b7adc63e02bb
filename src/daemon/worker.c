/*
 * worker.c - a worker process's life: drop privileges, build the loop and
 * the per-worker services, accept connections, shut down gracefully.
 */
#include "daemon/worker.h"

#include "auth/auth.h"
#include "daemon/privdrop.h"
#include "daemon/server_env.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "imap/imap_session.h"
#include "lmtp/lmtp_session.h"
#include "net/addrlimit.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/workpool.h"
#include "pop3/pop3_session.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* How long busy sessions get to finish at shutdown. */
#define WORKER_SHUTDOWN_GRACE 5

struct worker_listener {
	struct worker *w;
	struct evconnlistener *evl;
	struct event *retry; /* re-enable after running out of descriptors */
	enum listener_service service;
};

struct worker {
	struct event_base *base;
	struct server_env env;
	struct worker_listener *listeners;
	size_t nlisteners;
	struct event *sigterm, *sigint, *sigusr1, *check;
	bool stopping;
	bool retiring; /* replaced after a reload: finish sessions, take no new ones */
	time_t stop_deadline;
	char **folders;
};

static void worker_on_accept(struct evconnlistener *evl, evutil_socket_t fd,
			     struct sockaddr *sa, int len, void *arg)
{
	struct worker_listener *wl = arg;
	struct server_env *env = &wl->w->env;
	switch (wl->service) {
	case SERVICE_POP3:
		pop3_session_accept(env, fd, sa, (socklen_t)len, false);
		break;
	case SERVICE_POP3S:
		pop3_session_accept(env, fd, sa, (socklen_t)len, true);
		break;
	case SERVICE_LMTP:
		lmtp_session_accept(env, fd, sa, (socklen_t)len);
		break;
	case SERVICE_IMAP:
		imap_session_accept(env, fd, sa, (socklen_t)len, false);
		break;
	case SERVICE_IMAPS:
		imap_session_accept(env, fd, sa, (socklen_t)len, true);
		break;
	}
}

static void worker_retry_accept(evutil_socket_t fd, short what, void *arg)
{
	struct worker_listener *wl = arg;
	if (!wl->w->stopping)
		evconnlistener_enable(wl->evl);
}

static void worker_on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct worker_listener *wl = arg;
	int err = EVUTIL_SOCKET_ERROR();
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors: accepting again at once would spin. */
		log_warn("event=accept_paused service=%s error=\"%s\"",
			 listener_service_name(wl->service), strerror(err));
		evconnlistener_disable(evl);
		struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
		evtimer_add(wl->retry, &tv);
	}
}

static void worker_check_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	/* Stopping: sessions that finished what they were doing can go now.
	 * Retiring: sessions end when their clients are done. */
	if (w->stopping)
		conn_loop_close_idle(w->env.loop);
	bool idle = conn_loop_count(w->env.loop) == 0 && workpool_pending(w->env.pool) == 0;
	if (idle || (w->stopping && time(NULL) >= w->stop_deadline))
		event_base_loopexit(w->base, NULL);
}

static void worker_stop_accepting(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++) {
		evconnlistener_disable(w->listeners[i].evl);
		evtimer_del(w->listeners[i].retry);
	}
	if (w->check == NULL) {
		w->check = event_new(w->base, -1, EV_PERSIST, worker_check_done, w);
		struct timeval tv = {.tv_sec = 0, .tv_usec = 100 * 1000};
		event_add(w->check, &tv);
	}
}

/* SIGUSR1 after a reload: new workers took over the listeners; this one
 * serves its open sessions to their natural end, then exits. */
static void worker_on_retire(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	if (w->stopping || w->retiring)
		return;
	w->retiring = true;
	log_debug("event=retiring connections=%u", conn_loop_count(w->env.loop));
	worker_stop_accepting(w);
}

static void worker_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	if (w->stopping)
		return;
	w->stopping = true;
	log_debug("event=stopping connections=%u", conn_loop_count(w->env.loop));
	w->stop_deadline = time(NULL) + WORKER_SHUTDOWN_GRACE;
	worker_stop_accepting(w);
	conn_loop_close_idle(w->env.loop);
}

/* pop3.folders "INBOX, Junk" -> {"INBOX", "Junk"} */
static char **worker_split_folders(const char *list, size_t *n_r)
{
	char *copy = xstrdup(list);
	char **out = xcalloc(strlen(list) / 2 + 2, sizeof(char *));
	size_t n = 0;
	for (char *save = NULL, *f = strtok_r(copy, ",", &save); f != NULL;
	     f = strtok_r(NULL, ",", &save)) {
		while (*f == ' ')
			f++;
		size_t len = strlen(f);
		while (len > 0 && f[len - 1] == ' ')
			f[--len] = '\0';
		if (len > 0)
			out[n++] = xstrdup(f);
	}
	free(copy);
	*n_r = n;
	return out;
}

static void worker_setup_env(struct worker *w, const struct worker_params *p)
{
	const struct config *cfg = p->cfg;
	struct server_env *env = &w->env;
	env->cfg = cfg;
	env->pool = workpool_new(w->base, cfg->auth_hash_threads);
	env->loop = conn_loop_new(w->base, p->tls);
	env->auth = auth_service_new(cfg, env->pool);
	env->limits = p->limits;
	env->worker = p->index;
	env->store.data_dir = cfg->data_dir;
	env->store.mail_location = cfg->mail_location;
	env->store.hostname = cfg->hostname;
	env->store.fsync = cfg->mail_fsync;
	w->folders = worker_split_folders(cfg->pop3_folders, &env->pop3_nfolders);
	env->pop3_folders = (const char *const *)w->folders;
}

static void worker_setup_listeners(struct worker *w, const struct listener_set *set)
{
	w->listeners = xcalloc(set->count ? set->count : 1, sizeof(*w->listeners));
	for (size_t i = 0; i < set->count; i++) {
		struct worker_listener *wl = &w->listeners[w->nlisteners++];
		wl->w = w;
		wl->service = set->items[i].service;
		/* backlog -1: the supervisor already called listen() */
		wl->evl = evconnlistener_new(w->base, worker_on_accept, wl, 0, -1,
					     set->items[i].fd);
		evconnlistener_set_error_cb(wl->evl, worker_on_accept_error);
		wl->retry = evtimer_new(w->base, worker_retry_accept, wl);
	}
}

static void worker_teardown(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++) {
		evconnlistener_free(w->listeners[i].evl);
		event_free(w->listeners[i].retry);
	}
	free(w->listeners);
	/* Pool first: finished jobs look their connections up in the loop. */
	workpool_free(&w->env.pool);
	conn_loop_free(&w->env.loop);
	auth_service_free(&w->env.auth);
	for (size_t i = 0; i < w->env.pop3_nfolders; i++)
		free(w->folders[i]);
	free(w->folders);
	if (w->check != NULL)
		event_free(w->check);
	event_free(w->sigterm);
	event_free(w->sigint);
	event_free(w->sigusr1);
	event_base_free(w->base);
}

int worker_main(const struct worker_params *p)
{
	char role[32];
	snprintf(role, sizeof(role), "worker=%u", p->index);
	log_set_role(role);
	if (p->drop_privileges) {
		char *err = NULL;
		if (!privdrop_switch(p->uid, p->gid, &err)) {
			log_error("event=fatal what=privdrop error=\"%s\"", err);
			free(err);
			return 1;
		}
	}
	/* Die with the supervisor rather than serve on unsupervised. After
	 * the privilege drop: changing credentials clears the parent-death
	 * signal (prctl(2)). Then check the parent is still the one that
	 * forked us: it may have died before the signal was armed (and a
	 * subreaper, not init, may have adopted us). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != p->supervisor)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	struct worker w;
	memset(&w, 0, sizeof(w));
	w.base = event_base_new();
	if (w.base == NULL) {
		log_error("event=fatal what=event_base_new");
		return 1;
	}
	worker_setup_env(&w, p);
	worker_setup_listeners(&w, p->listeners);
	w.sigterm = evsignal_new(w.base, SIGTERM, worker_on_signal, &w);
	w.sigint = evsignal_new(w.base, SIGINT, worker_on_signal, &w);
	w.sigusr1 = evsignal_new(w.base, SIGUSR1, worker_on_retire, &w);
	event_add(w.sigterm, NULL);
	event_add(w.sigint, NULL);
	event_add(w.sigusr1, NULL);
	log_debug("event=worker_started pid=%ld", (long)getpid());
	event_base_dispatch(w.base);
	worker_teardown(&w);
	return 0;
}
