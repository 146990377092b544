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
#include <sodium.h>

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
	/* The build time in the manifest of the image staged (0: unknown,
	 * a state of an older slotflip): the clock's floor while it runs. */
	uint64_t build_time;
};

/*
 * Image downloads of one index serial, successful or not: once either
 * cap is reached the device gives up on that serial until a new one
 * appears (docs/REPO.md, "Caps").
 */
#define FETCH_MAX_ATTEMPTS 8u
/* Bytes: this many times the image's size, plus FETCH_BYTES_SLACK. */
#define FETCH_MAX_BYTES_FACTOR 3u
#define FETCH_BYTES_SLACK (1u << 20)

struct fetch_tries {
	uint64_t serial; /* the index serial counted, 0 none */
	uint64_t attempts, bytes;
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
	struct fetch_tries tries;
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

/*
 * Following an image download (docs/REPO.md, "Image checks"): the
 * partial file is checked while it grows: its header, manifest and
 * signature block as soon as they are whole (signatures by the device's
 * image keys, compatible string, the index's version and delta base,
 * the size the index names), then each chunk's stored bytes as soon as
 * they are whole. @verified is the length of the prefix that checked:
 * all a resumable partial may keep.
 */
struct fetch_follow {
	struct cli *c;
	int dir_fd;
	const char *name; /* the partial, in @dir_fd */
	const char *rel; /* images/HASH.img, in messages */
	const struct sf_repo_image *want;
	const char *version; /* the index's */
	int fd;
	struct sf_image *img; /* once the head checked */
	uint32_t next; /* the first chunk not checked */
	uint64_t verified;
	uint64_t seen; /* the file's size at the last step */
	uint64_t grown; /* bytes written since the follow began */
	bool quiet; /* checking a partial for a resume: nothing is refused */
	bool bad; /* the last step refused what it read */
	uint8_t *buf; /* one chunk */
	struct ms_pubkey keys[SF_CONFIG_MAX_KEYS]; /* the image keys */
	/* The file's hash, of the bytes before @verified (once the head
	 * checked): the whole file's once every chunk checked. */
	crypto_generichash_state whole;
};

/* Every byte of the image checked as it arrived, and hashed into
 * @fl->whole. */
static inline bool fetch_follow_done(const struct fetch_follow *fl)
{
	return fl->img && !fl->bad && fl->next == fl->img->m.n_chunks &&
	       fl->verified == fl->want->size;
}

/*
 * fetch_follow_open - start following @fl->name (created when absent).
 * Returns EXIT_OK, EXIT_IO or EXIT_CONFIG (image keys unusable), with
 * the message printed.
 */
int fetch_follow_open(struct fetch_follow *fl);

/*
 * fetch_follow_step - check what became whole since the last step.
 * Returns EXIT_OK (@fl->bad false: all whole parts checked so far);
 * EXIT_REFUSED with the reason printed, naming the manifest or the
 * chunk, and @fl->bad set; EXIT_IO. In quiet mode a refusal returns
 * EXIT_OK with @fl->bad set and nothing printed.
 */
int fetch_follow_step(struct fetch_follow *fl);

/*
 * fetch_follow_trim - cut the partial to the prefix that checked (none
 * when the head is refused). Returns EXIT_OK or EXIT_IO.
 */
int fetch_follow_trim(struct fetch_follow *fl);

/*
 * fetch_follow_resume - before a download resumes: check the partial as
 * it is, quietly; a part that does not check (a disk that lost a write)
 * is cut with all after it. The start of a chunk not yet whole (a run
 * killed mid-chunk) stays: it is checked when the chunk is whole, and the
 * download refused then if it does not check. The length kept goes to
 * *@ret_kept.
 * Returns EXIT_OK or EXIT_IO, with the message printed.
 */
int fetch_follow_resume(struct fetch_follow *fl, uint64_t *ret_kept);

void fetch_follow_close(struct fetch_follow *fl);

/*
 * installed-a, installed-b: "VERSION BUILD-TIME\n", the version and the
 * manifest's build time of the image confirmed in that slot, written by
 * `slotflip mark-good` from the applied image before it removes it: the
 * clock's floor while that version runs (docs/REPO.md, "The clock").
 */
#define FETCH_INSTALLED_PREFIX "installed-"

/* fetch_installed_store - replace installed-@slot (errors ignored: the
 * clock only loses a floor). */
void fetch_installed_store(int dir_fd, uint8_t slot, const char *version,
			   uint64_t build_time);

/*
 * fetch_installed_build_time - the build time installed-@slot records
 * when it names @version. Returns it, or 0 (absent, another version,
 * unreadable).
 */
uint64_t fetch_installed_build_time(int dir_fd, uint8_t slot,
				    const char *version);

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
