/*
 * addrlimit.c - shared per-address counters; see addrlimit.h.
 *
 * Layout of the mapping: a header, then `workers` rows of connection
 * counts (one uint32 per bucket), then the failure buckets. All updates
 * are C11 atomics on shared memory: no locks between processes.
 */
#include "net/addrlimit.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ADDRLIMIT_BUCKETS 4096

struct addrlimit_fail {
	_Atomic uint32_t count;
	_Atomic int64_t last;
};

struct addrlimit_shared {
	_Atomic uint32_t total;
	uint32_t workers;
};

struct addrlimit {
	struct addrlimit_shared *shm;
	_Atomic uint32_t *conns; /* workers * ADDRLIMIT_BUCKETS */
	struct addrlimit_fail *fails;
	size_t size;
};

struct addrlimit *addrlimit_new(unsigned workers)
{
	size_t size = sizeof(struct addrlimit_shared) +
		      (size_t)workers * ADDRLIMIT_BUCKETS * sizeof(uint32_t) +
		      ADDRLIMIT_BUCKETS * sizeof(struct addrlimit_fail);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("yubin: mmap");
		abort();
	}
	struct addrlimit *al = xmalloc(sizeof(*al));
	al->size = size;
	al->shm = p;
	al->shm->workers = workers;
	al->conns = (_Atomic uint32_t *)(al->shm + 1);
	al->fails = (struct addrlimit_fail *)(al->conns + (size_t)workers * ADDRLIMIT_BUCKETS);
	return al;
}

void addrlimit_free(struct addrlimit **al)
{
	if (*al == NULL)
		return;
	munmap((*al)->shm, (*al)->size);
	xfree(*al);
}

/* FNV-1a over the address bytes (not the port). */
static unsigned addrlimit_bucket(const struct sockaddr *sa)
{
	const unsigned char *p = NULL;
	size_t n = 0;
	if (sa->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % ADDRLIMIT_BUCKETS;
}

static _Atomic uint32_t *addrlimit_cell(struct addrlimit *al, unsigned worker, unsigned b)
{
	return &al->conns[(size_t)worker * ADDRLIMIT_BUCKETS + b];
}

void addrlimit_reset_worker(struct addrlimit *al, unsigned worker)
{
	for (unsigned b = 0; b < ADDRLIMIT_BUCKETS; b++) {
		uint32_t n = atomic_exchange(addrlimit_cell(al, worker, b), 0);
		atomic_fetch_sub(&al->shm->total, n);
	}
}

bool addrlimit_conn_acquire(struct addrlimit *al, unsigned worker, const struct sockaddr *sa,
			    unsigned max_per_ip, unsigned max_total)
{
	if (atomic_load(&al->shm->total) >= max_total)
		return false;
	unsigned b = addrlimit_bucket(sa);
	/* Unix-socket peers (a local MTA) are not limited per address. */
	bool per_ip = max_per_ip > 0 && sa->sa_family != AF_UNIX;
	if (per_ip) {
		uint32_t sum = 0;
		for (unsigned w = 0; w < al->shm->workers; w++)
			sum += atomic_load(addrlimit_cell(al, w, b));
		if (sum >= max_per_ip)
			return false;
	}
	atomic_fetch_add(addrlimit_cell(al, worker, b), 1);
	atomic_fetch_add(&al->shm->total, 1);
	return true;
}

void addrlimit_conn_release(struct addrlimit *al, unsigned worker, const struct sockaddr *sa)
{
	_Atomic uint32_t *cell = addrlimit_cell(al, worker, addrlimit_bucket(sa));
	/* A reset (worker restart) may have zeroed it already. */
	uint32_t n = atomic_load(cell);
	while (n > 0 && !atomic_compare_exchange_weak(cell, &n, n - 1))
		;
	if (n > 0)
		atomic_fetch_sub(&al->shm->total, 1);
}

unsigned addrlimit_fail_count(struct addrlimit *al, const struct sockaddr *sa, time_t now)
{
	struct addrlimit_fail *f = &al->fails[addrlimit_bucket(sa)];
	if (now - atomic_load(&f->last) > ADDRLIMIT_FAIL_WINDOW)
		return 0;
	return atomic_load(&f->count);
}

void addrlimit_fail_add(struct addrlimit *al, const struct sockaddr *sa, time_t now)
{
	struct addrlimit_fail *f = &al->fails[addrlimit_bucket(sa)];
	if (now - atomic_exchange(&f->last, now) > ADDRLIMIT_FAIL_WINDOW)
		atomic_store(&f->count, 0);
	atomic_fetch_add(&f->count, 1);
}

void addrlimit_fail_clear(struct addrlimit *al, const struct sockaddr *sa)
{
	atomic_store(&al->fails[addrlimit_bucket(sa)].count, 0);
}

uint64_t addrlimit_login_failed(struct addrlimit *al, const struct sockaddr *sa,
				const char *service, const char *user, const char *remote,
				const char *mech, uint64_t delay, uint64_t delay_max)
{
	time_t now = time(NULL);
	unsigned prior = addrlimit_fail_count(al, sa, now);
	addrlimit_fail_add(al, sa, now);
	char safe_user[LOG_SAFE_MAX];
	log_info("event=auth_failed service=%s user=%s remote=%s mech=%s failures=%u", service,
		 log_safe(safe_user, user, user != NULL ? strlen(user) : 0), remote, mech,
		 prior + 1);
	delay <<= prior < 16 ? prior : 16;
	return delay > delay_max ? delay_max : delay;
}
