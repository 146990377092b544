// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "writeq.h"

#define FILE_SIZE (1u << 20)
#define BLOCK 4096u

static int open_file(const char *path, int flags)
{
	int fd = open(path, flags | O_CREAT | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	return fd;
}

/*
 * Every block of a file written through the queue, in a scrambled order,
 * from one buffer the caller changes as soon as each write is queued: the
 * file holds what was asked, with and without the writeback flag.
 */
static void writes_land(unsigned threads, unsigned flags)
{
	uint8_t *want = malloc(FILE_SIZE), block[BLOCK];
	struct sf_writeq *q;
	size_t len;
	uint8_t *got;
	int fd = open_file("f", O_RDWR | O_TRUNC);

	CHECK(want);
	test_fill_random(want, FILE_SIZE, 11);
	CHECK_EQ(sf_writeq_start(&q, fd, threads, 8 * BLOCK, flags), 0);
	for (uint32_t i = 0; i < FILE_SIZE / BLOCK; i++) {
		uint32_t b = (i * 37) % (FILE_SIZE / BLOCK);

		memcpy(block, want + (size_t)b * BLOCK, BLOCK);
		CHECK_EQ(sf_writeq_add(q, block, BLOCK, (uint64_t)b * BLOCK),
			 0);
		memset(block, 0xee, BLOCK);
	}
	CHECK_EQ(sf_writeq_finish(q), 0);
	close(fd);
	got = test_read_file("f", &len);
	CHECK_EQ(len, FILE_SIZE);
	CHECK(memcmp(got, want, FILE_SIZE) == 0);
	free(got);
	free(want);
}

TEST(every_write_lands_where_asked)
{
	writes_land(4, 0);
	writes_land(1, SF_WRITEQ_WRITEBACK);
	writes_land(SF_WRITEQ_THREADS_MAX, 0);
}

/* A write larger than the queue's bound waits for an empty queue. */
TEST(write_larger_than_the_bound_goes_through)
{
	uint8_t big[16 * BLOCK], small[BLOCK];
	struct sf_writeq *q;
	size_t len;
	uint8_t *got;
	int fd = open_file("f", O_RDWR | O_TRUNC);

	test_fill_random(big, sizeof(big), 5);
	memset(small, 'x', sizeof(small));
	CHECK_EQ(sf_writeq_start(&q, fd, 2, 2 * BLOCK, 0), 0);
	CHECK_EQ(sf_writeq_add(q, small, sizeof(small), 0), 0);
	CHECK_EQ(sf_writeq_add(q, big, sizeof(big), BLOCK), 0);
	CHECK_EQ(sf_writeq_add(q, small, 10, sizeof(big) + BLOCK), 0);
	CHECK_EQ(sf_writeq_finish(q), 0);
	close(fd);
	got = test_read_file("f", &len);
	CHECK_EQ(len, sizeof(big) + BLOCK + 10);
	CHECK(memcmp(got, small, BLOCK) == 0);
	CHECK(memcmp(got + BLOCK, big, sizeof(big)) == 0);
	CHECK(memcmp(got + BLOCK + sizeof(big), small, 10) == 0);
	free(got);
}

/*
 * A write that fails (past the file size limit) is reported by the next
 * add and by finish; the writes queued after it are not made.
 */
TEST(failed_write_reported_and_later_ones_not_made)
{
	struct rlimit lim = { FILE_SIZE, FILE_SIZE };
	uint8_t block[BLOCK];
	struct sf_writeq *q;
	struct stat st;
	int fd = open_file("f", O_RDWR | O_TRUNC), r = 0;

	signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(block, 'y', sizeof(block));
	CHECK_EQ(sf_writeq_start(&q, fd, 1, 4 * BLOCK, 0), 0);
	CHECK_EQ(sf_writeq_add(q, block, BLOCK, 2 * FILE_SIZE), 0);
	/* One writer, in order: the writes after the failed one wait for it. */
	for (int i = 0; i < 1000 && r == 0; i++) {
		r = sf_writeq_add(q, block, BLOCK, 0);
		if (r == 0)
			usleep(1000);
	}
	CHECK_EQ(r, -EFBIG);
	CHECK_EQ(sf_writeq_finish(q), -EFBIG);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 0);
	close(fd);
}

/* Writes into a descriptor that takes none: the error comes out at finish. */
TEST(write_error_reported_at_finish)
{
	uint8_t block[BLOCK] = { 0 };
	struct sf_writeq *q;
	int fd = open_file("f", O_RDONLY);

	CHECK_EQ(sf_writeq_start(&q, fd, 3, 4 * BLOCK, 0), 0);
	CHECK_EQ(sf_writeq_add(q, block, BLOCK, 0), 0);
	CHECK_EQ(sf_writeq_finish(q), -EBADF);
	close(fd);
}

TEST(start_refuses_thread_counts_out_of_range)
{
	struct sf_writeq *q = NULL;

	CHECK_EQ(sf_writeq_start(&q, 0, 0, BLOCK, 0), -EINVAL);
	CHECK_EQ(sf_writeq_start(&q, 0, SF_WRITEQ_THREADS_MAX + 1, BLOCK, 0),
		 -EINVAL);
	CHECK(q == NULL);
}
