// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sf_partdev_find on a fake sysfs (sys/class/block/NAME/uevent and
 * partition files, as the kernel lays them out) and fake device nodes
 * (regular files holding GPT disk images made by sfdisk).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partdev.h"
#include "testlib.h"

static int find(const char *spec, char *buf)
{
	return sf_partdev_find("sys", "dev", spec, buf, 64);
}

TEST(partlabel_from_the_kernels_names)
{
	char buf[64];

	/* No device nodes at all: only sysfs can answer. */
	test_sys_block(NULL, "vda", 0, NULL);
	test_sys_block("vda", "vda1", 1, "esp");
	test_sys_block("vda", "vda2", 2, "root-a");
	test_sys_block("vda", "vda4", 4, "data");
	CHECK_EQ(find("PARTLABEL=root-a", buf), 0);
	CHECK_STREQ(buf, "dev/vda2");
	CHECK_EQ(find("PARTLABEL=data", buf), 0);
	CHECK_STREQ(buf, "dev/vda4");
	CHECK_EQ(find("PARTLABEL=root", buf), -ENOENT);
	CHECK_EQ(find("PARTLABEL=root-b", buf), -ENOENT);
}

TEST(partuuid_from_the_partition_table)
{
	char buf[64];

	test_gpt_disk();
	CHECK_EQ(find("PARTUUID=5f1e0000-0000-4000-8000-000000000003", buf), 0);
	CHECK_STREQ(buf, "dev/sdx3");
	CHECK_EQ(find("PARTUUID=5F1E0000-0000-4000-8000-000000000004", buf), 0);
	CHECK_STREQ(buf, "dev/sdx4");
	CHECK_EQ(find("PARTUUID=5f1e0000-0000-4000-8000-000000000009", buf),
		 -ENOENT);
}

TEST(names_the_kernel_mangles_come_from_the_table)
{
	char buf[64];

	test_gpt_disk();
	CHECK_EQ(find("PARTLABEL=root-\xc3\xa4", buf), 0);
	CHECK_STREQ(buf, "dev/sdx3");
	/* The kernel's mangled form is not the partition's name. */
	CHECK_EQ(find("PARTLABEL=root-!", buf), -ENOENT);
}

TEST(a_name_the_kernel_does_not_show_comes_from_the_table)
{
	static const char uevent[] = "DEVNAME=sdx2\nDEVTYPE=partition\n"
				     "PARTN=2\n";
	char buf[64];

	test_gpt_disk();
	/* As if the kernel had no PARTNAME for sdx2. */
	test_write_file("sys/class/block/sdx/sdx2/uevent", uevent,
			sizeof(uevent) - 1);
	CHECK_EQ(find("PARTLABEL=root-a", buf), 0);
	CHECK_STREQ(buf, "dev/sdx2");
}

TEST(a_name_on_two_disks_takes_the_first_table)
{
	char buf[64];

	test_gpt_disk();
	/* A second disk whose kernel name says "data" but has no table. */
	test_sys_block(NULL, "sdy", 0, NULL);
	test_sys_block("sdy", "sdy1", 1, "data");
	CHECK_EQ(find("PARTLABEL=data", buf), 0);
	CHECK_STREQ(buf, "dev/sdx4");
}

TEST(refusals)
{
	char buf[64], small[8];

	test_sys_block(NULL, "vda", 0, NULL);
	test_sys_block("vda", "vda2", 2, "root-a");
	CHECK_EQ(find("LABEL=root-a", buf), -EINVAL);
	CHECK_EQ(find("PARTLABEL=", buf), -EINVAL);
	CHECK_EQ(find("PARTUUID=", buf), -EINVAL);
	CHECK_EQ(sf_partdev_find("sys", "dev", "PARTLABEL=root-a", small,
				 sizeof(small)),
		 -ENAMETOOLONG);
	CHECK_EQ(sf_partdev_find("nosys", "dev", "PARTLABEL=root-a", buf,
				 sizeof(buf)),
		 -ENOENT);
}

/* The sysfs-only look never reads a table: it says when one must be. */
TEST(sysfs_only_says_when_the_tables_must_tell)
{
	char buf[64];

	test_gpt_disk();
	CHECK_EQ(sf_partdev_find_sysfs("sys", "dev", "PARTLABEL=root-a", buf,
				       sizeof(buf)),
		 0);
	CHECK_STREQ(buf, "dev/sdx2");
	CHECK_EQ(sf_partdev_find_sysfs(
			 "sys", "dev",
			 "PARTUUID=5f1e0000-0000-4000-8000-000000000003", buf,
			 sizeof(buf)),
		 -EAGAIN);
	CHECK_EQ(sf_partdev_find_sysfs("sys", "dev", "PARTLABEL=root-\xc3\xa4",
				       buf, sizeof(buf)),
		 -EAGAIN);
	CHECK_EQ(sf_partdev_find_sysfs("sys", "dev", "PARTLABEL=nope", buf,
				       sizeof(buf)),
		 -EAGAIN);
	CHECK_EQ(sf_partdev_find_sysfs("sys", "dev", "LABEL=x", buf,
				       sizeof(buf)),
		 -EINVAL);
	/* What sysfs could not settle, the tables alone do. */
	CHECK_EQ(sf_partdev_find_tables(
			 "sys", "dev",
			 "PARTUUID=5f1e0000-0000-4000-8000-000000000003", buf,
			 sizeof(buf)),
		 0);
	CHECK_STREQ(buf, "dev/sdx3");
	CHECK_EQ(sf_partdev_find_tables("sys", "dev", "LABEL=x", buf,
					sizeof(buf)),
		 -EINVAL);
}

TEST(stamp_changes_with_the_block_devices)
{
	uint64_t a, b;

	CHECK_EQ(sf_partdev_stamp("sys", &a), -ENOENT);
	test_sys_block(NULL, "vda", 0, NULL);
	CHECK_EQ(sf_partdev_stamp("sys", &a), 0);
	CHECK_EQ(sf_partdev_stamp("sys", &b), 0);
	CHECK(a == b);
	test_sys_block("vda", "vda1", 1, "esp");
	CHECK_EQ(sf_partdev_stamp("sys", &b), 0);
	CHECK(a != b);
}

/* The matcher sf_partdev_find and the ESP lookup (lib/bootentry) share. */
TEST(partlist_match)
{
	blkid_probe pr;
	blkid_partlist ls;
	blkid_partition p;

	test_gpt_disk();
	pr = blkid_new_probe_from_filename("dev/sdx");
	CHECK(pr != NULL);
	ls = blkid_probe_get_partitions(pr);
	CHECK(ls != NULL);
	p = sf_partlist_match(ls, "PARTLABEL=root-a");
	CHECK(p && blkid_partition_get_partno(p) == 2);
	p = sf_partlist_match(ls, "PARTLABEL=root-\xc3\xa4");
	CHECK(p && blkid_partition_get_partno(p) == 3);
	p = sf_partlist_match(ls,
			      "PARTUUID=5f1e0000-0000-4000-8000-000000000004");
	CHECK(p && blkid_partition_get_partno(p) == 4);
	CHECK(!sf_partlist_match(ls, "PARTLABEL=ROOT-A")); /* names: exact */
	CHECK(!sf_partlist_match(ls, "PARTLABEL=nope"));
	CHECK(!sf_partlist_match(ls, "LABEL=esp"));
	CHECK(!sf_partlist_match(ls, "/dev/sdx1"));
	blkid_free_probe(pr);
}
