// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <unistd.h>

#include "cliutil.h"
#include "testlib.h"

TEST(parse_uint_plain_decimal_only)
{
	unsigned long v = 7;

	CHECK(sf_parse_uint("3", 16, &v) && v == 3);
	CHECK(sf_parse_uint("16", 16, &v) && v == 16);
	CHECK(sf_parse_uint("1700000000", ~0ul, &v) && v == 1700000000);
	v = 7;
	CHECK(!sf_parse_uint("17", 16, &v));
	CHECK(!sf_parse_uint("0", 16, &v));
	CHECK(!sf_parse_uint("", 16, &v));
	CHECK(!sf_parse_uint("+3", 16, &v));
	CHECK(!sf_parse_uint("-3", 16, &v));
	CHECK(!sf_parse_uint(" 3", 16, &v));
	CHECK(!sf_parse_uint("3 ", 16, &v));
	CHECK(!sf_parse_uint("0x3", 16, &v));
	CHECK(!sf_parse_uint("99999999999999999999999", ~0ul, &v));
	CHECK(!sf_parse_uint(NULL, 16, &v));
	CHECK_EQ(v, 7);
}

/* Not a terminal: with lines, one line per tenth reached, each once,
 * whatever order and repetition the reports come in; without, nothing. */
static char *progress_output(bool lines)
{
	struct sf_progress p;
	static const uint64_t done[] = {
		0, 5, 10, 10, 19, 35, 30, 99, 100, 120
	};
	size_t len;
	char *out;
	int fd;

	fflush(stdout);
	fd = dup(STDOUT_FILENO);
	CHECK(freopen("out.txt", "w", stdout) != NULL);
	sf_progress_init(&p, "copying", lines);
	p.tty = false; /* the case's stderr may be a terminal */
	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		sf_progress_update(&p, done[i], 100);
	sf_progress_end(&p);
	fflush(stdout);
	CHECK(dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
	close(fd);
	out = test_read_file("out.txt", &len);
	return out;
}

TEST(progress_lines_each_tenth_once)
{
	char *out = progress_output(true);

	CHECK_STREQ(out, "copying: 10%\ncopying: 30%\ncopying: 90%\n"
			 "copying: 100%\n");
	free(out);
	out = progress_output(false);
	CHECK_STREQ(out, "");
	free(out);
}
