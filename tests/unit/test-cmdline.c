// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "booted.h"
#include "cmdline.h"
#include "testlib.h"
#include "util.h"

TEST(cmdline_value_found_last_wins)
{
	char buf[32];

	CHECK_EQ(sf_cmdline_value("console=ttyS0 slotflip.timeout=5 quiet "
				  "slotflip.timeout=7\n",
				  "slotflip.timeout", buf, sizeof(buf)),
		 0);
	CHECK_STREQ(buf, "7");
}

TEST(cmdline_value_needs_whole_key)
{
	char buf[32];

	CHECK_EQ(sf_cmdline_value("xslotflip.init=/a slotflip.initx=/b",
				  "slotflip.init", buf, sizeof(buf)),
		 -ENOENT);
	CHECK_EQ(sf_cmdline_value("slotflip.init", "slotflip.init", buf,
				  sizeof(buf)),
		 -ENOENT);
	CHECK_EQ(sf_cmdline_value("", "slotflip.init", buf, sizeof(buf)),
		 -ENOENT);
}

TEST(cmdline_value_quoted_and_too_long)
{
	char buf[8];

	CHECK_EQ(sf_cmdline_value("a=\"x y\" b=1", "a", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "x y");
	CHECK_EQ(sf_cmdline_value("a=12345678", "a", buf, sizeof(buf)),
		 -ENAMETOOLONG);
	CHECK_EQ(sf_cmdline_value("a=1234567", "a", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "1234567");
}

TEST(cmdline_slot)
{
	CHECK_EQ(sf_cmdline_slot("root=/dev/sda2 slotflip.slot=a quiet"), 0);
	CHECK_EQ(sf_cmdline_slot("slotflip.slot=b\n"), 1);
	CHECK_EQ(sf_cmdline_slot("slotflip.slot=a slotflip.slot=b"), 1);
	CHECK_EQ(sf_cmdline_slot("quiet"), -ENOENT);
	CHECK_EQ(sf_cmdline_slot("slotflip.slot=c"), -ENOENT);
	CHECK_EQ(sf_cmdline_slot("slotflip.slot=ab"), -ENOENT);
	CHECK_EQ(sf_cmdline_slot("xslotflip.slot=a"), -ENOENT);
	CHECK_EQ(sf_cmdline_slot("slotflip.slot="), -ENOENT);
}

/* slotflip-init's options and the booted slot read one word the same way:
 * a quoted value is unquoted, a quoted word hides what it holds. */
TEST(cmdline_slot_quoted_as_the_options)
{
	static const char *const lines[] = {
		"slotflip.slot=\"b\" quiet",
		"quiet foo=\"x slotflip.slot=b\" slotflip.timeout=\"5\"",
		"slotflip.slot=b \"slotflip.slot=a\"",
		"slotflip.slot=a\tslotflip.slot=b\n",
	};
	static const int slot[] = { 1, -ENOENT, 1, 1 };
	char v[8];

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		int r = sf_cmdline_value(lines[i], "slotflip.slot", v,
					 sizeof(v));

		CHECK_EQ(sf_cmdline_slot(lines[i]), slot[i]);
		CHECK_EQ(r == 0 ? v[0] - 'a' : r, slot[i]);
	}
}

TEST(cmdline_read_under_the_root)
{
	char line[32];

	CHECK_EQ(sf_cmdline_read(&test_ctx, line, sizeof(line)), -ENOENT);
	CHECK_STREQ(line, "");
	CHECK_EQ(system("mkdir -p proc"), 0);
	test_write_file("proc/cmdline", "slotflip.slot=b\n", 16);
	CHECK_EQ(sf_cmdline_read(&test_ctx, line, sizeof(line)), 16);
	CHECK_STREQ(line, "slotflip.slot=b\n");
}

/* Bare words ("ro", "rw"): the last of them wins, whole words only. */
TEST(cmdline_last_flag)
{
	static const char *const flags[] = { "ro", "rw" };

	CHECK_EQ(sf_cmdline_last_flag("quiet", flags, 2), -ENOENT);
	CHECK_EQ(sf_cmdline_last_flag("", flags, 2), -ENOENT);
	CHECK_EQ(sf_cmdline_last_flag("ro", flags, 2), 0);
	CHECK_EQ(sf_cmdline_last_flag("a=\"x rw\" ro\n", flags, 2), 0);
	CHECK_EQ(sf_cmdline_last_flag("ro quiet rw", flags, 2), 1);
	CHECK_EQ(sf_cmdline_last_flag("rw ro", flags, 2), 0);
	CHECK_EQ(sf_cmdline_last_flag("rw=0 rwx xro rootflags=rw", flags, 2),
		 -ENOENT);
}
