/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading an image file (docs/FORMAT.md): header, manifest, signature block,
 * k-of-n signature check, chunk data verification. The verifying path is
 * ordered so that nothing unsigned is parsed beyond the header: signatures
 * are checked over the raw manifest bytes before the manifest is decoded.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "log.h"
#include "manifest.h"
#include "minisign.h"

#define SF_HEADER_SIZE 4096u
#define SF_SIGBLOCK_SIZE 16384u
#define SF_MAX_SIGS 16u
#define SF_SIG_MAX_LEN 2048u

struct sf_sigblock {
	unsigned n;
	char *text[SF_MAX_SIGS]; /* NUL-terminated minisig texts */
	uint32_t len[SF_MAX_SIGS];
};

struct sf_image {
	int fd;
	uint64_t file_size;
	uint32_t format; /* the header's format version */
	uint64_t manifest_size;
	uint64_t sig_offset;
	uint64_t data_offset;
	uint8_t *manifest_raw;
	uint8_t manifest_hash[SF_HASH_BYTES];
	struct sf_sigblock sigs;
	/* Valid after sf_image_load_manifest(): */
	struct sf_manifest m;
	bool loaded;
};

/* Offsets of the areas for a manifest of @manifest_size bytes. */
uint64_t sf_image_sig_offset(uint64_t manifest_size);
uint64_t sf_image_data_offset(uint64_t manifest_size);
/* Fill the 4096-byte header block. */
void sf_image_header_encode(uint8_t *buf, uint32_t format,
			    uint64_t manifest_size);
/*
 * sf_image_header_parse - check the header block @h (SF_HEADER_SIZE
 * bytes) of the image @path (for messages): magic, format version, zero
 * flags and reserved bytes, manifest size within bounds.
 * Returns 0 and the manifest size in *@ret_manifest_size; -EBADMSG (not a
 * slotflip image); -EPROTONOSUPPORT (another format version).
 */
int sf_image_header_parse(const struct sf_ctx *ctx, const char *path,
			  const uint8_t *h, uint64_t *ret_manifest_size);

/*
 * sf_image_open - open @path (a regular file, no symlink; a FIFO or
 * device node there is refused without blocking) and read its header, raw
 * manifest and signature block. Nothing in the manifest is trusted or
 * decoded yet.
 * Returns 0 and a new image in *@ret; -ENOENT, -EACCES, -ELOOP (a link)
 * ... when the file cannot be read; -EBADMSG if it is not a regular file,
 * not a slotflip image or is truncated; -EPROTONOSUPPORT for an unknown
 * format version.
 */
int sf_image_open(const struct sf_ctx *ctx, const char *path,
		  struct sf_image **ret);

/*
 * sf_image_open_at - sf_image_open() of @name relative to the directory
 * @dirfd (or AT_FDCWD); @path names the file in messages.
 */
int sf_image_open_at(const struct sf_ctx *ctx, int dirfd, const char *name,
		     const char *path, struct sf_image **ret);

/*
 * sf_image_open_growing_at - sf_image_open_at() of a file still being
 * written (a download): it need only hold the header, manifest and
 * signature block yet; @final_size is the size it will have (signed
 * elsewhere), which sf_image_load_manifest() then checks against the
 * manifest's data size. Returns as sf_image_open_at(); -EBADMSG also when
 * the file is shorter than its signature block's end.
 */
int sf_image_open_growing_at(const struct sf_ctx *ctx, int dirfd,
			     const char *name, const char *path,
			     uint64_t final_size, struct sf_image **ret);
void sf_image_close(struct sf_image *img);

/*
 * sf_sigblock_parse - decode a signature block (SF_SIGBLOCK_SIZE bytes).
 * Returns 0, -EBADMSG if malformed, -ENOMEM.
 */
int sf_sigblock_parse(const struct sf_ctx *ctx, const uint8_t *buf,
		      struct sf_sigblock *ret);
/* Encode @sb into @buf (SF_SIGBLOCK_SIZE bytes). Returns 0 or -ENOSPC. */
int sf_sigblock_encode(const struct sf_sigblock *sb, uint8_t *buf);
/* Append a copy of @text. Returns 0, -ENOSPC (block full), -ENOMEM. */
int sf_sigblock_add(struct sf_sigblock *sb, const char *text);
void sf_sigblock_free(struct sf_sigblock *sb);

/*
 * sf_image_check_signatures - count the distinct keys among @keys (@n_keys
 * of them) that made a valid signature of the manifest, and require
 * @threshold of them. Also checks that each such signature's trusted
 * comment names the manifest's compatible string and version.
 * Returns the count (>= @threshold), -EKEYREJECTED if too few, -EBADMSG if
 * the manifest does not parse.
 */
int sf_image_check_signatures(const struct sf_ctx *ctx, struct sf_image *img,
			      const struct ms_pubkey *keys, unsigned n_keys,
			      unsigned threshold);

/*
 * sf_image_load_manifest - decode the manifest (once) and check that the
 * file size matches the data size. Returns 0, -EBADMSG, -EPROTONOSUPPORT.
 */
int sf_image_load_manifest(const struct sf_ctx *ctx, struct sf_image *img);

/* The trusted comment slotflip-image writes for @m. */
void sf_image_trusted_comment(const struct sf_manifest *m, char *buf,
			      size_t size);

typedef void (*sf_progress_fn)(void *data, uint64_t done, uint64_t total);

/*
 * sf_image_verify_data - check the stored hash of every chunk, on @threads
 * threads. Returns 0, -EBADMSG naming the first bad chunk, -errno on I/O.
 */
int sf_image_verify_data(const struct sf_ctx *ctx, struct sf_image *img,
			 unsigned threads, sf_progress_fn progress,
			 void *progress_data);

/*
 * sf_image_verify_content - what sf_image_verify_data() checks, and also
 * decode every chunk and check that it gives exactly its length and its
 * content hash (a chunk that lies about its content is signed as well as
 * a true one). @bases (SF_MAX_PAYLOADS + 1 entries, by payload kind, or
 * NULL) reads the payloads a delta was made against; a base and patch chunk
 * whose payload's entry has no read function is not decoded but counted
 * in *@ret_unchecked. Progress counts payload bytes.
 * Returns 0 and *@ret_unchecked; -EBADMSG naming the first chunk that
 * lies or is corrupt; -EXDEV when a base does not hold what the delta was
 * made against; -errno on I/O (also from @bases).
 */
int sf_image_verify_content(const struct sf_ctx *ctx, struct sf_image *img,
			    const struct sf_base *bases, unsigned threads,
			    sf_progress_fn progress, void *progress_data,
			    uint32_t *ret_unchecked);

/*
 * sf_image_read_stored - read chunk @idx's stored bytes into @buf (room for
 * the chunk's stored length) and check their hash.
 * Returns 0, -EBADMSG if the hash differs, -errno on I/O.
 */
int sf_image_read_stored(const struct sf_ctx *ctx, struct sf_image *img,
			 uint32_t idx, uint8_t *buf);

/* Bytes of an image's start that sf_image_claimed_size() needs. */
#define SF_IMAGE_HEAD_BYTES (SF_HEADER_SIZE + SF_MANIFEST_HEAD_BYTES)

/*
 * sf_image_claimed_size - the file size an image says it has, from its
 * first SF_IMAGE_HEAD_BYTES bytes (@head, @len bytes): header, then the
 * data size in the manifest (docs/FORMAT.md). Nothing is verified: the
 * size only sizes a copy before the whole image is checked.
 * Returns 0 and *@ret; -EBADMSG (not a slotflip image, or too short);
 * -EPROTONOSUPPORT (another format version).
 */
int sf_image_claimed_size(const uint8_t *head, size_t len, uint64_t *ret);
