// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Test tool: read or set fields of the slotflip state record on a test root.
 *	state-tool DIR get FIELD...    good trial tries result reason floor
 *	                               a.status a.version b.status b.version
 *	                               (one value a line, in order)
 *	state-tool DIR set FIELD=VALUE ...   (same fields, status by name)
 *	state-tool DIR poke OFFSET BYTE      change one byte of the record
 *	                                     and fix its CRC (to make records
 *	                                     that only the version check or
 *	                                     a field check refuses)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bootstate.h"
#include "efivar.h"
#include "fileio.h"

static struct sf_ctx ctx = { .log_fn = sf_log_stderr,
			     .log_data = "state-tool",
			     .log_level = SF_LOG_ERR };

static int slot_of(const char *s)
{
	return !strcmp(s, "a") ? 0 : !strcmp(s, "b") ? 1 : SF_NO_SLOT;
}

static int status_of(const char *s)
{
	for (uint8_t i = 0; i < 4; i++)
		if (!strcmp(s, sf_slot_status_name(i)))
			return i;
	return -1;
}

static void get(const struct sf_bootstate *st, const char *f)
{
	char text[SF_REASON_FIELD + SF_VERSION_FIELD];

	if (sf_bootstate_field(st, f, text, sizeof(text)) < 0)
		exit(2);
	puts(text);
}

static void set(struct sf_bootstate *st, char *kv)
{
	char *v = strchr(kv, '=');
	int s = kv[0] == 'a' ? 0 : 1;

	if (!v)
		exit(2);
	*v++ = '\0';
	if (!strcmp(kv, "good"))
		st->good = (uint8_t)slot_of(v);
	else if (!strcmp(kv, "trial"))
		st->trial = (uint8_t)slot_of(v);
	else if (!strcmp(kv, "tries"))
		st->tries_left = (uint8_t)atoi(v);
	else if (!strcmp(kv, "floor"))
		snprintf(st->floor, sizeof(st->floor), "%s", v);
	else if (strstr(kv, ".status") && status_of(v) >= 0)
		st->slot[s].status = (uint8_t)status_of(v);
	else if (strstr(kv, ".version"))
		snprintf(st->slot[s].version, SF_VERSION_FIELD, "%s", v);
	else
		exit(2);
}

/* The variable's file holds the attribute word, then the record. */
static int poke(const char *root, const char *off, const char *val)
{
	char path[4096];
	uint8_t rec[SF_STATE_SIZE];
	unsigned o = (unsigned)atoi(off);
	FILE *f;
	uLong crc;

	snprintf(path, sizeof(path), "%s/sys/firmware/efi/efivars/%s-%s", root,
		 SF_STATE_VAR, SF_VENDOR_GUID);
	f = fopen(path, "r+e");
	if (!f || o >= SF_STATE_SIZE - 4 || fseek(f, 4, SEEK_SET) < 0 ||
	    fread(rec, 1, sizeof(rec), f) != sizeof(rec))
		return 1;
	rec[o] = (uint8_t)strtoul(val, NULL, 0);
	crc = crc32(0, rec, SF_STATE_SIZE - 4);
	for (int i = 0; i < 4; i++)
		rec[SF_STATE_SIZE - 4 + i] = (uint8_t)(crc >> (8 * i));
	if (fseek(f, 4, SEEK_SET) < 0 ||
	    fwrite(rec, 1, sizeof(rec), f) != sizeof(rec))
		return 1;
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	struct sf_bootstate st;
	int r;

	if (argc < 4)
		return 2;
	ctx.root = argv[1];
	if (!strcmp(argv[2], "poke"))
		return argc == 5 ? poke(argv[1], argv[3], argv[4]) : 2;
	r = sf_bootstate_load(&ctx, &st);
	if (!strcmp(argv[2], "get")) {
		if (r < 0)
			return 1;
		for (int i = 3; i < argc; i++)
			get(&st, argv[i]);
		return 0;
	}
	if (r < 0)
		sf_bootstate_rebuild(&st, 0, NULL);
	for (int i = 3; i < argc; i++)
		set(&st, argv[i]);
	return sf_bootstate_store(&ctx, &st) < 0;
}
