// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "efivar.h"
#include "transition.h"
#include "util.h"

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

/* slotflip.slot= on ROOT/proc/cmdline: 0, 1, or -ENOENT. */
static int cmdline_slot(struct cli *c)
{
	char path[4096], line[4096];
	size_t n;
	FILE *f;

	if (sf_root_path(&c->ctx, "/proc/cmdline", path, sizeof(path)) < 0 ||
	    !(f = fopen(path, "re")))
		return -ENOENT;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	return sf_cmdline_slot(line);
}

static int bootcurrent_slot(struct cli *c)
{
	uint16_t cur;

	if (efivar_get_u16(&c->ctx, "BootCurrent", &cur) < 0)
		return -ENOENT;
	for (int s = 0; s < 2; s++)
		if (c->cfg.slot[s].boot_entry == cur)
			return s;
	return -ENOENT;
}

static void find_booted(struct cli *c)
{
	int cmd = cmdline_slot(c), cur = bootcurrent_slot(c);

	if (cmd >= 0 && cur >= 0 && cmd != cur)
		sf_log(&c->ctx, SF_LOG_WARNING, 0,
		       "the kernel command line says slot %s, BootCurrent says "
		       "slot %s: trusting the command line",
		       sf_slot_name((uint8_t)cmd), sf_slot_name((uint8_t)cur));
	c->booted = cmd >= 0 ? cmd : cur;
}

static int load_state(struct cli *c)
{
	struct sf_ctx quiet = c->ctx;
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
	/* As slotflip-init does at the next boot (docs/BOOT.md). */
	sf_bootstate_rebuild(&c->st, c->booted == 1 ? 1 : 0);
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
	if (sf_config_load(&c->ctx, c->config_path, &c->cfg) < 0)
		return EXIT_CONFIG;
	if (efivar_check_available(&c->ctx) < 0)
		return EXIT_EFI;
	find_booted(c);
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

int cli_fix_boot_order(struct cli *c, uint8_t good)
{
	uint16_t in[EFI_MAX_BOOT_ORDER], out[EFI_MAX_BOOT_ORDER + 2];
	int n = efivar_get_boot_order(&c->ctx, in, EFI_MAX_BOOT_ORDER);
	size_t k;

	if (n == -ENOENT)
		n = 0;
	if (n < 0)
		return cli_fail(c, EXIT_EFI, "cannot read BootOrder: %s",
				strerror(-n));
	k = sf_boot_order_arrange(in, (size_t)n, c->cfg.slot[good].boot_entry,
				  c->cfg.slot[1 - good].boot_entry, out);
	if (k > EFI_MAX_BOOT_ORDER)
		k = EFI_MAX_BOOT_ORDER;
	return efivar_set_boot_order(&c->ctx, out, k) < 0 ? EXIT_EFI : EXIT_OK;
}

int cli_load_keys(struct cli *c, struct ms_pubkey *keys)
{
	char path[4096];
	int r;

	for (unsigned i = 0; i < c->cfg.n_pubkeys; i++) {
		r = sf_root_path(&c->ctx, c->cfg.pubkeys[i], path,
				 sizeof(path));
		if (r >= 0)
			r = ms_pubkey_load(&c->ctx, path, &keys[i]);
		if (r < 0)
			return sf_err(&c->ctx, r,
				      "cannot load the trusted public key %s "
				      "(config: pubkey)",
				      path);
	}
	return 0;
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
