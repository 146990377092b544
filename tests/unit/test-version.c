// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "version.h"

static int cmp(const char *a, const char *b)
{
	int c = 99;

	CHECK_EQ(sf_version_cmp_str(a, b, &c), 0);
	return c;
}

TEST(semantic_versions_order_numerically)
{
	CHECK(cmp("1.10.0", "1.9.3") > 0);
	CHECK(cmp("1.9.3", "1.10.0") < 0);
	CHECK(cmp("2", "1.99") > 0);
	CHECK(cmp("2026.11.3", "2026.2.30") > 0);
	CHECK(cmp("0.0.1", "0") > 0);
	CHECK(cmp("4294967295", "4294967294") > 0);
}

TEST(missing_parts_count_as_zero)
{
	CHECK_EQ(cmp("1.2", "1.2.0"), 0);
	CHECK_EQ(cmp("1.2.0.0.0", "1.2"), 0);
	CHECK(cmp("1.2.0.1", "1.2") > 0);
	CHECK_EQ(cmp("3", "3"), 0);
}

TEST(parse_keeps_parts)
{
	struct sf_version v;

	CHECK_EQ(sf_version_parse("1.2.3.4.5.6.7.8", &v), 0);
	CHECK_EQ(v.n_parts, 8);
	CHECK_EQ(v.part[0], 1);
	CHECK_EQ(v.part[7], 8);
}

TEST(refuses_non_versions)
{
	static const char *const bad[] = {
		"",	      "1.",   "1..2", "01",	 "1.02",
		"v1",	      "1.2a", "-1",   "1.-2",	 "1.2.3.4.5.6.7.8.9",
		"4294967296", " 1",   "1 ",   "1.2-rc1", "99999999999999999999",
		".1",	      "1,2",
	};
	struct sf_version v = { .n_parts = 42 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sf_version_parse(bad[i], &v) != -EINVAL)
			test_fail(__FILE__, __LINE__, "accepted \"%s\"",
				  bad[i]);
		CHECK_EQ(v.n_parts, 42);
	}
	CHECK_EQ(sf_version_parse(NULL, &v), -EINVAL);
}

TEST(refuses_too_long)
{
	char s[80];

	/* 8 parts of 9 digits: 79 characters, over the 63 limit. */
	strcpy(s, "111111111");
	for (int i = 0; i < 7; i++)
		strcat(s, ".111111111");
	CHECK(strlen(s) > SF_VERSION_MAX_LEN);
	{
		struct sf_version v;
		CHECK_EQ(sf_version_parse(s, &v), -EINVAL);
	}
}

static void version_file(const char *text)
{
	CHECK_EQ(system("mkdir -p etc/slotflip"), 0);
	test_write_file("etc/slotflip/version", text, strlen(text));
}

TEST(version_file_first_line)
{
	char v[SF_VERSION_MAX_LEN + 1] = "x";

	CHECK_EQ(sf_version_file_read(&test_ctx, v, sizeof(v)), -ENOENT);
	CHECK_STREQ(v, ""); /* left empty on failure */
	version_file("2.0\n");
	CHECK_EQ(sf_version_file_read(&test_ctx, v, sizeof(v)), 0);
	CHECK_STREQ(v, "2.0");
	version_file("1.2.3\nbuilt by ci\n");
	CHECK_EQ(sf_version_file_read(&test_ctx, v, sizeof(v)), 0);
	CHECK_STREQ(v, "1.2.3");
}

TEST(version_file_not_a_version)
{
	char v[8] = "keep", big[200];

	version_file("1.0-rc1\n");
	CHECK_EQ(sf_version_file_read(&test_ctx, v, sizeof(v)), -EINVAL);
	version_file("");
	CHECK_EQ(sf_version_file_read(&test_ctx, v, sizeof(v)), -EINVAL);
	/* Does not fit @buf: refused, not cut; @buf left empty. */
	version_file("1.2.3.4\n");
	CHECK_EQ(sf_version_file_read(&test_ctx, v, 7), -EINVAL);
	CHECK_STREQ(v, "");
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	version_file(big);
	CHECK_EQ(sf_version_file_read(&test_ctx, v, sizeof(v)), -EINVAL);
}
