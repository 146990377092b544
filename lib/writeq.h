/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Write queue: writes handed to threads of their own. A write of a few
 * blocks waits for the medium (with direct I/O there is no page cache to
 * take it); the thread that made the data goes on reading and hashing
 * while writer threads wait. Each write is a copy of the caller's bytes,
 * and the bytes queued are bounded: a caller waits for room.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sf_writeq;

/* Most writer threads of one queue. */
#define SF_WRITEQ_THREADS_MAX 16

/* After each write, start its writeback (sync_file_range()): buffered fds. */
#define SF_WRITEQ_WRITEBACK 1u

/*
 * sf_writeq_start - start @threads (1..SF_WRITEQ_THREADS_MAX) writer
 * threads writing into @fd, with at most @max_bytes queued at a time (a
 * larger write waits for an empty queue); @flags: SF_WRITEQ_*. Returns 0
 * and the queue in @ret, or -errno.
 */
int sf_writeq_start(struct sf_writeq **ret, int fd, unsigned threads,
		    size_t max_bytes, unsigned flags);

/*
 * sf_writeq_add - queue a write of a copy of @len bytes of @data at
 * @offset; the copy is aligned to 4 KiB blocks (@fd may have O_DIRECT).
 * Waits while the queue is full. Returns 0; the error (-errno) of a write
 * that failed before, and then nothing is queued; -ENOMEM.
 */
int sf_writeq_add(struct sf_writeq *q, const void *data, size_t len,
		  uint64_t offset);

/*
 * sf_writeq_finish - wait for every queued write, stop the threads and
 * free @q. Writes queued after one failed are not made. Returns 0 or the
 * first write's error (-errno).
 */
int sf_writeq_finish(struct sf_writeq *q);
