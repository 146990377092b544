// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "booted.h"
#include "cli.h"
#include "efivar.h"
#include "transition.h"
#include "util.h"
#include "version.h"

void cli_say(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	(void)c;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int cli_fail(struct cli *c, int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: error: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int load_state(struct cli *c)
{
	struct sf_ctx quiet = c->ctx;
	char version[SF_VERSION_FIELD];
	int r;

	quiet.log_fn = NULL;
	r = sf_bootstate_load(&quiet, &c->st);
	c->state_record = r >= 0	 ? "valid"
			  : r == -ENOENT ? "absent"
					 : "unreadable";
	if (r >= 0)
		return EXIT_OK;
	if (r != -ENOENT && r != -EBADMSG && r != -EPROTONOSUPPORT)
		return cli_fail(c, EXIT_EFI,
				"cannot read the slotflip state (EFI variable "
				"%s): %s",
				SF_STATE_VAR, strerror(-r));
	/* As slotflip-init does at the next boot (docs/BOOT.md): the
	 * running root's version, if known, is the floor. */
	sf_version_file_read(&quiet, version, sizeof(version));
	sf_bootstate_rebuild(&c->st, c->booted == 1 ? 1 : 0, version);
	if (r != -ENOENT)
		sf_log(&c->ctx, SF_LOG_WARNING, 0,
		       "the slotflip state record is unreadable (%s): taking "
		       "slot %s as good; slotflip-init rebuilds the record at "
		       "the next boot",
		       r == -EBADMSG ? "corrupt" : "unknown record version",
		       sf_slot_name(c->st.good));
	return EXIT_OK;
}

int cli_load(struct cli *c, const char *cmd, unsigned need)
{
	int r;

	if ((need & NEED_ROOT) && geteuid() != 0)
		return cli_fail(c, EXIT_NOT_ROOT,
				"slotflip %s must run as root: it writes EFI "
				"variables and the data partition (try: sudo "
				"slotflip %s)",
				cmd, cmd);
	if (sf_config_load(&c->ctx, c->config_path, &c->cfg) < 0 ||
	    sf_config_check_slots(&c->ctx, &c->cfg) < 0)
		return EXIT_CONFIG;
	if (efivar_check_available(&c->ctx) < 0)
		return EXIT_EFI;
	c->booted = sf_booted_slot(&c->ctx, &c->cfg);
	if ((need & NEED_BOOTED) && c->booted < 0)
		return cli_fail(c, EXIT_REFUSED,
				"cannot tell which slot is running: no "
				"slotflip.slot= on the kernel command line and "
				"BootCurrent names neither slot's boot entry "
				"(%04X, %04X)",
				c->cfg.slot[0].boot_entry,
				c->cfg.slot[1].boot_entry);
	r = load_state(c);
	return r;
}

int cli_efi_refused(struct cli *c, const char *what)
{
	return cli_fail(c, EXIT_EFI,
			"%s. Once efivarfs is writable (mount -o remount,rw "
			"/sys/firmware/efi/efivars) and the NVRAM has room "
			"(remove unused Boot#### entries), run the command "
			"again",
			what);
}

int cli_store_state(struct cli *c)
{
	int r = sf_bootstate_store(&c->ctx, &c->st);

	return r < 0 ? EXIT_EFI : EXIT_OK;
}

int cli_boot_order(struct cli *c, uint8_t good, struct boot_order *o)
{
	int n = efivar_get_boot_order(&c->ctx, o->have, EFI_MAX_BOOT_ORDER);

	if (n == -ENOENT)
		n = 0;
	if (n < 0)
		return cli_fail(c, EXIT_EFI, "cannot read BootOrder: %s",
				strerror(-n));
	o->n_have = (size_t)n;
	o->n_want = sf_boot_order_arrange(o->have, o->n_have,
					  c->cfg.slot[good].boot_entry,
					  c->cfg.slot[1 - good].boot_entry,
					  o->want);
	if (o->n_want > EFI_MAX_BOOT_ORDER)
		o->n_want = EFI_MAX_BOOT_ORDER;
	return EXIT_OK;
}

int cli_fix_boot_order(struct cli *c, uint8_t good)
{
	struct boot_order o;
	int r = cli_boot_order(c, good, &o);

	if (r)
		return r;
	return efivar_set_boot_order(&c->ctx, o.want, o.n_want) < 0 ? EXIT_EFI
								    : EXIT_OK;
}

int cli_reboot(struct cli *c)
{
	pid_t pid;
	int status;

	cli_say(c, "rebooting");
	pid = fork();
	if (pid == 0) {
		execlp("reboot", "reboot", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return cli_fail(c, EXIT_IO,
				"`reboot` failed: reboot by hand to go on");
	return EXIT_OK;
}
