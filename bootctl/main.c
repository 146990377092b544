// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip: the runtime tool of the A/B update system (docs/RUNTIME.md).
 *	slotflip [--root DIR] [--config FILE] COMMAND [ARGS] [OPTIONS]
 */
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fault.h"
#include "util.h"

static const char main_usage[] =
	"Usage: slotflip [--root DIR] [--config FILE] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n";

static const char main_options[] =
	"\n"
	"Options of every command:\n"
	"  --root DIR     work on DIR as the root (tests): config, efivarfs,\n"
	"                 /proc/cmdline, slots and partitions under DIR\n"
	"  --config FILE  config file (default " SF_CONFIG_PATH ")\n"
	"  --help         help of a command: slotflip COMMAND --help\n"
	"\n"
	"Exit status: 0 done (or nothing to do), 1 refused (the image or the\n"
	"request fails a check; boot-entries check found a problem), 2 usage\n"
	"error, 3 config file missing or malformed, 4 EFI variables: efivarfs\n"
	"not mounted, unreadable, or a write refused by the firmware, 5 a file\n"
	"or device error or no space, 6 must run as root, 9 the server or\n"
	"the network failed (fetch: try later), 10 no update (fetch --check).\n";

/* The options a command may take besides --root, --config and --help. */
enum {
	TAKES_JSON = 1,
	TAKES_REBOOT = 2,
	TAKES_REASON = 4,
	TAKES_DOWNGRADE = 8,
	TAKES_FETCH = 16, /* --check, --stage */
};

/*
 * The commands: name, arguments (0 or 1: @run0 or @run1 is set), options,
 * the line of `slotflip --help` and the text of `slotflip CMD --help`.
 */
static const struct command {
	const char *name;
	int nargs;
	unsigned takes;
	int (*run0)(struct cli *c);
	int (*run1)(struct cli *c, const char *arg);
	const char *line;
	const char *help;
} commands[] = {
	{ "stage", 1, TAKES_REBOOT, NULL, cmd_stage,
	  "stage IMAGE|-      check an update image in full and stage it",
	  "Usage: slotflip stage IMAGE|- [--reboot]\n"
	  "\n"
	  "Checks an update image as slotflip-init will at the next boot\n"
	  "(signatures, compatible string, version against the anti-rollback\n"
	  "floor and the running slot, size against the spare slot, the hash\n"
	  "of every chunk) and stages it on the data partition. `-` reads the\n"
	  "image from standard input. Replaces a staged image atomically: a\n"
	  "power cut leaves the old staged image or the whole new one.\n"
	  "  --reboot   reboot once staged\n"
	  "Needs root.\n" },
	{ "fetch", 0, TAKES_FETCH | TAKES_REBOOT, cmd_fetch, NULL,
	  "fetch [--check] [--stage] [--reboot]   get an update from the server",
	  "Usage: slotflip fetch [--check] [--stage] [--reboot]\n"
	  "\n"
	  "Gets the update the repository of the config's [server] section\n"
	  "offers (docs/REPO.md): its signed timestamp (with the report\n"
	  "headers), the key sets that follow the one in force, the channel's\n"
	  "index, then the delta from the running slot's version, else the\n"
	  "full image, into the data partition (resumed where an earlier run\n"
	  "stopped), checked against the index's size and hash. Refuses\n"
	  "expired documents (freeze), serials below those seen (rollback),\n"
	  "documents that do not match (mix-and-match), versions at or below\n"
	  "the running one or the floor. Never runs during a trial.\n"
	  "  --check    only say whether an update is available: exit status\n"
	  "             0 one is, 10 none is\n"
	  "  --stage    stage it as slotflip stage does\n"
	  "  --reboot   stage it, then reboot\n"
	  "http(s) through the helper slotflip-http (config: http-helper);\n"
	  "file:// read directly. Exit status 9: the server or the network\n"
	  "failed, try again later. Needs root.\n" },
	{ "status", 0, TAKES_JSON, cmd_status, NULL,
	  "status [--json]    slots, trial, floor, staged image, last results",
	  "Usage: slotflip status [--json]\n"
	  "\n"
	  "Shows the booted and the good slot, each slot's status and version,\n"
	  "a pending trial with its tries left, the anti-rollback floor, the\n"
	  "staged image and the last results. --json: the layout of\n"
	  "docs/RUNTIME.md.\n" },
	{ "mark-good", 0, 0, cmd_mark_good, NULL,
	  "mark-good          confirm the running trial slot",
	  "Usage: slotflip mark-good\n"
	  "\n"
	  "In a slot on trial: makes it the good slot (first in BootOrder),\n"
	  "clears the trial, raises the anti-rollback floor to its version and\n"
	  "removes the applied staged image. In the good slot: does nothing\n"
	  "and writes nothing. Refused in a failed or invalid slot. Needs root.\n" },
	{ "mark-bad", 0, TAKES_REASON, cmd_mark_bad, NULL,
	  "mark-bad           fail the running trial slot",
	  "Usage: slotflip mark-bad [--reason TEXT]\n"
	  "\n"
	  "In a slot on trial: records it as failed, with TEXT as the reason,\n"
	  "so that the next boot falls back to the good slot at once. Refused\n"
	  "outside a trial. Needs root.\n" },
	{ "set-active", 1, TAKES_DOWNGRADE, NULL, cmd_set_active,
	  "set-active a|b     give a slot a trial (manual roll back/forward)",
	  "Usage: slotflip set-active a|b [--allow-downgrade]\n"
	  "\n"
	  "Gives the slot a trial from the next reboot (it must confirm with\n"
	  "mark-good, or the device falls back): a manual rollback or roll-\n"
	  "forward, never a blind switch. Refused for a slot that holds no\n"
	  "verified system, and for a version under the anti-rollback floor\n"
	  "unless --allow-downgrade is given. On the good slot, cancels a\n"
	  "pending trial of the other slot. Needs root.\n" },
	{ "cancel", 0, 0, cmd_cancel, NULL,
	  "cancel             remove a staged image not yet applied",
	  "Usage: slotflip cancel\n"
	  "\n"
	  "Removes the staged image, unless it is already applied and on\n"
	  "trial. Nothing staged is not an error. Needs root.\n" },
	{ "boot-entries", 1, 0, NULL, cmd_boot_entries,
	  "boot-entries install|check|repair   the firmware boot entries",
	  "Usage: slotflip boot-entries install|check|repair\n"
	  "\n"
	  "install: writes slot a's and slot b's Boot#### entries (the numbers\n"
	  "  of the config's boot-entry keys): HD() of the ESP, found with\n"
	  "  libblkid, then File() of the slot's EFI binary, no optional data;\n"
	  "  and puts the good slot first in BootOrder with the other present.\n"
	  "check: reports missing or altered entries and a wrong BootOrder;\n"
	  "  exit status 1 when anything is wrong.\n"
	  "repair: rewrites what check reports.\n"
	  "An entry that is not slotflip's is never overwritten. install and\n"
	  "repair need root.\n" },
};

enum {
	OPT_ROOT = 256,
	OPT_CONFIG,
	OPT_JSON,
	OPT_REBOOT,
	OPT_REASON,
	OPT_DOWNGRADE,
	OPT_CHECK,
	OPT_STAGE,
	OPT_HELP
};

static int usage(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(slotflip --help lists the commands)\n");
	return EXIT_USAGE;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static int show_help(const char *name)
{
	const struct command *cmd = find_command(name);

	if (cmd) {
		fputs(cmd->help, stdout);
		fputs("\nOptions of every command: --root DIR, --config FILE, "
		      "--help.\nExit status: see slotflip --help.\n",
		      stdout);
		return EXIT_OK;
	}
	fputs(main_usage, stdout);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %s\n", commands[i].line);
	fputs(main_options, stdout);
	return EXIT_OK;
}

/* The options and the number of arguments given fit @cmd. */
static int check_args(struct cli *c, const struct command *cmd, int nargs)
{
	unsigned given = (c->json ? TAKES_JSON : 0) |
			 (c->reboot ? TAKES_REBOOT : 0) |
			 (c->reason ? TAKES_REASON : 0) |
			 (c->allow_downgrade ? TAKES_DOWNGRADE : 0) |
			 (c->check || c->stage ? TAKES_FETCH : 0);

	if (nargs != cmd->nargs)
		return usage(c,
			     "%s: wrong number of arguments (see slotflip "
			     "COMMAND --help)",
			     cmd->name);
	if (given & ~cmd->takes)
		return usage(c,
			     "%s: an option given does not apply to it (see "
			     "slotflip COMMAND --help)",
			     cmd->name);
	return EXIT_OK;
}

static int parse(struct cli *c, int argc, char **argv, bool *help)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "reboot", no_argument, NULL, OPT_REBOOT },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "allow-downgrade", no_argument, NULL, OPT_DOWNGRADE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "stage", no_argument, NULL, OPT_STAGE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case OPT_ROOT:
			c->ctx.root = optarg;
			break;
		case OPT_CONFIG:
			c->config_path = optarg;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_REBOOT:
			c->reboot = true;
			break;
		case OPT_REASON:
			c->reason = optarg;
			break;
		case OPT_DOWNGRADE:
			c->allow_downgrade = true;
			break;
		case OPT_CHECK:
			c->check = true;
			break;
		case OPT_STAGE:
			c->stage = true;
			break;
		case OPT_HELP:
			*help = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

/*
 * Tests only: with --root, SLOTFLIP_FAULT_AT=N ends the process at the N-th
 * write point as a power cut would (lib/fault.h), as slotflip-init does.
 */
static void parse_fault(struct cli *c, struct sf_fault *fault)
{
	const char *s = getenv("SLOTFLIP_FAULT_AT");

	if (!s || !strcmp(c->ctx.root, "/"))
		return;
	fault->at = strtoul(s, NULL, 10);
	fault->stop = getenv("SLOTFLIP_FAULT_STOP") != NULL;
	c->ctx.fault = fault;
}

int main(int argc, char **argv)
{
	struct cli c = { .prog = "slotflip", .config_path = SF_CONFIG_PATH };
	struct sf_fault fault = { 0 };
	const struct command *cmd;
	bool help = false;
	int r;

	c.ctx = (struct sf_ctx){ .root = "/",
				 .log_fn = sf_log_stderr,
				 .log_data = (void *)c.prog,
				 .log_level = SF_LOG_NOTICE };
	r = parse(&c, argc, argv, &help);
	if (r)
		return usage(&c, "%s", "bad option");
	if (help)
		return show_help(optind < argc ? argv[optind] : NULL);
	if (optind >= argc)
		return usage(&c, "%s", "give a command");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage(&c, "unknown command \"%s\"", argv[optind]);
	r = check_args(&c, cmd, argc - optind - 1);
	if (r)
		return r;
	if (sodium_init() < 0)
		return cli_fail(&c, EXIT_IO, "libsodium failed to start");
	c.now = (uint64_t)time(NULL);
	parse_fault(&c, &fault);
	return cmd->nargs ? cmd->run1(&c, argv[optind + 1]) : cmd->run0(&c);
}
