/*
 * addrlimit.h - per-address counters shared by all workers.
 *
 * Connection limits and failed-login delays must hold across worker
 * processes, so the counters live in one anonymous shared mapping created
 * by the supervisor before it forks. Addresses are hashed into a fixed
 * number of buckets: a collision can only make a limit stricter for the
 * two addresses involved, never looser, and the memory is fixed.
 *
 * Connection counts are kept per worker (one row each) so that when a
 * worker dies the supervisor can forget exactly its connections.
 */
#ifndef YUBIN_NET_ADDRLIMIT_H
#define YUBIN_NET_ADDRLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* Failures older than this are forgotten. */
#define ADDRLIMIT_FAIL_WINDOW 600

struct addrlimit;

/* Create the shared table for `workers` workers (call before fork). */
struct addrlimit *addrlimit_new(unsigned workers);
void addrlimit_free(struct addrlimit **al);

/* Zero one worker's connection counts (it died or was replaced). */
void addrlimit_reset_worker(struct addrlimit *al, unsigned worker);

/*
 * Count a new connection from sa for `worker`. False (and nothing
 * counted) if the address already has max_per_ip connections in total
 * (0 = no per-address limit) or the server has max_total.
 */
bool addrlimit_conn_acquire(struct addrlimit *al, unsigned worker, const struct sockaddr *sa,
			    unsigned max_per_ip, unsigned max_total);
void addrlimit_conn_release(struct addrlimit *al, unsigned worker, const struct sockaddr *sa);

/* Recent authentication failures from sa (within the window). */
unsigned addrlimit_fail_count(struct addrlimit *al, const struct sockaddr *sa, time_t now);
void addrlimit_fail_add(struct addrlimit *al, const struct sockaddr *sa, time_t now);
void addrlimit_fail_clear(struct addrlimit *al, const struct sockaddr *sa);

/*
 * A failed login from sa: counted, logged for fail2ban and operators
 * ("event=auth_failed service=S user=U remote=IP mech=M failures=N"), and
 * the seconds to wait before answering it: delay doubled for every recent
 * failure from the address, at most delay_max.
 */
uint64_t addrlimit_login_failed(struct addrlimit *al, const struct sockaddr *sa,
				const char *service, const char *user, const char *remote,
				const char *mech, uint64_t delay, uint64_t delay_max);

#endif
