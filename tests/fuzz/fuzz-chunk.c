// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the chunk decoder (sf_chunk_rebuild(), sf_chunk_decode()):
 * deflate streams, NULL, zstd frames (form 5: header, NULL, window, length and extent
 * checks, then the decoder) and patch chunks (block map, window headers,
 * window streams with base dictionaries) against a fixed 64 KiB base.
 *
 * Input: form (1 byte), content length - 1 (3 bytes LE, taken modulo
 * 96 KiB: up to three patch windows), base block of a base chunk
 * (1 byte), then the stored bytes. The chunk is cut to what the manifest
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
	struct sf_base base = { .read = base_read };
	struct sf_codec codec;
	struct sf_chunk c;
	uint8_t *out, *again;
	int r;

	if (size < HEAD || size - HEAD > SF_CHUNK_MAX ||
	    !chunk_of(data, size, &c))
		return 0;
	base.data = (void *)base_bytes();
	out = malloc(c.length);
	again = malloc(c.length);
	if (!out || !again)
		abort();
	sf_codec_init(&codec, 6);
	r = sf_chunk_rebuild(NULL, &codec, NULL, &c, 0, data + HEAD, &base,
			     out);
	if (r == 0) {
		sf_hash(out, c.length, c.content_hash);
		if (sf_chunk_decode(NULL, &codec, NULL, &c, 0, data + HEAD,
				    &base, true, again) != 0 ||
		    memcmp(out, again, c.length) != 0)
			abort();
	} else if (r != -EBADMSG && r != -EIO) {
		abort();
	}
	sf_codec_done(&codec);
	free(out);
	free(again);
	return 0;
}
