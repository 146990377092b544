// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: what slotflip reads from outside without a signature check:
 * a Boot#### entry compared with the expected one (firmware may have
 * rewritten it), the start of an image being staged (its claimed size),
 * and the kernel command line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "booted.h"
#include "cmdline.h"
#include "bootentry.h"
#include "staging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void entry(const uint8_t *data, size_t size)
{
	struct sf_config cfg = { .slot = {
					 { .efi = "/EFI/slotflip/a/x.efi" } } };
	struct sf_esp esp = { .part_number = 1, .start = 2048, .size = 4096 };
	struct efi_load_option want;
	uint8_t buf[1024];
	char detail[256];
	enum sf_entry_state s;
	int n;

	sf_boot_entry_expected(&cfg, &esp, 0, &want);
	n = efi_load_option_encode(&want, buf, sizeof(buf));
	if (n < 0)
		abort();
	s = sf_boot_entry_compare(data, (int)size, buf, (size_t)n, &want,
				  detail, sizeof(detail));
	if ((s == SF_ENTRY_OK) !=
	    ((size_t)n == size && !memcmp(buf, data, size)))
		abort();
	if (strnlen(detail, sizeof(detail)) == sizeof(detail))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	uint64_t claimed;

	if (size > 65536)
		return 0;
	entry(data, size);
	if (sf_image_claimed_size(data, size, &claimed) == 0 &&
	    claimed < SF_IMAGE_HEAD_BYTES)
		abort();
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sf_cmdline_slot(text) > 1)
		abort();
	free(text);
	return 0;
}
