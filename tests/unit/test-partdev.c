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

/* sys/class/block/NAME, a partition (PARTN, PARTNAME) when @partn > 0. */
static void sys_dev(const char *parent, const char *name, int partn,
		    const char *partname)
{
	char dir[512], path[600], text[512];
	int n;

	if (parent)
		snprintf(dir, sizeof(dir), "sys/class/block/%s/%s", parent,
			 name);
	else
		snprintf(dir, sizeof(dir), "sys/class/block/%s", name);
	CHECK(system("mkdir -p sys/class/block") == 0);
	CHECK(mkdir(dir, 0755) == 0);
	n = snprintf(text, sizeof(text), "MAJOR=254\nDEVNAME=%s\nDEVTYPE=%s\n",
		     name, partn ? "partition" : "disk");
	if (partn)
		n += snprintf(text + n, sizeof(text) - n, "PARTN=%d\n", partn);
	if (partname)
		n += snprintf(text + n, sizeof(text) - n, "PARTNAME=%s\n",
			      partname);
	snprintf(path, sizeof(path), "%s/uevent", dir);
	test_write_file(path, text, (size_t)n);
	if (partn) {
		n = snprintf(text, sizeof(text), "%d\n", partn);
		snprintf(path, sizeof(path), "%s/partition", dir);
		test_write_file(path, text, (size_t)n);
	}
	/* sysfs lists the partitions at the top too (symlinks there). */
	if (parent) {
		snprintf(path, sizeof(path), "sys/class/block/%s", name);
		snprintf(text, sizeof(text), "%s/%s", parent, name);
		CHECK(symlink(text, path) == 0);
	}
}

/* dev/sdx: a GPT disk image: 1 esp, 2 root-a, 3 "root-ä", 4 data. */
static void gpt_disk(void)
{
	if (system("command -v sfdisk >/dev/null") != 0)
		test_skip("no sfdisk (package fdisk)");
	CHECK(system("mkdir -p dev && truncate -s 8M dev/sdx && "
		     "printf '%s\\n' 'label: gpt' "
		     "'start=2048, size=2048, name=esp, "
		     "uuid=5F1E0000-0000-4000-8000-000000000001' "
		     "'size=2048, name=root-a, "
		     "uuid=5F1E0000-0000-4000-8000-000000000002' "
		     "'size=2048, name=\"root-\xc3\xa4\", "
		     "uuid=5F1E0000-0000-4000-8000-000000000003' "
		     "'size=2048, name=data, "
		     "uuid=5F1E0000-0000-4000-8000-000000000004' | "
		     "sfdisk -q dev/sdx >/dev/null") == 0);
	sys_dev(NULL, "sdx", 0, NULL);
	sys_dev("sdx", "sdx1", 1, "esp");
	sys_dev("sdx", "sdx2", 2, "root-a");
	/* The kernel keeps the low byte of each UTF-16 unit: ä -> 0xe4,
	 * not printable -> '!'. */
	sys_dev("sdx", "sdx3", 3, "root-!");
	sys_dev("sdx", "sdx4", 4, "data");
}

static int find(const char *spec, char *buf)
{
	return sf_partdev_find("sys", "dev", spec, buf, 64);
}

TEST(partlabel_from_the_kernels_names)
{
	char buf[64];

	/* No device nodes at all: only sysfs can answer. */
	sys_dev(NULL, "vda", 0, NULL);
	sys_dev("vda", "vda1", 1, "esp");
	sys_dev("vda", "vda2", 2, "root-a");
	sys_dev("vda", "vda4", 4, "data");
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

	gpt_disk();
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

	gpt_disk();
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

	gpt_disk();
	/* As if the kernel had no PARTNAME for sdx2. */
	test_write_file("sys/class/block/sdx/sdx2/uevent", uevent,
			sizeof(uevent) - 1);
	CHECK_EQ(find("PARTLABEL=root-a", buf), 0);
	CHECK_STREQ(buf, "dev/sdx2");
}

TEST(a_name_on_two_disks_takes_the_first_table)
{
	char buf[64];

	gpt_disk();
	/* A second disk whose kernel name says "data" but has no table. */
	sys_dev(NULL, "sdy", 0, NULL);
	sys_dev("sdy", "sdy1", 1, "data");
	CHECK_EQ(find("PARTLABEL=data", buf), 0);
	CHECK_STREQ(buf, "dev/sdx4");
}

TEST(refusals)
{
	char buf[64], small[8];

	sys_dev(NULL, "vda", 0, NULL);
	sys_dev("vda", "vda2", 2, "root-a");
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

	gpt_disk();
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
	sys_dev(NULL, "vda", 0, NULL);
	CHECK_EQ(sf_partdev_stamp("sys", &a), 0);
	CHECK_EQ(sf_partdev_stamp("sys", &b), 0);
	CHECK(a == b);
	sys_dev("vda", "vda1", 1, "esp");
	CHECK_EQ(sf_partdev_stamp("sys", &b), 0);
	CHECK(a != b);
}

/* The matcher sf_partdev_find and the ESP lookup (lib/bootentry) share. */
TEST(partlist_match)
{
	blkid_probe pr;
	blkid_partlist ls;
	blkid_partition p;

	gpt_disk();
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
