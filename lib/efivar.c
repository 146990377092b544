// SPDX-License-Identifier: LGPL-2.1-or-later
#include "efivar.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "ctx.h"
#include "fault.h"
#include "fileio.h"
#include "util.h"

#define EFIVARFS_MAGIC 0xde5e81e4
#define EFIVARS_DIR "/sys/firmware/efi/efivars"

static int var_path(const struct sf_ctx *ctx, const char *name,
		    const char *guid, char *buf, size_t size)
{
	char rel[256];

	snprintf(rel, sizeof(rel), EFIVARS_DIR "/%s-%s", name, guid);
	return sf_root_path(ctx, rel, buf, size);
}

int efivar_check_available(const struct sf_ctx *ctx)
{
	char dir[4096];
	struct stat st;

	sf_root_path(ctx, EFIVARS_DIR, dir, sizeof(dir));
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return sf_err(ctx, -ENOENT,
		      "efivarfs is not mounted at %s: mount -t efivarfs "
		      "efivarfs %s",
		      dir, dir);
}

/* Read the whole variable file (attributes + data) into @buf. */
static int read_raw(const char *path, uint8_t *buf, size_t cap)
{
	_cleanup_close_ int fd =
		open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL;
	/* A variable that fills @buf may be longer: refused, not cut. */
	n = read_full(fd, buf, cap);
	return n == (ssize_t)cap ? -E2BIG : (int)n;
}

int efivar_read(const struct sf_ctx *ctx, const char *name, const char *guid,
		uint32_t *ret_attr, void *buf, size_t cap)
{
	uint8_t raw[EFIVAR_MAX_DATA + 5];
	char path[4096];
	int n;

	if (var_path(ctx, name, guid, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	n = read_raw(path, raw, sizeof(raw));
	if (n == -E2BIG || (n > 4 && (size_t)n - 4 > cap))
		return sf_err(ctx, -E2BIG, "EFI variable %s is too large",
			      name);
	if (n == 0)
		return -ENOENT;
	if (n < 0)
		return n;
	if (n < 4)
		return sf_err(ctx, -EBADMSG, "EFI variable %s is truncated",
			      name);
	if (ret_attr)
		*ret_attr = le32_load(raw);
	memcpy(buf, raw + 4, (size_t)n - 4);
	return n - 4;
}

/* Clear FS_IMMUTABLE_FL; returns the old flags, or -1 if unsupported. */
static int make_mutable(int fd)
{
	int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -1;
	if (flags & FS_IMMUTABLE_FL) {
		int cleared = flags & ~FS_IMMUTABLE_FL;

		if (ioctl(fd, FS_IOC_SETFLAGS, &cleared) < 0)
			return -1;
	}
	return flags;
}

static void restore_flags(int fd, int flags)
{
	if (flags >= 0 && (flags & FS_IMMUTABLE_FL))
		ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

static int write_error(const struct sf_ctx *ctx, const char *name, int r)
{
	if (r == -ENOSPC)
		return sf_err(ctx, r,
			      "firmware refused to store %s: NVRAM is full "
			      "(ENOSPC)",
			      name);
	if (r == -EROFS || r == -EACCES || r == -EPERM)
		return sf_err(
			ctx, r,
			"cannot write EFI variable %s: efivarfs is "
			"read-only or the firmware refused the write (%s)",
			name, strerror(-r));
	return sf_err(ctx, r, "cannot write EFI variable %s: %s", name,
		      strerror(-r));
}

/* Is the variable already exactly @attr + @data? */
static bool unchanged(const char *path, uint32_t attr, const void *data,
		      size_t len)
{
	uint8_t raw[EFIVAR_MAX_DATA + 5];
	int n = read_raw(path, raw, sizeof(raw));

	return n >= 4 && (size_t)n == len + 4 && le32_load(raw) == attr &&
	       memcmp(raw + 4, data, len) == 0;
}

/*
 * An immutable file cannot even be opened for writing, nor removed: clear
 * the flag through a read-only descriptor first (efivarfs makes every
 * existing non-standard variable immutable). Returns that descriptor (the
 * flag is put back through it, whatever happens next), or -1 when the
 * file does not exist; *@ret_flags: the flags to put back, or -1.
 */
static int open_mutable(const char *path, int *ret_flags)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	*ret_flags = fd >= 0 ? make_mutable(fd) : -1;
	return fd;
}

static int write_raw(const struct sf_ctx *ctx, const char *name,
		     const char *path, const uint8_t *buf, size_t len)
{
	_cleanup_close_ int fd = -1, ro = -1;
	struct statfs sfs;
	ssize_t n;
	int flags, r = 1;

	ro = open_mutable(path, &flags);
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		r = -errno;
	else {
		sf_fault_point(ctx, "efivar write");
		/* One write() is one SetVariable(): never split it. */
		n = write(fd, buf, len);
		if (n < 0 || (size_t)n != len)
			r = n < 0 ? -errno : -EIO;
		/* On a plain file (tests), drop the tail of a longer old
		 * value. */
		else if (fstatfs(fd, &sfs) == 0 &&
			 sfs.f_type != EFIVARFS_MAGIC &&
			 ftruncate(fd, (off_t)len) < 0)
			r = -errno;
	}
	if (ro >= 0)
		restore_flags(ro, flags);
	/* A variable this write created and could not fill is not left
	 * behind empty (a plain directory keeps it; efivarfs may too). */
	else if (r < 0 && fd >= 0)
		unlink(path);
	return r < 0 ? write_error(ctx, name, r) : r;
}

int efivar_write(const struct sf_ctx *ctx, const char *name, const char *guid,
		 uint32_t attr, const void *data, size_t len)
{
	uint8_t buf[EFIVAR_MAX_DATA + 4];
	char path[4096];

	if (len > EFIVAR_MAX_DATA)
		return sf_err(ctx, -E2BIG, "EFI variable %s: %zu bytes", name,
			      len);
	if (var_path(ctx, name, guid, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (unchanged(path, attr, data, len))
		return 0;
	le32_store(buf, attr);
	memcpy(buf + 4, data, len);
	return write_raw(ctx, name, path, buf, len + 4);
}

int efivar_delete(const struct sf_ctx *ctx, const char *name, const char *guid)
{
	_cleanup_close_ int ro = -1;
	char path[4096];
	int flags, r = 1;

	if (var_path(ctx, name, guid, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	ro = open_mutable(path, &flags);
	if (ro < 0)
		return errno == ENOENT ? 0 : write_error(ctx, name, -errno);
	sf_fault_point(ctx, "efivar delete");
	if (unlink(path) < 0) {
		r = errno == ENOENT ? 0 : -errno;
		/* Still there: immutable again, as efivarfs keeps it. */
		restore_flags(ro, flags);
	}
	return r < 0 ? write_error(ctx, name, r) : r;
}

int efivar_get_u16(const struct sf_ctx *ctx, const char *name, uint16_t *ret)
{
	uint8_t buf[2];
	int n = efivar_read(ctx, name, EFI_GLOBAL_GUID, NULL, buf, sizeof(buf));

	if (n < 0)
		return n;
	if (n != 2)
		return sf_err(ctx, -EBADMSG, "EFI variable %s: %d bytes, not 2",
			      name, n);
	*ret = le16_load(buf);
	return 0;
}

int efivar_secure_boot(const struct sf_ctx *ctx)
{
	uint8_t v;
	int n = efivar_read(ctx, EFI_SECURE_BOOT_VAR, EFI_GLOBAL_GUID, NULL, &v,
			    sizeof(v));

	if (n < 0)
		return n;
	if (n != 1 || v > 1)
		return sf_err(ctx, -EBADMSG,
			      "EFI variable %s is not one byte 0 or 1",
			      EFI_SECURE_BOOT_VAR);
	return v;
}

int efivar_set_boot_next(const struct sf_ctx *ctx, uint16_t entry)
{
	uint8_t buf[2];

	le16_store(buf, entry);
	return efivar_write(ctx, "BootNext", EFI_GLOBAL_GUID,
			    EFI_VARIABLE_NV_BS_RT, buf, sizeof(buf));
}

int efivar_get_boot_order(const struct sf_ctx *ctx, uint16_t *ret, size_t cap)
{
	uint8_t buf[2 * EFI_MAX_BOOT_ORDER];
	int n = efivar_read(ctx, "BootOrder", EFI_GLOBAL_GUID, NULL, buf,
			    sizeof(buf));

	if (n < 0)
		return n;
	if (n % 2)
		return sf_err(ctx, -EBADMSG, "BootOrder has an odd length");
	if ((size_t)n / 2 > cap)
		return -E2BIG;
	for (int i = 0; i < n / 2; i++)
		ret[i] = le16_load(buf + 2 * i);
	return n / 2;
}

int efivar_set_boot_order(const struct sf_ctx *ctx, const uint16_t *order,
			  size_t n)
{
	uint8_t buf[2 * EFI_MAX_BOOT_ORDER];

	if (n > EFI_MAX_BOOT_ORDER)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		le16_store(buf + 2 * i, order[i]);
	return efivar_write(ctx, "BootOrder", EFI_GLOBAL_GUID,
			    EFI_VARIABLE_NV_BS_RT, buf, 2 * n);
}

void efivar_boot_name(uint16_t entry, char buf[9])
{
	snprintf(buf, 9, "Boot%04X", entry);
}

int efi_guid_parse(const char *s, uint8_t out[16])
{
	unsigned v[11];
	int n = 0;

	if (strlen(s) != 36 ||
	    sscanf(s, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x%n", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		   &v[10], &n) != 11 ||
	    n != 36)
		return -EINVAL;
	le32_store(out, v[0]);
	le16_store(out + 4, (uint16_t)v[1]);
	le16_store(out + 6, (uint16_t)v[2]);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)v[3 + i];
	return 0;
}

/* ASCII @s as NUL-terminated UCS-2 at @p. Returns bytes, or -EINVAL. */
static int put_ucs2(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i <= n; i++) {
		if ((unsigned char)s[i] > 0x7e ||
		    (s[i] && (unsigned char)s[i] < 0x20))
			return -EINVAL;
		le16_store(p + 2 * i, (uint8_t)s[i]);
	}
	return (int)(2 * (n + 1));
}

#define HD_NODE_LEN 42u

int efi_load_option_encode(const struct efi_load_option *opt, uint8_t *buf,
			   size_t cap)
{
	size_t dlen = 2 * (strnlen(opt->description, 127) + 1);
	size_t flen = 4 + 2 * (strnlen(opt->path, 255) + 1);
	size_t list = HD_NODE_LEN + flen + 4, total = 6 + dlen + list;
	uint8_t *p = buf + 6;

	if (total > cap)
		return -E2BIG;
	le32_store(buf, opt->attributes);
	le16_store(buf + 4, (uint16_t)list);
	if (put_ucs2(p, opt->description) < 0)
		return -EINVAL;
	p += dlen;
	p[0] = 0x04, p[1] = 0x01;
	le16_store(p + 2, HD_NODE_LEN);
	le32_store(p + 4, opt->part_number);
	le64_store(p + 8, opt->part_start);
	le64_store(p + 16, opt->part_size);
	memcpy(p + 24, opt->part_guid, 16);
	p[40] = 0x02, p[41] = 0x02; /* GPT, GUID signature */
	p += HD_NODE_LEN;
	p[0] = 0x04, p[1] = 0x04;
	le16_store(p + 2, (uint16_t)flen);
	if (put_ucs2(p + 4, opt->path) < 0)
		return -EINVAL;
	p += flen;
	p[0] = 0x7f, p[1] = 0xff, p[2] = 0x04, p[3] = 0x00;
	return (int)total;
}

/* UCS-2 (ASCII only) at @p, @max bytes at most, NUL-terminated. */
static int get_ucs2(const uint8_t *p, size_t max, char *out, size_t cap)
{
	for (size_t i = 0; 2 * i + 1 < max && i < cap; i++) {
		uint16_t c = le16_load(p + 2 * i);

		if (c == 0) {
			out[i] = '\0';
			return (int)(2 * (i + 1));
		}
		if (c < 0x20 || c > 0x7e)
			return -EBADMSG;
		out[i] = (char)c;
	}
	return -EBADMSG;
}

static int decode_hd(const uint8_t *p, size_t left, struct efi_load_option *o)
{
	if (left < 4 || p[0] != 0x04 || p[1] != 0x01)
		return -EOPNOTSUPP;
	if (le16_load(p + 2) != HD_NODE_LEN || left < HD_NODE_LEN ||
	    p[40] != 0x02 || p[41] != 0x02)
		return -EBADMSG;
	o->part_number = le32_load(p + 4);
	o->part_start = le64_load(p + 8);
	o->part_size = le64_load(p + 16);
	memcpy(o->part_guid, p + 24, 16);
	return HD_NODE_LEN;
}

static int decode_file(const uint8_t *p, size_t left, struct efi_load_option *o)
{
	uint16_t len;
	int n;

	if (left < 4 || p[0] != 0x04 || p[1] != 0x04)
		return -EOPNOTSUPP;
	len = le16_load(p + 2);
	if (len < 6 || len > left || len % 2)
		return -EBADMSG;
	n = get_ucs2(p + 4, len - 4u, o->path, sizeof(o->path));
	return n == len - 4 ? len : -EBADMSG;
}

int efi_load_option_decode(const struct sf_ctx *ctx, const uint8_t *buf,
			   size_t len, struct efi_load_option *ret)
{
	struct efi_load_option o = { .attributes = 0 };
	size_t list, pos;
	int n;

	if (len < 6)
		return sf_err(ctx, -EBADMSG, "load option truncated");
	o.attributes = le32_load(buf);
	list = le16_load(buf + 4);
	n = get_ucs2(buf + 6, len - 6, o.description, sizeof(o.description));
	if (n < 0)
		return sf_err(ctx, -EBADMSG, "load option: bad description");
	pos = 6 + (size_t)n;
	if (list > len - pos)
		return sf_err(ctx, -EBADMSG, "load option: path list overruns");
	n = decode_hd(buf + pos, list, &o);
	if (n >= 0) {
		pos += (size_t)n;
		n = decode_file(buf + pos, list - HD_NODE_LEN, &o);
	}
	if (n == -EOPNOTSUPP)
		return -EOPNOTSUPP;
	if (n < 0 || list != HD_NODE_LEN + (size_t)n + 4 ||
	    memcmp(buf + pos + n, "\x7f\xff\x04\x00", 4) != 0)
		return sf_err(ctx, -EBADMSG, "load option: malformed path");
	*ret = o;
	return 0;
}
