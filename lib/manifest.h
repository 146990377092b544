/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The signed manifest of an image (docs/FORMAT.md, "Manifest"): decoding
 * with every field checked, and encoding.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* The version writers write; readers read 1 and 2. */
#define SF_FORMAT_VERSION 2
#define SF_FORMAT_MIN 1
#define SF_HASH_BYTES 32
#define SF_BLOCK_SIZE 4096u
#define SF_WINDOW_BLOCKS 8u
#define SF_DICT_SIZE (SF_WINDOW_BLOCKS * SF_BLOCK_SIZE)
/* The fixed part of a version 1 manifest; version 2 adds 8 bytes. */
#define SF_MANIFEST_FIXED 264u
#define SF_MANIFEST_FIXED_V2 272u
#define SF_REF_ENTRY 48u
#define SF_PAYLOAD_ENTRY 16u
#define SF_CHUNK_ENTRY 80u
#define SF_MANIFEST_MAX (64u << 20)
#define SF_MAX_PAYLOADS 4u
#define SF_PAYLOAD_MAX (1ull << 40)
#define SF_CHUNK_MIN 4096u
#define SF_CHUNK_MAX (4u << 20)
#define SF_STRING_FIELD 64u
#define SF_MANIFEST_FLAG_DELTA 1u
/* Bytes of a manifest's start that sf_manifest_data_size() needs. */
#define SF_MANIFEST_HEAD_BYTES 32u

enum sf_form {
	SF_FORM_ZERO = 0,
	SF_FORM_STORED = 1,
	SF_FORM_DEFLATE = 2,
	SF_FORM_BASE = 3,
	SF_FORM_PATCH = 4,
	SF_FORM_ZSTD = 5, /* version 2 */
	SF_FORM_REF = 6, /* version 2, delta images only */
};

/* Reference chunks (form 6): at most this many ranges, of this many bytes
 * together (docs/FORMAT.md, "Reference chunks"). */
#define SF_REFS_PER_CHUNK 16u
#define SF_REF_BYTES_MAX (8u << 20)

enum sf_payload_kind {
	SF_PAYLOAD_ROOTFS = 1,
	SF_PAYLOAD_EFI = 2,
};

struct sf_chunk {
	uint8_t form;
	uint32_t stored_len;
	uint64_t base_offset;
	uint8_t content_hash[SF_HASH_BYTES];
	uint8_t stored_hash[SF_HASH_BYTES];
	/* Derived, not encoded: */
	uint32_t length; /* bytes of content */
	uint64_t offset; /* offset of the content in its payload */
	uint64_t data_offset; /* offset of the stored bytes in the data area */
	unsigned payload; /* index into sf_manifest.payloads */
	uint32_t first_ref; /* form 6: its first entry in sf_manifest.refs */
};

/* A range of the base payload that a reference chunk is coded against. */
struct sf_ref {
	uint64_t offset;
	uint32_t length;
	uint8_t hash[SF_HASH_BYTES]; /* BLAKE2b-256 of the range's bytes */
};

/* The number of reference ranges of a form 6 chunk @c. */
static inline uint32_t sf_chunk_ref_count(const struct sf_chunk *c)
{
	return c->form == SF_FORM_REF ? (uint32_t)c->base_offset : 0;
}

struct sf_payload {
	uint32_t kind;
	uint64_t size;
	/* Derived: */
	uint32_t first_chunk;
	uint32_t n_chunks;
};

struct sf_manifest {
	uint32_t format; /* format version, 1 or 2 */
	uint32_t flags;
	uint64_t build_time;
	uint64_t data_size;
	uint32_t chunk_size;
	char compatible[SF_STRING_FIELD];
	char version[SF_STRING_FIELD];
	char base_version[SF_STRING_FIELD];
	uint8_t base_manifest_hash[SF_HASH_BYTES];
	unsigned n_payloads;
	struct sf_payload payloads[SF_MAX_PAYLOADS];
	uint32_t n_chunks;
	struct sf_chunk *chunks;
	uint32_t n_refs; /* version 2: the reference table */
	struct sf_ref *refs;
};

/*
 * sf_manifest_data_size - the data size a manifest's first
 * SF_MANIFEST_HEAD_BYTES bytes (@buf, @len bytes) claim, unverified (for
 * sizing a copy before the whole image is checked).
 * Returns 0 and *@ret; -EBADMSG (too short, not a manifest).
 */
int sf_manifest_data_size(const uint8_t *buf, size_t len, uint64_t *ret);

/*
 * sf_manifest_parse - decode and check @len bytes at @buf.
 * Every field is checked against docs/FORMAT.md; on success @ret owns a
 * chunk array (free with sf_manifest_free()).
 * Returns 0, -EPROTONOSUPPORT for an unknown format version, -EBADMSG for
 * anything malformed (with a message naming the field), -ENOMEM.
 */
int sf_manifest_parse(const struct sf_ctx *ctx, const uint8_t *buf, size_t len,
		      struct sf_manifest *ret);

/* Bytes of the fixed part of a manifest of format version @format. */
static inline uint32_t sf_manifest_fixed_size(uint32_t format)
{
	return format >= 2 ? SF_MANIFEST_FIXED_V2 : SF_MANIFEST_FIXED;
}

/*
 * sf_manifest_layout - fill the derived fields of @m (payload chunk ranges,
 * chunk lengths and offsets) from chunk_size and the payload table, and
 * allocate m->chunks (zeroed) if it is NULL. Used by writers, which set
 * m->format first (0 is taken as SF_FORMAT_VERSION).
 * Returns 0, -EINVAL if sizes are out of bounds, -ENOMEM.
 */
int sf_manifest_layout(struct sf_manifest *m);

/* Derive data offsets from stored lengths, and each reference chunk's
 * first reference from the counts; sets m->data_size. */
void sf_manifest_set_data_offsets(struct sf_manifest *m);

/* Size in bytes of the encoded manifest. */
size_t sf_manifest_encoded_size(const struct sf_manifest *m);

/*
 * sf_manifest_encode - write @m to @buf, which has room for
 * sf_manifest_encoded_size(@m) bytes. Returns that size.
 */
size_t sf_manifest_encode(const struct sf_manifest *m, uint8_t *buf);

void sf_manifest_free(struct sf_manifest *m);

/* The payload of kind @kind, or NULL. */
const struct sf_payload *sf_manifest_payload(const struct sf_manifest *m,
					     uint32_t kind);

/* "rootfs", "efi" or "unknown". */
const char *sf_payload_kind_name(uint32_t kind);
/* "zero", "stored", "deflate", "base", "patch", "zstd", "reference" or
 * "unknown". */
const char *sf_form_name(uint8_t form);

/* True if @s is a valid compatible string (docs/FORMAT.md). */
bool sf_compatible_valid(const char *s);

/* Number of bytes in a patch chunk's block map for a chunk of @length. */
static inline uint32_t sf_patch_blocks(uint32_t length)
{
	return (length + SF_BLOCK_SIZE - 1) / SF_BLOCK_SIZE;
}
