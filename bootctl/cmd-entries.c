// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip boot-entries install|check|repair: the two Boot#### entries and
 * BootOrder (docs/RUNTIME.md, "Boot entries"). Entries that are not ours
 * are never written; BootOrder is only reordered.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bootentry.h"
#include "cli.h"
#include "efivar.h"
#include "transition.h"
#include "util.h"

struct entry {
	uint8_t slot;
	char name[9];
	struct efi_load_option opt;
	uint8_t want[1024];
	int want_len;
	uint8_t have[EFIVAR_MAX_DATA];
	int have_len; /* -1: absent */
	enum sf_entry_state state;
	char detail[256];
};

static int inspect(struct cli *c, const struct sf_esp *esp, struct entry *e)
{
	uint32_t attr = 0;

	efivar_boot_name(c->cfg.slot[e->slot].boot_entry, e->name);
	sf_boot_entry_expected(&c->cfg, esp, e->slot, &e->opt);
	e->want_len = efi_load_option_encode(&e->opt, e->want, sizeof(e->want));
	if (e->want_len < 0)
		return cli_fail(c, EXIT_CONFIG,
				"slot %s: efi = %s cannot go in a boot entry "
				"(ASCII only, at most 255 characters)",
				sf_slot_name(e->slot),
				c->cfg.slot[e->slot].efi);
	e->have_len = efivar_read(&c->ctx, e->name, EFI_GLOBAL_GUID, &attr,
				  e->have, sizeof(e->have));
	if (e->have_len < 0 && e->have_len != -ENOENT)
		return cli_fail(c, EXIT_EFI, "cannot read %s: %s", e->name,
				strerror(-e->have_len));
	if (e->have_len < 0)
		e->have_len = -1;
	e->state = sf_boot_entry_compare(e->have, e->have_len, e->want,
					 (size_t)e->want_len, &e->opt,
					 e->detail, sizeof(e->detail));
	if (e->state == SF_ENTRY_OK && attr != EFI_VARIABLE_NV_BS_RT) {
		e->state = SF_ENTRY_ALTERED;
		snprintf(e->detail, sizeof(e->detail),
			 "variable attributes 0x%x, want 0x%x", attr,
			 EFI_VARIABLE_NV_BS_RT);
	}
	return EXIT_OK;
}

/* Is BootOrder as slotflip wants it? Says what is wrong in @why. */
static int check_order(struct cli *c, bool *ok, char *why, size_t size)
{
	uint8_t g = c->st.good;
	struct boot_order o;
	int r = cli_boot_order(c, g, &o);

	if (r)
		return r;
	*ok = o.n_want == o.n_have &&
	      !memcmp(o.have, o.want, o.n_have * sizeof(*o.have));
	if (o.n_have == 0)
		snprintf(why, size, "absent");
	else if (o.have[0] != c->cfg.slot[g].boot_entry)
		snprintf(why, size,
			 "starts with %04X, not the good slot %s's %04X",
			 o.have[0], sf_slot_name(g), c->cfg.slot[g].boot_entry);
	else
		snprintf(why, size, "lacks slot %s's %04X",
			 sf_slot_name((uint8_t)(1 - g)),
			 c->cfg.slot[1 - g].boot_entry);
	return EXIT_OK;
}

/*
 * BootOrder in the order we want still boots nothing of ours when it names
 * entries that do not exist. True, with what is wrong in @why, if so.
 */
static bool order_names_missing(const struct entry *e, char *why, size_t size)
{
	bool a = e[0].state == SF_ENTRY_MISSING;
	bool b = e[1].state == SF_ENTRY_MISSING;

	if (a && b)
		snprintf(why, size,
			 "it names %s and %s, and neither entry exists",
			 e[0].name, e[1].name);
	else if (a || b)
		snprintf(why, size,
			 "it names %s (slot %s), which does not exist",
			 e[a ? 0 : 1].name, sf_slot_name(e[a ? 0 : 1].slot));
	return a || b;
}

static int report(struct cli *c, struct entry *e)
{
	char why[128];
	bool order_ok = false;
	int bad = 0, r;

	for (int i = 0; i < 2; i++) {
		cli_say(c, "%s (slot %s): %s%s%s", e[i].name,
			sf_slot_name(e[i].slot),
			sf_entry_state_name(e[i].state),
			e[i].detail[0] ? ": " : "", e[i].detail);
		bad |= e[i].state != SF_ENTRY_OK;
	}
	r = check_order(c, &order_ok, why, sizeof(why));
	if (r)
		return r;
	if (order_ok)
		order_ok = !order_names_missing(e, why, sizeof(why));
	cli_say(c, "BootOrder: %s%s",
		order_ok ? "ok" : "wrong: ", order_ok ? "" : why);
	if (!bad && order_ok)
		return EXIT_OK;
	cli_say(c, "run `slotflip boot-entries repair` (or `install`) to "
		   "write the entries and BootOrder");
	return EXIT_REFUSED;
}

static int write_entries(struct cli *c, struct entry *e)
{
	for (int i = 0; i < 2; i++)
		if (e[i].state == SF_ENTRY_FOREIGN)
			return cli_fail(
				c, EXIT_REFUSED,
				"%s %s: slotflip does not overwrite it; give "
				"slot %s a free entry number in the config "
				"(boot-entry). Nothing was written.",
				e[i].name, e[i].detail,
				sf_slot_name(e[i].slot));
	for (int i = 0; i < 2; i++) {
		if (e[i].state == SF_ENTRY_OK)
			continue;
		if (efivar_write(&c->ctx, e[i].name, EFI_GLOBAL_GUID,
				 EFI_VARIABLE_NV_BS_RT, e[i].want,
				 (size_t)e[i].want_len) < 0)
			return EXIT_EFI;
		cli_say(c, "%s (slot %s): written (was %s)", e[i].name,
			sf_slot_name(e[i].slot),
			sf_entry_state_name(e[i].state));
	}
	if (cli_fix_boot_order(c, c->st.good))
		return EXIT_EFI;
	cli_say(c, "BootOrder: good slot %s first, slot %s present",
		sf_slot_name(c->st.good),
		sf_slot_name((uint8_t)(1 - c->st.good)));
	return EXIT_OK;
}

int cmd_boot_entries(struct cli *c, const char *action)
{
	bool check = !strcmp(action, "check");
	struct entry e[2] = { { .slot = 0 }, { .slot = 1 } };
	struct sf_esp esp;
	int r;

	if (!check && strcmp(action, "install") && strcmp(action, "repair"))
		return cli_fail(c, EXIT_USAGE,
				"boot-entries: give install, check or repair, "
				"not \"%s\"",
				action);
	r = cli_load(c, "boot-entries", check ? 0 : NEED_ROOT);
	if (r)
		return r;
	if (sf_esp_find(&c->ctx, &c->cfg, &esp) < 0)
		return EXIT_IO;
	for (int i = 0; !r && i < 2; i++)
		r = inspect(c, &esp, &e[i]);
	if (r)
		return r;
	if (check)
		return report(c, e);
	return write_entries(c, e);
}
