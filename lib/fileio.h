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
/* Bytes in the file or block device @fd (its end), 0 if not known. */
uint64_t fd_size(int fd);
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
 * Follows links and reads pipes: only for files an attacker cannot place
 * (a file on the data partition is opened with open_regular_at()).
 * Returns the length (without the NUL), -EFBIG when the file holds more
 * than @size - 1 bytes (@buf then holds its start), or -errno.
 */
ssize_t read_text_file(const char *path, char *buf, size_t size);

/* read_text_fd - read_text_file() of an open @fd, from its position. */
ssize_t read_text_fd(int fd, char *buf, size_t size);

/*
 * open_regular_at - open @path, relative to @dirfd (a directory's fd or
 * AT_FDCWD), with @flags (O_RDONLY, O_NOFOLLOW, ...; O_NONBLOCK, O_NOCTTY
 * and O_CLOEXEC are added), and require a regular file. The open never
 * blocks: a FIFO or device node planted at @path is refused, not waited
 * on. O_NONBLOCK is cleared on the fd returned.
 * Returns the fd; -EINVAL when @path is not a regular file; -errno
 * (-ENOENT, -ELOOP for a link with O_NOFOLLOW, ...).
 */
int open_regular_at(int dirfd, const char *path, int flags);

/*
 * open_device - open_regular_at(AT_FDCWD, @path, @flags) that also takes
 * a block device: a slot (links are followed, as in /dev/disk/by-*).
 * Returns the fd; -EINVAL when @path is neither; -errno.
 */
int open_device(const char *path, int flags);

/*
 * tmpfile_create_at - create a new file next to @name in the directory
 * @dirfd (or AT_FDCWD), named "<name>.tmp.XXXXXX" (random), mode @mode,
 * with O_EXCL: nothing already there is opened or followed.
 * Returns the fd and the name in *@ret_tmp (malloc'd, relative to
 * @dirfd as @name is), or -errno.
 */
int tmpfile_create_at(int dirfd, const char *name, int mode, char **ret_tmp);

/* tmpfile_create - tmpfile_create_at(AT_FDCWD, @path, ...). */
int tmpfile_create(const char *path, int mode, char **ret_tmp);

/*
 * fsync_parent - fsync the directory that holds @path, so that a rename
 * or unlink of @path there survives a power cut. Returns 0 or -errno.
 */
int fsync_parent(const char *path);

/*
 * tmpfile_commit_at - fsync @fd, rename @tmp over @name (both in the
 * directory @dirfd, or AT_FDCWD) and fsync that directory, so that a
 * power cut leaves either the old or the new file.
 * Returns 0 or -errno; @tmp is unlinked on failure.
 */
int tmpfile_commit_at(int dirfd, int fd, const char *tmp, const char *name);

/* tmpfile_commit - tmpfile_commit_at(AT_FDCWD, ...). */
int tmpfile_commit(int fd, const char *tmp, const char *path);

/*
 * unlink_at_synced - remove @name from the directory @dirfd (or
 * AT_FDCWD) and fsync the directory. Returns 0 or -errno.
 */
int unlink_at_synced(int dirfd, const char *name);

/*
 * write_file_atomic_at - replace @name in the directory @dirfd (or
 * AT_FDCWD) with @len bytes of @buf, mode @mode, through
 * tmpfile_create_at() and tmpfile_commit_at(). Returns 0 or -errno.
 */
int write_file_atomic_at(int dirfd, const char *name, const void *buf,
			 size_t len, int mode);

/* write_file_atomic - write_file_atomic_at(AT_FDCWD, @path, ...). */
int write_file_atomic(const char *path, const void *buf, size_t len, int mode);
