// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The apply's read-back: once the slot is flushed, what this run wrote is
 * read again from the medium and checked against the hashes it was
 * written with (docs/BOOT.md, apply step 4).
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "apply-job.h"
#include "fileio.h"
#include "util.h"

/*
 * Read back the blocks written into chunk @c, one after the other into
 * w->slot (as write_changed() hashed them); their length in @ret_len.
 */
static int read_back_blocks(struct apply_worker *w, const struct sf_chunk *c,
			    uint32_t *ret_len)
{
	struct apply_job *job = w->job;
	const uint8_t *map = written_map(job, c);
	uint32_t packed = 0;

	for (uint32_t at = 0, end; at < c->length; at = end) {
		int r;

		end = at + block_len(c, at);
		if (!written_test(map, at))
			continue;
		while (end < c->length && written_test(map, end))
			end += block_len(c, end);
		r = pread_full(job->t->slot_fd, w->slot + packed, end - at,
			       c->offset + at);
		if (r < 0)
			return r;
		packed += end - at;
	}
	*ret_len = packed;
	return 0;
}

/*
 * Chunk @c (@idx) did not read back as written. Was the image's chunk
 * wrong (signed, yet not its content hash), or did the medium fail? It is
 * decoded again, checked this time. Returns -EBADMSG or -EIO.
 */
static int readback_failed(struct apply_worker *w, const struct sf_chunk *c,
			   uint32_t idx)
{
	struct apply_job *job = w->job;

	if (c->form != SF_FORM_ZERO &&
	    apply_decode(job, &w->codec, &w->base, idx, w->stored, w->content,
			 true) == -EBADMSG)
		return -EBADMSG;
	return sf_err(job->ctx, -EIO,
		      "read-back of chunk %u (bytes %llu-%llu) differs "
		      "from what was written: the slot's medium is "
		      "failing",
		      idx, (unsigned long long)c->offset,
		      (unsigned long long)(c->offset + c->length - 1));
}

/*
 * Read back what this run wrote of the @n chunks from @first on: the
 * blocks written, or the whole chunk, hashed side by side. A chunk
 * skipped was proven when it was read in this run.
 */
int apply_readback_batch(struct apply_worker *w, uint32_t first, uint32_t n)
{
	struct apply_job *job = w->job;
	const struct sf_chunk *c = &job->img->m.chunks[first];
	bool ok[SF_HASH_LANES_MAX];
	struct hash_wait h = { .n = 0 };

	for (uint32_t k = 0; k < n; k++) {
		const struct written *rec = written_of(job, &c[k]);
		uint32_t len = c[k].length;
		int r = 0;

		ok[k] = rec->what == WROTE_NONE;
		if (ok[k])
			continue;
		atomic_fetch_add(&job->read_back, 1);
		use_lane(w, k);
		if (rec->what == WROTE_BLOCKS)
			r = read_back_blocks(w, &c[k], &len);
		else
			r = pread_full(job->t->slot_fd, w->slot, len,
				       c[k].offset);
		if (r < 0)
			return sf_err(job->ctx, r,
				      "cannot read the spare slot back: %s",
				      strerror(-r));
		if (rec->what == WROTE_WHOLE && c[k].form == SF_FORM_ZERO)
			ok[k] = is_zero(w->slot, len);
		else
			wait_hash(&h, k, w->slot, len);
	}
	hash_waiting(&h);
	for (uint32_t i = 0; i < h.n; i++) {
		uint32_t k = h.lane[i];
		const struct written *rec = written_of(job, &c[k]);

		ok[k] = sodium_memcmp(h.hash[i],
				      rec->what == WROTE_BLOCKS
					      ? rec->hash
					      : c[k].content_hash,
				      SF_HASH_BYTES) == 0;
	}
	for (uint32_t k = 0; k < n; k++)
		if (!ok[k])
			return readback_failed(w, &c[k], first + k);
	return 0;
}
