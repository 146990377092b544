/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context every module takes, built in main(): the root prefix ("/"
 * on a device, a temporary directory in tests), the log function the
 * caller installed and the tests' fault seam. No module keeps a global.
 */
#pragma once

#include <pthread.h>
#include <stddef.h>

struct sf_fault;

/* The longest reason a failure keeps (struct sf_error). */
#define SF_ERROR_MAX 512u

/*
 * The reason of the latest failure a module reported with sf_err()
 * (lib/log.h), kept whatever the log level and whether or not there is a
 * log function: a caller that stores why something failed (slotflip-init:
 * the EFI state and last-result) clears it before the call and reads it
 * after (sf_error_clear(), sf_error_reason()). Worker threads may fail at
 * the same time: the lock keeps the message whole. Initialize with
 * SF_ERROR_INIT.
 */
struct sf_error {
	pthread_mutex_t lock;
	int code; /* the -errno of that failure; 0: none since the clear */
	char msg[SF_ERROR_MAX];
};
#define SF_ERROR_INIT                                                          \
	{                                                                      \
		.lock = PTHREAD_MUTEX_INITIALIZER                              \
	}

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
	/* Where sf_err() records the reason of a failure; NULL: nowhere. */
	struct sf_error *error;
	/* Tests only: the fault seam (lib/fault.h); NULL otherwise. */
	struct sf_fault *fault;
};

/*
 * sf_root_path - @path (absolute) under ctx->root, in @buf (@size bytes).
 * Returns 0 or -ENAMETOOLONG.
 */
int sf_root_path(const struct sf_ctx *ctx, const char *path, char *buf,
		 size_t size);
