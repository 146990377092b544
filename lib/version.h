/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Versions: 1 to 8 dot-separated decimal numbers (docs/FORMAT.md,
 * "Versions"). Missing trailing numbers count as zero.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define SF_VERSION_MAX_PARTS 8
#define SF_VERSION_MAX_LEN 63

/* The version of the running system (optional; written by the build,
 * initrd/mkinitramfs.sh -v, into the initramfs and the slot's root). */
#define SF_VERSION_FILE "/etc/slotflip/version"

struct sf_version {
	uint32_t part[SF_VERSION_MAX_PARTS];
	unsigned n_parts;
};

/*
 * sf_version_parse - parse @s into @ret.
 * Returns 0, or -EINVAL if @s is not a version (empty, too long, a part
 * with a leading zero or over 4294967295, more than 8 parts, any other
 * character); @ret is untouched then.
 */
int sf_version_parse(const char *s, struct sf_version *ret);

/* sf_version_cmp - <0, 0 or >0 as @a is lower than, equal to or above @b. */
int sf_version_cmp(const struct sf_version *a, const struct sf_version *b);

/*
 * sf_version_cmp_str - compare two version strings.
 * Returns 0 and sets *@ret_cmp, or -EINVAL if either is not a version.
 */
int sf_version_cmp_str(const char *a, const char *b, int *ret_cmp);

/*
 * sf_version_file_read - the version in ROOT/etc/slotflip/version (its
 * first line) into @buf (@size bytes, left empty on failure). Logs
 * nothing. Returns 0; -ENOENT (absent or unreadable); -EINVAL (not a
 * version, or longer than @size - 1).
 */
int sf_version_file_read(const struct sf_ctx *ctx, char *buf, size_t size);
