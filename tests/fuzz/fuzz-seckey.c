// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target for ms_seckey_parse(), without a password and with the fixed
 * password "fuzz". Key derivation is capped far below the library's limits
 * (scrypt's minimum work), so that an input cannot make one run take
 * gigabytes or seconds; inputs asking for more are refused by the parser.
 * A key that parses must sign verifiably and survive a format/parse round
 * trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minisign.h"
#include "seckey.h"

#define FUZZ_PASSWORD "fuzz"
#define FUZZ_OPSLIMIT_MAX (1ULL << 16)
#define FUZZ_MEMLIMIT_MAX (1ULL << 24)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drop_log(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	(void)msg;
}

static const struct sf_ctx ctx = {
	.root = ".",
	.log_fn = drop_log,
	.log_level = SF_LOG_DEBUG,
};

static void check_key(const struct ms_seckey *sk)
{
	char text[MS_SECKEY_TEXT_SIZE], *sig_text = NULL;
	struct ms_seckey back;
	struct ms_pubkey pk;
	struct ms_sig sig;

	if (ms_seckey_format(sk, text, sizeof(text)) < 0 ||
	    ms_seckey_parse(&ctx, text, strlen(text), NULL, &back) < 0 ||
	    memcmp(sk, &back, sizeof(back)) != 0)
		abort();
	ms_pubkey_from_seckey(sk, &pk);
	if (ms_sign(&ctx, sk, "m", 1, "fuzz", &sig_text) < 0 ||
	    ms_sig_parse(&ctx, sig_text, strlen(sig_text), &sig) < 0 ||
	    ms_sig_verify(&ctx, &sig, &pk, "m", 1) < 0)
		abort();
	free(sig_text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_seckey sk;

	if (ms_seckey_parse(&ctx, (const char *)data, size, NULL, &sk) == 0)
		check_key(&sk);
	if (ms_seckey_parse_capped(&ctx, (const char *)data, size,
				   FUZZ_PASSWORD, FUZZ_OPSLIMIT_MAX,
				   FUZZ_MEMLIMIT_MAX, &sk) == 0)
		check_key(&sk);
	return 0;
}
