/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The boot-time logic of slotflip-init: which slot booted, what the state
 * says, what to do (lib/decide.c), and doing it. Mounting, modules and
 * switch_root are the caller's.
 */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "bootstate.h"
#include "config.h"
#include "decide.h"
#include "log.h"

#define SF_ERROR_MAX 512u

enum boot_next {
	BOOT_NEXT_SLOT, /* boot (switch_root into) b->next_slot */
	BOOT_NEXT_REBOOT, /* reboot: BootNext says where */
};

struct boot {
	const struct sf_ctx *ctx;
	struct sf_config cfg;
	struct sf_bootstate st;
	uint8_t booted;
	uint64_t now;
	/* The last error message logged (kept by the log function, in a
	 * buffer of SF_ERROR_MAX bytes). */
	const char *last_error;
	/* The whole reason of the result (the state holds its start). */
	char result_reason[SF_ERROR_MAX];
	/* Console progress: what is in progress, the last tenth shown. */
	const char *progress_what;
	atomic_uint progress_tenth;
	/* Set by boot_run(): */
	int data_fd; /* DATA_DIR/slotflip (sf_staging_dir_open()), or -errno */
	struct sf_decision decision;
	enum boot_next next;
	uint8_t next_slot; /* SF_NO_SLOT until known */
};

/*
 * boot_run - everything slotflip-init decides and does before it boots,
 * with the config the caller loaded into b->cfg.
 * Never fails in a way that stops the boot: on any error it falls back to
 * booting the good slot (or the booted one) and says why. Returns 0, or
 * -errno when not even a slot to boot could be found (b->next_slot is
 * then SF_NO_SLOT).
 */
int boot_run(struct boot *b);

/* The path of staged.img@suffix under ctx->root (sf_staged_path()) into
 * @buf. Returns 0 or -ENAMETOOLONG. */
int boot_staged_path(const struct boot *b, const char *suffix, char *buf,
		     size_t size);
