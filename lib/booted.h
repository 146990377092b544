/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which slot is running: the one whose boot entry the firmware's
 * BootCurrent names, else the kernel command line's "slotflip.slot="
 * (docs/BOOT.md, "Which slot booted"). Shared by slotflip-init and the
 * runtime tool, so that both always agree.
 */
#pragma once

#include "config.h"
#include "log.h"

/*
 * sf_booted_slot - the running slot: the slot whose boot-entry
 * BootCurrent names; when BootCurrent is absent or names no slot of
 * @cfg, the slot "slotflip.slot=a|b" names on ROOT/proc/cmdline
 * (sf_cmdline_slot()). When both name a slot and disagree, a warning is
 * logged and BootCurrent wins: one image serves either slot, so its
 * command line may name the other one.
 * Returns 0 (slot a), 1 (slot b), or -ENOENT when neither tells; nothing
 * is logged then: the caller says what that means for it.
 */
int sf_booted_slot(const struct sf_ctx *ctx, const struct sf_config *cfg);
