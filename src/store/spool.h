/*
 * spool.h - the inside of struct store_spool, for deliver.c.
 *
 * The public functions are in store.h. A spool keeps the message in
 * memory up to SPOOL_MEM_MAX bytes, then moves it to an unlinked file in
 * data_dir/tmp so that a large message never sits in RAM.
 */
#ifndef YUBIN_STORE_SPOOL_H
#define YUBIN_STORE_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/crlf.h"

#define SPOOL_MEM_MAX (256u * 1024)

struct store_spool {
	char *tmp_dir; /* data_dir/tmp */
	uint64_t max_size;
	struct crlf_count count; /* everything written, also beyond max_size */
	char *mem;               /* content while it fits in memory (fd < 0) */
	size_t mem_len;
	size_t mem_cap;  /* grows by doubling up to SPOOL_MEM_MAX */
	int fd;          /* unlinked file once it does not, else -1 */
	bool over_quota; /* content was dropped: deliveries give QUOTA */
	bool failed;     /* an I/O error: deliveries give TEMP */
};

#endif
