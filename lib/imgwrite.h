/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Creating and signing images (the build server's side). */
#pragma once

#include <stdint.h>

#include "image.h"
#include "minisign.h"
#include "seckey.h"

/* How full chunks are compressed (docs/FORMAT.md, "Writer parameters"). */
enum sf_codec_kind {
	SF_CODEC_DEFAULT = 0, /* zstd, or zlib for format 1 */
	SF_CODEC_ZSTD,
	SF_CODEC_ZLIB,
};

struct sf_create_opts {
	/* Payload files by kind; rootfs is required. */
	const char *rootfs;
	const char *efi;
	const char *version;
	const char *compatible;
	uint32_t chunk_size; /* 0: SF_DEFAULT_CHUNK */
	uint32_t format; /* 1 or 2; 0: SF_FORMAT_VERSION */
	enum sf_codec_kind codec;
	int level; /* zstd 1..19, zlib 1..9; 0: the codec's default */
	unsigned threads; /* 0: one per online CPU */
	uint64_t build_time;
	/* A full image of an earlier version: make a delta against it. */
	const char *delta_from;
	/*
	 * The keys the delta base must be signed by, @base_threshold of them
	 * (0: 1); none: the public halves of @keys.
	 */
	const struct ms_pubkey *base_keys;
	unsigned n_base_keys;
	unsigned base_threshold;
	const struct ms_seckey *keys;
	unsigned n_keys;
	sf_progress_fn progress;
	void *progress_data;
};

#define SF_DEFAULT_CHUNK (4u << 20)
#define SF_DEFAULT_ZSTD_LEVEL 9
#define SF_DEFAULT_ZLIB_LEVEL 9

/*
 * sf_image_create - write a signed image to @out_path (through a temporary
 * file renamed into place: on failure nothing is left behind).
 * Returns 0; -EINVAL for bad options (version, compatible string, sizes,
 * level, a zstd codec for format 1);
 * -EKEYREJECTED if the delta base is not signed by enough
 * of @o->base_keys; -EBADMSG if it is not a full image of this device with
 * a lower version, or declares more than its chunks can hold or than
 * fits in memory (its zero chunks take none); -errno for I/O.
 */
int sf_image_create(const struct sf_ctx *ctx, const struct sf_create_opts *o,
		    const char *out_path);

/*
 * sf_image_add_signature - sign @path's manifest with @key and add the
 * signature (the file is replaced atomically).
 * Returns 0, -EEXIST if @key already signed it, -ENOSPC if the block is
 * full, -errno.
 */
int sf_image_add_signature(const struct sf_ctx *ctx, const char *path,
			   const struct ms_seckey *key);
