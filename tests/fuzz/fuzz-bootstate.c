// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the state record decoder. A record that decodes must encode
 * back to the same bytes (the record has one encoding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_bootstate st;
	uint8_t again[SF_STATE_SIZE];

	if (sf_bootstate_decode(NULL, data, size, &st) == 0) {
		sf_bootstate_encode(&st, again);
		if (size != SF_STATE_SIZE || memcmp(again, data, size) != 0)
			abort();
	}
	return 0;
}
