// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transition.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "version.h"

bool sf_state_on_trial(const struct sf_bootstate *st, uint8_t slot)
{
	return slot <= 1 && st->trial == slot && st->good != slot &&
	       st->slot[slot].status == SF_SLOT_TRIAL;
}

bool sf_state_trial_pending(const struct sf_bootstate *st)
{
	return sf_state_on_trial(st, st->trial);
}

/* Why @slot (not good, not on trial) cannot be confirmed or marked bad. */
static int not_on_trial(const struct sf_bootstate *st, uint8_t slot, char *why,
			size_t size)
{
	if (st->slot[slot].status == SF_SLOT_FAILED)
		snprintf(why, size,
			 "slot %s is not on trial: it failed its trial; the "
			 "good slot is %s (to try it again: slotflip "
			 "set-active %s)",
			 sf_slot_name(slot), sf_slot_name(st->good),
			 sf_slot_name(slot));
	else
		snprintf(why, size,
			 "slot %s is not on trial and not the good slot (its "
			 "status is %s); the good slot is %s",
			 sf_slot_name(slot),
			 sf_slot_status_name(st->slot[slot].status),
			 sf_slot_name(st->good));
	return -EPERM;
}

/* Raise the floor to @version, never lower it. */
static void raise_floor(struct sf_bootstate *st, const char *version)
{
	int cmp;

	if (!version[0])
		return;
	if (st->floor[0] &&
	    (sf_version_cmp_str(version, st->floor, &cmp) < 0 || cmp <= 0))
		return;
	snprintf(st->floor, sizeof(st->floor), "%s", version);
}

int sf_state_mark_good(struct sf_bootstate *st, uint8_t booted, uint64_t now,
		       char *why, size_t size)
{
	char reason[SF_REASON_FIELD];

	if (booted > 1)
		return snprintf(why, size, "the booted slot is unknown"),
		       -EPERM;
	if (booted == st->good) /* the good slot is never on trial */
		return 0;
	if (!sf_state_on_trial(st, booted))
		return not_on_trial(st, booted, why, size);
	st->good = booted;
	st->slot[booted].status = SF_SLOT_GOOD;
	st->trial = SF_NO_SLOT;
	st->tries_left = 0;
	raise_floor(st, st->slot[booted].version);
	snprintf(reason, sizeof(reason),
		 "slot %s (version %s) confirmed: it is the good slot",
		 sf_slot_name(booted), st->slot[booted].version);
	sf_bootstate_set_result(st, SF_RESULT_CONFIRMED, now, reason);
	return 1;
}

void sf_mark_bad_reason(const struct sf_bootstate *st, uint8_t slot,
			const char *reason, char *buf, size_t size)
{
	snprintf(buf, size, "slot %s (version %s) marked bad: %s",
		 sf_slot_name(slot), st->slot[slot].version,
		 reason && reason[0] ? reason : "no reason given");
}

int sf_state_mark_bad(struct sf_bootstate *st, uint8_t booted, uint64_t now,
		      const char *reason, char *why, size_t size)
{
	char text[SF_REASON_FIELD];

	if (booted > 1)
		return snprintf(why, size, "the booted slot is unknown"),
		       -EPERM;
	if (booted == st->good) {
		snprintf(why, size,
			 "slot %s is the good slot, not on trial: there is "
			 "nothing to mark bad (to roll back: slotflip "
			 "set-active %s)",
			 sf_slot_name(booted), sf_slot_name(1 - booted));
		return -EPERM;
	}
	if (!sf_state_on_trial(st, booted))
		return not_on_trial(st, booted, why, size);
	st->slot[booted].status = SF_SLOT_FAILED;
	st->trial = SF_NO_SLOT;
	st->tries_left = 0;
	sf_mark_bad_reason(st, booted, reason, text, sizeof(text));
	sf_bootstate_set_result(st, SF_RESULT_TRIAL_FAILED, now, text);
	return 1;
}

/* Is the slot's version acceptable against the floor? */
static int check_floor(const struct sf_bootstate *st,
		       const struct sf_set_active *req, char *why, size_t size)
{
	const char *v = st->slot[req->slot].version;
	int cmp = 0;

	if (!st->floor[0] || req->allow_downgrade)
		return 0;
	if (v[0] && sf_version_cmp_str(v, st->floor, &cmp) == 0 && cmp >= 0)
		return 0;
	snprintf(why, size,
		 "slot %s holds version %s, under the anti-rollback floor %s: "
		 "give --allow-downgrade to roll back to it anyway",
		 sf_slot_name(req->slot), v[0] ? v : "(unknown)", st->floor);
	return -EPERM;
}

static int cancel_trial(struct sf_bootstate *st, uint8_t keep, uint64_t now)
{
	uint8_t t = (uint8_t)(1 - keep);
	char reason[SF_REASON_FIELD];

	st->slot[t].status = SF_SLOT_FAILED;
	st->trial = SF_NO_SLOT;
	st->tries_left = 0;
	snprintf(reason, sizeof(reason),
		 "trial of slot %s (version %s) cancelled by set-active %s",
		 sf_slot_name(t), st->slot[t].version, sf_slot_name(keep));
	sf_bootstate_set_result(st, SF_RESULT_TRIAL_FAILED, now, reason);
	return SF_SET_ACTIVE_CANCELLED;
}

int sf_state_set_active(struct sf_bootstate *st,
			const struct sf_set_active *req, char *why, size_t size)
{
	uint8_t s = req->slot;
	int r;

	if (s > 1 || req->tries < 1)
		return snprintf(why, size, "no such slot"), -EINVAL;
	if (s == st->good)
		return sf_state_on_trial(st, (uint8_t)(1 - s))
			       ? cancel_trial(st, s, req->now)
			       : SF_SET_ACTIVE_NOTHING;
	if (sf_state_on_trial(st, s))
		return SF_SET_ACTIVE_NOTHING;
	if (st->slot[s].status == SF_SLOT_INVALID) {
		snprintf(why, size,
			 "slot %s holds no verified system (its status is "
			 "invalid): stage an update to fill it",
			 sf_slot_name(s));
		return -EPERM;
	}
	r = check_floor(st, req, why, size);
	if (r < 0)
		return r;
	st->slot[s].status = SF_SLOT_TRIAL;
	st->trial = s;
	st->tries_left =
		(uint8_t)(req->tries - 1); /* the config caps it at 100 */
	return SF_SET_ACTIVE_TRIAL;
}

size_t sf_boot_order_arrange(const uint16_t *in, size_t n, uint16_t good,
			     uint16_t other, uint16_t *out)
{
	bool has_other = false;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		has_other |= in[i] == other && other != good;
	out[k++] = good;
	if (!has_other && other != good)
		out[k++] = other;
	for (size_t i = 0; i < n; i++)
		if (in[i] != good)
			out[k++] = in[i];
	return k;
}

bool sf_state_image_done(const struct sf_bootstate *st, const uint8_t *id)
{
	static const uint8_t zero[SF_IMAGE_ID_BYTES];

	if (!id || !memcmp(st->image_id, zero, sizeof(zero)) ||
	    memcmp(id, st->image_id, SF_IMAGE_ID_BYTES) != 0)
		return false;
	return st->last_result == SF_RESULT_TRIAL_FAILED ||
	       st->last_result == SF_RESULT_CONFIRMED;
}

bool sf_state_image_applied(const struct sf_bootstate *st, const uint8_t *id)
{
	return sf_state_trial_pending(st) &&
	       memcmp(st->image_id, id, SF_IMAGE_ID_BYTES) == 0;
}
