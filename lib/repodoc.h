/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The documents of an update repository (docs/REPO.md): key sets,
 * timestamps and indexes, as strict text; their k-of-n signature files;
 * the checks a device makes of them. Parsing, formatting and checking
 * only: signing is in repowrite.h (the build server's side), so that a
 * device's program that checks documents holds no signing code.
 *
 * Every function returns 0 (or a count) or a negative errno, reports what
 * is wrong through sf_err(ctx, ...) with the document's name, and leaves
 * its ret_ arguments untouched on failure. Errors: -EBADMSG malformed or
 * inconsistent; -EPROTONOSUPPORT another format version; -EFBIG over a
 * size cap; -EKEYREJECTED too few valid signatures; -ESTALE expired;
 * -ERANGE a serial, version or floor that went back (rollback).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "manifest.h"
#include "minisign.h"

#define SF_REPO_FORMAT 1
/* Size caps a reader enforces before parsing (docs/REPO.md). */
#define SF_REPO_KEYSET_CAP (8u << 10)
#define SF_REPO_TIMESTAMP_CAP (4u << 10)
#define SF_REPO_INDEX_CAP (64u << 10)
#define SF_REPO_SIGFILE_CAP (16u << 10)
#define SF_REPO_MAX_KEYS 16u
#define SF_REPO_MAX_DELTAS 16u
#define SF_REPO_MAX_SIGS 16u
/* Key sets a device walks in one run. */
#define SF_REPO_CHAIN_MAX 16u
/* Product and compatible: 1 to 63 characters; channel: 1 to 31. */
#define SF_REPO_NAME_SIZE 64u
#define SF_REPO_CHANNEL_SIZE 32u
#define SF_REPO_NUMBER_MAX INT64_MAX
/* "index.<64 hex>", "images/<64 hex>.img" and the like. */
#define SF_REPO_HEX_SIZE (2 * SF_HASH_BYTES + 1)

enum sf_repodoc_kind {
	SF_REPODOC_KEYS,
	SF_REPODOC_TIMESTAMP,
	SF_REPODOC_INDEX,
};

struct sf_repo_keyset {
	char product[SF_REPO_NAME_SIZE];
	char compatible[SF_REPO_NAME_SIZE];
	uint64_t set;
	unsigned threshold;
	uint64_t issued;
	unsigned n_keys;
	struct ms_pubkey keys[SF_REPO_MAX_KEYS];
};

struct sf_repo_timestamp {
	char product[SF_REPO_NAME_SIZE];
	char channel[SF_REPO_CHANNEL_SIZE];
	uint64_t serial;
	uint64_t issued;
	uint64_t expires;
	uint64_t keyset;
	uint64_t index_size;
	uint8_t index_hash[SF_HASH_BYTES];
};

/* An image an index offers: a full image (base_version empty) or a delta. */
struct sf_repo_image {
	char base_version[SF_STRING_FIELD];
	uint8_t base_manifest[SF_HASH_BYTES];
	uint64_t size;
	uint8_t hash[SF_HASH_BYTES];
};

struct sf_repo_index {
	char product[SF_REPO_NAME_SIZE];
	char compatible[SF_REPO_NAME_SIZE];
	char channel[SF_REPO_CHANNEL_SIZE];
	uint64_t serial;
	uint64_t issued;
	uint64_t expires;
	char version[SF_STRING_FIELD];
	/* "0" for none. */
	char floor[SF_STRING_FIELD];
	uint8_t manifest[SF_HASH_BYTES];
	struct sf_repo_image full;
	unsigned n_deltas;
	struct sf_repo_image deltas[SF_REPO_MAX_DELTAS];
};

/*
 * sf_repo_*_parse - parse the text of a document (@len bytes, need not be
 * NUL-terminated); @name (e.g. its path) starts every message.
 * Everything docs/REPO.md says is checked: first line, field order,
 * values, cross-field rules; the text must be canonical (formatting the
 * result gives the same bytes).
 * Returns 0, -EFBIG (over the kind's cap), -EPROTONOSUPPORT, -EBADMSG.
 */
int sf_repo_keyset_parse(const struct sf_ctx *ctx, const char *name,
			 const char *text, size_t len,
			 struct sf_repo_keyset *ret);
int sf_repo_timestamp_parse(const struct sf_ctx *ctx, const char *name,
			    const char *text, size_t len,
			    struct sf_repo_timestamp *ret);
int sf_repo_index_parse(const struct sf_ctx *ctx, const char *name,
			const char *text, size_t len,
			struct sf_repo_index *ret);

/*
 * sf_repo_*_format - the text of a document, malloc'd, NUL-terminated;
 * its length in *@ret_len. The fields are checked as the parser checks
 * them, so that nothing is written that a reader would refuse.
 * Returns 0, -EBADMSG (a field a reader would refuse, with a message),
 * -ENOMEM.
 */
int sf_repo_keyset_format(const struct sf_ctx *ctx,
			  const struct sf_repo_keyset *ks, char **ret_text,
			  size_t *ret_len);
int sf_repo_timestamp_format(const struct sf_ctx *ctx,
			     const struct sf_repo_timestamp *ts,
			     char **ret_text, size_t *ret_len);
int sf_repo_index_format(const struct sf_ctx *ctx,
			 const struct sf_repo_index *idx, char **ret_text,
			 size_t *ret_len);

/*
 * sf_repo_comment - the trusted comment the signatures of a document
 * carry (docs/REPO.md, "Signatures"), into @buf (@size bytes).
 * @channel: timestamp and index; @set: key sets.
 */
void sf_repo_comment(enum sf_repodoc_kind kind, const char *product,
		     const char *channel, uint64_t set, char *buf, size_t size);

/*
 * sf_repo_check_sigs - count the distinct keys of @ks that made a valid,
 * canonical signature of @doc (@doc_len bytes) carrying the trusted
 * comment @comment, among the signatures in @sigs (@sigs_len bytes, the
 * text of a signature file: 1 to SF_REPO_MAX_SIGS signatures one after
 * the other). Signatures by other keys, with another comment, or not
 * canonical count for nothing.
 * Returns the count (>= ks->threshold), -EKEYREJECTED (fewer), -EBADMSG
 * (the file is not a sequence of 4-line signatures), -EFBIG.
 */
int sf_repo_check_sigs(const struct sf_ctx *ctx, const char *name,
		       const void *doc, size_t doc_len, const char *sigs,
		       size_t sigs_len, const struct sf_repo_keyset *ks,
		       const char *comment);

/*
 * sf_repo_keyset_accept - accept the key set that follows @cur
 * (docs/REPO.md, "Key rotation"): parse @text, require set number
 * cur->set + 1, the same product and compatible string, and signatures
 * in @sigs by @cur's threshold of @cur's keys and by its own threshold
 * of its own keys.
 * Returns 0 and the new set in *@ret; the errors of the parser and of
 * sf_repo_check_sigs().
 */
int sf_repo_keyset_accept(const struct sf_ctx *ctx, const char *name,
			  const struct sf_repo_keyset *cur, const char *text,
			  size_t len, const char *sigs, size_t sigs_len,
			  struct sf_repo_keyset *ret);

/*
 * sf_repo_clock - the time expiries are judged against: the latest of the
 * real-time clock @rtc, the last trusted issue time and the running
 * image's build time (docs/REPO.md, "The clock").
 */
uint64_t sf_repo_clock(uint64_t rtc, uint64_t last_issued, uint64_t build_time);

/* What a device remembers from its last accepted documents of a channel. */
struct sf_repo_seen {
	uint64_t ts_serial;
	uint64_t index_serial;
	/* "0" or empty for none. */
	char floor[SF_STRING_FIELD];
};

/*
 * sf_repo_timestamp_check - a signed timestamp against what the device
 * expects: @product, @channel, key set @keyset, a serial not below
 * @seen->ts_serial (may be NULL), not expired at @now.
 * Returns 0, -EBADMSG, -ERANGE, -ESTALE.
 */
int sf_repo_timestamp_check(const struct sf_ctx *ctx, const char *name,
			    const struct sf_repo_timestamp *ts,
			    const char *product, const char *channel,
			    uint64_t keyset, const struct sf_repo_seen *seen,
			    uint64_t now);

/*
 * sf_repo_index_bytes_check - the index's bytes (@text, @len) are exactly
 * what @ts names: its size and BLAKE2b-256. Returns 0 or -EBADMSG.
 */
int sf_repo_index_bytes_check(const struct sf_ctx *ctx, const char *name,
			      const struct sf_repo_timestamp *ts,
			      const char *text, size_t len);

/*
 * sf_repo_index_check - a signed index against what the device expects:
 * @product, @compatible, @channel, a serial not below
 * @seen->index_serial, a version not below the highest floor seen,
 * not expired at @now. @seen may be NULL.
 * Returns 0, -EBADMSG, -ERANGE, -ESTALE.
 */
int sf_repo_index_check(const struct sf_ctx *ctx, const char *name,
			const struct sf_repo_index *idx, const char *product,
			const char *compatible, const char *channel,
			const struct sf_repo_seen *seen, uint64_t now);

/* sf_repo_hex - @h (SF_HASH_BYTES) as lower-case hex, NUL-terminated. */
void sf_repo_hex(const uint8_t *h, char out[SF_REPO_HEX_SIZE]);

/* sf_repo_hash - BLAKE2b-256 of @len bytes at @buf. */
void sf_repo_hash(const void *buf, size_t len, uint8_t out[SF_HASH_BYTES]);

/* sf_repo_channel_valid - 1 to 31 characters from [a-z0-9-]. */
bool sf_repo_channel_valid(const char *s);

/*
 * sf_repo_read_at - the whole of @path, relative to @dirfd (or
 * AT_FDCWD), a regular file of at most @cap bytes, into a malloc'd
 * buffer (NUL-terminated, *@ret_len bytes before the NUL).
 * Returns 0, -EFBIG (more than @cap bytes: nothing past @cap + 1 is
 * read), -EINVAL (not a regular file), -errno.
 */
int sf_repo_read_at(const struct sf_ctx *ctx, int dirfd, const char *path,
		    size_t cap, char **ret, size_t *ret_len);
