/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole reads and writes, and files replaced atomically. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * pread_full / pwrite_full - transfer exactly @len bytes at @offset,
 * retrying short transfers and EINTR.
 * Return 0, -EIO if the file ends first (pread), or -errno.
 */
int pread_full(int fd, void *buf, size_t len, uint64_t offset);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t offset);

/*
 * writeback_start - start writing @len bytes of a buffered @fd at @offset
 * out to the medium now, without waiting (sync_file_range()). Best effort:
 * an fdatasync() later is what makes them durable.
 */
void writeback_start(int fd, uint64_t offset, size_t len);

/*
 * read_full - read up to @len bytes from @fd's position into @buf, until
 * @len or the end of the file, retrying short reads and EINTR.
 * Returns the count (below @len only at the end of the file), or -errno.
 */
ssize_t read_full(int fd, void *buf, size_t len);

/*
 * read_text_file - a small file whole into @buf (@size bytes, 1 or more),
 * NUL-terminated: sysfs and procfs attributes, version and list files.
 * Returns the length (without the NUL), -EFBIG when the file holds more
 * than @size - 1 bytes (@buf then holds its start), or -errno.
 */
ssize_t read_text_file(const char *path, char *buf, size_t size);

/* read_text_fd - read_text_file() of an open @fd, from its position. */
ssize_t read_text_fd(int fd, char *buf, size_t size);

/*
 * tmpfile_create - create a new file next to @path (same directory, name
 * "<path>.tmp.XXXXXX"), mode @mode. Returns the fd and the name in
 * *@ret_tmp (malloc'd), or -errno.
 */
int tmpfile_create(const char *path, int mode, char **ret_tmp);

/*
 * fsync_parent - fsync the directory that holds @path, so that a rename
 * or unlink of @path there survives a power cut. Returns 0 or -errno.
 */
int fsync_parent(const char *path);

/*
 * tmpfile_commit - fsync @fd, rename @tmp over @path and fsync the
 * directory, so that a power cut leaves either the old or the new file.
 * Returns 0 or -errno; @tmp is unlinked on failure.
 */
int tmpfile_commit(int fd, const char *tmp, const char *path);

/*
 * write_file_atomic - replace @path with @len bytes of @buf, mode @mode,
 * through tmpfile_create() and tmpfile_commit(). Returns 0 or -errno.
 */
int write_file_atomic(const char *path, const void *buf, size_t len, int mode);
