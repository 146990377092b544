// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ovmf-vars: read and change EFI variables in an OVMF varstore file
 * offline (qemu/varstore.h), for the QEMU tests: boot entries before a
 * boot, slotflip's state and BootNext/BootOrder after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstate.h"
#include "efivar.h"
#include "varstore.h"

static const char help_text[] =
	"Usage: ovmf-vars FILE COMMAND [ARGS]\n"
	"\n"
	"Reads or changes EFI variables in an OVMF varstore file (a copy of\n"
	"OVMF_VARS_4M.fd) while no QEMU uses it. GUID defaults to the EFI\n"
	"global variable GUID (" EFI_GLOBAL_GUID "), and to slotflip's\n"
	"(" SF_VENDOR_GUID ") for " SF_STATE_VAR ".\n"
	"\n"
	"Commands:\n"
	"  list                         every live variable: NAME-GUID ATTR SIZE\n"
	"  dump                         every live variable: NAME-GUID ATTR HEX\n"
	"  get NAME [GUID]              the data in hex\n"
	"  set NAME ATTR HEX [GUID]     set the variable (ATTR in hex, e.g. 7)\n"
	"  delete NAME [GUID]           delete it\n"
	"  get-u16 NAME                 a 2-byte variable (BootNext), e.g. 0002\n"
	"  boot-order                   BootOrder, e.g. 0001,0002,0000\n"
	"  set-boot-order 0001,0002     set BootOrder\n"
	"  boot-entry NUM DESC PARTNUM START SIZE PARTUUID PATH\n"
	"                               set Boot<NUM> to an active load option\n"
	"                               for PATH on a GPT partition (START and\n"
	"                               SIZE in 512-byte sectors)\n"
	"  state FIELD                  a field of slotflip's state: good trial\n"
	"                               tries result reason floor a.status\n"
	"                               a.version b.status b.version\n"
	"  state-init SLOT VERSION      write slotflip's state as a factory\n"
	"                               would: SLOT good with VERSION, the\n"
	"                               anti-rollback floor at VERSION\n"
	"\n"
	"Exit status: 0 done, 1 error (the message says which), 2 usage,\n"
	"3 the variable (or the state) is absent.\n";

static const struct sf_ctx ctx = { .log_fn = sf_log_stderr,
				   .log_data = "ovmf-vars",
				   .log_level = SF_LOG_WARNING };

static int usage(void)
{
	fputs(help_text, stderr);
	return 2;
}

static int parse_guid(const char *name, const char *arg, uint8_t guid[16])
{
	const char *s = arg			     ? arg
			: strcmp(name, SF_STATE_VAR) ? EFI_GLOBAL_GUID
						     : SF_VENDOR_GUID;

	if (efi_guid_parse(s, guid) < 0) {
		fprintf(stderr, "ovmf-vars: bad GUID '%s'\n", s);
		return -EINVAL;
	}
	return 0;
}

static int absent(const char *name, const uint8_t guid[16])
{
	char g[37];

	varstore_guid_format(guid, g);
	fprintf(stderr, "ovmf-vars: %s-%s: no such variable\n", name, g);
	return 3;
}

static int print_var(const struct varstore_var *v, void *data)
{
	char g[37];

	(void)data;
	varstore_guid_format(v->guid, g);
	printf("%s-%s %x %zu\n", v->name, g, v->attr, v->len);
	return 0;
}

static int dump_var(const struct varstore_var *v, void *data)
{
	char g[37];

	(void)data;
	varstore_guid_format(v->guid, g);
	printf("%s-%s %x ", v->name, g, v->attr);
	for (size_t i = 0; i < v->len; i++)
		printf("%02x", v->data[i]);
	putchar('\n');
	return 0;
}

static int hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

static int cmd_get(struct varstore *vs, int argc, char **argv)
{
	uint8_t guid[16], buf[EFIVAR_MAX_DATA];
	int n;

	if (argc < 1 || argc > 2 || parse_guid(argv[0], argv[1], guid) < 0)
		return usage();
	n = varstore_get(vs, argv[0], guid, NULL, buf, sizeof(buf));
	if (n == -ENOENT)
		return absent(argv[0], guid);
	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++)
		printf("%02x", buf[i]);
	putchar('\n');
	return 0;
}

static int cmd_set(struct varstore *vs, int argc, char **argv, bool *dirty)
{
	uint8_t guid[16], buf[EFIVAR_MAX_DATA];
	unsigned long attr;
	char *end;
	int n, r;

	if (argc < 3 || argc > 4 || parse_guid(argv[0], argv[3], guid) < 0)
		return usage();
	attr = strtoul(argv[1], &end, 16);
	n = hex_decode(argv[2], buf, sizeof(buf));
	if (*end || !argv[1][0] || n < 0)
		return usage();
	r = varstore_set(vs, argv[0], guid, (uint32_t)attr, buf, (size_t)n);
	if (r < 0) {
		fprintf(stderr, "ovmf-vars: cannot set %s: %s\n", argv[0],
			r == -ENOSPC ? "the variable store is full"
				     : strerror(-r));
		return 1;
	}
	*dirty = true;
	return 0;
}

static int cmd_get_u16(struct varstore *vs, int argc, char **argv)
{
	uint8_t guid[16], buf[2];
	int n;

	if (argc != 1 || parse_guid(argv[0], NULL, guid) < 0)
		return usage();
	n = varstore_get(vs, argv[0], guid, NULL, buf, sizeof(buf));
	if (n == -ENOENT)
		return absent(argv[0], guid);
	if (n != 2) {
		fprintf(stderr, "ovmf-vars: %s is not 2 bytes long\n", argv[0]);
		return 1;
	}
	printf("%04X\n", buf[0] | buf[1] << 8);
	return 0;
}

static int cmd_boot_order(struct varstore *vs)
{
	uint8_t guid[16], buf[2 * EFI_MAX_BOOT_ORDER];
	int n;

	efi_guid_parse(EFI_GLOBAL_GUID, guid);
	n = varstore_get(vs, "BootOrder", guid, NULL, buf, sizeof(buf));
	if (n == -ENOENT)
		return absent("BootOrder", guid);
	if (n < 0)
		return 1;
	for (int i = 0; i + 1 < n; i += 2)
		printf("%s%04X", i ? "," : "", buf[i] | buf[i + 1] << 8);
	putchar('\n');
	return 0;
}

static int cmd_set_boot_order(struct varstore *vs, int argc, char **argv,
			      bool *dirty)
{
	uint8_t guid[16], buf[2 * EFI_MAX_BOOT_ORDER];
	size_t n = 0;
	char *s, *end;

	if (argc != 1)
		return usage();
	efi_guid_parse(EFI_GLOBAL_GUID, guid);
	for (s = argv[0]; *s && n < sizeof(buf); s = *end ? end + 1 : end) {
		unsigned long v = strtoul(s, &end, 16);

		if (end == s || v > 0xFFFF || (*end && *end != ','))
			return usage();
		buf[n++] = (uint8_t)v;
		buf[n++] = (uint8_t)(v >> 8);
	}
	if (varstore_set(vs, "BootOrder", guid, EFI_VARIABLE_NV_BS_RT, buf, n) <
	    0) {
		fprintf(stderr, "ovmf-vars: cannot set BootOrder: the variable "
				"store is full\n");
		return 1;
	}
	*dirty = true;
	return 0;
}

static int cmd_boot_entry(struct varstore *vs, int argc, char **argv,
			  bool *dirty)
{
	struct efi_load_option o = { .attributes = LOAD_OPTION_ACTIVE };
	uint8_t guid[16], buf[1024];
	char name[9];
	unsigned long num;
	int n;

	if (argc != 7)
		return usage();
	num = strtoul(argv[0], NULL, 16);
	snprintf(o.description, sizeof(o.description), "%s", argv[1]);
	o.part_number = (uint32_t)strtoul(argv[2], NULL, 10);
	o.part_start = strtoull(argv[3], NULL, 10);
	o.part_size = strtoull(argv[4], NULL, 10);
	snprintf(o.path, sizeof(o.path), "%s", argv[6]);
	if (num > 0xFFFF || efi_guid_parse(argv[5], o.part_guid) < 0)
		return usage();
	n = efi_load_option_encode(&o, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr,
			"ovmf-vars: cannot encode the load option: %s\n",
			strerror(-n));
		return 1;
	}
	efivar_boot_name((uint16_t)num, name);
	efi_guid_parse(EFI_GLOBAL_GUID, guid);
	if (varstore_set(vs, name, guid, EFI_VARIABLE_NV_BS_RT, buf,
			 (size_t)n) < 0) {
		fprintf(stderr,
			"ovmf-vars: cannot set %s: the variable store "
			"is full\n",
			name);
		return 1;
	}
	*dirty = true;
	return 0;
}

static int print_state_field(const struct sf_bootstate *st, const char *f)
{
	char text[SF_REASON_FIELD + SF_VERSION_FIELD];

	if (sf_bootstate_field(st, f, text, sizeof(text)) < 0)
		return usage();
	puts(text);
	return 0;
}

static int cmd_state(struct varstore *vs, int argc, char **argv)
{
	uint8_t guid[16], buf[EFIVAR_MAX_DATA];
	struct sf_bootstate st;
	int n;

	if (argc != 1)
		return usage();
	efi_guid_parse(SF_VENDOR_GUID, guid);
	n = varstore_get(vs, SF_STATE_VAR, guid, NULL, buf, sizeof(buf));
	if (n == -ENOENT) {
		fprintf(stderr,
			"ovmf-vars: no slotflip state (%s) in this "
			"varstore\n",
			SF_STATE_VAR);
		return 3;
	}
	if (n < 0 || sf_bootstate_decode(&ctx, buf, (size_t)n, &st) < 0) {
		fprintf(stderr,
			"ovmf-vars: the slotflip state is bad (above)\n");
		return 1;
	}
	return print_state_field(&st, argv[0]);
}

/* A device as the factory leaves it: SLOT good with VERSION, the floor at
 * VERSION, the other slot invalid. */
static int cmd_state_init(struct varstore *vs, int argc, char **argv,
			  bool *dirty)
{
	uint8_t guid[16], buf[SF_STATE_SIZE];
	struct sf_bootstate st;
	int slot;

	if (argc != 2 || strlen(argv[1]) >= SF_VERSION_FIELD)
		return usage();
	slot = !strcmp(argv[0], "a") ? 0 : !strcmp(argv[0], "b") ? 1 : -1;
	if (slot < 0)
		return usage();
	sf_bootstate_rebuild(&st, (uint8_t)slot, argv[1]);
	sf_bootstate_encode(&st, buf);
	efi_guid_parse(SF_VENDOR_GUID, guid);
	if (varstore_set(vs, SF_STATE_VAR, guid, EFI_VARIABLE_NV_BS_RT, buf,
			 sizeof(buf)) < 0) {
		fprintf(stderr,
			"ovmf-vars: cannot set %s: the variable store "
			"is full\n",
			SF_STATE_VAR);
		return 1;
	}
	*dirty = true;
	return 0;
}

static int run(struct varstore *vs, const char *cmd, int argc, char **argv,
	       bool *dirty)
{
	uint8_t guid[16];

	if (!strcmp(cmd, "list"))
		return argc ? usage() : varstore_foreach(vs, print_var, NULL);
	if (!strcmp(cmd, "dump"))
		return argc ? usage() : varstore_foreach(vs, dump_var, NULL);
	if (!strcmp(cmd, "get"))
		return cmd_get(vs, argc, argv);
	if (!strcmp(cmd, "set"))
		return cmd_set(vs, argc, argv, dirty);
	if (!strcmp(cmd, "delete")) {
		if (argc < 1 || argc > 2 || parse_guid(argv[0], argv[1], guid))
			return usage();
		*dirty = varstore_delete(vs, argv[0], guid) > 0;
		return *dirty ? 0 : absent(argv[0], guid);
	}
	if (!strcmp(cmd, "get-u16"))
		return cmd_get_u16(vs, argc, argv);
	if (!strcmp(cmd, "boot-order"))
		return argc ? usage() : cmd_boot_order(vs);
	if (!strcmp(cmd, "set-boot-order"))
		return cmd_set_boot_order(vs, argc, argv, dirty);
	if (!strcmp(cmd, "boot-entry"))
		return cmd_boot_entry(vs, argc, argv, dirty);
	if (!strcmp(cmd, "state"))
		return cmd_state(vs, argc, argv);
	if (!strcmp(cmd, "state-init"))
		return cmd_state_init(vs, argc, argv, dirty);
	return usage();
}

int main(int argc, char **argv)
{
	struct varstore vs;
	bool dirty = false;
	int r;

	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(help_text, stdout);
		return 0;
	}
	if (argc < 3)
		return usage();
	if (varstore_load(&ctx, argv[1], &vs) < 0)
		return 1;
	r = run(&vs, argv[2], argc - 3, argv + 3, &dirty);
	if (r == 0 && dirty && varstore_save(&ctx, &vs, argv[1]) < 0)
		r = 1;
	varstore_free(&vs);
	return r;
}
