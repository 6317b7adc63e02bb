/*
 * supervisor.c - the parent process of `yubin serve`.
 *
 * It does what needs privileges and nothing else: read the TLS key, bind
 * the listen sockets, create the shared counters, fork the workers, and
 * then only waits for signals. A worker that dies is replaced (its
 * connection counts are forgotten first); workers that keep dying at
 * start-up stop the server with an error instead of looping. SIGHUP
 * re-reads the configuration and starts a new generation of workers; the
 * old ones retire (no new connections, exit when their sessions end), so a
 * reload interrupts nobody. SIGTERM/SIGINT stop everything gracefully.
 */
#include "daemon/supervisor.h"

#include "cli/cli.h"
#include "daemon/privdrop.h"
#include "daemon/worker.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/addrlimit.h"
#include "net/listener.h"
#include "net/tls.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* A worker that exits sooner than this after starting died "quickly". */
#define SUPERVISOR_QUICK_DEATH 2
#define SUPERVISOR_MAX_QUICK_DEATHS 5
/* How long workers get to finish before they are killed at shutdown. */
#define SUPERVISOR_STOP_TIMEOUT 10

struct supervisor_worker {
	pid_t pid;
	time_t started;
};

struct supervisor {
	struct cli_context *ctx;
	struct config *cfg; /* current configuration (reloaded on SIGHUP) */
	struct listener_set listeners;
	struct tls_server *tls;
	struct addrlimit *limits;
	struct supervisor_worker *workers;
	unsigned nworkers;
	unsigned generation;
	pid_t *retired; /* workers of older generations, still finishing */
	size_t nretired;
	unsigned quick_deaths;
	bool drop;
	uid_t uid;
	gid_t gid;
	sigset_t sigs;
};

static void supervisor_raise_fd_limit(void)
{
	/* Every connection is a descriptor: use what the system allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static pid_t supervisor_spawn(struct supervisor *sv, unsigned index)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		log_error("event=fork_failed error=\"%s\"", strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	sigprocmask(SIG_UNBLOCK, &sv->sigs, NULL);
	struct worker_params p = {
		.cfg = sv->cfg,
		.listeners = &sv->listeners,
		.limits = sv->limits,
		.tls = sv->tls,
		.index = index,
		.drop_privileges = sv->drop,
		.uid = sv->uid,
		.gid = sv->gid,
		.supervisor = parent,
	};
	/* exit(), not _exit(): LeakSanitizer checks the worker at exit */
	exit(worker_main(&p));
}

/* Generations alternate between two sets of addrlimit rows, so that a
 * new worker does not share counters with the one it replaced while that
 * one is still retiring. */
static unsigned supervisor_row(const struct supervisor *sv, unsigned i)
{
	return (sv->generation % 2) * sv->nworkers + i;
}

static void supervisor_start_worker(struct supervisor *sv, unsigned i)
{
	unsigned row = supervisor_row(sv, i);
	addrlimit_reset_worker(sv->limits, row);
	sv->workers[i].pid = supervisor_spawn(sv, row);
	sv->workers[i].started = time(NULL);
}

static bool supervisor_forget_retired(struct supervisor *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->nretired; i++) {
		if (sv->retired[i] == pid) {
			sv->retired[i] = sv->retired[--sv->nretired];
			log_debug("event=worker_retired pid=%ld", (long)pid);
			return true;
		}
	}
	return false;
}

/* Reap dead children; replace workers unless we are stopping. */
static bool supervisor_reap(struct supervisor *sv, bool stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (supervisor_forget_retired(sv, pid))
			continue;
		for (unsigned i = 0; i < sv->nworkers; i++) {
			if (sv->workers[i].pid != pid)
				continue;
			sv->workers[i].pid = 0;
			if (stopping)
				break;
			bool quick = time(NULL) - sv->workers[i].started < SUPERVISOR_QUICK_DEATH;
			log_warn("event=worker_died worker=%u pid=%ld status=%d signal=%d", i,
				 (long)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
			sv->quick_deaths = quick ? sv->quick_deaths + 1 : 0;
			if (sv->quick_deaths >= SUPERVISOR_MAX_QUICK_DEATHS) {
				log_error("event=fatal reason=\"workers keep dying at start-up\"");
				return false;
			}
			supervisor_start_worker(sv, i);
		}
	}
	return true;
}

static unsigned supervisor_alive(const struct supervisor *sv)
{
	unsigned n = (unsigned)sv->nretired;
	for (unsigned i = 0; i < sv->nworkers; i++)
		n += sv->workers[i].pid > 0;
	return n;
}

static void supervisor_signal_all(struct supervisor *sv, int sig)
{
	for (unsigned i = 0; i < sv->nworkers; i++)
		if (sv->workers[i].pid > 0)
			kill(sv->workers[i].pid, sig);
	for (size_t i = 0; i < sv->nretired; i++)
		kill(sv->retired[i], sig);
}

static void supervisor_stop_workers(struct supervisor *sv)
{
	supervisor_signal_all(sv, SIGTERM);
	time_t deadline = time(NULL) + SUPERVISOR_STOP_TIMEOUT;
	while (supervisor_alive(sv) > 0) {
		supervisor_reap(sv, true);
		if (time(NULL) >= deadline)
			supervisor_signal_all(sv, SIGKILL);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static bool supervisor_bind(struct supervisor *sv, char **err_r)
{
	const struct config *cfg = sv->cfg;
	return listener_bind_list(&sv->listeners, cfg->listen_pop3, SERVICE_POP3, err_r) &&
	       listener_bind_list(&sv->listeners, cfg->listen_pop3s, SERVICE_POP3S, err_r) &&
	       listener_bind_list(&sv->listeners, cfg->listen_lmtp, SERVICE_LMTP, err_r) &&
	       listener_bind_list(&sv->listeners, cfg->listen_imap, SERVICE_IMAP, err_r) &&
	       listener_bind_list(&sv->listeners, cfg->listen_imaps, SERVICE_IMAPS, err_r);
}

static int supervisor_setup(struct supervisor *sv)
{
	const struct config *cfg = sv->cfg;
	char *err = NULL;
	if (cfg->tls_cert[0] != '\0' && (sv->tls = tls_server_new(cfg, &err)) == NULL)
		goto config_error;
	if (geteuid() == 0) {
		sv->drop = true;
		if (!privdrop_lookup(cfg->user, &sv->uid, &sv->gid, &err))
			goto config_error;
	} else {
		sv->uid = geteuid();
		sv->gid = getegid();
	}
	if (!privdrop_ensure_dir(cfg->data_dir, sv->uid, sv->gid, &err))
		goto config_error;
	supervisor_raise_fd_limit();
	if (!supervisor_bind(sv, &err)) {
		fprintf(stderr, "yubin: %s\n", err);
		free(err);
		return EX_OSERR;
	}
	return 0;
config_error:
	fprintf(stderr, "yubin: %s\n", err);
	free(err);
	return EX_CONFIG;
}

static void supervisor_log_ready(struct supervisor *sv)
{
	for (size_t i = 0; i < sv->listeners.count; i++)
		log_info("event=listening service=%s address=%s",
			 listener_service_name(sv->listeners.items[i].service),
			 sv->listeners.items[i].address);
	log_info("event=ready workers=%u user=%s data_dir=%s", sv->nworkers,
		 sv->drop ? sv->cfg->user : "(not root)", sv->cfg->data_dir);
}

/* SIGHUP: take a fresh configuration; listeners and the worker count stay
 * as they are (they need a restart), everything else applies to the new
 * workers that replace the old ones. */
static void supervisor_reload(struct supervisor *sv)
{
	struct cli_context fresh;
	int rc = cli_context_reload(sv->ctx, &fresh);
	if (rc != 0) {
		log_error("event=reload_failed reason=\"configuration error, keeping the old one\"");
		return;
	}
	log_info("event=reload");
	/* The old generation retires; its sessions keep their (old) config. */
	for (unsigned i = 0; i < sv->nworkers; i++) {
		if (sv->workers[i].pid <= 0)
			continue;
		kill(sv->workers[i].pid, SIGUSR1);
		sv->retired = xrealloc(sv->retired, (sv->nretired + 1) * sizeof(pid_t));
		sv->retired[sv->nretired++] = sv->workers[i].pid;
		sv->workers[i].pid = 0;
	}
	sv->generation++;
	config_deinit(&sv->ctx->cfg);
	sv->ctx->cfg = fresh.cfg;
	sv->cfg = &sv->ctx->cfg;
	char *err = NULL;
	if (sv->cfg->tls_cert[0] != '\0') {
		struct tls_server *tls = tls_server_new(sv->cfg, &err);
		if (tls == NULL) {
			log_error("event=reload_tls_failed error=\"%s\"", err);
			free(err);
		} else {
			tls_server_free(&sv->tls);
			sv->tls = tls;
		}
	}
	log_set_level((enum log_level)sv->cfg->log_level);
	for (unsigned i = 0; i < sv->nworkers; i++)
		supervisor_start_worker(sv, i);
}

static int supervisor_loop(struct supervisor *sv)
{
	int sfd = signalfd(-1, &sv->sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("event=fatal what=signalfd error=\"%s\"", strerror(errno));
		return EX_OSERR;
	}
	int rc = 0;
	for (;;) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD) {
			if (!supervisor_reap(sv, false)) {
				rc = EX_SOFTWARE;
				break;
			}
		} else if (si.ssi_signo == SIGHUP) {
			supervisor_reload(sv);
		} else {
			log_info("event=stopping signal=%u", si.ssi_signo);
			break;
		}
	}
	close(sfd);
	return rc;
}

int supervisor_main(struct cli_context *ctx)
{
	struct supervisor sv;
	memset(&sv, 0, sizeof(sv));
	sv.ctx = ctx;
	sv.cfg = &ctx->cfg;
	log_set_role("supervisor");
	int rc = supervisor_setup(&sv);
	if (rc != 0) {
		listener_set_close(&sv.listeners);
		tls_server_free(&sv.tls);
		return rc;
	}
	sv.nworkers = config_worker_count(sv.cfg);
	sv.workers = xcalloc(sv.nworkers, sizeof(*sv.workers));
	sv.limits = addrlimit_new(2 * sv.nworkers); /* two generations, see supervisor_row */
	sigemptyset(&sv.sigs);
	sigaddset(&sv.sigs, SIGCHLD);
	sigaddset(&sv.sigs, SIGTERM);
	sigaddset(&sv.sigs, SIGINT);
	sigaddset(&sv.sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sv.sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < sv.nworkers; i++)
		supervisor_start_worker(&sv, i);
	supervisor_log_ready(&sv);
	rc = supervisor_loop(&sv);
	supervisor_stop_workers(&sv);
	log_info("event=stopped");
	listener_set_close(&sv.listeners);
	tls_server_free(&sv.tls);
	addrlimit_free(&sv.limits);
	free(sv.workers);
	free(sv.retired);
	return rc;
}
