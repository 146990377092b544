// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the chunk decoder (sf_chunk_rebuild(), sf_chunk_decode()):
 * deflate streams, zstd frames (form 5: header, window, length and extent
 * checks, then the decoder), patch chunks (block map, window headers,
 * window streams with base dictionaries) and reference chunks (form 6:
 * ranges read and checked, then a frame decoded against them) against a
 * fixed 64 KiB base.
 *
 * Input: form (1 byte), content length - 1 (3 bytes LE, taken modulo
 * 96 KiB: up to three patch windows), base block of a base chunk or the
 * ranges of a reference chunk (1 byte, refs_of()), then the stored bytes. The chunk is cut to what the manifest
 * parser lets through (docs/FORMAT.md, "Chunk table entry"): a stored
 * chunk's length is its stored length, a zero or base chunk has none,
 * deflate and patch chunks are shorter stored than decoded.
 *
 * A chunk that rebuilds must decode to the same bytes once its content
 * hash is the hash of what it rebuilt.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "hash.h"

#define BASE_SIZE (64u * 1024)
#define HEAD 5u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int base_read(void *data, uint64_t offset, void *buf, size_t len)
{
	const uint8_t *base = data;

	if (offset > BASE_SIZE || len > BASE_SIZE - offset)
		return -EIO;
	memcpy(buf, base + offset, len);
	return 0;
}

static const uint8_t *base_bytes(void)
{
	static uint8_t base[BASE_SIZE];
	static bool ready;

	for (uint32_t i = 0; !ready && i < BASE_SIZE; i++)
		base[i] = (uint8_t)(i * 31 ^ i >> 9);
	ready = true;
	return base;
}

/*
 * A reference chunk's table, from byte @b: 1 to 4 ranges of the base,
 * 1 KiB to 16 KiB long from offsets that @b moves, their hashes right
 * unless @b's top bit asks for the last one to be wrong (a base that is
 * not the delta's).
 */
static void refs_of(uint8_t b, struct sf_ref *refs, struct sf_manifest *m,
		    struct sf_chunk *c)
{
	uint32_t n = 1 + (b & 3);

	for (uint32_t k = 0; k < n; k++) {
		refs[k].offset = ((uint64_t)(b >> 2 & 31) * 1024 + k * 9000) %
				 (BASE_SIZE / 2);
		refs[k].length = 1024u << ((b >> 2) + k) % 5;
		sf_hash(base_bytes() + refs[k].offset, refs[k].length,
			refs[k].hash);
	}
	if (b & 0x80)
		refs[n - 1].hash[0] ^= 1;
	*m = (struct sf_manifest){ .n_refs = n, .refs = refs };
	c->base_offset = n;
	c->first_ref = 0;
}

/* The chunk the input describes, or false when the manifest parser would
 * refuse it. */
static bool chunk_of(const uint8_t *data, size_t size, struct sf_chunk *c)
{
	*c = (struct sf_chunk){
		.form = data[0],
		.length =
			1 + (data[1] | data[2] << 8 | (uint32_t)data[3] << 16) %
				    (3 * SF_DICT_SIZE),
		.stored_len = (uint32_t)(size - HEAD),
	};
	switch (c->form) {
	case SF_FORM_ZERO:
		return c->stored_len == 0;
	case SF_FORM_STORED:
		c->length = c->stored_len;
		return c->length > 0;
	case SF_FORM_BASE:
		c->base_offset = (uint64_t)data[4] * SF_BLOCK_SIZE;
		return c->stored_len == 0;
	default: /* deflate, patch, zstd, unknown forms */
		return c->stored_len > 0 && c->stored_len < c->length;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_base base = { .read = base_read, .size = BASE_SIZE };
	struct sf_ref refs[4];
	struct sf_manifest m = { .n_refs = 0 };
	struct sf_codec codec;
	struct sf_chunk c;
	uint8_t *out, *again;
	int r;

	if (size < HEAD || size - HEAD > SF_CHUNK_MAX ||
	    !chunk_of(data, size, &c))
		return 0;
	base.data = (void *)base_bytes();
	if (c.form == SF_FORM_REF)
		refs_of(data[4], refs, &m, &c);
	out = malloc(c.length);
	again = malloc(c.length);
	if (!out || !again)
		abort();
	sf_codec_init(&codec, 6);
	r = sf_chunk_rebuild(NULL, &codec, &m, &c, 0, data + HEAD, &base, out);
	if (r == 0) {
		sf_hash(out, c.length, c.content_hash);
		if (sf_chunk_decode(NULL, &codec, &m, &c, 0, data + HEAD, &base,
				    true, again) != 0 ||
		    memcmp(out, again, c.length) != 0)
			abort();
	} else if (r != -EBADMSG && r != -EIO && r != -EXDEV) {
		abort();
	}
	sf_codec_done(&codec);
	free(out);
	free(again);
	return 0;
}
