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

enum boot_next {
	BOOT_NEXT_SLOT, /* boot (switch_root into) b->next_slot */
	BOOT_NEXT_REBOOT, /* reboot: BootNext says where */
	BOOT_NEXT_STOP, /* boot nothing: b->stop_reason says why */
};

struct boot {
	const struct sf_ctx *ctx;
	struct sf_config cfg;
	struct sf_bootstate st;
	uint8_t booted;
	uint64_t now;
	/* The whole reason of the result (the state holds its start). */
	char result_reason[SF_ERROR_MAX];
	/* Console progress: what is in progress, the last tenth shown. */
	const char *progress_what;
	atomic_uint progress_tenth;
	/*
	 * Called, when set, before an apply looks at the ESP (its free
	 * space, the EFI binaries): PID 1 mounts the ESP only then. Returns
	 * 0, or -errno after logging why: the apply then fails (an apply
	 * error, retried at the next boot) before the spare slot changes.
	 */
	int (*mount_esp)(void *data);
	void *mount_esp_data;
	/* Set by boot_run(): */
	int data_fd; /* DATA_DIR/slotflip (sf_staging_dir_open()), or -errno */
	struct sf_decision decision;
	enum boot_next next;
	uint8_t next_slot; /* SF_NO_SLOT until known */
	char stop_reason[SF_ERROR_MAX]; /* for BOOT_NEXT_STOP */
};

/*
 * boot_run - everything slotflip-init decides and does before it boots,
 * with the config the caller loaded into b->cfg.
 * Never fails in a way that stops the boot: on any error it falls back to
 * booting the good slot (or the booted one) and says why. Returns 0, or
 * -errno when not even a slot to boot could be found (b->next_slot is
 * then SF_NO_SLOT; sf_error_reason(b->ctx, r) says why). A failure's
 * reason is stored (EFI state, last-result) as recorded by sf_err() in
 * b->ctx->error, which the caller provides.
 */
int boot_run(struct boot *b);

/*
 * boot_fail_trial - the slot on trial failed for @reason: marked failed,
 * the trial ended, the result (trial-failed, @reason) written to the
 * result file and the state, the staged image moved aside as
 * staged.img.failed. Nothing when no trial is pending. Errors are logged;
 * the good slot stays good whatever fails here.
 */
void boot_fail_trial(struct boot *b, const char *reason);

/* The result file's word for a slot that cannot boot at all. */
#define BOOT_RESULT_UNBOOTABLE "unbootable"

/*
 * boot_write_unbootable - the result file (last-result) says that @slot
 * cannot boot, for @reason: result "unbootable", the slot and its version
 * in the state. The EFI state is left as it is (it has no result for
 * this; the slot stays good: nothing else can take its place). An error
 * is logged.
 */
void boot_write_unbootable(struct boot *b, uint8_t slot, const char *reason);

/* The path of staged.img@suffix under ctx->root (sf_staged_path()) into
 * @buf. Returns 0 or -ENAMETOOLONG. */
int boot_staged_path(const struct boot *b, const char *suffix, char *buf,
		     size_t size);
