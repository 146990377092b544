/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slotflip-init as the initramfs /init (PID 1): mount the kernel's
 * filesystems, load the modules, wait for the disks, run the boot-time
 * logic (boot.c), then reboot (a trial armed, or the good slot to boot)
 * or switch_root into the slot's init. See docs/BOOT.md, "slotflip-init as
 * PID 1".
 */
#pragma once

#include "boot.h"

/*
 * pid1_main - everything PID 1 does. @b is set up by main() (ctx, log).
 * Never returns when it could boot something: it execs the slot's init or
 * reboots. When nothing can boot it says why on the console, waits
 * slotflip.fail-delay seconds and reboots; but when the good slot's init
 * cannot run (no reboot changes that) it stops there for good, saying
 * why every minute and in the result file. Returns only if even reboot()
 * failed (-errno), and main() then exits, which panics the kernel: with
 * panic=N on the command line that is a reboot too.
 */
int pid1_main(struct boot *b);
