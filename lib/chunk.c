// SPDX-License-Identifier: LGPL-2.1-or-later
#include "chunk.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader() */
#include <zstd.h>
#include <zstd_errors.h>

#include "hash.h"
#include "util.h"

void sf_codec_init(struct sf_codec *c, int level)
{
	memset(c, 0, sizeof(*c));
	c->level = level;
}

void sf_codec_done(struct sf_codec *c)
{
	if (c->def_ready)
		deflateEnd(&c->def);
	if (c->inf_ready)
		inflateEnd(&c->inf);
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	free(c->prefix);
	c->zc = NULL;
	c->zd = NULL;
	c->prefix = NULL;
	c->def_ready = c->inf_ready = 0;
}

/* The window log that lets a frame reach back over its whole prefix. */
static int prefix_window_log(size_t prefix_len, uint32_t len)
{
	uint64_t need = (uint64_t)prefix_len + len;
	int log = 10;

	while (log < SF_ZSTD_REF_WINDOW_LOG_MAX && (1ull << log) < need)
		log++;
	return log;
}

int sf_zstd(struct sf_codec *c, const uint8_t *in, uint32_t len,
	    const uint8_t *prefix, size_t prefix_len, uint8_t *out,
	    uint32_t cap)
{
	size_t n;

	if (!c->zc && !(c->zc = ZSTD_createCCtx()))
		return -ENOMEM;
	ZSTD_CCtx_reset(c->zc, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
						c->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 0)))
		return -ENOMEM;
	if (prefix_len &&
	    (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_windowLog,
						 prefix_window_log(prefix_len,
								   len))) ||
	     ZSTD_isError(ZSTD_CCtx_refPrefix(c->zc, prefix, prefix_len))))
		return -ENOMEM;
	n = ZSTD_compress2(c->zc, out, cap, in, len);
	if (ZSTD_isError(n)) {
		if (ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation)
			return -ENOMEM;
		return -ENOSPC;
	}
	return n < cap ? (int)n : -ENOSPC;
}

/* What docs/FORMAT.md asks of a zstd chunk's frame header; @window_log:
 * the largest window allowed. */
static const char *zstd_header_problem(const uint8_t *in, uint32_t in_len,
				       uint32_t out_len, int window_log)
{
	ZSTD_frameHeader fh;

	if (in_len < 4 || le32_load(in) != ZSTD_MAGICNUMBER)
		return "not a zstd frame";
	if (ZSTD_getFrameHeader(&fh, in, in_len) != 0)
		return "corrupt or truncated zstd frame header";
	if (fh.frameContentSize != out_len)
		return "zstd frame does not declare the chunk's length";
	if (fh.dictID != 0)
		return "zstd frame needs a dictionary";
	if (fh.windowSize > 1ull << window_log)
		return window_log == SF_ZSTD_WINDOW_LOG_MAX
			       ? "zstd frame asks for a window over 4 MiB"
			       : "zstd frame asks for a window over 16 MiB";
	if (ZSTD_findFrameCompressedSize(in, in_len) != in_len)
		return "not exactly one whole zstd frame (truncated, or "
		       "trailing bytes)";
	return NULL;
}

int sf_zstd_exact(struct sf_codec *c, const uint8_t *in, uint32_t in_len,
		  const uint8_t *prefix, size_t prefix_len, uint8_t *out,
		  uint32_t out_len, const char **ret_why)
{
	int window_log = prefix_len ? SF_ZSTD_REF_WINDOW_LOG_MAX
				    : SF_ZSTD_WINDOW_LOG_MAX;
	const char *why = zstd_header_problem(in, in_len, out_len, window_log);
	size_t n;

	if (why) {
		*ret_why = why;
		return -EBADMSG;
	}
	if (!c->zd && !(c->zd = ZSTD_createDCtx()))
		return -ENOMEM;
	ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_and_parameters);
	/* Checked above; also enforced by the decoder. */
	ZSTD_DCtx_setParameter(c->zd, ZSTD_d_windowLogMax, window_log);
	/* For this frame only; the prefix is raw content, not a dictionary. */
	if (prefix_len &&
	    ZSTD_isError(ZSTD_DCtx_refPrefix(c->zd, prefix, prefix_len)))
		return -ENOMEM;
	n = ZSTD_decompressDCtx(c->zd, out, out_len, in, in_len);
	if (ZSTD_isError(n) || n != out_len) {
		*ret_why = "corrupt zstd frame";
		return -EBADMSG;
	}
	return 0;
}

static int deflate_start(struct sf_codec *c)
{
	if (c->def_ready)
		return deflateReset(&c->def) == Z_OK ? 0 : -ENOMEM;
	if (deflateInit2(&c->def, c->level, Z_DEFLATED, -15, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	c->def_ready = 1;
	return 0;
}

int sf_deflate(struct sf_codec *c, const uint8_t *in, uint32_t len,
	       const uint8_t *dict, uint8_t *out, uint32_t cap)
{
	int r = deflate_start(c);

	if (r < 0)
		return r;
	if (dict && deflateSetDictionary(&c->def, dict, SF_DICT_SIZE) != Z_OK)
		return -ENOMEM;
	c->def.next_in = (uint8_t *)in;
	c->def.avail_in = len;
	c->def.next_out = out;
	c->def.avail_out = cap;
	r = deflate(&c->def, Z_FINISH);
	if (r != Z_STREAM_END || c->def.avail_out == 0)
		return -ENOSPC;
	return (int)(cap - c->def.avail_out);
}

static int inflate_start(struct sf_codec *c)
{
	if (c->inf_ready)
		return inflateReset(&c->inf) == Z_OK ? 0 : -ENOMEM;
	if (inflateInit2(&c->inf, -15) != Z_OK)
		return -ENOMEM;
	c->inf_ready = 1;
	return 0;
}

int sf_inflate_exact(struct sf_codec *c, const uint8_t *in, uint32_t in_len,
		     const uint8_t *dict, uint8_t *out, uint32_t out_len)
{
	int r = inflate_start(c);

	if (r < 0)
		return r;
	if (dict && inflateSetDictionary(&c->inf, dict, SF_DICT_SIZE) != Z_OK)
		return -EBADMSG;
	c->inf.next_in = (uint8_t *)in;
	c->inf.avail_in = in_len;
	c->inf.next_out = out;
	c->inf.avail_out = out_len;
	r = inflate(&c->inf, Z_FINISH);
	/* Anything but the exact end of the stream with the buffer full. */
	if (r != Z_STREAM_END || c->inf.avail_out != 0 || c->inf.avail_in != 0)
		return -EBADMSG;
	return 0;
}

static int check_content(const struct sf_ctx *ctx, const struct sf_chunk *c,
			 uint32_t idx, const uint8_t *out, int err)
{
	uint8_t h[SF_HASH_BYTES];

	sf_hash(out, c->length, h);
	if (sodium_memcmp(h, c->content_hash, SF_HASH_BYTES) == 0)
		return 0;
	if (err == -EXDEV)
		return sf_err(ctx, err,
			      "chunk %u: the base does not hold the data this "
			      "delta was made against (wrong base version?)",
			      idx);
	return sf_err(ctx, err, "chunk %u: content does not match its hash",
		      idx);
}

static int read_base(const struct sf_ctx *ctx, const struct sf_base *base,
		     uint32_t idx, uint64_t off, void *buf, size_t len)
{
	int r;

	if (!base || !base->read)
		return sf_err(ctx, -ENOENT,
			      "chunk %u: this is a delta image and no base was "
			      "given",
			      idx);
	r = base->read(base->data, off, buf, len);
	if (r < 0)
		return sf_err(ctx, r,
			      "chunk %u: cannot read %zu base bytes at offset "
			      "%llu: %s",
			      idx, len, (unsigned long long)off, strerror(-r));
	return 0;
}

/*
 * Copy the map's base blocks into @out. Runs of blocks that are neighbours
 * in the base too (a file moved, or unchanged around a change) are read
 * with one read each, not one per 4 KiB block.
 */
static int patch_copy_blocks(const struct sf_ctx *ctx, const struct sf_chunk *c,
			     uint32_t idx, const uint8_t *map,
			     const struct sf_base *base, uint8_t *out)
{
	uint32_t nb = sf_patch_blocks(c->length);

	for (uint32_t b = 0; b < nb;) {
		uint32_t k = le32_load(map + 4 * b), n = 1;
		uint64_t end;
		int r;

		if (k == 0) {
			b++;
			continue;
		}
		while (b + n < nb && le32_load(map + 4 * (b + n)) == k + n)
			n++;
		end = b + n < nb ? (uint64_t)(b + n) * SF_BLOCK_SIZE
				 : c->length;
		r = read_base(ctx, base, idx, (uint64_t)(k - 1) * SF_BLOCK_SIZE,
			      out + (size_t)b * SF_BLOCK_SIZE,
			      end - (uint64_t)b * SF_BLOCK_SIZE);
		if (r < 0)
			return r;
		b += n;
	}
	return 0;
}

/* Inflate window @w's stream into the window's carried blocks. */
static int patch_window(const struct sf_ctx *ctx, struct sf_codec *codec,
			const struct sf_chunk *c, uint32_t idx,
			const uint8_t *map, uint32_t w, const uint8_t *in,
			uint32_t in_len, uint32_t dict_block,
			const struct sf_base *base, uint8_t *out)
{
	uint32_t nb = sf_patch_blocks(c->length);
	uint32_t first = w * SF_WINDOW_BLOCKS, end = first + SF_WINDOW_BLOCKS;
	uint8_t tmp[SF_DICT_SIZE], dict[SF_DICT_SIZE];
	uint32_t n = 0;
	int r;

	if (dict_block) {
		r = read_base(ctx, base, idx,
			      (uint64_t)(dict_block - 1) * SF_BLOCK_SIZE, dict,
			      SF_DICT_SIZE);
		if (r < 0)
			return r;
	}
	for (uint32_t b = first; b < end && b < nb; b++)
		if (le32_load(map + 4 * b) == 0)
			n += b + 1 < nb ? SF_BLOCK_SIZE
					: c->length - b * SF_BLOCK_SIZE;
	if (sf_inflate_exact(codec, in, in_len, dict_block ? dict : NULL, tmp,
			     n) < 0)
		return sf_err(ctx, -EBADMSG,
			      "chunk %u: patch window %u does not inflate to "
			      "its %u bytes",
			      idx, w, n);
	n = 0;
	for (uint32_t b = first; b < end && b < nb; b++) {
		uint32_t blen = b + 1 < nb ? SF_BLOCK_SIZE
					   : c->length - b * SF_BLOCK_SIZE;

		if (le32_load(map + 4 * b) != 0)
			continue;
		memcpy(out + (size_t)b * SF_BLOCK_SIZE, tmp + n, blen);
		n += blen;
	}
	return 0;
}

static bool window_carries(const uint8_t *map, uint32_t nb, uint32_t w)
{
	for (uint32_t b = w * SF_WINDOW_BLOCKS;
	     b < (w + 1) * SF_WINDOW_BLOCKS && b < nb; b++)
		if (le32_load(map + 4 * b) == 0)
			return true;
	return false;
}

static int decode_patch(const struct sf_ctx *ctx, struct sf_codec *codec,
			const struct sf_chunk *c, uint32_t idx,
			const uint8_t *stored, const struct sf_base *base,
			uint8_t *out)
{
	uint32_t nb = sf_patch_blocks(c->length), pos = nb * 4;
	int r;

	if (c->stored_len < pos)
		return sf_err(ctx, -EBADMSG, "chunk %u: truncated patch", idx);
	r = patch_copy_blocks(ctx, c, idx, stored, base, out);
	for (uint32_t w = 0; r >= 0 && w * SF_WINDOW_BLOCKS < nb; w++) {
		uint32_t dict, n;

		if (!window_carries(stored, nb, w))
			continue;
		if (c->stored_len - pos < 8)
			return sf_err(ctx, -EBADMSG,
				      "chunk %u: truncated patch", idx);
		dict = le32_load(stored + pos);
		n = le32_load(stored + pos + 4);
		pos += 8;
		if (n == 0 || n > c->stored_len - pos)
			return sf_err(ctx, -EBADMSG,
				      "chunk %u: patch stream length %u out of "
				      "bounds",
				      idx, n);
		r = patch_window(ctx, codec, c, idx, stored, w, stored + pos, n,
				 dict, base, out);
		pos += n;
	}
	if (r >= 0 && pos != c->stored_len)
		r = sf_err(ctx, -EBADMSG, "chunk %u: %u trailing patch bytes",
			   idx, c->stored_len - pos);
	return r;
}

static int decode_zstd(const struct sf_ctx *ctx, struct sf_codec *codec,
		       const struct sf_chunk *c, uint32_t idx,
		       const uint8_t *stored, const uint8_t *prefix,
		       size_t prefix_len, uint8_t *out)
{
	const char *why = NULL;
	int r = sf_zstd_exact(codec, stored, c->stored_len, prefix, prefix_len,
			      out, c->length, &why);

	if (r == -EBADMSG)
		return sf_err(ctx, r, "chunk %u: %s", idx, why);
	if (r < 0)
		return sf_err(ctx, r, "chunk %u: no memory for zstd", idx);
	return 0;
}

int sf_chunk_refs_inside(const struct sf_ctx *ctx, const struct sf_manifest *m,
			 const struct sf_chunk *c, uint32_t idx,
			 uint64_t base_size)
{
	for (uint32_t k = 0; base_size && k < sf_chunk_ref_count(c); k++) {
		const struct sf_ref *f = &m->refs[c->first_ref + k];

		if (f->offset > base_size || f->length > base_size - f->offset)
			return sf_err(ctx, -EXDEV,
				      "chunk %u: a range it references lies "
				      "beyond the base's %llu bytes: the delta "
				      "was made against another base",
				      idx, (unsigned long long)base_size);
	}
	return 0;
}

/*
 * A reference chunk (docs/FORMAT.md, "Reference chunks"): its ranges read
 * from the base one after the other into the codec's prefix buffer, each
 * checked against its hash, then the frame decoded against them.
 */
static int decode_ref(const struct sf_ctx *ctx, struct sf_codec *codec,
		      const struct sf_manifest *m, const struct sf_chunk *c,
		      uint32_t idx, const uint8_t *stored,
		      const struct sf_base *base, uint8_t *out)
{
	uint32_t n = sf_chunk_ref_count(c);
	size_t total = 0;
	int r;

	if (!m || c->first_ref > m->n_refs || n > m->n_refs - c->first_ref)
		return sf_err(ctx, -EBADMSG,
			      "chunk %u: references beyond the reference "
			      "table",
			      idx);
	r = sf_chunk_refs_inside(ctx, m, c, idx, base ? base->size : 0);
	if (r < 0)
		return r;
	if (!codec->prefix && !(codec->prefix = malloc(SF_REF_BYTES_MAX)))
		return sf_err(ctx, -ENOMEM,
			      "chunk %u: no memory for its references", idx);
	for (uint32_t k = 0; k < n; k++) {
		const struct sf_ref *f = &m->refs[c->first_ref + k];
		uint8_t h[SF_HASH_BYTES];

		if (f->length > SF_REF_BYTES_MAX - total)
			return sf_err(ctx, -EBADMSG,
				      "chunk %u: references over %u bytes", idx,
				      SF_REF_BYTES_MAX);
		if (base && base->first &&
		    base->first->read(base->first->data, f->offset,
				      codec->prefix + total, f->length) == 0) {
			sf_hash(codec->prefix + total, f->length, h);
			if (sodium_memcmp(h, f->hash, SF_HASH_BYTES) == 0) {
				total += f->length;
				continue;
			}
		}
		if (base && base->first && base->first_missed)
			*base->first_missed = true;
		r = read_base(ctx, base, idx, f->offset, codec->prefix + total,
			      f->length);
		if (r < 0)
			return r;
		sf_hash(codec->prefix + total, f->length, h);
		if (sodium_memcmp(h, f->hash, SF_HASH_BYTES) != 0)
			return sf_err(ctx, -EXDEV,
				      "chunk %u: the base does not hold the "
				      "data this delta was made against (a "
				      "range it references differs)",
				      idx);
		total += f->length;
	}
	return decode_zstd(ctx, codec, c, idx, stored, codec->prefix, total,
			   out);
}

int sf_chunk_rebuild(const struct sf_ctx *ctx, struct sf_codec *codec,
		     const struct sf_manifest *m, const struct sf_chunk *c,
		     uint32_t idx, const uint8_t *stored,
		     const struct sf_base *base, uint8_t *out)
{
	switch (c->form) {
	case SF_FORM_ZERO:
		memset(out, 0, c->length);
		return 0;
	case SF_FORM_STORED:
		memcpy(out, stored, c->length);
		return 0;
	case SF_FORM_DEFLATE:
		if (sf_inflate_exact(codec, stored, c->stored_len, NULL, out,
				     c->length) < 0)
			return sf_err(ctx, -EBADMSG,
				      "chunk %u: does not inflate to its %u "
				      "bytes",
				      idx, c->length);
		return 0;
	case SF_FORM_ZSTD:
		return decode_zstd(ctx, codec, c, idx, stored, NULL, 0, out);
	case SF_FORM_REF:
		return decode_ref(ctx, codec, m, c, idx, stored, base, out);
	case SF_FORM_BASE:
		return read_base(ctx, base, idx, c->base_offset, out,
				 c->length);
	case SF_FORM_PATCH:
		return decode_patch(ctx, codec, c, idx, stored, base, out);
	}
	return sf_err(ctx, -EBADMSG, "chunk %u: unknown form %u", idx, c->form);
}

int sf_chunk_decode(const struct sf_ctx *ctx, struct sf_codec *codec,
		    const struct sf_manifest *m, const struct sf_chunk *c,
		    uint32_t idx, const uint8_t *stored,
		    const struct sf_base *base, bool check, uint8_t *out)
{
	int r = sf_chunk_rebuild(ctx, codec, m, c, idx, stored, base, out);

	if (r < 0)
		return r;
	if (c->form == SF_FORM_BASE || c->form == SF_FORM_PATCH)
		return check_content(ctx, c, idx, out, -EXDEV);
	/* Its ranges checked: a wrong content is the chunk's own lie. */
	if (c->form == SF_FORM_REF)
		return check_content(ctx, c, idx, out, -EBADMSG);
	if (check && c->form != SF_FORM_ZERO)
		return check_content(ctx, c, idx, out, -EBADMSG);
	return 0;
}

/* Gather window @w's carried blocks into @tmp; returns their byte count. */
static uint32_t gather_carried(const uint8_t *content, uint32_t len,
			       const uint32_t *map, uint32_t w, uint8_t *tmp)
{
	uint32_t nb = sf_patch_blocks(len), n = 0;

	for (uint32_t b = w * SF_WINDOW_BLOCKS;
	     b < (w + 1) * SF_WINDOW_BLOCKS && b < nb; b++) {
		uint32_t blen = b + 1 < nb ? SF_BLOCK_SIZE
					   : len - b * SF_BLOCK_SIZE;

		if (map[b] != 0)
			continue;
		memcpy(tmp + n, content + (size_t)b * SF_BLOCK_SIZE, blen);
		n += blen;
	}
	return n;
}

int sf_patch_encode(struct sf_codec *codec, const uint8_t *content,
		    uint32_t len, const uint32_t *map, const uint32_t *dicts,
		    const struct sf_base *base, uint8_t *out, uint32_t cap)
{
	uint32_t nb = sf_patch_blocks(len), pos = nb * 4;
	uint8_t tmp[SF_DICT_SIZE], dict_buf[SF_DICT_SIZE];

	if (cap <= pos)
		return -ENOSPC;
	for (uint32_t b = 0; b < nb; b++)
		le32_store(out + 4 * b, map[b]);
	for (uint32_t w = 0; w * SF_WINDOW_BLOCKS < nb; w++) {
		uint32_t n = gather_carried(content, len, map, w, tmp);
		const uint8_t *dict = NULL;
		int r;

		if (n == 0)
			continue;
		if (cap - pos <= 8)
			return -ENOSPC;
		if (dicts[w]) {
			r = base->read(base->data,
				       (uint64_t)(dicts[w] - 1) * SF_BLOCK_SIZE,
				       dict_buf, SF_DICT_SIZE);
			if (r < 0)
				return r;
			dict = dict_buf;
		}
		r = sf_deflate(codec, tmp, n, dict, out + pos + 8,
			       cap - pos - 8);
		if (r < 0)
			return r;
		le32_store(out + pos, dicts[w]);
		le32_store(out + pos + 4, (uint32_t)r);
		pos += 8 + (uint32_t)r;
	}
	return pos < cap ? (int)pos : -ENOSPC;
}
