// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the last-result parser (DATA_DIR/slotflip/last-result, on
 * the data partition, so any bytes, shown by `slotflip status`). Every
 * field must come back NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "staging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_last_result lr;

	sf_last_result_parse((const char *)data, size, &lr);
	check_str(lr.result, sizeof(lr.result));
	check_str(lr.slot, sizeof(lr.slot));
	check_str(lr.version, sizeof(lr.version));
	check_str(lr.reason, sizeof(lr.reason));
	return 0;
}
