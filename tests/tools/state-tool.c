// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Test tool: read or set fields of the slotflip state record on a test root.
 *	state-tool DIR get FIELD       good trial tries result reason floor
 *	                               a.status a.version b.status b.version
 *	state-tool DIR set FIELD=VALUE ...   (same fields, status by name)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstate.h"

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
	int s = f[0] == 'a' ? 0 : 1;

	if (!strcmp(f, "good"))
		puts(sf_slot_name(st->good));
	else if (!strcmp(f, "trial"))
		puts(sf_slot_name(st->trial));
	else if (!strcmp(f, "tries"))
		printf("%u\n", st->tries_left);
	else if (!strcmp(f, "result"))
		puts(sf_result_name(st->last_result));
	else if (!strcmp(f, "reason"))
		puts(st->last_reason);
	else if (!strcmp(f, "floor"))
		puts(st->floor);
	else if (strstr(f, ".status"))
		puts(sf_slot_status_name(st->slot[s].status));
	else if (strstr(f, ".version"))
		puts(st->slot[s].version);
	else
		exit(2);
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

int main(int argc, char **argv)
{
	struct sf_bootstate st;
	int r;

	if (argc < 4)
		return 2;
	ctx.root = argv[1];
	r = sf_bootstate_load(&ctx, &st);
	if (!strcmp(argv[2], "get")) {
		if (r < 0)
			return 1;
		get(&st, argv[3]);
		return 0;
	}
	if (r < 0)
		sf_bootstate_rebuild(&st, 0);
	for (int i = 3; i < argc; i++)
		set(&st, argv[i]);
	return sf_bootstate_store(&ctx, &st) < 0;
}
