// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>

#include "testlib.h"
#include "transition.h"

/* a good (1.0), b on trial (1.1) with 2 tries left, floor 1.0. */
static void trial_state(struct sf_bootstate *st)
{
	sf_bootstate_rebuild(st, 0, NULL);
	strcpy(st->slot[0].version, "1.0");
	strcpy(st->slot[1].version, "1.1");
	strcpy(st->floor, "1.0");
	st->slot[1].status = SF_SLOT_TRIAL;
	st->trial = 1;
	st->tries_left = 2;
	memset(st->image_id, 0x5a, sizeof(st->image_id));
	sf_bootstate_set_result(st, SF_RESULT_APPLIED, 100, "armed");
}

TEST(mark_good_confirms_the_trial)
{
	struct sf_bootstate st;
	char why[256] = "";

	trial_state(&st);
	CHECK_EQ(sf_state_mark_good(&st, 1, 200, why, sizeof(why)), 1);
	CHECK_EQ(st.good, 1);
	CHECK_EQ(st.trial, SF_NO_SLOT);
	CHECK_EQ(st.tries_left, 0);
	CHECK_EQ(st.slot[1].status, SF_SLOT_GOOD);
	CHECK_EQ(st.slot[0].status, SF_SLOT_GOOD);
	CHECK_STREQ(st.floor, "1.1");
	CHECK_EQ(st.last_result, SF_RESULT_CONFIRMED);
	CHECK_EQ(st.last_time, 200);
	CHECK(strstr(st.last_reason, "slot b (version 1.1) confirmed"));
	/* The image id stays: slotflip-init discards a re-staged copy. */
	CHECK_EQ(st.image_id[0], 0x5a);
}

TEST(mark_good_in_the_good_slot_changes_nothing)
{
	struct sf_bootstate st, before;
	char why[256];

	trial_state(&st);
	before = st;
	CHECK_EQ(sf_state_mark_good(&st, 0, 300, why, sizeof(why)), 0);
	CHECK(!memcmp(&st, &before, sizeof(st)));
	sf_bootstate_rebuild(&st, 1, NULL);
	before = st;
	CHECK_EQ(sf_state_mark_good(&st, 1, 300, why, sizeof(why)), 0);
	CHECK(!memcmp(&st, &before, sizeof(st)));
}

TEST(mark_good_never_lowers_the_floor)
{
	struct sf_bootstate st;
	char why[256];

	trial_state(&st);
	strcpy(st.floor, "1.10");
	CHECK_EQ(sf_state_mark_good(&st, 1, 1, why, sizeof(why)), 1);
	CHECK_STREQ(st.floor, "1.10");
	trial_state(&st);
	st.floor[0] = '\0';
	strcpy(st.slot[1].version, "2.0.1");
	CHECK_EQ(sf_state_mark_good(&st, 1, 1, why, sizeof(why)), 1);
	CHECK_STREQ(st.floor, "2.0.1");
}

TEST(mark_good_refused_outside_a_trial)
{
	struct sf_bootstate st, before;
	char why[256];

	trial_state(&st);
	st.slot[1].status = SF_SLOT_FAILED;
	st.trial = SF_NO_SLOT;
	before = st;
	CHECK_EQ(sf_state_mark_good(&st, 1, 1, why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "slot b is not on trial: it failed its trial"));
	CHECK(strstr(why, "slotflip set-active b"));
	CHECK(!memcmp(&st, &before, sizeof(st)));
	st.slot[1].status = SF_SLOT_INVALID;
	CHECK_EQ(sf_state_mark_good(&st, 1, 1, why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "its status is invalid"));
	/* Trial recorded for b, but b's status is not trial: not a trial. */
	trial_state(&st);
	st.slot[1].status = SF_SLOT_INVALID;
	CHECK_EQ(sf_state_mark_good(&st, 1, 1, why, sizeof(why)), -EPERM);
	CHECK_EQ(sf_state_mark_good(&st, 7, 1, why, sizeof(why)), -EPERM);
}

TEST(mark_bad)
{
	struct sf_bootstate st, before;
	char why[256];

	trial_state(&st);
	CHECK_EQ(sf_state_mark_bad(&st, 1, 400, "disk check", why, sizeof(why)),
		 1);
	CHECK_EQ(st.good, 0);
	CHECK_EQ(st.trial, SF_NO_SLOT);
	CHECK_EQ(st.slot[1].status, SF_SLOT_FAILED);
	CHECK_EQ(st.last_result, SF_RESULT_TRIAL_FAILED);
	CHECK_EQ(st.last_time, 400);
	CHECK_STREQ(st.last_reason,
		    "slot b (version 1.1) marked bad: disk check");
	CHECK_STREQ(st.floor, "1.0");
	/* Now there is no trial: refused, nothing changes. */
	before = st;
	CHECK_EQ(sf_state_mark_bad(&st, 1, 500, "x", why, sizeof(why)), -EPERM);
	CHECK(!memcmp(&st, &before, sizeof(st)));
	CHECK_EQ(sf_state_mark_bad(&st, 0, 500, "x", why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "slot a is the good slot, not on trial"));
	trial_state(&st);
	CHECK_EQ(sf_state_mark_bad(&st, 1, 1, NULL, why, sizeof(why)), 1);
	CHECK(strstr(st.last_reason, "no reason given"));
}

TEST(set_active_gives_a_trial)
{
	struct sf_bootstate st;
	struct sf_set_active req = { .slot = 0, .tries = 3 };
	char why[256];

	/* b good (1.1, floor 1.1), a good (1.1) too: roll a forward again. */
	trial_state(&st);
	CHECK_EQ(sf_state_mark_good(&st, 1, 1, why, sizeof(why)), 1);
	strcpy(st.slot[0].version, "1.1");
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_TRIAL);
	CHECK_EQ(st.trial, 0);
	CHECK_EQ(st.tries_left, 2);
	CHECK_EQ(st.slot[0].status, SF_SLOT_TRIAL);
	CHECK_EQ(st.good, 1);
	/* Asking again changes nothing. */
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_NOTHING);
	CHECK_EQ(st.tries_left, 2);
	req.tries = 1;
	st.slot[0].status = SF_SLOT_FAILED;
	st.trial = SF_NO_SLOT;
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_TRIAL);
	CHECK_EQ(st.tries_left, 0);
}

TEST(set_active_refusals)
{
	struct sf_bootstate st, before;
	struct sf_set_active req = { .slot = 1, .tries = 3 };
	char why[256];

	sf_bootstate_rebuild(&st, 0, NULL);
	before = st;
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "slot b holds no verified system"));
	CHECK(!memcmp(&st, &before, sizeof(st)));
	/* Under the floor: refused unless allowed; the floor stays. */
	st.slot[1].status = SF_SLOT_GOOD;
	strcpy(st.slot[1].version, "0.9");
	strcpy(st.floor, "1.0");
	before = st;
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "version 0.9, under the anti-rollback floor 1.0"));
	CHECK(!memcmp(&st, &before, sizeof(st)));
	st.slot[1].version[0] = '\0';
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "(unknown)"));
	req.allow_downgrade = true;
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_TRIAL);
	CHECK_STREQ(st.floor, "1.0");
	/* Equal to the floor is fine. */
	sf_bootstate_rebuild(&st, 0, NULL);
	st.slot[1].status = SF_SLOT_GOOD;
	strcpy(st.slot[1].version, "1.0");
	strcpy(st.floor, "1.0");
	req.allow_downgrade = false;
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_TRIAL);
	req.slot = 2;
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)), -EINVAL);
}

TEST(set_active_good_slot_cancels_trial)
{
	struct sf_bootstate st;
	struct sf_set_active req = { .slot = 0, .tries = 3, .now = 900 };
	char why[256];

	trial_state(&st);
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_CANCELLED);
	CHECK_EQ(st.trial, SF_NO_SLOT);
	CHECK_EQ(st.slot[1].status, SF_SLOT_FAILED);
	CHECK_EQ(st.last_result, SF_RESULT_TRIAL_FAILED);
	CHECK_EQ(st.last_time, 900);
	CHECK(strstr(st.last_reason, "cancelled by set-active a"));
	CHECK_EQ(sf_state_set_active(&st, &req, why, sizeof(why)),
		 SF_SET_ACTIVE_NOTHING);
}

static void check_order(const uint16_t *in, size_t n, const uint16_t *want,
			size_t want_n)
{
	uint16_t out[16];
	size_t k = sf_boot_order_arrange(in, n, 1, 2, out);

	CHECK_EQ(k, want_n);
	for (size_t i = 0; i < k; i++)
		CHECK_EQ(out[i], want[i]);
}

TEST(boot_order_arrange)
{
	/* Already right: unchanged. */
	check_order((uint16_t[]){ 1, 2, 7 }, 3, (uint16_t[]){ 1, 2, 7 }, 3);
	check_order((uint16_t[]){ 1, 7, 2 }, 3, (uint16_t[]){ 1, 7, 2 }, 3);
	/* Good slot moved first, the others keep their order. */
	check_order((uint16_t[]){ 7, 2, 8, 1 }, 4, (uint16_t[]){ 1, 7, 2, 8 },
		    4);
	/* Other slot absent: right after the good one. */
	check_order((uint16_t[]){ 7, 1 }, 2, (uint16_t[]){ 1, 2, 7 }, 3);
	/* Both absent, or nothing at all. */
	check_order((uint16_t[]){ 7 }, 1, (uint16_t[]){ 1, 2, 7 }, 3);
	check_order(NULL, 0, (uint16_t[]){ 1, 2 }, 2);
	/* A duplicate of the good entry is dropped. */
	check_order((uint16_t[]){ 2, 1, 1 }, 3, (uint16_t[]){ 1, 2 }, 2);
}

TEST(trial_pending)
{
	struct sf_bootstate st = { .good = 0, .trial = SF_NO_SLOT };

	CHECK(!sf_state_trial_pending(&st));
	st.trial = 1;
	st.slot[1].status = SF_SLOT_TRIAL;
	CHECK(sf_state_trial_pending(&st));
	st.slot[1].status = SF_SLOT_FAILED;
	CHECK(!sf_state_trial_pending(&st));
	st.slot[1].status = SF_SLOT_TRIAL;
	st.good = 1;
	CHECK(!sf_state_trial_pending(&st));
}
