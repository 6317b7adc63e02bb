/*
 * lmtp_session.h - the LMTP server (RFC 2033): how an MTA hands us mail.
 */
#ifndef YUBIN_LMTP_LMTP_SESSION_H
#define YUBIN_LMTP_LMTP_SESSION_H

#include <sys/socket.h>

struct server_env;

void lmtp_session_accept(struct server_env *env, int fd, const struct sockaddr *peer,
			 socklen_t peer_len);

#endif
