/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The staged image on the data partition: DATA_DIR/slotflip/staged.img,
 * moved aside by slotflip-init as staged.img.refused or staged.img.failed;
 * DATA_DIR/slotflip/last-result holds the last apply's outcome.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

/* Bytes of an image's start that sf_image_claimed_size() needs. */
#define SF_IMAGE_HEAD_BYTES (4096u + 32u)

/*
 * sf_staged_path - DATA_DIR/slotflip/@name under ctx->root, in @buf
 * (@size bytes); @name is e.g. "staged.img" or "last-result".
 * Returns 0 or -ENAMETOOLONG.
 */
int sf_staged_path(const struct sf_ctx *ctx, const struct sf_config *cfg,
		   const char *name, char *buf, size_t size);

/*
 * sf_image_claimed_size - the file size an image says it has, from its
 * first SF_IMAGE_HEAD_BYTES bytes (@head, @len bytes): header, then the
 * data size in the manifest (docs/FORMAT.md). Nothing is verified: the
 * size only sizes a copy before the whole image is checked.
 * Returns 0 and *@ret; -EBADMSG (not a slotflip image, or too short);
 * -EPROTONOSUPPORT (another format version).
 */
int sf_image_claimed_size(const uint8_t *head, size_t len, uint64_t *ret);
