// SPDX-License-Identifier: LGPL-2.1-or-later
#include "apply.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fault.h"
#include "fileio.h"
#include "imgwrite.h"
#include "util.h"
#include "version.h"

/* The EFI binary is rebuilt in memory: bound it. */
#define EFI_PAYLOAD_MAX (256ull << 20)

static int refuse(const struct sf_ctx *ctx, char *reason, size_t size,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(const struct sf_ctx *ctx, char *reason, size_t size,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
	return sf_err(ctx, -EPERM, "refused: %s", reason);
}

static int check_version(const struct sf_ctx *ctx, const struct sf_image *img,
			 const struct sf_apply_policy *p, char *reason,
			 size_t size)
{
	const char *v = img->m.version;
	int cmp;

	if (p->floor && p->floor[0] &&
	    (sf_version_cmp_str(v, p->floor, &cmp) < 0 || cmp <= 0))
		return refuse(ctx, reason, size,
			      "version %s is not above the anti-rollback floor "
			      "%s",
			      v, p->floor);
	if (p->running_version && p->running_version[0] &&
	    (sf_version_cmp_str(v, p->running_version, &cmp) < 0 || cmp < 0))
		return refuse(ctx, reason, size,
			      "version %s is below the running version %s "
			      "(a downgrade)",
			      v, p->running_version);
	if ((img->m.flags & SF_MANIFEST_FLAG_DELTA) &&
	    (!p->running_version ||
	     strcmp(img->m.base_version, p->running_version) != 0))
		return refuse(ctx, reason, size,
			      "delta image made against version %s, but the "
			      "running slot has %s",
			      img->m.base_version,
			      p->running_version && p->running_version[0]
				      ? p->running_version
				      : "an unknown version");
	return 0;
}

int sf_apply_precheck(const struct sf_ctx *ctx, const struct sf_image *img,
		      const struct sf_apply_policy *p, char *reason,
		      size_t size)
{
	const struct sf_payload *rootfs =
		sf_manifest_payload(&img->m, SF_PAYLOAD_ROOTFS);
	const struct sf_payload *efi =
		sf_manifest_payload(&img->m, SF_PAYLOAD_EFI);
	int r;

	if (strcmp(img->m.compatible, p->compatible) != 0)
		return refuse(ctx, reason, size,
			      "image is for \"%s\", this device is \"%s\"",
			      img->m.compatible, p->compatible);
	r = check_version(ctx, img, p, reason, size);
	if (r < 0)
		return r;
	if (rootfs->size > p->slot_size)
		return refuse(ctx, reason, size,
			      "root filesystem of %llu bytes does not fit the "
			      "%llu-byte slot",
			      (unsigned long long)rootfs->size,
			      (unsigned long long)p->slot_size);
	if (!efi)
		return refuse(ctx, reason, size, "image has no EFI binary");
	if (efi->size > EFI_PAYLOAD_MAX)
		return refuse(ctx, reason, size,
			      "EFI binary of %llu bytes is over the %llu limit",
			      (unsigned long long)efi->size, EFI_PAYLOAD_MAX);
	return 0;
}

struct apply_job {
	const struct sf_ctx *ctx;
	struct sf_image *img;
	const struct sf_apply_target *t;
	const struct sf_payload *p;
	struct sf_base base;
	atomic_uint written, skipped;
	atomic_uint_fast64_t bytes, done;
};

static int read_fd(void *data, uint64_t offset, void *buf, size_t len)
{
	return pread_full(*(const int *)data, buf, len, offset);
}

static bool is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
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
static int decode(struct apply_job *job, uint32_t idx, uint8_t *stored,
		  uint8_t *out, bool check)
{
	const struct sf_chunk *c = &job->img->m.chunks[idx];
	struct sf_codec codec;
	int r;

	r = sf_image_read_stored(job->ctx, job->img, idx, stored);
	if (r < 0)
		return r;
	sf_codec_init(&codec, 9);
	r = sf_chunk_decode(job->ctx, &codec, c, idx, stored, &job->base, check,
			    out);
	sf_codec_done(&codec);
	return r;
}

static int write_chunk(struct apply_job *job, uint32_t idx, uint8_t *cur,
		       uint8_t *stored)
{
	const struct sf_chunk *c = &job->img->m.chunks[idx];
	int r;

	r = decode(job, idx, stored, cur, false);
	if (r < 0)
		return r;
	sf_fault_point(job->ctx, "slot write");
	r = pwrite_full(job->t->slot_fd, cur, c->length, c->offset);
	if (r < 0)
		return sf_err(job->ctx, r, "cannot write the spare slot: %s",
			      strerror(-r));
	atomic_fetch_add(&job->written, 1);
	atomic_fetch_add(&job->bytes, c->length);
	return 0;
}

static int apply_chunk(void *arg, uint32_t j)
{
	struct apply_job *job = arg;
	uint32_t idx = job->p->first_chunk + j;
	const struct sf_chunk *c = &job->img->m.chunks[idx];
	_cleanup_free_ uint8_t *cur = malloc(job->img->m.chunk_size);
	_cleanup_free_ uint8_t *stored = malloc(job->img->m.chunk_size);
	int r;

	if (!cur || !stored)
		return -ENOMEM;
	r = pread_full(job->t->slot_fd, cur, c->length, c->offset);
	if (r < 0)
		return sf_err(job->ctx, r, "cannot read the spare slot: %s",
			      strerror(-r));
	if (holds(c, cur))
		atomic_fetch_add(&job->skipped, 1);
	else if ((r = write_chunk(job, idx, cur, stored)) < 0)
		return r;
	report(job, c->length);
	return 0;
}

/* Returns -EBADMSG if chunk @idx of the image does not decode to its
 * content hash, else 0. @buf: room for a chunk. */
static int readback_recheck(struct apply_job *job, uint32_t idx, uint8_t *buf)
{
	_cleanup_free_ uint8_t *stored = malloc(job->img->m.chunk_size);

	if (!stored)
		return -ENOMEM;
	return decode(job, idx, stored, buf, true) == -EBADMSG ? -EBADMSG : 0;
}

static int readback_chunk(void *arg, uint32_t j)
{
	struct apply_job *job = arg;
	uint32_t idx = job->p->first_chunk + j;
	const struct sf_chunk *c = &job->img->m.chunks[idx];
	_cleanup_free_ uint8_t *cur = malloc(job->img->m.chunk_size);
	int r;

	if (!cur)
		return -ENOMEM;
	r = pread_full(job->t->slot_fd, cur, c->length, c->offset);
	if (r < 0)
		return sf_err(job->ctx, r,
			      "cannot read the spare slot back: %s",
			      strerror(-r));
	if (holds(c, cur))
		return 0;
	/* Was the image's chunk wrong (signed, yet not its content hash),
	 * or did the medium fail? Decode it again, checked this time. */
	r = readback_recheck(job, idx, cur);
	if (r < 0)
		return r;
	return sf_err(job->ctx, -EIO,
		      "read-back of chunk %u (bytes %llu-%llu) differs "
		      "from what was written: the slot's medium is "
		      "failing",
		      idx, (unsigned long long)c->offset,
		      (unsigned long long)(c->offset + c->length - 1));
}

static unsigned thread_count(const struct sf_apply_target *t)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return t->threads ? t->threads : n > 0 ? (unsigned)n : 1;
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

static int apply_rootfs(struct apply_job *job)
{
	unsigned threads = thread_count(job->t);
	int r;

	job->p = sf_manifest_payload(&job->img->m, SF_PAYLOAD_ROOTFS);
	job->base = (struct sf_base){ read_fd, (void *)&job->t->active_fd };
	r = sf_parallel_for(threads, job->p->n_chunks, apply_chunk, job);
	if (r >= 0)
		r = flush_slot(job->ctx, job->t->slot_fd);
	if (r >= 0)
		r = sf_parallel_for(threads, job->p->n_chunks, readback_chunk,
				    job);
	return r;
}

/* Rebuild the EFI binary in memory from its chunks. */
static int efi_decode(struct apply_job *job, uint8_t *mem)
{
	_cleanup_free_ uint8_t *stored = malloc(job->img->m.chunk_size);
	_cleanup_close_ int base_fd = -1;
	int r = 0;

	if (!stored)
		return -ENOMEM;
	base_fd = open(job->t->active_efi_path, O_RDONLY | O_CLOEXEC);
	job->base = (struct sf_base){ base_fd >= 0 ? read_fd : NULL, &base_fd };
	for (uint32_t i = 0; r >= 0 && i < job->p->n_chunks; i++) {
		uint32_t idx = job->p->first_chunk + i;

		r = decode(job, idx, stored,
			   mem + job->img->m.chunks[idx].offset, true);
	}
	return r;
}

/* Is the file at @path exactly @len bytes of @mem? */
static bool file_holds(const char *path, const uint8_t *mem, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = malloc(len + 1);
	struct stat st;

	if (fd < 0 || !buf || fstat(fd, &st) < 0 || (size_t)st.st_size != len)
		return false;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return pread_full(fd, buf, len, 0) == 0 && memcmp(buf, mem, len) == 0;
}

/* Write @mem to "<path>.new", flush, rename over @path, flush the dir. */
static int efi_install(const struct sf_ctx *ctx, const char *path,
		       const uint8_t *mem, size_t len)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&tmp, "%s.new", path) < 0)
		return -ENOMEM;
	sf_fault_point(ctx, "efi write");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sf_err(ctx, -errno, "cannot create %s: %m", tmp);
	r = pwrite_full(fd, mem, len, 0);
	if (r >= 0) {
		sf_fault_point(ctx, "efi flush");
		r = fsync(fd) < 0 ? -errno : 0;
	}
	if (r >= 0) {
		sf_fault_point(ctx, "efi rename");
		r = tmpfile_commit(fd, tmp, path);
	}
	if (r < 0)
		return sf_err(ctx, r, "cannot write %s: %s", path,
			      strerror(-r));
	if (!file_holds(path, mem, len))
		return sf_err(ctx, -EIO, "read-back of %s differs", path);
	return 0;
}

static int apply_efi(struct apply_job *job)
{
	_cleanup_free_ uint8_t *mem = NULL;
	int r;

	job->p = sf_manifest_payload(&job->img->m, SF_PAYLOAD_EFI);
	mem = malloc(job->p->size);
	if (!mem)
		return -ENOMEM;
	r = efi_decode(job, mem);
	if (r < 0)
		return r;
	if (file_holds(job->t->efi_path, mem, job->p->size)) {
		atomic_fetch_add(&job->skipped, job->p->n_chunks);
		return 0;
	}
	r = efi_install(job->ctx, job->t->efi_path, mem, job->p->size);
	if (r >= 0) {
		atomic_fetch_add(&job->written, job->p->n_chunks);
		atomic_fetch_add(&job->bytes, job->p->size);
	}
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
			.bytes_written = atomic_load(&job.bytes),
		};
	return r;
}
