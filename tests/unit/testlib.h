/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A very small unit-test harness. Each TEST() is one case; main() (in
 * testlib.c) runs every case in its own child process, inside its own
 * temporary directory (the working directory), and prints one line per
 * case: "PASS prog/name", "FAIL prog/name" or "SKIP prog/name: reason".
 * tests/run.sh counts these lines across all test programs.
 *
 *	TEST(round_trip) { CHECK(x == 1); CHECK_LOG("bad length"); }
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct test_case {
	const char *name;
	void (*fn)(void);
};

void test_register(const char *name, void (*fn)(void));

#define TEST(name)                                                             \
	static void test_##name(void);                                         \
	__attribute__((constructor)) static void test_reg_##name(void)         \
	{                                                                      \
		test_register(#name, test_##name);                             \
	}                                                                      \
	static void test_##name(void)

void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void test_skip(const char *reason) __attribute__((noreturn));

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);     \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);            \
		if (_a != _b)                                                  \
			test_fail(__FILE__, __LINE__,                          \
				  "%s == %lld, want %s == %lld", #a, _a, #b,   \
				  _b);                                         \
	} while (0)

#define CHECK_STREQ(a, b)                                                      \
	do {                                                                   \
		const char *_a = (a), *_b = (b);                               \
		if (!_a || !_b || strcmp(_a, _b) != 0)                         \
			test_fail(__FILE__, __LINE__, "\"%s\" != \"%s\"",      \
				  _a ? _a : "(null)", _b ? _b : "(null)");     \
	} while (0)

/* Every message logged through test_ctx since the case began. */
extern char test_log_buf[16384];
#define CHECK_LOG(substr)                                                      \
	do {                                                                   \
		if (!strstr(test_log_buf, (substr)))                           \
			test_fail(__FILE__, __LINE__,                          \
				  "log lacks \"%s\"; log was:\n%s", (substr),  \
				  test_log_buf);                               \
	} while (0)

/* A context whose log function appends to test_log_buf (and stderr). */
extern struct sf_ctx test_ctx;

/* Write/read whole files in the case's directory; abort the case on error. */
void test_write_file(const char *path, const void *data, size_t len);
void *test_read_file(const char *path, size_t *ret_len);
/* Fill @buf with deterministic pseudo-random bytes from @seed. */
void test_fill_random(void *buf, size_t len, uint32_t seed);

/*
 * A fake sysfs in the case's directory, as partdev reads it:
 * sys/class/block/NAME (under @parent, linked at the top, when given), a
 * partition (PARTN, PARTNAME, partition file) when @partn > 0.
 */
void test_sys_block(const char *parent, const char *name, int partn,
		    const char *partname);
/*
 * dev/sdx, a GPT disk image made by sfdisk (the case is skipped without
 * it), and its sysfs: 1 esp, 2 root-a, 3 "root-\xc3\xa4" (sysfs shows
 * "root-!"), 4 data; partition N's GUID is 5F1E0000-0000-4000-8000-00000000000N.
 * No device nodes of the partitions.
 */
void test_gpt_disk(void);
