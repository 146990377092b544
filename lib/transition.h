/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the running system asks of the boot state (docs/RUNTIME.md): confirm
 * the booted trial slot, mark it bad, give a slot a trial; where the good
 * slot goes in BootOrder; which slot the kernel command line names. Pure
 * functions: the caller reads and writes the EFI variables.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootstate.h"

/* Is @slot the pending trial slot (on trial, not the good slot)? */
bool sf_state_on_trial(const struct sf_bootstate *st, uint8_t slot);
/* Is a trial pending (the trial slot is on trial, not the good slot)? */
bool sf_state_trial_pending(const struct sf_bootstate *st);

/*
 * sf_state_mark_good - the booted slot @booted confirms its boot.
 * On trial: it becomes the good slot, the trial is cleared, the floor is
 * raised to its version (never lowered), the result is "confirmed" at
 * @now. Already the good slot: nothing changes.
 * Returns 1 (changed), 0 (nothing to change), or -EPERM (not on trial and
 * not good: invalid or failed) with the reason in @why (@size bytes).
 */
int sf_state_mark_good(struct sf_bootstate *st, uint8_t booted, uint64_t now,
		       char *why, size_t size);

/*
 * sf_state_mark_bad - the booted trial slot @booted is bad: it is marked
 * failed, the trial cleared, the result "trial-failed" with @reason, so
 * that the next boot (through BootOrder: the good slot) falls back at once.
 * Returns 1 (changed), or -EPERM (the slot is not on trial) with @why.
 */
int sf_state_mark_bad(struct sf_bootstate *st, uint8_t booted, uint64_t now,
		      const char *reason, char *why, size_t size);

/*
 * sf_mark_bad_reason - the result reason sf_state_mark_bad() records for
 * @slot of @st (its version) and the caller's @reason (NULL or empty: none
 * given), whole in @buf (@size bytes; the state keeps its first bytes).
 */
void sf_mark_bad_reason(const struct sf_bootstate *st, uint8_t slot,
			const char *reason, char *buf, size_t size);

struct sf_set_active {
	uint8_t slot; /* 0 or 1 */
	unsigned tries; /* the config's tries, 1 or more */
	bool allow_downgrade; /* accept a version under the floor */
	uint64_t now; /* for the result of a cancelled trial */
};

enum {
	SF_SET_ACTIVE_NOTHING = 0, /* already good (no trial) or on trial */
	SF_SET_ACTIVE_TRIAL = 1, /* trial armed: set BootNext to the slot */
	SF_SET_ACTIVE_CANCELLED = 2, /* slot is good; the other's trial ended */
};

/*
 * sf_state_set_active - give slot @req->slot a trial (status trial, tries
 * left = tries - 1, as BootNext consumes one), never a blind switch. When
 * the slot is already the good one and the other is on trial, that trial
 * is cancelled (the other slot failed).
 * Returns SF_SET_ACTIVE_*, or -EPERM with @why: the slot is invalid (holds
 * no verified system), or its version is under the floor (or unknown while
 * a floor is set) and @req->allow_downgrade is false.
 */
int sf_state_set_active(struct sf_bootstate *st,
			const struct sf_set_active *req, char *why,
			size_t size);

/*
 * sf_boot_order_arrange - BootOrder with entry @good first and @other
 * present: @good moves to the front, @other stays where it is (or comes
 * right after @good when absent), every other entry keeps its order.
 * @out has room for @n + 2 entries. Returns the number of entries in @out.
 */
size_t sf_boot_order_arrange(const uint16_t *in, size_t n, uint16_t good,
			     uint16_t other, uint16_t *out);

/*
 * sf_state_image_done - whether the image with id @id (SF_IMAGE_ID_BYTES, or
 * NULL) already failed its trial or was confirmed, by @st: slotflip-init
 * moves such an image aside and `slotflip stage` refuses it. A refused
 * image is not done: signed again, it keeps its id (the manifest is the
 * same) and is checked again.
 */
bool sf_state_image_done(const struct sf_bootstate *st, const uint8_t *id);

/*
 * sf_state_image_applied - whether the image with id @id (SF_IMAGE_ID_BYTES)
 * was applied and its slot is on trial, by @st.
 */
bool sf_state_image_applied(const struct sf_bootstate *st, const uint8_t *id);
