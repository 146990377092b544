// SPDX-License-Identifier: LGPL-2.1-or-later
#include "imgwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "hash.h"
#include "parallel.h"
#include "refindex.h"
#include "util.h"
#include "version.h"

#define BATCH_PER_THREAD 4
#define NO_BLOCK 0u

/* A payload's bytes: an input file mapped. */
struct region {
	uint8_t *mem;
	uint64_t size;
};

/*
 * A delta base payload rebuilt in memory. Only its non-zero 4 KiB blocks
 * take memory (or address space): a base may declare any amount of zero
 * chunks (or zeros inside its chunks) without a byte of memory being filled
 * for them. Its non-zero blocks are kept one after the other, in the
 * payload's order, in @mem.
 */
struct base_store {
	uint64_t size; /* the payload's declared size; 0: no base */
	uint32_t chunk_blocks; /* 4 KiB blocks per base chunk */
	uint32_t n_chunks;
	uint32_t *chunk_first; /* per chunk: index into @slot + 1; 0: zero */
	uint32_t *slot; /* per block: 0 zero, k: block k-1 of @mem */
	uint64_t *block_at; /* per block of @mem: its block in the payload */
	uint8_t *mem; /* anonymous, room for @mem_blocks blocks */
	uint64_t mem_blocks;
	uint32_t used; /* blocks of @mem filled */
};

/* A reference chunk's ranges (docs/FORMAT.md, "Reference chunks"). */
struct chunk_refs {
	uint32_t n;
	struct sf_ref *refs;
};

/* Where each 4 KiB block of a base payload is, by an 8-byte hash. */
struct block_index {
	uint64_t *keys;
	uint32_t *blocks; /* block number + 1; 0 = empty slot */
	uint64_t mask;
};

struct writer {
	const struct sf_ctx *ctx;
	const struct sf_create_opts *o;
	struct sf_manifest m;
	struct region in[SF_MAX_PAYLOADS];
	struct base_store base[SF_MAX_PAYLOADS]; /* by payload index */
	struct block_index idx[SF_MAX_PAYLOADS]; /* format 1 */
	struct sf_refindex *rix[SF_MAX_PAYLOADS]; /* format 2 */
	struct chunk_refs *refs; /* format 2 delta: per chunk */
	uint32_t blocks_per_chunk;
	uint32_t *maps; /* delta: blocks_per_chunk entries per chunk */
	uint32_t *dicts; /* delta: one per window */
	uint8_t **out; /* phase C: stored bytes of the current batch */
	uint32_t batch_start;
	enum sf_codec_kind codec;
	int level;
	int fd;
	unsigned threads;
};

static void region_free(struct region *r)
{
	if (r->mem)
		munmap(r->mem, r->size);
	r->mem = NULL;
}

static void base_free(struct base_store *bs)
{
	if (bs->mem)
		munmap(bs->mem, bs->mem_blocks * SF_BLOCK_SIZE);
	free(bs->chunk_first);
	free(bs->slot);
	free(bs->block_at);
	*bs = (struct base_store){ .size = 0 };
}

static const uint8_t zero_block[SF_BLOCK_SIZE];

/* Base block @b (its first bytes if it is the short last one). */
static const uint8_t *base_block(const struct base_store *bs, uint64_t b)
{
	uint32_t first = bs->chunk_first[b / bs->chunk_blocks], s;

	if (!first)
		return zero_block;
	s = bs->slot[first - 1 + b % bs->chunk_blocks];
	return s ? bs->mem + (uint64_t)(s - 1) * SF_BLOCK_SIZE : zero_block;
}

/* struct sf_base's read over a base store, at any offset. */
static int base_read(void *data, uint64_t off, void *buf, size_t len)
{
	const struct base_store *bs = data;
	uint8_t *out = buf;

	if (off > bs->size || len > bs->size - off)
		return -EINVAL;
	while (len > 0) {
		size_t at = off % SF_BLOCK_SIZE;
		size_t n = SF_BLOCK_SIZE - at < len ? SF_BLOCK_SIZE - at : len;

		memcpy(out, base_block(bs, off / SF_BLOCK_SIZE) + at, n);
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int map_input(const struct sf_ctx *ctx, const char *path,
		     struct region *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;

	if (fd < 0)
		return sf_err(ctx, -errno, "cannot open %s: %m", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sf_err(ctx, -EINVAL, "%s: not a regular file", path);
	if (st.st_size == 0 || (uint64_t)st.st_size > SF_PAYLOAD_MAX)
		return sf_err(ctx, -EINVAL, "%s: size %lld out of bounds", path,
			      (long long)st.st_size);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return sf_err(ctx, -errno, "cannot map %s: %m", path);
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	*ret = (struct region){ p, (uint64_t)st.st_size };
	return 0;
}

static uint64_t block_key(const uint8_t *p)
{
	uint8_t h[8];

	crypto_generichash(h, sizeof(h), p, SF_BLOCK_SIZE, NULL, 0);
	return le64_load(h);
}

static void index_add(struct block_index *ix, const uint8_t *p, uint64_t b)
{
	uint64_t k = block_key(p), s;

	for (s = k & ix->mask; ix->blocks[s]; s = (s + 1) & ix->mask)
		if (ix->keys[s] == k)
			return;
	ix->keys[s] = k;
	ix->blocks[s] = (uint32_t)b + 1;
}

/* Index the base's non-zero whole blocks (its zero chunks are skipped). */
static int index_build(const struct base_store *base, struct block_index *ix)
{
	uint64_t cap = 16, nb = base->size / SF_BLOCK_SIZE;

	while (cap < (uint64_t)base->used * 2)
		cap <<= 1;
	ix->keys = calloc(cap, sizeof(*ix->keys));
	ix->blocks = calloc(cap, sizeof(*ix->blocks));
	if (!ix->keys || !ix->blocks)
		return -ENOMEM;
	ix->mask = cap - 1;
	for (uint32_t k = 0; k < base->used; k++)
		if (base->block_at[k] < nb)
			index_add(ix, base->mem + (uint64_t)k * SF_BLOCK_SIZE,
				  base->block_at[k]);
	return 0;
}

/* Base block number + 1 holding exactly the 4 KiB at @p, or NO_BLOCK. */
static uint32_t index_find(const struct block_index *ix,
			   const struct base_store *base, const uint8_t *p)
{
	uint64_t k = block_key(p);

	for (uint64_t s = k & ix->mask; ix->blocks[s]; s = (s + 1) & ix->mask)
		if (ix->keys[s] == k &&
		    memcmp(base_block(base, ix->blocks[s] - 1), p,
			   SF_BLOCK_SIZE) == 0)
			return ix->blocks[s];
	return NO_BLOCK;
}

static void index_free(struct block_index *ix)
{
	free(ix->keys);
	free(ix->blocks);
	ix->keys = NULL;
	ix->blocks = NULL;
}

/* Deflate gives at most 1032 bytes per stored byte (258 per 2 bits); zstd
 * at most 32768 (an RLE block: 4 bytes for 128 KiB). */
#define INFLATE_MAX_RATIO 1032u
#define ZSTD_MAX_RATIO 32768u

/* Can chunk @c's stored bytes decode to its length at all? */
static bool length_possible(const struct sf_chunk *c)
{
	uint64_t n = c->stored_len;

	if (c->form == SF_FORM_DEFLATE)
		return c->length <= n * INFLATE_MAX_RATIO;
	if (c->form == SF_FORM_ZSTD)
		return c->length <= n * ZSTD_MAX_RATIO;
	return true;
}

/*
 * What payload @p of the base declares must be what its chunks can give:
 * its size the sum of its chunks' lengths, each deflated chunk no longer
 * than deflate can expand its stored bytes to. Zero chunks cost nothing;
 * the others' blocks go to *@ret_blocks, which must fit in memory.
 */
static int base_bound(const struct sf_ctx *ctx, const char *path,
		      const struct sf_image *img, const struct sf_payload *p,
		      uint64_t *ret_blocks)
{
	uint64_t sum = 0, blocks = 0;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * page : ~0ull;

	for (uint32_t i = p->first_chunk; i < p->first_chunk + p->n_chunks;
	     i++) {
		const struct sf_chunk *c = &img->m.chunks[i];

		sum += c->length;
		if (!length_possible(c))
			return sf_err(ctx, -EBADMSG,
				      "delta base %s: chunk %u declares %u "
				      "bytes from %u stored bytes, more than "
				      "%s can give",
				      path, i, c->length, c->stored_len,
				      sf_form_name(c->form));
		if (c->form != SF_FORM_ZERO)
			blocks += sf_patch_blocks(c->length);
	}
	if (sum != p->size)
		return sf_err(ctx, -EBADMSG,
			      "delta base %s: payload of %llu bytes has "
			      "chunks of %llu bytes",
			      path, (unsigned long long)p->size,
			      (unsigned long long)sum);
	if (blocks * SF_BLOCK_SIZE > ram)
		return sf_err(ctx, -EBADMSG,
			      "delta base %s: %llu MiB of data that is not "
			      "zero, more than this machine's %llu MiB of "
			      "memory",
			      path,
			      (unsigned long long)(blocks * SF_BLOCK_SIZE >>
						   20),
			      (unsigned long long)(ram >> 20));
	*ret_blocks = blocks;
	return 0;
}

/* Keep chunk @j's (decoded into @buf) non-zero blocks in @bs. */
static void base_keep(struct base_store *bs, uint32_t j, const uint8_t *buf,
		      uint32_t len, uint32_t *next_slot)
{
	uint32_t nb = sf_patch_blocks(len);

	bs->chunk_first[j] = *next_slot + 1;
	for (uint32_t b = 0; b < nb; b++) {
		uint32_t n = b + 1 < nb ? SF_BLOCK_SIZE
					: len - b * SF_BLOCK_SIZE;
		const uint8_t *p = buf + (size_t)b * SF_BLOCK_SIZE;

		if (is_zero(p, n))
			continue;
		memcpy(bs->mem + (uint64_t)bs->used * SF_BLOCK_SIZE, p, n);
		bs->block_at[bs->used] = (uint64_t)j * bs->chunk_blocks + b;
		bs->slot[*next_slot + b] = ++bs->used;
	}
	*next_slot += nb;
}

/*
 * Rebuild payload @p of the (full) base image into @bs: zero chunks and
 * zero blocks are not written anywhere (fresh anonymous memory is zero
 * and costs nothing until it is written).
 */
static int base_rebuild(const struct sf_ctx *ctx, struct sf_image *img,
			const struct sf_payload *p, uint64_t blocks,
			struct base_store *bs)
{
	_cleanup_free_ uint8_t *stored = malloc(img->m.chunk_size);
	_cleanup_free_ uint8_t *buf = malloc(img->m.chunk_size);
	struct sf_codec codec;
	uint32_t next_slot = 0;
	int r = 0;

	*bs = (struct base_store){ .size = p->size,
				   .chunk_blocks =
					   img->m.chunk_size / SF_BLOCK_SIZE,
				   .n_chunks = p->n_chunks,
				   .mem_blocks = blocks };
	bs->chunk_first = calloc(p->n_chunks ? p->n_chunks : 1, 4);
	bs->slot = calloc(blocks ? blocks : 1, 4);
	bs->block_at = calloc(blocks ? blocks : 1, sizeof(*bs->block_at));
	if (blocks)
		bs->mem = mmap(NULL, blocks * SF_BLOCK_SIZE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			       0);
	if (bs->mem == MAP_FAILED)
		bs->mem = NULL;
	if (!stored || !buf || !bs->chunk_first || !bs->slot || !bs->block_at ||
	    (blocks && !bs->mem)) {
		base_free(bs);
		return sf_err(
			ctx, -ENOMEM, "no memory for the delta base's %llu MiB",
			(unsigned long long)(blocks * SF_BLOCK_SIZE >> 20));
	}
	sf_codec_init(&codec, 9);
	for (uint32_t j = 0; r >= 0 && j < p->n_chunks; j++) {
		const struct sf_chunk *c = &img->m.chunks[p->first_chunk + j];

		if (c->form == SF_FORM_ZERO)
			continue;
		r = sf_image_read_stored(ctx, img, p->first_chunk + j, stored);
		if (r >= 0)
			r = sf_chunk_decode(ctx, &codec, &img->m, c,
					    p->first_chunk + j, stored, NULL,
					    true, buf);
		if (r >= 0)
			base_keep(bs, j, buf, c->length, &next_slot);
	}
	sf_codec_done(&codec);
	if (r < 0)
		base_free(bs);
	return r;
}

/*
 * The base must be signed by the keys given for it (k of n); by default by
 * one of the keys that sign the new image.
 */
static int base_verify(const struct sf_ctx *ctx, struct sf_image *img,
		       const struct sf_create_opts *o)
{
	struct ms_pubkey own[SF_MAX_SIGS];
	const struct ms_pubkey *keys = o->base_keys;
	unsigned n = o->n_base_keys;
	char ids[8 * 18 + 1] = "", id[17];
	size_t len = 0;
	int r;

	if (n == 0) {
		n = o->n_keys < SF_MAX_SIGS ? o->n_keys : SF_MAX_SIGS;
		for (unsigned k = 0; k < n; k++)
			ms_pubkey_from_seckey(&o->keys[k], &own[k]);
		keys = own;
	}
	r = sf_image_check_signatures(
		ctx, img, keys, n, o->base_threshold ? o->base_threshold : 1);
	if (r != -EKEYREJECTED)
		return r < 0 ? r : 0;
	for (unsigned k = 0; k < n && k < 8; k++) {
		ms_keyid_hex(keys[k].keyid, id);
		len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%s",
					k ? ", " : "", id);
	}
	return sf_err(ctx, r,
		      "delta base %s is not signed by the key(s) it was "
		      "checked against (key id %s)",
		      o->delta_from, ids);
}

static int base_check(const struct sf_ctx *ctx, const struct sf_image *img,
		      const struct sf_create_opts *o)
{
	int cmp = 0;

	if (img->m.flags & SF_MANIFEST_FLAG_DELTA)
		return sf_err(ctx, -EBADMSG,
			      "%s is itself a delta image: make deltas against "
			      "full images",
			      o->delta_from);
	if (strcmp(img->m.compatible, o->compatible) != 0)
		return sf_err(ctx, -EBADMSG, "%s is for \"%s\", not \"%s\"",
			      o->delta_from, img->m.compatible, o->compatible);
	if (sf_version_cmp_str(o->version, img->m.version, &cmp) < 0 ||
	    cmp <= 0)
		return sf_err(ctx, -EBADMSG,
			      "delta base %s has version %s, not below %s",
			      o->delta_from, img->m.version, o->version);
	return 0;
}

/* Load the delta base: each payload of ours gets the base's same kind. */
static int base_load(struct writer *w)
{
	struct sf_image *img = NULL;
	uint64_t blocks = 0;
	int r;

	r = sf_image_open(w->ctx, w->o->delta_from, &img);
	if (r >= 0)
		r = base_verify(w->ctx, img, w->o);
	if (r >= 0)
		r = base_check(w->ctx, img, w->o);
	for (unsigned i = 0; r >= 0 && i < w->m.n_payloads; i++) {
		const struct sf_payload *bp =
			sf_manifest_payload(&img->m, w->m.payloads[i].kind);

		if (!bp)
			continue;
		r = base_bound(w->ctx, w->o->delta_from, img, bp, &blocks);
		if (r >= 0)
			r = base_rebuild(w->ctx, img, bp, blocks, &w->base[i]);
		if (r >= 0 && w->m.format == 1)
			r = index_build(&w->base[i], &w->idx[i]);
		else if (r >= 0 &&
			 sf_refindex_build(w->base[i].mem, w->base[i].used,
					   w->base[i].block_at, w->base[i].size,
					   &w->rix[i]) < 0)
			r = sf_err(w->ctx, -ENOMEM,
				   "no memory to index the delta base");
	}
	if (r >= 0) {
		w->m.flags |= SF_MANIFEST_FLAG_DELTA;
		memcpy(w->m.base_version, img->m.version, SF_STRING_FIELD);
		memcpy(w->m.base_manifest_hash, img->manifest_hash,
		       SF_HASH_BYTES);
	}
	sf_image_close(img);
	return r;
}

static uint32_t windows_per_chunk(const struct writer *w)
{
	return (w->blocks_per_chunk + SF_WINDOW_BLOCKS - 1) / SF_WINDOW_BLOCKS;
}

/*
 * The base block that continues the run of the previous block (or, for a
 * chunk's first block, the one at the same offset), if it holds @p: data
 * moves in runs, and zero blocks are not in the index.
 */
static uint32_t continue_run(const struct base_store *base, uint32_t prev,
			     uint64_t off, const uint8_t *p, uint32_t len)
{
	uint64_t at = prev != NO_BLOCK ? (uint64_t)prev * SF_BLOCK_SIZE : off;

	if (at + len > base->size ||
	    memcmp(base_block(base, at / SF_BLOCK_SIZE), p, len) != 0)
		return NO_BLOCK;
	return (uint32_t)(at / SF_BLOCK_SIZE) + 1;
}

/* Phase A, delta: find each block of chunk @c in the base. */
static void map_blocks(struct writer *w, struct sf_chunk *c, uint32_t *map,
		       const uint8_t *content)
{
	const struct base_store *base = &w->base[c->payload];
	uint32_t nb = sf_patch_blocks(c->length);
	bool contiguous = true;

	for (uint32_t b = 0; b < nb; b++) {
		uint64_t off = c->offset + (uint64_t)b * SF_BLOCK_SIZE;
		uint32_t blen = b + 1 < nb ? SF_BLOCK_SIZE
					   : c->length - b * SF_BLOCK_SIZE;

		map[b] = continue_run(base, b ? map[b - 1] : NO_BLOCK, off,
				      content + b * SF_BLOCK_SIZE, blen);
		if (map[b] == NO_BLOCK && blen == SF_BLOCK_SIZE)
			map[b] = index_find(&w->idx[c->payload], base,
					    content + b * SF_BLOCK_SIZE);
		contiguous &= map[b] != NO_BLOCK && map[b] == map[0] + b;
	}
	if (contiguous) {
		c->form = SF_FORM_BASE;
		c->base_offset = (uint64_t)(map[0] - 1) * SF_BLOCK_SIZE;
	}
}

/*
 * Phase A, format 2 delta: where chunk @c's data is in the base. A chunk
 * that is a 4 KiB-aligned run of the base is a base chunk; one with data
 * found anywhere in the base gets its ranges, for a reference chunk.
 */
static int find_refs(struct writer *w, struct sf_chunk *c,
		     struct chunk_refs *cr, const uint8_t *content)
{
	struct sf_refs_found f;
	int r = sf_refindex_find(w->rix[c->payload], content, c->length, &f);

	if (r < 0)
		return r;
	if (f.whole && f.whole_at % SF_BLOCK_SIZE == 0) {
		c->form = SF_FORM_BASE;
		c->base_offset = f.whole_at;
		return 0;
	}
	if (f.n == 0)
		return 0;
	cr->refs = malloc(f.n * sizeof(*cr->refs));
	if (!cr->refs)
		return -ENOMEM;
	memcpy(cr->refs, f.refs, f.n * sizeof(*cr->refs));
	cr->n = f.n;
	return 0;
}

static int scan_chunk(void *arg, uint32_t i)
{
	struct writer *w = arg;
	struct sf_chunk *c = &w->m.chunks[i];
	const uint8_t *content = w->in[c->payload].mem + c->offset;

	if (is_zero(content, c->length)) {
		c->form = SF_FORM_ZERO;
		return 0;
	}
	sf_hash(content, c->length, c->content_hash);
	c->form = SF_FORM_DEFLATE;
	if (w->rix[c->payload])
		return find_refs(w, c, &w->refs[i], content);
	if (w->base[c->payload].size)
		map_blocks(w, c, w->maps + (size_t)i * w->blocks_per_chunk,
			   content);
	return 0;
}

/*
 * Phase B, delta: a dictionary for every window, from the shift between
 * new and base positions seen last (data moves in runs, so the old version
 * of a changed block is usually where its unchanged neighbours went).
 */
static void choose_dicts(struct writer *w)
{
	int64_t shift = 0;
	unsigned payload = ~0u;

	for (uint32_t i = 0; i < w->m.n_chunks; i++) {
		const struct sf_chunk *c = &w->m.chunks[i];
		const uint32_t *map = w->maps + (size_t)i * w->blocks_per_chunk;
		uint32_t nb = sf_patch_blocks(c->length);
		int64_t base_blocks =
			(int64_t)(w->base[c->payload].size / SF_BLOCK_SIZE);

		if (c->payload != payload) {
			shift = 0;
			payload = c->payload;
		}
		for (uint32_t b = 0; b < nb; b++) {
			int64_t at = (int64_t)(c->offset / SF_BLOCK_SIZE) + b;
			int64_t d;

			if (map[b] != NO_BLOCK)
				shift = (int64_t)map[b] - 1 - at;
			if (b % SF_WINDOW_BLOCKS != 0)
				continue;
			d = at + shift;
			if (d + SF_WINDOW_BLOCKS > base_blocks)
				d = base_blocks - SF_WINDOW_BLOCKS;
			w->dicts[(size_t)i * windows_per_chunk(w) +
				 b / SF_WINDOW_BLOCKS] =
				d < 0 ? 0 : (uint32_t)d + 1;
		}
	}
}

/*
 * Phase C, a chunk with reference ranges: coded against them when that is
 * smaller than its full form (in @out); otherwise it keeps that form and
 * loses its ranges. @tmp has room for a chunk.
 */
static int encode_ref(struct writer *w, struct sf_codec *codec,
		      struct sf_chunk *c, struct chunk_refs *cr, uint8_t *out,
		      uint8_t *tmp)
{
	_cleanup_free_ uint8_t *prefix = NULL;
	size_t total = 0;
	int r;

	for (uint32_t k = 0; k < cr->n; k++)
		total += cr->refs[k].length;
	if (!(prefix = malloc(total)))
		return -ENOMEM;
	for (uint32_t k = 0, at = 0; k < cr->n; at += cr->refs[k++].length) {
		r = base_read(&w->base[c->payload], cr->refs[k].offset,
			      prefix + at, cr->refs[k].length);
		if (r < 0)
			return r;
		sf_hash(prefix + at, cr->refs[k].length, cr->refs[k].hash);
	}
	r = sf_zstd(codec, w->in[c->payload].mem + c->offset, c->length, prefix,
		    total, tmp, c->stored_len);
	if (r == -ENOSPC) {
		free(cr->refs);
		*cr = (struct chunk_refs){ .n = 0 };
	} else if (r < 0) {
		return r;
	} else {
		memcpy(out, tmp, (size_t)r);
		c->form = SF_FORM_REF;
		c->stored_len = (uint32_t)r;
		c->base_offset = cr->n;
	}
	sf_hash(out, c->stored_len, c->stored_hash);
	return 0;
}

/* Phase C: the smallest stored form of a chunk (not zero, not base). */
static int encode_chunk(struct writer *w, struct sf_codec *codec, uint32_t i,
			uint8_t *out, uint8_t *tmp)
{
	struct sf_chunk *c = &w->m.chunks[i];
	const uint8_t *content = w->in[c->payload].mem + c->offset;
	int r;

	if (w->codec == SF_CODEC_ZSTD)
		r = sf_zstd(codec, content, c->length, NULL, 0, out, c->length);
	else
		r = sf_deflate(codec, content, c->length, NULL, out, c->length);
	if (r == -ENOSPC) {
		memcpy(out, content, c->length);
		c->form = SF_FORM_STORED;
		c->stored_len = c->length;
	} else if (r < 0) {
		return r;
	} else {
		c->form = w->codec == SF_CODEC_ZSTD ? SF_FORM_ZSTD
						    : SF_FORM_DEFLATE;
		c->stored_len = (uint32_t)r;
	}
	if (w->refs && w->refs[i].n)
		return encode_ref(w, codec, c, &w->refs[i], out, tmp);
	if (w->maps && w->base[c->payload].size) {
		struct sf_base rd = { .read = base_read,
				      .data = &w->base[c->payload],
				      .size = w->base[c->payload].size };

		/* Patch windows are deflated: at zlib's default level when
		 * the level given is zstd's. */
		if (w->codec == SF_CODEC_ZSTD)
			codec->level = SF_DEFAULT_ZLIB_LEVEL;
		r = sf_patch_encode(codec, content, c->length,
				    w->maps + (size_t)i * w->blocks_per_chunk,
				    w->dicts + (size_t)i * windows_per_chunk(w),
				    &rd, tmp, c->stored_len);
		if (r >= 0) {
			memcpy(out, tmp, (size_t)r);
			c->form = SF_FORM_PATCH;
			c->stored_len = (uint32_t)r;
		} else if (r != -ENOSPC) {
			return r;
		}
	}
	sf_hash(out, c->stored_len, c->stored_hash);
	return 0;
}

static int encode_one(void *arg, uint32_t j)
{
	struct writer *w = arg;
	uint32_t i = w->batch_start + j;
	struct sf_chunk *c = &w->m.chunks[i];
	_cleanup_free_ uint8_t *tmp = NULL;
	struct sf_codec codec;
	int r;

	if (c->form == SF_FORM_ZERO || c->form == SF_FORM_BASE)
		return 0;
	if (w->base[c->payload].size && !(tmp = malloc(w->m.chunk_size)))
		return -ENOMEM;
	sf_codec_init(&codec, w->level);
	r = encode_chunk(w, &codec, i, w->out[j], tmp);
	sf_codec_done(&codec);
	return r;
}

static int encode_all(struct writer *w, uint64_t data_start)
{
	uint32_t batch = w->threads * BATCH_PER_THREAD;
	uint64_t pos = data_start, done = 0, total = 0;
	int r = 0;

	for (unsigned p = 0; p < w->m.n_payloads; p++)
		total += w->m.payloads[p].size;
	for (w->batch_start = 0; r >= 0 && w->batch_start < w->m.n_chunks;
	     w->batch_start += batch) {
		uint32_t n = w->m.n_chunks - w->batch_start;

		n = n < batch ? n : batch;
		r = sf_parallel_for(w->threads, n, encode_one, w);
		for (uint32_t j = 0; r >= 0 && j < n; j++) {
			const struct sf_chunk *c =
				&w->m.chunks[w->batch_start + j];

			r = pwrite_full(w->fd, w->out[j], c->stored_len, pos);
			pos += c->stored_len;
			done += c->length;
		}
		if (w->o->progress)
			w->o->progress(w->o->progress_data, done, total);
	}
	return r < 0 ? sf_err(w->ctx, r, "cannot write the image: %s",
			      strerror(-r))
		     : 0;
}

static int check_codec(const struct sf_ctx *ctx, const struct sf_create_opts *o)
{
	bool zstd = o->codec == SF_CODEC_ZSTD ||
		    (o->codec == SF_CODEC_DEFAULT && o->format != 1);
	int max = zstd ? SF_ZSTD_LEVEL_MAX : 9;

	if (o->format > SF_FORMAT_VERSION)
		return sf_err(ctx, -EINVAL, "format must be 1 or 2");
	if (o->format == 1 && zstd)
		return sf_err(ctx, -EINVAL,
			      "format 1 has no zstd chunks: give --codec "
			      "zlib, or leave the format at 2");
	if (o->level < 0 || o->level > max)
		return sf_err(ctx, -EINVAL,
			      "%s compression level must be 1 to %d",
			      zstd ? "zstd" : "zlib", max);
	return 0;
}

static int check_opts(const struct sf_ctx *ctx, const struct sf_create_opts *o)
{
	struct sf_version v;
	uint32_t cs = o->chunk_size;

	if (!o->version || sf_version_parse(o->version, &v) < 0)
		return sf_err(ctx, -EINVAL,
			      "version \"%s\" is not 1 to 8 dot-separated "
			      "numbers (e.g. 1.10.0)",
			      o->version ? o->version : "");
	if (!o->compatible || !sf_compatible_valid(o->compatible))
		return sf_err(ctx, -EINVAL,
			      "compatible string must be 1 to 63 characters "
			      "from [A-Za-z0-9._+-]");
	if (cs && (cs < SF_CHUNK_MIN || cs > SF_CHUNK_MAX || (cs & (cs - 1))))
		return sf_err(ctx, -EINVAL,
			      "chunk size must be a power of two from 4 KiB to "
			      "4 MiB");
	if (o->n_keys == 0)
		return sf_err(ctx, -EINVAL,
			      "at least one secret key is needed");
	return check_codec(ctx, o);
}

static int setup(struct writer *w)
{
	const struct sf_create_opts *o = w->o;
	const char *paths[2] = { o->rootfs, o->efi };
	uint32_t kinds[2] = { SF_PAYLOAD_ROOTFS, SF_PAYLOAD_EFI };
	int r;

	w->m.chunk_size = o->chunk_size ? o->chunk_size : SF_DEFAULT_CHUNK;
	w->m.format = o->format ? o->format : SF_FORMAT_VERSION;
	w->codec = o->codec == SF_CODEC_ZLIB || w->m.format == 1
			   ? SF_CODEC_ZLIB
			   : SF_CODEC_ZSTD;
	w->level = o->level		       ? o->level
		   : w->codec == SF_CODEC_ZSTD ? SF_DEFAULT_ZSTD_LEVEL
					       : SF_DEFAULT_ZLIB_LEVEL;
	w->m.build_time = o->build_time ? o->build_time : (uint64_t)time(NULL);
	/* check_opts() bounded both; the rest of each field stays zero. */
	memcpy(w->m.compatible, o->compatible, strlen(o->compatible));
	memcpy(w->m.version, o->version, strlen(o->version));
	for (unsigned i = 0; i < 2; i++) {
		unsigned n = w->m.n_payloads;

		if (!paths[i])
			continue;
		r = map_input(w->ctx, paths[i], &w->in[n]);
		if (r < 0)
			return r;
		w->m.payloads[n].kind = kinds[i];
		w->m.payloads[n].size = w->in[n].size;
		w->m.n_payloads = n + 1;
	}
	r = sf_manifest_layout(&w->m);
	if (r < 0)
		return sf_err(w->ctx, r, "payloads too large for a manifest");
	w->blocks_per_chunk = w->m.chunk_size / SF_BLOCK_SIZE;
	if (!o->delta_from)
		return 0;
	if (w->m.format == 1) {
		w->maps =
			calloc((size_t)w->m.n_chunks * w->blocks_per_chunk, 4);
		w->dicts =
			calloc((size_t)w->m.n_chunks * windows_per_chunk(w), 4);
		if (!w->maps || !w->dicts)
			return -ENOMEM;
	} else if (!(w->refs = calloc(w->m.n_chunks, sizeof(*w->refs)))) {
		return -ENOMEM;
	}
	return base_load(w);
}

static int sign_all(struct writer *w, const uint8_t *manifest, size_t len,
		    uint8_t *sigblock)
{
	struct sf_sigblock sb = { .n = 0 };
	char comment[256];
	int r = 0;

	sf_image_trusted_comment(&w->m, comment, sizeof(comment));
	for (unsigned k = 0; r >= 0 && k < w->o->n_keys; k++) {
		_cleanup_free_ char *text = NULL;

		r = ms_sign(w->ctx, &w->o->keys[k], manifest, len, comment,
			    &text);
		if (r >= 0)
			r = sf_sigblock_add(&sb, text);
	}
	if (r >= 0)
		r = sf_sigblock_encode(&sb, sigblock);
	if (r == -ENOSPC)
		r = sf_err(w->ctx, r, "too many signatures (at most %u)",
			   SF_MAX_SIGS);
	sf_sigblock_free(&sb);
	return r;
}

/* Header, manifest and signatures, once the data area is written. */
static int write_front(struct writer *w)
{
	size_t len = sf_manifest_encoded_size(&w->m);
	_cleanup_free_ uint8_t *manifest = malloc(len);
	uint8_t header[SF_HEADER_SIZE], sigblock[SF_SIGBLOCK_SIZE];
	int r;

	if (!manifest)
		return -ENOMEM;
	sf_manifest_set_data_offsets(&w->m);
	sf_manifest_encode(&w->m, manifest);
	r = sign_all(w, manifest, len, sigblock);
	if (r < 0)
		return r;
	sf_image_header_encode(header, w->m.format, len);
	r = pwrite_full(w->fd, header, sizeof(header), 0);
	if (r >= 0)
		r = pwrite_full(w->fd, manifest, len, SF_HEADER_SIZE);
	if (r >= 0)
		r = pwrite_full(w->fd, sigblock, sizeof(sigblock),
				sf_image_sig_offset(len));
	if (r >= 0 && ftruncate(w->fd, (off_t)(sf_image_data_offset(len) +
					       w->m.data_size)) < 0)
		r = -errno;
	return r < 0 ? sf_err(w->ctx, r, "cannot write the image: %s",
			      strerror(-r))
		     : 0;
}

/* The references in the chunks' ranges, in chunk order. */
static uint32_t count_refs(const struct writer *w)
{
	uint32_t n = 0;

	for (uint32_t i = 0; w->refs && i < w->m.n_chunks; i++)
		n += w->refs[i].n;
	return n;
}

/* The reference table, from the ranges the reference chunks kept. */
static int table_refs(struct writer *w)
{
	uint32_t n = count_refs(w), k = 0;

	w->m.n_refs = n;
	if (n && !(w->m.refs = malloc(n * sizeof(*w->m.refs))))
		return -ENOMEM;
	for (uint32_t i = 0; w->refs && i < w->m.n_chunks; i++)
		for (uint32_t j = 0; j < w->refs[i].n; j++)
			w->m.refs[k++] = w->refs[i].refs[j];
	return 0;
}

/*
 * Move the data area, written at @from, to @to (@to < @from): the data
 * is placed before the manifest's size is known (a chunk drops its
 * references when they do not make it smaller), and the manifest ended
 * up smaller than reckoned. Front to back, so nothing is overwritten
 * before it is moved.
 */
static int move_data(struct writer *w, uint64_t from, uint64_t to)
{
	_cleanup_free_ uint8_t *buf = malloc(w->m.chunk_size);
	uint64_t size = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < w->m.n_chunks; i++)
		size += w->m.chunks[i].stored_len;
	for (uint64_t at = 0; r >= 0 && at < size; at += w->m.chunk_size) {
		size_t n = size - at < w->m.chunk_size ? size - at
						       : w->m.chunk_size;

		r = pread_full(w->fd, buf, n, from + at);
		if (r >= 0)
			r = pwrite_full(w->fd, buf, n, to + at);
	}
	return r < 0 ? sf_err(w->ctx, r, "cannot write the image: %s",
			      strerror(-r))
		     : 0;
}

static int run(struct writer *w)
{
	uint32_t batch = w->threads * BATCH_PER_THREAD;
	uint64_t data_start, start;
	int r;

	r = sf_parallel_for(w->threads, w->m.n_chunks, scan_chunk, w);
	if (r < 0)
		return r;
	if (w->maps)
		choose_dicts(w);
	w->out = calloc(batch, sizeof(*w->out));
	if (!w->out)
		return -ENOMEM;
	for (uint32_t j = 0; j < batch; j++)
		if (!(w->out[j] = malloc(w->m.chunk_size)))
			return -ENOMEM;
	/* With every range found so far: chunks may only drop theirs. */
	w->m.n_refs = count_refs(w);
	data_start = sf_image_data_offset(sf_manifest_encoded_size(&w->m));
	r = encode_all(w, data_start);
	if (r >= 0)
		r = table_refs(w);
	start = sf_image_data_offset(sf_manifest_encoded_size(&w->m));
	if (r >= 0 && start != data_start)
		r = move_data(w, data_start, start);
	return r < 0 ? r : write_front(w);
}

static void writer_free(struct writer *w)
{
	for (unsigned i = 0; i < SF_MAX_PAYLOADS; i++) {
		region_free(&w->in[i]);
		base_free(&w->base[i]);
		index_free(&w->idx[i]);
		sf_refindex_free(w->rix[i]);
	}
	for (uint32_t i = 0; w->refs && i < w->m.n_chunks; i++)
		free(w->refs[i].refs);
	free(w->refs);
	for (uint32_t j = 0; w->out && j < w->threads * BATCH_PER_THREAD; j++)
		free(w->out[j]);
	free(w->out);
	free(w->maps);
	free(w->dicts);
	sf_manifest_free(&w->m);
}

int sf_image_create(const struct sf_ctx *ctx, const struct sf_create_opts *o,
		    const char *out_path)
{
	struct writer w = { .ctx = ctx, .o = o, .fd = -1 };
	_cleanup_free_ char *tmp = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	r = check_opts(ctx, o);
	if (r < 0)
		return r;
	w.threads = o->threads ? o->threads : ncpu > 0 ? (unsigned)ncpu : 1;
	r = setup(&w);
	if (r >= 0) {
		w.fd = tmpfile_create(out_path, 0644, &tmp);
		if (w.fd < 0)
			r = sf_err(ctx, w.fd, "cannot create %s: %s", out_path,
				   strerror(-w.fd));
	}
	if (r >= 0)
		r = run(&w);
	if (r >= 0) {
		r = tmpfile_commit(w.fd, tmp, out_path);
		if (r < 0)
			sf_err(ctx, r, "cannot write %s: %s", out_path,
			       strerror(-r));
	} else if (tmp) {
		unlink(tmp);
	}
	if (w.fd >= 0)
		close(w.fd);
	writer_free(&w);
	return r;
}

/* Copy @src (open) into a new temporary file next to @path. */
static int copy_to_tmp(const struct sf_ctx *ctx, int src, uint64_t size,
		       const char *path, char **ret_tmp)
{
	int fd = tmpfile_create(path, 0644, ret_tmp);
	loff_t in = 0, out = 0;

	if (fd < 0)
		return sf_err(ctx, fd, "cannot create a file next to %s: %s",
			      path, strerror(-fd));
	while ((uint64_t)in < size) {
		ssize_t n = copy_file_range(src, &in, fd, &out,
					    (size_t)(size - (uint64_t)in), 0);

		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			close(fd);
			unlink(*ret_tmp);
			return sf_err(ctx, r, "cannot copy %s: %s", path,
				      strerror(-r));
		}
	}
	return fd;
}

static bool already_signed(struct sf_image *img, const struct ms_pubkey *pk)
{
	struct sf_ctx quiet = { .log_fn = NULL };
	struct ms_sig sig;

	for (unsigned s = 0; s < img->sigs.n; s++)
		if (ms_sig_parse(&quiet, img->sigs.text[s], img->sigs.len[s],
				 &sig) == 0 &&
		    ms_sig_verify(&quiet, &sig, pk, img->manifest_raw,
				  img->manifest_size) == 0)
			return true;
	return false;
}

static int add_sig_text(const struct sf_ctx *ctx, struct sf_image *img,
			const struct ms_seckey *key, uint8_t *block)
{
	_cleanup_free_ char *text = NULL;
	char comment[256];
	int r;

	sf_image_trusted_comment(&img->m, comment, sizeof(comment));
	r = ms_sign(ctx, key, img->manifest_raw, img->manifest_size, comment,
		    &text);
	if (r >= 0)
		r = sf_sigblock_add(&img->sigs, text);
	if (r >= 0)
		r = sf_sigblock_encode(&img->sigs, block);
	if (r == -ENOSPC)
		return sf_err(ctx, r,
			      "no room for another signature (at most %u)",
			      SF_MAX_SIGS);
	return r;
}

int sf_image_add_signature(const struct sf_ctx *ctx, const char *path,
			   const struct ms_seckey *key)
{
	uint8_t block[SF_SIGBLOCK_SIZE];
	struct sf_image *img = NULL;
	_cleanup_free_ char *tmp = NULL;
	struct ms_pubkey pk;
	char id[17];
	int fd, r;

	ms_pubkey_from_seckey(key, &pk);
	ms_keyid_hex(pk.keyid, id);
	r = sf_image_open(ctx, path, &img);
	if (r >= 0)
		r = sf_image_load_manifest(ctx, img);
	if (r >= 0 && already_signed(img, &pk))
		r = sf_log(ctx, SF_LOG_NOTICE, -EEXIST,
			   "%s is already signed by key %s", path, id);
	if (r >= 0)
		r = add_sig_text(ctx, img, key, block);
	if (r < 0) {
		sf_image_close(img);
		return r;
	}
	fd = copy_to_tmp(ctx, img->fd, img->file_size, path, &tmp);
	if (fd >= 0) {
		r = pwrite_full(fd, block, sizeof(block), img->sig_offset);
		r = r < 0 ? r : tmpfile_commit(fd, tmp, path);
		if (r < 0)
			unlink(tmp);
		close(fd);
	}
	sf_image_close(img);
	return fd < 0 ? fd : r;
}
