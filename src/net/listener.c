/*
 * listener.c - binding listen sockets; see listener.h.
 */
#include "net/listener.h"

#include "lib/mem.h"
#include "lib/strlist.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTENER_BACKLOG 1024

static void listener_add(struct listener_set *set, int fd, enum listener_service service,
			 const char *address)
{
	set->items = xrealloc(set->items, (set->count + 1) * sizeof(*set->items));
	set->items[set->count].fd = fd;
	set->items[set->count].service = service;
	set->items[set->count].address = xstrdup(address);
	set->count++;
}

static int listener_bind_unix(const char *path, char **err_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*err_r = xasprintf("listen %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err_r = xasprintf("listen %s: socket: %s", path, strerror(errno));
		return -1;
	}
	/* A socket file left by a previous run would make bind fail. */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, LISTENER_BACKLOG) != 0) {
		*err_r = xasprintf("listen %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Local MTAs connect as their own user; access is controlled by the
	 * directory the operator puts the socket in. */
	chmod(path, 0666);
	return fd;
}

static int listener_bind_inet(const char *host, const char *port, const char *item,
			      char **err_r)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		*err_r = xasprintf("listen %s: %s", item, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err_r = xasprintf("listen %s: socket: %s", item, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) /* "[::]" also serves IPv4 */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTENER_BACKLOG) != 0) {
		*err_r = xasprintf("listen %s: %s", item, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int listener_bind_item(const char *item, char **err_r)
{
	if (item[0] == '/')
		return listener_bind_unix(item, err_r);
	char *copy = xstrdup(item);
	char *colon = strrchr(copy, ':');
	*colon = '\0';
	char *host = copy, *port = colon + 1;
	if (host[0] == '[') {
		host++;
		host[strlen(host) - 1] = '\0';
	}
	int fd;
	if (strcmp(host, "*") == 0) {
		/* all addresses: dual-stack IPv6, or IPv4 where IPv6 is off */
		fd = listener_bind_inet("::", port, item, err_r);
		if (fd < 0) {
			free(*err_r);
			*err_r = NULL;
			fd = listener_bind_inet("0.0.0.0", port, item, err_r);
		}
	} else {
		fd = listener_bind_inet(host, port, item, err_r);
	}
	free(copy);
	return fd;
}

bool listener_bind_list(struct listener_set *set, const char *list,
			enum listener_service service, char **err_r)
{
	const char *p = list, *start;
	size_t n;
	while (strlist_next(&p, ", ", &start, &n)) {
		char *item = xstrndup(start, n);
		int fd = listener_bind_item(item, err_r);
		if (fd >= 0)
			listener_add(set, fd, service, item);
		free(item);
		if (fd < 0)
			return false;
	}
	return true;
}

void listener_set_close(struct listener_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		close(set->items[i].fd);
		free(set->items[i].address);
	}
	xfree(set->items);
	set->count = 0;
}

const char *listener_service_name(enum listener_service service)
{
	switch (service) {
	case SERVICE_POP3:
		return "pop3";
	case SERVICE_POP3S:
		return "pop3s";
	case SERVICE_LMTP:
		return "lmtp";
	case SERVICE_IMAP:
		return "imap";
	case SERVICE_IMAPS:
		return "imaps";
	}
	return "?";
}
