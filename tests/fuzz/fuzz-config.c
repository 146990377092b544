// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target: the device config parser (/etc/slotflip/slotflip.conf). A config
 * that parses must hold NUL-terminated strings and values in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_config cfg;

	if (sf_config_parse(NULL, "fuzz.conf", (const char *)data, size, &cfg) <
	    0)
		return 0;
	if (cfg.n_pubkeys == 0 || cfg.n_pubkeys > SF_CONFIG_MAX_KEYS ||
	    cfg.threshold == 0 || cfg.threshold > cfg.n_pubkeys ||
	    cfg.tries < 1 || cfg.tries > 100)
		abort();
	check_str(cfg.compatible, sizeof(cfg.compatible));
	check_str(cfg.data, sizeof(cfg.data));
	check_str(cfg.esp, sizeof(cfg.esp));
	check_str(cfg.esp_disk, sizeof(cfg.esp_disk));
	for (unsigned i = 0; i < cfg.n_pubkeys; i++)
		check_str(cfg.pubkeys[i], sizeof(cfg.pubkeys[i]));
	for (unsigned i = 0; i < 2; i++) {
		check_str(cfg.slot[i].device, sizeof(cfg.slot[i].device));
		check_str(cfg.slot[i].efi, sizeof(cfg.slot[i].efi));
	}
	return 0;
}
