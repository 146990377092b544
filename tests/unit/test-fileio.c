// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

/*
 * A FIFO, a directory or a link where a regular file is wanted is refused,
 * and the open of a FIFO does not wait for a writer (SIGALRM fails a hang).
 */
TEST(open_regular_at_never_blocks)
{
	char buf[8] = { 0 };
	int dfd, fd;

	alarm(5);
	CHECK_EQ(mkdir("d", 0755), 0);
	dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	test_write_file("d/f", "abc", 3);
	CHECK_EQ(mkfifo("d/fifo", 0644), 0);
	CHECK_EQ(symlink("f", "d/link"), 0);
	fd = open_regular_at(dfd, "f", O_RDONLY | O_NOFOLLOW);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 3);
	close(fd);
	CHECK_EQ(open_regular_at(dfd, "fifo", O_RDONLY | O_NOFOLLOW), -EINVAL);
	CHECK_EQ(open_regular_at(dfd, "fifo", O_WRONLY | O_NOFOLLOW), -ENXIO);
	CHECK_EQ(open_regular_at(AT_FDCWD, "d", O_RDONLY), -EINVAL);
	CHECK_EQ(open_regular_at(dfd, "link", O_RDONLY | O_NOFOLLOW), -ELOOP);
	CHECK_EQ(open_regular_at(dfd, "absent", O_RDONLY), -ENOENT);
	close(dfd);
}

/* A slot: a regular file (tests) or a block device, nothing else. */
TEST(open_device_takes_files_and_block_devices)
{
	int fd;

	alarm(5);
	test_write_file("slot", "abc", 3);
	CHECK_EQ(mkfifo("fifo", 0644), 0);
	fd = open_device("slot", O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	CHECK_EQ(open_device("fifo", O_RDWR), -EINVAL);
	CHECK_EQ(open_device(".", O_RDONLY), -EINVAL);
	CHECK_EQ(open_device("/dev/null", O_RDONLY), -EINVAL);
	CHECK_EQ(open_device("absent", O_RDONLY), -ENOENT);
}

/* The *_at functions work in the directory of the fd given, whatever
 * takes its path's place later. */
TEST(atomic_write_and_unlink_at_a_directory_fd)
{
	char *tmp = NULL;
	struct stat st;
	size_t len;
	char *got;
	int dfd, fd;

	CHECK_EQ(mkdir("d", 0755), 0);
	CHECK_EQ(mkdir("other", 0755), 0);
	dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(rename("d", "moved"), 0);
	CHECK_EQ(symlink("other", "d"), 0);
	CHECK_EQ(write_file_atomic_at(dfd, "f", "hello", 5, 0640), 0);
	got = test_read_file("moved/f", &len);
	CHECK_EQ(len, 5);
	CHECK(!memcmp(got, "hello", 5));
	free(got);
	CHECK_EQ(stat("moved/f", &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0640);
	fd = tmpfile_create_at(dfd, "g", 0644, &tmp);
	CHECK(fd >= 0);
	CHECK(!strncmp(tmp, "g.tmp.", 6) && strlen(tmp) == 12);
	CHECK_EQ(fstatat(dfd, tmp, &st, 0), 0);
	CHECK_EQ(tmpfile_commit_at(dfd, fd, tmp, "g"), 0);
	close(fd);
	free(tmp);
	CHECK_EQ(stat("moved/g", &st), 0);
	CHECK_EQ(unlink_at_synced(dfd, "g"), 0);
	CHECK_EQ(stat("moved/g", &st), -1);
	CHECK_EQ(unlink_at_synced(dfd, "g"), -ENOENT);
	/* Nothing went through the link. */
	CHECK_EQ(system("test -z \"$(ls other)\""), 0);
	close(dfd);
}
