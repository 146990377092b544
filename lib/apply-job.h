/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The apply's shared state (lib/apply.c): the job, its workers and what
 * they wrote, for the parts of the apply in modules of their own: the
 * read-back (lib/readback.c) and the EFI binary (lib/apply-efi.c). Not for
 * use outside the apply.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "chunk.h"
#include "hash.h"

struct apply_worker;

/* What this run wrote into one chunk of the slot, for the read-back. */
struct written {
	enum { WROTE_NONE, WROTE_WHOLE, WROTE_BLOCKS } what;
	/* WROTE_BLOCKS: the hash of the blocks written (in the job's bitmap),
	 * one after the other; the whole chunk has its content hash. */
	uint8_t hash[SF_HASH_BYTES];
};

struct apply_job {
	const struct sf_ctx *ctx;
	struct sf_image *img;
	const struct sf_apply_target *t;
	const struct sf_payload *p;
	atomic_uint written, skipped, read_back;
	atomic_uint_fast64_t bytes, done;
	/* Per chunk of the root filesystem: what this run wrote, read back. */
	struct written *wrote;
	uint8_t *wrote_blocks; /* their block bitmaps, @map_bytes each */
	uint32_t map_bytes;
	/*
	 * Did the last chunk that could tell find the spare slot holding the
	 * delta's base (or what this image puts there)? Then delta chunks
	 * read the spare first, in one read, and the active slot not at all.
	 */
	atomic_bool spare_holds;
	uint64_t active_size; /* bytes of the active slot (0: not known) */
	/* The phase the workers run, on @batch chunks in a row at a time: */
	int (*fn)(struct apply_worker *w, uint32_t first, uint32_t n);
	unsigned batch, threads; /* plan_workers() */
	atomic_uint next;
	atomic_int err;
	bool direct; /* the slot fd has O_DIRECT */
	bool active_direct; /* the active slot's fd has O_DIRECT */
	struct sf_writeq *writeq; /* the changed blocks' writes */
};

/*
 * The chunks of a batch that wait for a hash: of their content, or of the
 * blocks written into them (one after the other).
 */
struct hash_wait {
	const uint8_t *bufs[SF_HASH_LANES_MAX];
	size_t lens[SF_HASH_LANES_MAX];
	uint32_t lane[SF_HASH_LANES_MAX]; /* the chunk's place in the batch */
	uint8_t hash[SF_HASH_LANES_MAX][SF_HASH_BYTES];
	uint32_t n;
};

static inline void wait_hash(struct hash_wait *h, uint32_t k,
			     const uint8_t *buf, uint32_t len)
{
	h->bufs[h->n] = buf;
	h->lens[h->n] = len;
	h->lane[h->n++] = k;
}

/* Hash all that wait, side by side (sf_hash_many()). */
static inline void hash_waiting(struct hash_wait *h)
{
	sf_hash_many(h->n, h->bufs, h->lens, h->hash);
}

/* One per thread: buffers and zlib state kept across its chunks. */
struct apply_worker {
	struct apply_job *job;
	void *arena; /* the buffers below, in one allocation */
	/*
	 * A buffer pair per chunk of a batch, so that the chunks' contents are
	 * hashed side by side (sf_hash_many()); @content and @slot are the
	 * pair of the chunk at hand.
	 */
	uint8_t *contents[SF_HASH_LANES_MAX];
	uint8_t *slots[SF_HASH_LANES_MAX];
	uint8_t *content; /* the chunk's content, decoded */
	uint8_t *stored; /* its stored bytes */
	uint8_t *slot; /* what the spare slot holds there */
	uint32_t lane; /* the place in the batch of the chunk at hand */
	/* The batch's chunks with blocks written, for their record's hash. */
	struct hash_wait wrote;
	/* With O_DIRECT: one chunk of the active slot, read whole. */
	uint8_t *window;
	uint64_t window_at;
	size_t window_len;
	bool window_ok;
	struct sf_base base; /* reads the active slot */
	struct sf_base spare_base; /* reads the spare slot's chunk, w->slot */
	/* Reference ranges, from the spare first while it held the base
	 * (read_spare_range()); its bounce buffer for direct I/O. */
	struct sf_base spare_ranges;
	bool spare_missed;
	uint8_t *bounce;
	const struct sf_chunk *spare_chunk; /* the chunk in w->slot */
	struct sf_ctx quiet; /* the job's, without messages */
	struct sf_codec codec;
};

static inline struct written *written_of(struct apply_job *job,
					 const struct sf_chunk *c)
{
	return &job->wrote[c - job->img->m.chunks - job->p->first_chunk];
}

static inline uint8_t *written_map(struct apply_job *job,
				   const struct sf_chunk *c)
{
	return job->wrote_blocks +
	       (size_t)(c - job->img->m.chunks - job->p->first_chunk) *
		       job->map_bytes;
}

static inline uint32_t block_len(const struct sf_chunk *c, uint32_t at)
{
	return c->length - at < SF_BLOCK_SIZE ? c->length - at : SF_BLOCK_SIZE;
}

static inline bool written_test(const uint8_t *map, uint32_t at)
{
	uint32_t b = at / SF_BLOCK_SIZE;

	return map[b / 8] & (1u << (b % 8));
}

/* Work on the buffer pair of chunk @k of the batch. */
static inline void use_lane(struct apply_worker *w, uint32_t k)
{
	w->slot = w->slots[k];
	w->content = w->contents[k];
	w->lane = k;
}

/* An sf_base reader of the file whose fd @data points to. */
int apply_read_fd(void *data, uint64_t offset, void *buf, size_t len);

/*
 * apply_decode - chunk @idx of the image: its stored bytes read into
 * @stored and checked against their hash, then decoded into @out (a delta
 * chunk from @base); with @check, the content hash checked too.
 * Returns 0, -EBADMSG (the staged file does not match its manifest) or
 * -errno.
 */
int apply_decode(struct apply_job *job, struct sf_codec *codec,
		 const struct sf_base *base, uint32_t idx, uint8_t *stored,
		 uint8_t *out, bool check);

/*
 * apply_readback_batch - read back what this run wrote of the @n chunks
 * from @first on and check it (lib/readback.c). A worker phase.
 * Returns 0, -EBADMSG (the image's chunk was wrong) or -EIO.
 */
int apply_readback_batch(struct apply_worker *w, uint32_t first, uint32_t n);

/*
 * apply_efi - rebuild the EFI binary in memory, check it, and install it
 * next to its final name unless it is there already (lib/apply-efi.c).
 * Returns 0 or -errno.
 */
int apply_efi(struct apply_job *job);
