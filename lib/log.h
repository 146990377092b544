/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context every module takes: the root prefix and the log function the
 * caller installed. Library code never prints; it reports through sf_log()
 * and returns -errno.
 */
#pragma once

#include <stdarg.h>

struct sf_fault;

enum sf_log_level {
	SF_LOG_ERR = 3,
	SF_LOG_WARNING = 4,
	SF_LOG_NOTICE = 5,
	SF_LOG_INFO = 6,
	SF_LOG_DEBUG = 7,
};

typedef void (*sf_log_fn)(void *data, int level, const char *msg);

struct sf_ctx {
	/* "/" on a device; a temporary directory in tests. */
	const char *root;
	sf_log_fn log_fn;
	void *log_data;
	/* Messages above this level are dropped. */
	int log_level;
	/* Tests only: the fault seam (lib/fault.h); NULL otherwise. */
	struct sf_fault *fault;
};

/*
 * sf_log - format a message and hand it to ctx->log_fn (if any).
 * Returns @err unchanged, so that callers can write
 *	return sf_log(ctx, SF_LOG_ERR, -EINVAL, "bad length %u", n);
 */
int sf_log(const struct sf_ctx *ctx, int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int sf_logv(const struct sf_ctx *ctx, int level, int err, const char *fmt,
	    va_list ap) __attribute__((format(printf, 4, 0)));

#define sf_err(ctx, err, ...) sf_log((ctx), SF_LOG_ERR, (err), __VA_ARGS__)
#define sf_info(ctx, ...) sf_log((ctx), SF_LOG_INFO, 0, __VA_ARGS__)

/* A log function that prints "PROG: error: MSG" lines to stderr. */
void sf_log_stderr(void *data, int level, const char *msg);
