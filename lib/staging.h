/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The staged image on the data partition: DATA_DIR/slotflip/staged.img,
 * moved aside by slotflip-init as staged.img.refused or staged.img.failed;
 * DATA_DIR/slotflip/last-result holds the last apply's outcome.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "bootstate.h"
#include "config.h"
#include "image.h"
#include "log.h"

/* Bytes of an image's start that sf_image_claimed_size() needs. */
#define SF_IMAGE_HEAD_BYTES (SF_HEADER_SIZE + SF_MANIFEST_HEAD_BYTES)

/*
 * sf_staged_path - DATA_DIR/slotflip/@name under ctx->root, in @buf
 * (@size bytes); @name is e.g. "staged.img" or "last-result".
 * Returns 0 or -ENAMETOOLONG.
 */
int sf_staged_path(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   const char *name, char *buf, size_t size);

/*
 * sf_staged_id - the id of the staged image (SF_IMAGE_ID_BYTES: the start
 * of its manifest hash, as in the state), into @id. Logs nothing.
 * Returns 0; -ENOENT when nothing is staged; -EBADMSG, -EPROTONOSUPPORT or
 * -errno when staged.img is there but cannot be read (@id untouched).
 */
int sf_staged_id(const struct sf_ctx *ctx, const struct sf_config *cfg,
		 uint8_t id[SF_IMAGE_ID_BYTES]);

/*
 * sf_image_claimed_size - the file size an image says it has, from its
 * first SF_IMAGE_HEAD_BYTES bytes (@head, @len bytes): header, then the
 * data size in the manifest (docs/FORMAT.md). Nothing is verified: the
 * size only sizes a copy before the whole image is checked.
 * Returns 0 and *@ret; -EBADMSG (not a slotflip image, or too short);
 * -EPROTONOSUPPORT (another format version).
 */
int sf_image_claimed_size(const uint8_t *head, size_t len, uint64_t *ret);

/* The longest reason last-result keeps (slotflip-init's whole message). */
#define SF_LAST_REASON_MAX 512u

/*
 * DATA_DIR/slotflip/last-result: the last apply's outcome, written by
 * slotflip-init, shown by `slotflip status`. Lines "key=value\n" with the
 * keys result (sf_result_name()), time (seconds since the epoch), slot,
 * version and reason; unknown keys are skipped when read.
 */
struct sf_last_result {
	char result[32];
	uint64_t time;
	char slot[8];
	char version[SF_VERSION_FIELD];
	char reason[SF_LAST_REASON_MAX];
};

/*
 * sf_last_result_write - replace last-result by @lr, atomically (a
 * newline in the reason becomes a space). When the data partition is too
 * full for the new file beside the old one, the old one is removed first:
 * a stale result must not stay.
 * Returns 0, -ENAMETOOLONG, or -errno (the file may then be gone).
 */
int sf_last_result_write(const struct sf_ctx *ctx, const struct sf_config *cfg,
			 const struct sf_last_result *lr);

/*
 * sf_last_result_read - read last-result into *@ret (fields cut to their
 * size, missing ones empty). Returns 0, -ENOENT when there is none,
 * -ENAMETOOLONG, or -errno.
 */
int sf_last_result_read(const struct sf_ctx *ctx, const struct sf_config *cfg,
			struct sf_last_result *ret);
