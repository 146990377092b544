/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slotflip's two firmware boot entries (docs/RUNTIME.md, "Boot entries"):
 * the ESP partition found with libblkid, the EFI_LOAD_OPTION each slot's
 * Boot#### must hold, and how an existing entry compares with it. Entries
 * are read and written through lib/efivar.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "efivar.h"
#include "log.h"

/* The ESP as an HD() device path node names it. */
struct sf_esp {
	uint32_t part_number;
	uint64_t start; /* in logical blocks of the disk */
	uint64_t size; /* in logical blocks */
	uint8_t guid[16]; /* unique partition GUID, EFI byte order */
	unsigned sector_size;
};

/*
 * sf_esp_find - find the ESP: with cfg->esp_disk set, the partition of
 * that disk (a device or a disk image file, under ctx->root) whose label
 * (esp = PARTLABEL=x) or unique GUID (esp = PARTUUID=x) matches; without,
 * the partition cfg->esp names (PARTLABEL=, PARTUUID= or a device path),
 * looked up in the partition table of its whole disk.
 * Returns 0; -ENOENT (no such disk or partition), -EMEDIUMTYPE (not a
 * GPT disk), -EINVAL (a spec that cannot name a partition of esp-disk),
 * -errno; each with a message.
 */
int sf_esp_find(const struct sf_ctx *ctx, const struct sf_config *cfg,
		struct sf_esp *ret);

/* "slotflip a" or "slotflip b": the description of slotflip's entries. */
void sf_boot_entry_description(uint8_t slot, char buf[16]);

/*
 * sf_boot_entry_expected - the load option slot @slot's entry must hold:
 * active, its description, HD() of @esp, File() of cfg->slot[].efi with
 * '\' separators, no optional data.
 */
void sf_boot_entry_expected(const struct sf_config *cfg,
			    const struct sf_esp *esp, uint8_t slot,
			    struct efi_load_option *ret);

enum sf_entry_state {
	SF_ENTRY_OK, /* holds exactly the expected bytes */
	SF_ENTRY_MISSING, /* no such variable */
	SF_ENTRY_ALTERED, /* ours ("slotflip ..." or our file), changed */
	SF_ENTRY_FOREIGN, /* another entry sits at this number */
};

/*
 * sf_boot_entry_compare - how @have (@have_len bytes of a Boot####, or
 * @have_len < 0 when absent) compares with @want (@want_len bytes, the
 * encoding of @opt). @detail (@size bytes) says what differs.
 */
enum sf_entry_state sf_boot_entry_compare(const uint8_t *have, int have_len,
					  const uint8_t *want, size_t want_len,
					  const struct efi_load_option *opt,
					  char *detail, size_t size);

/* "ok", "missing", "altered", "foreign". */
const char *sf_entry_state_name(enum sf_entry_state s);
