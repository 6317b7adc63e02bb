/*
 * fuzz_mailbox_name.c - libFuzzer harness for mailbox names on their way
 * from a client to a directory: the modified UTF-7 codec
 * (src/lib/utf7imap.c) and the Maildir++ folder names (src/store/maildir.c).
 *
 * The input is taken as a name three ways: as modified UTF-7 (decoding
 * and encoding must give back exactly the input), as UTF-8 (the same the
 * other way), and as a folder name a client gives. A folder name that is
 * accepted must map to one directory name inside the Maildir: a single
 * path component starting with '.', never "." or "..", no '/', no
 * control bytes, no empty component, and it must read back as exactly
 * the same name. The input is also tried as a directory name found on
 * disk: whatever is accepted maps back to that directory.
 */
#include "lib/utf7imap.h"
#include "store/maildir.h"

#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void as_utf7(const char *in, size_t len)
{
	char dec[UTF7IMAP_DECODE_MAX(1024)];
	size_t dn;
	if (utf7imap_to_utf8(in, len, dec, sizeof(dec), &dn) != UTF7IMAP_OK) {
		CHECK(!utf7imap_valid(in, len));
		return;
	}
	CHECK(utf7imap_valid(in, len));
	char enc[UTF7IMAP_ENCODE_MAX(UTF7IMAP_DECODE_MAX(1024))];
	size_t en;
	CHECK(utf7imap_from_utf8(dec, dn, enc, sizeof(enc), &en) == UTF7IMAP_OK);
	CHECK(en == len && memcmp(enc, in, len) == 0);
}

static void as_utf8(const char *in, size_t len)
{
	char enc[UTF7IMAP_ENCODE_MAX(1024)];
	size_t en;
	if (utf7imap_from_utf8(in, len, enc, sizeof(enc), &en) != UTF7IMAP_OK)
		return;
	for (size_t i = 0; i < en; i++)
		CHECK(enc[i] >= 0x20 && enc[i] <= 0x7e);
	CHECK(utf7imap_valid(enc, en));
	char dec[UTF7IMAP_DECODE_MAX(UTF7IMAP_ENCODE_MAX(1024))];
	size_t dn;
	CHECK(utf7imap_to_utf8(enc, en, dec, sizeof(dec), &dn) == UTF7IMAP_OK);
	CHECK(dn == len && memcmp(dec, in, len) == 0);
}

static void as_folder_name(const char *name)
{
	char *dir = maildir_folder_dirname(name);
	if (dir == NULL)
		return;
	size_t n = strlen(dir);
	if (n == 0) {
		CHECK(maildir_folder_is_inbox(name));
		free(dir);
		return;
	}
	CHECK(dir[0] == '.' && n >= 2 && n <= MAILDIR_FOLDER_MAX + 1);
	CHECK(strchr(dir, '/') == NULL && strstr(dir, "..") == NULL && dir[n - 1] != '.');
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)dir[i] >= 0x20 && (unsigned char)dir[i] != 0x7f);
	char *back = maildir_folder_name(dir);
	CHECK(back != NULL && strcmp(back, name) == 0);
	char *path = maildir_folder_dir("/m", name);
	CHECK(path != NULL && strncmp(path, "/m/", 3) == 0 && strcmp(path + 3, dir) == 0);
	free(path);
	free(back);
	free(dir);
}

static void as_dirname(const char *dirname)
{
	char *name = maildir_folder_name(dirname);
	if (name == NULL)
		return;
	char *dir = maildir_folder_dirname(name);
	CHECK(dir != NULL && strcmp(dir, dirname) == 0);
	free(dir);
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	as_utf7((const char *)data, size);
	as_utf8((const char *)data, size);
	/* names and directory names are C strings */
	char *s = strndup((const char *)data, size);
	as_folder_name(s);
	as_dirname(s);
	free(s);
	return 0;
}
