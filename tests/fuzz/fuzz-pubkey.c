// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target for ms_pubkey_parse(). A key that parses must format back to
 * a text that parses to the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Messages are formatted (that code runs too), then dropped. */
static void drop_log(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sf_ctx ctx = {
		.root = ".",
		.log_fn = drop_log,
		.log_level = SF_LOG_DEBUG,
	};
	char text[MS_PUBKEY_TEXT_SIZE];
	struct ms_pubkey pk, back;

	if (ms_pubkey_parse(&ctx, (const char *)data, size, &pk) < 0)
		return 0;
	if (ms_pubkey_format(&pk, text, sizeof(text)) < 0 ||
	    ms_pubkey_parse(&ctx, text, strlen(text), &back) < 0 ||
	    memcmp(&pk, &back, sizeof(pk)) != 0)
		abort();
	return 0;
}
