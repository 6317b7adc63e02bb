/*
 * pop3_session.h - the POP3 server (RFC 1939, 2449, 5034, 2595, 6856).
 */
#ifndef YUBIN_POP3_POP3_SESSION_H
#define YUBIN_POP3_POP3_SESSION_H

#include <stdbool.h>
#include <sys/socket.h>

struct server_env;

/* Start a session on an accepted socket; implicit_tls for pop3s. */
void pop3_session_accept(struct server_env *env, int fd, const struct sockaddr *peer,
			 socklen_t peer_len, bool implicit_tls);

#endif
