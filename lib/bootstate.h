/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slotflip's state record, kept in the SlotflipState EFI variable
 * (docs/BOOT.md, "Slots and variables"): good slot, trial, tries left,
 * per-slot status and version, anti-rollback floor, last result.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define SF_STATE_VAR "SlotflipState"
#define SF_STATE_VERSION 1
#define SF_STATE_SIZE 368u
#define SF_NO_SLOT 255u
#define SF_VERSION_FIELD 64u
#define SF_REASON_FIELD 128u
#define SF_IMAGE_ID_BYTES 16u

enum sf_slot_status {
	SF_SLOT_INVALID = 0,
	SF_SLOT_GOOD = 1,
	SF_SLOT_TRIAL = 2,
	SF_SLOT_FAILED = 3,
};

enum sf_result {
	SF_RESULT_NONE = 0,
	SF_RESULT_APPLIED = 1,
	SF_RESULT_REFUSED = 2,
	SF_RESULT_TRIAL_FAILED = 3,
	SF_RESULT_CONFIRMED = 4,
	SF_RESULT_APPLY_ERROR = 5,
};

struct sf_slot_state {
	uint8_t status;
	char version[SF_VERSION_FIELD]; /* "" = unknown */
};

struct sf_bootstate {
	uint8_t good; /* 0 or 1 */
	uint8_t trial; /* 0, 1 or SF_NO_SLOT */
	uint8_t tries_left; /* for the trial */
	uint8_t last_result;
	uint64_t last_time;
	struct sf_slot_state slot[2];
	char floor[SF_VERSION_FIELD]; /* "" = no floor */
	uint8_t image_id[SF_IMAGE_ID_BYTES];
	char last_reason[SF_REASON_FIELD];
};

/* Encode @st into @buf (SF_STATE_SIZE bytes), checksum included. */
void sf_bootstate_encode(const struct sf_bootstate *st, uint8_t *buf);

/*
 * sf_bootstate_decode - decode and check a record.
 * Returns 0; -EBADMSG (wrong magic, length, checksum, a slot number or
 * status out of range, a string not NUL-terminated or not NUL-padded, a
 * version that does not parse); -EPROTONOSUPPORT (unknown record version).
 */
int sf_bootstate_decode(const struct sf_ctx *ctx, const uint8_t *buf,
			size_t len, struct sf_bootstate *ret);

/*
 * sf_bootstate_load - read the variable and decode it.
 * Returns 0, -ENOENT (absent), the errors of decode, or efivar_read()'s.
 */
int sf_bootstate_load(const struct sf_ctx *ctx, struct sf_bootstate *ret);

/*
 * sf_bootstate_store - encode and write the variable (nothing is written
 * when it already holds this record). Returns as efivar_write().
 */
int sf_bootstate_store(const struct sf_ctx *ctx, const struct sf_bootstate *st);

/*
 * sf_bootstate_rebuild - the state to use when the record is absent or
 * corrupt: @booted is good, the other slot invalid, no trial. @version
 * (NULL or "" when unknown: no floor) is the booted slot's version and the
 * anti-rollback floor (cut to SF_VERSION_FIELD - 1 characters).
 */
void sf_bootstate_rebuild(struct sf_bootstate *st, uint8_t booted,
			  const char *version);

/* Record a result: code, reason (truncated to fit), time @now. */
void sf_bootstate_set_result(struct sf_bootstate *st, enum sf_result code,
			     uint64_t now, const char *reason);

/* "a" or "b" for slot 0 or 1, "none" otherwise. */
const char *sf_slot_name(uint8_t slot);
/* "invalid", "good", "trial", "failed" or "unknown". */
const char *sf_slot_status_name(uint8_t status);
/* "none", "applied", "refused", "trial-failed", "confirmed", "apply-error". */
const char *sf_result_name(uint8_t code);

/*
 * sf_bootstate_field - field @name of @st as text in @buf (@size bytes):
 * good, trial, tries, result, reason, floor, a.status, a.version,
 * b.status, b.version (the names tools and tests use).
 * Returns 0, or -EINVAL for an unknown name.
 */
int sf_bootstate_field(const struct sf_bootstate *st, const char *name,
		       char *buf, size_t size);
