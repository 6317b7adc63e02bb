/*
 * server_env.h - what a protocol session needs from its worker.
 *
 * One instance per worker process, built by worker.c and shared by every
 * session of every protocol on that worker. Plain pointers and values,
 * nothing owned here: the worker creates and frees them.
 */
#ifndef YUBIN_DAEMON_SERVER_ENV_H
#define YUBIN_DAEMON_SERVER_ENV_H

#include "daemon/config.h"
#include "store/store.h"

#include <stddef.h>

struct conn_loop;
struct workpool;
struct auth_service;
struct addrlimit;

struct server_env {
	const struct config *cfg;
	struct conn_loop *loop;
	struct workpool *pool;
	struct auth_service *auth;
	struct addrlimit *limits;
	unsigned worker;                    /* index of this worker */
	struct store_settings store;
	const char *const *pop3_folders;    /* parsed pop3.folders */
	size_t pop3_nfolders;
};

#endif
