/*
 * worker.h - one worker process: an event loop serving connections.
 *
 * A worker inherits the listening sockets, switches to the mail user (when
 * started as root), and runs until SIGTERM/SIGINT, then stops accepting,
 * lets sessions that are idle close, gives busy ones a few seconds, and
 * exits. SIGUSR1 (after a reload) retires it: it stops accepting and exits
 * once its last session has ended on its own. Workers share nothing in
 * memory except the addrlimit counters.
 */
#ifndef YUBIN_DAEMON_WORKER_H
#define YUBIN_DAEMON_WORKER_H

#include "daemon/config.h"

#include <stdbool.h>
#include <sys/types.h>

struct listener_set;
struct addrlimit;
struct tls_server;

struct worker_params {
	const struct config *cfg;
	const struct listener_set *listeners;
	struct addrlimit *limits;
	struct tls_server *tls; /* NULL without TLS */
	unsigned index; /* for logs and this worker's addrlimit row */
	bool drop_privileges;
	uid_t uid;
	gid_t gid;
	pid_t supervisor; /* the parent, to notice if it died before we looked */
};

/* Runs in the child after fork(); returns the process exit status. */
int worker_main(const struct worker_params *p);

#endif
