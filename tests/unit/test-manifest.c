// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sys/resource.h>

#include "manifest.h"
#include "testlib.h"
#include "util.h"

/*
 * A manifest of format version @format with two payloads, every full-image
 * form of version 1 (zero, stored, deflate), encoded.
 */
static uint8_t *make_format(struct sf_manifest *m, bool delta, uint32_t format,
			    size_t *ret_len)
{
	uint8_t *buf;

	memset(m, 0, sizeof(*m));
	m->format = format;
	m->chunk_size = 4096;
	m->build_time = 1700000000;
	strcpy(m->compatible, "acme-gw");
	strcpy(m->version, "1.2.3");
	m->n_payloads = 2;
	m->payloads[0] = (struct sf_payload){ .kind = SF_PAYLOAD_ROOTFS,
					      .size = 4 * 4096 + 100 };
	m->payloads[1] =
		(struct sf_payload){ .kind = SF_PAYLOAD_EFI, .size = 5000 };
	CHECK_EQ(sf_manifest_layout(m), 0);
	CHECK_EQ(m->n_chunks, 7);
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		struct sf_chunk *c = &m->chunks[i];

		c->form = (uint8_t)(i % 3);
		c->stored_len = c->form == SF_FORM_STORED    ? c->length
				: c->form == SF_FORM_DEFLATE ? 10 + i
							     : 0;
		if (c->form != SF_FORM_ZERO)
			test_fill_random(c->content_hash, 32, i + 1);
		if (c->form == SF_FORM_STORED)
			memcpy(c->stored_hash, c->content_hash, 32);
		else if (c->form == SF_FORM_DEFLATE)
			test_fill_random(c->stored_hash, 32, i + 100);
	}
	if (delta) {
		m->flags = SF_MANIFEST_FLAG_DELTA;
		strcpy(m->base_version, "1.2.2");
		test_fill_random(m->base_manifest_hash, 32, 7);
		m->chunks[6].form = SF_FORM_BASE;
		m->chunks[6].stored_len = 0;
		memset(m->chunks[6].stored_hash, 0, 32);
		m->chunks[6].base_offset = 8192;
		m->chunks[3].form = SF_FORM_PATCH;
		m->chunks[3].stored_len = 100;
	}
	sf_manifest_set_data_offsets(m);
	*ret_len = sf_manifest_encoded_size(m);
	buf = malloc(*ret_len);
	CHECK_EQ(sf_manifest_encode(m, buf), *ret_len);
	return buf;
}

/* @p, parsed from @len bytes at @buf, encodes to the same bytes. */
static void reencodes(const struct sf_manifest *p, const uint8_t *buf,
		      size_t len)
{
	uint8_t *again = malloc(len);

	CHECK(again);
	CHECK_EQ(sf_manifest_encode(p, again), len);
	CHECK(!memcmp(buf, again, len));
	free(again);
}

/* Version 1: the offsets below are those of its 264-byte fixed part. */
static uint8_t *make(struct sf_manifest *m, bool delta, size_t *ret_len)
{
	return make_format(m, delta, 1, ret_len);
}

/* Parse @buf, which must be refused with @err and a log naming @msg. */
static void refused(const uint8_t *buf, size_t len, int err, const char *msg)
{
	struct sf_manifest m = { .n_chunks = 12345 };

	test_log_buf[0] = 0;
	CHECK_EQ(sf_manifest_parse(&test_ctx, buf, len, &m), err);
	CHECK_EQ(m.n_chunks, 12345);
	CHECK_LOG(msg);
}

TEST(round_trip_full)
{
	struct sf_manifest m, p;
	size_t len;
	uint8_t *buf = make(&m, false, &len);

	CHECK_EQ(len, 264 + 2 * 16 + 7 * 80);
	CHECK_EQ(sf_manifest_parse(&test_ctx, buf, len, &p), 0);
	CHECK_STREQ(p.compatible, "acme-gw");
	CHECK_STREQ(p.version, "1.2.3");
	CHECK_EQ(p.build_time, 1700000000);
	CHECK_EQ(p.n_chunks, 7);
	CHECK_EQ(p.payloads[1].first_chunk, 5);
	CHECK_EQ(p.payloads[1].n_chunks, 2);
	CHECK_EQ(p.chunks[4].length, 100);
	CHECK_EQ(p.chunks[6].length, 5000 - 4096);
	CHECK_EQ(p.chunks[6].offset, 4096);
	CHECK_EQ(p.chunks[6].payload, 1);
	CHECK_EQ(p.data_size, m.data_size);
	for (uint32_t i = 0; i < 7; i++) {
		CHECK_EQ(p.chunks[i].form, m.chunks[i].form);
		CHECK_EQ(p.chunks[i].data_offset, m.chunks[i].data_offset);
		CHECK(!memcmp(p.chunks[i].content_hash,
			      m.chunks[i].content_hash, 32));
	}
	CHECK(sf_manifest_payload(&p, SF_PAYLOAD_EFI) == &p.payloads[1]);
	sf_manifest_free(&p);
	sf_manifest_free(&m);
	free(buf);
}

TEST(round_trip_delta)
{
	struct sf_manifest m, p;
	size_t len;
	uint8_t *buf = make(&m, true, &len);

	CHECK_EQ(sf_manifest_parse(&test_ctx, buf, len, &p), 0);
	CHECK_STREQ(p.base_version, "1.2.2");
	CHECK_EQ(p.chunks[6].base_offset, 8192);
	CHECK(!memcmp(p.base_manifest_hash, m.base_manifest_hash, 32));
	reencodes(&p, buf, len);
	sf_manifest_free(&p);
	sf_manifest_free(&m);
	free(buf);
}

/* Mutations of the fixed part, each refused with its reason. */
TEST(refuses_bad_fixed_fields)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, false, &len), *b = malloc(len);
	static const struct {
		size_t off;
		uint32_t val;
		int err;
		const char *msg;
	} cases[] = {
		{ 0, 0x4e414d46, -EBADMSG, "bad magic" },
		{ 8, 3, -EPROTONOSUPPORT,
		  "format version 3, this reader knows 1 to 2" },
		{ 8, 0, -EPROTONOSUPPORT,
		  "format version 0, this reader knows 1 to 2" },
		{ 12, 2, -EBADMSG, "unknown flags" },
		{ 32, 4097, -EBADMSG, "chunk size 4097" },
		{ 32, 2048, -EBADMSG, "chunk size 2048" },
		{ 32, 8u << 20, -EBADMSG, "chunk size 8388608" },
		{ 36, 0, -EBADMSG, "0 payloads" },
		{ 36, 5, -EBADMSG, "5 payloads" },
		{ 24, 1, -EBADMSG, "data size 1" },
		{ 264, 3, -EBADMSG, "unknown kind 3" },
		{ 264, 2, -EBADMSG, "out of order" },
		{ 280, 1, -EBADMSG, "out of order" },
		{ 268, 1, -EBADMSG, "reserved bytes" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(b, buf, len);
		le32_store(b + cases[i].off, cases[i].val);
		refused(b, len, cases[i].err, cases[i].msg);
	}
	free(b);
	free(buf);
	sf_manifest_free(&m);
}

TEST(refuses_bad_strings)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, false, &len), *b = malloc(len);

	memcpy(b, buf, len);
	b[41] = '/';
	refused(b, len, -EBADMSG, "outside [A-Za-z0-9._+-]");
	memcpy(b, buf, len);
	memset(b + 40, 'a', 64);
	refused(b, len, -EBADMSG,
		"compatible string is empty or not terminated");
	memcpy(b, buf, len);
	b[40] = 0;
	refused(b, len, -EBADMSG, "compatible string is empty");
	memcpy(b, buf, len);
	b[100] = 'x';
	refused(b, len, -EBADMSG, "compatible string has bytes after its end");
	memcpy(b, buf, len);
	memcpy(b + 104, "1.02", 4);
	refused(b, len, -EBADMSG, "is not a version");
	memcpy(b, buf, len);
	b[170] = 1;
	refused(b, len, -EBADMSG, "full image names a base");
	free(b);
	free(buf);
	sf_manifest_free(&m);
}

TEST(refuses_size_mismatch)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, false, &len), *b = calloc(1, len + 80);

	memcpy(b, buf, len);
	refused(b, len - 1, -EBADMSG, "does not match its tables");
	refused(b, len + 80, -EBADMSG, "does not match its tables");
	refused(b, 100, -EBADMSG, "too short");
	/* A payload of 2^40 bytes in 4 KiB chunks: over the manifest limit,
	 * refused before anything is allocated for it. */
	memcpy(b, buf, len);
	le64_store(b + 264 + 8, 1ull << 40);
	refused(b, len, -EBADMSG, "does not match its tables");
	le64_store(b + 264 + 8, (1ull << 40) + 1);
	refused(b, len, -EBADMSG, "out of bounds");
	le64_store(b + 264 + 8, 0);
	refused(b, len, -EBADMSG, "out of bounds");
	free(b);
	free(buf);
	sf_manifest_free(&m);
}

/* Per-form rules of the chunk table. */
TEST(refuses_bad_chunks)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, false, &len), *b = malloc(len);
	const size_t c0 = 264 + 32; /* chunk 0: zero; 1: stored; 2: deflate */

	memcpy(b, buf, len);
	b[c0] = 7;
	refused(b, len, -EBADMSG, "chunk 0: unknown form 7");
	memcpy(b, buf, len);
	b[c0 + 2] = 1;
	refused(b, len, -EBADMSG, "chunk 0: reserved bytes set");
	memcpy(b, buf, len);
	b[c0 + 20] = 1;
	refused(b, len, -EBADMSG, "chunk 0: zero chunk with data");
	memcpy(b, buf, len);
	b[c0 + 80 + 50] ^= 1;
	refused(b, len, -EBADMSG, "chunk 1: inconsistent stored chunk");
	memcpy(b, buf, len);
	le32_store(b + c0 + 160 + 4, 4096);
	refused(b, len, -EBADMSG, "chunk 2: stored length 4096 for 4096");
	memcpy(b, buf, len);
	b[c0 + 160] = SF_FORM_PATCH;
	refused(b, len, -EBADMSG, "chunk 2: patch in a full image");
	memcpy(b, buf, len);
	b[c0] = SF_FORM_BASE;
	refused(b, len, -EBADMSG, "chunk 0: base chunk in a full image");
	free(b);
	free(buf);
	sf_manifest_free(&m);
}

TEST(refuses_bad_delta_chunks)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, true, &len), *b = malloc(len);
	const size_t c6 = 264 + 32 + 6 * 80;

	memcpy(b, buf, len);
	le64_store(b + c6 + 8, 8193);
	refused(b, len, -EBADMSG, "chunk 6: bad base chunk");
	memcpy(b, buf, len);
	b[c6 + 60] = 1;
	refused(b, len, -EBADMSG, "chunk 6: bad base chunk");
	memcpy(b, buf, len);
	memcpy(b + 168, "x", 1);
	refused(b, len, -EBADMSG, "base version is not a version");
	free(b);
	free(buf);
	sf_manifest_free(&m);
}

TEST(refuses_over_limit_without_reading)
{
	struct sf_manifest m;

	test_log_buf[0] = 0;
	/* The length is checked before a byte is read. */
	CHECK_EQ(sf_manifest_parse(&test_ctx, (const uint8_t *)"",
				   SF_MANIFEST_MAX + 1, &m),
		 -EBADMSG);
	CHECK_LOG("over the");
}

TEST(compatible_strings)
{
	CHECK(sf_compatible_valid("acme-gateway-v2"));
	CHECK(sf_compatible_valid("A.b_c+d-9"));
	CHECK(!sf_compatible_valid(""));
	CHECK(!sf_compatible_valid("a b"));
	CHECK(!sf_compatible_valid("a/b"));
	CHECK(!sf_compatible_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static long max_rss_kib(void)
{
	struct rusage ru;

	CHECK_EQ(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* A short manifest claiming 800,000 chunks (the table would need 64 MB,
 * under the limit) is refused before a chunk array is allocated: `slotflip
 * status` parses a staged image's manifest before its signature check. */
TEST(huge_claimed_table_refused_without_allocating)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, false, &len);
	long before;

	free(m.chunks);
	le64_store(buf + SF_MANIFEST_FIXED + 8, 800000ull * 4096);
	before = max_rss_kib();
	refused(buf, len, -EBADMSG, "does not match its tables");
	CHECK(max_rss_kib() - before < 16 * 1024);
	free(buf);
}

/* Version 2: 8 more fixed bytes (the reference count, zero), then the same
 * tables; zstd chunks (form 5) are allowed. */
TEST(round_trip_v2_with_zstd_chunks)
{
	struct sf_manifest m, p;
	size_t len;
	uint8_t *buf = make_format(&m, true, 2, &len);

	CHECK_EQ(len, 272 + 2 * 16 + 7 * 80);
	CHECK_EQ(le32_load(buf + 8), 2);
	CHECK(is_zero(buf + 264, 8));
	buf[272 + 32 + 2 * 80] = SF_FORM_ZSTD; /* chunk 2 was deflate */
	CHECK_EQ(sf_manifest_parse(&test_ctx, buf, len, &p), 0);
	CHECK_EQ(p.format, 2);
	CHECK_EQ(p.chunks[2].form, SF_FORM_ZSTD);
	CHECK_EQ(p.chunks[6].base_offset, 8192);
	reencodes(&p, buf, len);
	sf_manifest_free(&p);
	sf_manifest_free(&m);
	free(buf);
}

TEST(refuses_zstd_in_version_1)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make(&m, false, &len);

	buf[264 + 32 + 2 * 80] = SF_FORM_ZSTD;
	refused(buf, len, -EBADMSG, "chunk 2: zstd chunk in a version 1 image");
	buf[264 + 32 + 2 * 80] = SF_FORM_REF;
	refused(buf, len, -EBADMSG, "chunk 2: unknown form 6");
	sf_manifest_free(&m);
	free(buf);
}

/*
 * A version 2 delta whose chunks 3 and 4 are reference chunks, with 2 and
 * 1 references (the table at offset 864 of the encoding).
 */
static uint8_t *make_refs(struct sf_manifest *m, size_t *ret_len)
{
	uint8_t *buf = make_format(m, true, 2, ret_len);

	free(buf);
	m->n_refs = 3;
	m->refs = calloc(3, sizeof(*m->refs));
	CHECK(m->refs);
	for (uint32_t k = 0; k < 3; k++) {
		m->refs[k].offset = 1000 + 5000 * k;
		m->refs[k].length = 3000 + k;
		test_fill_random(m->refs[k].hash, 32, 50 + k);
	}
	for (uint32_t i = 3; i <= 4; i++) {
		m->chunks[i].form = SF_FORM_REF;
		m->chunks[i].stored_len = i == 3 ? 103 : 50;
		m->chunks[i].base_offset = i == 3 ? 2 : 1;
		test_fill_random(m->chunks[i].stored_hash, 32, 60 + i);
	}
	sf_manifest_set_data_offsets(m);
	*ret_len = sf_manifest_encoded_size(m);
	buf = malloc(*ret_len);
	CHECK_EQ(sf_manifest_encode(m, buf), *ret_len);
	return buf;
}

#define REFS_AT (272 + 32 + 7 * 80)
#define CHUNK_AT(i) (272 + 32 + (i)*80)

TEST(round_trip_v2_with_reference_chunks)
{
	struct sf_manifest m, got;
	size_t len;
	uint8_t *buf = make_refs(&m, &len);

	CHECK_EQ(len, REFS_AT + 3 * 48);
	CHECK_EQ(le32_load(buf + 264), 3);
	CHECK_EQ(sf_manifest_parse(&test_ctx, buf, len, &got), 0);
	CHECK_EQ(got.n_refs, 3);
	CHECK_EQ(got.chunks[3].first_ref, 0);
	CHECK_EQ(sf_chunk_ref_count(&got.chunks[3]), 2);
	CHECK_EQ(got.chunks[4].first_ref, 2);
	CHECK_EQ(sf_chunk_ref_count(&got.chunks[4]), 1);
	CHECK_EQ(sf_chunk_ref_count(&got.chunks[6]), 0); /* a base chunk */
	for (uint32_t k = 0; k < 3; k++) {
		CHECK_EQ(got.refs[k].offset, m.refs[k].offset);
		CHECK_EQ(got.refs[k].length, m.refs[k].length);
		CHECK(memcmp(got.refs[k].hash, m.refs[k].hash, 32) == 0);
	}
	reencodes(&got, buf, len);
	sf_manifest_free(&got);
	sf_manifest_free(&m);
	free(buf);
}

/* Each rule of "Reference table" and "Reference chunks" in
 * docs/FORMAT.md, one byte or field at a time. */
TEST(refuses_bad_references)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make_refs(&m, &len);
	uint8_t *r1 = buf + REFS_AT + 48;

	le32_store(buf + 264, 4);
	refused(buf, len, -EBADMSG, "does not match its tables");
	le32_store(buf + 264, 3);
	le32_store(buf + 268, 1);
	refused(buf, len, -EBADMSG, "reserved bytes set");
	le32_store(buf + 268, 0);
	/* Chunk 3 claims 3 references: 4 named, 3 in the table. */
	le64_store(buf + CHUNK_AT(3) + 8, 3);
	refused(buf, len, -EBADMSG,
		"reference chunks name 4 references, the table has 3");
	le64_store(buf + CHUNK_AT(3) + 8, 0);
	refused(buf, len, -EBADMSG, "chunk 3: 0 references (1 to 16");
	le64_store(buf + CHUNK_AT(3) + 8, 17);
	refused(buf, len, -EBADMSG, "chunk 3: 17 references (1 to 16");
	le64_store(buf + CHUNK_AT(3) + 8, 2 | 1ull << 32);
	refused(buf, len, -EBADMSG, "references (1 to 16");
	le64_store(buf + CHUNK_AT(3) + 8, 2);
	/* Stored length as for zstd: 1 to length - 1. */
	le32_store(buf + CHUNK_AT(3) + 4, 4096);
	refused(buf, len, -EBADMSG, "chunk 3: stored length 4096 for 4096");
	le32_store(buf + CHUNK_AT(3) + 4, 103);
	/* The ranges: length 1 to 8 MiB, ending at most at 2^40. */
	le32_store(r1 + 8, 0);
	refused(buf, len, -EBADMSG, "reference 1: 0 bytes at 6000 out of");
	le32_store(r1 + 8, (8u << 20) + 1);
	refused(buf, len, -EBADMSG, "reference 1: 8388609 bytes at 6000");
	le32_store(r1 + 8, 100);
	le64_store(r1, (1ull << 40) - 99);
	refused(buf, len, -EBADMSG, "reference 1: 100 bytes at 1099511627677");
	le64_store(r1, 6000);
	le32_store(r1 + 12, 1);
	refused(buf, len, -EBADMSG, "reference 1: reserved bytes set");
	le32_store(r1 + 12, 0);
	/* Chunk 3's two ranges together over 8 MiB. */
	le32_store(buf + REFS_AT + 8, 5u << 20);
	le32_store(r1 + 8, 5u << 20);
	refused(buf, len, -EBADMSG,
		"chunk 3: references of 10485760 bytes (at most 8388608)");
	sf_manifest_free(&m);
	free(buf);
}

/* Reference chunks only in deltas (version 1 knows no form 6: above);
 * other forms as before. */
TEST(refuses_references_outside_version_2_deltas)
{
	struct sf_manifest m;
	size_t len;
	uint8_t *buf = make_format(&m, false, 2, &len);
	const size_t c2 = CHUNK_AT(2);

	buf[c2] = SF_FORM_REF;
	le64_store(buf + c2 + 8, 1);
	refused(buf, len, -EBADMSG, "chunk 2: reference chunk in a full image");
	le64_store(buf + c2 + 8, 0);
	buf[c2] = 7;
	refused(buf, len, -EBADMSG, "chunk 2: unknown form 7");
	/* A zstd chunk must be smaller than its content, like deflate. */
	buf[c2] = SF_FORM_ZSTD;
	le32_store(buf + c2 + 4, 4096);
	refused(buf, len, -EBADMSG, "chunk 2: stored length 4096 for 4096");
	/* A version 2 manifest cut to version 1's size. */
	refused(buf, len - 8, -EBADMSG, "does not match its tables");
	sf_manifest_free(&m);
	free(buf);
}
