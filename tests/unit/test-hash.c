// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "testlib.h"
#include "util.h"

/* Lengths around BLAKE2b's 128-byte blocks, and whole chunks. */
static const size_t lengths[] = { 0,   1,   127,  128,	129,   255,
				  256, 257, 1000, 4096, 65539, 1 << 20 };

static void use(const char *name)
{
	int r = sf_hash_select(name);

	if (r == -ENOTSUP)
		test_skip("this CPU does not run this implementation");
	CHECK_EQ(r, 0);
	CHECK_STREQ(sf_hash_impl(), name);
}

/*
 * Hash @n messages of lengths taken from lengths[] from @first on (all
 * equal with @same), starting @shift bytes into a buffer, at once; each
 * digest must be libsodium's.
 */
static void check_many(unsigned n, unsigned first, bool same, size_t shift)
{
	const uint8_t *bufs[20] = { 0 };
	size_t lens[20] = { 0 };
	uint8_t out[20][SF_HASH_BYTES], want[SF_HASH_BYTES];
	uint8_t *mem[20];

	CHECK(n <= 20);
	for (unsigned i = 0; i < n; i++) {
		lens[i] = lengths[same ? first
				       : (first + i) % ARRAY_SIZE(lengths)];
		mem[i] = malloc(lens[i] + shift + 1);
		CHECK(mem[i]);
		test_fill_random(mem[i], lens[i] + shift + 1, 7 * i + first);
		bufs[i] = mem[i] + shift;
	}
	memset(out, 0, sizeof(out));
	sf_hash_many(n, bufs, lens, out);
	for (unsigned i = 0; i < n; i++) {
		crypto_generichash(want, sizeof(want), bufs[i], lens[i], NULL,
				   0);
		if (memcmp(out[i], want, sizeof(want)) != 0)
			test_fail(
				__FILE__, __LINE__,
				"%s: message %u of %u (%zu bytes) hashed wrong",
				sf_hash_impl(), i, n, lens[i]);
		free(mem[i]);
	}
}

static void matches_libsodium(const char *name)
{
	use(name);
	for (unsigned n = 1; n <= 17; n++)
		for (unsigned first = 0; first < ARRAY_SIZE(lengths);
		     first += 3)
			check_many(n, first, false, n % 3);
	/* Whole chunks in every lane, and one more than the lanes. */
	check_many(sf_hash_lanes(), ARRAY_SIZE(lengths) - 1, true, 0);
	check_many(sf_hash_lanes() + 1, ARRAY_SIZE(lengths) - 1, true, 1);
	check_many(2 * sf_hash_lanes(), 5, true, 3);
}

TEST(avx512_matches_libsodium)
{
	matches_libsodium("avx512");
	CHECK_EQ(sf_hash_lanes(), 8);
}

TEST(avx2_matches_libsodium)
{
	matches_libsodium("avx2");
	CHECK_EQ(sf_hash_lanes(), 4);
}

TEST(generic_matches_libsodium)
{
	matches_libsodium("generic");
	CHECK_EQ(sf_hash_lanes(), 1);
}

/* BLAKE2b-256 of "" and "abc", as published with the reference code. */
TEST(known_digests_in_every_lane)
{
	static const char *hex[2] = {
		"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
		"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
	};
	const uint8_t *bufs[SF_HASH_LANES_MAX];
	size_t lens[SF_HASH_LANES_MAX];
	uint8_t out[SF_HASH_LANES_MAX][SF_HASH_BYTES];
	char got[2 * SF_HASH_BYTES + 1];

	CHECK_EQ(sf_hash_select(NULL), 0);
	for (unsigned l = 0; l < SF_HASH_LANES_MAX; l++) {
		bufs[l] = (const uint8_t *)"abc";
		lens[l] = l % 2 ? 3 : 0;
	}
	sf_hash_many(SF_HASH_LANES_MAX, bufs, lens, out);
	for (unsigned l = 0; l < SF_HASH_LANES_MAX; l++) {
		sodium_bin2hex(got, sizeof(got), out[l], SF_HASH_BYTES);
		CHECK_STREQ(got, hex[l % 2]);
	}
}

TEST(best_implementation_by_default_unknown_refused)
{
	CHECK_EQ(sf_hash_select("sha256"), -EINVAL);
	CHECK_EQ(sf_hash_select(NULL), 0);
	CHECK(sf_hash_lanes() >= 1 && sf_hash_lanes() <= SF_HASH_LANES_MAX);
	/* Nothing better than the default runs here. */
	if (sf_hash_lanes() < 8)
		CHECK_EQ(sf_hash_select("avx512"), -ENOTSUP);
	if (sf_hash_lanes() < 4)
		CHECK_EQ(sf_hash_select("avx2"), -ENOTSUP);
}
