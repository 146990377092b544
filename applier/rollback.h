/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The offline rollback check of slotflip-init (docs/BOOT.md, "Offline
 * rollback"): an older system written to the disk by someone who has the
 * disk but not the firmware's variables must never run its userspace.
 */
#pragma once

#include <stdbool.h>

#include "boot.h"

/* The result file's word for a boot refused below the floor. */
#define BOOT_RESULT_ROLLBACK "rollback-refused"

/*
 * boot_refuse_rollback - compare this initramfs' own version
 * (SF_VERSION_FILE: inside the UKI, so covered by its Secure Boot
 * signature) with the anti-rollback floor of the state in b->st. Returns
 * false when the boot may go on: at or above the floor, either of them
 * unknown (no version file, or no floor), or a downgrade the state
 * recorded (the booted slot good or on trial with exactly this version:
 * `slotflip set-active --allow-downgrade`). Returns true when refused, after
 * acting on it: the reason is on the console and in last-result (a slot
 * on trial fails its trial: boot_fail_trial()); then, when the good slot
 * is not what the firmware booted (BootCurrent), b->next is a reboot into
 * it (BootNext), else BOOT_NEXT_STOP with the reason in b->stop_reason.
 */
bool boot_refuse_rollback(struct boot *b);
