// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "testlib.h"

TEST(read_full_stops_at_the_end_of_the_file)
{
	char buf[100];
	int fd;

	test_write_file("f", "0123456789", 10);
	fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read_full(fd, buf, 4), 4);
	CHECK(!memcmp(buf, "0123", 4));
	CHECK_EQ(read_full(fd, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "456789", 6));
	CHECK_EQ(read_full(fd, buf, sizeof(buf)), 0);
	close(fd);
	CHECK_EQ(read_full(fd, buf, sizeof(buf)), -EBADF);
}

/*
 * A pipe whose writer hands out @piece @times times, 20 ms apart: its
 * reader gets short reads. Returns the read end; the writer's pid in
 * *@ret_pid.
 */
static int slow_pipe(const char *piece, int times, pid_t *ret_pid)
{
	size_t len = strlen(piece);
	int p[2];

	CHECK_EQ(pipe(p), 0);
	*ret_pid = fork();
	CHECK(*ret_pid >= 0);
	if (*ret_pid == 0) {
		close(p[0]);
		for (int i = 0; i < times; i++) {
			if (write(p[1], piece, len) != (ssize_t)len)
				_exit(1);
			usleep(20000);
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void slow_pipe_done(int fd, pid_t pid)
{
	int status;

	close(fd);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK_EQ(status, 0);
}

/* A pipe hands out what was written so far: short reads are retried. */
TEST(read_full_gathers_short_reads)
{
	char buf[64] = { 0 };
	pid_t pid;
	int fd = slow_pipe("abcd", 3, &pid);

	CHECK_EQ(read_full(fd, buf, 12), 12);
	CHECK_STREQ(buf, "abcdabcdabcd");
	CHECK_EQ(read_full(fd, buf, sizeof(buf)), 0);
	slow_pipe_done(fd, pid);
}

TEST(read_text_file_whole_and_terminated)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	test_write_file("v", "1.2\n", 4);
	CHECK_EQ(read_text_file("v", buf, sizeof(buf)), 4);
	CHECK_STREQ(buf, "1.2\n");
	test_write_file("e", "", 0);
	CHECK_EQ(read_text_file("e", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "");
	test_write_file("full", "1234567", 7);
	CHECK_EQ(read_text_file("full", buf, sizeof(buf)), 7);
	CHECK_STREQ(buf, "1234567");
}

/* One byte more than fits is refused, its start kept terminated. */
TEST(read_text_file_too_big_and_absent)
{
	char buf[8];

	test_write_file("big", "12345678", 8);
	CHECK_EQ(read_text_file("big", buf, sizeof(buf)), -EFBIG);
	CHECK_STREQ(buf, "1234567");
	CHECK_EQ(read_text_file("absent", buf, sizeof(buf)), -ENOENT);
	CHECK_STREQ(buf, "");
}

/* A pipe gives its bytes in pieces: all are gathered. */
TEST(read_text_file_gathers_short_reads)
{
	char buf[16], path[64];
	pid_t pid;
	int fd = slow_pipe("ab", 3, &pid);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CHECK_EQ(read_text_file(path, buf, sizeof(buf)), 6);
	CHECK_STREQ(buf, "ababab");
	slow_pipe_done(fd, pid);
}

TEST(fsync_parent)
{
	CHECK_EQ(fsync_parent("file-in-this-dir"), 0);
	CHECK_EQ(fsync_parent("missing-dir/file"), -ENOENT);
}
