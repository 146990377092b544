// SPDX-License-Identifier: LGPL-2.1-or-later
#include "booted.h"

#include <errno.h>
#include <stdio.h>

#include "bootstate.h"
#include "cmdline.h"
#include "efivar.h"

int sf_cmdline_slot(const char *cmdline)
{
	char v[2];

	if (sf_cmdline_value(cmdline, "slotflip.slot", v, sizeof(v)) < 0 ||
	    (v[0] != 'a' && v[0] != 'b'))
		return -ENOENT;
	return v[0] - 'a';
}

/* slotflip.slot= on ROOT/proc/cmdline: 0, 1, or -ENOENT. */
static int cmdline_slot(const struct sf_ctx *ctx)
{
	char line[4096];

	if (sf_cmdline_read(ctx, line, sizeof(line)) < 0)
		return -ENOENT;
	return sf_cmdline_slot(line);
}

/* The slot whose boot entry BootCurrent names: 0, 1, or -ENOENT. */
static int bootcurrent_slot(const struct sf_ctx *ctx,
			    const struct sf_config *cfg)
{
	uint16_t cur;

	if (efivar_get_u16(ctx, "BootCurrent", &cur) < 0)
		return -ENOENT;
	for (int s = 0; s < 2; s++)
		if (cfg->slot[s].boot_entry == cur)
			return s;
	return -ENOENT;
}

int sf_booted_slot(const struct sf_ctx *ctx, const struct sf_config *cfg)
{
	int cmd = cmdline_slot(ctx), cur = bootcurrent_slot(ctx, cfg);

	if (cmd >= 0 && cur >= 0 && cmd != cur)
		sf_log(ctx, SF_LOG_WARNING, 0,
		       "the kernel command line says slot %s, BootCurrent says "
		       "slot %s: trusting the command line",
		       sf_slot_name((uint8_t)cmd), sf_slot_name((uint8_t)cur));
	return cmd >= 0 ? cmd : cur;
}
