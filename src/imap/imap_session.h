/*
 * imap_session.h - the IMAP server (RFC 9051 IMAP4rev2, RFC 3501
 * IMAP4rev1): accepting a connection.
 */
#ifndef YUBIN_IMAP_IMAP_SESSION_H
#define YUBIN_IMAP_IMAP_SESSION_H

#include <stdbool.h>
#include <sys/socket.h>

struct server_env;

void imap_session_accept(struct server_env *env, int fd, const struct sockaddr *peer,
			 socklen_t peer_len, bool implicit_tls);

#endif
