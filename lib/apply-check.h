/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The checks of an image against the device before a byte of it is
 * written (docs/BOOT.md, "Apply"): slotflip-init makes them before the
 * apply, and `slotflip stage` before it stages, so that an image staged is
 * one that will be applied.
 */
#pragma once

#include <stdint.h>

#include "image.h"
#include "log.h"

/* The largest EFI binary an image may carry: it is rebuilt in memory. */
#define SF_EFI_PAYLOAD_MAX (256ull << 20)

/* What the device allows; every field is checked by sf_apply_precheck(). */
struct sf_apply_policy {
	const char *compatible;
	const char *floor; /* "" or NULL: no floor */
	const char *running_version; /* the booted slot's; "" = unknown */
	uint64_t slot_size; /* bytes of the spare slot */
};

/*
 * sf_apply_precheck - the checks after the signatures: compatible string,
 * version strictly above the floor and not below the running slot's, a
 * delta's
 * base equal to the running version, the root filesystem fits the slot,
 * an EFI payload present.
 * Returns 0, or -EPERM with the reason in @reason (@size bytes) and logged.
 */
int sf_apply_precheck(const struct sf_ctx *ctx, const struct sf_image *img,
		      const struct sf_apply_policy *p, char *reason,
		      size_t size);
