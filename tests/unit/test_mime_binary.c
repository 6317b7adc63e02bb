/*
 * test_mime_binary.c - src/mime/mime_binary.c: binary parts of a message
 * become base64 (and decode back to the same bytes); everything else of
 * the message stays byte for byte; messages without binary parts are
 * left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mime/mime_binary.h"
#include "mime/mime_decode.h"

#include "lib/buf.h"

#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

static void test_single_part(void **state)
{
	(void)state;
	static const char msg[] = "From: a@b\r\nContent-Type: application/octet-stream\r\n"
	                          "Content-Transfer-Encoding: Binary\r\n\r\n\0-\xe4\n\r\n\n";
	struct buf out;
	buf_init(&out, 0);
	assert_true(mime_binary_to_base64(msg, sizeof(msg) - 1, &out));
	assert_string_equal(out.ptr, "From: a@b\r\nContent-Type: application/octet-stream\r\n"
	                             "MIME-Version: 1.0\r\n"
	                             "Content-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==\r\n");
	char dec[16];
	assert_int_equal(mime_base64_decode("AC3kCg0KCg==", 12, dec), 7);
	assert_memory_equal(dec, "\0-\xe4\n\r\n\n", 7);
	buf_deinit(&out);
}

static void test_multipart_keeps_the_rest(void **state)
{
	(void)state;
	static const char msg[] =
	    "Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "pre\r\n--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n\r\n"
	    "\x89PNG\r\n\x1a\n\0\0\r\n--B--\r\nepilogue\r\n";
	struct buf out;
	buf_init(&out, 0);
	assert_true(mime_binary_to_base64(msg, sizeof(msg) - 1, &out));
	const char *want =
	    "Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "pre\r\n--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "iVBORw0KGgoAAA==\r\n\r\n--B--\r\nepilogue\r\n";
	assert_string_equal(out.ptr, want);
	buf_deinit(&out);
}

static void test_nothing_binary(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 0);
	assert_false(mime_binary_to_base64(S("Subject: x\r\n\r\n8bit \xe4 text\r\n"), &out));
	assert_false(mime_binary_to_base64(S("Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx\n"), &out));
	assert_int_equal(out.len, 0);
	/* NUL without a declared encoding is binary too */
	assert_true(mime_binary_to_base64(S("Subject: x\n\na\0b\n"), &out));
	assert_string_equal(out.ptr, "Subject: x\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n"
	                             "YQBiCg==\r\n");
	buf_deinit(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_part),
	    cmocka_unit_test(test_multipart_keeps_the_rest),
	    cmocka_unit_test(test_nothing_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
