/*
 * bench_util.c - clocks, latency samples, options and output helpers for
 * the load generators; see bench_util.h.
 */
#include "bench_util.h"

#include "lib/mem.h"
#include "lib/strnum.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bench_samples_reserve(struct bench_samples *s, size_t more)
{
	if (s->n + more <= s->cap)
		return;
	size_t cap = s->cap == 0 ? 1024 : s->cap;
	while (cap < s->n + more)
		cap *= 2;
	s->v = xrealloc(s->v, cap * sizeof(*s->v));
	s->cap = cap;
}

void bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	bench_samples_reserve(s, 1);
	s->v[s->n++] = ns;
}

void bench_samples_merge(struct bench_samples *dst, const struct bench_samples *src)
{
	if (src->n == 0)
		return;
	bench_samples_reserve(dst, src->n);
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
}

void bench_samples_free(struct bench_samples *s)
{
	xfree(s->v);
	s->n = s->cap = 0;
}

static int bench_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void bench_samples_sort(struct bench_samples *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), bench_u64_cmp);
}

double bench_samples_pct_ms(const struct bench_samples *s, double pct)
{
	if (s->n == 0)
		return 0;
	/* Nearest rank: the smallest sample with at least pct% at or below. */
	size_t rank = (size_t)((pct / 100.0) * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return (double)s->v[rank - 1] / 1e6;
}

void bench_print_latency(const char *prefix, const struct bench_samples *s)
{
	printf(" %sp50_ms=%.3f %sp90_ms=%.3f %sp99_ms=%.3f %smax_ms=%.3f", prefix,
	       bench_samples_pct_ms(s, 50), prefix, bench_samples_pct_ms(s, 90), prefix,
	       bench_samples_pct_ms(s, 99), prefix, bench_samples_pct_ms(s, 100));
}

uint32_t bench_opt_u32(char opt, const char *arg, uint32_t max)
{
	uint32_t v;
	if (!strnum_u32(arg, strlen(arg), max, &v)) {
		fprintf(stderr, "bench: -%c needs a number up to %u, not '%s'\n", opt, max, arg);
		exit(2);
	}
	return v;
}

uint16_t bench_opt_port(char opt, const char *arg)
{
	uint32_t v = bench_opt_u32(opt, arg, 65535);
	if (v == 0) {
		fprintf(stderr, "bench: -%c: port 0\n", opt);
		exit(2);
	}
	return (uint16_t)v;
}

void bench_process_setup(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
}

void bench_user_name(char *out, size_t size, const char *prefix, uint32_t count, uint32_t index)
{
	if (count == 0) {
		snprintf(out, size, "%s", prefix);
		return;
	}
	int width = 1;
	for (uint32_t last = count - 1; last >= 10; last /= 10)
		width++;
	snprintf(out, size, "%s%0*u", prefix, width, index);
}

uint64_t bench_rand_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}
