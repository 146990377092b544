/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding a partition's block device by its GPT name (PARTLABEL=) or its
 * GPT unique GUID (PARTUUID=), without probing every device's filesystem:
 * first the names the kernel itself read from the partition tables
 * (PARTNAME= in /sys/class/block/NAME/uevent, what the kernel matches
 * root=PARTLABEL= against), then, for UUIDs and for names the kernel
 * cannot show exactly, libblkid on the partition tables of the whole
 * disks only (no filesystem probing).
 */
#pragma once

#include <blkid/blkid.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/*
 * sf_partdev_find - the device node of the partition @spec names
 * ("PARTLABEL=NAME" or "PARTUUID=GUID", the GUID in any case).
 * @sysfs:	the sysfs mount ("/sys"; a tree laid out like it in tests)
 * @devdir:	where the device nodes are ("/dev")
 * @buf, @size:	receives "@devdir/DEVNAME"
 * Two partitions with the same name: the first one in the order of
 * /sys/class/block that libblkid reads a table of. Logs nothing.
 * Returns 0, -ENOENT (no such partition, or no sysfs), -EINVAL (@spec is
 * neither form), -ENAMETOOLONG.
 */
int sf_partdev_find(const char *sysfs, const char *devdir, const char *spec,
		    char *buf, size_t size);

/*
 * sf_partdev_find_sysfs - sf_partdev_find() without reading a partition
 * table: a few reads of sysfs, cheap enough to poll.
 * Returns 0, -EAGAIN when only the tables can tell (a PARTUUID=, a name
 * the kernel cannot show exactly, a name sysfs does not hold or holds
 * twice), -EINVAL, -ENAMETOOLONG.
 */
int sf_partdev_find_sysfs(const char *sysfs, const char *devdir,
			  const char *spec, char *buf, size_t size);

/*
 * sf_partdev_find_tables - sf_partdev_find() by the partition tables
 * alone (libblkid): what a poller calls for a spec that
 * sf_partdev_find_sysfs() could not settle, without looking in sysfs
 * again. Returns as sf_partdev_find().
 */
int sf_partdev_find_tables(const char *sysfs, const char *devdir,
			   const char *spec, char *buf, size_t size);

/*
 * sf_partdev_stamp - a hash of the names in @sysfs/class/block: it changes
 * when a block device or partition comes or goes, so that a poller reads
 * the partition tables again only then.
 * Returns 0 or -errno (no sysfs).
 */
int sf_partdev_stamp(const char *sysfs, uint64_t *ret);

/*
 * sf_partlist_match - the first partition of @ls (a libblkid partition
 * list) that @spec names: "PARTLABEL=NAME" (the GPT name, exactly) or
 * "PARTUUID=GUID" (the unique partition GUID, in any case).
 * Returns the partition, or NULL (none matches, or @spec is neither form).
 */
blkid_partition sf_partlist_match(blkid_partlist ls, const char *spec);
