/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context every module takes, built in main(): the root prefix ("/"
 * on a device, a temporary directory in tests), the log function the
 * caller installed and the tests' fault seam. No module keeps a global.
 */
#pragma once

#include <stddef.h>

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
 * sf_root_path - @path (absolute) under ctx->root, in @buf (@size bytes).
 * Returns 0 or -ENAMETOOLONG.
 */
int sf_root_path(const struct sf_ctx *ctx, const char *path, char *buf,
		 size_t size);
