// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader() */
#include <zstd.h>

#include "chunk.h"
#include "hash.h"
#include "testlib.h"
#include "util.h"

#define LEN (64 * 1024)

struct mem_base {
	const uint8_t *mem;
	size_t size;
};

static int mem_read(void *data, uint64_t off, void *buf, size_t len)
{
	const struct mem_base *b = data;

	if (off > b->size || len > b->size - off)
		return -EIO;
	memcpy(buf, b->mem + off, len);
	return 0;
}

/* Text-like data: compressible, but not trivially. */
static void fill_text(uint8_t *p, size_t n, uint32_t seed)
{
	test_fill_random(p, n, seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + p[i] % 6);
}

TEST(deflate_round_trip)
{
	static uint8_t in[LEN], out[LEN], back[LEN];
	struct sf_codec c;
	int n;

	fill_text(in, LEN, 1);
	sf_codec_init(&c, 9);
	n = sf_deflate(&c, in, LEN, NULL, out, LEN);
	CHECK(n > 0 && n < LEN);
	CHECK_EQ(sf_inflate_exact(&c, out, (uint32_t)n, NULL, back, LEN), 0);
	CHECK(!memcmp(in, back, LEN));
	/* Reused streams give the same bytes. */
	CHECK_EQ(sf_deflate(&c, in, LEN, NULL, back, LEN), n);
	CHECK(!memcmp(out, back, (size_t)n));
	sf_codec_done(&c);
}

TEST(deflate_refuses_to_grow)
{
	static uint8_t in[LEN], out[LEN];
	struct sf_codec c;

	test_fill_random(in, LEN, 2);
	sf_codec_init(&c, 9);
	CHECK_EQ(sf_deflate(&c, in, LEN, NULL, out, LEN), -ENOSPC);
	sf_codec_done(&c);
}

/* A stream that inflates to more than declared is refused (a bomb). */
TEST(inflate_refuses_longer_shorter_or_trailing)
{
	static uint8_t zeros[4 * LEN], z[LEN], out[4 * LEN];
	struct sf_codec c;
	int n;

	sf_codec_init(&c, 9);
	n = sf_deflate(&c, zeros, sizeof(zeros), NULL, z, sizeof(z));
	CHECK(n > 0 && n < 1024);
	CHECK_EQ(sf_inflate_exact(&c, z, (uint32_t)n, NULL, out, LEN),
		 -EBADMSG);
	CHECK_EQ(sf_inflate_exact(&c, z, (uint32_t)n, NULL, out, 5 * LEN - 1),
		 -EBADMSG);
	CHECK_EQ(sf_inflate_exact(&c, z, (uint32_t)n, NULL, out, 4 * LEN), 0);
	z[n] = 0x42;
	CHECK_EQ(sf_inflate_exact(&c, z, (uint32_t)n + 1, NULL, out, 4 * LEN),
		 -EBADMSG);
	CHECK_EQ(sf_inflate_exact(&c, z, (uint32_t)n - 1, NULL, out, 4 * LEN),
		 -EBADMSG);
	memset(z, 0xff, 16);
	CHECK_EQ(sf_inflate_exact(&c, z, 16, NULL, out, 4 * LEN), -EBADMSG);
	sf_codec_done(&c);
}

/* A chunk with every block copied from elsewhere or carried. */
struct patch_case {
	uint8_t base[4 * LEN];
	uint8_t content[LEN];
	uint32_t map[LEN / SF_BLOCK_SIZE];
	uint32_t dicts[LEN / SF_DICT_SIZE];
	uint8_t stored[LEN];
	struct sf_chunk chunk;
	struct mem_base mb;
	struct sf_base base_rd;
	struct sf_codec codec;
};

static struct patch_case *patch_setup(void)
{
	struct patch_case *p = calloc(1, sizeof(*p));
	int n;

	fill_text(p->base, sizeof(p->base), 3);
	/* New content: base shifted by 3 blocks, with block 5 changed in
	 * one byte (its old version sits at base block 8). */
	memcpy(p->content, p->base + 3 * SF_BLOCK_SIZE, LEN);
	p->content[5 * SF_BLOCK_SIZE + 100] ^= 0x5a;
	for (uint32_t b = 0; b < LEN / SF_BLOCK_SIZE; b++)
		p->map[b] = b == 5 ? 0 : b + 3 + 1;
	p->dicts[0] = 3 + 1;
	p->mb = (struct mem_base){ p->base, sizeof(p->base) };
	p->base_rd =
		(struct sf_base){ .read = mem_read, .data = &p->mb, .size = 0 };
	sf_codec_init(&p->codec, 9);
	n = sf_patch_encode(&p->codec, p->content, LEN, p->map, p->dicts,
			    &p->base_rd, p->stored, LEN);
	CHECK(n > 0);
	p->chunk = (struct sf_chunk){ .form = SF_FORM_PATCH,
				      .stored_len = (uint32_t)n,
				      .length = LEN };
	sf_hash(p->content, LEN, p->chunk.content_hash);
	return p;
}

TEST(patch_round_trip_small_with_dictionary)
{
	struct patch_case *p = patch_setup();
	static uint8_t out[LEN];

	/* The changed block costs a few bytes against its old version. */
	CHECK(p->chunk.stored_len < 16 * 4 + 8 + 64);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &p->chunk, 0,
				 p->stored, &p->base_rd, false, out),
		 0);
	CHECK(!memcmp(out, p->content, LEN));
	sf_codec_done(&p->codec);
	free(p);
}

/*
 * Blocks copied in runs that are neighbours in the base and runs that jump
 * (read with one read per run): every block lands where the map says, the
 * short last block of a chunk too.
 */
TEST(patch_copies_runs_and_jumps)
{
	/* Base block per chunk block; 0: carried in the stream. */
	static const uint32_t from[16] = { 10, 11, 12, 2, 3,  0,  20, 21,
					   22, 23, 7,  8, 30, 31, 4,  5 };
	struct patch_case *p = patch_setup();
	static uint8_t out[LEN];
	const uint32_t lens[2] = { LEN, LEN - 1000 };

	for (uint32_t b = 0; b < 16; b++) {
		p->map[b] = from[b] ? from[b] + 1 : 0;
		if (from[b])
			memcpy(p->content + b * SF_BLOCK_SIZE,
			       p->base + from[b] * SF_BLOCK_SIZE,
			       SF_BLOCK_SIZE);
	}
	for (int i = 0; i < 2; i++) {
		int n = sf_patch_encode(&p->codec, p->content, lens[i], p->map,
					p->dicts, &p->base_rd, p->stored, LEN);

		CHECK(n > 0);
		p->chunk.stored_len = (uint32_t)n;
		p->chunk.length = lens[i];
		sf_hash(p->content, lens[i], p->chunk.content_hash);
		memset(out, 0xee, sizeof(out));
		CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &p->chunk,
					 0, p->stored, &p->base_rd, false, out),
			 0);
		CHECK(!memcmp(out, p->content, lens[i]));
	}
	sf_codec_done(&p->codec);
	free(p);
}

TEST(patch_without_dictionary_is_larger)
{
	struct patch_case *p = patch_setup();
	int n;

	p->dicts[0] = 0;
	n = sf_patch_encode(&p->codec, p->content, LEN, p->map, p->dicts,
			    &p->base_rd, p->stored, LEN);
	CHECK(n > (int)p->chunk.stored_len * 4);
	sf_codec_done(&p->codec);
	free(p);
}

TEST(patch_against_wrong_base_is_exdev)
{
	struct patch_case *p = patch_setup();
	static uint8_t out[LEN];

	p->base[9 * SF_BLOCK_SIZE] ^= 1; /* block 6 of the chunk copies it */
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &p->chunk, 7,
				 p->stored, &p->base_rd, false, out),
		 -EXDEV);
	CHECK_LOG("chunk 7: the base does not hold the data this delta");
	sf_codec_done(&p->codec);
	free(p);
}

TEST(patch_without_base_is_enoent)
{
	struct patch_case *p = patch_setup();
	static uint8_t out[LEN];

	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &p->chunk, 0,
				 p->stored, NULL, false, out),
		 -ENOENT);
	CHECK_LOG("no base was given");
	sf_codec_done(&p->codec);
	free(p);
}

TEST(patch_refuses_malformed)
{
	struct patch_case *p = patch_setup();
	static uint8_t out[LEN], bad[LEN + 16];
	struct sf_chunk c = p->chunk;
	uint32_t win = 16 * 4; /* window 0's header follows the map */

	memcpy(bad, p->stored, c.stored_len);
	c.stored_len = win + 4;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &c, 0, bad,
				 &p->base_rd, false, out),
		 -EBADMSG);
	CHECK_LOG("truncated patch");
	c = p->chunk;
	le32_store(bad + win + 4, 1u << 30);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &c, 0, bad,
				 &p->base_rd, false, out),
		 -EBADMSG);
	CHECK_LOG("stream length 1073741824 out of bounds");
	memcpy(bad, p->stored, c.stored_len);
	c.stored_len++;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &c, 0, bad,
				 &p->base_rd, false, out),
		 -EBADMSG);
	CHECK_LOG("1 trailing patch bytes");
	/* A map entry pointing past the base's end. */
	c = p->chunk;
	memcpy(bad, p->stored, c.stored_len);
	le32_store(bad, 1u << 20);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &c, 0, bad,
				 &p->base_rd, false, out),
		 -EIO);
	CHECK_LOG("cannot read 4096 base bytes");
	/* Window 0 claiming more carried blocks than its stream holds. */
	memcpy(bad, p->stored, c.stored_len);
	le32_store(bad + 4 * 6, 0);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, &c, 0, bad,
				 &p->base_rd, false, out),
		 -EBADMSG);
	CHECK_LOG("patch window 0 does not inflate to its 8192 bytes");
	sf_codec_done(&p->codec);
	free(p);
}

TEST(base_chunk_checked_before_use)
{
	static uint8_t base[2 * LEN], out[LEN];
	struct mem_base mb = { base, sizeof(base) };
	struct sf_base rd = { .read = mem_read, .data = &mb, .size = 0 };
	struct sf_chunk c = { .form = SF_FORM_BASE,
			      .length = LEN,
			      .base_offset = 8192 };
	struct sf_codec codec;

	fill_text(base, sizeof(base), 9);
	sf_hash(base + 8192, LEN, c.content_hash);
	sf_codec_init(&codec, 9);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 3, NULL, &rd,
				 false, out),
		 0);
	CHECK(!memcmp(out, base + 8192, LEN));
	base[8192 + LEN - 1] ^= 1;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 3, NULL, &rd,
				 false, out),
		 -EXDEV);
	CHECK_LOG("chunk 3: the base does not hold");
	sf_codec_done(&codec);
}

TEST(full_forms_decode_and_check)
{
	static uint8_t in[LEN], z[LEN], out[LEN];
	struct sf_chunk c = { .form = SF_FORM_DEFLATE, .length = LEN };
	struct sf_codec codec;
	int n;

	fill_text(in, LEN, 11);
	sf_codec_init(&codec, 6);
	n = sf_deflate(&codec, in, LEN, NULL, z, LEN);
	c.stored_len = (uint32_t)n;
	sf_hash(in, LEN, c.content_hash);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 0, z, NULL, true,
				 out),
		 0);
	CHECK(!memcmp(in, out, LEN));
	c.content_hash[0] ^= 1;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 0, z, NULL, true,
				 out),
		 -EBADMSG);
	CHECK_LOG("content does not match its hash");
	c.form = SF_FORM_ZERO;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 0, z, NULL, true,
				 out),
		 0);
	CHECK(out[0] == 0 && !memcmp(out, out + 1, LEN - 1));
	c.form = 9;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 0, z, NULL, true,
				 out),
		 -EBADMSG);
	sf_codec_done(&codec);
}

TEST(zstd_round_trip)
{
	static uint8_t in[LEN], out[LEN], back[LEN];
	const char *why = NULL;
	struct sf_codec c;
	int n;

	fill_text(in, LEN, 21);
	sf_codec_init(&c, 12);
	n = sf_zstd(&c, in, LEN, NULL, 0, out, LEN);
	CHECK(n > 0 && n < LEN / 2);
	CHECK_EQ(sf_zstd_exact(&c, out, (uint32_t)n, NULL, 0, back, LEN, &why),
		 0);
	CHECK(!memcmp(in, back, LEN));
	/* Reused contexts give the same bytes. */
	CHECK_EQ(sf_zstd(&c, in, LEN, NULL, 0, back, LEN), n);
	CHECK(!memcmp(out, back, (size_t)n));
	sf_codec_done(&c);
}

TEST(zstd_refuses_to_grow)
{
	static uint8_t in[LEN], out[LEN];
	struct sf_codec c;

	test_fill_random(in, LEN, 22);
	sf_codec_init(&c, 3);
	CHECK_EQ(sf_zstd(&c, in, LEN, NULL, 0, out, LEN), -ENOSPC);
	sf_codec_done(&c);
}

/* zstd of @len bytes of text (seed @seed) into @z; returns its size. */
static uint32_t zstd_text(uint8_t *in, uint32_t len, uint32_t seed, uint8_t *z,
			  uint32_t cap)
{
	struct sf_codec c;
	int n;

	fill_text(in, len, seed);
	sf_codec_init(&c, 3);
	n = sf_zstd(&c, in, len, NULL, 0, z, cap);
	sf_codec_done(&c);
	CHECK(n > 0);
	return (uint32_t)n;
}

/* Is @in (@n bytes) refused as a zstd chunk of @len, with @why? */
static void zstd_refused(const uint8_t *in, uint32_t n, uint32_t len,
			 const char *want)
{
	static uint8_t out[2 * LEN];
	const char *why = NULL;
	struct sf_codec c;

	sf_codec_init(&c, 3);
	memset(out, 0x5a, sizeof(out));
	CHECK_EQ(sf_zstd_exact(&c, in, n, NULL, 0, out, len, &why), -EBADMSG);
	CHECK(why && strstr(why, want));
	sf_codec_done(&c);
}

/*
 * @z (@n bytes, a frame of @len bytes) with its header rewritten: a window
 * descriptor @wd (-1: a single-segment frame), a one-byte dictionary id
 * @dict (0: none), a 4-byte content size @fcs (~0: none). Into @out;
 * returns the new frame's size.
 */
static uint32_t reframe(const uint8_t *z, uint32_t n, int wd, uint8_t dict,
			uint64_t fcs, uint8_t *out)
{
	ZSTD_frameHeader fh;
	uint32_t k = 5;

	CHECK_EQ(ZSTD_getFrameHeader(&fh, z, n), 0);
	memcpy(out, z, 4);
	out[4] = (uint8_t)((fcs != ~0ull ? 2 << 6 : 0) | (wd < 0 ? 0x20 : 0) |
			   (dict ? 1 : 0));
	if (wd >= 0)
		out[k++] = (uint8_t)wd;
	if (dict)
		out[k++] = dict;
	if (fcs != ~0ull) {
		le32_store(out + k, (uint32_t)fcs);
		k += 4;
	}
	memcpy(out + k, z + fh.headerSize, n - fh.headerSize);
	return k + n - fh.headerSize;
}

/* A frame that declares another length, or none, is refused unread. */
TEST(zstd_refuses_a_frame_that_lies_about_its_length)
{
	static uint8_t in[LEN], z[LEN], f[LEN + 32], out[LEN + 1];
	uint32_t n = zstd_text(in, LEN, 23, z, sizeof(z)), m;
	const char *why = NULL;
	struct sf_codec c;

	zstd_refused(z, n, LEN - 1, "does not declare the chunk's length");
	zstd_refused(z, n, LEN + 1, "does not declare the chunk's length");
	m = reframe(z, n, 0x60, 0, ~0ull, f);
	zstd_refused(f, m, LEN, "does not declare the chunk's length");
	/* Declares one byte more than its blocks hold. */
	m = reframe(z, n, -1, 0, LEN + 1, f);
	zstd_refused(f, m, LEN + 1, "corrupt zstd frame");
	/* The same frame with the true length decodes. */
	m = reframe(z, n, -1, 0, LEN, f);
	sf_codec_init(&c, 3);
	CHECK_EQ(sf_zstd_exact(&c, f, m, NULL, 0, out, LEN, &why), 0);
	CHECK(!memcmp(out, in, LEN));
	sf_codec_done(&c);
}

/* Windows up to 4 MiB are accepted; a larger one is refused unread. */
TEST(zstd_refuses_a_window_over_4_mib)
{
	static uint8_t in[LEN], z[LEN], f[LEN + 32], out[LEN];
	uint32_t n = zstd_text(in, LEN, 24, z, sizeof(z)), m;
	const char *why = NULL;
	struct sf_codec c;

	sf_codec_init(&c, 3);
	m = reframe(z, n, 12 << 3, 0, LEN, f); /* 2^(10+12) = 4 MiB */
	CHECK_EQ(sf_zstd_exact(&c, f, m, NULL, 0, out, LEN, &why), 0);
	CHECK(!memcmp(out, in, LEN));
	sf_codec_done(&c);
	m = reframe(z, n, 12 << 3 | 1, 0, LEN, f); /* 4.5 MiB */
	zstd_refused(f, m, LEN, "asks for a window over 4 MiB");
	m = reframe(z, n, 17 << 3, 0, LEN, f); /* 128 MiB */
	zstd_refused(f, m, LEN, "asks for a window over 4 MiB");
}

TEST(zstd_refuses_dictionaries_trailing_bytes_and_other_frames)
{
	static uint8_t in[LEN], z[2 * LEN], f[LEN + 32];
	uint32_t n = zstd_text(in, LEN, 25, z, LEN), m;

	m = reframe(z, n, 12 << 3, 7, LEN, f);
	zstd_refused(f, m, LEN, "needs a dictionary");
	z[n] = 0;
	zstd_refused(z, n + 1, LEN, "not exactly one whole zstd frame");
	memcpy(z + n, z, n); /* two frames */
	zstd_refused(z, 2 * n, LEN, "not exactly one whole zstd frame");
	zstd_refused(z, n - 1, LEN, "not exactly one whole zstd frame");
	zstd_refused(z, 5, LEN, "corrupt or truncated zstd frame header");
	zstd_refused(z, 3, LEN, "not a zstd frame");
	/* A skippable frame of LEN bytes. */
	le32_store(f, 0x184D2A50);
	le32_store(f + 4, LEN);
	memset(f + 8, 0, LEN);
	zstd_refused(f, LEN + 8, LEN, "not a zstd frame");
}

TEST(zstd_chunk_decodes_and_checks)
{
	static uint8_t in[LEN], z[LEN], out[LEN];
	struct sf_chunk c = { .form = SF_FORM_ZSTD, .length = LEN };
	struct sf_codec codec;

	c.stored_len = zstd_text(in, LEN, 26, z, LEN);
	sf_hash(in, LEN, c.content_hash);
	sf_codec_init(&codec, 3);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 4, z, NULL, true,
				 out),
		 0);
	CHECK(!memcmp(in, out, LEN));
	c.content_hash[0] ^= 1;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 4, z, NULL, true,
				 out),
		 -EBADMSG);
	CHECK_LOG("chunk 4: content does not match its hash");
	c.content_hash[0] ^= 1;
	c.length = LEN - 1;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &codec, NULL, &c, 4, z, NULL, true,
				 out),
		 -EBADMSG);
	CHECK_LOG("chunk 4: zstd frame does not declare the chunk's length");
	sf_codec_done(&codec);
}

/*
 * A reference chunk: random content (no coder finds anything in it alone)
 * that is the base's bytes from offset 1000 on (not block-aligned), with
 * one byte changed, coded against two ranges of the base around them.
 */
struct ref_case {
	uint8_t base[4 * LEN];
	uint8_t content[LEN];
	uint8_t stored[LEN];
	uint8_t out[LEN];
	struct sf_ref refs[2];
	struct sf_manifest m;
	struct sf_chunk *chunk;
	struct mem_base mb;
	struct sf_base base_rd;
	struct sf_codec codec;
};

static struct ref_case *ref_setup(void)
{
	struct ref_case *p = calloc(1, sizeof(*p));
	static uint8_t prefix[LEN + 2000];
	int n;

	test_fill_random(p->base, sizeof(p->base), 40);
	memcpy(p->content, p->base + 1000, LEN);
	p->content[LEN / 3] ^= 0x5a;
	p->refs[0] = (struct sf_ref){ .offset = 500, .length = LEN / 2 };
	p->refs[1] = (struct sf_ref){ .offset = 500 + LEN / 2,
				      .length = LEN / 2 + 1000 };
	for (unsigned k = 0; k < 2; k++)
		sf_hash(p->base + p->refs[k].offset, p->refs[k].length,
			p->refs[k].hash);
	memcpy(prefix, p->base + 500, LEN + 1000);
	sf_codec_init(&p->codec, 9);
	n = sf_zstd(&p->codec, p->content, LEN, prefix, LEN + 1000, p->stored,
		    LEN);
	CHECK(n > 0);
	p->m = (struct sf_manifest){ .n_refs = 2, .refs = p->refs };
	p->chunk = calloc(1, sizeof(*p->chunk));
	*p->chunk = (struct sf_chunk){ .form = SF_FORM_REF,
				       .stored_len = (uint32_t)n,
				       .base_offset = 2,
				       .length = LEN };
	sf_hash(p->content, LEN, p->chunk->content_hash);
	p->mb = (struct mem_base){ p->base, sizeof(p->base) };
	p->base_rd = (struct sf_base){ .read = mem_read,
				       .data = &p->mb,
				       .size = sizeof(p->base) };
	memset(p->out, 0xa5, LEN);
	return p;
}

static int ref_decode(struct ref_case *p)
{
	return sf_chunk_decode(&test_ctx, &p->codec, &p->m, p->chunk, 9,
			       p->stored, &p->base_rd, false, p->out);
}

static void ref_done(struct ref_case *p)
{
	sf_codec_done(&p->codec);
	free(p->chunk);
	free(p);
}

/* Nothing was decoded into the output (it holds its fill). */
static bool ref_out_untouched(const struct ref_case *p)
{
	for (uint32_t i = 0; i < LEN; i++)
		if (p->out[i] != 0xa5)
			return false;
	return true;
}

TEST(reference_chunk_round_trip_is_small)
{
	struct ref_case *p = ref_setup();
	static uint8_t alone[LEN];

	/* Random data costs its size without the ranges, a few bytes with. */
	CHECK(p->chunk->stored_len < 100);
	CHECK_EQ(sf_zstd(&p->codec, p->content, LEN, NULL, 0, alone, LEN),
		 -ENOSPC);
	CHECK_EQ(ref_decode(p), 0);
	CHECK(!memcmp(p->out, p->content, LEN));
	ref_done(p);
}

/* A range whose bytes in the base differ from its hash: the base is not
 * the one the delta was made against; refused before decoding. */
TEST(reference_range_that_does_not_match_is_exdev)
{
	struct ref_case *p = ref_setup();

	p->base[500 + LEN / 2 + 7] ^= 1;
	CHECK_EQ(ref_decode(p), -EXDEV);
	CHECK_LOG("chunk 9: the base does not hold the data this delta was "
		  "made against (a range it references differs)");
	CHECK(ref_out_untouched(p));
	ref_done(p);
}

TEST(reference_range_beyond_the_base_is_refused_unread)
{
	struct ref_case *p = ref_setup();

	p->refs[1].offset = sizeof(p->base) - 1000;
	CHECK_EQ(ref_decode(p), -EXDEV);
	CHECK_LOG("chunk 9: a range it references lies beyond the base's "
		  "262144 bytes: the delta was made against another base");
	CHECK_EQ(sf_chunk_refs_inside(&test_ctx, &p->m, p->chunk, 9,
				      sizeof(p->base)),
		 -EXDEV);
	CHECK_EQ(sf_chunk_refs_inside(&test_ctx, &p->m, p->chunk, 9, 0), 0);
	CHECK(ref_out_untouched(p));
	ref_done(p);
}

/* The frame's checks as for zstd chunks, with a window of up to 16 MiB;
 * a frame that decodes to other content is caught by the content hash,
 * which a reference chunk always checks. */
TEST(reference_frame_checks)
{
	struct ref_case *p = ref_setup();
	static uint8_t f[LEN + 32];
	uint32_t n = p->chunk->stored_len;

	memcpy(f, p->stored, n);
	/* Window descriptor 24 - 10 << 3: 16 MiB, allowed; 25: refused. */
	p->chunk->stored_len = reframe(f, n, 14 << 3, 0, LEN, p->stored);
	CHECK_EQ(ref_decode(p), 0);
	memset(p->out, 0xa5, LEN);
	p->chunk->stored_len = reframe(f, n, 15 << 3, 0, LEN, p->stored);
	CHECK_EQ(ref_decode(p), -EBADMSG);
	CHECK_LOG("chunk 9: zstd frame asks for a window over 16 MiB");
	CHECK(ref_out_untouched(p));
	p->chunk->stored_len = reframe(f, n, -1, 0, LEN + 1, p->stored);
	CHECK_EQ(ref_decode(p), -EBADMSG);
	CHECK_LOG("chunk 9: zstd frame does not declare the chunk's length");
	CHECK(ref_out_untouched(p));
	memcpy(p->stored, f, n);
	p->chunk->stored_len = n;
	p->chunk->content_hash[0] ^= 1;
	CHECK_EQ(ref_decode(p), -EBADMSG);
	CHECK_LOG("chunk 9: content does not match its hash");
	ref_done(p);
}

/* Without the manifest's table, or with counts beyond it: refused. */
TEST(reference_chunk_without_its_table_is_refused)
{
	struct ref_case *p = ref_setup();

	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, NULL, p->chunk, 9,
				 p->stored, &p->base_rd, false, p->out),
		 -EBADMSG);
	CHECK_LOG("chunk 9: references beyond the reference table");
	p->chunk->base_offset = 3;
	CHECK_EQ(ref_decode(p), -EBADMSG);
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, &p->m, p->chunk, 9,
				 p->stored, NULL, false, p->out),
		 -EBADMSG);
	p->chunk->base_offset = 2;
	CHECK_EQ(sf_chunk_decode(&test_ctx, &p->codec, &p->m, p->chunk, 9,
				 p->stored, NULL, false, p->out),
		 -ENOENT);
	CHECK_LOG("chunk 9: this is a delta image and no base was given");
	CHECK(ref_out_untouched(p));
	ref_done(p);
}
