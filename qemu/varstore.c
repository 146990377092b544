// SPDX-License-Identifier: LGPL-2.1-or-later
#include "varstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efivar.h"
#include "fileio.h"
#include "util.h"

#define FVH_SIG_OFF 40
#define FVH_LEN_OFF 48
#define STORE_HDR_SIZE 28
#define REC_HDR_SIZE 60
#define REC_START_ID 0x55AA
#define VAR_ADDED 0x3F
#define VAR_IN_DELETED_TRANSITION 0xFE
#define VAR_DELETED 0xFD
#define STORE_GUID "aaf32c78-947b-439a-a180-2e144ec37792"
#define VARSTORE_MAX (64u << 20)

/* Offsets inside a record header. */
enum {
	R_START = 0,
	R_STATE = 2,
	R_ATTR = 4,
	R_NAME_SIZE = 36,
	R_DATA_SIZE = 40,
	R_GUID = 44,
};

void varstore_guid_format(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 le32_load(g), le16_load(g + 4), le16_load(g + 6), g[8], g[9],
		 g[10], g[11], g[12], g[13], g[14], g[15]);
}

static size_t align4(size_t x)
{
	return (x + 3) & ~(size_t)3;
}

static int check_headers(const struct sf_ctx *ctx, struct varstore *vs)
{
	uint8_t guid[16];
	size_t hlen, ssize;

	efi_guid_parse(STORE_GUID, guid);
	if (vs->size < 64 || memcmp(vs->buf + FVH_SIG_OFF, "_FVH", 4))
		return sf_err(ctx, -EBADMSG,
			      "not an OVMF varstore: no firmware volume "
			      "header (\"_FVH\")");
	hlen = le16_load(vs->buf + FVH_LEN_OFF);
	if (hlen + STORE_HDR_SIZE > vs->size ||
	    memcmp(vs->buf + hlen, guid, 16))
		return sf_err(ctx, -EBADMSG,
			      "not an authenticated-variable store (want GUID "
			      "%s after the volume header)",
			      STORE_GUID);
	ssize = le32_load(vs->buf + hlen + 16);
	if (ssize < STORE_HDR_SIZE || hlen + ssize > vs->size)
		return sf_err(ctx, -EBADMSG,
			      "variable store size %zu does not fit the file",
			      ssize);
	vs->store_off = hlen;
	vs->store_end = hlen + ssize;
	vs->vars_off = align4(hlen + STORE_HDR_SIZE);
	return 0;
}

int varstore_load(const struct sf_ctx *ctx, const char *path,
		  struct varstore *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct varstore vs = { 0 };
	struct stat st;
	int r;

	if (fd < 0)
		return sf_err(ctx, -errno, "cannot open %s: %m", path);
	if (fstat(fd, &st) < 0)
		return sf_err(ctx, -errno, "cannot stat %s: %m", path);
	if (!S_ISREG(st.st_mode) || st.st_size > VARSTORE_MAX)
		return sf_err(ctx, -EBADMSG, "%s: not a varstore file", path);
	vs.size = (size_t)st.st_size;
	vs.buf = malloc(vs.size ? vs.size : 1);
	if (!vs.buf)
		return -ENOMEM;
	r = pread_full(fd, vs.buf, vs.size, 0);
	if (r < 0) {
		free(vs.buf);
		return sf_err(ctx, r, "cannot read %s", path);
	}
	r = check_headers(ctx, &vs);
	if (r < 0) {
		free(vs.buf);
		return r;
	}
	*ret = vs;
	return 0;
}

int varstore_save(const struct sf_ctx *ctx, const struct varstore *vs,
		  const char *path)
{
	int r = write_file_atomic(path, vs->buf, vs->size, 0644);

	if (r < 0)
		return sf_err(ctx, r, "cannot write %s: %s", path,
			      strerror(-r));
	return 0;
}

void varstore_free(struct varstore *vs)
{
	free(vs->buf);
	vs->buf = NULL;
}

/* The record at @off: its total (aligned) length, or 0 at the end. */
static size_t record_len(const struct varstore *vs, size_t off)
{
	const uint8_t *p = vs->buf + off;
	uint64_t n;

	if (off + REC_HDR_SIZE > vs->store_end ||
	    le16_load(p + R_START) != REC_START_ID)
		return 0;
	n = (uint64_t)REC_HDR_SIZE + le32_load(p + R_NAME_SIZE) +
	    le32_load(p + R_DATA_SIZE);
	if (off + n > vs->store_end)
		return 0;
	return align4((size_t)n);
}

static bool live(uint8_t state)
{
	return state == VAR_ADDED ||
	       state == (VAR_ADDED & VAR_IN_DELETED_TRANSITION);
}

/* Decode the record at @off into @v. Returns false for a non-ASCII name. */
static bool decode(const struct varstore *vs, size_t off,
		   struct varstore_var *v)
{
	const uint8_t *p = vs->buf + off;
	size_t nsize = le32_load(p + R_NAME_SIZE), i;

	if (nsize / 2 > sizeof(v->name))
		return false;
	for (i = 0; i < nsize / 2; i++) {
		uint16_t c = le16_load(p + REC_HDR_SIZE + 2 * i);

		if (c > 0x7e)
			return false;
		v->name[i] = (char)c;
		if (!c)
			break;
	}
	if (i == sizeof(v->name))
		return false;
	v->name[i] = '\0';
	memcpy(v->guid, p + R_GUID, 16);
	v->attr = le32_load(p + R_ATTR);
	v->data = p + REC_HDR_SIZE + nsize;
	v->len = le32_load(p + R_DATA_SIZE);
	return true;
}

/* Offset of the live record of @name/@guid (the last added one), or 0. */
static size_t find(const struct varstore *vs, const char *name,
		   const uint8_t guid[16])
{
	size_t off = vs->vars_off, len, found = 0;
	struct varstore_var v;

	while ((len = record_len(vs, off))) {
		uint8_t state = vs->buf[off + R_STATE];

		if (live(state) && decode(vs, off, &v) &&
		    !strcmp(v.name, name) && !memcmp(v.guid, guid, 16) &&
		    (!found || state == VAR_ADDED))
			found = off;
		off += len;
	}
	return found;
}

int varstore_get(const struct varstore *vs, const char *name,
		 const uint8_t guid[16], uint32_t *ret_attr, void *buf,
		 size_t cap)
{
	size_t off = find(vs, name, guid);
	struct varstore_var v;

	if (!off || !decode(vs, off, &v))
		return -ENOENT;
	if (v.len > cap)
		return -E2BIG;
	memcpy(buf, v.data, v.len);
	if (ret_attr)
		*ret_attr = v.attr;
	return (int)v.len;
}

static size_t end_of_records(const struct varstore *vs)
{
	size_t off = vs->vars_off, len;

	while ((len = record_len(vs, off)))
		off += len;
	return off;
}

int varstore_set(struct varstore *vs, const char *name, const uint8_t guid[16],
		 uint32_t attr, const void *data, size_t len)
{
	size_t nlen = strlen(name), old = find(vs, name, guid);
	size_t off = end_of_records(vs), total;
	uint8_t *p;

	if (nlen == 0 || nlen >= 128)
		return -EINVAL;
	for (size_t i = 0; i < nlen; i++)
		if ((unsigned char)name[i] < 0x20 ||
		    (unsigned char)name[i] > 0x7e)
			return -EINVAL;
	total = REC_HDR_SIZE + 2 * (nlen + 1) + len;
	if (len > EFIVAR_MAX_DATA || off + total > vs->store_end)
		return -ENOSPC;
	for (size_t i = off; i < off + align4(total) && i < vs->store_end; i++)
		if (vs->buf[i] != 0xFF)
			return -ENOSPC; /* not free space: refuse to overwrite */
	p = vs->buf + off;
	memset(p, 0, REC_HDR_SIZE);
	le16_store(p + R_START, REC_START_ID);
	p[R_STATE] = VAR_ADDED;
	le32_store(p + R_ATTR, attr);
	le32_store(p + R_NAME_SIZE, (uint32_t)(2 * (nlen + 1)));
	le32_store(p + R_DATA_SIZE, (uint32_t)len);
	memcpy(p + R_GUID, guid, 16);
	for (size_t i = 0; i <= nlen; i++)
		le16_store(p + REC_HDR_SIZE + 2 * i, (uint8_t)name[i]);
	memcpy(p + REC_HDR_SIZE + 2 * (nlen + 1), data, len);
	if (old)
		vs->buf[old + R_STATE] &= VAR_DELETED;
	return 0;
}

int varstore_delete(struct varstore *vs, const char *name,
		    const uint8_t guid[16])
{
	size_t off;
	int n = 0;

	while ((off = find(vs, name, guid))) {
		vs->buf[off + R_STATE] &= VAR_DELETED;
		n = 1;
	}
	return n;
}

int varstore_foreach(const struct varstore *vs,
		     int (*fn)(const struct varstore_var *v, void *data),
		     void *data)
{
	size_t off = vs->vars_off, len;
	struct varstore_var v;
	int r;

	while ((len = record_len(vs, off))) {
		if (live(vs->buf[off + R_STATE]) && decode(vs, off, &v) &&
		    find(vs, v.name, v.guid) == off && (r = fn(&v, data)))
			return r;
		off += len;
	}
	return 0;
}
