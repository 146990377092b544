/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding a new chunk's data in the base payload at any byte offset, for
 * reference chunks (docs/FORMAT.md, "Reference chunks", "Choosing the
 * references"). The build server's side only.
 */
#pragma once

#include <stdint.h>

#include "manifest.h"

/* The base is indexed at every SF_REF_GRAIN-th byte: a run of data shared
 * with the base is found when it is at least twice this long. */
#define SF_REF_GRAIN 64u

struct sf_refindex;

/*
 * sf_refindex_build - index a base payload of @size bytes whose non-zero
 * 4 KiB blocks are at @mem, one after the other (@n_blocks of them, block
 * k being the payload's block @block_at[k], in increasing order; all kept
 * by the caller until the index is freed): one entry per SF_REF_GRAIN
 * bytes that are not all zero, found again by a rolling hash.
 * Returns 0, -ENOMEM.
 */
int sf_refindex_build(const uint8_t *mem, uint64_t n_blocks,
		      const uint64_t *block_at, uint64_t size,
		      struct sf_refindex **ret);

void sf_refindex_free(struct sf_refindex *ix);

/* What sf_refindex_find() found of a chunk in the base. */
struct sf_refs_found {
	uint32_t n; /* ranges in @refs (offset and length set; no hash) */
	struct sf_ref refs[SF_REFS_PER_CHUNK];
	uint64_t matched; /* bytes of the chunk found in the base */
	/* The whole chunk is the base's bytes at @whole_at (if @whole). */
	bool whole;
	uint64_t whole_at;
};

/*
 * sf_refindex_find - find the @len bytes at @buf in the base: up to
 * SF_REFS_PER_CHUNK ranges of it, together at most SF_REF_BYTES_MAX bytes
 * and in increasing offset, that hold the most of @buf, with some bytes
 * around each (similar data is often near data that is equal).
 * Returns 0, -ENOMEM.
 */
int sf_refindex_find(const struct sf_refindex *ix, const uint8_t *buf,
		     uint32_t len, struct sf_refs_found *ret);
