/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel command line: reading it and finding an option's value, the
 * way the kernel splits it (words, double quotes, the last one wins). One
 * parser for slotflip-init's options and for the booted slot (booted.c).
 */
#pragma once

#include <stddef.h>

#include "log.h"

/*
 * sf_cmdline_value - find "@key=VALUE" among the space-separated words of
 * @cmdline (a word in double quotes may hold spaces; the last occurrence
 * wins, as the kernel does) and copy VALUE into @buf (@size bytes).
 * Returns 0, -ENOENT (absent), -ENAMETOOLONG (VALUE does not fit).
 */
int sf_cmdline_value(const char *cmdline, const char *key, char *buf,
		     size_t size);

/*
 * sf_cmdline_last_flag - which of the @n bare words @flags (words without
 * '=', such as "ro" and "rw") comes last in @cmdline, the way the kernel
 * lets the last one win. Returns its index in @flags, or -ENOENT when
 * none is there.
 */
int sf_cmdline_last_flag(const char *cmdline, const char *const *flags,
			 size_t n);

/*
 * sf_cmdline_read - ROOT/proc/cmdline into @buf (@size bytes),
 * NUL-terminated ("" when it cannot be read; a longer line is cut).
 * Returns its length or -errno.
 */
int sf_cmdline_read(const struct sf_ctx *ctx, char *buf, size_t size);

/*
 * sf_cmdline_slot - the slot "slotflip.slot=a|b" names in @cmdline, found
 * by sf_cmdline_value() (quotes, the last one wins): 0, 1, or -ENOENT
 * (absent, or any other value).
 */
int sf_cmdline_slot(const char *cmdline);
