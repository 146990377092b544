// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "imgwrite.h"
#include "staging.h"
#include "testlib.h"
#include "util.h"

/* An image's start as slotflip-image writes it: header, manifest head. */
static void head(uint8_t *buf, uint64_t manifest, uint64_t data)
{
	struct sf_manifest m = { .data_size = data };
	uint8_t fixed[SF_MANIFEST_FIXED];

	memset(buf, 0, SF_IMAGE_HEAD_BYTES);
	sf_image_header_encode(buf, SF_FORMAT_VERSION, manifest);
	sf_manifest_encode(&m, fixed);
	memcpy(buf + SF_HEADER_SIZE, fixed, SF_MANIFEST_HEAD_BYTES);
}

TEST(claimed_size)
{
	uint8_t buf[SF_IMAGE_HEAD_BYTES];
	uint64_t size = 0;

	/* docs/FORMAT.md: D = align4096(4096 + M) + 16384; file = D + data. */
	head(buf, 1000, 5000);
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), 0);
	CHECK_EQ(size, 8192 + 16384 + 5000);
	head(buf, 4096, 0);
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), 0);
	CHECK_EQ(size, 8192 + 16384);
}

TEST(claimed_size_refusals)
{
	uint8_t buf[SF_IMAGE_HEAD_BYTES];
	uint64_t size = 42;

	head(buf, 1000, 5000);
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf) - 1, &size), -EBADMSG);
	buf[0] = 'X';
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), -EBADMSG);
	head(buf, 1000, 5000);
	buf[8] = 3;
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size),
		 -EPROTONOSUPPORT);
	head(buf, 1000, 5000);
	buf[100] = 1; /* reserved byte set: sf_image_open() refuses it too */
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), -EBADMSG);
	head(buf, 100, 5000); /* manifest too small */
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), -EBADMSG);
	head(buf, 1000, 5000);
	buf[SF_HEADER_SIZE] = 'x';
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), -EBADMSG);
	head(buf, 1000, 1ull << 60);
	CHECK_EQ(sf_image_claimed_size(buf, sizeof(buf), &size), -EBADMSG);
	CHECK_EQ(size, 42);
}

TEST(staged_path)
{
	struct sf_config cfg = { .data_dir = "/run/slotflip/data" };
	struct sf_ctx ctx = { .root = "/tmp/r" };
	char buf[64];

	CHECK_EQ(sf_staged_path(&ctx, &cfg, "staged.img", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "/tmp/r/run/slotflip/data/slotflip/staged.img");
	ctx.root = "/";
	CHECK_EQ(sf_staged_path(&ctx, &cfg, "last-result", buf, sizeof(buf)),
		 0);
	CHECK_STREQ(buf, "/run/slotflip/data/slotflip/last-result");
	CHECK_EQ(sf_staged_path(&ctx, &cfg, "staged.img", buf, 10),
		 -ENAMETOOLONG);
}

/* slotflip-init's whole reason (up to 511 bytes) comes back to status. */
TEST(last_result_long_reason)
{
	struct sf_config cfg = { .data_dir = "/data" };
	struct sf_last_result lr = { .time = 1700000000 }, got;
	char want[SF_LAST_REASON_MAX];
	int dfd;

	CHECK_EQ(mkdir("data", 0755), 0);
	dfd = sf_staging_dir_open(&test_ctx, &cfg, true);
	CHECK(dfd >= 0);
	CHECK_EQ(sf_last_result_read(dfd, &got), -ENOENT);
	snprintf(lr.result, sizeof(lr.result), "refused");
	snprintf(lr.slot, sizeof(lr.slot), "b");
	snprintf(lr.version, sizeof(lr.version), "1.2.3");
	for (size_t i = 0; i < sizeof(lr.reason) - 1; i++)
		lr.reason[i] = (char)('a' + i % 26);
	lr.reason[sizeof(lr.reason) - 1] = '\0';
	lr.reason[200] = '\n'; /* one line: a newline becomes a space */
	memcpy(want, lr.reason, sizeof(want));
	want[200] = ' ';
	CHECK_EQ(sf_last_result_write(&test_ctx, dfd, &lr), 0);
	CHECK_EQ(sf_last_result_read(dfd, &got), 0);
	CHECK_STREQ(got.result, "refused");
	CHECK_EQ(got.time, 1700000000);
	CHECK_STREQ(got.slot, "b");
	CHECK_STREQ(got.version, "1.2.3");
	CHECK_EQ(strlen(got.reason), SF_LAST_REASON_MAX - 1);
	CHECK_STREQ(got.reason, want);
	/* A link in its place is not followed. */
	CHECK_EQ(rename("data/slotflip/last-result", "elsewhere"), 0);
	CHECK_EQ(symlink("../../elsewhere", "data/slotflip/last-result"), 0);
	CHECK_EQ(sf_last_result_read(dfd, &got), -ELOOP);
	close(dfd);
}

/* The parser alone: unknown keys and lines without '=' skipped, fields
 * cut, @len honoured without a NUL, a NUL byte ends the text. */
TEST(last_result_parse)
{
	static const char text[] = "junk line\nresult=applied\nwho=me\n"
				   "slot=abcdefghij\ntime=17\n\nreason=a=b";
	struct sf_last_result got = { .time = 9 };
	char big[SF_LAST_RESULT_TEXT_MAX + 100];

	sf_last_result_parse(text, sizeof(text) - 1, &got);
	CHECK_STREQ(got.result, "applied");
	CHECK_STREQ(got.slot, "abcdefg");
	CHECK_EQ(got.time, 17);
	CHECK_STREQ(got.version, "");
	CHECK_STREQ(got.reason, "a=b");
	/* Not NUL-terminated: only @len bytes are read. */
	sf_last_result_parse("slot=a\nresult=xyz", 10, &got);
	CHECK_STREQ(got.slot, "a");
	CHECK_STREQ(got.result, "");
	CHECK_STREQ(got.reason, "");
	CHECK_EQ(got.time, 0);
	sf_last_result_parse("slot=a\0result=xyz", 17, &got);
	CHECK_STREQ(got.result, "");
	/* Longer than any file we write: the start is parsed. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "slot=b\nreason=", 14);
	sf_last_result_parse(big, sizeof(big), &got);
	CHECK_STREQ(got.slot, "b");
	CHECK_EQ(strlen(got.reason), SF_LAST_REASON_MAX - 1);
	sf_last_result_parse("", 0, &got);
	CHECK_STREQ(got.slot, "");
}

/* The staged image's id is the start of its manifest hash. */
TEST(staged_id)
{
	struct sf_config cfg = { .data_dir = "/data" };
	struct ms_pubkey pk;
	struct ms_seckey sk;
	struct sf_create_opts o = { .rootfs = "rootfs",
				    .version = "1.0",
				    .compatible = "acme-gw",
				    .keys = &sk,
				    .n_keys = 1,
				    .threads = 1 };
	const char *path = "data/slotflip/staged.img";
	uint8_t id[SF_IMAGE_ID_BYTES], rootfs[8192];
	struct sf_image *img = NULL;
	int dfd;

	memset(id, 0xee, sizeof(id));
	CHECK_EQ(mkdir("data", 0755), 0);
	dfd = sf_staging_dir_open(&test_ctx, &cfg, true);
	CHECK(dfd >= 0);
	CHECK_EQ(sf_staged_id(dfd, id), -ENOENT);
	test_write_file(path, "not an image", 12);
	CHECK_EQ(sf_staged_id(dfd, id), -EBADMSG);
	CHECK_EQ(id[0], 0xee); /* untouched on failure */
	CHECK_EQ(ms_keygen(&pk, &sk), 0);
	test_fill_random(rootfs, sizeof(rootfs), 7);
	test_write_file("rootfs", rootfs, sizeof(rootfs));
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(sf_image_create(&test_ctx, &o, path), 0);
	CHECK_EQ(sf_staged_id(dfd, id), 0);
	CHECK_EQ(sf_image_open(&test_ctx, path, &img), 0);
	CHECK(!memcmp(id, img->manifest_hash, sizeof(id)));
	sf_image_close(img);
	close(dfd);
}

/*
 * A FIFO planted as staged.img or last-result (an attacker who can write
 * the data partition) is refused at once: open() must not wait for a
 * writer (slotflip-init runs this as PID 1). SIGALRM fails a hang.
 */
TEST(fifo_staged_and_last_result_refused_without_blocking)
{
	struct sf_config cfg = { .data_dir = "/data" };
	struct sf_last_result got = { .time = 42 };
	struct sf_image *img = NULL;
	uint8_t id[SF_IMAGE_ID_BYTES];
	int dfd;

	alarm(5);
	CHECK_EQ(mkdir("data", 0755), 0);
	dfd = sf_staging_dir_open(&test_ctx, &cfg, true);
	CHECK(dfd >= 0);
	CHECK_EQ(mkfifo("data/slotflip/staged.img", 0644), 0);
	CHECK_EQ(mkfifo("data/slotflip/last-result", 0644), 0);
	CHECK_EQ(sf_staged_id(dfd, id), -EBADMSG);
	CHECK_EQ(sf_staged_open(&test_ctx, &cfg, dfd, SF_STAGED_NAME, &img),
		 -EBADMSG);
	CHECK_LOG("./data/slotflip/staged.img: not a regular file");
	CHECK(img == NULL);
	CHECK_EQ(sf_last_result_read(dfd, &got), -EINVAL);
	CHECK_EQ(got.time, 42); /* untouched */
	close(dfd);
}

/* The staging directory: made on demand, never reached through a link. */
TEST(staging_dir_open)
{
	struct sf_config cfg = { .data_dir = "/data" };
	struct sf_last_result lr = { .time = 1 };
	struct stat st;
	int dfd;

	/* The data partition is not there: nothing is made. */
	CHECK_EQ(sf_staging_dir_open(&test_ctx, &cfg, true), -ENOENT);
	CHECK_EQ(mkdir("data", 0755), 0);
	CHECK_EQ(sf_staging_dir_open(&test_ctx, &cfg, false), -ENOENT);
	dfd = sf_staging_dir_open(&test_ctx, &cfg, true);
	CHECK(dfd >= 0);
	CHECK_EQ(stat("data/slotflip", &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0755);
	close(dfd);
	dfd = sf_staging_dir_open(&test_ctx, &cfg, false);
	CHECK(dfd >= 0);
	close(dfd);

	/* A link to another directory: refused, made or not. */
	CHECK_EQ(rmdir("data/slotflip"), 0);
	CHECK_EQ(mkdir("elsewhere", 0755), 0);
	CHECK_EQ(symlink("../elsewhere", "data/slotflip"), 0);
	CHECK_EQ(sf_staging_dir_open(&test_ctx, &cfg, false), -ELOOP);
	CHECK_LOG("./data/slotflip is a symbolic link: slotflip does not "
		  "follow it");
	CHECK_LOG("remove the link (rm ./data/slotflip)");
	CHECK_EQ(sf_staging_dir_open(&test_ctx, &cfg, true), -ELOOP);
	/* A dangling one is not made either. */
	CHECK_EQ(unlink("data/slotflip"), 0);
	CHECK_EQ(symlink("../nowhere", "data/slotflip"), 0);
	CHECK_EQ(sf_staging_dir_open(&test_ctx, &cfg, true), -ELOOP);
	CHECK_EQ(lstat("nowhere", &st), -1);
	/* A file in its place. */
	CHECK_EQ(unlink("data/slotflip"), 0);
	test_write_file("data/slotflip", "x", 1);
	CHECK_EQ(sf_staging_dir_open(&test_ctx, &cfg, true), -ENOTDIR);
	CHECK_LOG("./data/slotflip is not a directory: remove it");

	/* Files are reached through the fd: a link swapped in for the
	 * directory after it was opened is not written through. */
	CHECK_EQ(unlink("data/slotflip"), 0);
	dfd = sf_staging_dir_open(&test_ctx, &cfg, true);
	CHECK(dfd >= 0);
	CHECK_EQ(rename("data/slotflip", "data/moved"), 0);
	CHECK_EQ(symlink("../elsewhere", "data/slotflip"), 0);
	CHECK_EQ(sf_last_result_write(&test_ctx, dfd, &lr), 0);
	CHECK_EQ(stat("data/moved/last-result", &st), 0);
	CHECK_EQ(lstat("elsewhere/last-result", &st), -1);
	close(dfd);
}
