// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initplan.h"
#include "testlib.h"

TEST(init_opts_defaults)
{
	struct sf_init_opts o;
	char bad[64];

	sf_init_opts_parse("console=ttyS0 slotflip.slot=a", &o, bad,
			   sizeof(bad));
	CHECK_EQ(o.timeout_s, 10);
	CHECK_EQ(o.watchdog_s, 30);
	CHECK_EQ(o.fail_delay_s, 10);
	CHECK_STREQ(o.init, "/sbin/init");
	CHECK_STREQ(bad, "");
}

TEST(init_opts_set)
{
	struct sf_init_opts o;
	char bad[64];

	sf_init_opts_parse("slotflip.timeout=3 slotflip.watchdog=60 "
			   "slotflip.fail-delay=1 slotflip.init=/bin/sh",
			   &o, bad, sizeof(bad));
	CHECK_EQ(o.timeout_s, 3);
	CHECK_EQ(o.watchdog_s, 60);
	CHECK_EQ(o.fail_delay_s, 1);
	CHECK_STREQ(o.init, "/bin/sh");
	CHECK_STREQ(bad, "");
}

TEST(init_opts_bad_values_keep_defaults_and_are_named)
{
	struct sf_init_opts o;
	char bad[128];

	sf_init_opts_parse("slotflip.timeout=0 slotflip.watchdog=x "
			   "slotflip.fail-delay=3601 slotflip.init=sbin/init",
			   &o, bad, sizeof(bad));
	CHECK_EQ(o.timeout_s, 10);
	CHECK_EQ(o.watchdog_s, 30);
	CHECK_EQ(o.fail_delay_s, 10);
	CHECK_STREQ(o.init, "/sbin/init");
	CHECK_STREQ(bad, "slotflip.timeout slotflip.watchdog "
			 "slotflip.fail-delay slotflip.init");
	sf_init_opts_parse("slotflip.timeout=-1 slotflip.watchdog=5s", &o, bad,
			   sizeof(bad));
	CHECK_STREQ(bad, "slotflip.timeout slotflip.watchdog");
}

static const char list[] = "# modules slotflip-init loads\n"
			   "virtio_pci\n"
			   "  virtio-blk   # the disk\n"
			   "\n"
			   "vfat\r\n"
			   "efivarfs";

TEST(modlist_parses_names_comments_blanks)
{
	char names[8][SF_MODULE_NAME_MAX];
	unsigned line = 0;

	CHECK_EQ(sf_modlist_parse(list, strlen(list), names, 8, &line), 4);
	CHECK_STREQ(names[0], "virtio_pci");
	CHECK_STREQ(names[1], "virtio-blk");
	CHECK_STREQ(names[2], "vfat");
	CHECK_STREQ(names[3], "efivarfs");
	CHECK_EQ(sf_modlist_parse("", 0, names, 8, &line), 0);
}

TEST(modlist_refuses_bad_name_with_line)
{
	char names[8][SF_MODULE_NAME_MAX];
	unsigned line = 0;
	const char *bad = "vfat\n# ok\nfoo bar\n";

	CHECK_EQ(sf_modlist_parse(bad, strlen(bad), names, 8, &line), -EINVAL);
	CHECK_EQ(line, 3);
	bad = "../../evil\n";
	CHECK_EQ(sf_modlist_parse(bad, strlen(bad), names, 8, &line), -EINVAL);
	CHECK_EQ(line, 1);
}

TEST(modlist_refuses_too_many_and_too_long)
{
	char names[2][SF_MODULE_NAME_MAX];
	char longname[SF_MODULE_NAME_MAX + 2];
	unsigned line = 0;

	CHECK_EQ(sf_modlist_parse("a\nb\nc\n", 6, names, 2, &line), -E2BIG);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ(sf_modlist_parse(longname, strlen(longname), names, 2, &line),
		 -EINVAL);
	CHECK_EQ(line, 1);
}

/* The device node dev/NAME. */
static void node(const char *name)
{
	char path[300];

	CHECK(system("mkdir -p dev") == 0);
	snprintf(path, sizeof(path), "dev/%s", name);
	test_write_file(path, "", 0);
}

static void devwait_init(struct sf_devwait *w, const char *a, const char *b)
{
	memset(w, 0, sizeof(*w));
	w->sysfs = "sys";
	w->devdir = "dev";
	w->spec[w->n++] = a;
	if (b)
		w->spec[w->n++] = b;
}

/* Names the kernel shows are found in sysfs: no table is read. */
TEST(devwait_partlabel_from_sysfs_alone)
{
	struct sf_devwait w;

	test_sys_block(NULL, "vda", 0, NULL);
	node("vda");
	test_sys_block(NULL, "vda2", 1, "root-a");
	devwait_init(&w, "PARTLABEL=root-a", NULL);
	for (int i = 0; i < 30; i++)
		CHECK_EQ(sf_devwait_look(&w), 1u); /* no node yet */
	CHECK_EQ(w.table_reads, 0u);
	node("vda2");
	CHECK_EQ(sf_devwait_look(&w), 0u);
	CHECK_STREQ(w.dev[0], "dev/vda2");
	CHECK_EQ(w.table_reads, 0u);
}

/* A PARTUUID= not there: the tables are read at the first look, then
 * only when a block device comes, or every SF_DEVWAIT_TABLE_TICKS looks;
 * a device found stays found. */
TEST(devwait_tables_read_when_sysfs_changes)
{
	struct sf_devwait w;
	char path[600];

	CHECK(getcwd(path, 512) != NULL);
	strcat(path, "/slot-b");
	test_sys_block(NULL, "vda", 0, NULL);
	node("vda");
	devwait_init(&w, "PARTUUID=5f1e0000-0000-4000-8000-000000000009", path);
	CHECK_EQ(sf_devwait_look(&w), 2u);
	CHECK_EQ(w.table_reads, 1u);
	for (unsigned i = 1; i < SF_DEVWAIT_TABLE_TICKS; i++)
		CHECK_EQ(sf_devwait_look(&w), 2u);
	CHECK_EQ(w.table_reads, 1u);
	CHECK_EQ(sf_devwait_look(&w), 2u);
	CHECK_EQ(w.table_reads, 2u);
	test_sys_block(NULL, "vdb", 0, NULL);
	node("vdb");
	CHECK_EQ(sf_devwait_look(&w), 2u);
	CHECK_EQ(w.table_reads, 3u);
	test_write_file("slot-b", "", 0);
	CHECK_EQ(sf_devwait_look(&w), 1u);
	CHECK_STREQ(w.dev[1], path);
	CHECK_EQ(w.table_reads, 3u);
	CHECK_EQ(unlink("slot-b"), 0);
	CHECK_EQ(sf_devwait_look(&w), 1u);
}

/* A PARTUUID= in a disk's table is found there. */
TEST(devwait_partuuid_from_the_table)
{
	struct sf_devwait w;

	test_gpt_disk();
	node("sdx4");
	devwait_init(&w, "PARTUUID=5f1e0000-0000-4000-8000-000000000004", NULL);
	CHECK_EQ(sf_devwait_look(&w), 0u);
	CHECK_STREQ(w.dev[0], "dev/sdx4");
	CHECK_EQ(w.table_reads, 1u);
}
