// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>

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
