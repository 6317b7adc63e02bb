/*
 * fdio.h - writing to file descriptors.
 */
#ifndef YUBIN_LIB_FDIO_H
#define YUBIN_LIB_FDIO_H

#include <stdbool.h>
#include <stddef.h>

/* write(2) all of (p, len), again after EINTR and short writes. False on
 * an error, with errno set (ENOSPC when write returns 0). */
bool fd_write_all(int fd, const void *p, size_t len);

#endif
