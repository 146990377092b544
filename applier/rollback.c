// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rollback.h"

#include <stdio.h>
#include <string.h>

#include "efivar.h"
#include "staging.h"
#include "version.h"

/*
 * Did the state (in NVRAM, out of the attacker's reach) put this version
 * into the booted slot knowingly? `slotflip set-active --allow-downgrade`
 * gives an older slot a trial, and confirmed it stays the good slot under
 * a floor that is never lowered: the state then names the booted slot as
 * good or on trial, with exactly this version.
 */
static bool downgrade_recorded(const struct boot *b, const char *own)
{
	uint8_t s = b->booted;
	int cmp;

	return (s == b->st.good || s == b->st.trial) &&
	       sf_version_cmp_str(own, b->st.slot[s].version, &cmp) == 0 &&
	       cmp == 0;
}

/* Is this boot's version below the floor, and not a downgrade the state
 * recorded? Its version into @own. */
static bool below_floor(const struct boot *b, char *own, size_t size)
{
	int cmp;

	if (!b->st.floor[0] || sf_version_file_read(b->ctx, own, size) < 0)
		return false;
	return sf_version_cmp_str(own, b->st.floor, &cmp) == 0 && cmp < 0 &&
	       !downgrade_recorded(b, own);
}

/* The result file says why (the state has no result for this: a slot
 * that is not on trial keeps its status). */
static void write_refusal(struct boot *b, const char *own, const char *reason)
{
	struct sf_last_result lr = { .time = b->now };
	int r;

	snprintf(lr.result, sizeof(lr.result), "%s", BOOT_RESULT_ROLLBACK);
	snprintf(lr.slot, sizeof(lr.slot), "%s", sf_slot_name(b->booted));
	snprintf(lr.version, sizeof(lr.version), "%s", own);
	snprintf(lr.reason, sizeof(lr.reason), "%s", reason);
	r = b->data_fd < 0 ? b->data_fd
			   : sf_last_result_write(b->ctx, b->data_fd, &lr);
	if (r < 0)
		sf_log(b->ctx, SF_LOG_WARNING, 0,
		       "cannot write the result file: %s", strerror(-r));
}

/*
 * BootNext = the good slot, unless the firmware booted its entry (then
 * the good slot's own UKI is the old one: a reboot would come back here).
 */
static bool reboot_into_good(struct boot *b)
{
	uint8_t good = b->st.good;
	uint16_t cur;
	bool from_good;

	if (good > 1 || b->st.slot[good].status != SF_SLOT_GOOD)
		return false;
	if (efivar_get_u16(b->ctx, "BootCurrent", &cur) == 0)
		from_good = cur == b->cfg.slot[good].boot_entry;
	else
		from_good = b->booted == good;
	if (from_good ||
	    efivar_set_boot_next(b->ctx, b->cfg.slot[good].boot_entry) < 0)
		return false;
	sf_log(b->ctx, SF_LOG_NOTICE, 0,
	       "falling back: BootNext = the good slot %s", sf_slot_name(good));
	b->next = BOOT_NEXT_REBOOT;
	b->next_slot = good;
	return true;
}

bool boot_refuse_rollback(struct boot *b)
{
	char own[SF_VERSION_FIELD], reason[SF_ERROR_MAX];

	if (!below_floor(b, own, sizeof(own)))
		return false;
	snprintf(reason, sizeof(reason),
		 "slot %s booted a system of version %s, below the "
		 "anti-rollback floor %s: refused (an older system written "
		 "to the disk?)",
		 sf_slot_name(b->booted), own, b->st.floor);
	sf_log(b->ctx, SF_LOG_ERR, 0, "%s", reason);
	if (b->st.trial == b->booted)
		boot_fail_trial(b, reason);
	else
		write_refusal(b, own, reason);
	if (reboot_into_good(b))
		return true;
	b->next = BOOT_NEXT_STOP;
	b->next_slot = b->booted;
	snprintf(b->stop_reason, sizeof(b->stop_reason), "%s", reason);
	return true;
}
