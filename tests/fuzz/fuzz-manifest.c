// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the manifest decoder and the signature block decoder, the
 * two parsers that see image bytes. A manifest that decodes must encode
 * back to the same bytes (the format has one encoding per manifest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sigblock_one(const uint8_t *data, size_t size)
{
	uint8_t block[SF_SIGBLOCK_SIZE] = { 0 };
	struct sf_sigblock sb;

	memcpy(block, data, size < sizeof(block) ? size : sizeof(block));
	if (sf_sigblock_parse(NULL, block, &sb) == 0)
		sf_sigblock_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_manifest m;

	sigblock_one(data, size);
	if (sf_manifest_parse(NULL, data, size, &m) == 0) {
		uint8_t *again = malloc(size);

		if (!again || sf_manifest_encode(&m, again) != size ||
		    memcmp(again, data, size) != 0)
			abort();
		free(again);
		sf_manifest_free(&m);
	}
	return 0;
}
