// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip mark-good / mark-bad / set-active: the state transitions of
 * lib/transition.c, written to the EFI variables in an order that a power
 * cut cannot turn into a wrong boot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "efivar.h"
#include "fault.h"
#include "fetch.h"
#include "fileio.h"
#include "staging.h"
#include "transition.h"
#include "util.h"

/* The confirmed image's version and build time, for fetch's clock (its
 * signatures checked before its manifest is read). */
static void record_installed(struct cli *c, int dir_fd, uint8_t slot)
{
	struct ms_pubkey keys[SF_CONFIG_MAX_KEYS];
	struct sf_ctx quiet = c->ctx;
	struct sf_image *img = NULL;

	quiet.log_fn = NULL;
	if (sf_config_load_pubkeys(&quiet, &c->cfg, keys) == 0 &&
	    sf_image_open_at(&quiet, dir_fd, SF_STAGED_NAME, SF_STAGED_NAME,
			     &img) == 0 &&
	    sf_image_check_signatures(&quiet, img, keys, c->cfg.n_pubkeys,
				      c->cfg.threshold) >= 0)
		fetch_installed_store(dir_fd, slot, img->m.version,
				      img->m.build_time);
	sf_image_close(img);
}

/* Remove staged.img if it is the image just confirmed, its build time
 * recorded first. */
static void remove_applied(struct cli *c, const uint8_t *id)
{
	_cleanup_close_ int dir_fd = -1;
	uint8_t staged[SF_IMAGE_ID_BYTES];
	char path[4096];
	int r;

	if (sf_staged_path(&c->ctx, &c->cfg, SF_STAGED_NAME, path,
			   sizeof(path)) < 0)
		return;
	dir_fd = sf_staging_dir_open(&c->ctx, &c->cfg, false);
	if (dir_fd < 0) {
		if (dir_fd != -ENOENT)
			sf_log(&c->ctx, SF_LOG_WARNING, 0,
			       "the staging directory is not usable (above): "
			       "an applied image there is not removed");
		return;
	}
	if (sf_staged_id(dir_fd, staged) < 0 ||
	    memcmp(staged, id, SF_IMAGE_ID_BYTES) != 0)
		return;
	record_installed(c, dir_fd, (uint8_t)c->booted);
	sf_fault_point(&c->ctx, "staged remove");
	r = unlink_at_synced(dir_fd, SF_STAGED_NAME);
	if (r < 0)
		sf_log(&c->ctx, SF_LOG_WARNING, 0,
		       "cannot remove the applied image %s: %s", path,
		       strerror(-r));
	else
		cli_say(c, "removed the applied image %s", path);
}

int cmd_mark_good(struct cli *c)
{
	uint8_t b, id[SF_IMAGE_ID_BYTES];
	char why[256];
	int r = cli_load(c, "mark-good", NEED_ROOT | NEED_BOOTED);

	if (r)
		return r;
	b = (uint8_t)c->booted;
	memcpy(id, c->st.image_id, sizeof(id));
	r = sf_state_mark_good(&c->st, b, c->now, why, sizeof(why));
	if (r < 0)
		return cli_fail(c, EXIT_REFUSED, "cannot mark good: %s", why);
	/* BootOrder first: if power fails before the state is written, the
	 * firmware still boots this slot and the next mark-good finishes. */
	if (cli_fix_boot_order(c, c->st.good))
		return r ? cli_efi_refused(c, "the trial is not confirmed (if "
					      "it stays so, the device falls "
					      "back after its tries)")
			 : EXIT_EFI;
	if (r == 0) {
		cli_say(c, "slot %s is already the good slot: nothing to do",
			sf_slot_name(b));
		return EXIT_OK;
	}
	if (cli_store_state(c))
		return cli_efi_refused(
			c, "the trial is not confirmed (BootOrder already "
			   "starts with this slot)");
	cli_say(c,
		"slot %s (version %s) is the good slot now; anti-rollback "
		"floor: %s",
		sf_slot_name(b), c->st.slot[b].version,
		c->st.floor[0] ? c->st.floor : "none");
	remove_applied(c, id);
	return EXIT_OK;
}

/*
 * The trial's failure is the last apply's outcome: last-result says so
 * (with the whole reason), after the EFI state, which decides the boot.
 */
static void record_failure(struct cli *c, uint8_t slot)
{
	struct sf_last_result lr = { .time = c->st.last_time };
	_cleanup_close_ int dir_fd = -1;
	char path[4096];
	int r;

	snprintf(lr.result, sizeof(lr.result), "%s",
		 sf_result_name(SF_RESULT_TRIAL_FAILED));
	snprintf(lr.slot, sizeof(lr.slot), "%s", sf_slot_name(slot));
	snprintf(lr.version, sizeof(lr.version), "%s",
		 c->st.slot[slot].version);
	sf_mark_bad_reason(&c->st, slot, c->reason, lr.reason,
			   sizeof(lr.reason));
	dir_fd = sf_staging_dir_open(&c->ctx, &c->cfg, true);
	r = dir_fd < 0 ? dir_fd : sf_last_result_write(&c->ctx, dir_fd, &lr);
	if (r < 0 && sf_staged_path(&c->ctx, &c->cfg, SF_LAST_RESULT_NAME, path,
				    sizeof(path)) == 0)
		sf_log(&c->ctx, SF_LOG_WARNING, 0,
		       "cannot write %s: %s; the failure is recorded in the "
		       "EFI state, and the next boot writes it there",
		       path, strerror(-r));
}

int cmd_mark_bad(struct cli *c)
{
	char why[256];
	uint8_t b;
	int r = cli_load(c, "mark-bad", NEED_ROOT | NEED_BOOTED);

	if (r)
		return r;
	b = (uint8_t)c->booted;
	r = sf_state_mark_bad(&c->st, b, c->now, c->reason, why, sizeof(why));
	if (r < 0)
		return cli_fail(c, EXIT_REFUSED, "cannot mark bad: %s", why);
	if (cli_store_state(c))
		return cli_efi_refused(
			c, "the failure is not recorded; the trial still "
			   "falls back after its tries if it never confirms");
	record_failure(c, b);
	cli_say(c, "%s; the next boot falls back to slot %s", c->st.last_reason,
		sf_slot_name(c->st.good));
	return EXIT_OK;
}

/* BootNext still points at a trial that was just cancelled: drop it. */
static int drop_boot_next(struct cli *c, uint8_t slot)
{
	uint16_t next;

	if (efivar_get_u16(&c->ctx, "BootNext", &next) < 0 ||
	    next != c->cfg.slot[slot].boot_entry)
		return EXIT_OK;
	return efivar_delete(&c->ctx, "BootNext", EFI_GLOBAL_GUID) < 0
		       ? EXIT_EFI
		       : EXIT_OK;
}

static int parse_slot(struct cli *c, const char *s, uint8_t *ret)
{
	if (!strcmp(s, "a") || !strcmp(s, "b")) {
		*ret = (uint8_t)(s[0] - 'a');
		return EXIT_OK;
	}
	return cli_fail(c, EXIT_USAGE,
			"set-active: give slot a or b, not \"%s\"", s);
}

int cmd_set_active(struct cli *c, const char *slot)
{
	struct sf_set_active req = { .allow_downgrade = c->allow_downgrade };
	char why[256];
	int r = parse_slot(c, slot, &req.slot);

	if (!r)
		r = cli_load(c, "set-active", NEED_ROOT);
	if (r)
		return r;
	req.tries = c->cfg.tries;
	req.now = c->now;
	r = sf_state_set_active(&c->st, &req, why, sizeof(why));
	if (r < 0)
		return cli_fail(c, EXIT_REFUSED,
				"cannot set slot %s active: %s", slot, why);
	if (r == SF_SET_ACTIVE_NOTHING) {
		cli_say(c, "slot %s is already %s: nothing to do", slot,
			req.slot == c->st.good ? "the good slot" : "on trial");
		return EXIT_OK;
	}
	if (cli_store_state(c))
		return cli_efi_refused(c, "nothing was changed");
	if (r == SF_SET_ACTIVE_CANCELLED) {
		cli_say(c, "%s", c->st.last_reason);
		return drop_boot_next(c, (uint8_t)(1 - req.slot));
	}
	/* The state first: without BootNext, the next boot of the good slot
	 * sees the pending trial and sets BootNext itself. */
	if (efivar_set_boot_next(&c->ctx, c->cfg.slot[req.slot].boot_entry) < 0)
		return EXIT_EFI;
	cli_say(c,
		"slot %s (version %s) gets a trial of %u boots from the next "
		"reboot; it must confirm (slotflip mark-good), or the device "
		"falls back to slot %s",
		slot,
		c->st.slot[req.slot].version[0] ? c->st.slot[req.slot].version
						: "unknown",
		c->cfg.tries, sf_slot_name(c->st.good));
	return EXIT_OK;
}
