// SPDX-License-Identifier: LGPL-2.1-or-later
#include "decide.h"

#include <string.h>

#include "transition.h"
#include "util.h"

static struct sf_decision mk(enum sf_action a, uint8_t slot, const char *why)
{
	return (struct sf_decision){ .action = a, .slot = slot, .why = why };
}

bool sf_clamp_tries(struct sf_bootstate *st, unsigned tries)
{
	unsigned most = tries > 0 ? tries - 1 : 0;

	if (!sf_state_trial_pending(st) || st->tries_left <= most)
		return false;
	st->tries_left = (uint8_t)most;
	return true;
}

static struct sf_decision pending_trial(const struct sf_decide_in *in)
{
	const struct sf_bootstate *st = in->state;

	if (in->booted == st->trial)
		return mk(SF_ACT_BOOT_ON, st->trial,
			  "trial boot: booting it; it must confirm");
	if (st->tries_left > 0)
		return mk(SF_ACT_RETRY, st->trial,
			  "a trial is pending and did not confirm: retrying");
	return mk(SF_ACT_FAIL_TRIAL, st->trial,
		  "a trial is pending, out of tries: it failed, falling back");
}

struct sf_decision sf_decide(const struct sf_decide_in *in)
{
	const struct sf_bootstate *st = in->state;
	uint8_t b = in->booted;

	if (b > 1)
		return mk(SF_ACT_BOOT_GOOD, st->good,
			  "booted slot unknown: rebooting into the good slot");
	if (sf_state_trial_pending(st) && (b == st->trial || b == st->good))
		return pending_trial(in);
	if (b != st->good)
		return mk(SF_ACT_BOOT_GOOD, st->good,
			  "this slot is not the good one and not on trial: "
			  "rebooting into the good slot");
	if (!in->staged)
		return mk(SF_ACT_BOOT_ON, b, "nothing staged: booting on");
	if (sf_state_image_done(st, in->staged_id))
		return mk(SF_ACT_DISCARD, b,
			  "the staged image already failed its trial or was "
			  "confirmed: moving it aside");
	return mk(SF_ACT_APPLY, (uint8_t)(1 - b),
		  "an update is staged: applying it to the spare slot");
}

const char *sf_action_name(enum sf_action a)
{
	static const char *const n[] = { "boot-on",    "apply",	  "retry-trial",
					 "fail-trial", "discard", "boot-good" };

	return (unsigned)a < ARRAY_SIZE(n) ? n[a] : "unknown";
}
