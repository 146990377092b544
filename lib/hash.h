/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BLAKE2b-256 (RFC 7693: unkeyed, 32-byte digest) of many buffers at once,
 * for the chunks' content hashes.
 *
 * Hashing one message is a chain of compressions, each waiting for the one
 * before, so one message keeps a CPU's vector units mostly idle. With one
 * message in each 64-bit lane of a vector, the same instructions hash 8
 * messages (AVX-512) or 4 (AVX2) side by side. The digests are BLAKE2b's
 * whatever the way they were computed; where the CPU has neither, each
 * message is hashed alone (libsodium).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/* sf_hash - BLAKE2b-256 of one buffer of @len bytes (libsodium). */
void sf_hash(const void *buf, size_t len, uint8_t out[SF_HASH_BYTES]);

/* The most messages hashed side by side. */
#define SF_HASH_LANES_MAX 8

/*
 * sf_hash_lanes - how many messages the implementation in use hashes side
 * by side: 8, 4 or 1. Callers that can gather that many buffers before
 * hashing them should.
 */
unsigned sf_hash_lanes(void);

/*
 * sf_hash_many - BLAKE2b-256 of the @n buffers @bufs[i] of @lens[i] bytes
 * into @out[i]. Any @n and lengths; equal lengths (whole chunks) make the
 * best use of the lanes.
 */
void sf_hash_many(unsigned n, const uint8_t *const *bufs, const size_t *lens,
		  uint8_t (*out)[SF_HASH_BYTES]);

/*
 * sf_hash_select - use the implementation @name ("avx512", "avx2" or
 * "generic"), or with NULL the best this CPU runs; for tests and
 * benchmarks. Returns 0, -ENOTSUP if this CPU (or build) cannot run it,
 * -EINVAL for an unknown name.
 */
int sf_hash_select(const char *name);

/* sf_hash_impl - the name of the implementation in use. */
const char *sf_hash_impl(void);
