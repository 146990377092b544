// SPDX-License-Identifier: LGPL-2.1-or-later
#include "booted.h"

#include <errno.h>
#include <stdio.h>

#include "bootstate.h"
#include "cmdline.h"
#include "efivar.h"

/* slotflip.slot= on ROOT/proc/cmdline: 0, 1, or -ENOENT. */
static int cmdline_slot(const struct sf_ctx *ctx)
{
	char line[4096];

	if (sf_cmdline_read(ctx, line, sizeof(line)) < 0)
		return -ENOENT;
	return sf_cmdline_slot(line);
}

/* The slot whose boot entry BootCurrent (in *@entry) names: 0, 1, or
 * -ENOENT (absent, or no slot's entry). */
static int bootcurrent_slot(const struct sf_ctx *ctx,
			    const struct sf_config *cfg, uint16_t *entry)
{
	if (efivar_get_u16(ctx, "BootCurrent", entry) < 0)
		return -ENOENT;
	for (int s = 0; s < 2; s++)
		if (cfg->slot[s].boot_entry == *entry)
			return s;
	return -ENOENT;
}

/*
 * BootCurrent first: it names the entry that ran, while the command line
 * is what the image was built with (one image serves either slot, so it
 * may name the other one) or what someone added to it. Taking the slot
 * that ran also means that a reboot into the good slot is decided only
 * where the good slot's entry did not run: it never lands where it is.
 */
int sf_booted_slot(const struct sf_ctx *ctx, const struct sf_config *cfg)
{
	uint16_t entry = 0;
	int cmd = cmdline_slot(ctx), cur = bootcurrent_slot(ctx, cfg, &entry);

	if (cur < 0)
		return cmd;
	if (cmd >= 0 && cmd != cur)
		sf_log(ctx, SF_LOG_WARNING, 0,
		       "the kernel command line says slot %s, BootCurrent "
		       "(Boot%04X) says slot %s: trusting BootCurrent, the "
		       "entry that ran",
		       sf_slot_name((uint8_t)cmd), entry,
		       sf_slot_name((uint8_t)cur));
	return cur;
}
