// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip-init: the initramfs /init. As PID 1 it boots (pid1.c). With
 * --root DIR it runs the boot-time logic on a test root (regular files as
 * slots, a directory laid out like efivarfs), prints what it decided and
 * did, and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "fault.h"
#include "pid1.h"
#include "util.h"

static const char help_text[] =
	"Usage: slotflip-init --root DIR [--config FILE]\n"
	"\n"
	"The initramfs /init of slotflip. Run by the kernel as PID 1 it mounts\n"
	"/proc, /sys, /dev, /run and efivarfs, loads the modules listed in\n"
	"/etc/slotflip/modules, waits for the disks, applies a staged update or\n"
	"counts a trial, then reboots or switches root into the slot's init\n"
	"(see docs/BOOT.md); as PID 1 it takes no options.\n"
	"\n"
	"With --root, run the boot-time logic\n"
	"on DIR instead of the real system: DIR holds the config (default\n"
	"DIR/etc/slotflip/slotflip.conf), sys/firmware/efi/efivars laid out like\n"
	"efivarfs, proc/cmdline, and the slots and partitions the config names.\n"
	"It prints what it decided and did; the last line is\n"
	"  next: boot SLOT     or     next: reboot (BootNext=SLOT)\n"
	"or, when no slot may boot (docs/BOOT.md, \"Offline rollback\"),\n"
	"  next: stop (REASON)\n"
	"\n"
	"\n"
	"Tests only (with --root): SLOTFLIP_FAULT_AT=N ends the process at the\n"
	"N-th point where a power cut matters (writes, flushes, renames, EFI\n"
	"variable writes), exit status 99; N=0 only counts them and prints\n"
	"\"fault points passed: COUNT\" after the next: line.\n"
	"SLOTFLIP_FAULT_STOP=1 stops the process (SIGSTOP) at point N instead.\n"
	"\n"
	"Exit status: 0 a slot to boot was found (even after a refused or\n"
	"failed update), 1 no slot could be determined, 2 usage error,\n"
	"3 the boot stops (next: stop: no slot may boot),\n"
	"99 a fault was injected (tests only).\n";

static void console_log(void *data, int level, const char *msg)
{
	printf("%s: %s%s\n", (const char *)data,
	       level <= SF_LOG_ERR	 ? "error: "
	       : level == SF_LOG_WARNING ? "warning: "
					 : "",
	       msg);
	fflush(stdout);
}

static void print_next(const struct boot *b)
{
	if (b->next == BOOT_NEXT_REBOOT)
		printf("next: reboot (BootNext=%s)\n",
		       sf_slot_name(b->next_slot));
	else if (b->next == BOOT_NEXT_STOP)
		printf("next: stop (%s)\n", b->stop_reason);
	else
		printf("next: boot %s\n", sf_slot_name(b->next_slot));
}

static int parse_fault(struct sf_fault *fault, struct sf_ctx *ctx)
{
	const char *s = getenv("SLOTFLIP_FAULT_AT");
	char *end;

	if (!s)
		return 0;
	fault->at = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	fault->stop = getenv("SLOTFLIP_FAULT_STOP") != NULL;
	ctx->fault = fault;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "root", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sf_error error = SF_ERROR_INIT;
	struct sf_ctx ctx = { .log_fn = console_log,
			      .log_data = (void *)"slotflip-init",
			      .log_level = SF_LOG_NOTICE,
			      .error = &error };
	const char *config = SF_CONFIG_PATH;
	struct sf_fault fault = { 0 };
	struct boot b = { .ctx = &ctx, .next_slot = SF_NO_SLOT };
	int c, r;

	if (getpid() == 1) {
		ctx.root = "/";
		return pid1_main(&b) < 0 ? 1 : 0;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ctx.root = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		default:
			fputs(help_text, stderr);
			return 2;
		}
	}
	if (!ctx.root || optind != argc) {
		fprintf(stderr, "slotflip-init: give --root DIR (the boot mode "
				"runs only as PID 1, in the initramfs)\n");
		return 2;
	}
	if (parse_fault(&fault, &ctx) < 0) {
		fprintf(stderr, "slotflip-init: SLOTFLIP_FAULT_AT must be a "
				"number (0: count the fault points only)\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	b.now = (uint64_t)time(NULL);
	r = sf_config_load(&ctx, config, &b.cfg);
	if (r >= 0)
		r = boot_run(&b);
	if (r < 0) {
		printf("next: none (%s)\n", sf_error_reason(&ctx, r));
		return 1;
	}
	print_next(&b);
	if (ctx.fault)
		printf("fault points passed: %lu\n", atomic_load(&fault.count));
	return b.next == BOOT_NEXT_STOP ? 3 : 0;
}
