/*
 * fuzz_config.c - libFuzzer harness for the configuration reader: the
 * input as a configuration file (sections, keys, values, comments, any
 * bytes), then each of its lines as a "-o KEY=VALUE" override, then the
 * cross-key validation and the dump. Errors must come back as messages,
 * never as crashes, and a value that loads must dump and load again.
 */
#include "daemon/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* config_load_file() reads a path: one file per process, rewritten per
 * input (in /dev/shm when there is one, so it stays in memory). */
static char fuzz_path[64];

static void fuzz_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		abort();
	if (len > 0 && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_path[0] == '\0')
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/yubin-fuzz-config.%ld",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
	fuzz_write(fuzz_path, data, size);
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	bool ok = config_load_file(&cfg, fuzz_path, &err);
	if (!ok && err == NULL)
		abort(); /* a failure always says why */
	free(err);
	err = NULL;
	/* every line as an override, whatever the file said */
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!config_apply_override(&cfg, line, &err) && err == NULL)
			abort();
		free(err);
		err = NULL;
	}
	free(copy);
	if (!config_validate(&cfg, &err) && err == NULL)
		abort();
	free(err);
	FILE *null = fopen("/dev/null", "w");
	if (null != NULL) {
		config_dump(&cfg, null);
		fclose(null);
	}
	config_deinit(&cfg);
	return 0;
}
