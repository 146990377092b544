/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Work on several threads: the calling thread and up to 63 more, started
 * for one piece of work and joined at its end. Used by the apply
 * (lib/apply.c, one worker with its own buffers per thread) and by image
 * creation (lib/imgwrite.c, chunks compressed side by side).
 */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

/* The most threads sf_parallel_run() starts, the caller's included. */
#define SF_PARALLEL_MAX 64

/*
 * sf_parallel_run - run @fn(@arg) on @threads threads (at most
 * SF_PARALLEL_MAX), the calling thread among them, and return when all
 * have returned. Threads that cannot be started are done without: the
 * caller's always runs, so the work is done whatever the count.
 */
void sf_parallel_run(unsigned threads, void *(*fn)(void *), void *arg);

/*
 * sf_parallel_error - keep @r in @err if it is the first error (negative)
 * any thread reported; @err starts at 0.
 */
void sf_parallel_error(atomic_int *err, int r);

/*
 * sf_parallel_for - call @fn(@arg, i) for every i in [0, @n) on @threads
 * threads. Stops early and returns the first negative result of @fn.
 */
int sf_parallel_for(unsigned threads, uint32_t n,
		    int (*fn)(void *arg, uint32_t i), void *arg);
