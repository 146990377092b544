/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test-only fault seam: every point where a power cut matters (a write, a
 * flush, a rename, an EFI variable write) calls sf_fault_point(). When
 * ctx->fault is set (tests only: SLOTFLIP_FAULT_AT=N in the environment of
 * slotflip-init --root), the N-th point ends the process at once with exit
 * status SF_FAULT_EXIT, as a power cut would end it; or, with
 * SLOTFLIP_FAULT_STOP=1, stops it (SIGSTOP) so that a test can change files
 * under it before it goes on. Points passed by parallel threads are
 * numbered atomically: exactly one is the N-th (which one depends on the
 * scheduling, the total does not). Unit tests may instead set a hook,
 * called at every point, that changes files as the process goes on.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

#include "log.h"

#define SF_FAULT_EXIT 99

struct sf_fault {
	unsigned long at; /* 0: count only */
	atomic_ulong count; /* points passed so far */
	int stop; /* SIGSTOP instead of exit */
	/* Called at every point, before the N-th fires (unit tests). */
	void (*hook)(void *data, const char *what);
	void *hook_data;
};

/* @what names the point in the message printed when it fires. */
void sf_fault_point(const struct sf_ctx *ctx, const char *what);
