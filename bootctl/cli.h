/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slotflip, the runtime tool: what its commands share (docs/RUNTIME.md).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bootstate.h"
#include "cliutil.h"
#include "config.h"
#include "efivar.h"
#include "image.h"
#include "log.h"

struct cli {
	struct sf_ctx ctx;
	const char *prog;
	const char *config_path;
	uint64_t now;
	/* Options (each command accepts only its own). */
	bool json, reboot, allow_downgrade, check, stage;
	const char *reason;
	/* Filled by cli_load(). */
	struct sf_config cfg;
	struct sf_bootstate st;
	/* "valid", or "absent"/"unreadable": rebuilt in memory as slotflip-init
	 * does (the running slot good), and written by it at the next boot. */
	const char *state_record;
	int booted; /* 0, 1, or negative when unknown */
};

enum cli_need {
	NEED_ROOT = 1, /* euid 0 */
	NEED_BOOTED = 2, /* the booted slot must be known */
};

/*
 * cli_load - check what a command needs (@need: NEED_*), read the config,
 * check efivarfs, find the booted slot, read the state.
 * Returns EXIT_OK or the exit status, with the message printed.
 */
int cli_load(struct cli *c, const char *cmd, unsigned need);

/* Store c->st. Returns EXIT_OK or EXIT_EFI. */
int cli_store_state(struct cli *c);

/*
 * After a refused EFI variable write: say what it means for @what (e.g.
 * "slot b is not confirmed") and how to go on. Returns EXIT_EFI.
 */
int cli_efi_refused(struct cli *c, const char *what);

/* BootOrder as it is and as slotflip wants it (sf_boot_order_arrange()). */
struct boot_order {
	uint16_t have[EFI_MAX_BOOT_ORDER];
	uint16_t want[EFI_MAX_BOOT_ORDER + 2];
	size_t n_have, n_want;
};

/*
 * cli_boot_order - read BootOrder (absent: empty) into @o and arrange it
 * with slot @good's entry first and the other slot's present.
 * Returns EXIT_OK, or EXIT_EFI with the message printed.
 */
int cli_boot_order(struct cli *c, uint8_t good, struct boot_order *o);

/*
 * Put the good slot's boot entry first in BootOrder, the other's present.
 * Writes nothing when it already is. Returns EXIT_OK or EXIT_EFI.
 */
int cli_fix_boot_order(struct cli *c, uint8_t good);

/* Run `reboot` (found through PATH). Returns EXIT_OK or EXIT_IO. */
int cli_reboot(struct cli *c);

/* Print a notice line (stdout). */
void cli_say(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print an error (stderr) and return @code. */
int cli_fail(struct cli *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * cli_stage_allowed - staging is for the good slot: refused (EXIT_REFUSED,
 * with the message) while a trial is pending or another slot runs.
 */
int cli_stage_allowed(struct cli *c);

/*
 * cli_stage_placed - stage the image file @name, already in the staging
 * directory @dir_fd (a download), as `slotflip stage` stages a copy: the
 * same checks (signatures, policy, every chunk; @version, when not NULL,
 * must be the manifest's), then renamed to staged.img; every chunk's
 * stored hash is not checked again when @chunks_checked (a download
 * whose every chunk was checked as it arrived, and whose whole file
 * matched the signed index: slotflip-init checks them all again anyway).
 * @src names it in messages. On success its manifest hash goes to
 * @ret_manifest; on failure @name is removed. Returns EXIT_OK or the exit
 * status, with the message printed.
 */
int cli_stage_placed(struct cli *c, int dir_fd, const char *name,
		     const char *src, const char *version, bool chunks_checked,
		     uint8_t ret_manifest[SF_HASH_BYTES]);

int cmd_stage(struct cli *c, const char *image);
int cmd_fetch(struct cli *c);
int cmd_cancel(struct cli *c);
int cmd_status(struct cli *c);
int cmd_mark_good(struct cli *c);
int cmd_mark_bad(struct cli *c);
int cmd_set_active(struct cli *c, const char *slot);
int cmd_boot_entries(struct cli *c, const char *action);
