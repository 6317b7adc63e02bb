/*
 * listener.h - the listening sockets, bound once by the supervisor.
 *
 * The supervisor binds every address named in listen.* (possibly ports
 * below 1024, as root) before starting workers; the workers inherit the
 * sockets and accept on them from their own event loops.
 */
#ifndef YUBIN_NET_LISTENER_H
#define YUBIN_NET_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

enum listener_service { SERVICE_POP3, SERVICE_POP3S, SERVICE_LMTP, SERVICE_IMAP, SERVICE_IMAPS };

struct listener {
	int fd;
	enum listener_service service;
	char *address; /* as configured, for logs */
};

struct listener_set {
	struct listener *items;
	size_t count;
};

/*
 * Bind every address of a comma-separated list (as validated by config:
 * "a.b.c.d:port", "[v6]:port", "*:port" (all addresses, IPv6 and IPv4),
 * or an absolute path for a unix socket) and add the sockets to set.
 * False with *err_r (heap) naming the address on failure.
 */
bool listener_bind_list(struct listener_set *set, const char *list,
			enum listener_service service, char **err_r);
void listener_set_close(struct listener_set *set);

const char *listener_service_name(enum listener_service service);

#endif
