/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging: library code never prints; it reports through sf_log() to the
 * log function the caller installed in its context (lib/ctx.h) and
 * returns -errno.
 */
#pragma once

#include <stdarg.h>

#include "ctx.h"

/*
 * sf_log - format a message and hand it to ctx->log_fn (if any).
 * Returns @err unchanged, so that callers can write
 *	return sf_log(ctx, SF_LOG_ERR, -EINVAL, "bad length %u", n);
 */
int sf_log(const struct sf_ctx *ctx, int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int sf_logv(const struct sf_ctx *ctx, int level, int err, const char *fmt,
	    va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * sf_err - log an error and evaluate to @err. A statement expression rather
 * than a plain call of sf_log(): the value is visibly @err (evaluated once,
 * before the message is formatted), so a static analyzer working on one file
 * at a time knows that `return sf_err(ctx, -EINVAL, ...)` returns a negative
 * number, and does not follow the caller on as if it had succeeded.
 */
#define sf_err(ctx, err, ...)                                                  \
	({                                                                     \
		int sf_err_ = (err);                                           \
		sf_log((ctx), SF_LOG_ERR, sf_err_, __VA_ARGS__);               \
		sf_err_;                                                       \
	})
#define sf_info(ctx, ...) sf_log((ctx), SF_LOG_INFO, 0, __VA_ARGS__)

/* A log function that prints "PROG: error: MSG" lines to stderr. */
void sf_log_stderr(void *data, int level, const char *msg);
