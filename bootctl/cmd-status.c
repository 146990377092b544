// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * slotflip status [--json]: the slots, the trial, the floor, the staged
 * image and the last results. The JSON layout is documented in
 * docs/RUNTIME.md and only grows (new keys), never changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "decide.h"
#include "efivar.h"
#include "fetch.h"
#include "staging.h"
#include "transition.h"
#include "util.h"

#define STATUS_FORMAT 1

struct staged_info {
	bool present, readable, verified, applied;
	char version[SF_VERSION_FIELD];
	uint64_t size;
	char path[4096];
	char error[256];
};

/* @dir_fd: the staging directory, or negative (nothing to show). */
static void staged_info(struct cli *c, int dir_fd, struct staged_info *si)
{
	struct ms_pubkey keys[SF_CONFIG_MAX_KEYS];
	struct sf_ctx quiet = c->ctx;
	struct sf_image *img = NULL;
	const struct sf_bootstate *st = &c->st;
	struct stat sb;

	quiet.log_fn = NULL;
	if (dir_fd < 0 ||
	    sf_staged_path(&c->ctx, &c->cfg, SF_STAGED_NAME, si->path,
			   sizeof(si->path)) < 0 ||
	    fstatat(dir_fd, SF_STAGED_NAME, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	si->present = true;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(si->error, sizeof(si->error),
			 "not a regular file: remove it (slotflip cancel)");
		return;
	}
	if (sf_staged_open(&quiet, &c->cfg, dir_fd, SF_STAGED_NAME, &img) < 0 ||
	    sf_image_load_manifest(&quiet, img) < 0) {
		snprintf(si->error, sizeof(si->error),
			 "not a readable slotflip image");
		sf_image_close(img);
		return;
	}
	si->readable = true;
	snprintf(si->version, sizeof(si->version), "%s", img->m.version);
	si->size = img->file_size;
	si->verified = sf_config_load_pubkeys(&c->ctx, &c->cfg, keys) == 0 &&
		       sf_image_check_signatures(&quiet, img, keys,
						 c->cfg.n_pubkeys,
						 c->cfg.threshold) >= 0;
	if (!si->verified)
		snprintf(si->error, sizeof(si->error),
			 "signatures not valid for the configured keys");
	si->applied = sf_state_image_applied(st, img->manifest_hash);
	sf_image_close(img);
}

/* Secure Boot: 1 on, 0 off, -1 unknown (no SecureBoot variable: firmware
 * without Secure Boot, or unreadable). */
static int secure_boot(const struct cli *c)
{
	struct sf_ctx quiet = c->ctx;
	int r;

	quiet.log_fn = NULL;
	r = efivar_secure_boot(&quiet);
	return r < 0 ? -1 : r;
}

static const char *secure_boot_text(int sb)
{
	return sb > 0	 ? "on"
	       : sb == 0 ? "off"
			 : "unknown (no SecureBoot EFI variable)";
}

static void fmt_time(uint64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm))
		snprintf(buf, size, "an unknown time");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void print_text(struct cli *c, const struct staged_info *si,
		       const struct sf_last_result *la,
		       const struct fetch_last *lf)
{
	const struct sf_bootstate *st = &c->st;
	char when[64];

	printf("booted slot:   %s\n",
	       c->booted < 0 ? "unknown" : sf_slot_name((uint8_t)c->booted));
	printf("good slot:     %s%s\n", sf_slot_name(st->good),
	       strcmp(c->state_record, "valid") ? " (no valid state record)"
						: "");
	for (uint8_t s = 0; s < 2; s++)
		printf("slot %s:        %s, version %s, boot entry Boot%04X\n",
		       sf_slot_name(s), sf_slot_status_name(st->slot[s].status),
		       st->slot[s].version[0] ? st->slot[s].version : "unknown",
		       c->cfg.slot[s].boot_entry);
	if (sf_state_trial_pending(st))
		printf("trial:         slot %s, %u more tries\n",
		       sf_slot_name(st->trial), st->tries_left);
	else
		printf("trial:         none\n");
	printf("floor:         %s\n", st->floor[0] ? st->floor : "none");
	printf("secure boot:   %s\n", secure_boot_text(secure_boot(c)));
	if (!si->present)
		printf("staged image:  none\n");
	else if (!si->readable)
		printf("staged image:  %s: %s\n", si->path, si->error);
	else
		printf("staged image:  version %s, %llu bytes, %s%s\n",
		       si->version, (unsigned long long)si->size,
		       si->verified ? "signatures valid" : si->error,
		       si->applied ? ", applied (on trial)" : "");
	fmt_time(st->last_time, when, sizeof(when));
	printf("last result:   %s at %s%s%s\n", sf_result_name(st->last_result),
	       when, st->last_reason[0] ? ": " : "", st->last_reason);
	if (la) {
		fmt_time(la->time, when, sizeof(when));
		printf("last apply:    %s, version %s to slot %s at %s: %s\n",
		       la->result, la->version[0] ? la->version : "unknown",
		       la->slot, when, la->reason);
	}
	if (lf) {
		fmt_time(lf->time, when, sizeof(when));
		printf("last fetch:    %s at %s, %s%s, %llu bytes\n",
		       lf->result, when, lf->version[0] ? "version " : "",
		       lf->version[0] ? lf->version : "no version offered",
		       (unsigned long long)lf->bytes);
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* A string, or null when empty. */
static void json_opt(const char *s)
{
	if (s[0])
		json_str(s);
	else
		fputs("null", stdout);
}

static void json_slots(struct cli *c)
{
	const struct sf_bootstate *st = &c->st;

	printf("  \"slots\": {\n");
	for (uint8_t s = 0; s < 2; s++) {
		char entry[8];

		snprintf(entry, sizeof(entry), "%04X",
			 c->cfg.slot[s].boot_entry);
		printf("    \"%s\": {\"status\": \"%s\", \"version\": ",
		       sf_slot_name(s),
		       sf_slot_status_name(st->slot[s].status));
		json_opt(st->slot[s].version);
		printf(", \"boot_entry\": \"%s\", \"booted\": %s}%s\n", entry,
		       c->booted == s ? "true" : "false", s ? "" : ",");
	}
	printf("  },\n");
}

static void json_staged(const struct staged_info *si)
{
	if (!si->present) {
		printf("  \"staged\": null,\n");
		return;
	}
	printf("  \"staged\": {\"path\": ");
	json_str(si->path);
	printf(", \"readable\": %s, \"version\": ",
	       si->readable ? "true" : "false");
	json_opt(si->version);
	printf(", \"size\": %llu, \"verified\": %s, \"applied\": %s, "
	       "\"error\": ",
	       (unsigned long long)si->size, si->verified ? "true" : "false",
	       si->applied ? "true" : "false");
	json_opt(si->error);
	printf("},\n");
}

static void json_last(const struct sf_bootstate *st,
		      const struct sf_last_result *la)
{
	printf("  \"last_result\": {\"result\": \"%s\", \"time\": %llu, "
	       "\"reason\": ",
	       sf_result_name(st->last_result),
	       (unsigned long long)st->last_time);
	json_str(st->last_reason);
	printf("},\n  \"last_apply\": ");
	if (!la) {
		printf("null");
		return;
	}
	printf("{\"result\": ");
	json_str(la->result);
	printf(", \"time\": %llu, \"slot\": ", (unsigned long long)la->time);
	json_opt(la->slot);
	printf(", \"version\": ");
	json_opt(la->version);
	printf(", \"reason\": ");
	json_str(la->reason);
	printf("}");
}

static void json_fetch(const struct fetch_last *lf)
{
	printf(",\n  \"last_fetch\": ");
	if (!lf) {
		printf("null\n");
		return;
	}
	printf("{\"result\": ");
	json_str(lf->result);
	printf(", \"time\": %llu, \"version\": ", (unsigned long long)lf->time);
	json_opt(lf->version);
	printf(", \"bytes\": %llu}\n", (unsigned long long)lf->bytes);
}

static void print_json(struct cli *c, const struct staged_info *si,
		       const struct sf_last_result *la,
		       const struct fetch_last *lf)
{
	const struct sf_bootstate *st = &c->st;
	bool trial = sf_state_trial_pending(st);
	int sb;

	printf("{\n  \"format\": %d,\n  \"state_record\": \"%s\",\n",
	       STATUS_FORMAT, c->state_record);
	printf("  \"booted\": ");
	json_opt(c->booted < 0 ? "" : sf_slot_name((uint8_t)c->booted));
	printf(",\n  \"good\": \"%s\",\n", sf_slot_name(st->good));
	json_slots(c);
	if (trial)
		printf("  \"trial\": {\"slot\": \"%s\", \"tries_left\": %u},\n",
		       sf_slot_name(st->trial), st->tries_left);
	else
		printf("  \"trial\": null,\n");
	printf("  \"floor\": ");
	json_opt(st->floor);
	sb = secure_boot(c);
	printf(",\n  \"secure_boot\": %s,\n", sb > 0	? "true"
					      : sb == 0 ? "false"
							: "null");
	json_staged(si);
	json_last(st, la);
	json_fetch(lf);
	printf("}\n");
}

/* The last apply's result, from last-result in @dir_fd; false when there
 * is none or it cannot be read (said why). */
static bool last_apply(struct cli *c, int dir_fd, struct sf_last_result *la)
{
	char path[4096];
	int r = dir_fd < 0 ? -ENOENT : sf_last_result_read(dir_fd, la);

	if (r >= 0 || r == -ENOENT)
		return r >= 0;
	if (sf_staged_path(&c->ctx, &c->cfg, SF_LAST_RESULT_NAME, path,
			   sizeof(path)) < 0)
		snprintf(path, sizeof(path), SF_LAST_RESULT_NAME);
	sf_log(&c->ctx, SF_LOG_WARNING, 0,
	       "%s: %s: the last apply is not shown; remove it (slotflip-init "
	       "writes it again at the next apply)",
	       path,
	       r == -EINVAL  ? "not a regular file"
	       : r == -ELOOP ? "a symbolic link, not followed"
			     : strerror(-r));
	return false;
}

int cmd_status(struct cli *c)
{
	struct staged_info si = { .present = false };
	_cleanup_close_ int dir_fd = -1;
	struct sf_last_result la;
	struct fetch_last lf;
	bool la_present, lf_present;
	int r = cli_load(c, "status", 0);

	if (r)
		return r;
	/* A link or file in the directory's place is said (a warning). */
	dir_fd = sf_staging_dir_open(&c->ctx, &c->cfg, false);
	staged_info(c, dir_fd, &si);
	la_present = last_apply(c, dir_fd, &la);
	lf_present = dir_fd >= 0 && fetch_last_read(dir_fd, &lf) == 0;
	if (c->json)
		print_json(c, &si, la_present ? &la : NULL,
			   lf_present ? &lf : NULL);
	else
		print_text(c, &si, la_present ? &la : NULL,
			   lf_present ? &lf : NULL);
	return EXIT_OK;
}
