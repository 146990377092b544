// SPDX-License-Identifier: LGPL-2.1-or-later
#include "bootentry.h"

#include <blkid/blkid.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bootstate.h"
#include "partdev.h"
#include "util.h"

static void blkid_free_probep(blkid_probe *pr)
{
	if (*pr)
		blkid_free_probe(*pr);
}

static int fill(const struct sf_ctx *ctx, blkid_probe pr, blkid_partition p,
		const char *disk, struct sf_esp *ret)
{
	unsigned ssz = blkid_probe_get_sectorsize(pr);
	const char *uuid = blkid_partition_get_uuid(p);
	struct sf_esp e = { .sector_size = ssz ? ssz : 512 };

	if (!uuid || efi_guid_parse(uuid, e.guid) < 0)
		return sf_err(ctx, -EMEDIUMTYPE,
			      "ESP on %s has no GPT partition GUID", disk);
	e.part_number = (uint32_t)blkid_partition_get_partno(p);
	/* libblkid counts 512-byte sectors; HD() wants logical blocks. */
	e.start = (uint64_t)blkid_partition_get_start(p) * 512 / e.sector_size;
	e.size = (uint64_t)blkid_partition_get_size(p) * 512 / e.sector_size;
	*ret = e;
	return 0;
}

static int open_table(const struct sf_ctx *ctx, const char *disk,
		      blkid_probe *ret_pr, blkid_partlist *ret_ls)
{
	blkid_probe pr = blkid_new_probe_from_filename(disk);
	blkid_partlist ls;
	blkid_parttable t;

	if (!pr)
		return sf_err(ctx, -ENOENT, "cannot open the ESP's disk %s: %m",
			      disk);
	ls = blkid_probe_get_partitions(pr);
	t = ls ? blkid_partlist_get_table(ls) : NULL;
	if (!t || strcmp(blkid_parttable_get_type(t), "gpt") != 0) {
		blkid_free_probe(pr);
		return sf_err(ctx, -EMEDIUMTYPE,
			      "%s has no GPT partition table: slotflip's boot "
			      "entries need a GPT disk",
			      disk);
	}
	*ret_pr = pr;
	*ret_ls = ls;
	return 0;
}

/* The ESP in a named disk (esp-disk), by PARTLABEL= or PARTUUID=. */
static int find_in_disk(const struct sf_ctx *ctx, const struct sf_config *cfg,
			struct sf_esp *ret)
{
	__attribute__((cleanup(blkid_free_probep))) blkid_probe pr = NULL;
	blkid_partlist ls;
	blkid_partition p;
	char disk[4096];
	int r;

	if (strncmp(cfg->esp, "PARTLABEL=", 10) &&
	    strncmp(cfg->esp, "PARTUUID=", 9))
		return sf_err(ctx, -EINVAL,
			      "esp = %s: with esp-disk, name the ESP by "
			      "PARTLABEL= or PARTUUID=",
			      cfg->esp);
	r = sf_root_path(ctx, cfg->esp_disk, disk, sizeof(disk));
	if (r >= 0)
		r = open_table(ctx, disk, &pr, &ls);
	if (r < 0)
		return r;
	p = sf_partlist_match(ls, cfg->esp);
	if (p)
		return fill(ctx, pr, p, disk, ret);
	return sf_err(ctx, -ENOENT, "no partition with %s on %s", cfg->esp,
		      disk);
}

/* The ESP as a partition device: its whole disk's table has the rest. */
static int find_by_device(const struct sf_ctx *ctx, const struct sf_config *cfg,
			  struct sf_esp *ret)
{
	__attribute__((cleanup(blkid_free_probep))) blkid_probe pr = NULL;
	char dev[4096], name[256], disk[300];
	blkid_partlist ls;
	blkid_partition p;
	dev_t whole;
	struct stat st;
	int r;

	r = sf_config_resolve_device(ctx, cfg->esp, dev, sizeof(dev));
	if (r < 0)
		return r;
	if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
		return sf_err(ctx, -ENOENT,
			      "esp = %s: %s is not a partition device (in a "
			      "test root, set esp-disk)",
			      cfg->esp, dev);
	if (blkid_devno_to_wholedisk(st.st_rdev, name, sizeof(name), &whole))
		return sf_err(ctx, -ENOENT, "cannot find the disk of %s", dev);
	snprintf(disk, sizeof(disk), "/dev/%s", name);
	r = open_table(ctx, disk, &pr, &ls);
	if (r < 0)
		return r;
	p = blkid_partlist_devno_to_partition(ls, st.st_rdev);
	if (!p)
		return sf_err(ctx, -ENOENT, "%s is not a partition of %s", dev,
			      disk);
	return fill(ctx, pr, p, disk, ret);
}

int sf_esp_find(const struct sf_ctx *ctx, const struct sf_config *cfg,
		struct sf_esp *ret)
{
	return cfg->esp_disk[0] ? find_in_disk(ctx, cfg, ret)
				: find_by_device(ctx, cfg, ret);
}

void sf_boot_entry_description(uint8_t slot, char buf[16])
{
	snprintf(buf, 16, "slotflip %s", sf_slot_name(slot));
}

void sf_boot_entry_expected(const struct sf_config *cfg,
			    const struct sf_esp *esp, uint8_t slot,
			    struct efi_load_option *ret)
{
	struct efi_load_option o = { .attributes = LOAD_OPTION_ACTIVE };
	char desc[16];

	sf_boot_entry_description(slot, desc);
	snprintf(o.description, sizeof(o.description), "%s", desc);
	o.part_number = esp->part_number;
	o.part_start = esp->start;
	o.part_size = esp->size;
	memcpy(o.part_guid, esp->guid, sizeof(o.part_guid));
	snprintf(o.path, sizeof(o.path), "%s", cfg->slot[slot].efi);
	for (char *c = o.path; *c; c++)
		if (*c == '/')
			*c = '\\';
	*ret = o;
}

/* The description of a load option: ASCII of its UCS-2, "" if not. */
static void description_of(const uint8_t *buf, size_t len, char *out,
			   size_t cap)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; 6 + 2 * i + 1 < len && i + 1 < cap; i++) {
		uint16_t c = le16_load(buf + 6 + 2 * i);

		if (c == 0)
			break;
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

/* How @got (NULL: it does not decode) differs from @want. */
static void explain(const struct efi_load_option *got,
		    const struct efi_load_option *want, char *detail,
		    size_t size)
{
	if (!got)
		snprintf(detail, size, "its device path is not HD()/File()");
	else if (got->attributes != want->attributes)
		snprintf(detail, size, "attributes 0x%x, want 0x%x",
			 got->attributes, want->attributes);
	else if (strcmp(got->path, want->path))
		snprintf(detail, size, "starts %s, want %s", got->path,
			 want->path);
	else if (got->part_number != want->part_number ||
		 got->part_start != want->part_start ||
		 got->part_size != want->part_size ||
		 memcmp(got->part_guid, want->part_guid, 16))
		snprintf(detail, size,
			 "names partition %u (start %llu, %llu blocks), not "
			 "the ESP",
			 got->part_number, (unsigned long long)got->part_start,
			 (unsigned long long)got->part_size);
	else
		snprintf(detail, size, "description or extra bytes differ");
}

enum sf_entry_state sf_boot_entry_compare(const uint8_t *have, int have_len,
					  const uint8_t *want, size_t want_len,
					  const struct efi_load_option *opt,
					  char *detail, size_t size)
{
	struct efi_load_option got;
	bool decoded;
	char desc[128];

	detail[0] = '\0';
	if (have_len < 0)
		return snprintf(detail, size, "absent"), SF_ENTRY_MISSING;
	if ((size_t)have_len == want_len && !memcmp(have, want, want_len))
		return SF_ENTRY_OK;
	description_of(have, (size_t)have_len, desc, sizeof(desc));
	decoded = efi_load_option_decode(NULL, have, (size_t)have_len, &got) ==
		  0;
	if (!strncmp(desc, "slotflip ", 9) ||
	    (decoded && !strcasecmp(got.path, opt->path))) {
		explain(decoded ? &got : NULL, opt, detail, size);
		return SF_ENTRY_ALTERED;
	}
	snprintf(detail, size, "holds another entry (\"%s\")", desc);
	return SF_ENTRY_FOREIGN;
}

const char *sf_entry_state_name(enum sf_entry_state s)
{
	static const char *const n[] = { "ok", "missing", "altered",
					 "foreign" };

	return (unsigned)s < ARRAY_SIZE(n) ? n[s] : "unknown";
}
