// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <sys/stat.h>
#include <zlib.h>

#include "bootstate.h"
#include "efivar.h"
#include "testlib.h"
#include "util.h"

static void sample(struct sf_bootstate *st)
{
	sf_bootstate_rebuild(st, 1, NULL);
	st->trial = 0;
	st->tries_left = 2;
	st->slot[0].status = SF_SLOT_TRIAL;
	strcpy(st->slot[0].version, "1.10.0");
	strcpy(st->slot[1].version, "1.9.3");
	strcpy(st->floor, "1.9");
	memset(st->image_id, 0xab, sizeof(st->image_id));
	sf_bootstate_set_result(st, SF_RESULT_APPLIED, 1700000000, "armed");
}

/* Re-checksum a record after a test changed it. */
static void reseal(uint8_t *buf)
{
	le32_store(buf + 364, (uint32_t)crc32(0, buf, 364));
}

TEST(round_trip)
{
	struct sf_bootstate st, back;
	uint8_t buf[SF_STATE_SIZE], again[SF_STATE_SIZE];

	sample(&st);
	sf_bootstate_encode(&st, buf);
	CHECK(!memcmp(buf, "SFST", 4));
	CHECK_EQ(sf_bootstate_decode(&test_ctx, buf, sizeof(buf), &back), 0);
	CHECK_EQ(back.good, 1);
	CHECK_EQ(back.trial, 0);
	CHECK_EQ(back.tries_left, 2);
	CHECK_EQ(back.slot[0].status, SF_SLOT_TRIAL);
	CHECK_STREQ(back.slot[0].version, "1.10.0");
	CHECK_STREQ(back.floor, "1.9");
	CHECK_STREQ(back.last_reason, "armed");
	CHECK_EQ(back.last_time, 1700000000);
	CHECK_EQ(back.image_id[15], 0xab);
	sf_bootstate_encode(&back, again);
	CHECK(!memcmp(buf, again, sizeof(buf)));
}

static void refused(const uint8_t *buf, size_t len, int err, const char *msg)
{
	struct sf_bootstate st = { .good = 42 };

	test_log_buf[0] = 0;
	CHECK_EQ(sf_bootstate_decode(&test_ctx, buf, len, &st), err);
	CHECK_EQ(st.good, 42);
	CHECK_LOG(msg);
}

TEST(refusals)
{
	struct sf_bootstate st;
	uint8_t good[SF_STATE_SIZE], b[SF_STATE_SIZE];

	sample(&st);
	sf_bootstate_encode(&st, good);
	refused(good, sizeof(good) - 1, -EBADMSG, "record of 367 bytes");
	refused(good, 3, -EBADMSG, "not a slotflip record");
	memcpy(b, good, sizeof(b));
	b[100] ^= 1;
	refused(b, sizeof(b), -EBADMSG, "checksum mismatch");
	memcpy(b, good, sizeof(b));
	b[4] = 2;
	refused(b, sizeof(b), -EPROTONOSUPPORT, "record version 2");
	memcpy(b, good, sizeof(b));
	b[8] = 2; /* good slot 2 */
	reseal(b);
	refused(b, sizeof(b), -EBADMSG, "out of range");
	memcpy(b, good, sizeof(b));
	b[9] = 7; /* trial slot 7 */
	reseal(b);
	refused(b, sizeof(b), -EBADMSG, "out of range");
	memcpy(b, good, sizeof(b));
	b[20] = 4; /* slot a status 4 */
	reseal(b);
	refused(b, sizeof(b), -EBADMSG, "status 4");
	memcpy(b, good, sizeof(b));
	memset(b + 24, '1', 64); /* slot a version unterminated */
	reseal(b);
	refused(b, sizeof(b), -EBADMSG, "not terminated");
	memcpy(b, good, sizeof(b));
	b[24 + 10] = 'x'; /* after the NUL of "1.10.0" */
	reseal(b);
	refused(b, sizeof(b), -EBADMSG, "bytes after its end");
	memcpy(b, good, sizeof(b));
	memcpy(b + 156, "v1", 2); /* floor not a version */
	reseal(b);
	refused(b, sizeof(b), -EBADMSG, "floor is not a version");
}

TEST(set_result_truncates)
{
	struct sf_bootstate st;
	char longr[400];

	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = 0;
	sf_bootstate_rebuild(&st, 0, NULL);
	sf_bootstate_set_result(&st, SF_RESULT_REFUSED, 5, longr);
	CHECK_EQ(strlen(st.last_reason), SF_REASON_FIELD - 1);
	CHECK_EQ(st.last_result, SF_RESULT_REFUSED);
	CHECK_STREQ(sf_result_name(st.last_result), "refused");
}

TEST(rebuild)
{
	struct sf_bootstate st;

	memset(&st, 0x5a, sizeof(st));
	sf_bootstate_rebuild(&st, 1, NULL);
	CHECK_EQ(st.good, 1);
	CHECK_EQ(st.trial, SF_NO_SLOT);
	CHECK_EQ(st.slot[1].status, SF_SLOT_GOOD);
	CHECK_EQ(st.slot[0].status, SF_SLOT_INVALID);
	CHECK_STREQ(st.floor, "");
}

/* With the running version: the booted slot's version and the floor. */
TEST(rebuild_with_a_version)
{
	struct sf_bootstate st;

	sf_bootstate_rebuild(&st, 0, "2.0");
	CHECK_EQ(st.good, 0);
	CHECK_STREQ(st.slot[0].version, "2.0");
	CHECK_STREQ(st.slot[1].version, "");
	CHECK_STREQ(st.floor, "2.0");
	sf_bootstate_rebuild(&st, 1, "");
	CHECK_STREQ(st.slot[1].version, "");
	CHECK_STREQ(st.floor, "");
}

TEST(store_writes_once_and_loads)
{
	struct sf_bootstate st, back;

	CHECK_EQ(mkdir("sys", 0755) | mkdir("sys/firmware", 0755) |
			 mkdir("sys/firmware/efi", 0755) |
			 mkdir("sys/firmware/efi/efivars", 0755),
		 0);
	CHECK_EQ(sf_bootstate_load(&test_ctx, &back), -ENOENT);
	sample(&st);
	CHECK_EQ(sf_bootstate_store(&test_ctx, &st), 1);
	CHECK_EQ(sf_bootstate_store(&test_ctx, &st), 0);
	CHECK_EQ(sf_bootstate_load(&test_ctx, &back), 0);
	CHECK_STREQ(back.slot[0].version, "1.10.0");
	st.tries_left = 1;
	CHECK_EQ(sf_bootstate_store(&test_ctx, &st), 1);
	CHECK_EQ(sf_bootstate_load(&test_ctx, &back), 0);
	CHECK_EQ(back.tries_left, 1);
}

TEST(fields_by_name)
{
	struct sf_bootstate st;
	char buf[256];

	sample(&st);
	CHECK_EQ(sf_bootstate_field(&st, "good", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "b");
	CHECK_EQ(sf_bootstate_field(&st, "trial", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "a");
	CHECK_EQ(sf_bootstate_field(&st, "tries", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "2");
	CHECK_EQ(sf_bootstate_field(&st, "a.status", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "trial");
	CHECK_EQ(sf_bootstate_field(&st, "a.version", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "1.10.0");
	CHECK_EQ(sf_bootstate_field(&st, "floor", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "1.9");
	CHECK_EQ(sf_bootstate_field(&st, "reason", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "armed");
	strcpy(buf, "untouched");
	CHECK_EQ(sf_bootstate_field(&st, "c.status", buf, sizeof(buf)),
		 -EINVAL);
	CHECK_EQ(sf_bootstate_field(&st, "ab.version", buf, sizeof(buf)),
		 -EINVAL);
	CHECK_EQ(sf_bootstate_field(&st, "a.size", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(sf_bootstate_field(&st, "nothing", buf, sizeof(buf)), -EINVAL);
	CHECK_STREQ(buf, "untouched");
}
