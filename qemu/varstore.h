/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An OVMF varstore file (OVMF_VARS*.fd) read and changed offline, so that
 * tests can create boot entries before a boot and read EFI variables after
 * it. Layout (edk2 MdeModulePkg VariableFormat.h): a firmware volume header
 * ("_FVH" at byte 40, its length at byte 48); then a variable store header
 * (the authenticated-variables GUID aaf32c78-947b-439a-a180-2e144ec37792,
 * its size, format 0x5A, state 0xFE); then the records, each 4-byte
 * aligned: StartId 0x55AA, State, reserved byte, attributes (u32),
 * monotonic count (u64), time stamp (16 bytes), public key index (u32),
 * name size (u32), data size (u32), vendor GUID, UCS-2 name with its NUL,
 * data. Free space is 0xFF. A record is live in state 0x3F (added) or 0x3E
 * (added, delete in transition); deleting clears bit 1 (0xFD). A value is
 * changed by appending a new record and deleting the old one, as the
 * firmware does. Names are ASCII here.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct varstore {
	uint8_t *buf; /* the whole file */
	size_t size;
	size_t store_off; /* the variable store header */
	size_t store_end; /* end of the variable store */
	size_t vars_off; /* first record */
};

/* One live variable, as varstore_foreach() hands it out. */
struct varstore_var {
	char name[128];
	uint8_t guid[16]; /* EFI byte order */
	uint32_t attr;
	const uint8_t *data;
	size_t len;
};

/*
 * varstore_load - read @path and check its headers. Returns 0; -EBADMSG
 * (not an OVMF varstore: no "_FVH", an unknown store GUID, sizes out of
 * the file), -errno for I/O. Messages through @ctx.
 */
int varstore_load(const struct sf_ctx *ctx, const char *path,
		  struct varstore *ret);

/* varstore_save - write the store back to @path (atomic rename). */
int varstore_save(const struct sf_ctx *ctx, const struct varstore *vs,
		  const char *path);

void varstore_free(struct varstore *vs);

/*
 * varstore_get - the live variable @name under @guid: data copied to @buf
 * (@cap bytes), attributes to *@ret_attr (may be NULL).
 * Returns the data length, -ENOENT, -E2BIG (larger than @cap).
 */
int varstore_get(const struct varstore *vs, const char *name,
		 const uint8_t guid[16], uint32_t *ret_attr, void *buf,
		 size_t cap);

/*
 * varstore_set - make @name under @guid hold @len bytes of @data with
 * @attr: appends a record, then marks the old one deleted. Returns 0,
 * -ENOSPC (the store is full), -EINVAL (a name that is not ASCII, or
 * longer than 127).
 */
int varstore_set(struct varstore *vs, const char *name, const uint8_t guid[16],
		 uint32_t attr, const void *data, size_t len);

/* varstore_delete - mark @name deleted. Returns 1, or 0 if absent. */
int varstore_delete(struct varstore *vs, const char *name,
		    const uint8_t guid[16]);

/*
 * varstore_foreach - call @fn for each live variable, in store order,
 * until it returns non-zero (which is then returned). Returns 0 at the end.
 */
int varstore_foreach(const struct varstore *vs,
		     int (*fn)(const struct varstore_var *v, void *data),
		     void *data);

/* "xxxxxxxx-xxxx-..." (37 bytes with the NUL) from EFI byte order. */
void varstore_guid_format(const uint8_t guid[16], char out[37]);
