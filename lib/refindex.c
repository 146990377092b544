// SPDX-License-Identifier: LGPL-2.1-or-later
#include "refindex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The rolling hash: a polynomial over SF_REF_GRAIN bytes, modulo 2^64. */
#define POLY 0x5bd1e9955bd1e995ull
/* Spreads a hash over the table's slots, and makes a slot's tag. */
#define SPREAD 0x9e3779b97f4a7c15ull
#define TAG 0xc2b2ae3d27d4eb4full

/*
 * Matches closer than this in the base are taken as one range (the bytes
 * between are read and given to the coder too: an edited file is near its
 * old version). Around each range this many bytes more, where the budget
 * allows.
 */
#define MERGE_GAP (64u << 10)
#define PAD (16u << 10)
/*
 * After a run ends, the data usually goes on at the same shift after a
 * few changed bytes (an edit in place): tried at up to this many bytes on
 * before the index is asked, so that the runs stay in one range.
 */
#define RESUME 16u
/* A range that holds fewer matched bytes costs more in the manifest (48
 * bytes) than it saves. */
#define RANGE_MIN 512u

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Offsets into the base are "kept" offsets, into its non-zero blocks one
 * after the other, unless they say "payload": a run of data is followed
 * only as long as its kept blocks are neighbours in the payload too.
 */
struct sf_refindex {
	const uint8_t *base; /* the kept blocks */
	uint64_t n_blocks;
	const uint64_t *block_at;
	uint64_t size; /* of the payload */
	/* Per kept block: neighbours in the payload before it, and from it
	 * on (itself included). */
	uint32_t *before;
	uint32_t *from;
	uint32_t *pos; /* per slot: window number + 1; 0: empty */
	uint32_t *tag;
	uint64_t mask;
	unsigned bits;
	uint64_t top; /* POLY^(SF_REF_GRAIN - 1), to roll a byte out */
};

/* A run of the chunk (at @at, @len bytes) equal to the base at @base. */
struct match {
	uint64_t base;
	uint32_t at;
	uint32_t len;
	uint64_t matched; /* ranges: bytes of matches inside */
};

static uint64_t window_hash(const uint8_t *p)
{
	uint64_t h = 0;

	for (unsigned i = 0; i < SF_REF_GRAIN; i++)
		h = h * POLY + p[i];
	return h;
}

static uint64_t slot_of(const struct sf_refindex *ix, uint64_t h)
{
	return (h * SPREAD) >> (64 - ix->bits);
}

static uint32_t tag_of(uint64_t h)
{
	return (uint32_t)((h * TAG) >> 32);
}

static void insert(struct sf_refindex *ix, uint64_t h, uint32_t w)
{
	const uint8_t *p = ix->base + (uint64_t)w * SF_REF_GRAIN;
	uint32_t t = tag_of(h);
	uint64_t s;

	for (s = slot_of(ix, h); ix->pos[s]; s = (s + 1) & ix->mask)
		if (ix->tag[s] == t &&
		    memcmp(ix->base + (uint64_t)(ix->pos[s] - 1) * SF_REF_GRAIN,
			   p, SF_REF_GRAIN) == 0)
			return; /* the same bytes: the first place serves */
	ix->pos[s] = w + 1;
	ix->tag[s] = t;
}

/* The payload offset of kept offset @q. */
static uint64_t payload_at(const struct sf_refindex *ix, uint64_t q)
{
	return ix->block_at[q / SF_BLOCK_SIZE] * SF_BLOCK_SIZE +
	       q % SF_BLOCK_SIZE;
}

/* Bytes from kept offset @q on that follow it in the payload too. */
static uint64_t run_after(const struct sf_refindex *ix, uint64_t q)
{
	uint64_t k = q / SF_BLOCK_SIZE;
	uint64_t end = (ix->block_at[k] + ix->from[k]) * SF_BLOCK_SIZE;

	return min64(end, ix->size) - payload_at(ix, q);
}

/* Bytes before kept offset @q that precede it in the payload too. */
static uint64_t run_before(const struct sf_refindex *ix, uint64_t q)
{
	return (uint64_t)ix->before[q / SF_BLOCK_SIZE] * SF_BLOCK_SIZE +
	       q % SF_BLOCK_SIZE;
}

/* Is the window at kept offset @q one to index? */
static bool indexable(const struct sf_refindex *ix, uint64_t q)
{
	return run_after(ix, q) >= SF_REF_GRAIN &&
	       !is_zero(ix->base + q, SF_REF_GRAIN);
}

/* ix->before and ix->from, from the blocks' places in the payload. */
static void runs(struct sf_refindex *ix)
{
	const uint64_t *at = ix->block_at;

	for (uint64_t k = 0; k < ix->n_blocks; k++)
		ix->before[k] =
			k && at[k - 1] + 1 == at[k] ? ix->before[k - 1] + 1 : 0;
	for (uint64_t k = ix->n_blocks; k-- > 0;)
		ix->from[k] = k + 1 < ix->n_blocks && at[k] + 1 == at[k + 1]
				      ? ix->from[k + 1] + 1
				      : 1;
}

int sf_refindex_build(const uint8_t *mem, uint64_t n_blocks,
		      const uint64_t *block_at, uint64_t size,
		      struct sf_refindex **ret)
{
	struct sf_refindex *ix = calloc(1, sizeof(*ix));
	size_t room = (n_blocks ? n_blocks : 1) * sizeof(uint32_t);
	uint64_t windows, used = 0, cap = 16;

	if (!ix)
		return -ENOMEM;
	*ix = (struct sf_refindex){ .base = mem,
				    .n_blocks = n_blocks,
				    .block_at = block_at,
				    .size = size,
				    .before = malloc(room),
				    .from = malloc(room),
				    .bits = 4,
				    .top = 1 };
	if (!ix->before || !ix->from) {
		sf_refindex_free(ix);
		return -ENOMEM;
	}
	runs(ix);
	/* Window numbers are 32-bit: a base over 256 GiB is indexed in part. */
	windows = n_blocks * (SF_BLOCK_SIZE / SF_REF_GRAIN);
	if (windows > UINT32_MAX - 1)
		windows = UINT32_MAX - 1;
	for (uint64_t w = 0; w < windows; w++)
		used += indexable(ix, w * SF_REF_GRAIN);
	while (cap < 2 * used) {
		cap <<= 1;
		ix->bits++;
	}
	ix->pos = calloc(cap, sizeof(*ix->pos));
	ix->tag = malloc(cap * sizeof(*ix->tag));
	ix->mask = cap - 1;
	if (!ix->pos || !ix->tag) {
		sf_refindex_free(ix);
		return -ENOMEM;
	}
	for (unsigned i = 1; i < SF_REF_GRAIN; i++)
		ix->top *= POLY;
	for (uint64_t w = 0; w < windows; w++)
		if (indexable(ix, w * SF_REF_GRAIN))
			insert(ix, window_hash(mem + w * SF_REF_GRAIN),
			       (uint32_t)w);
	*ret = ix;
	return 0;
}

void sf_refindex_free(struct sf_refindex *ix)
{
	if (!ix)
		return;
	free(ix->before);
	free(ix->from);
	free(ix->pos);
	free(ix->tag);
	free(ix);
}

/* Where in the base the SF_REF_GRAIN bytes at @p (hash @h) are indexed. */
static bool lookup(const struct sf_refindex *ix, uint64_t h, const uint8_t *p,
		   uint64_t *ret)
{
	uint32_t t = tag_of(h);

	for (uint64_t s = slot_of(ix, h); ix->pos[s]; s = (s + 1) & ix->mask) {
		uint64_t q = (uint64_t)(ix->pos[s] - 1) * SF_REF_GRAIN;

		if (ix->tag[s] == t &&
		    memcmp(ix->base + q, p, SF_REF_GRAIN) == 0) {
			*ret = q;
			return true;
		}
	}
	return false;
}

/* How many of the first @max bytes at @a and @b are equal. */
static uint64_t common(const uint8_t *a, const uint8_t *b, uint64_t max)
{
	uint64_t n = 0;

	while (n + 8 <= max && le64_load(a + n) == le64_load(b + n))
		n += 8;
	while (n < max && a[n] == b[n])
		n++;
	return n;
}

/* Append @m to the growing array *@v (*@n used, *@cap room). */
static int push(struct match **v, uint32_t *n, uint32_t *cap,
		const struct match *m)
{
	if (*n == *cap) {
		uint32_t c = *cap ? 2 * *cap : 64;
		struct match *p = realloc(*v, c * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = *m;
	return 0;
}

/*
 * Does the run that ended at @p (kept offset @q, with @left bytes of its
 * run in the base after it) go on a few bytes later?
 */
static bool resume(const struct sf_refindex *ix, const uint8_t *buf,
		   uint32_t len, uint32_t *p, uint64_t *q, uint64_t left)
{
	for (uint32_t s = 1; s <= RESUME; s++)
		if ((uint64_t)*p + s + SF_REF_GRAIN <= len &&
		    s + SF_REF_GRAIN <= left &&
		    memcmp(buf + *p + s, ix->base + *q + s, SF_REF_GRAIN) ==
			    0) {
			*p += s;
			*q += s;
			return true;
		}
	return false;
}

/*
 * Runs of the chunk found in the base, in the chunk's order: a window
 * found by its hash is extended both ways as far as the bytes agree (and
 * the base's blocks are neighbours), and the search goes on after it.
 */
static int find_matches(const struct sf_refindex *ix, const uint8_t *buf,
			uint32_t len, struct match **ret, uint32_t *ret_n)
{
	uint32_t p = 0, done = 0, n = 0, cap = 0;
	struct match *v = NULL;
	uint64_t next = 0,
		 left = 0; /* where the last run ended, what follows */
	int r = 0;

	while (r >= 0 && len >= SF_REF_GRAIN && p <= len - SF_REF_GRAIN) {
		uint64_t h = window_hash(buf + p), q = next, fwd, back, most;
		bool found = n && resume(ix, buf, len, &p, &q, left);

		while (!found) {
			/* 0: zeros, never indexed (they cost little anyway) */
			if (h && lookup(ix, h, buf + p, &q)) {
				found = true;
				break;
			}
			if (p + SF_REF_GRAIN >= len)
				break;
			h = (h - buf[p] * ix->top) * POLY +
			    buf[p + SF_REF_GRAIN];
			p++;
		}
		if (!found)
			break;
		most = run_before(ix, q);
		for (back = 0; p - back > done && back < most &&
			       buf[p - back - 1] == ix->base[q - back - 1];)
			back++;
		most = run_after(ix, q);
		fwd = SF_REF_GRAIN +
		      common(buf + p + SF_REF_GRAIN,
			     ix->base + q + SF_REF_GRAIN,
			     min64((uint64_t)len - p - SF_REF_GRAIN,
				   most - SF_REF_GRAIN));
		r = push(&v, &n, &cap,
			 &(struct match){ .base = payload_at(ix, q - back),
					  .at = p - (uint32_t)back,
					  .len = (uint32_t)(fwd + back) });
		p += (uint32_t)fwd;
		next = q + fwd;
		left = most - fwd;
		done = p;
	}
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int by_base(const void *a, const void *b)
{
	const struct match *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static int by_matched(const void *a, const void *b)
{
	const struct match *x = a, *y = b;

	if (x->matched != y->matched)
		return x->matched > y->matched ? -1 : 1;
	return by_base(a, b);
}

/*
 * Merge matches (sorted by base offset) that lie close together in the
 * base into ranges (base, len, matched), in place; no range over
 * SF_REF_BYTES_MAX. Returns the number of ranges.
 */
static uint32_t merge(struct match *v, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct match *c = &v[k ? k - 1 : 0];
		uint64_t end = v[i].base + v[i].len;

		if (k && v[i].base <= c->base + c->len + MERGE_GAP &&
		    end - c->base <= SF_REF_BYTES_MAX) {
			if (end > c->base + c->len)
				c->len = (uint32_t)(end - c->base);
			c->matched += v[i].len;
			continue;
		}
		v[k] = v[i];
		v[k].matched = v[i].len;
		k++;
	}
	return k;
}

/* Widen the chosen ranges (sorted by offset) by up to PAD bytes each way
 * within @budget bytes in all and the base, without overlapping. */
static void pad(const struct sf_refindex *ix, struct sf_refs_found *f,
		uint64_t budget)
{
	uint64_t each = f->n ? min64((uint64_t)PAD, budget / (2 * f->n)) : 0;

	for (uint32_t i = 0; i < f->n; i++) {
		struct sf_ref *g = &f->refs[i];
		uint64_t lo = i ? f->refs[i - 1].offset + f->refs[i - 1].length
				: 0;
		uint64_t start = g->offset > lo + each ? g->offset - each : lo;
		uint64_t end = min64(g->offset + g->length + each, ix->size);

		if (i + 1 < f->n)
			end = min64(end, f->refs[i + 1].offset);
		g->length = (uint32_t)(end - start);
		g->offset = start;
	}
}

static int by_offset(const void *a, const void *b)
{
	const struct sf_ref *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int sf_refindex_find(const struct sf_refindex *ix, const uint8_t *buf,
		     uint32_t len, struct sf_refs_found *ret)
{
	struct match *v = NULL;
	uint64_t total = 0;
	uint32_t n = 0;
	int r;

	*ret = (struct sf_refs_found){ .n = 0 };
	r = find_matches(ix, buf, len, &v, &n);
	if (r < 0)
		return r;
	if (n == 1 && v[0].at == 0 && v[0].len == len) {
		ret->whole = true;
		ret->whole_at = v[0].base;
	}
	for (uint32_t i = 0; i < n; i++)
		ret->matched += v[i].len;
	if (n == 0) {
		free(v);
		return 0;
	}
	qsort(v, n, sizeof(*v), by_base);
	n = merge(v, n);
	/* The ranges that hold the most matched bytes, within the limits. */
	qsort(v, n, sizeof(*v), by_matched);
	for (uint32_t i = 0; i < n && ret->n < SF_REFS_PER_CHUNK; i++) {
		if (v[i].len > SF_REF_BYTES_MAX - total ||
		    v[i].matched < RANGE_MIN)
			continue;
		ret->refs[ret->n++] = (struct sf_ref){ .offset = v[i].base,
						       .length = v[i].len };
		total += v[i].len;
	}
	free(v);
	qsort(ret->refs, ret->n, sizeof(ret->refs[0]), by_offset);
	pad(ix, ret, SF_REF_BYTES_MAX - total);
	return 0;
}
