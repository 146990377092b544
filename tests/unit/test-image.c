// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "image.h"
#include "imgwrite.h"
#include "testlib.h"
#include "util.h"

struct keys {
	struct ms_pubkey pk[3];
	struct ms_seckey sk[3];
};

static void make_keys(struct keys *k)
{
	for (int i = 0; i < 3; i++)
		CHECK_EQ(ms_keygen(&k->pk[i], &k->sk[i]), 0);
}

/* rootfs: 300 KiB of text-like data with a zero run; efi: 20 KiB. */
static void make_payloads(void)
{
	static uint8_t r[300 * 1024], e[20 * 1024];

	test_fill_random(r, sizeof(r), 1);
	for (size_t i = 0; i < sizeof(r); i++)
		r[i] = (uint8_t)('a' + r[i] % 7);
	memset(r + 64 * 1024, 0, 128 * 1024);
	test_fill_random(e, sizeof(e), 2);
	test_write_file("rootfs", r, sizeof(r));
	test_write_file("efi", e, sizeof(e));
}

static int create(const char *out, const char *version, const struct keys *k,
		  unsigned n_keys, const char *delta_from)
{
	struct sf_create_opts o = {
		.rootfs = "rootfs",
		.efi = "efi",
		.version = version,
		.compatible = "acme-gw",
		.chunk_size = 65536,
		.delta_from = delta_from,
		.keys = k->sk,
		.n_keys = n_keys,
		.build_time = 1700000000,
	};

	return sf_image_create(&test_ctx, &o, out);
}

static int open_check(const char *path, const struct ms_pubkey *keys,
		      unsigned n, unsigned threshold)
{
	struct sf_image *img = NULL;
	int r = sf_image_open(&test_ctx, path, &img);

	if (r >= 0)
		r = sf_image_check_signatures(&test_ctx, img, keys, n,
					      threshold);
	if (r >= 0) {
		int v = sf_image_verify_data(&test_ctx, img, 2, NULL, NULL);

		r = v < 0 ? v : r;
	}
	sf_image_close(img);
	return r;
}

static bool dir_has_tmp(void)
{
	DIR *d = opendir(".");
	struct dirent *e;
	bool found = false;

	while ((e = readdir(d)))
		found |= strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return found;
}

TEST(create_then_verify)
{
	struct keys k;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), 1);
	CHECK(!dir_has_tmp());
}

TEST(threshold_counts_distinct_trusted_keys)
{
	struct keys k;
	struct ms_pubkey twice[2];

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 2, NULL), 0);
	CHECK_EQ(open_check("a.img", k.pk, 2, 2), 2);
	CHECK_EQ(open_check("a.img", k.pk, 3, 2), 2);
	test_log_buf[0] = 0;
	CHECK_EQ(open_check("a.img", k.pk, 3, 3), -EKEYREJECTED);
	CHECK_LOG("valid signatures from 2 of the 3 trusted keys, 3 required");
	/* The same key given twice counts once. */
	twice[0] = twice[1] = k.pk[0];
	CHECK_EQ(open_check("a.img", twice, 2, 2), -EKEYREJECTED);
	/* Only an untrusted key. */
	CHECK_EQ(open_check("a.img", &k.pk[2], 1, 1), -EKEYREJECTED);
}

TEST(add_signature_raises_count_once)
{
	struct keys k;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(open_check("a.img", k.pk, 2, 2), -EKEYREJECTED);
	CHECK_EQ(sf_image_add_signature(&test_ctx, "a.img", &k.sk[1]), 0);
	CHECK_EQ(open_check("a.img", k.pk, 2, 2), 2);
	CHECK_EQ(sf_image_add_signature(&test_ctx, "a.img", &k.sk[1]), -EEXIST);
	CHECK(!dir_has_tmp());
}

TEST(signature_block_fills_up)
{
	struct sf_sigblock sb = { .n = 0 };
	char text[SF_SIG_MAX_LEN + 2];
	uint8_t block[SF_SIGBLOCK_SIZE];
	unsigned n = 0;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	CHECK_EQ(sf_sigblock_add(&sb, text), -ENOSPC);
	text[1000] = 0;
	while (sf_sigblock_add(&sb, text) == 0)
		n++;
	CHECK_EQ(n, 16); /* 16 x 1004 bytes fit in 16 KiB */
	CHECK_EQ(sf_sigblock_encode(&sb, block), 0);
	sf_sigblock_free(&sb);
	CHECK_EQ(sf_sigblock_parse(&test_ctx, block, &sb), 0);
	CHECK_EQ(sb.n, 16);
	CHECK_EQ(sb.len[15], 1000);
	sf_sigblock_free(&sb);
}

TEST(signature_block_refusals)
{
	struct sf_sigblock sb = { .n = 0 };
	uint8_t block[SF_SIGBLOCK_SIZE];

	CHECK_EQ(sf_sigblock_add(&sb, "hello"), 0);
	CHECK_EQ(sf_sigblock_encode(&sb, block), 0);
	sf_sigblock_free(&sb);
	block[12 + 4 + 5] = 'z';
	CHECK_EQ(sf_sigblock_parse(&test_ctx, block, &sb), -EBADMSG);
	CHECK_LOG("bytes after the signatures");
	block[12 + 4 + 5] = 0;
	le32_store(block + 8, 17);
	CHECK_EQ(sf_sigblock_parse(&test_ctx, block, &sb), -EBADMSG);
	le32_store(block + 8, 1);
	le32_store(block + 12, 60000);
	CHECK_EQ(sf_sigblock_parse(&test_ctx, block, &sb), -EBADMSG);
	CHECK_LOG("signature 0 is corrupt");
	le32_store(block + 12, 5);
	block[16 + 2] = 0; /* a NUL inside a signature */
	CHECK_EQ(sf_sigblock_parse(&test_ctx, block, &sb), -EBADMSG);
}

static void patch_file(const char *path, uint64_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0);
	CHECK_EQ(pwrite_full(fd, p, n, off), 0);
	close(fd);
}

TEST(header_refusals)
{
	struct keys k;
	struct sf_image *img = NULL;
	uint8_t v[8];

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	le32_store(v, 3);
	patch_file("a.img", 8, v, 4);
	CHECK_EQ(sf_image_open(&test_ctx, "a.img", &img), -EPROTONOSUPPORT);
	CHECK_LOG("image format version 3, this reader knows 1 to 2");
	/* The header's version must be the (signed) manifest's. */
	le32_store(v, 1);
	patch_file("a.img", 8, v, 4);
	CHECK_EQ(sf_image_open(&test_ctx, "a.img", &img), 0);
	CHECK_EQ(sf_image_load_manifest(&test_ctx, img), -EBADMSG);
	CHECK_LOG("manifest of format version 2 in an image of version 1");
	sf_image_close(img);
	img = NULL;
	le64_store(v, 1ull << 40);
	patch_file("a.img", 16, v, 8);
	CHECK_EQ(sf_image_open(&test_ctx, "a.img", &img), -EBADMSG);
	CHECK_LOG("manifest size 1099511627776 out of bounds");
	patch_file("a.img", 0, "NOTSLOTF", 8);
	CHECK_EQ(sf_image_open(&test_ctx, "a.img", &img), -EBADMSG);
	CHECK_LOG("not a slotflip image");
	CHECK(img == NULL);
}

TEST(truncated_or_extended_is_refused)
{
	struct keys k;
	struct stat st;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(stat("a.img", &st), 0);
	CHECK_EQ(truncate("a.img", st.st_size - 1), 0);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), -EBADMSG);
	CHECK_LOG("truncated or extended");
	CHECK_EQ(truncate("a.img", st.st_size + 4096), 0);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), -EBADMSG);
	CHECK_EQ(truncate("a.img", 5000), 0);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), -EBADMSG);
	CHECK_LOG("truncated (5000 bytes");
	CHECK_EQ(truncate("a.img", 10), 0);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), -EBADMSG);
	CHECK_LOG("not a slotflip image (only 10 bytes)");
}

TEST(symlink_and_directory_refused)
{
	struct keys k;
	struct sf_image *img = NULL;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(symlink("a.img", "link.img"), 0);
	CHECK(sf_image_open(&test_ctx, "link.img", &img) < 0);
	CHECK_EQ(mkdir("dir.img", 0755), 0);
	CHECK_EQ(sf_image_open(&test_ctx, "dir.img", &img), -EBADMSG);
	CHECK_LOG("not a regular file");
}

/* A FIFO is refused at once: its open does not wait for a writer. */
TEST(fifo_refused_without_blocking)
{
	struct sf_image *img = NULL;

	alarm(5);
	CHECK_EQ(mkfifo("fifo.img", 0644), 0);
	CHECK_EQ(sf_image_open(&test_ctx, "fifo.img", &img), -EBADMSG);
	CHECK_LOG("fifo.img: not a regular file");
	CHECK(img == NULL);
}

TEST(trusted_comment_must_name_manifest)
{
	struct keys k;
	struct sf_image *img = NULL;
	uint8_t block[SF_SIGBLOCK_SIZE];
	struct sf_sigblock sb = { .n = 0 };
	char *text = NULL;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(sf_image_open(&test_ctx, "a.img", &img), 0);
	/* A valid signature of this manifest whose comment says 2.0. */
	CHECK_EQ(ms_sign(&test_ctx, &k.sk[0], img->manifest_raw,
			 img->manifest_size,
			 "slotflip image compatible:acme-gw version:2.0",
			 &text),
		 0);
	CHECK_EQ(sf_sigblock_add(&sb, text), 0);
	CHECK_EQ(sf_sigblock_encode(&sb, block), 0);
	patch_file("a.img", img->sig_offset, block, sizeof(block));
	sf_image_close(img);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), -EKEYREJECTED);
	CHECK_LOG("does not name compatible acme-gw and version 1.0");
	free(text);
	sf_sigblock_free(&sb);
}

TEST(create_refusals_leave_nothing)
{
	struct keys k;
	struct sf_create_opts o = { .rootfs = "rootfs",
				    .efi = "efi",
				    .version = "1.0",
				    .compatible = "acme",
				    .n_keys = 1 };

	make_keys(&k);
	make_payloads();
	o.keys = k.sk;
	o.version = "1.0-beta";
	CHECK_EQ(sf_image_create(&test_ctx, &o, "x.img"), -EINVAL);
	CHECK_LOG("is not 1 to 8 dot-separated numbers");
	o.version = "1.0";
	o.compatible = "acme gw";
	CHECK_EQ(sf_image_create(&test_ctx, &o, "x.img"), -EINVAL);
	CHECK_LOG("compatible string must be");
	o.compatible = "acme";
	o.chunk_size = 3000;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "x.img"), -EINVAL);
	o.chunk_size = 0;
	o.rootfs = "missing";
	CHECK_EQ(sf_image_create(&test_ctx, &o, "x.img"), -ENOENT);
	CHECK_LOG("cannot open missing");
	o.rootfs = "rootfs";
	o.n_keys = 0;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "x.img"), -EINVAL);
	CHECK(access("x.img", F_OK) != 0);
	CHECK(!dir_has_tmp());
}

TEST(delta_base_must_be_full_older_same_device)
{
	struct keys k;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("v1.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(create("v2.img", "1.1", &k, 1, "v1.img"), 0);
	CHECK_EQ(create("v3.img", "1.2", &k, 1, "v2.img"), -EBADMSG);
	CHECK_LOG("is itself a delta image");
	CHECK_EQ(create("v0.img", "1.0", &k, 1, "v1.img"), -EBADMSG);
	CHECK_LOG("has version 1.0, not below 1.0");
	CHECK_EQ(create("v0.img", "0.9", &k, 1, "v1.img"), -EBADMSG);
	CHECK(!dir_has_tmp());
	/* Identical payloads: the delta carries no data at all. */
	{
		struct sf_image *img = NULL;

		CHECK_EQ(sf_image_open(&test_ctx, "v2.img", &img), 0);
		CHECK_EQ(sf_image_load_manifest(&test_ctx, img), 0);
		CHECK_EQ(img->m.data_size, 0);
		CHECK_STREQ(img->m.base_version, "1.0");
		sf_image_close(img);
	}
}

TEST(verify_names_the_bad_chunk)
{
	struct keys k;
	struct sf_image *img = NULL;
	uint64_t off;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("a.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(sf_image_open(&test_ctx, "a.img", &img), 0);
	CHECK_EQ(sf_image_load_manifest(&test_ctx, img), 0);
	/* Chunk 4 (bytes 262144-307199 of rootfs) is its last. */
	off = img->data_offset + img->m.chunks[4].data_offset + 7;
	sf_image_close(img);
	patch_file("a.img", off, "\x01", 1);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), -EBADMSG);
	CHECK_LOG("chunk 4 (zstd, bytes 262144-307199 of rootfs)");
}

/* Flip every byte of a small image in turn: each flip is refused. */
TEST(every_byte_flip_is_refused)
{
	static uint8_t r[20000], e[1000];
	struct keys k;
	struct sf_create_opts o = {
		.rootfs = "rootfs",
		.efi = "efi",
		.version = "1.0",
		.compatible = "acme-gw",
		.chunk_size = 4096,
		.keys = NULL,
		.n_keys = 1,
		.build_time = 1,
	};
	struct sf_ctx quiet = test_ctx;
	struct stat st;
	unsigned long n = 0;
	int fd;

	make_keys(&k);
	o.keys = k.sk;
	test_fill_random(r, sizeof(r), 5);
	memset(r + 8192, 0, 4096);
	test_fill_random(e, sizeof(e), 6);
	test_write_file("rootfs", r, sizeof(r));
	test_write_file("efi", e, sizeof(e));
	CHECK_EQ(sf_image_create(&test_ctx, &o, "a.img"), 0);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), 1);
	CHECK_EQ(stat("a.img", &st), 0);
	fd = open("a.img", O_RDWR);
	quiet.log_fn = NULL;
	for (off_t off = 0; off < st.st_size; off++) {
		uint8_t b;
		struct sf_image *img = NULL;
		int rc;

		CHECK_EQ(pread(fd, &b, 1, off), 1);
		b ^= 0x01;
		CHECK_EQ(pwrite(fd, &b, 1, off), 1);
		rc = sf_image_open(&quiet, "a.img", &img);
		if (rc >= 0)
			rc = sf_image_check_signatures(&quiet, img, k.pk, 1, 1);
		if (rc >= 0)
			rc = sf_image_verify_data(&quiet, img, 1, NULL, NULL);
		sf_image_close(img);
		if (rc >= 0)
			test_fail(__FILE__, __LINE__, "flip at %lld accepted",
				  (long long)off);
		b ^= 0x01;
		CHECK_EQ(pwrite(fd, &b, 1, off), 1);
		n++;
	}
	close(fd);
	CHECK_EQ(open_check("a.img", k.pk, 1, 1), 1);
	printf("  %lu single-byte flips, all refused\n", n);
}

static int pread_file(void *data, uint64_t offset, void *buf, size_t len)
{
	return pread_full(*(int *)data, buf, len, offset);
}

static void last_progress(void *data, uint64_t done, uint64_t total)
{
	uint64_t *seen = data;

	seen[0] = done;
	seen[1] = total;
}

/* Base and patch chunks of @img: what needs the base to be decoded. */
static uint32_t base_chunks(const struct sf_image *img)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < img->m.n_chunks; i++)
		n += img->m.chunks[i].form == SF_FORM_BASE ||
		     img->m.chunks[i].form == SF_FORM_PATCH;
	return n;
}

/* verify --content: the same answer on 1 and on 4 threads; a delta's
 * base chunks are counted unless its bases are given, and a wrong base is
 * refused. */
TEST(verify_content_full_and_delta)
{
	struct sf_base bases[SF_MAX_PAYLOADS + 1] = { { .read = NULL } };
	uint64_t seen[2] = { 0, 0 };
	struct sf_image *img = NULL;
	uint32_t unchecked = 99;
	struct keys k;
	int fd_r, fd_e;

	make_keys(&k);
	make_payloads();
	CHECK_EQ(create("v1.img", "1.0", &k, 1, NULL), 0);
	CHECK_EQ(rename("rootfs", "rootfs.v1"), 0);
	CHECK_EQ(rename("efi", "efi.v1"), 0);
	make_payloads();
	patch_file("rootfs", 70000, "changed", 7);
	CHECK_EQ(create("v2.img", "1.1", &k, 1, "v1.img"), 0);
	for (unsigned threads = 1; threads <= 4; threads += 3) {
		CHECK_EQ(sf_image_open(&test_ctx, "v1.img", &img), 0);
		CHECK_EQ(sf_image_verify_content(&test_ctx, img, bases, threads,
						 last_progress, seen,
						 &unchecked),
			 0);
		CHECK_EQ(unchecked, 0);
		CHECK_EQ(seen[0], (300 + 20) * 1024);
		CHECK_EQ(seen[1], (300 + 20) * 1024);
		sf_image_close(img);
		CHECK_EQ(sf_image_open(&test_ctx, "v2.img", &img), 0);
		CHECK_EQ(sf_image_verify_content(&test_ctx, img, NULL, threads,
						 NULL, NULL, &unchecked),
			 0);
		CHECK(unchecked > 0);
		CHECK_EQ(unchecked, base_chunks(img));
		sf_image_close(img);
	}
	fd_r = open("rootfs.v1", O_RDONLY);
	fd_e = open("efi.v1", O_RDONLY);
	CHECK(fd_r >= 0 && fd_e >= 0);
	bases[SF_PAYLOAD_ROOTFS] = (struct sf_base){ .read = pread_file,
						     .data = &fd_r,
						     .size = 0 };
	bases[SF_PAYLOAD_EFI] = (struct sf_base){ .read = pread_file,
						  .data = &fd_e,
						  .size = 0 };
	CHECK_EQ(sf_image_open(&test_ctx, "v2.img", &img), 0);
	CHECK_EQ(sf_image_verify_content(&test_ctx, img, bases, 2, NULL, NULL,
					 &unchecked),
		 0);
	CHECK_EQ(unchecked, 0);
	/* A rootfs base of the right size but other bytes: not what the
	 * delta was made against. */
	close(fd_r);
	{
		static uint8_t other[300 * 1024];

		test_fill_random(other, sizeof(other), 9);
		test_write_file("other", other, sizeof(other));
	}
	fd_r = open("other", O_RDONLY);
	CHECK(fd_r >= 0);
	unchecked = 99;
	CHECK_EQ(sf_image_verify_content(&test_ctx, img, bases, 2, NULL, NULL,
					 &unchecked),
		 -EXDEV);
	CHECK_LOG(
		"the base does not hold the data this delta was made against");
	CHECK_EQ(unchecked, 99);
	sf_image_close(img);
	close(fd_r);
	close(fd_e);
}

/* Image @path: its format and how many chunks have form @form. */
static void check_forms(const char *path, uint32_t format, uint8_t form,
			uint32_t want)
{
	struct sf_image *img = NULL;
	uint32_t n = 0;

	CHECK_EQ(sf_image_open(&test_ctx, path, &img), 0);
	CHECK_EQ(sf_image_load_manifest(&test_ctx, img), 0);
	CHECK_EQ(img->format, format);
	CHECK_EQ(img->m.format, format);
	for (uint32_t i = 0; i < img->m.n_chunks; i++)
		n += img->m.chunks[i].form == form;
	CHECK_EQ(n, want);
	sf_image_close(img);
}

/* Version 1 (zlib only), version 2 with zlib or zstd (the default), and
 * a version 2 delta against a version 1 base: each verifies with its
 * content checked. The payloads have 3 compressible chunks and 2 zero
 * chunks of rootfs, and 1 random (stored) efi chunk. */
TEST(format_and_codec_choices)
{
	struct sf_base bases[SF_MAX_PAYLOADS + 1] = { { .read = NULL } };
	struct sf_create_opts o = {
		.rootfs = "rootfs",
		.efi = "efi",
		.version = "1.0",
		.compatible = "acme-gw",
		.chunk_size = 65536,
		.build_time = 1700000000,
		.format = 1,
	};
	struct sf_image *img = NULL;
	uint32_t unchecked = 99;
	struct keys k;
	int fd;

	make_keys(&k);
	make_payloads();
	o.keys = k.sk;
	o.n_keys = 1;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "v1.img"), 0);
	check_forms("v1.img", 1, SF_FORM_DEFLATE, 3);
	o.codec = SF_CODEC_ZSTD;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "bad.img"), -EINVAL);
	CHECK_LOG("format 1 has no zstd chunks");
	o.format = 2;
	o.level = 10;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "zstd10.img"), 0);
	check_forms("zstd10.img", 2, SF_FORM_ZSTD, 3);
	o.level = 20;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "bad.img"), -EINVAL);
	CHECK_LOG("zstd compression level must be 1 to 19");
	o.codec = SF_CODEC_ZLIB;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "bad.img"), -EINVAL);
	CHECK_LOG("zlib compression level must be 1 to 9");
	o.level = 0;
	CHECK_EQ(sf_image_create(&test_ctx, &o, "zlib2.img"), 0);
	check_forms("zlib2.img", 2, SF_FORM_DEFLATE, 3);
	check_forms("zlib2.img", 2, SF_FORM_ZSTD, 0);
	o.codec = SF_CODEC_DEFAULT;
	o.format = 0;
	o.version = "1.1";
	o.delta_from = "v1.img";
	patch_file("rootfs", 200 * 1024, "changed", 7);
	CHECK_EQ(sf_image_create(&test_ctx, &o, "d.img"), 0);
	check_forms("d.img", 2, SF_FORM_ZSTD, 0);
	CHECK(!unlink("rootfs"));
	make_payloads();
	fd = open("rootfs", O_RDONLY);
	CHECK(fd >= 0);
	bases[SF_PAYLOAD_ROOTFS] =
		(struct sf_base){ .read = pread_file, .data = &fd, .size = 0 };
	CHECK_EQ(sf_image_open(&test_ctx, "d.img", &img), 0);
	CHECK_EQ(sf_image_verify_content(&test_ctx, img, bases, 2, NULL, NULL,
					 &unchecked),
		 0);
	CHECK_EQ(unchecked, 1); /* the efi chunk: no base given */
	sf_image_close(img);
	for (unsigned i = 0; i < 3; i++) {
		const char *p = i == 0	 ? "v1.img"
				: i == 1 ? "zlib2.img"
					 : "d.img";

		CHECK_EQ(open_check(p, k.pk, 1, 1), 1);
	}
	close(fd);
}
