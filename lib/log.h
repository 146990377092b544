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
 * sf_fail - a failure: its message recorded as the reason in ctx->error
 * (when set), whatever the log level, then logged as an error. Returns
 * @err unchanged.
 */
int sf_fail(const struct sf_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * sf_err - report a failure (sf_fail()) and evaluate to @err. A statement
 * expression rather than a plain call: the value is visibly @err (evaluated
 * once, before the message is formatted), so a static analyzer working on
 * one file at a time knows that `return sf_err(ctx, -EINVAL, ...)` returns a
 * negative number, and does not follow the caller on as if it had succeeded.
 */
#define sf_err(ctx, err, ...)                                                  \
	({                                                                     \
		int sf_err_ = (err);                                           \
		sf_fail((ctx), sf_err_, __VA_ARGS__);                          \
		sf_err_;                                                       \
	})

/* sf_error_clear - forget the reason recorded in ctx->error (if any). */
void sf_error_clear(const struct sf_ctx *ctx);

/*
 * sf_error_reason - why a call that returned @r (-errno) failed: the
 * reason it recorded with sf_err() since the last sf_error_clear(), else
 * strerror(-r). The text stays valid until the next failure or clear.
 */
const char *sf_error_reason(const struct sf_ctx *ctx, int r);
#define sf_info(ctx, ...) sf_log((ctx), SF_LOG_INFO, 0, __VA_ARGS__)

/* A log function that prints "PROG: error: MSG" lines to stderr. */
void sf_log_stderr(void *data, int level, const char *msg);
