// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The root's mode: "ro" and "rw" as the kernel reads them, last wins. */
TEST(init_opts_ro_rw_last_wins_default_ro)
{
	static const struct {
		const char *line;
		bool rw;
	} cases[] = {
		{ "root=/dev/vda2 quiet", false },
		{ "ro", false },
		{ "rw", true },
		{ "console=ttyS0 rw slotflip.slot=a", true },
		{ "ro quiet rw", true },
		{ "rw ro", false },
		{ "rw\tro\n", false },
		{ "ro rw\n", true },
		/* Only the bare words count. */
		{ "rw=1 xrw rwx \"rw \" slotflip.rw", false },
		{ "rootflags=rw", false },
	};
	struct sf_init_opts o;
	char bad[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sf_init_opts_parse(cases[i].line, &o, bad, sizeof(bad));
		if (o.rw != cases[i].rw)
			test_fail(__FILE__, __LINE__, "\"%s\": rw is %d",
				  cases[i].line, o.rw);
		CHECK_STREQ(bad, "");
	}
}

/* ---- the slot's init, resolved inside its root --------------------- */

static void mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			test_fail(__FILE__, __LINE__, "mkdir %s: %m", buf);
		*s = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		test_fail(__FILE__, __LINE__, "mkdir %s: %m", buf);
}

static void parent_of(const char *path)
{
	char buf[512];
	char *s;

	snprintf(buf, sizeof(buf), "%s", path);
	s = strrchr(buf, '/');
	if (s && s != buf) {
		*s = '\0';
		mkdirs(buf);
	}
}

/* A file in the case's directory, with its directories and @mode. */
static void file(const char *path, mode_t mode)
{
	parent_of(path);
	test_write_file(path, "#!/bin/sh\n", 10);
	CHECK_EQ(chmod(path, mode), 0);
}

static void link_to(const char *target, const char *path)
{
	parent_of(path);
	CHECK_EQ(symlink(target, path), 0);
}

/* Resolve @path in the case's "root"; the resolved path or the stop. */
static int resolve(const char *path, char *out, char *at)
{
	int fd, r;

	mkdirs("root");
	fd = open("root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	strcpy(out, "untouched");
	strcpy(at, "");
	r = sf_init_resolve(fd, path, out, 256, at, 256);
	close(fd);
	return r;
}

TEST(init_resolve_plain_file)
{
	char out[256], at[256];

	file("root/sbin/init", 0755);
	CHECK_EQ(resolve("/sbin/init", out, at), 0);
	CHECK_STREQ(out, "/sbin/init");
	CHECK_EQ(resolve("//sbin/./init", out, at), 0);
	CHECK_STREQ(out, "/sbin/init");
}

/* Debian's: /sbin/init -> /lib/systemd/systemd, looked up in the root,
 * not where slotflip-init runs (where that target does not exist). */
TEST(init_resolve_absolute_link_inside_the_root)
{
	char out[256], at[256];

	file("root/lib/sftest-systemd/systemd", 0755);
	link_to("/lib/sftest-systemd/systemd", "root/sbin/init");
	CHECK(access("/lib/sftest-systemd/systemd", F_OK) < 0);
	CHECK_EQ(resolve("/sbin/init", out, at), 0);
	CHECK_STREQ(out, "/lib/sftest-systemd/systemd");
}

/* An absolute target that exists only outside the root is missing. */
TEST(init_resolve_absolute_link_never_reaches_outside)
{
	char out[256], at[256];

	CHECK(access("/bin/sh", X_OK) == 0);
	link_to("/bin/sh", "root/sbin/init");
	CHECK_EQ(resolve("/sbin/init", out, at), -ENOENT);
	CHECK_STREQ(at, "/bin");
	CHECK_STREQ(out, "untouched");
}

TEST(init_resolve_relative_link)
{
	char out[256], at[256];

	file("root/bin/busybox", 0755);
	link_to("../bin/busybox", "root/sbin/init");
	CHECK_EQ(resolve("/sbin/init", out, at), 0);
	CHECK_STREQ(out, "/bin/busybox");
	link_to("busybox", "root/bin/init");
	CHECK_EQ(resolve("/bin/init", out, at), 0);
	CHECK_STREQ(out, "/bin/busybox");
}

/* Debian 12 with merged /usr: /sbin and /lib are links to usr/..., and
 * /usr/sbin/init an absolute link through /lib. */
TEST(init_resolve_chain_of_links_merged_usr)
{
	char out[256], at[256];

	file("root/usr/lib/systemd/systemd", 0755);
	link_to("usr/sbin", "root/sbin");
	link_to("usr/lib", "root/lib");
	link_to("/lib/systemd/systemd", "root/usr/sbin/init");
	CHECK_EQ(resolve("/sbin/init", out, at), 0);
	CHECK_STREQ(out, "/usr/lib/systemd/systemd");
}

/* 40 links are followed, the 41st is a loop (as the kernel counts). */
TEST(init_resolve_link_count_bounded)
{
	char out[256], at[256], name[32], target[32];

	file("root/bin/real", 0755);
	link_to("/bin/real", "root/l40");
	for (int i = 39; i >= 1; i--) {
		snprintf(name, sizeof(name), "root/l%d", i);
		snprintf(target, sizeof(target), "l%d", i + 1);
		link_to(target, name);
	}
	CHECK_EQ(resolve("/l1", out, at), 0);
	CHECK_STREQ(out, "/bin/real");
	link_to("l1", "root/l0");
	CHECK_EQ(resolve("/l0", out, at), -ELOOP);
}

TEST(init_resolve_link_loop)
{
	char out[256], at[256];

	link_to("/sbin/init2", "root/sbin/init");
	link_to("../sbin/init", "root/sbin/init2");
	CHECK_EQ(resolve("/sbin/init", out, at), -ELOOP);
	CHECK_STREQ(at, "/sbin/init"); /* the 41st link */
	CHECK_STREQ(out, "untouched");
	link_to("self", "root/self");
	CHECK_EQ(resolve("/self", out, at), -ELOOP);
	CHECK_STREQ(sf_init_resolve_why(-ELOOP),
		    "is a link loop (more than 40 links)");
}

/* ".." never goes above the root: ../../.. ends at the root's own /bin,
 * and a file beside the root is not reached. */
TEST(init_resolve_dotdot_stays_in_the_root)
{
	char out[256], at[256];

	file("root/bin/sh", 0755);
	link_to("../../../../../../bin/sh", "root/sbin/init");
	CHECK_EQ(resolve("/sbin/init", out, at), 0);
	CHECK_STREQ(out, "/bin/sh");
	CHECK_EQ(resolve("/../../sbin/../../bin/sh", out, at), 0);
	CHECK_STREQ(out, "/bin/sh");
	file("outside", 0755);
	link_to("../../outside", "root/sbin/escape");
	CHECK_EQ(access("root/sbin/../../outside", X_OK), 0);
	CHECK_EQ(resolve("/sbin/escape", out, at), -ENOENT);
	CHECK_STREQ(at, "/outside");
	link_to("/../outside", "root/sbin/escape2");
	CHECK_EQ(resolve("/sbin/escape2", out, at), -ENOENT);
}

TEST(init_resolve_missing_target)
{
	char out[256], at[256];

	link_to("/lib/systemd/systemd", "root/sbin/init");
	mkdirs("root/lib");
	CHECK_EQ(resolve("/sbin/init", out, at), -ENOENT);
	CHECK_STREQ(at, "/lib/systemd");
	CHECK_EQ(resolve("/sbin/nothing", out, at), -ENOENT);
	CHECK_STREQ(at, "/sbin/nothing");
	CHECK_STREQ(out, "untouched");
	CHECK_STREQ(sf_init_resolve_why(-ENOENT), "does not exist");
}

TEST(init_resolve_not_executable)
{
	char out[256], at[256];

	file("root/lib/systemd/systemd", 0644);
	link_to("/lib/systemd/systemd", "root/sbin/init");
	CHECK_EQ(resolve("/sbin/init", out, at), -EACCES);
	CHECK_STREQ(at, "/lib/systemd/systemd");
	CHECK_EQ(mkfifo("root/sbin/fifo", 0755), 0);
	CHECK_EQ(resolve("/sbin/fifo", out, at), -EACCES);
	CHECK_STREQ(out, "untouched");
}

TEST(init_resolve_directory)
{
	char out[256], at[256];

	mkdirs("root/sbin/init");
	CHECK_EQ(resolve("/sbin/init", out, at), -EISDIR);
	CHECK_STREQ(at, "/sbin/init");
	link_to("/sbin", "root/bin/init");
	CHECK_EQ(resolve("/bin/init", out, at), -EISDIR);
	CHECK_EQ(resolve("/", out, at), -EISDIR);
	CHECK_STREQ(out, "untouched");
}

/* A file where a directory is needed on the way. */
TEST(init_resolve_file_on_the_way)
{
	char out[256], at[256];

	file("root/sbin/init", 0755);
	CHECK_EQ(resolve("/sbin/init/x", out, at), -ENOTDIR);
	CHECK_STREQ(at, "/sbin/init");
	CHECK_EQ(resolve("/sbin/init/", out, at), -ENOTDIR);
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
