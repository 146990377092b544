// SPDX-License-Identifier: LGPL-2.1-or-later
#include "partdev.h"

#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

/* GPT partition names are 36 UTF-16 code units. */
#define GPT_NAME_MAX 36

struct query {
	const char *sysfs, *devdir;
	const char *spec;
	bool by_uuid;
	const char *value;
};

/* The value of a PARTLABEL= or PARTUUID= @spec, or NULL. */
static const char *spec_value(const char *spec, bool *ret_by_uuid)
{
	*ret_by_uuid = !strncmp(spec, "PARTUUID=", 9);
	if (*ret_by_uuid)
		return spec + 9;
	return strncmp(spec, "PARTLABEL=", 10) ? NULL : spec + 10;
}

blkid_partition sf_partlist_match(blkid_partlist ls, const char *spec)
{
	bool by_uuid;
	const char *want = spec_value(spec, &by_uuid);

	for (int i = 0, n = want ? blkid_partlist_numof_partitions(ls) : 0;
	     i < n; i++) {
		blkid_partition par = blkid_partlist_get_partition(ls, i);
		const char *v = by_uuid ? blkid_partition_get_uuid(par)
					: blkid_partition_get_name(par);

		if (v && (by_uuid ? !strcasecmp(v, want) : !strcmp(v, want)))
			return par;
	}
	return NULL;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* @attr of block device @dev ("DEV" or "DISK/PART") in sysfs. */
static int block_attr(const struct query *q, const char *dev, const char *attr,
		      char *buf, size_t size)
{
	char path[4096];
	ssize_t r;

	if (snprintf(path, sizeof(path), "%s/class/block/%s/%s", q->sysfs, dev,
		     attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	r = read_text_file(path, buf, size);
	return r < 0 ? (int)r : 0;
}

/* The directory of @dev under sysfs's class/block ("" for all of them). */
static DIR *block_dir(const struct query *q, const char *dev)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/class/block/%s", q->sysfs, dev) >=
	    (int)sizeof(path))
		return NULL;
	return opendir(path);
}

/* The value of a KEY=value line of a uevent file, or NULL. */
static const char *uevent_value(const char *uevent, const char *key, char *out,
				size_t size)
{
	size_t klen = strlen(key), len;

	for (const char *l = uevent; *l; l += len + (l[len] == '\n')) {
		len = strcspn(l, "\n");
		if (len > klen && !strncmp(l, key, klen) && l[klen] == '=' &&
		    len - klen - 1 < size) {
			memcpy(out, l + klen + 1, len - klen - 1);
			out[len - klen - 1] = '\0';
			return out;
		}
	}
	return NULL;
}

static int dev_path(const struct query *q, const char *name, char *buf,
		    size_t size)
{
	return snprintf(buf, size, "%s/%s", q->devdir, name) >= (int)size
		       ? -ENAMETOOLONG
		       : 0;
}

/*
 * The kernel keeps only the low byte of each UTF-16 unit of a GPT name
 * (non-printable ones become '!'): a name of printable ASCII is shown
 * exactly, others are left to libblkid.
 */
static bool kernel_shows_exactly(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > GPT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e || name[i] == '!')
			return false;
	return true;
}

/* 0 and the one partition named so in sysfs; -ENOENT none; -EEXIST more
 * than one. */
static int by_partname(const struct query *q, char *buf, size_t size)
{
	_cleanup_(closedirp) DIR *d = block_dir(q, "");
	char uevent[1024], val[256], found[256] = "";
	struct dirent *e;
	int n = 0;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    block_attr(q, e->d_name, "uevent", uevent, sizeof(uevent)) <
			    0 ||
		    !uevent_value(uevent, "PARTNAME", val, sizeof(val)) ||
		    strcmp(val, q->value) ||
		    !uevent_value(uevent, "DEVNAME", val, sizeof(val)))
			continue;
		if (n++ == 0)
			snprintf(found, sizeof(found), "%s", val);
	}
	if (n > 1)
		return -EEXIST;
	return n ? dev_path(q, found, buf, size) : -ENOENT;
}

/* The partition number of the partition of @disk's table that matches,
 * or -ENOENT. */
static int table_match(const struct query *q, const char *disk)
{
	char path[4096];
	blkid_probe pr;
	blkid_partlist ls;
	blkid_partition par;
	int r = -ENOENT;

	if (snprintf(path, sizeof(path), "%s/%s", q->devdir, disk) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return -ENOENT;
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	ls = blkid_probe_get_partitions(pr);
	par = ls ? sf_partlist_match(ls, q->spec) : NULL;
	if (par)
		r = blkid_partition_get_partno(par);
	blkid_free_probe(pr);
	return r;
}

/* The device of partition @partno of @disk: the child of the disk in
 * sysfs whose "partition" attribute is @partno. */
static int partition_dev(const struct query *q, const char *disk, int partno,
			 char *buf, size_t size)
{
	_cleanup_(closedirp) DIR *d = block_dir(q, disk);
	char child[512], num[32];
	struct dirent *e;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    snprintf(child, sizeof(child), "%s/%s", disk, e->d_name) >=
			    (int)sizeof(child) ||
		    block_attr(q, child, "partition", num, sizeof(num)) < 0 ||
		    atoi(num) != partno)
			continue;
		return dev_path(q, e->d_name, buf, size);
	}
	return -ENOENT;
}

/* libblkid on the partition table of each whole disk in sysfs. */
static int by_tables(const struct query *q, char *buf, size_t size)
{
	_cleanup_(closedirp) DIR *d = block_dir(q, "");
	char num[32];
	struct dirent *e;
	int partno;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    block_attr(q, e->d_name, "partition", num, sizeof(num)) !=
			    -ENOENT)
			continue; /* a partition, not a whole disk */
		partno = table_match(q, e->d_name);
		if (partno >= 0)
			return partition_dev(q, e->d_name, partno, buf, size);
	}
	return -ENOENT;
}

/* @spec into @q: 0 or -EINVAL. */
static int parse_spec(struct query *q, const char *spec)
{
	q->spec = spec;
	q->value = spec_value(spec, &q->by_uuid);
	return q->value && q->value[0] ? 0 : -EINVAL;
}

int sf_partdev_find_sysfs(const char *sysfs, const char *devdir,
			  const char *spec, char *buf, size_t size)
{
	struct query q = { .sysfs = sysfs, .devdir = devdir };
	int r = parse_spec(&q, spec);

	if (r < 0)
		return r;
	if (q.by_uuid || !kernel_shows_exactly(q.value))
		return -EAGAIN;
	r = by_partname(&q, buf, size);
	return r == -EEXIST || r == -ENOENT ? -EAGAIN : r;
}

int sf_partdev_find_tables(const char *sysfs, const char *devdir,
			   const char *spec, char *buf, size_t size)
{
	struct query q = { .sysfs = sysfs, .devdir = devdir };
	int r = parse_spec(&q, spec);

	return r < 0 ? r : by_tables(&q, buf, size);
}

int sf_partdev_find(const char *sysfs, const char *devdir, const char *spec,
		    char *buf, size_t size)
{
	int r = sf_partdev_find_sysfs(sysfs, devdir, spec, buf, size);

	if (r != -EAGAIN)
		return r;
	return sf_partdev_find_tables(sysfs, devdir, spec, buf, size);
}

int sf_partdev_stamp(const char *sysfs, uint64_t *ret)
{
	struct query q = { .sysfs = sysfs };
	_cleanup_(closedirp) DIR *d = block_dir(&q, "");
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		for (const char *c = e->d_name; *c; c++)
			h = (h ^ (uint8_t)*c) * 1099511628211ull;
		h = (h ^ '/') * 1099511628211ull;
	}
	*ret = h;
	return 0;
}
