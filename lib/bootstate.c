// SPDX-License-Identifier: LGPL-2.1-or-later
#include "bootstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "efivar.h"
#include "util.h"
#include "version.h"

static const uint8_t state_magic[4] = "SFST";

enum {
	OFF_GOOD = 8,
	OFF_TRIAL = 9,
	OFF_TRIES = 10,
	OFF_RESULT = 11,
	OFF_TIME = 12,
	OFF_SLOTS = 20,
	SLOT_BYTES = 4 + SF_VERSION_FIELD,
	OFF_FLOOR = OFF_SLOTS + 2 * SLOT_BYTES,
	OFF_ID = OFF_FLOOR + SF_VERSION_FIELD,
	OFF_REASON = OFF_ID + SF_IMAGE_ID_BYTES,
	OFF_CRC = OFF_REASON + SF_REASON_FIELD,
};

_Static_assert(OFF_CRC + 4 == SF_STATE_SIZE, "record layout");

static void put_string(uint8_t *p, const char *s, size_t field)
{
	size_t n = strnlen(s, field - 1);

	memset(p, 0, field);
	memcpy(p, s, n);
}

void sf_bootstate_encode(const struct sf_bootstate *st, uint8_t *buf)
{
	memset(buf, 0, SF_STATE_SIZE);
	memcpy(buf, state_magic, 4);
	le16_store(buf + 4, SF_STATE_VERSION);
	le16_store(buf + 6, SF_STATE_SIZE);
	buf[OFF_GOOD] = st->good;
	buf[OFF_TRIAL] = st->trial;
	buf[OFF_TRIES] = st->tries_left;
	buf[OFF_RESULT] = st->last_result;
	le64_store(buf + OFF_TIME, st->last_time);
	for (int s = 0; s < 2; s++) {
		uint8_t *p = buf + OFF_SLOTS + s * SLOT_BYTES;

		p[0] = st->slot[s].status;
		put_string(p + 4, st->slot[s].version, SF_VERSION_FIELD);
	}
	put_string(buf + OFF_FLOOR, st->floor, SF_VERSION_FIELD);
	memcpy(buf + OFF_ID, st->image_id, SF_IMAGE_ID_BYTES);
	put_string(buf + OFF_REASON, st->last_reason, SF_REASON_FIELD);
	le32_store(buf + OFF_CRC, (uint32_t)crc32(0, buf, OFF_CRC));
}

/* A NUL-terminated, NUL-padded field; a version unless @any_text. */
static int get_string(const struct sf_ctx *ctx, const char *what,
		      const uint8_t *p, size_t field, bool any_text, char *dst)
{
	size_t n = strnlen((const char *)p, field);
	struct sf_version v;

	if (n == field)
		return sf_err(ctx, -EBADMSG, "state: %s not terminated", what);
	for (size_t i = n; i < field; i++)
		if (p[i])
			return sf_err(ctx, -EBADMSG,
				      "state: %s has bytes after its end",
				      what);
	memcpy(dst, p, field);
	if (!any_text && n && sf_version_parse(dst, &v) < 0)
		return sf_err(ctx, -EBADMSG, "state: %s is not a version",
			      what);
	return 0;
}

static int check_header(const struct sf_ctx *ctx, const uint8_t *buf,
			size_t len)
{
	if (len < 8 || memcmp(buf, state_magic, 4) != 0)
		return sf_err(ctx, -EBADMSG, "state: not a slotflip record");
	if (le16_load(buf + 4) != SF_STATE_VERSION)
		return sf_err(ctx, -EPROTONOSUPPORT,
			      "state: record version %u, this slotflip knows "
			      "%u",
			      le16_load(buf + 4), SF_STATE_VERSION);
	if (len != SF_STATE_SIZE || le16_load(buf + 6) != SF_STATE_SIZE)
		return sf_err(ctx, -EBADMSG, "state: record of %zu bytes", len);
	if (le32_load(buf + OFF_CRC) != (uint32_t)crc32(0, buf, OFF_CRC))
		return sf_err(ctx, -EBADMSG, "state: checksum mismatch");
	if (buf[OFF_GOOD] > 1 ||
	    (buf[OFF_TRIAL] > 1 && buf[OFF_TRIAL] != SF_NO_SLOT) ||
	    buf[OFF_RESULT] > SF_RESULT_APPLY_ERROR)
		return sf_err(ctx, -EBADMSG, "state: field out of range");
	return 0;
}

int sf_bootstate_decode(const struct sf_ctx *ctx, const uint8_t *buf,
			size_t len, struct sf_bootstate *ret)
{
	struct sf_bootstate st = { .good = 0 };
	int r = check_header(ctx, buf, len);

	for (int s = 0; r >= 0 && s < 2; s++) {
		const uint8_t *p = buf + OFF_SLOTS + s * SLOT_BYTES;

		st.slot[s].status = p[0];
		if (p[0] > SF_SLOT_FAILED || p[1] || p[2] || p[3])
			return sf_err(ctx, -EBADMSG, "state: slot %s status %u",
				      sf_slot_name((uint8_t)s), p[0]);
		r = get_string(ctx, "slot version", p + 4, SF_VERSION_FIELD,
			       false, st.slot[s].version);
	}
	if (r >= 0)
		r = get_string(ctx, "floor", buf + OFF_FLOOR, SF_VERSION_FIELD,
			       false, st.floor);
	if (r >= 0)
		r = get_string(ctx, "reason", buf + OFF_REASON, SF_REASON_FIELD,
			       true, st.last_reason);
	if (r < 0)
		return r;
	st.good = buf[OFF_GOOD];
	st.trial = buf[OFF_TRIAL];
	st.tries_left = buf[OFF_TRIES];
	st.last_result = buf[OFF_RESULT];
	st.last_time = le64_load(buf + OFF_TIME);
	memcpy(st.image_id, buf + OFF_ID, SF_IMAGE_ID_BYTES);
	*ret = st;
	return 0;
}

int sf_bootstate_load(const struct sf_ctx *ctx, struct sf_bootstate *ret)
{
	uint8_t buf[SF_STATE_SIZE + 1];
	int n = efivar_read(ctx, SF_STATE_VAR, SF_VENDOR_GUID, NULL, buf,
			    sizeof(buf));

	if (n < 0)
		return n;
	return sf_bootstate_decode(ctx, buf, (size_t)n, ret);
}

int sf_bootstate_store(const struct sf_ctx *ctx, const struct sf_bootstate *st)
{
	uint8_t buf[SF_STATE_SIZE];

	sf_bootstate_encode(st, buf);
	return efivar_write(ctx, SF_STATE_VAR, SF_VENDOR_GUID,
			    EFI_VARIABLE_NV_BS_RT, buf, sizeof(buf));
}

void sf_bootstate_rebuild(struct sf_bootstate *st, uint8_t booted,
			  const char *version)
{
	memset(st, 0, sizeof(*st));
	st->good = booted > 1 ? 0 : booted;
	st->trial = SF_NO_SLOT;
	st->slot[st->good].status = SF_SLOT_GOOD;
	st->slot[1 - st->good].status = SF_SLOT_INVALID;
	if (!version)
		return;
	snprintf(st->slot[st->good].version, SF_VERSION_FIELD, "%s", version);
	snprintf(st->floor, SF_VERSION_FIELD, "%s", version);
}

void sf_bootstate_set_result(struct sf_bootstate *st, enum sf_result code,
			     uint64_t now, const char *reason)
{
	st->last_result = (uint8_t)code;
	st->last_time = now;
	snprintf(st->last_reason, sizeof(st->last_reason), "%s",
		 reason ? reason : "");
}

const char *sf_slot_name(uint8_t slot)
{
	return slot == 0 ? "a" : slot == 1 ? "b" : "none";
}

const char *sf_slot_status_name(uint8_t status)
{
	static const char *const n[] = { "invalid", "good", "trial", "failed" };

	return status < ARRAY_SIZE(n) ? n[status] : "unknown";
}

const char *sf_result_name(uint8_t code)
{
	static const char *const n[] = { "none",      "applied",
					 "refused",   "trial-failed",
					 "confirmed", "apply-error" };

	return code < ARRAY_SIZE(n) ? n[code] : "unknown";
}

int sf_bootstate_field(const struct sf_bootstate *st, const char *name,
		       char *buf, size_t size)
{
	const char *slot = strchr(name, '.');
	int s = name[0] == 'b';

	if (slot && (slot != name + 1 || (name[0] != 'a' && name[0] != 'b')))
		return -EINVAL;
	if (!strcmp(name, "good"))
		snprintf(buf, size, "%s", sf_slot_name(st->good));
	else if (!strcmp(name, "trial"))
		snprintf(buf, size, "%s", sf_slot_name(st->trial));
	else if (!strcmp(name, "tries"))
		snprintf(buf, size, "%u", st->tries_left);
	else if (!strcmp(name, "result"))
		snprintf(buf, size, "%s", sf_result_name(st->last_result));
	else if (!strcmp(name, "reason"))
		snprintf(buf, size, "%s", st->last_reason);
	else if (!strcmp(name, "floor"))
		snprintf(buf, size, "%s", st->floor);
	else if (slot && !strcmp(slot, ".status"))
		snprintf(buf, size, "%s",
			 sf_slot_status_name(st->slot[s].status));
	else if (slot && !strcmp(slot, ".version"))
		snprintf(buf, size, "%s", st->slot[s].version);
	else
		return -EINVAL;
	return 0;
}
