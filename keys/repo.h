/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An update repository on the build server (docs/REPO.md): its key sets,
 * its channels, and the publication of new documents and images, each
 * file written under a temporary name and renamed, the timestamp last.
 * Functions return EXIT_* codes (cli.h) and print what went wrong.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "repodoc.h"

/* Old timestamp signature files kept for readers of older timestamps. */
#define REPO_KEEP_TS_SIGS 8

struct repo {
	const char *dir;
	int fd;
	/* The newest key set, reached through the chain from set 1. */
	struct sf_repo_keyset ks;
	/* The set before it (set 0 when there is none). */
	struct sf_repo_keyset prev;
	/* The signing keys given, and how many. */
	const struct ms_seckey *keys;
	unsigned n_keys;
	/* Issue time of new documents, and their lifetimes in seconds. */
	uint64_t now;
	uint64_t ts_life;
	uint64_t index_life;
};

struct channel {
	char name[SF_REPO_CHANNEL_SIZE];
	/* False for a channel that has no timestamp yet. */
	bool exists;
	struct sf_repo_timestamp ts;
	struct sf_repo_index idx;
};

/*
 * Open DIR and walk its key chain (every set verified). A @writer first
 * takes an exclusive lock on DIR (flock), waiting for another writer to
 * finish: two writers would issue the same serials.
 */
int repo_open(const char *dir, bool writer, struct repo *r);
void repo_close(struct repo *r);

/* The signing keys must be keys of the newest set, at least its threshold. */
int repo_set_keys(struct repo *r, const struct ms_seckey *keys, unsigned n);

/*
 * Load channel @name: its timestamp and index, their sizes, hashes and
 * signatures checked (by the newest key set, or by the one before it
 * after an interrupted rotation), their expiry not (repo_verify() does).
 * A missing timestamp is a new channel.
 */
int repo_channel_load(struct repo *r, const char *name, struct channel *c);

/*
 * Publish @idx as the channel's new index (serial, issue time and expiry
 * are set here), then a new timestamp that names it.
 */
int repo_publish(struct repo *r, struct channel *c, struct sf_repo_index *idx);

/* Publish a new timestamp naming the channel's current index. */
int repo_publish_timestamp(struct repo *r, struct channel *c);

/*
 * Sign @text as a document with the repository's keys, and write
 * @name.minisig (or @sig_name) then @name. @extra_keys (or NULL) sign too.
 */
int repo_write_signed(struct repo *r, const char *name, const char *sig_name,
		      const char *text, size_t len, const char *comment,
		      const struct ms_seckey *extra_keys, unsigned n_extra);

/* Channel names in DIR/channels, sorted, at most @max; their count. */
int repo_channels(struct repo *r, char (*names)[SF_REPO_CHANNEL_SIZE],
		  unsigned max);

/* BLAKE2b-256 and size of the file @name in the repository. */
int repo_hash_file(struct repo *r, const char *name, uint64_t *ret_size,
		   uint8_t hash[SF_HASH_BYTES]);

/* "images/<hex>.img" of @hash, into @buf. */
void repo_image_name(const uint8_t hash[SF_HASH_BYTES], char *buf, size_t size);

/*
 * Check the signatures of the document @name (@text, @len) against the
 * signature file @sig_name (or @name.minisig) with key set @ks.
 */
int repo_check_doc(struct repo *r, const char *name, const char *sig_name,
		   const char *text, size_t len,
		   const struct sf_repo_keyset *ks, const char *comment);

/*
 * Check every document and image as a device would (docs/REPO.md); print
 * what was found. @keys, @n_keys, @threshold: the image keys, or none.
 */
int repo_verify(struct repo *r, const char *only_channel,
		const struct ms_pubkey *keys, unsigned n_keys,
		unsigned threshold);
