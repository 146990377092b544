// SPDX-License-Identifier: LGPL-2.1-or-later
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int sf_fail(const struct sf_ctx *ctx, int err, const char *fmt, ...)
{
	struct sf_error *e = ctx ? ctx->error : NULL;
	va_list ap;

	if (e) {
		pthread_mutex_lock(&e->lock);
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		e->code = err < 0 ? err : -EIO;
		pthread_mutex_unlock(&e->lock);
	}
	va_start(ap, fmt);
	sf_logv(ctx, SF_LOG_ERR, err, fmt, ap);
	va_end(ap);
	return err;
}

void sf_error_clear(const struct sf_ctx *ctx)
{
	struct sf_error *e = ctx ? ctx->error : NULL;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->code = 0;
	e->msg[0] = '\0';
	pthread_mutex_unlock(&e->lock);
}

const char *sf_error_reason(const struct sf_ctx *ctx, int r)
{
	struct sf_error *e = ctx ? ctx->error : NULL;

	if (e && e->code)
		return e->msg;
	return strerror(r < 0 ? -r : EIO);
}

void sf_log_stderr(void *data, int level, const char *msg)
{
	const char *prog = data ? data : "slotflip";
	const char *tag = level <= SF_LOG_ERR	    ? "error: "
			  : level == SF_LOG_WARNING ? "warning: "
						    : "";

	fflush(stdout); /* what was said before stays before */
	fprintf(stderr, "%s: %s%s\n", prog, tag, msg);
}
