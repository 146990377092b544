/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The only code that touches efivarfs. Variables live in
 * <ctx->root>/sys/firmware/efi/efivars/<Name>-<guid>: a 4-byte little-endian
 * attribute word, then the data. Writes are one write() of both (two writes
 * delete the variable), clear FS_IMMUTABLE_FL first and restore it after,
 * and are skipped when the value is unchanged (NVRAM wears out). An empty
 * file means the variable is absent.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define SF_VENDOR_GUID "3c1e8f6a-52d4-4f7b-9a0e-6d2b71c4e9a5"

#define EFI_VARIABLE_NON_VOLATILE 0x1u
#define EFI_VARIABLE_BOOTSERVICE_ACCESS 0x2u
#define EFI_VARIABLE_RUNTIME_ACCESS 0x4u
#define EFI_VARIABLE_NV_BS_RT                                                  \
	(EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS |         \
	 EFI_VARIABLE_RUNTIME_ACCESS)

/* Largest variable data read or written. */
#define EFIVAR_MAX_DATA 4096u
#define EFI_MAX_BOOT_ORDER 128u

/*
 * efivar_read - read variable @name under @guid into @buf (@cap bytes).
 * Returns the data length, -ENOENT if absent (no file, or empty), -E2BIG if
 * larger than @cap or EFIVAR_MAX_DATA, -EBADMSG if shorter than the
 * attribute word, -errno. *@ret_attr (may be NULL) gets the attributes.
 */
int efivar_read(const struct sf_ctx *ctx, const char *name, const char *guid,
		uint32_t *ret_attr, void *buf, size_t cap);

/*
 * efivar_write - set variable @name to @len bytes of @data with @attr, in
 * one write(). Does nothing when the variable already holds exactly this
 * (same attributes and data).
 * Returns 1 if written, 0 if unchanged, or -errno with a message that names
 * the variable and what the firmware refused (-ENOSPC: NVRAM full; -EROFS,
 * -EACCES, -EPERM: efivarfs read-only or write refused; -EIO, -EINVAL).
 */
int efivar_write(const struct sf_ctx *ctx, const char *name, const char *guid,
		 uint32_t attr, const void *data, size_t len);

/* efivar_delete - remove the variable. Returns 1, 0 if absent, -errno. */
int efivar_delete(const struct sf_ctx *ctx, const char *name, const char *guid);

/*
 * efivar_check_available - 0 if efivarfs is there (the directory exists),
 * else -ENOENT with a message saying efivarfs is not mounted.
 */
int efivar_check_available(const struct sf_ctx *ctx);

/* BootCurrent, BootNext (global GUID, 2 bytes). Returns 0, -ENOENT, ... */
int efivar_get_u16(const struct sf_ctx *ctx, const char *name, uint16_t *ret);

/* The firmware's Secure Boot mode (global GUID, read-only, 1 byte). */
#define EFI_SECURE_BOOT_VAR "SecureBoot"

/*
 * efivar_secure_boot - whether the firmware booted with Secure Boot on,
 * from the SecureBoot variable. Returns 1 (on), 0 (off), -ENOENT (absent:
 * firmware without Secure Boot), -EBADMSG (not one byte 0 or 1; logged),
 * or efivar_read()'s errors.
 */
int efivar_secure_boot(const struct sf_ctx *ctx);

/* BootNext = @entry (NV+BS+RT). Returns as efivar_write(). */
int efivar_set_boot_next(const struct sf_ctx *ctx, uint16_t entry);

/* BootOrder. Returns the number of entries (0..@cap), or -errno. */
int efivar_get_boot_order(const struct sf_ctx *ctx, uint16_t *ret, size_t cap);
int efivar_set_boot_order(const struct sf_ctx *ctx, const uint16_t *order,
			  size_t n);

/* "Boot%04X" into @buf (9 bytes). */
void efivar_boot_name(uint16_t entry, char buf[9]);

/*
 * An EFI_LOAD_OPTION (UEFI spec 2.10, 3.1.3) as slotflip writes them: a
 * hard drive media device path (HD(), GPT) and a file path (File()), then
 * the end node; no optional data, so a UKI's own command line stays in force.
 */
struct efi_load_option {
	uint32_t attributes; /* LOAD_OPTION_ACTIVE = 1 */
	char description[128];
	uint32_t part_number;
	uint64_t part_start; /* in logical blocks */
	uint64_t part_size; /* in logical blocks */
	uint8_t part_guid[16]; /* GPT unique partition GUID, EFI byte order */
	char path[256]; /* e.g. \EFI\slotflip\a\linux.efi */
};

#define LOAD_OPTION_ACTIVE 0x1u

/*
 * efi_load_option_encode - encode @opt into @buf (@cap bytes): UCS-2
 * description and path (ASCII only). Returns the length, -E2BIG, -EINVAL
 * (non-ASCII text).
 */
int efi_load_option_encode(const struct efi_load_option *opt, uint8_t *buf,
			   size_t cap);

/*
 * efi_load_option_decode - decode an EFI_LOAD_OPTION made of an HD() and a
 * File() node. Returns 0, -EBADMSG (malformed), -EOPNOTSUPP (another device
 * path: not one of ours).
 */
int efi_load_option_decode(const struct sf_ctx *ctx, const uint8_t *buf,
			   size_t len, struct efi_load_option *ret);

/* Parse "xxxxxxxx-xxxx-..." into the 16 bytes of EFI_GUID byte order. */
int efi_guid_parse(const char *s, uint8_t out[16]);
