/*
 * privdrop.h - running as the unprivileged mail user.
 *
 * yubin is started as root only to bind ports below 1024 and read the TLS
 * key. Everything that touches mail (workers, `yubin deliver`, `yubin user`)
 * runs as the configured `user`. Switching is permanent: supplementary
 * groups are cleared and both real and saved ids are changed, so the
 * process cannot get root back.
 */
#ifndef YUBIN_DAEMON_PRIVDROP_H
#define YUBIN_DAEMON_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

/* Resolve a user name to uid/gid; false with *err_r (heap) if unknown or
 * if it is root (running mail as root is what this prevents). */
bool privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, char **err_r);

/* setgroups/setgid/setuid for good, then verify that setuid(0) fails.
 * False with *err_r (heap) on any failure. */
bool privdrop_switch(uid_t uid, gid_t gid, char **err_r);

/* Create dir (mode 0700, parents must exist) owned by uid/gid if missing.
 * False with *err_r if it cannot be created or is not a directory. */
bool privdrop_ensure_dir(const char *dir, uid_t uid, gid_t gid, char **err_r);

#endif
