/*
 * fuzz_check.h - what the harnesses share: CHECK(cond) aborts with the
 * failed condition (libFuzzer then keeps the input as a crash).
 */
#ifndef YUBIN_FUZZ_CHECK_H
#define YUBIN_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
