// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the EFI_LOAD_OPTION decoder (boot entries are read back
 * from firmware that may have rewritten them). A decoded option of ours
 * encodes back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "efivar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct efi_load_option o;
	uint8_t again[1024];
	int n;

	if (efi_load_option_decode(NULL, data, size, &o) != 0)
		return 0;
	n = efi_load_option_encode(&o, again, sizeof(again));
	if (n < 0 || (size_t)n > size || memcmp(again, data, (size_t)n) != 0)
		abort();
	return 0;
}
