// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "efivar.h"
#include "fault.h"
#include "testlib.h"

#define DIR "sys/firmware/efi/efivars/"
#define G "-" EFI_GLOBAL_GUID

static void mkefivars(void)
{
	CHECK_EQ(system("mkdir -p " DIR), 0);
}

TEST(write_read_round_trip_one_file)
{
	uint8_t buf[16];
	uint32_t attr = 0;
	size_t len;
	uint8_t *raw;

	mkefivars();
	CHECK_EQ(efivar_write(&test_ctx, "Foo", EFI_GLOBAL_GUID, 7, "abcdef",
			      6),
		 1);
	raw = test_read_file(DIR "Foo" G, &len);
	CHECK_EQ(len, 10);
	CHECK(!memcmp(raw, "\x07\0\0\0abcdef", 10));
	free(raw);
	CHECK_EQ(efivar_read(&test_ctx, "Foo", EFI_GLOBAL_GUID, &attr, buf,
			     sizeof(buf)),
		 6);
	CHECK_EQ(attr, 7);
	/* A shorter value leaves no stale tail. */
	CHECK_EQ(efivar_write(&test_ctx, "Foo", EFI_GLOBAL_GUID, 7, "xy", 2),
		 1);
	raw = test_read_file(DIR "Foo" G, &len);
	CHECK_EQ(len, 6);
	free(raw);
}

TEST(unchanged_value_is_not_written)
{
	struct stat a, b;

	mkefivars();
	CHECK_EQ(efivar_set_boot_next(&test_ctx, 2), 1);
	CHECK_EQ(stat(DIR "BootNext" G, &a), 0);
	usleep(20000);
	CHECK_EQ(efivar_set_boot_next(&test_ctx, 2), 0);
	CHECK_EQ(stat(DIR "BootNext" G, &b), 0);
	CHECK_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	CHECK_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	/* Other attributes are a change. */
	CHECK_EQ(efivar_write(&test_ctx, "BootNext", EFI_GLOBAL_GUID, 6,
			      "\x02\x00", 2),
		 1);
}

TEST(absent_empty_truncated_oversized)
{
	uint8_t buf[8];

	mkefivars();
	CHECK_EQ(efivar_read(&test_ctx, "Nope", EFI_GLOBAL_GUID, NULL, buf, 8),
		 -ENOENT);
	test_write_file(DIR "Empty" G, "", 0);
	CHECK_EQ(efivar_read(&test_ctx, "Empty", EFI_GLOBAL_GUID, NULL, buf, 8),
		 -ENOENT);
	test_write_file(DIR "Short" G, "\x07\x00", 2);
	CHECK_EQ(efivar_read(&test_ctx, "Short", EFI_GLOBAL_GUID, NULL, buf, 8),
		 -EBADMSG);
	CHECK_LOG("Short is truncated");
	test_write_file(DIR "Big" G,
			"\x07\0\0\0"
			"123456789",
			13);
	CHECK_EQ(efivar_read(&test_ctx, "Big", EFI_GLOBAL_GUID, NULL, buf, 8),
		 -E2BIG);
	CHECK_EQ(symlink("Big" G, DIR "Link" G), 0);
	CHECK(efivar_read(&test_ctx, "Link", EFI_GLOBAL_GUID, NULL, buf, 8) <
	      0);
}

TEST(available)
{
	CHECK_EQ(efivar_check_available(&test_ctx), -ENOENT);
	CHECK_LOG("efivarfs is not mounted");
	mkefivars();
	CHECK_EQ(efivar_check_available(&test_ctx), 0);
}

/* SecureBoot: one byte, 1 on, 0 off (attributes BS+RT, read-only). */
TEST(secure_boot)
{
	mkefivars();
	CHECK_EQ(efivar_secure_boot(&test_ctx), -ENOENT);
	test_write_file(DIR "SecureBoot" G, "\x06\0\0\0\x01", 5);
	CHECK_EQ(efivar_secure_boot(&test_ctx), 1);
	test_write_file(DIR "SecureBoot" G, "\x06\0\0\0\x00", 5);
	CHECK_EQ(efivar_secure_boot(&test_ctx), 0);
	test_write_file(DIR "SecureBoot" G, "\x06\0\0\0\x02", 5);
	CHECK_EQ(efivar_secure_boot(&test_ctx), -EBADMSG);
	CHECK_LOG("SecureBoot is not one byte 0 or 1");
	test_write_file(DIR "SecureBoot" G, "\x06\0\0\0\x01\x00", 6);
	CHECK(efivar_secure_boot(&test_ctx) < 0);
}

TEST(boot_order_and_u16)
{
	uint16_t order[4] = { 1, 2, 0x1a }, back[8], cur;

	mkefivars();
	CHECK_EQ(efivar_set_boot_order(&test_ctx, order, 3), 1);
	CHECK_EQ(efivar_get_boot_order(&test_ctx, back, 8), 3);
	CHECK_EQ(back[2], 0x1a);
	CHECK_EQ(efivar_get_boot_order(&test_ctx, back, 2), -E2BIG);
	test_write_file(DIR "BootOrder" G, "\x07\0\0\0\x01\0\x02", 7);
	CHECK_EQ(efivar_get_boot_order(&test_ctx, back, 8), -EBADMSG);
	CHECK_LOG("odd length");
	test_write_file(DIR "BootCurrent" G, "\x06\0\0\0\x02\0", 6);
	CHECK_EQ(efivar_get_u16(&test_ctx, "BootCurrent", &cur), 0);
	CHECK_EQ(cur, 2);
	efivar_delete(&test_ctx, "BootCurrent", EFI_GLOBAL_GUID);
	CHECK_EQ(efivar_get_u16(&test_ctx, "BootCurrent", &cur), -ENOENT);
	CHECK_EQ(efivar_delete(&test_ctx, "BootCurrent", EFI_GLOBAL_GUID), 0);
}

TEST(refused_write_names_the_variable)
{
	mkefivars();
	/* A directory where the variable should be: the write is refused. */
	CHECK_EQ(mkdir(DIR "BootNext" G, 0755), 0);
	CHECK(efivar_set_boot_next(&test_ctx, 1) < 0);
	CHECK_LOG("cannot write EFI variable BootNext");
}

TEST(read_only_efivarfs)
{
	mkefivars();
	if (mount("efivars", DIR, "tmpfs", MS_RDONLY, "size=64k") < 0)
		test_skip("cannot mount a read-only tmpfs here (needs root)");
	CHECK_EQ(efivar_set_boot_next(&test_ctx, 1), -EROFS);
	CHECK_LOG("efivarfs is read-only or the firmware refused the write");
	umount(DIR);
}

TEST(nvram_full)
{
	char big[3000];

	mkefivars();
	if (mount("efivars", DIR, "tmpfs", 0, "size=4k") < 0)
		test_skip("cannot mount a small tmpfs here (needs root)");
	memset(big, 1, sizeof(big));
	CHECK_EQ(efivar_write(&test_ctx, "A", EFI_GLOBAL_GUID, 7, big, 3000),
		 1);
	CHECK_EQ(efivar_write(&test_ctx, "B", EFI_GLOBAL_GUID, 7, big, 3000),
		 -ENOSPC);
	CHECK_LOG("firmware refused to store B: NVRAM is full");
	umount(DIR);
}

TEST(fault_point_before_the_write)
{
	struct sf_fault fault = { .at = 1 };
	struct sf_ctx ctx = test_ctx;
	int status;
	pid_t pid;
	size_t len;
	uint8_t *raw;

	mkefivars();
	CHECK_EQ(efivar_set_boot_next(&test_ctx, 1), 1);
	ctx.fault = &fault;
	pid = fork();
	if (pid == 0) {
		efivar_set_boot_next(&ctx, 2);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == SF_FAULT_EXIT);
	raw = test_read_file(DIR "BootNext" G, &len);
	CHECK(len == 6 && raw[4] == 1);
	free(raw);
}

/* UEFI 2.10, 3.1.3 EFI_LOAD_OPTION and 10.3.5 media device paths:
 * Attributes, FilePathListLength, Description (UCS-2), Hard Drive node
 * (type 4 subtype 1, length 42), File Path node (type 4 subtype 4), End. */
static const uint8_t expected[] = {
	0x01, 0x00, 0x00, 0x00, /* LOAD_OPTION_ACTIVE */
	0x48, 0x00, /* 42 + 26 + 4 */
	's',  0,    'l',  0,	'o',  0,    't',  0,	'f',  0,    'l',
	0,    'i',  0,	  'p',	0,    ' ',  0,	  'a',	0,    0,    0,
	0x04, 0x01, 0x2a, 0x00, 0x01, 0x00, 0x00, 0x00, /* partition 1 */
	0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* start 2048 */
	0x00, 0x20, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, /* size 204800 */
	0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, /* GUID, EFI order */
	0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b, 0x02, 0x02, /* GPT, GUID signature */
	0x04, 0x04, 0x1a, 0x00, '\\', 0,    'E',  0,	'F',  0,    'I',
	0,    '\\', 0,	  'a',	0,    '.',  0,	  'e',	0,    'f',  0,
	'i',  0,    0,	  0,	0x7f, 0xff, 0x04, 0x00,
};

static void sample(struct efi_load_option *o)
{
	memset(o, 0, sizeof(*o));
	o->attributes = LOAD_OPTION_ACTIVE;
	strcpy(o->description, "slotflip a");
	o->part_number = 1;
	o->part_start = 2048;
	o->part_size = 204800;
	CHECK_EQ(efi_guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
				o->part_guid),
		 0);
	strcpy(o->path, "\\EFI\\a.efi");
}

TEST(load_option_matches_spec_bytes)
{
	struct efi_load_option o, back;
	uint8_t buf[512];

	sample(&o);
	CHECK_EQ(efi_load_option_encode(&o, buf, sizeof(buf)),
		 sizeof(expected));
	CHECK(!memcmp(buf, expected, sizeof(expected)));
	CHECK_EQ(efi_load_option_decode(&test_ctx, expected, sizeof(expected),
					&back),
		 0);
	CHECK_STREQ(back.path, "\\EFI\\a.efi");
	CHECK_STREQ(back.description, "slotflip a");
	CHECK_EQ(back.part_start, 2048);
	CHECK(!memcmp(back.part_guid, o.part_guid, 16));
	CHECK_EQ(efi_load_option_encode(&o, buf, 20), -E2BIG);
	strcpy(o.path, "\\EFI\\\xc3\xa9");
	CHECK_EQ(efi_load_option_encode(&o, buf, sizeof(buf)), -EINVAL);
}

TEST(load_option_refusals)
{
	struct efi_load_option o;
	uint8_t b[sizeof(expected)];

	CHECK_EQ(efi_load_option_decode(&test_ctx, expected, 40, &o), -EBADMSG);
	memcpy(b, expected, sizeof(b));
	b[sizeof(b) - 4] = 0x7e; /* no end node */
	CHECK_EQ(efi_load_option_decode(&test_ctx, b, sizeof(b), &o), -EBADMSG);
	memcpy(b, expected, sizeof(b));
	b[28 + 2] = 40; /* HD node length */
	CHECK_EQ(efi_load_option_decode(&test_ctx, b, sizeof(b), &o), -EBADMSG);
	memcpy(b, expected, sizeof(b));
	b[28 + 1] = 0x02; /* another media node: not ours */
	CHECK_EQ(efi_load_option_decode(&test_ctx, b, sizeof(b), &o),
		 -EOPNOTSUPP);
	memcpy(b, expected, sizeof(b));
	b[4] = 0xff; /* list longer than the buffer */
	CHECK_EQ(efi_load_option_decode(&test_ctx, b, sizeof(b), &o), -EBADMSG);
	CHECK_EQ(efi_guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93", b),
		 -EINVAL);
	CHECK_EQ(efi_guid_parse("c12a7328+f81f-11d2-ba4b-00a0c93ec93b", b),
		 -EINVAL);
}
