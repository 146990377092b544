// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target for ms_sig_parse(). A signature that parses is verified
 * against a fixed key and message (those of a signature made by minisign,
 * which the seed corpus holds), so that verification runs on fuzzed input
 * too; only a signature by that key may verify.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minisign.h"

#define FUZZ_PUBKEY                                                            \
	"untrusted comment: minisign public key F5104028E79D833F\n"            \
	"RWQ/g53nKEAQ9Yuf/FGTNLPaAQhOL65eMdO+FLdrf/SLntLd8OipM23p\n"
#define FUZZ_MSG "hello\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	struct ms_pubkey pk;
	struct ms_sig sig;
	int r;

	if (ms_pubkey_parse(&ctx, FUZZ_PUBKEY, strlen(FUZZ_PUBKEY), &pk) < 0)
		abort();
	if (ms_sig_parse(&ctx, (const char *)data, size, &sig) < 0)
		return 0;
	if (strlen(sig.trusted_comment) > MS_TRUSTED_COMMENT_MAX ||
	    memcmp(sig.alg, "ED", 2) != 0)
		abort();
	r = ms_sig_verify(&ctx, &sig, &pk, FUZZ_MSG, strlen(FUZZ_MSG));
	if (r != 0 && r != -ENOKEY && r != -EBADMSG)
		abort();
	return 0;
}
