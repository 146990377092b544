// SPDX-License-Identifier: LGPL-2.1-or-later
#include "decide.h"
#include "transition.h"
#include "testlib.h"
#include "util.h"

#define NONE SF_NO_SLOT
#define ID_X 1 /* the staged image is the one in the state */
#define ID_Y 2 /* another image */

/* One row of docs/BOOT.md's decision table. */
struct row {
	uint8_t good, trial, tries, trial_status, other_status;
	uint8_t result;
	uint8_t booted;
	int staged; /* 0, ID_X or ID_Y */
	enum sf_action want;
	uint8_t want_slot;
};

static const struct row rows[] = {
	/* Pending trial of b, a good. */
	{ 0, 1, 2, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 1, 0, SF_ACT_BOOT_ON,
	  1 },
	{ 0, 1, 2, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 1, ID_X, SF_ACT_BOOT_ON,
	  1 },
	{ 0, 1, 2, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 0, ID_X, SF_ACT_RETRY,
	  1 },
	{ 0, 1, 1, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 0, 0, SF_ACT_RETRY, 1 },
	{ 0, 1, 0, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 0, ID_X,
	  SF_ACT_FAIL_TRIAL, 1 },
	{ 0, 1, 0, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 1, ID_X, SF_ACT_BOOT_ON,
	  1 },
	/* Pending trial of a, b good. */
	{ 1, 0, 3, SF_SLOT_TRIAL, 0, SF_RESULT_APPLIED, 1, 0, SF_ACT_RETRY, 0 },
	/* No trial. */
	{ 0, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_NONE, 0, 0, SF_ACT_BOOT_ON,
	  0 },
	{ 0, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_NONE, 0, ID_Y, SF_ACT_APPLY,
	  1 },
	{ 1, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_NONE, 1, ID_Y, SF_ACT_APPLY,
	  0 },
	/* Staged image already handled: discard; interrupted: apply again;
	 * refused: checked again (it may carry new signatures now). */
	{ 0, NONE, 0, SF_SLOT_FAILED, 0, SF_RESULT_REFUSED, 0, ID_X,
	  SF_ACT_APPLY, 1 },
	{ 0, NONE, 0, SF_SLOT_FAILED, 0, SF_RESULT_TRIAL_FAILED, 0, ID_X,
	  SF_ACT_DISCARD, 0 },
	{ 0, NONE, 0, SF_SLOT_GOOD, 0, SF_RESULT_CONFIRMED, 0, ID_X,
	  SF_ACT_DISCARD, 0 },
	{ 0, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_NONE, 0, ID_X, SF_ACT_APPLY,
	  1 },
	{ 0, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_APPLY_ERROR, 0, ID_X,
	  SF_ACT_APPLY, 1 },
	{ 0, NONE, 0, SF_SLOT_FAILED, 0, SF_RESULT_TRIAL_FAILED, 0, ID_Y,
	  SF_ACT_APPLY, 1 },
	/* Booted slot neither good nor trial: back to the good one. */
	{ 0, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_NONE, 1, 0,
	  SF_ACT_BOOT_GOOD, 0 },
	{ 0, NONE, 0, SF_SLOT_FAILED, 0, SF_RESULT_TRIAL_FAILED, 1, ID_X,
	  SF_ACT_BOOT_GOOD, 0 },
	/* Unknown booted slot. */
	{ 1, NONE, 0, SF_SLOT_INVALID, 0, SF_RESULT_NONE, 7, 0,
	  SF_ACT_BOOT_GOOD, 1 },
};

TEST(every_transition)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct sf_bootstate st;
		uint8_t x[SF_IMAGE_ID_BYTES], y[SF_IMAGE_ID_BYTES];
		struct sf_decide_in in = { .state = &st, .booted = r->booted };
		struct sf_decision d;

		memset(x, 0x11, sizeof(x));
		memset(y, 0x22, sizeof(y));
		sf_bootstate_rebuild(&st, r->good, NULL);
		st.trial = r->trial;
		st.tries_left = r->tries;
		st.slot[1 - r->good].status = r->trial_status;
		st.last_result = r->result;
		memcpy(st.image_id, x, sizeof(x));
		in.staged = r->staged != 0;
		in.staged_id = r->staged == ID_X   ? x
			       : r->staged == ID_Y ? y
						   : NULL;
		d = sf_decide(&in);
		if (d.action != r->want || d.slot != r->want_slot || !d.why)
			test_fail(__FILE__, __LINE__,
				  "row %zu: got %s slot %u, want %s slot %u", i,
				  sf_action_name(d.action), d.slot,
				  sf_action_name(r->want), r->want_slot);
	}
}

TEST(no_image_id_never_discards)
{
	struct sf_bootstate st;
	uint8_t zero[SF_IMAGE_ID_BYTES] = { 0 };
	struct sf_decide_in in = {
		.state = &st, .booted = 0, .staged = true, .staged_id = zero
	};

	sf_bootstate_rebuild(&st, 0, NULL);
	st.last_result = SF_RESULT_REFUSED;
	CHECK_EQ(sf_decide(&in).action, SF_ACT_APPLY);
}

/* The rule slotflip-init and slotflip stage share: a refused image is
 * checked again (signed again, its id is the same), a failed or confirmed
 * one is not. */
TEST(staged_done)
{
	struct sf_bootstate st = { .last_result = SF_RESULT_REFUSED };
	uint8_t id[SF_IMAGE_ID_BYTES], other[SF_IMAGE_ID_BYTES];

	memset(id, 0x5a, sizeof(id));
	memset(other, 0x17, sizeof(other));
	memcpy(st.image_id, id, sizeof(id));
	CHECK(!sf_state_image_done(&st, id));
	st.last_result = SF_RESULT_TRIAL_FAILED;
	CHECK(sf_state_image_done(&st, id));
	CHECK(!sf_state_image_done(&st, other));
	CHECK(!sf_state_image_done(&st, NULL));
	st.last_result = SF_RESULT_CONFIRMED;
	CHECK(sf_state_image_done(&st, id));
	st.last_result = SF_RESULT_APPLY_ERROR;
	CHECK(!sf_state_image_done(&st, id));
	memset(st.image_id, 0, sizeof(st.image_id));
	memset(id, 0, sizeof(id));
	st.last_result = SF_RESULT_TRIAL_FAILED;
	CHECK(!sf_state_image_done(&st, id));
}

TEST(staged_applied)
{
	struct sf_bootstate st = { .good = 0, .trial = 1 };
	uint8_t id[SF_IMAGE_ID_BYTES], other[SF_IMAGE_ID_BYTES];

	memset(id, 0x5a, sizeof(id));
	memset(other, 0x17, sizeof(other));
	memcpy(st.image_id, id, sizeof(id));
	st.slot[1].status = SF_SLOT_TRIAL;
	CHECK(sf_state_image_applied(&st, id));
	CHECK(!sf_state_image_applied(&st, other));
	st.slot[1].status = SF_SLOT_FAILED; /* no trial pending */
	CHECK(!sf_state_image_applied(&st, id));
}

/* A record with a valid checksum can say 255 tries left: a trial gets at
 * most the config's tries, tries - 1 after arming. */
TEST(tries_left_clamped_to_the_config)
{
	struct sf_bootstate st;

	sf_bootstate_rebuild(&st, 0, NULL);
	st.trial = 1;
	st.slot[1].status = SF_SLOT_TRIAL;
	st.tries_left = 255;
	CHECK(sf_clamp_tries(&st, 3));
	CHECK_EQ(st.tries_left, 2);
	CHECK(!sf_clamp_tries(&st, 3)); /* tries - 1 is what arming gives */
	CHECK_EQ(st.tries_left, 2);
	CHECK(!sf_clamp_tries(&st, 100));
	CHECK_EQ(st.tries_left, 2);
	CHECK(sf_clamp_tries(&st, 1));
	CHECK_EQ(st.tries_left, 0);
	/* No trial pending: the count means nothing, it is left alone. */
	st.tries_left = 255;
	st.slot[1].status = SF_SLOT_FAILED;
	CHECK(!sf_clamp_tries(&st, 3));
	CHECK_EQ(st.tries_left, 255);
	st.slot[1].status = SF_SLOT_TRIAL;
	st.trial = SF_NO_SLOT;
	CHECK(!sf_clamp_tries(&st, 3));
	CHECK_EQ(st.tries_left, 255);
}
