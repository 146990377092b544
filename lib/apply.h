/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying a verified image to the spare slot (docs/BOOT.md, "Apply"):
 * the streaming write with its read-back. The checks before a byte is
 * written, which `slotflip stage` makes too, are in apply-check.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "apply-check.h"
#include "image.h"
#include "log.h"

struct sf_apply_target {
	int slot_fd; /* spare slot, read-write */
	int active_fd; /* booted slot: the base of delta chunks */
	const char *efi_path; /* spare slot's EFI binary, final name */
	const char *active_efi_path; /* booted slot's: the base of its delta */
	unsigned threads; /* 0: 2 per CPU + 4 (they wait for the medium), as
			   * many as memory allows (256 MiB, a quarter free) */
	sf_progress_fn progress; /* console progress; may be NULL */
	void *progress_data;
};

struct sf_apply_stats {
	uint32_t chunks_written;
	uint32_t chunks_skipped; /* already right in the slot */
	/* Root filesystem chunks read back after the flush: those written
	 * in this run (a skipped chunk was proven when it was read). */
	uint32_t chunks_read_back;
	uint64_t bytes_written;
};

/*
 * sf_apply_write - write the image's payloads: for each root filesystem
 * chunk, read its stored bytes, check their hash just before use, decode
 * (delta chunks from the spare slot where it holds their base, else from
 * the active slot, checked by hash) and write it, or the blocks of it that
 * differ, unless the slot already holds it, proven by its content hash
 * (zero chunks: zeroed in place where the slot supports it; a base chunk
 * copied from the same offset is checked in the slot before the active
 * slot is read); write the EFI binary next to its final name, flush,
 * rename; flush the slot; read back what was written in this run and
 * check it. Both slots with O_DIRECT where they take it (their fds are
 * given back with the flags they came with).
 * Returns 0; -EBADMSG when the staged file does not match its manifest
 * (changed while being applied); -EXDEV when the active slot is not the
 * delta's base; -EIO when the read-back differs; -errno for I/O.
 */
int sf_apply_write(const struct sf_ctx *ctx, struct sf_image *img,
		   const struct sf_apply_target *t,
		   struct sf_apply_stats *ret_stats);
