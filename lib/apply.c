// SPDX-License-Identifier: LGPL-2.1-or-later
#include "apply-job.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>

#include "fault.h"
#include "fileio.h"
#include "hash.h"
#include "parallel.h"
#include "util.h"
#include "version.h"
#include "writeq.h"

int apply_read_fd(void *data, uint64_t offset, void *buf, size_t len)
{
	return pread_full(*(const int *)data, buf, len, offset);
}

static bool is_aligned(uint64_t v)
{
	return v % SF_BLOCK_SIZE == 0;
}

/*
 * Reads the active slot for a worker. With O_DIRECT every read goes
 * through the worker's window: one chunk-aligned chunk of the slot, read
 * whole with one direct read and kept. The blocks and dictionaries a patch
 * chunk takes from its base are mostly in one such chunk, so it costs one
 * read of the medium, not one per run of blocks (there is no readahead to
 * gather them). The window at the end of the device may be short.
 */
static int read_active(void *data, uint64_t offset, void *buf, size_t len)
{
	struct apply_worker *w = data;
	int fd = w->job->t->active_fd;
	size_t room = w->job->img->m.chunk_size;
	uint8_t *out = buf;

	if (!w->job->active_direct)
		return pread_full(fd, buf, len, offset);
	while (len > 0) {
		uint64_t start = offset - offset % room;
		size_t skip = offset - start;
		size_t n = len < room - skip ? len : room - skip;

		if (!w->window_ok || w->window_at != start) {
			ssize_t k;

			w->window_ok = false;
			w->window_len = 0;
			do {
				k = pread(fd, w->window + w->window_len,
					  room - w->window_len,
					  (off_t)(start + w->window_len));
				if (k > 0)
					w->window_len += (size_t)k;
			} while ((k > 0 && w->window_len < room) ||
				 (k < 0 && errno == EINTR));
			if (k < 0)
				return -errno;
			w->window_at = start;
			w->window_ok = true;
		}
		if (w->window_len < skip + n)
			return -EIO;
		memcpy(out, w->window + skip, n);
		out += n;
		offset += n;
		len -= n;
	}
	return 0;
}

/* Does @buf hold chunk @c's content? */
static bool holds(const struct sf_chunk *c, const uint8_t *buf)
{
	uint8_t h[SF_HASH_BYTES];

	if (c->form == SF_FORM_ZERO)
		return is_zero(buf, c->length);
	sf_hash(buf, c->length, h);
	return sodium_memcmp(h, c->content_hash, SF_HASH_BYTES) == 0;
}

static void report(struct apply_job *job, uint32_t len)
{
	uint64_t done = atomic_fetch_add(&job->done, len) + len;

	if (job->t->progress)
		job->t->progress(job->t->progress_data, done, job->p->size);
}

/* Decode chunk @idx into @out; the stored bytes are checked just now. */
int apply_decode(struct apply_job *job, struct sf_codec *codec,
		 const struct sf_base *base, uint32_t idx, uint8_t *stored,
		 uint8_t *out, bool check)
{
	const struct sf_chunk *c = &job->img->m.chunks[idx];
	int r;

	r = sf_image_read_stored(job->ctx, job->img, idx, stored);
	if (r < 0)
		return r;
	return sf_chunk_decode(job->ctx, codec, &job->img->m, c, idx, stored,
			       base, check, out);
}

static int read_slot(struct apply_job *job, const struct sf_chunk *c,
		     uint8_t *buf, uint64_t from, uint64_t to)
{
	int r = pread_full(job->t->slot_fd, buf + from, to - from,
			   c->offset + from);

	return r < 0 ? sf_err(job->ctx, r, "cannot read the spare slot: %s",
			      strerror(-r))
		     : 0;
}

/* What the slot holds where chunk @c goes (slot_holds()). */
enum slot_holds {
	HOLDS_OTHER = 0, /* its first block differs: the usual case */
	HOLDS_CHUNK = 1, /* the chunk, whole */
	HOLDS_PART = 2, /* only later blocks differ; the chunk is in w->slot */
};

/*
 * Does the slot already hold @content (chunk @c)? Its first block is read
 * first: a slot that holds something else (the usual case) costs one
 * small read, not the whole chunk. Returns an enum slot_holds, or -errno.
 */
static int slot_holds(struct apply_worker *w, const struct sf_chunk *c,
		      const uint8_t *content)
{
	uint32_t head = c->length < SF_BLOCK_SIZE ? c->length : SF_BLOCK_SIZE;
	int r = read_slot(w->job, c, w->slot, 0, head);

	if (r < 0)
		return r;
	if (content ? memcmp(w->slot, content, head) != 0
		    : !is_zero(w->slot, head))
		return HOLDS_OTHER;
	r = read_slot(w->job, c, w->slot, head, c->length);
	if (r < 0)
		return r;
	if (content ? memcmp(w->slot + head, content + head,
			     c->length - head) == 0
		    : is_zero(w->slot + head, c->length - head))
		return HOLDS_CHUNK;
	return HOLDS_PART;
}

/*
 * Is @buf, chunk @c's decoded content (or the slot's bytes found equal to
 * it), proven right? Base and patch chunks were checked against their
 * content hash by the decode. A deflate, zstd or stored chunk was not (a full
 * chunk written whole is checked when read back): it is hashed now, when
 * it is skipped (never read back) or only some of its blocks are written
 * (only those are read back). Returns 0, or -EBADMSG for a signed chunk
 * that does not decode to its content.
 */
static int content_proven(struct apply_job *job, const struct sf_chunk *c,
			  const uint8_t *buf)
{
	if (c->form != SF_FORM_STORED && c->form != SF_FORM_DEFLATE &&
	    c->form != SF_FORM_ZSTD)
		return 0;
	if (holds(c, buf))
		return 0;
	return sf_err(job->ctx, -EBADMSG,
		      "chunk %u: content does not match its hash",
		      (unsigned)(c - job->img->m.chunks));
}

static bool is_identity(const struct sf_chunk *c)
{
	return c->form == SF_FORM_BASE && c->base_offset == c->offset;
}

/*
 * A base chunk copied from the same offset of the active slot: the spare
 * slot may hold it already (it held the delta's base, or this apply was
 * interrupted). The first blocks of both slots are compared first (one
 * small read each), and the spare's chunk is read only if they match. Its
 * content hash proves it, and the active slot is not read whole. (While
 * the spare held the chunks before it, spare_first() reads it at once.)
 * Returns 1 (the slot holds it, proven), 0 or -errno.
 */
static int identity_held(struct apply_worker *w, const struct sf_chunk *c)
{
	struct apply_job *job = w->job;
	uint32_t head = c->length < SF_BLOCK_SIZE ? c->length : SF_BLOCK_SIZE;
	bool held;
	int r;

	if (!is_identity(c))
		return 0;
	r = read_slot(job, c, w->slot, 0, head);
	if (r < 0)
		return r;
	/* An active slot that cannot be read: the decode says why. */
	if (pread_full(job->t->active_fd, w->content, head, c->offset) < 0 ||
	    memcmp(w->slot, w->content, head) != 0)
		return 0;
	r = read_slot(job, c, w->slot, head, c->length);
	if (r < 0)
		return r;
	held = holds(c, w->slot);
	atomic_store(&job->spare_holds, held);
	return held;
}

/*
 * Zero @len bytes at @offset. A hole or zeroed range reads back zeros
 * without the zeros crossing the bus: fallocate() (block devices: write
 * zeroes, unmap, or the kernel writing zeros; files: unwritten extents or
 * a hole). Where neither is supported, zeros are written.
 */
static int zero_range(int fd, uint64_t offset, uint32_t len, uint8_t *buf)
{
	if ((offset | len) % 512 == 0 &&
	    (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		       (off_t)offset, len) == 0 ||
	     fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       (off_t)offset, len) == 0))
		return 0;
	memset(buf, 0, len);
	return pwrite_full(fd, buf, len, offset);
}

static bool block_differs(const struct apply_worker *w,
			  const struct sf_chunk *c, const uint8_t *content,
			  uint32_t at)
{
	return memcmp(w->slot + at, content + at, block_len(c, at)) != 0;
}

/*
 * Without direct I/O: start writing @len bytes at @offset out now, while
 * the next chunks inflate, instead of all at the final flush (measured:
 * the flush and read-back took half the time).
 */
static void start_writeback(const struct apply_job *job, uint64_t offset,
			    uint32_t len)
{
	if (!job->direct)
		writeback_start(job->t->slot_fd, offset, len);
}

/*
 * Blocks that already hold their content but lie between two that do not
 * are written with them when they are fewer bytes than this (up to 7
 * blocks): a direct write waits for the medium, so fewer, longer writes
 * are faster.
 */
#define WRITE_GAP (8u * SF_BLOCK_SIZE)

static void written_mark(uint8_t *map, uint32_t from, uint32_t to)
{
	for (uint32_t b = from / SF_BLOCK_SIZE;
	     b < (to + SF_BLOCK_SIZE - 1) / SF_BLOCK_SIZE; b++)
		map[b / 8] |= (uint8_t)(1u << (b % 8));
}

/*
 * Write the blocks of the chunk's content (w->content) that differ from
 * what the slot holds (the whole chunk, in w->slot): a chunk of an update
 * differs from the earlier version the slot held in a few blocks.
 * Neighbouring blocks that differ are written with one write, handed to
 * the writer threads. The blocks written are kept for the read-back,
 * which reads only them (the others were read in this run), with the
 * hash of what they were given: they are moved to the front of
 * w->content, one after the other, and hashed with the batch's others
 * (written_hashes()). Where no block differs, nothing is written.
 */
static int write_changed(struct apply_worker *w, const struct sf_chunk *c)
{
	struct apply_job *job = w->job;
	uint8_t *map = written_map(job, c), *content = w->content;
	uint32_t packed = 0;

	for (uint32_t at = 0, end; at < c->length; at = end) {
		uint32_t next;
		int r;

		end = at + block_len(c, at);
		if (!block_differs(w, c, content, at))
			continue;
		for (next = end; next < c->length && next - end < WRITE_GAP;
		     next += block_len(c, next))
			if (block_differs(w, c, content, next))
				end = next + block_len(c, next);
		sf_fault_point(job->ctx, "slot write");
		r = sf_writeq_add(job->writeq, content + at, end - at,
				  c->offset + at);
		if (r < 0)
			return sf_err(job->ctx, r,
				      "cannot write the spare slot: %s",
				      strerror(-r));
		written_mark(map, at, end);
		/* Over blocks before @end: those are not compared again. */
		if (packed != at)
			memmove(content + packed, content + at, end - at);
		packed += end - at;
	}
	if (packed == 0)
		return 0;
	wait_hash(&w->wrote, w->lane, content, packed);
	written_of(job, c)->what = WROTE_BLOCKS;
	atomic_fetch_add(&job->written, 1);
	atomic_fetch_add(&job->bytes, packed);
	return 0;
}

/* The hashes of the blocks written into the batch's chunks from @c on. */
static void written_hashes(struct apply_worker *w, const struct sf_chunk *c)
{
	hash_waiting(&w->wrote);
	for (uint32_t i = 0; i < w->wrote.n; i++)
		memcpy(written_of(w->job, &c[w->wrote.lane[i]])->hash,
		       w->wrote.hash[i], SF_HASH_BYTES);
	w->wrote.n = 0;
}

static int write_chunk(struct apply_worker *w, const struct sf_chunk *c,
		       const uint8_t *content)
{
	struct apply_job *job = w->job;
	int r;

	sf_fault_point(job->ctx, "slot write");
	if (content) {
		r = pwrite_full(job->t->slot_fd, content, c->length, c->offset);
		if (r >= 0)
			start_writeback(job, c->offset, c->length);
	} else
		r = zero_range(job->t->slot_fd, c->offset, c->length, w->slot);
	if (r < 0)
		return sf_err(job->ctx, r, "cannot write the spare slot: %s",
			      strerror(-r));
	written_of(job, c)->what = WROTE_WHOLE;
	atomic_fetch_add(&job->written, 1);
	atomic_fetch_add(&job->bytes, c->length);
	return 0;
}

/*
 * Reads the base of a patch chunk @w->spare_chunk: from the spare slot's
 * bytes of the chunk, in w->slot, where the read is inside it; from the
 * active slot elsewhere.
 */
static int read_spare_first(void *data, uint64_t offset, void *buf, size_t len)
{
	struct apply_worker *w = data;
	const struct sf_chunk *c = w->spare_chunk;

	if (offset >= c->offset && len <= c->length &&
	    offset - c->offset <= c->length - len) {
		memcpy(buf, w->slot + (offset - c->offset), len);
		return 0;
	}
	return read_active(w, offset, buf, len);
}

/*
 * Reads a reference range from the spare slot (struct sf_base's first:
 * after a factory install the spare holds the delta's base untouched,
 * where the running slot, mounted read-write, may have changed). Only
 * while the spare held the base where chunks could tell; the range is
 * checked against its hash either way (the spare is being written: bytes
 * a write changed do not hash right, and the range is read from the
 * active slot). With direct I/O through an aligned bounce buffer.
 */
#define BOUNCE (256u << 10)

static int read_spare_range(void *data, uint64_t offset, void *buf, size_t len)
{
	struct apply_worker *w = data;
	struct apply_job *job = w->job;
	uint8_t *out = buf;

	if (!atomic_load(&job->spare_holds))
		return -EAGAIN;
	if (!job->direct)
		return pread_full(job->t->slot_fd, buf, len, offset);
	if (!w->bounce && posix_memalign((void **)&w->bounce, SF_BLOCK_SIZE,
					 BOUNCE + SF_BLOCK_SIZE) != 0) {
		w->bounce = NULL;
		return -ENOMEM;
	}
	while (len > 0) {
		uint64_t start = offset - offset % SF_BLOCK_SIZE;
		size_t skip = offset - start;
		size_t n = len < BOUNCE - skip ? len : BOUNCE - skip;
		size_t want = ALIGN_UP(skip + n, SF_BLOCK_SIZE);
		int r = pread_full(job->t->slot_fd, w->bounce, want, start);

		if (r < 0)
			return r;
		memcpy(out, w->bounce + skip, n);
		out += n;
		offset += n;
		len -= n;
	}
	return 0;
}

/*
 * Write chunk @c unless the slot holds it. The content is decoded first
 * (stored hash checked just now), then compared with the slot; a chunk
 * skipped is proven by its content hash (zero chunks: by reading zero).
 * An identity base chunk already in the slot is proven without decoding.
 */
static int apply_usual(struct apply_worker *w, const struct sf_chunk *c,
		       uint32_t idx)
{
	struct apply_job *job = w->job;
	const uint8_t *content = NULL;
	int r;

	r = identity_held(w, c);
	if (r != 0) /* held: proven (a base chunk has no stored bytes) */
		return r < 0 ? r : 0;
	if (c->form != SF_FORM_ZERO) {
		w->spare_missed = false;
		r = apply_decode(job, &w->codec, &w->base, idx, w->stored,
				 w->content, false);
		if (w->spare_missed)
			atomic_store(&job->spare_holds, false);
		if (r < 0)
			return r;
		content = w->content;
	}
	r = slot_holds(w, c, content);
	if (r < 0)
		return r;
	if (r != HOLDS_OTHER && c->form != SF_FORM_ZERO)
		atomic_store(&job->spare_holds, true);
	if (r == HOLDS_CHUNK)
		return content_proven(job, c, w->slot);
	if (r == HOLDS_PART && content) {
		r = content_proven(job, c, content);
		return r < 0 ? r : write_changed(w, c);
	}
	return write_chunk(w, c, content);
}

/* What a chunk of a batch waits for: its content hash, of what. */
enum spare_wait {
	SPARE_NO, /* none: it takes the usual way */
	SPARE_HELD, /* an identity chunk: the spare's bytes, in w->slot */
	SPARE_PATCH, /* a patch chunk rebuilt from them, in w->content */
};

/*
 * The spare slot held the delta's base where chunks could tell so far (as
 * it does after a factory install, or once an apply of this image got
 * there): an identity or a patch chunk reads the spare's chunk whole, with
 * one read, and the active slot not at all. A patch chunk is rebuilt from
 * it (base blocks outside the chunk from the active slot). Nothing is
 * used before spare_done() has its content hash. Sets *@what (SPARE_NO:
 * nothing written, the caller takes the usual way, which reports what is
 * wrong). Returns 0 or -errno.
 */
static int spare_first(struct apply_worker *w, const struct sf_chunk *c,
		       uint32_t idx, enum spare_wait *what)
{
	struct apply_job *job = w->job;
	int r;

	*what = SPARE_NO;
	if (!atomic_load(&job->spare_holds) ||
	    (!is_identity(c) && c->form != SF_FORM_PATCH))
		return 0;
	r = read_slot(job, c, w->slot, 0, c->length);
	if (r < 0)
		return r;
	if (c->form != SF_FORM_PATCH) {
		*what = SPARE_HELD;
		return 0;
	}
	r = sf_image_read_stored(job->ctx, job->img, idx, w->stored);
	if (r < 0)
		return r;
	w->spare_chunk = c;
	if (sf_chunk_rebuild(&w->quiet, &w->codec, &job->img->m, c, idx,
			     w->stored, &w->spare_base, w->content) < 0)
		atomic_store(&job->spare_holds, false);
	else
		*what = SPARE_PATCH;
	return 0;
}

/*
 * Chunk @c of spare_first() (@what), its content hashed to @hash: a held
 * identity chunk is proven; a patch chunk rebuilt right has the blocks
 * that changed written. Where the spare did not hold the base, the chunk
 * takes the usual way. Returns 0 or -errno, as apply_usual().
 */
static int spare_done(struct apply_worker *w, const struct sf_chunk *c,
		      uint32_t idx, enum spare_wait what, const uint8_t *hash)
{
	bool right = sodium_memcmp(hash, c->content_hash, SF_HASH_BYTES) == 0;

	atomic_store(&w->job->spare_holds, right);
	if (!right)
		return apply_usual(w, c, idx);
	return what == SPARE_HELD ? 0 : write_changed(w, c);
}

/*
 * Apply the @n chunks from @first on. Those read from the spare first are
 * hashed side by side once all are read (and rebuilt), then done.
 */
static int apply_batch(struct apply_worker *w, uint32_t first, uint32_t n)
{
	const struct sf_chunk *c = &w->job->img->m.chunks[first];
	enum spare_wait what[SF_HASH_LANES_MAX];
	struct hash_wait h = { .n = 0 };
	int r;

	w->wrote.n = 0;
	for (uint32_t k = 0; k < n; k++) {
		use_lane(w, k);
		r = spare_first(w, &c[k], first + k, &what[k]);
		if (r >= 0 && what[k] == SPARE_NO)
			r = apply_usual(w, &c[k], first + k);
		else if (r >= 0)
			wait_hash(&h, k,
				  what[k] == SPARE_HELD ? w->slot : w->content,
				  c[k].length);
		if (r < 0)
			return r;
	}
	hash_waiting(&h);
	for (uint32_t i = 0; i < h.n; i++) {
		uint32_t k = h.lane[i];

		use_lane(w, k);
		r = spare_done(w, &c[k], first + k, what[k], h.hash[i]);
		if (r < 0)
			return r;
	}
	written_hashes(w, c);
	for (uint32_t k = 0; k < n; k++) {
		if (written_of(w->job, &c[k])->what == WROTE_NONE)
			atomic_fetch_add(&w->job->skipped, 1);
		report(w->job, c[k].length);
	}
	return 0;
}

/*
 * A worker's buffers, in one arena on huge pages where the kernel gives
 * them (they are tens of MiB, each touched once: with 4 KiB pages a fault
 * each, measured 23,000 faults and 0.16 s of system time in a delta onto
 * its base). Every buffer is chunk-aligned: the slots' fds may have
 * O_DIRECT, and chunks are powers of two from 4 KiB.
 */
#define ARENA_ALIGN (2u << 20)

/* A worker's arena, for @batch chunks of @cs bytes at a time. */
static size_t arena_size(unsigned batch, size_t cs)
{
	size_t size = (2 * batch + 2) * cs;

	return (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static int worker_alloc(struct apply_worker *w, size_t cs)
{
	size_t size = arena_size(w->job->batch, cs);
	uint8_t *p;

	if (posix_memalign(&w->arena, ARENA_ALIGN, size) != 0)
		return -ENOMEM;
	madvise(w->arena, size, MADV_HUGEPAGE);
	p = w->arena;
	w->stored = p;
	w->window = p + cs;
	p += 2 * cs;
	for (unsigned k = 0; k < w->job->batch; k++, p += 2 * cs) {
		w->contents[k] = p;
		w->slots[k] = p + cs;
	}
	use_lane(w, 0);
	return 0;
}

static void *worker_run(void *arg)
{
	struct apply_job *job = arg;
	uint32_t total = job->p->n_chunks;
	struct apply_worker w = { .job = job };
	uint32_t j;
	int r;

	w.spare_ranges =
		(struct sf_base){ .read = read_spare_range, .data = &w };
	w.base = (struct sf_base){ .read = read_active,
				   .data = &w,
				   .size = job->active_size,
				   .first = &w.spare_ranges,
				   .first_missed = &w.spare_missed };
	w.spare_base = (struct sf_base){ .read = read_spare_first,
					 .data = &w,
					 .size = job->active_size };
	w.quiet = *job->ctx;
	w.quiet.log_fn = NULL;
	sf_codec_init(&w.codec, 9);
	r = worker_alloc(&w, job->img->m.chunk_size);
	/* Chunks are taken in order: the slot is written front to back. */
	while (r >= 0 && atomic_load(&job->err) == 0 &&
	       (j = atomic_fetch_add(&job->next, job->batch)) < total)
		r = job->fn(&w, job->p->first_chunk + j,
			    total - j < job->batch ? total - j : job->batch);
	sf_parallel_error(&job->err, r);
	sf_codec_done(&w.codec);
	free(w.arena);
	free(w.bounce);
	return NULL;
}

/*
 * The workers' buffers, all together, stay under this and under a quarter
 * of the free memory.
 */
#define WORKER_MEMORY (256u << 20)

static size_t worker_memory(void)
{
	struct sysinfo si;
	uint64_t most = WORKER_MEMORY;

	if (sysinfo(&si) == 0 && (uint64_t)si.freeram * si.mem_unit / 4 < most)
		most = (uint64_t)si.freeram * si.mem_unit / 4;
	return (size_t)most;
}

/*
 * Workers, and the chunks each takes at a time (sf_hash_lanes(), so that
 * their contents are hashed side by side), in job->threads and job->batch.
 * More workers than CPUs: while some wait for the medium (direct I/O has
 * no readahead: every read waits) the others inflate and hash. Measured on
 * the reference payload with 2 CPUs, 8 chunks at a time (medians of 5): a
 * delta onto a spare holding its base 0.45 s with 4 workers, 0.40 s with 8,
 * 0.39 s with 12; a full apply 1.31, 1.21 and 1.23 s. Each worker has a
 * pair of chunk-sized buffers per chunk it takes, and two more, in whole
 * huge pages (arena_size()). Where memory does not allow a batch per CPU,
 * one chunk at a time; one worker per CPU at least.
 */
static void plan_workers(struct apply_job *job)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = n > 0 ? (unsigned)n : 1;
	size_t cs = job->img->m.chunk_size, mem = worker_memory();
	/* Reference chunks: each worker's codec keeps a prefix buffer. */
	size_t prefix = job->img->m.n_refs ? SF_REF_BYTES_MAX : 0;
	unsigned most, want = 2 * cpus + 4;

	job->batch = sf_hash_lanes();
	if (mem / (arena_size(job->batch, cs) + prefix) < cpus)
		job->batch = 1;
	most = mem / (arena_size(job->batch, cs) + prefix);
	if (want > most)
		want = most > cpus ? most : cpus;
	job->threads = job->t->threads ? job->t->threads : want;
}

/* Run @fn on every chunk of the payload, on the target's threads. */
static int run_workers(struct apply_job *job,
		       int (*fn)(struct apply_worker *w, uint32_t first,
				 uint32_t n))
{
	job->fn = fn;
	atomic_store(&job->next, 0);
	atomic_store(&job->err, 0);
	sf_parallel_run(job->threads, worker_run, job);
	return atomic_load(&job->err);
}

/* Flush the slot and drop its cached pages, so that reads hit the medium. */
static int flush_slot(const struct sf_ctx *ctx, int fd)
{
	sf_fault_point(ctx, "slot flush");
	if (fdatasync(fd) < 0)
		return sf_err(ctx, -errno, "cannot flush the spare slot: %m");
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

/*
 * Add O_DIRECT to @fd's flags where it takes it and a block-aligned read
 * works (a device whose logical blocks are larger than 4 KiB refuses it);
 * returns the flags to restore, or -1 (the fd is left as it was). Direct
 * I/O reads the medium whatever is cached, and skips the copy through the
 * page cache (measured on the reference payload's loop device: 512 MiB
 * read in 0.26 s direct, 1.18 s through the page cache, with the CPU time
 * the two threads need to inflate and hash).
 */
static int set_direct(int fd, uint8_t *buf)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || (flags & O_DIRECT) ||
	    fcntl(fd, F_SETFL, flags | O_DIRECT) < 0)
		return -1;
	if (pread(fd, buf, SF_BLOCK_SIZE, 0) < 0) {
		fcntl(fd, F_SETFL, flags);
		return -1;
	}
	return flags;
}

static int reset_flags(const struct sf_ctx *ctx, int fd, int flags, int r)
{
	if (flags >= 0 && fcntl(fd, F_SETFL, flags) < 0 && r >= 0)
		return sf_err(ctx, -errno, "cannot reset a slot's flags: %m");
	return r;
}

/*
 * Writer threads for the changed blocks, and the bytes they may have
 * queued: with direct I/O a write of a few blocks waits for the medium
 * (measured on the reference payload's loop device: 0.4 ms each, 1411 of
 * them in a delta onto a spare holding its base) while the reads and
 * hashing of the next chunks could go on.
 */
#define WRITERS 8
#define WRITEQ_BYTES (16u << 20)

/* Write the chunks that need it, through the write queue. */
static int apply_chunks(struct apply_job *job)
{
	int r, w;

	r = sf_writeq_start(&job->writeq, job->t->slot_fd, WRITERS,
			    WRITEQ_BYTES,
			    job->direct ? 0 : SF_WRITEQ_WRITEBACK);
	if (r < 0)
		return sf_err(job->ctx, r, "cannot start writer threads: %s",
			      strerror(-r));
	r = run_workers(job, apply_batch);
	w = sf_writeq_finish(job->writeq);
	job->writeq = NULL;
	if (r >= 0 && w < 0)
		r = sf_err(job->ctx, w, "cannot write the spare slot: %s",
			   strerror(-w));
	return r;
}

/*
 * Write the chunks, flush, read back every chunk written in this run and
 * check it. Direct I/O on both slots where they take it (block devices,
 * most filesystems) and the payload is whole blocks; buffered otherwise,
 * the slot's writeback started chunk by chunk and its cache dropped
 * before it is read.
 */
static int write_and_read_back(struct apply_job *job)
{
	int fd = job->t->slot_fd;
	int r;

	if (!job->direct) {
		/*
		 * What the slot holds is read from the medium, not from pages
		 * cached before this run: a chunk found right is proven by
		 * what this run read, and is not read back.
		 */
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		/*
		 * The slot is read only to compare, 4 KiB per chunk that it
		 * does not hold: no readahead (measured: it read 258 MiB of
		 * the reference payload's slot for nothing).
		 */
		posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	}
	r = apply_chunks(job);
	if (!job->direct)
		posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	if (r >= 0)
		r = flush_slot(job->ctx, fd);
	return r < 0 ? r : run_workers(job, apply_readback_batch);
}

/*
 * The root filesystem's reference ranges all lie in the active slot:
 * checked before anything is written (their hashes are checked as each
 * chunk is decoded).
 */
static int refs_inside(struct apply_job *job)
{
	const struct sf_manifest *m = &job->img->m;
	int r = 0;

	for (uint32_t i = job->p->first_chunk;
	     r >= 0 && i < job->p->first_chunk + job->p->n_chunks; i++)
		r = sf_chunk_refs_inside(job->ctx, m, &m->chunks[i], i,
					 job->active_size);
	return r;
}

static int apply_rootfs(struct apply_job *job)
{
	const struct sf_apply_target *t = job->t;
	int slot_flags = -1, active_flags = -1;
	uint8_t *probe = aligned_alloc(SF_BLOCK_SIZE, SF_BLOCK_SIZE);
	int r;

	job->p = sf_manifest_payload(&job->img->m, SF_PAYLOAD_ROOTFS);
	job->map_bytes = (job->img->m.chunk_size / SF_BLOCK_SIZE + 7) / 8;
	job->wrote = calloc(job->p->n_chunks ? job->p->n_chunks : 1,
			    sizeof(*job->wrote));
	job->wrote_blocks =
		calloc(job->p->n_chunks ? job->p->n_chunks : 1, job->map_bytes);
	atomic_store(&job->spare_holds, true);
	job->active_size = fd_size(t->active_fd);
	plan_workers(job);
	if (!job->wrote || !job->wrote_blocks || !probe) {
		free(job->wrote);
		free(job->wrote_blocks);
		free(probe);
		return -ENOMEM;
	}
	if (is_aligned(job->p->size))
		slot_flags = set_direct(t->slot_fd, probe);
	job->direct = slot_flags >= 0;
	if (job->direct && (job->img->m.flags & SF_MANIFEST_FLAG_DELTA))
		active_flags = set_direct(t->active_fd, probe);
	job->active_direct = active_flags >= 0;
	free(probe);
	r = refs_inside(job);
	if (r >= 0)
		r = write_and_read_back(job);
	r = reset_flags(job->ctx, t->slot_fd, slot_flags, r);
	r = reset_flags(job->ctx, t->active_fd, active_flags, r);
	job->direct = job->active_direct = false;
	free(job->wrote);
	free(job->wrote_blocks);
	job->wrote = NULL;
	job->wrote_blocks = NULL;
	return r;
}

int sf_apply_write(const struct sf_ctx *ctx, struct sf_image *img,
		   const struct sf_apply_target *t,
		   struct sf_apply_stats *ret_stats)
{
	struct apply_job job = { .ctx = ctx, .img = img, .t = t };
	int r;

	r = apply_rootfs(&job);
	if (r >= 0)
		r = apply_efi(&job);
	if (r >= 0 && ret_stats)
		*ret_stats = (struct sf_apply_stats){
			.chunks_written = atomic_load(&job.written),
			.chunks_skipped = atomic_load(&job.skipped),
			.chunks_read_back = atomic_load(&job.read_back),
			.bytes_written = atomic_load(&job.bytes),
		};
	return r;
}
