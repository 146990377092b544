// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint64_t fd_size(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);

	return end > 0 ? (uint64_t)end : 0;
}

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

/* Open @path with @flags, never blocking in open() (O_NONBLOCK: a FIFO
 * has no writer, a device node may wait for a carrier); O_NONBLOCK is
 * cleared again once the type is known to be @type or @type2. */
static int open_typed(int dirfd, const char *path, int flags, mode_t type,
		      mode_t type2)
{
	_cleanup_close_ int fd =
		openat(dirfd, path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	int fl;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_mode & S_IFMT) != type && (st.st_mode & S_IFMT) != type2)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int open_regular_at(int dirfd, const char *path, int flags)
{
	return open_typed(dirfd, path, flags, S_IFREG, S_IFREG);
}

int open_device(const char *path, int flags)
{
	return open_typed(AT_FDCWD, path, flags, S_IFREG, S_IFBLK);
}

/* Six characters of [A-Za-z0-9], from the kernel's random pool. */
static void random_suffix(char *out, unsigned attempt)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t rnd[6];

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
		/* Early in a boot: names only need to differ. */
		uint64_t t = (uint64_t)getpid() * 2654435761u ^
			     (uint64_t)time(NULL) ^ (uint64_t)clock() ^
			     (uint64_t)attempt << 40;

		memcpy(rnd, &t, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		out[i] = set[rnd[i] % (sizeof(set) - 1)];
	out[sizeof(rnd)] = '\0';
}

int tmpfile_create_at(int dirfd, const char *name, int mode, char **ret_tmp)
{
	_cleanup_free_ char *tmp = NULL;
	size_t len;
	int fd = -EEXIST;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", name) < 0)
		return -ENOMEM;
	len = strlen(tmp);
	for (int i = 0; i < 100 && fd == -EEXIST; i++) {
		random_suffix(tmp + len - 6, (unsigned)i);
		/* O_EXCL: nothing planted under the name is opened. */
		fd = openat(dirfd, tmp,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;
	if (fchmod(fd, (mode_t)mode) < 0) {
		int r = -errno;

		close(fd);
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	*ret_tmp = TAKE_PTR(tmp);
	return fd;
}

int tmpfile_create(const char *path, int mode, char **ret_tmp)
{
	return tmpfile_create_at(AT_FDCWD, path, mode, ret_tmp);
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

/* fsync the directory @dirfd, or @name's when it is AT_FDCWD. */
static int fsync_dir(int dirfd, const char *name)
{
	if (dirfd == AT_FDCWD)
		return fsync_parent(name);
	return fsync(dirfd) < 0 ? -errno : 0;
}

int tmpfile_commit_at(int dirfd, int fd, const char *tmp, const char *name)
{
	if (fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		int r = -errno;

		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return fsync_dir(dirfd, name);
}

int tmpfile_commit(int fd, const char *tmp, const char *path)
{
	return tmpfile_commit_at(AT_FDCWD, fd, tmp, path);
}

int unlink_at_synced(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) < 0)
		return -errno;
	return fsync_dir(dirfd, name);
}

int write_file_atomic_at(int dirfd, const char *name, const void *buf,
			 size_t len, int mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd = tmpfile_create_at(dirfd, name, mode, &tmp);
	int r;

	if (fd < 0)
		return fd;
	r = pwrite_full(fd, buf, len, 0);
	if (r >= 0)
		r = tmpfile_commit_at(dirfd, fd, tmp, name);
	else
		unlinkat(dirfd, tmp, 0);
	close(fd);
	return r;
}

int write_file_atomic(const char *path, const void *buf, size_t len, int mode)
{
	return write_file_atomic_at(AT_FDCWD, path, buf, len, mode);
}
