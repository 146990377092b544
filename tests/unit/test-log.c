// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "log.h"
#include "testlib.h"

static int fail_with(const struct sf_ctx *ctx, int err, const char *what)
{
	return sf_err(ctx, err, "cannot %s", what);
}

/* The reason is recorded whether or not the message is logged. */
TEST(reason_kept_whatever_the_log_level)
{
	struct sf_error error = SF_ERROR_INIT;
	struct sf_ctx ctx = test_ctx;

	ctx.error = &error;
	ctx.log_level = 0; /* nothing is logged */
	CHECK_EQ(fail_with(&ctx, -EIO, "read the state"), -EIO);
	CHECK_STREQ(sf_error_reason(&ctx, -EIO), "cannot read the state");
	CHECK(!strstr(test_log_buf, "cannot read the state"));

	ctx.log_fn = NULL;
	CHECK_EQ(fail_with(&ctx, -EPERM, "write slot b"), -EPERM);
	CHECK_STREQ(sf_error_reason(&ctx, -EPERM), "cannot write slot b");
}

/* A warning is not a failure: it leaves the reason as it was. */
TEST(warnings_are_not_reasons)
{
	struct sf_error error = SF_ERROR_INIT;
	struct sf_ctx ctx = test_ctx;

	ctx.error = &error;
	fail_with(&ctx, -EIO, "read the state");
	sf_log(&ctx, SF_LOG_WARNING, 0, "going on without it");
	sf_log(&ctx, SF_LOG_ERR, 0, "apply failed, will retry");
	CHECK_STREQ(sf_error_reason(&ctx, -EIO), "cannot read the state");
	CHECK_LOG("going on without it");
}

/* After a clear, a failure that said nothing is told by its errno, never
 * by an older failure's reason; the latest failure wins. */
TEST(clear_then_unsaid_failure)
{
	struct sf_error error = SF_ERROR_INIT;
	struct sf_ctx ctx = test_ctx;

	ctx.error = &error;
	fail_with(&ctx, -EIO, "read the state");
	sf_error_clear(&ctx);
	CHECK_STREQ(sf_error_reason(&ctx, -ENOENT), strerror(ENOENT));
	fail_with(&ctx, -EIO, "open the slot");
	fail_with(&ctx, -ENOSPC, "write the result");
	CHECK_STREQ(sf_error_reason(&ctx, -EIO), "cannot write the result");
	CHECK_EQ(error.code, -ENOSPC);
}

/* Without a record (ctx->error NULL, or no ctx), only errno tells. */
TEST(no_record)
{
	struct sf_ctx ctx = test_ctx;

	ctx.error = NULL;
	CHECK_EQ(fail_with(&ctx, -EINVAL, "parse"), -EINVAL);
	CHECK_STREQ(sf_error_reason(&ctx, -EINVAL), strerror(EINVAL));
	CHECK_STREQ(sf_error_reason(NULL, -EBADMSG), strerror(EBADMSG));
	sf_error_clear(NULL);
}

struct racer {
	const struct sf_ctx *ctx;
	char c;
};

static void *race(void *data)
{
	struct racer *r = data;
	char msg[200];

	memset(msg, r->c, sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int i = 0; i < 2000; i++)
		sf_err(r->ctx, -EIO, "%s", msg);
	return NULL;
}

/* Workers failing at once leave one whole message, not a mix. */
TEST(concurrent_failures_keep_one_whole_message)
{
	struct sf_error error = SF_ERROR_INIT;
	struct sf_ctx ctx = { .error = &error };
	struct racer rs[2] = { { &ctx, 'x' }, { &ctx, 'y' } };
	pthread_t t[2];
	const char *why;

	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, race, &rs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	why = sf_error_reason(&ctx, -EIO);
	CHECK_EQ(strlen(why), 199);
	CHECK_EQ(strspn(why, why[0] == 'x' ? "x" : "y"), 199);
}
