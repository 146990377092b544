/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slotflip fetch: what it keeps on the data partition, next to
 * staged.img (docs/REPO.md, "The device's algorithm"): the state of the
 * repository's documents it accepted, the key set in force, and the last
 * fetch's outcome for `slotflip status`. Each file is replaced
 * atomically.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "repodoc.h"

#define FETCH_STATE_NAME "fetch-state"
/* The key set in force when it is not the config's: keys/<N> as fetched. */
#define FETCH_KEYS_NAME "fetch-keys"
#define FETCH_LAST_NAME "fetch-last"
#define FETCH_STATE_MAX 4096u

struct fetch_slot {
	bool known;
	char version[SF_STRING_FIELD];
	uint8_t manifest[SF_HASH_BYTES];
};

struct fetch_state {
	uint64_t keyset; /* 0: the config's repo-keys */
	char channel[SF_REPO_CHANNEL_SIZE]; /* "" before the first run */
	uint64_t ts_serial, ts_issued, index_serial;
	bool have_index;
	uint8_t index_hash[SF_HASH_BYTES];
	/* That index offered nothing to the device running this version
	 * ("" otherwise): the next run with both unchanged stops early. */
	char idle[SF_STRING_FIELD];
	char floor[SF_STRING_FIELD]; /* the highest floor seen, "0" none */
	/* The full image's manifest hash of what fetch staged per slot: the
	 * base a delta must name. */
	struct fetch_slot slot[2];
};

/*
 * fetch_state_load - FETCH_STATE_NAME in @dir_fd into @ret; absent: an
 * empty state. Returns EXIT_OK, or EXIT_IO with the message printed (an
 * unreadable or corrupt file: never silently forgotten, a device would
 * lose its defence against rollback).
 */
int fetch_state_load(struct cli *c, int dir_fd, struct fetch_state *ret);

/* fetch_state_store - replace the state file. Returns EXIT_OK or EXIT_IO. */
int fetch_state_store(struct cli *c, int dir_fd, const struct fetch_state *st);

/* The last fetch, for `slotflip status`. */
struct fetch_last {
	uint64_t time;
	char result[32]; /* nothing-new, up-to-date, available, downloaded,
			    staged, refused, failed */
	char version[SF_STRING_FIELD]; /* offered, "" when unknown */
	uint64_t bytes; /* downloaded in this run */
};

/* fetch_last_store - replace FETCH_LAST_NAME (errors ignored: a report). */
void fetch_last_store(int dir_fd, const struct fetch_last *l);

/* fetch_last_read - read it. Returns 0, -ENOENT, -EBADMSG or -errno. */
int fetch_last_read(int dir_fd, struct fetch_last *ret);
