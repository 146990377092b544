/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the command-line programs (slotflip, slotflip-image) share: one
 * table of exit statuses, the progress display of long steps, and the
 * parsing of numeric options. Each program keeps its own command table
 * and messages (bootctl/main.c, keys/main.c).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Exit statuses, one meaning each across the programs (their --help,
 * README.md and docs/RUNTIME.md list the ones each program uses).
 */
enum {
	EXIT_OK = 0, /* done, or nothing to do */
	EXIT_REFUSED = 1, /* an image or a request fails a check */
	EXIT_USAGE = 2, /* unknown option, missing argument, bad value */
	EXIT_CONFIG = 3, /* config file missing or malformed */
	EXIT_EFI = 4, /* efivarfs missing, a variable unreadable or refused */
	EXIT_IO = 5, /* a file or device error, no space */
	EXIT_NOT_ROOT = 6, /* the command must run as root */
	EXIT_KEY = 7, /* a key file is unusable, or a password is wrong */
	EXIT_UNCHECKED = 8, /* verify --content: a delta's base not given */
	EXIT_NETWORK = 9, /* the server or the network failed: try later */
	EXIT_NO_UPDATE = 10, /* fetch --check: no update is available */
};

/*
 * Progress of a long step: on a terminal (stderr) a bar redrawn in place;
 * otherwise a plain line "WHAT: N%" every 10% on stdout (logs, pipes,
 * tests), or nothing when @lines was false at init.
 */
struct sf_progress {
	pthread_mutex_t lock; /* reports may come from several threads */
	const char *what;
	bool tty, lines;
	unsigned last; /* last percent (tty) or tenth (lines) shown */
	bool drawn;
};

void sf_progress_init(struct sf_progress *p, const char *what, bool lines);
/* An sf_progress_fn (@data: the struct sf_progress); thread-safe. */
void sf_progress_update(void *data, uint64_t done, uint64_t total);
/* Ends the bar's line; frees the lock. */
void sf_progress_end(struct sf_progress *p);

/*
 * sf_parse_uint - @s as a plain decimal number no greater than @max (no
 * sign, no space, no other base). Returns false when it is not one.
 */
bool sf_parse_uint(const char *s, unsigned long max, unsigned long *ret);
