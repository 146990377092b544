// SPDX-License-Identifier: LGPL-2.1-or-later
#include "booted.h"

#include <errno.h>
#include <stdio.h>

#include "bootstate.h"
#include "efivar.h"
#include "transition.h"

/* slotflip.slot= on ROOT/proc/cmdline: 0, 1, or -ENOENT. */
static int cmdline_slot(const struct sf_ctx *ctx)
{
	char path[4096], line[4096];
	size_t n;
	FILE *f;

	if (sf_root_path(ctx, "/proc/cmdline", path, sizeof(path)) < 0 ||
	    !(f = fopen(path, "re")))
		return -ENOENT;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
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
