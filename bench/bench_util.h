/*
 * bench_util.h - clocks, latency samples, options and the result line
 * shared by the load generators.
 *
 * Latencies are kept as exact samples (nanoseconds) rather than buckets:
 * a run is bounded by a count or a duration, so there are at most a few
 * hundred thousand of them, and sorting once at the end gives exact
 * percentiles. Every tool prints its result as one line of key=value
 * pairs on stdout, which bench/run.py parses.
 */
#ifndef YUBIN_BENCH_UTIL_H
#define YUBIN_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

struct bench_samples {
	uint64_t *v; /* nanoseconds */
	size_t n, cap;
};

void bench_samples_add(struct bench_samples *s, uint64_t ns);
/* Append all of src to dst (src is left as it is). */
void bench_samples_merge(struct bench_samples *dst, const struct bench_samples *src);
void bench_samples_free(struct bench_samples *s);
/* Sort, then read percentiles (0..100) in milliseconds; 0 when empty. */
void bench_samples_sort(struct bench_samples *s);
double bench_samples_pct_ms(const struct bench_samples *s, double pct);

/* Print " p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.." with the given key
 * prefix ("" or "work_") for sorted samples. */
void bench_print_latency(const char *prefix, const struct bench_samples *s);

/* Option values: a decimal number up to max, or exit(2) with a message
 * naming the option. */
uint32_t bench_opt_u32(char opt, const char *arg, uint32_t max);
uint16_t bench_opt_port(char opt, const char *arg);

/* Raise the soft limit of open files to the hard limit (many idle
 * connections), and ignore SIGPIPE (a server that closes first). */
void bench_process_setup(void);

/* A user name: prefix alone when count is 0, else prefix followed by
 * index zero-padded to the width of count - 1 ("pop" 16 3 -> "pop03"). */
void bench_user_name(char *out, size_t size, const char *prefix, uint32_t count, uint32_t index);

/* xorshift64*: a fast, seedable generator for picking recipients. */
uint64_t bench_rand_next(uint64_t *state);

#endif
