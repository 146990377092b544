// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fault.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

void sf_fault_point(const struct sf_ctx *ctx, const char *what)
{
	unsigned long n;

	if (!ctx || !ctx->fault)
		return;
	/* Apply threads pass points at once: each gets its own number, so
	 * exactly one of them is the N-th. */
	n = atomic_fetch_add(&ctx->fault->count, 1) + 1;
	if (ctx->fault->hook)
		ctx->fault->hook(ctx->fault->hook_data, what);
	if (!ctx->fault->at || n != ctx->fault->at)
		return;
	fprintf(stderr, "fault injected at point %lu (%s)\n", n, what);
	fflush(stderr);
	if (ctx->fault->stop)
		raise(SIGSTOP);
	else
		_exit(SF_FAULT_EXIT);
}
