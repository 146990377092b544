// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The apply's EFI binary: rebuilt in memory from its chunks (a delta's
 * from the booted slot's binary), written next to its final name, flushed,
 * renamed over it and read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply-job.h"
#include "fault.h"
#include "fileio.h"
#include "util.h"

/* Rebuild the EFI binary in memory from its chunks. */
static int efi_decode(struct apply_job *job, uint8_t *mem)
{
	_cleanup_free_ uint8_t *stored = malloc(job->img->m.chunk_size);
	_cleanup_close_ int base_fd = -1;
	struct sf_base base;
	struct sf_codec codec;
	int r = 0;

	if (!stored)
		return -ENOMEM;
	/* O_NONBLOCK here and below: nothing placed on the ESP blocks. */
	base_fd = open(job->t->active_efi_path,
		       O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	/* On this stack, as base_fd it points to: not in the job. */
	base = (struct sf_base){ .read = base_fd >= 0 ? apply_read_fd : NULL,
				 .data = &base_fd,
				 .size = base_fd >= 0 ? fd_size(base_fd) : 0 };
	sf_codec_init(&codec, 9);
	for (uint32_t i = 0; r >= 0 && i < job->p->n_chunks; i++) {
		uint32_t idx = job->p->first_chunk + i;

		r = apply_decode(job, &codec, &base, idx, stored,
				 mem + job->img->m.chunks[idx].offset, true);
	}
	sf_codec_done(&codec);
	return r;
}

/* Is the file at @path exactly @len bytes of @mem? */
static bool file_holds(const char *path, const uint8_t *mem, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
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
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC,
		  0644);
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

int apply_efi(struct apply_job *job)
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
