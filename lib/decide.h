/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What slotflip-init does at boot: a pure function (docs/BOOT.md). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bootstate.h"

enum sf_action {
	SF_ACT_BOOT_ON, /* boot the booted slot, write nothing */
	SF_ACT_APPLY, /* apply the staged image to the other slot */
	SF_ACT_RETRY, /* trial: one try less, BootNext = trial, reboot */
	SF_ACT_FAIL_TRIAL, /* trial out of tries: record failure, boot on */
	SF_ACT_DISCARD, /* staged image already failed/confirmed: move aside */
	SF_ACT_BOOT_GOOD, /* booted slot is not bootable: BootNext = good */
};

struct sf_decide_in {
	const struct sf_bootstate *state;
	uint8_t booted; /* 0 or 1 */
	bool staged; /* a staged image is present */
	const uint8_t *staged_id; /* its id (SF_IMAGE_ID_BYTES), if staged */
};

struct sf_decision {
	enum sf_action action;
	uint8_t slot; /* the slot the action is about (trial, spare, good) */
	const char *why; /* a short sentence for the console */
};

/*
 * sf_clamp_tries - a pending trial never has more tries left than it was
 * armed with: @tries - 1 (@tries from the config, 1 or more; arming
 * consumes one). A record with a valid checksum may still say more (255
 * would give 254 retries of a slot that never confirms): clamp
 * @st->tries_left to that. Nothing changes without a pending trial.
 * Returns true when it clamped.
 */
bool sf_clamp_tries(struct sf_bootstate *st, unsigned tries);

struct sf_decision sf_decide(const struct sf_decide_in *in);

/* "boot-on", "apply", "retry-trial", "fail-trial", "discard", "boot-good" */
const char *sf_action_name(enum sf_action a);
