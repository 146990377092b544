/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one config file (default /etc/slotflip/slotflip.conf), read by
 * slotflip-init and slotflip. Format: "key = value" lines, '#' comments,
 * "[slot a]" / "[slot b]" sections for per-slot keys. README documents it.
 *
 *	compatible = acme-gateway-v2
 *	pubkey = /etc/slotflip/keys/release.pub      # repeat for k of n
 *	threshold = 1
 *	tries = 3
 *	trial-deadline = 600         # s: an unconfirmed trial reboots then
 *	data = PARTLABEL=data        # device; or a path
 *	data-dir = /run/slotflip/data  # where it is (or gets) mounted
 *	esp = PARTLABEL=esp
 *	esp-dir = /run/slotflip/esp
 *	esp-disk = /dev/sda          # optional: the disk holding the ESP
 *	[slot a]
 *	device = PARTLABEL=root-a    # PARTLABEL=, PARTUUID= or a path
 *	efi = /EFI/slotflip/a/linux.efi  # on the ESP
 *	boot-entry = 0001            # Boot#### number, hex
 *	[slot b]
 *	...
 *	[server]                     # optional: `slotflip fetch`
 *	url = https://updates.example.com/acme
 *	product = acme-gateway
 *	channel = stable
 *	repo-keys = /etc/slotflip/repo-keys  # the repository's keys/1
 *	ca = /etc/slotflip/updates-ca.pem
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "log.h"
#include "minisign.h"

#define SF_CONFIG_PATH "/etc/slotflip/slotflip.conf"
#define SF_CONFIG_MAX_KEYS 8
#define SF_CONFIG_VALUE_MAX 256
/* trial-deadline: seconds after the trial's systemd started, its range. */
#define SF_CONFIG_DEADLINE_DEFAULT 600
#define SF_CONFIG_DEADLINE_MIN 60
#define SF_CONFIG_DEADLINE_MAX 86400

struct sf_slot_config {
	/* As written; slotflip-init puts the node there once found. */
	char device[SF_CONFIG_VALUE_MAX];
	char efi[SF_CONFIG_VALUE_MAX]; /* path on the ESP */
	uint16_t boot_entry;
};

/* A server's timeouts and rate: the helper's defaults when 0. */
#define SF_SERVER_NUMBER_MAX 1000000000u

/* [server]: where `slotflip fetch` gets updates (docs/REPO.md). */
struct sf_server_config {
	bool present; /* the section is there */
	char url[SF_CONFIG_VALUE_MAX]; /* https://, http:// or file:// */
	char product[64];
	char channel[32];
	/* A key set document (keys/<N> of the repository): the first set. */
	char repo_keys[SF_CONFIG_VALUE_MAX];
	char ca[SF_CONFIG_VALUE_MAX]; /* pinned CA (PEM); required for https */
	char cert[SF_CONFIG_VALUE_MAX], key[SF_CONFIG_VALUE_MAX];
	unsigned limit_rate; /* bytes/s, 0 = none */
	unsigned connect_timeout, stall_timeout; /* s, 0 = the helper's */
	bool allow_http, allow_file;
	/* reboot = yes: `slotflip fetch --stage` (slotflip-fetch.service)
	 * reboots once the update is staged; default no. */
	bool reboot;
	/* The download helper (default: the installed slotflip-http). */
	char http_helper[SF_CONFIG_VALUE_MAX];
};

struct sf_config {
	char compatible[64];
	char pubkeys[SF_CONFIG_MAX_KEYS][SF_CONFIG_VALUE_MAX];
	unsigned n_pubkeys;
	unsigned threshold; /* default 1 */
	unsigned tries; /* default 3, 1 to 100 */
	unsigned trial_deadline_s; /* default 600, 60 to 86400 */
	char data[SF_CONFIG_VALUE_MAX];
	char data_dir[SF_CONFIG_VALUE_MAX]; /* default /run/slotflip/data */
	char esp[SF_CONFIG_VALUE_MAX];
	char esp_dir[SF_CONFIG_VALUE_MAX]; /* default /run/slotflip/esp */
	/* "" = the disk the esp partition is on; else a path (a disk image
	 * file in tests) whose GPT holds the esp (PARTLABEL= or PARTUUID=). */
	char esp_disk[SF_CONFIG_VALUE_MAX];
	struct sf_slot_config slot[2];
	struct sf_server_config server;
	/* The file it came from, as named in messages. */
	char file[4096];
};

/*
 * sf_config_parse - parse @len bytes of config text; @path names it in
 * messages ("PATH:LINE: ...").
 * Returns 0; -EINVAL with the line number for an unknown key or section, a
 * bad value, a duplicate key, a line that is not "key = value"; and for a
 * missing required key (compatible, pubkey, both slots' device, efi and
 * boot-entry, data, esp; in [server]: url, product, channel, repo-keys,
 * and ca for an https url), a threshold above the number of keys, an url
 * whose scheme is not allowed (http:// needs allow-http = yes, file://
 * allow-file = yes), cert without key or key without cert.
 */
int sf_config_parse(const struct sf_ctx *ctx, const char *path,
		    const char *text, size_t len, struct sf_config *ret);

/*
 * sf_config_load - read @path (under ctx->root) and parse it.
 * Returns 0, -ENOENT (with a message naming the file), or parse errors.
 */
int sf_config_load(const struct sf_ctx *ctx, const char *path,
		   struct sf_config *ret);

/*
 * sf_config_resolve_device - turn a device spec (PARTLABEL=x, PARTUUID=x,
 * or a path) into a path under ctx->root, in @buf (@size bytes). Labels
 * and UUIDs are resolved by sf_partdev_find() (partdev.h) on ROOT/sys and
 * ROOT/dev (/sys and /dev on a device; a tree laid out like them in
 * tests). Returns 0, -ENOENT (no such
 * device, with a message), -ENAMETOOLONG.
 */
int sf_config_resolve_device(const struct sf_ctx *ctx, const char *spec,
			     char *buf, size_t size);

/*
 * sf_same_device - whether @a and @b (stat() results) are one device: two
 * block devices with one device number (st_rdev), or one file (st_dev and
 * st_ino: slots are regular files in tests).
 */
bool sf_same_device(const struct stat *a, const struct stat *b);

/*
 * sf_config_check_slots - refuse @cfg when its two slots are one device,
 * which an update would write over the running slot: the same device
 * spec twice, or two specs (a path and a link to it, a PARTLABEL= and a
 * PARTUUID= of one partition) that resolve (sf_config_resolve_device())
 * to one device (sf_same_device()). A spec that does not resolve (a disk
 * not there) is not compared, and that is not logged: the caller meets it
 * where it needs the device.
 * Returns 0, or -EINVAL with a message that names both slots, the device
 * and the config file.
 */
int sf_config_check_slots(const struct sf_ctx *ctx,
			  const struct sf_config *cfg);

/*
 * sf_config_load_pubkeys - load the @cfg->n_pubkeys trusted public keys
 * (pubkey lines, under ctx->root) into @keys.
 * Returns 0, or the error of ms_pubkey_load() with a message naming the
 * key file.
 */
int sf_config_load_pubkeys(const struct sf_ctx *ctx,
			   const struct sf_config *cfg, struct ms_pubkey *keys);
