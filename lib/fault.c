// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fault.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

void sf_fault_point(const struct sf_ctx *ctx, const char *what)
{
	if (!ctx || !ctx->fault)
		return;
	ctx->fault->count++;
	if (!ctx->fault->at || ctx->fault->count != ctx->fault->at)
		return;
	fprintf(stderr, "fault injected at point %lu (%s)\n", ctx->fault->count,
		what);
	if (ctx->fault->stop)
		raise(SIGSTOP);
	else
		_exit(SF_FAULT_EXIT);
}
