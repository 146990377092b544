/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure parts of slotflip-init as PID 1, kept apart so that unit tests
 * can run them: the kernel command line options it reads, the module
 * list of the initramfs (/etc/slotflip/modules), and the wait for the
 * devices (on a sysfs and a /dev given, a tree laid out like them in
 * tests).
 *
 * Kernel command line options (all optional):
 *	slotflip.slot=a|b        which slot's UKI booted (read by boot.c)
 *	slotflip.timeout=SEC     wait this long for the devices (default 10)
 *	slotflip.watchdog=SEC    watchdog timeout for a trial boot (default 30)
 *	slotflip.init=PATH       the slot's init (default /sbin/init)
 *	slotflip.fail-delay=SEC  wait before the reboot when nothing can boot
 *	                         (default 10)
 *	ro | rw                  mount the slot's root read-only or read-write
 *	                         (the kernel's own words; the last one wins;
 *	                         default ro: slots are read-only images)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SF_MODULES_PATH "/etc/slotflip/modules"
#define SF_MODULE_NAME_MAX 64u
#define SF_MODULES_MAX 64u

struct sf_init_opts {
	unsigned timeout_s;
	unsigned watchdog_s;
	unsigned fail_delay_s;
	bool rw; /* "rw" came last of "ro" and "rw" */
	char init[256];
};

/*
 * sf_init_opts_parse - the slotflip.* options above from @cmdline, with
 * their defaults for absent ones. A bad value (not a number, 0, above
 * 3600 seconds, an init that is not an absolute path) keeps the default
 * and is named in @bad (@bad_size bytes, "" when all are good).
 */
void sf_init_opts_parse(const char *cmdline, struct sf_init_opts *ret,
			char *bad, size_t bad_size);

/* The most symbolic links followed for one path, as the kernel does. */
#define SF_INIT_LINKS_MAX 40u

/*
 * sf_init_resolve - find the slot's init @path inside the root directory
 * @root_fd, the way the kernel will after the root changed: every
 * symbolic link on the way is followed inside @root_fd (an absolute target
 * starts again at @root_fd, a relative one at the link's directory; ".."
 * never goes above @root_fd), at most SF_INIT_LINKS_MAX of them. The end
 * must be a regular file that may be executed.
 * On success the path it resolves to (absolute, inside @root_fd, no links
 * left) goes to @ret_path (@size bytes). On failure @at (@at_size bytes)
 * names the path (inside @root_fd) where it stopped, for the message.
 * Returns 0, -ENOENT (something on the way is missing), -ENOTDIR (a
 * component on the way is not a directory), -ELOOP (more than
 * SF_INIT_LINKS_MAX links), -EISDIR, -EACCES (not a regular file, or not
 * executable), -ENAMETOOLONG, or another -errno of the file system.
 */
int sf_init_resolve(int root_fd, const char *path, char *ret_path, size_t size,
		    char *at, size_t at_size);

/*
 * sf_init_resolve_why - a few words for an error of sf_init_resolve(),
 * "does not exist", "is a directory", ...
 */
const char *sf_init_resolve_why(int err);

/*
 * sf_modlist_parse - the module list: one module name a line, '#'
 * comments, blank lines ignored; names are [A-Za-z0-9_-]+ (dashes and
 * underscores are the same to the kernel). Names go to @names (@max
 * entries). Returns the number of names, -EINVAL with the line number in
 * *@ret_line for a bad name, -E2BIG for more than @max names.
 */
int sf_modlist_parse(const char *text, size_t len,
		     char (*names)[SF_MODULE_NAME_MAX], size_t max,
		     unsigned *ret_line);

#define SF_DEVWAIT_MAX 4u
/* Looks between two reads of the partition tables when sysfs's block
 * devices did not change. */
#define SF_DEVWAIT_TABLE_TICKS 20u

/*
 * The devices slotflip-init waits for. Set sysfs, devdir, n and spec[];
 * the rest starts zeroed.
 */
struct sf_devwait {
	const char *sysfs, *devdir;
	size_t n;
	const char *spec[SF_DEVWAIT_MAX]; /* PARTLABEL=, PARTUUID= or a path */
	char dev[SF_DEVWAIT_MAX][SF_CONFIG_VALUE_MAX]; /* "" until found */
	uint64_t stamp; /* sf_partdev_stamp() at the last table read */
	unsigned ticks; /* looks since then */
	unsigned table_reads; /* how often they were read */
};

/*
 * sf_devwait_look - one look for the devices not found yet, each found
 * one's node (that exists) into dev[]. A path is looked up as is, a
 * PARTLABEL= in sysfs (sf_partdev_find_sysfs()); the partition tables are
 * read (libblkid, sf_partdev_find_tables()) only when some spec needs them and
 * sysfs's block devices changed since the last read, or every
 * SF_DEVWAIT_TABLE_TICKS looks. Returns the number still missing.
 */
unsigned sf_devwait_look(struct sf_devwait *w);
