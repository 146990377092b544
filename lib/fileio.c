// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int pread_full(int fd, void *buf, size_t len, uint64_t offset)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

void writeback_start(int fd, uint64_t offset, size_t len)
{
	sync_file_range(fd, (off_t)offset, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t offset)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n = 0;

	while (n < len) {
		ssize_t k = read(fd, p + n, len - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	return (ssize_t)n;
}

ssize_t read_text_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	return fd < 0 ? -errno : read_text_fd(fd, buf, size);
}

ssize_t read_text_fd(int fd, char *buf, size_t size)
{
	ssize_t n;
	char more;

	buf[0] = '\0';
	n = read_full(fd, buf, size - 1);
	if (n < 0)
		return n;
	buf[n] = '\0';
	if ((size_t)n == size - 1 && read_full(fd, &more, 1) == 1)
		return -EFBIG;
	return n;
}

int tmpfile_create(const char *path, int mode, char **ret_tmp)
{
	_cleanup_free_ char *tmp = NULL;
	int fd;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode_t)mode) < 0) {
		int r = -errno;

		close(fd);
		unlink(tmp);
		return r;
	}
	*ret_tmp = TAKE_PTR(tmp);
	return fd;
}

int fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dfd = -1;

	if (!copy)
		return -ENOMEM;
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return fsync(dfd) < 0 ? -errno : 0;
}

/*
 * False alarm of gcc -fanalyzer (tests/static/test-analyze.sh) in the next
 * two functions: it does not know that a failed mkostemp() sets errno, so it
 * takes tmpfile_create()'s `return -errno` for a possible 0, a descriptor
 * returned without @ret_tmp set, and then sees unlink(NULL). Every fd >= 0
 * tmpfile_create() returns comes with the name set.
 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-null-argument"
#endif
int tmpfile_commit(int fd, const char *tmp, const char *path)
{
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return fsync_parent(path);
}

int write_file_atomic(const char *path, const void *buf, size_t len, int mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd = tmpfile_create(path, mode, &tmp);
	int r;

	if (fd < 0)
		return fd;
	r = pwrite_full(fd, buf, len, 0);
	if (r >= 0)
		r = tmpfile_commit(fd, tmp, path);
	else
		unlink(tmp);
	close(fd);
	return r;
}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif
