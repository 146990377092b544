// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * efivarfs makes existing vendor-GUID variables immutable: an immutable
 * file cannot be opened for writing at all, so efivar_write() must clear
 * the flag before it opens the file to write (and restore it after, also
 * when the write or a removal fails). Needs a filesystem with
 * FS_IMMUTABLE_FL (ext4, ...) and root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "efivar.h"
#include "testlib.h"

#define DIR "sys/firmware/efi/efivars/"
#define PATH DIR "SlotflipTest-" SF_VENDOR_GUID

static int get_flags_of(const char *path)
{
	int fd = open(path, O_RDONLY), flags = -1;

	CHECK(fd >= 0);
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		flags = -1;
	close(fd);
	return flags;
}

static int get_flags(void)
{
	return get_flags_of(PATH);
}

/* Set or clear FS_IMMUTABLE_FL on @path; skips the test where it cannot. */
static void immutable(const char *path, bool on)
{
	int fd = open(path, O_RDONLY), flags;

	CHECK(fd >= 0);
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
		close(fd);
		test_skip("this filesystem has no inode flags");
	}
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0) {
		close(fd);
		test_skip("cannot set FS_IMMUTABLE_FL here (not root?)");
	}
	close(fd);
}

static void set_immutable(void)
{
	immutable(PATH, true);
}

static void clear_immutable(void)
{
	immutable(PATH, false);
}

/* The variable, holding "old", immutable as efivarfs makes it. */
static void immutable_variable(void)
{
	CHECK_EQ(system("mkdir -p " DIR), 0);
	CHECK_EQ(efivar_write(&test_ctx, "SlotflipTest", SF_VENDOR_GUID, 7,
			      "old", 3),
		 1);
	set_immutable();
}

TEST(rewrites_an_immutable_variable_and_keeps_it_immutable)
{
	uint8_t buf[8];
	int r;

	immutable_variable();
	CHECK(open(PATH, O_WRONLY) < 0 && errno == EPERM);
	r = efivar_write(&test_ctx, "SlotflipTest", SF_VENDOR_GUID, 7, "new!",
			 4);
	CHECK(get_flags() & FS_IMMUTABLE_FL);
	clear_immutable(); /* let the harness remove the directory */
	CHECK_EQ(r, 1);
	CHECK_EQ(efivar_read(&test_ctx, "SlotflipTest", SF_VENDOR_GUID, NULL,
			     buf, sizeof(buf)),
		 4);
	CHECK(!memcmp(buf, "new!", 4));
}

/* A removal that fails (here: the directory is immutable) leaves the
 * variable immutable, as it was. */
TEST(failed_delete_keeps_the_variable_immutable)
{
	int r;

	immutable_variable();
	immutable(DIR, true);
	r = efivar_delete(&test_ctx, "SlotflipTest", SF_VENDOR_GUID);
	immutable(DIR, false); /* let the harness remove the directory */
	CHECK(get_flags() & FS_IMMUTABLE_FL);
	clear_immutable();
	CHECK_EQ(r, -EPERM);
	CHECK_LOG("cannot write EFI variable SlotflipTest");
	CHECK(!(get_flags_of(DIR) & FS_IMMUTABLE_FL));
}
