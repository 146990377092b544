// SPDX-License-Identifier: LGPL-2.1-or-later
#include "log.h"

#include <stdio.h>

int sf_logv(const struct sf_ctx *ctx, int level, int err, const char *fmt,
	    va_list ap)
{
	char msg[1024];

	if (!ctx || !ctx->log_fn || level > ctx->log_level)
		return err;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ctx->log_fn(ctx->log_data, level, msg);
	return err;
}

int sf_log(const struct sf_ctx *ctx, int level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sf_logv(ctx, level, err, fmt, ap);
	va_end(ap);
	return err;
}

void sf_log_stderr(void *data, int level, const char *msg)
{
	const char *prog = data ? data : "slotflip";
	const char *tag = level <= SF_LOG_ERR	    ? "error: "
			  : level == SF_LOG_WARNING ? "warning: "
						    : "";

	fprintf(stderr, "%s: %s%s\n", prog, tag, msg);
}
