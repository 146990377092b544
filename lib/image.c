// SPDX-License-Identifier: LGPL-2.1-or-later
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "hash.h"
#include "util.h"

static const uint8_t image_magic[8] = "SLOTFLIP";
static const uint8_t sigblock_magic[8] = "SFSIGBLK";

uint64_t sf_image_sig_offset(uint64_t manifest_size)
{
	return ALIGN_UP(SF_HEADER_SIZE + manifest_size, 4096);
}

uint64_t sf_image_data_offset(uint64_t manifest_size)
{
	return sf_image_sig_offset(manifest_size) + SF_SIGBLOCK_SIZE;
}

void sf_image_header_encode(uint8_t *buf, uint32_t format,
			    uint64_t manifest_size)
{
	memset(buf, 0, SF_HEADER_SIZE);
	memcpy(buf, image_magic, 8);
	le32_store(buf + 8, format);
	le64_store(buf + 16, manifest_size);
}

int sf_image_header_parse(const struct sf_ctx *ctx, const char *path,
			  const uint8_t *h, uint64_t *ret_manifest_size)
{
	uint32_t version = le32_load(h + 8);
	uint64_t m;

	if (memcmp(h, image_magic, 8) != 0)
		return sf_err(ctx, -EBADMSG, "%s: not a slotflip image", path);
	if (version < SF_FORMAT_MIN || version > SF_FORMAT_VERSION)
		return sf_err(ctx, -EPROTONOSUPPORT,
			      "%s: image format version %u, this reader knows "
			      "%u to %u: update slotflip",
			      path, version, SF_FORMAT_MIN, SF_FORMAT_VERSION);
	if (!is_zero(h + 12, 4) || !is_zero(h + 24, SF_HEADER_SIZE - 24))
		return sf_err(ctx, -EBADMSG,
			      "%s: header has unknown flags or reserved bytes "
			      "set",
			      path);
	m = le64_load(h + 16);
	if (m < SF_MANIFEST_FIXED + SF_PAYLOAD_ENTRY + SF_CHUNK_ENTRY ||
	    m > SF_MANIFEST_MAX)
		return sf_err(ctx, -EBADMSG,
			      "%s: manifest size %llu out of bounds", path,
			      (unsigned long long)m);
	*ret_manifest_size = m;
	return 0;
}

static int check_header(const struct sf_ctx *ctx, const char *path,
			const uint8_t *h, struct sf_image *img)
{
	int r = sf_image_header_parse(ctx, path, h, &img->manifest_size);

	if (r < 0)
		return r;
	img->format = le32_load(h + 8);
	img->sig_offset = sf_image_sig_offset(img->manifest_size);
	img->data_offset = sf_image_data_offset(img->manifest_size);
	if (img->file_size < img->data_offset)
		return sf_err(ctx, -EBADMSG,
			      "%s: truncated (%llu bytes, the manifest and "
			      "signatures alone need %llu)",
			      path, (unsigned long long)img->file_size,
			      (unsigned long long)img->data_offset);
	return 0;
}

/* @name in @dirfd, a regular file that is no link: never blocks (a FIFO
 * planted on the data partition is refused, not waited on). */
static int open_regular(const struct sf_ctx *ctx, int dirfd, const char *name,
			const char *path, uint64_t *ret_size)
{
	struct stat st;
	int fd = open_regular_at(dirfd, name, O_RDONLY | O_NOFOLLOW);

	if (fd == -EINVAL)
		return sf_err(ctx, -EBADMSG, "%s: not a regular file", path);
	if (fd < 0)
		return sf_err(ctx, fd, "cannot open %s: %s", path,
			      strerror(-fd));
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return sf_err(ctx, r, "cannot stat %s: %s", path, strerror(-r));
	}
	*ret_size = (uint64_t)st.st_size;
	return fd;
}

/* The bytes between the manifest and the signature block, into @buf. */
static int read_padding(const struct sf_image *img, uint8_t *buf)
{
	uint64_t start = SF_HEADER_SIZE + img->manifest_size;

	return pread_full(img->fd, buf, img->sig_offset - start, start);
}

static int read_areas(const struct sf_ctx *ctx, const char *path,
		      struct sf_image *img)
{
	uint8_t h[SF_HEADER_SIZE], sb[SF_SIGBLOCK_SIZE];
	int r;

	if (img->file_size < SF_HEADER_SIZE)
		return sf_err(ctx, -EBADMSG,
			      "%s: not a slotflip image (only %llu bytes)",
			      path, (unsigned long long)img->file_size);
	r = pread_full(img->fd, h, sizeof(h), 0);
	if (r < 0)
		return sf_err(ctx, r, "%s: cannot read: %s", path,
			      strerror(-r));
	r = check_header(ctx, path, h, img);
	if (r < 0)
		return r;
	img->manifest_raw = malloc(img->manifest_size);
	if (!img->manifest_raw)
		return -ENOMEM;
	r = pread_full(img->fd, img->manifest_raw, img->manifest_size,
		       SF_HEADER_SIZE);
	if (r >= 0)
		r = read_padding(img, h);
	if (r >= 0)
		r = pread_full(img->fd, sb, sizeof(sb), img->sig_offset);
	if (r < 0)
		return sf_err(ctx, r, "%s: cannot read: %s", path,
			      strerror(-r));
	if (!is_zero(h, img->sig_offset - SF_HEADER_SIZE - img->manifest_size))
		return sf_err(ctx, -EBADMSG,
			      "%s: padding after the manifest is not zero",
			      path);
	sf_hash(img->manifest_raw, img->manifest_size, img->manifest_hash);
	return sf_sigblock_parse(ctx, sb, &img->sigs);
}

int sf_image_open_at(const struct sf_ctx *ctx, int dirfd, const char *name,
		     const char *path, struct sf_image **ret)
{
	struct sf_image *img = calloc(1, sizeof(*img));
	int r;

	if (!img)
		return -ENOMEM;
	img->fd = open_regular(ctx, dirfd, name, path, &img->file_size);
	if (img->fd < 0) {
		r = img->fd;
		free(img);
		return r;
	}
	r = read_areas(ctx, path, img);
	if (r < 0) {
		sf_image_close(img);
		return r;
	}
	*ret = img;
	return 0;
}

int sf_image_open_growing_at(const struct sf_ctx *ctx, int dirfd,
			     const char *name, const char *path,
			     uint64_t final_size, struct sf_image **ret)
{
	int r = sf_image_open_at(ctx, dirfd, name, path, ret);

	if (r >= 0)
		(*ret)->file_size = final_size;
	return r;
}

int sf_image_open(const struct sf_ctx *ctx, const char *path,
		  struct sf_image **ret)
{
	return sf_image_open_at(ctx, AT_FDCWD, path, path, ret);
}

void sf_image_close(struct sf_image *img)
{
	if (!img)
		return;
	if (img->fd >= 0)
		close(img->fd);
	free(img->manifest_raw);
	sf_sigblock_free(&img->sigs);
	sf_manifest_free(&img->m);
	free(img);
}

int sf_sigblock_parse(const struct sf_ctx *ctx, const uint8_t *buf,
		      struct sf_sigblock *ret)
{
	struct sf_sigblock sb = { .n = 0 };
	uint32_t n = le32_load(buf + 8), pos = 12;

	if (memcmp(buf, sigblock_magic, 8) != 0 || n > SF_MAX_SIGS)
		return sf_err(ctx, -EBADMSG, "signature block is corrupt");
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = le32_load(buf + pos);

		if (len == 0 || len > SF_SIG_MAX_LEN ||
		    len > SF_SIGBLOCK_SIZE - pos - 4 ||
		    memchr(buf + pos + 4, 0, len)) {
			sf_sigblock_free(&sb);
			return sf_err(
				ctx, -EBADMSG,
				"signature block: signature %u is corrupt", i);
		}
		sb.text[i] = strndup((const char *)buf + pos + 4, len);
		if (!sb.text[i]) {
			sf_sigblock_free(&sb);
			return -ENOMEM;
		}
		sb.len[i] = len;
		sb.n++;
		pos += 4 + len;
	}
	if (!is_zero(buf + pos, SF_SIGBLOCK_SIZE - pos)) {
		sf_sigblock_free(&sb);
		return sf_err(ctx, -EBADMSG,
			      "signature block: bytes after the signatures");
	}
	*ret = sb;
	return 0;
}

int sf_sigblock_encode(const struct sf_sigblock *sb, uint8_t *buf)
{
	uint32_t pos = 12;

	memset(buf, 0, SF_SIGBLOCK_SIZE);
	memcpy(buf, sigblock_magic, 8);
	le32_store(buf + 8, sb->n);
	for (unsigned i = 0; i < sb->n; i++) {
		if (sb->len[i] > SF_SIGBLOCK_SIZE - pos - 4)
			return -ENOSPC;
		le32_store(buf + pos, sb->len[i]);
		memcpy(buf + pos + 4, sb->text[i], sb->len[i]);
		pos += 4 + sb->len[i];
	}
	return 0;
}

int sf_sigblock_add(struct sf_sigblock *sb, const char *text)
{
	size_t len = strlen(text);
	uint32_t used = 12;

	for (unsigned i = 0; i < sb->n; i++)
		used += 4 + sb->len[i];
	if (sb->n == SF_MAX_SIGS || len == 0 || len > SF_SIG_MAX_LEN ||
	    used + 4 + len > SF_SIGBLOCK_SIZE)
		return -ENOSPC;
	sb->text[sb->n] = strdup(text);
	if (!sb->text[sb->n])
		return -ENOMEM;
	sb->len[sb->n++] = (uint32_t)len;
	return 0;
}

void sf_sigblock_free(struct sf_sigblock *sb)
{
	for (unsigned i = 0; i < sb->n; i++)
		free(sb->text[i]);
	sb->n = 0;
}

int sf_image_load_manifest(const struct sf_ctx *ctx, struct sf_image *img)
{
	int r;

	if (img->loaded)
		return 0;
	r = sf_manifest_parse(ctx, img->manifest_raw, img->manifest_size,
			      &img->m);
	if (r < 0)
		return r;
	img->loaded = true;
	if (img->m.format != img->format)
		return sf_err(ctx, -EBADMSG,
			      "manifest of format version %u in an image of "
			      "version %u",
			      img->m.format, img->format);
	if (img->file_size != img->data_offset + img->m.data_size)
		return sf_err(ctx, -EBADMSG,
			      "image is %llu bytes, its manifest says %llu: "
			      "truncated or extended",
			      (unsigned long long)img->file_size,
			      (unsigned long long)(img->data_offset +
						   img->m.data_size));
	return 0;
}

void sf_image_trusted_comment(const struct sf_manifest *m, char *buf,
			      size_t size)
{
	snprintf(buf, size,
		 "slotflip image compatible:%s version:%s timestamp:%llu",
		 m->compatible, m->version, (unsigned long long)m->build_time);
}

/* Does the trusted comment carry " KEY:VALUE" as a whole word? */
static bool comment_has(const char *comment, const char *key, const char *value)
{
	char want[160];
	const char *p;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "%s:%s", key, value);
	for (p = strstr(comment, want); p; p = strstr(p + 1, want))
		if ((p == comment || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

/* Index of a signature made by @key that verifies, or -1. */
static int find_valid_sig(const struct sf_ctx *ctx, const struct sf_image *img,
			  const struct ms_sig *sigs, const bool *parsed,
			  const uint8_t *hash, const struct ms_pubkey *key)
{
	struct sf_ctx quiet = *ctx;
	char id[17];

	quiet.log_fn = NULL;
	ms_keyid_hex(key->keyid, id);
	for (unsigned s = 0; s < img->sigs.n; s++) {
		if (!parsed[s] ||
		    memcmp(sigs[s].keyid, key->keyid, MS_KEYID_BYTES) != 0)
			continue;
		if (ms_sig_verify_prehashed(&quiet, &sigs[s], key, hash) == 0)
			return (int)s;
		sf_log(ctx, SF_LOG_WARNING, 0,
		       "signature %u by key %s does not match the manifest", s,
		       id);
	}
	return -1;
}

/*
 * Parse signature @s, and accept it only if its text is exactly what
 * slotflip-image writes: the untrusted comment is not signed, so without
 * this a changed byte there would go unnoticed.
 */
static bool sig_canonical(const struct sf_ctx *quiet,
			  const struct sf_sigblock *sb, unsigned s,
			  struct ms_sig *sig)
{
	_cleanup_free_ char *text = NULL;

	if (ms_sig_parse(quiet, sb->text[s], sb->len[s], sig) < 0 ||
	    ms_sig_format(sig, &text) < 0)
		return false;
	return strlen(text) == sb->len[s] &&
	       memcmp(text, sb->text[s], sb->len[s]) == 0;
}

static bool key_seen(const struct ms_pubkey *keys, unsigned k)
{
	for (unsigned j = 0; j < k; j++)
		if (memcmp(keys[j].pk, keys[k].pk, MS_PUBLICKEY_BYTES) == 0)
			return true;
	return false;
}

static int too_few(const struct sf_ctx *ctx, unsigned good, unsigned n_keys,
		   unsigned threshold)
{
	return sf_err(ctx, -EKEYREJECTED,
		      "image has valid signatures from %u of the %u trusted "
		      "keys, %u required",
		      good, n_keys, threshold);
}

int sf_image_check_signatures(const struct sf_ctx *ctx, struct sf_image *img,
			      const struct ms_pubkey *keys, unsigned n_keys,
			      unsigned threshold)
{
	struct sf_ctx quiet = *ctx;
	struct ms_sig sigs[SF_MAX_SIGS];
	bool parsed[SF_MAX_SIGS];
	int valid[SF_MAX_SIGS * 4];
	uint8_t hash[MS_HASH_BYTES];
	unsigned good = 0, kept = 0;
	int r;

	if (threshold == 0 || n_keys > ARRAY_SIZE(valid))
		return sf_err(ctx, -EINVAL, "threshold must be 1 or more");
	quiet.log_fn = NULL;
	ms_hash(img->manifest_raw, img->manifest_size, hash);
	for (unsigned s = 0; s < img->sigs.n; s++)
		parsed[s] = sig_canonical(&quiet, &img->sigs, s, &sigs[s]);
	for (unsigned k = 0; k < n_keys; k++)
		if (!key_seen(keys, k) &&
		    (valid[good] = find_valid_sig(ctx, img, sigs, parsed, hash,
						  &keys[k])) >= 0)
			good++;
	if (good < threshold)
		return too_few(ctx, good, n_keys, threshold);
	/* The manifest is authentic now: decode it and check the comments. */
	r = sf_image_load_manifest(ctx, img);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < good; i++) {
		const char *tc = sigs[valid[i]].trusted_comment;

		if (comment_has(tc, "compatible", img->m.compatible) &&
		    comment_has(tc, "version", img->m.version))
			kept++;
		else
			sf_err(ctx, 0,
			       "signature %d: trusted comment \"%s\" does not "
			       "name compatible %s and version %s",
			       valid[i], tc, img->m.compatible, img->m.version);
	}
	return kept < threshold ? too_few(ctx, kept, n_keys, threshold)
				: (int)kept;
}

int sf_image_read_stored(const struct sf_ctx *ctx, struct sf_image *img,
			 uint32_t idx, uint8_t *buf)
{
	const struct sf_chunk *c = &img->m.chunks[idx];
	uint8_t h[SF_HASH_BYTES];
	int r;

	if (c->stored_len == 0)
		return 0;
	r = pread_full(img->fd, buf, c->stored_len,
		       img->data_offset + c->data_offset);
	if (r < 0)
		return sf_err(ctx, r, "chunk %u: cannot read: %s", idx,
			      strerror(-r));
	sf_hash(buf, c->stored_len, h);
	if (sodium_memcmp(h, c->stored_hash, SF_HASH_BYTES) != 0)
		return sf_err(
			ctx, -EBADMSG,
			"chunk %u (%s, bytes %llu-%llu of %s): stored "
			"data does not match its hash",
			idx, sf_form_name(c->form),
			(unsigned long long)c->offset,
			(unsigned long long)(c->offset + c->length - 1),
			sf_payload_kind_name(img->m.payloads[c->payload].kind));
	return 0;
}

struct verify_job {
	const struct sf_ctx *ctx;
	struct sf_image *img;
	/* Content check (sf_image_verify_content()): bases by payload kind;
	 * NULL for the stored hashes only. */
	const struct sf_base *bases;
	atomic_uint next;
	atomic_uint_fast64_t done;
	atomic_uint unchecked;
	atomic_int err;
	uint64_t total;
	sf_progress_fn progress;
	void *progress_data;
};

/* The base chunk @c's payload reads from, or NULL when none was given. */
static const struct sf_base *chunk_base(const struct verify_job *job,
					const struct sf_chunk *c)
{
	uint32_t kind = job->img->m.payloads[c->payload].kind;

	if (kind > SF_MAX_PAYLOADS || !job->bases[kind].read)
		return NULL;
	return &job->bases[kind];
}

/* Decode chunk @i (stored bytes in @stored, hash checked) into @out and
 * check its length and content hash. Returns 0 or -errno. */
static int check_chunk_content(struct verify_job *job, struct sf_codec *codec,
			       uint32_t i, const uint8_t *stored, uint8_t *out)
{
	const struct sf_chunk *c = &job->img->m.chunks[i];
	const struct sf_base *base = chunk_base(job, c);

	if ((c->form == SF_FORM_BASE || c->form == SF_FORM_PATCH ||
	     c->form == SF_FORM_REF) &&
	    !base) {
		atomic_fetch_add(&job->unchecked, 1);
		return 0;
	}
	return sf_chunk_decode(job->ctx, codec, &job->img->m, c, i, stored,
			       base, true, out);
}

static void *verify_worker(void *arg)
{
	struct verify_job *job = arg;
	struct sf_manifest *m = &job->img->m;
	_cleanup_free_ uint8_t *buf = malloc(m->chunk_size);
	_cleanup_free_ uint8_t *out = job->bases ? malloc(m->chunk_size) : NULL;
	bool reporter = job->progress && atomic_load(&job->next) == 0;
	struct sf_codec codec;
	unsigned i;

	if (!buf || (job->bases && !out)) {
		atomic_store(&job->err, -ENOMEM);
		return NULL;
	}
	sf_codec_init(&codec, 9);
	while (atomic_load(&job->err) == 0 &&
	       (i = atomic_fetch_add(&job->next, 1)) < m->n_chunks) {
		int r = sf_image_read_stored(job->ctx, job->img, i, buf);

		if (r >= 0 && job->bases)
			r = check_chunk_content(job, &codec, i, buf, out);
		if (r < 0) {
			atomic_store(&job->err, r);
			break;
		}
		atomic_fetch_add(&job->done, job->bases
						     ? m->chunks[i].length
						     : m->chunks[i].stored_len);
		if (reporter)
			job->progress(job->progress_data,
				      atomic_load(&job->done), job->total);
	}
	sf_codec_done(&codec);
	return NULL;
}

static int run_verify(struct verify_job *job, unsigned threads)
{
	pthread_t tid[64];
	unsigned started = 0;

	if (threads == 0)
		threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads == 0 || threads > ARRAY_SIZE(tid))
		threads = 1;
	for (; started < threads; started++)
		if (pthread_create(&tid[started], NULL, verify_worker, job))
			break;
	if (started == 0)
		verify_worker(job);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	if (job->progress && job->err == 0)
		job->progress(job->progress_data, job->total, job->total);
	return job->err;
}

int sf_image_verify_data(const struct sf_ctx *ctx, struct sf_image *img,
			 unsigned threads, sf_progress_fn progress,
			 void *progress_data)
{
	struct verify_job job = { .ctx = ctx, .img = img };
	int r = sf_image_load_manifest(ctx, img);

	if (r < 0)
		return r;
	job.total = img->m.data_size;
	job.progress = progress;
	job.progress_data = progress_data;
	return run_verify(&job, threads);
}

int sf_image_verify_content(const struct sf_ctx *ctx, struct sf_image *img,
			    const struct sf_base *bases, unsigned threads,
			    sf_progress_fn progress, void *progress_data,
			    uint32_t *ret_unchecked)
{
	static const struct sf_base none[SF_MAX_PAYLOADS + 1];
	struct verify_job job = { .ctx = ctx, .img = img };
	int r = sf_image_load_manifest(ctx, img);

	job.bases = bases ? bases : none;

	if (r < 0)
		return r;
	for (unsigned p = 0; p < img->m.n_payloads; p++)
		job.total += img->m.payloads[p].size;
	job.progress = progress;
	job.progress_data = progress_data;
	r = run_verify(&job, threads);
	if (r >= 0)
		*ret_unchecked = atomic_load(&job.unchecked);
	return r;
}

/* A sanity bound on a claimed data size (its manifest checks it fully). */
#define CLAIMED_DATA_MAX (1ull << 50)

int sf_image_claimed_size(const uint8_t *head, size_t len, uint64_t *ret)
{
	uint64_t m, data;
	int r;

	if (len < SF_IMAGE_HEAD_BYTES)
		return -EBADMSG;
	r = sf_image_header_parse(NULL, NULL, head, &m);
	if (r < 0)
		return r;
	if (sf_manifest_data_size(head + SF_HEADER_SIZE, len - SF_HEADER_SIZE,
				  &data) < 0 ||
	    data > CLAIMED_DATA_MAX)
		return -EBADMSG;
	*ret = sf_image_data_offset(m) + data;
	return 0;
}
