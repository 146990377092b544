// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip fetch: an image download checked while it grows (docs/REPO.md,
 * "Image checks"). The helper writes the partial file; this side reads
 * what became whole since the last look: first the header, manifest and
 * signature block (nothing of the manifest is decoded before its
 * signatures verify), then the chunks' stored bytes in file order, each
 * against the stored hash of the signed manifest. The first part that
 * does not check stops the download.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "fileio.h"
#include "hash.h"
#include "util.h"

int fetch_follow_open(struct fetch_follow *fl)
{
	struct cli *c = fl->c;
	struct stat st;

	fl->fd = openat(fl->dir_fd, fl->name,
			O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fl->fd < 0 || fstat(fl->fd, &st) < 0)
		return cli_fail(c, EXIT_IO, "cannot open %s: %m", fl->name);
	if (!S_ISREG(st.st_mode))
		return cli_fail(c, EXIT_IO,
				"%s is not a regular file: remove it",
				fl->name);
	fl->seen = (uint64_t)st.st_size;
	if (sf_config_load_pubkeys(&c->ctx, &c->cfg, fl->keys) < 0)
		return cli_fail(c, EXIT_CONFIG,
				"the image keys (config: pubkey) are unusable "
				"(above)");
	return EXIT_OK;
}

void fetch_follow_close(struct fetch_follow *fl)
{
	if (fl->fd >= 0)
		close(fl->fd);
	fl->fd = -1;
	sf_image_close(fl->img);
	fl->img = NULL;
	free(fl->buf);
	fl->buf = NULL;
}

/* The file shrank: the helper started over (a server that ignored the
 * range). What was checked is gone. */
static void start_over(struct fetch_follow *fl)
{
	sf_image_close(fl->img);
	fl->img = NULL;
	free(fl->buf);
	fl->buf = NULL;
	fl->next = 0;
	fl->verified = 0;
}

static int refuse(struct fetch_follow *fl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct fetch_follow *fl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	fl->bad = true;
	if (fl->quiet)
		return EXIT_OK;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_fail(fl->c, EXIT_REFUSED, "%s refused: %s", fl->rel, msg);
}

/* The signed manifest against what the index offers and the device. */
static int check_offer(struct fetch_follow *fl, const struct sf_manifest *m)
{
	const struct sf_repo_image *w = fl->want;
	bool delta = m->flags & SF_MANIFEST_FLAG_DELTA;

	if (strcmp(m->compatible, fl->c->cfg.compatible))
		return refuse(fl,
			      "its manifest names compatible %s, this device "
			      "is %s",
			      m->compatible, fl->c->cfg.compatible);
	if (strcmp(m->version, fl->version))
		return refuse(fl,
			      "its manifest names version %s, the index "
			      "offers %s",
			      m->version, fl->version);
	if (delta != (w->base_version[0] != '\0'))
		return refuse(fl, "its manifest is %s, the index names %s",
			      delta ? "a delta" : "a full image",
			      delta ? "a full image" : "a delta");
	if (delta &&
	    (strcmp(m->base_version, w->base_version) ||
	     memcmp(m->base_manifest_hash, w->base_manifest, SF_HASH_BYTES)))
		return refuse(fl,
			      "its manifest is a delta from %s, not from the "
			      "base the index names (%s and its manifest "
			      "hash)",
			      m->base_version, w->base_version);
	return EXIT_OK;
}

static int open_head(struct fetch_follow *fl, const struct sf_ctx *ctx)
{
	struct cli *c = fl->c;
	struct sf_image *img = NULL;
	int r = sf_image_open_growing_at(ctx, fl->dir_fd, fl->name, fl->rel,
					 fl->want->size, &img);

	if (r == -ENOMEM)
		return cli_fail(c, EXIT_IO, "out of memory");
	if (r >= 0)
		r = sf_image_check_signatures(
			ctx, img, fl->keys, c->cfg.n_pubkeys, c->cfg.threshold);
	if (r < 0) {
		sf_image_close(img);
		return refuse(fl, "its header, manifest or signatures do not "
				  "check (above)");
	}
	fl->img = img;
	r = check_offer(fl, &img->m);
	if (r || fl->bad)
		return r;
	fl->buf = malloc(img->m.chunk_size);
	if (!fl->buf)
		return cli_fail(c, EXIT_IO, "out of memory");
	/* The head's bytes start the whole file's hash. */
	crypto_generichash_init(&fl->whole, NULL, 0, SF_HASH_BYTES);
	for (uint64_t at = 0; at < img->data_offset;) {
		size_t n = img->data_offset - at < img->m.chunk_size
				   ? img->data_offset - at
				   : img->m.chunk_size;

		if (pread_full(fl->fd, fl->buf, n, at) < 0)
			return cli_fail(c, EXIT_IO, "cannot read %s: %m",
					fl->name);
		crypto_generichash_update(&fl->whole, fl->buf, n);
		at += n;
	}
	fl->verified = img->data_offset;
	return EXIT_OK;
}

/* The head (header, manifest, signature block), once it is whole. */
static int check_head(struct fetch_follow *fl, uint64_t size)
{
	struct sf_ctx ctx = fl->c->ctx;
	uint8_t h[SF_HEADER_SIZE];
	uint64_t m, data;

	if (fl->quiet)
		ctx.log_fn = NULL;
	if (size < SF_HEADER_SIZE || pread_full(fl->fd, h, sizeof(h), 0) < 0)
		return EXIT_OK;
	if (sf_image_header_parse(&ctx, fl->rel, h, &m) < 0)
		return refuse(fl, "its header does not check (above)");
	data = sf_image_data_offset(m);
	if (data > fl->want->size)
		return refuse(fl,
			      "its header names a manifest of %llu bytes, "
			      "more than the %llu bytes the index signed",
			      (unsigned long long)m,
			      (unsigned long long)fl->want->size);
	return size < data ? EXIT_OK : open_head(fl, &ctx);
}

/* Chunk @i's stored bytes, whole in the file, against their hash. */
static int check_chunk(struct fetch_follow *fl, uint32_t i, uint64_t start)
{
	const struct sf_chunk *ch = &fl->img->m.chunks[i];
	uint8_t h[SF_HASH_BYTES];
	int r = pread_full(fl->fd, fl->buf, ch->stored_len, start);

	if (r == -EIO)
		return -EAGAIN; /* shorter than it was: started over */
	if (r < 0)
		return cli_fail(fl->c, EXIT_IO, "cannot read %s: %s", fl->name,
				strerror(-r));
	sf_hash(fl->buf, ch->stored_len, h);
	if (sodium_memcmp(h, ch->stored_hash, SF_HASH_BYTES) == 0) {
		crypto_generichash_update(&fl->whole, fl->buf, ch->stored_len);
		return EXIT_OK;
	}
	return refuse(fl,
		      "chunk %u of %u (bytes %llu-%llu of the file) does not "
		      "match the stored hash its signed manifest names",
		      i, fl->img->m.n_chunks, (unsigned long long)start,
		      (unsigned long long)(start + ch->stored_len - 1));
}

static int check_chunks(struct fetch_follow *fl, uint64_t size)
{
	const struct sf_manifest *m = &fl->img->m;
	int r;

	while (fl->next < m->n_chunks) {
		const struct sf_chunk *ch = &m->chunks[fl->next];
		uint64_t start = fl->img->data_offset + ch->data_offset;

		if (start + ch->stored_len > size)
			break;
		if (ch->stored_len) {
			r = check_chunk(fl, fl->next, start);
			if (r == -EAGAIN)
				break;
			if (r || fl->bad)
				return r;
		}
		fl->verified = start + ch->stored_len;
		fl->next++;
	}
	return EXIT_OK;
}

int fetch_follow_step(struct fetch_follow *fl)
{
	struct stat st;
	uint64_t size;
	int r;

	if (fl->bad)
		return fl->quiet ? EXIT_OK : EXIT_REFUSED;
	if (fstat(fl->fd, &st) < 0)
		return cli_fail(fl->c, EXIT_IO, "cannot stat %s: %m", fl->name);
	size = (uint64_t)st.st_size;
	if (size > fl->seen)
		fl->grown += size - fl->seen;
	else if (size < fl->seen)
		start_over(fl);
	fl->seen = size;
	if (!fl->img) {
		r = check_head(fl, size);
		if (r || !fl->img || fl->bad)
			return r;
	}
	return check_chunks(fl, size);
}

int fetch_follow_trim(struct fetch_follow *fl)
{
	if (fl->seen > fl->verified && ftruncate(fl->fd, (off_t)fl->verified))
		return cli_fail(fl->c, EXIT_IO,
				"cannot cut %s to %llu bytes: %m", fl->name,
				(unsigned long long)fl->verified);
	if (fl->seen > fl->verified)
		fl->seen = fl->verified;
	return EXIT_OK;
}

int fetch_follow_resume(struct fetch_follow *fl, uint64_t *ret_kept)
{
	int r;

	fl->quiet = true;
	r = fetch_follow_step(fl);
	fl->quiet = false;
	/* A part that does not check goes, with all after it; the start of
	 * a chunk not yet whole stays, to be checked when it is. */
	if (!r && fl->bad)
		r = fetch_follow_trim(fl);
	if (r)
		return r;
	if (fl->bad && !fl->verified)
		start_over(fl);
	fl->bad = false;
	fl->grown = 0;
	*ret_kept = fl->seen;
	return EXIT_OK;
}
