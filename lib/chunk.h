/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Chunk codec: deflate, zstd and patch encoding, and decoding of every chunk
 * form (docs/FORMAT.md, "Chunk table entry", "Patch chunks", "Zstd chunks").
 */
#pragma once

#include <stdint.h>
#include <zlib.h>
#include <zstd.h>

#include "log.h"
#include "manifest.h"

/* Reads base payload bytes for delta chunks (a slot, or a file in tests). */
struct sf_base {
	/* Returns 0 or -errno; reads exactly @len bytes at @offset. */
	int (*read)(void *data, uint64_t offset, void *buf, size_t len);
	void *data;
	/* Bytes that can be read (a reference range beyond is refused with
	 * a reason); 0: not known, reads say. */
	uint64_t size;
	/*
	 * Reference ranges are read from @first first, when set (another
	 * copy that may hold the base: a spare slot after a factory
	 * install, where the running slot, mounted read-write, changed);
	 * a range whose bytes there do not hash right is read from this
	 * base, and *@first_missed is set.
	 */
	const struct sf_base *first;
	bool *first_missed;
};

/* The largest window a zstd chunk's frame may ask for: 4 MiB; a
 * reference chunk's: 16 MiB (its prefix and the chunk). */
#define SF_ZSTD_WINDOW_LOG_MAX 22
#define SF_ZSTD_REF_WINDOW_LOG_MAX 24
#define SF_ZSTD_LEVEL_MAX 19

/*
 * zlib streams and zstd contexts kept across chunks by one thread (init is
 * not cheap); each is made when first used.
 */
struct sf_codec {
	z_stream def;
	z_stream inf;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	uint8_t *prefix; /* reference chunks: SF_REF_BYTES_MAX, when used */
	int level;
	uint8_t def_ready;
	uint8_t inf_ready;
};

/* Level: zlib's 1..9 for sf_deflate(), zstd's 1..19 for sf_zstd(). */
void sf_codec_init(struct sf_codec *c, int level);
void sf_codec_done(struct sf_codec *c);

/*
 * sf_zstd - compress @len bytes of @in into one zstd frame in @out (room
 * for @cap bytes) at the codec's level, with the content size and no
 * checksum (docs/FORMAT.md, "Zstd chunks"); with @prefix_len bytes of
 * @prefix as its prefix (a reference chunk: "Reference chunks"; NULL, 0
 * for none).
 * Returns the stored length, -ENOSPC if the frame needs @cap bytes or
 * more, -ENOMEM.
 */
int sf_zstd(struct sf_codec *c, const uint8_t *in, uint32_t len,
	    const uint8_t *prefix, size_t prefix_len, uint8_t *out,
	    uint32_t cap);

/*
 * sf_zstd_exact - decode @in_len bytes that must be exactly one zstd frame
 * declaring and producing exactly @out_len bytes, with no dictionary and a
 * window of at most 2^SF_ZSTD_WINDOW_LOG_MAX bytes; with a @prefix (a
 * reference chunk's ranges, @prefix_len bytes), 2^SF_ZSTD_REF_WINDOW_LOG_MAX.
 * The header and the frame's extent are checked before anything is decoded.
 * Returns 0; -EBADMSG with a reason in *@ret_why (a static string) for a
 * frame that is corrupt, lies about its length, has trailing bytes or asks
 * for too large a window; -ENOMEM.
 */
int sf_zstd_exact(struct sf_codec *c, const uint8_t *in, uint32_t in_len,
		  const uint8_t *prefix, size_t prefix_len, uint8_t *out,
		  uint32_t out_len, const char **ret_why);

/*
 * sf_deflate - raw-deflate @len bytes of @in into @out (room for @cap bytes),
 * with an optional 32 KiB preset dictionary @dict.
 * Returns the stored length, -ENOSPC if the result needs @cap bytes or more,
 * -ENOMEM.
 */
int sf_deflate(struct sf_codec *c, const uint8_t *in, uint32_t len,
	       const uint8_t *dict, uint8_t *out, uint32_t cap);

/*
 * sf_inflate_exact - inflate a raw deflate stream that must produce exactly
 * @out_len bytes and consume exactly @in_len bytes.
 * Returns 0, -EBADMSG if the stream is corrupt, longer or shorter.
 */
int sf_inflate_exact(struct sf_codec *c, const uint8_t *in, uint32_t in_len,
		     const uint8_t *dict, uint8_t *out, uint32_t out_len);

/*
 * sf_chunk_decode - rebuild chunk @c (index @idx, for messages) of manifest
 * @m into @out (c->length bytes) from its @stored bytes, whose stored hash
 * the caller has checked. Base, patch and reference chunks read @base
 * (a reference chunk's ranges are each checked against their hash first)
 * and are always checked against the content hash; other forms only if
 * @check_content.
 * Returns 0; -EBADMSG for a corrupt chunk; -EXDEV when the base does not
 * hold what the delta was made against (or is shorter than a reference
 * range needs); -ENOENT if a delta chunk has no @base; -ENOMEM; -errno
 * from @base.
 */
int sf_chunk_decode(const struct sf_ctx *ctx, struct sf_codec *codec,
		    const struct sf_manifest *m, const struct sf_chunk *c,
		    uint32_t idx, const uint8_t *stored,
		    const struct sf_base *base, bool check_content,
		    uint8_t *out);

/*
 * sf_chunk_refs_inside - does every reference range of chunk @c (index
 * @idx) of @m lie in a base of @base_size bytes (0: not known, yes)?
 * Returns 0, or -EXDEV with a message (the delta was made against
 * another base).
 */
int sf_chunk_refs_inside(const struct sf_ctx *ctx, const struct sf_manifest *m,
			 const struct sf_chunk *c, uint32_t idx,
			 uint64_t base_size);

/*
 * sf_chunk_rebuild - sf_chunk_decode() without any content hash check: for
 * a caller that hashes several chunks at once (sf_hash_many()) and checks
 * @out against c->content_hash itself before it uses a byte of it. (A
 * reference chunk's ranges are still checked against their hashes.)
 * Returns as sf_chunk_decode().
 */
int sf_chunk_rebuild(const struct sf_ctx *ctx, struct sf_codec *codec,
		     const struct sf_manifest *m, const struct sf_chunk *c,
		     uint32_t idx, const uint8_t *stored,
		     const struct sf_base *base, uint8_t *out);

/*
 * sf_patch_encode - encode a patch chunk of @len bytes of @content.
 * @map has one entry per 4 KiB block (0 = carried, k = base block k-1),
 * @dicts one per 32 KiB window (0 = no dictionary, d = base block d-1);
 * @base reads the base payload (each dictionary's 32 KiB). Writes into
 * @out (room for @cap).
 * Returns the stored length, -ENOSPC if it would need @cap bytes or more,
 * -errno from @base.
 */
int sf_patch_encode(struct sf_codec *codec, const uint8_t *content,
		    uint32_t len, const uint32_t *map, const uint32_t *dicts,
		    const struct sf_base *base, uint8_t *out, uint32_t cap);
