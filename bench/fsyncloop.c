/*
 * fsyncloop.c - the disk's limit for durable deliveries.
 *
 *     fsyncloop -n ITERATIONS [-t THREADS] [-s SIZE] DIR
 *
 * Each of THREADS threads repeats what a careful Maildir delivery does
 * (the same steps yubin and Dovecot take with fsync on): create a file in
 * DIR/tmp, write SIZE bytes (default 4096), fsync it, close it, rename it
 * into DIR/new, fsync DIR/new. No mail server can acknowledge durable
 * deliveries faster than this loop runs, so it puts the LMTP figures in
 * proportion. ITERATIONS is the total over all threads. The files are
 * removed at the end.
 *
 * Output: "fsyncloop threads=N ops=N elapsed_s=S ops_per_s=R p50_ms=..."
 */
#include "bench_util.h"

#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fsyncloop_shared {
	int tmp_fd, new_fd;
	uint32_t iterations, size;
	atomic_uint_fast32_t next;
	char *data;
};

struct fsyncloop_worker {
	pthread_t tid;
	uint32_t index;
	struct fsyncloop_shared *sh;
	struct bench_samples lat;
	uint32_t failed;
};

static bool fsyncloop_one(struct fsyncloop_shared *sh, const char *name)
{
	int fd = openat(sh->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = write(fd, sh->data, sh->size) == (ssize_t)sh->size && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	ok = ok && renameat(sh->tmp_fd, name, sh->new_fd, name) == 0;
	return ok && fsync(sh->new_fd) == 0;
}

static void *fsyncloop_thread(void *arg)
{
	struct fsyncloop_worker *w = arg;
	struct fsyncloop_shared *sh = w->sh;
	for (;;) {
		uint32_t i = (uint32_t)atomic_fetch_add(&sh->next, 1);
		if (i >= sh->iterations)
			break;
		char name[64];
		snprintf(name, sizeof(name), "f%u.%u", w->index, i);
		uint64_t t0 = bench_now_ns();
		if (fsyncloop_one(sh, name))
			bench_samples_add(&w->lat, bench_now_ns() - t0);
		else
			w->failed++;
	}
	return NULL;
}

static int fsyncloop_subdir(const char *dir, const char *sub)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void fsyncloop_cleanup(struct fsyncloop_shared *sh, uint32_t threads)
{
	for (uint32_t t = 0; t < threads; t++) {
		for (uint32_t i = 0; i < sh->iterations; i++) {
			char name[64];
			snprintf(name, sizeof(name), "f%u.%u", t, i);
			unlinkat(sh->new_fd, name, 0); /* most do not exist: fine */
			unlinkat(sh->tmp_fd, name, 0);
		}
	}
}

static void fsyncloop_usage(void)
{
	fprintf(stderr, "usage: fsyncloop -n ITERATIONS [-t THREADS] [-s SIZE] DIR\n");
	exit(2);
}

static void fsyncloop_report(struct fsyncloop_worker *ws, uint32_t threads, uint64_t elapsed)
{
	struct bench_samples lat = {0};
	uint32_t failed = 0;
	for (uint32_t t = 0; t < threads; t++) {
		bench_samples_merge(&lat, &ws[t].lat);
		failed += ws[t].failed;
		bench_samples_free(&ws[t].lat);
	}
	bench_samples_sort(&lat);
	double secs = (double)elapsed / 1e9;
	printf("fsyncloop threads=%u ops=%zu failed=%u elapsed_s=%.3f ops_per_s=%.2f", threads,
	       lat.n, failed, secs, (double)lat.n / secs);
	bench_print_latency("", &lat);
	printf("\n");
	bench_samples_free(&lat);
}

int main(int argc, char **argv)
{
	struct fsyncloop_shared sh = {.size = 4096};
	uint32_t threads = 1;
	int ch;
	while ((ch = getopt(argc, argv, "n:t:s:")) != -1) {
		switch (ch) {
		case 'n':
			sh.iterations = bench_opt_u32('n', optarg, 10000000);
			break;
		case 't':
			threads = bench_opt_u32('t', optarg, 256);
			break;
		case 's':
			sh.size = bench_opt_u32('s', optarg, 64u << 20);
			break;
		default:
			fsyncloop_usage();
		}
	}
	if (optind + 1 != argc || sh.iterations == 0 || threads == 0)
		fsyncloop_usage();
	sh.tmp_fd = fsyncloop_subdir(argv[optind], "tmp");
	sh.new_fd = fsyncloop_subdir(argv[optind], "new");
	sh.data = xmalloc(sh.size);
	memset(sh.data, 'x', sh.size);
	struct fsyncloop_worker *ws = xcalloc(threads, sizeof(*ws));
	uint64_t start = bench_now_ns();
	for (uint32_t t = 0; t < threads; t++) {
		ws[t] = (struct fsyncloop_worker){.index = t, .sh = &sh};
		if (pthread_create(&ws[t].tid, NULL, fsyncloop_thread, &ws[t]) != 0)
			return 1;
	}
	for (uint32_t t = 0; t < threads; t++)
		pthread_join(ws[t].tid, NULL);
	fsyncloop_report(ws, threads, bench_now_ns() - start);
	fsyncloop_cleanup(&sh, threads);
	free(ws);
	free(sh.data);
	return 0;
}
