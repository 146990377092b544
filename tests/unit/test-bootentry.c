// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>

#include "bootentry.h"
#include "testlib.h"
#include "util.h"

static void sample(struct sf_config *cfg, struct sf_esp *esp)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->slot[0].efi, "/EFI/slotflip/a/linux.efi");
	strcpy(cfg->slot[1].efi, "/EFI/b.efi");
	*esp = (struct sf_esp){ .part_number = 1,
				.start = 2048,
				.size = 409600,
				.sector_size = 512 };
	CHECK_EQ(efi_guid_parse("01234567-89ab-cdef-0123-456789abcdef",
				esp->guid),
		 0);
}

TEST(expected_entry)
{
	struct sf_config cfg;
	struct sf_esp esp;
	struct efi_load_option o;

	sample(&cfg, &esp);
	sf_boot_entry_expected(&cfg, &esp, 0, &o);
	CHECK_EQ(o.attributes, LOAD_OPTION_ACTIVE);
	CHECK_STREQ(o.description, "slotflip a");
	CHECK_STREQ(o.path, "\\EFI\\slotflip\\a\\linux.efi");
	CHECK_EQ(o.part_number, 1);
	CHECK_EQ(o.part_start, 2048);
	CHECK_EQ(o.part_size, 409600);
	/* EFI_GUID byte order: the first three fields little-endian. */
	CHECK_EQ(o.part_guid[0], 0x67);
	CHECK_EQ(o.part_guid[3], 0x01);
	CHECK_EQ(o.part_guid[4], 0xab);
	CHECK_EQ(o.part_guid[8], 0x01);
	sf_boot_entry_expected(&cfg, &esp, 1, &o);
	CHECK_STREQ(o.description, "slotflip b");
	CHECK_STREQ(o.path, "\\EFI\\b.efi");
}

struct pair {
	struct efi_load_option opt;
	uint8_t want[1024], have[1024];
	int want_len, have_len;
	char detail[256];
};

static void make_pair(struct pair *p)
{
	struct sf_config cfg;
	struct sf_esp esp;

	sample(&cfg, &esp);
	sf_boot_entry_expected(&cfg, &esp, 0, &p->opt);
	p->want_len = efi_load_option_encode(&p->opt, p->want, sizeof(p->want));
	CHECK(p->want_len > 0);
	memcpy(p->have, p->want, (size_t)p->want_len);
	p->have_len = p->want_len;
}

static enum sf_entry_state compare(struct pair *p)
{
	return sf_boot_entry_compare(p->have, p->have_len, p->want,
				     (size_t)p->want_len, &p->opt, p->detail,
				     sizeof(p->detail));
}

TEST(compare_ok_missing)
{
	struct pair p;

	make_pair(&p);
	CHECK_EQ(compare(&p), SF_ENTRY_OK);
	p.have_len = -1;
	CHECK_EQ(compare(&p), SF_ENTRY_MISSING);
	CHECK_STREQ(sf_entry_state_name(SF_ENTRY_MISSING), "missing");
}

TEST(compare_altered)
{
	struct pair p;
	struct efi_load_option o;

	make_pair(&p);
	p.have[0] = 0; /* inactive */
	CHECK_EQ(compare(&p), SF_ENTRY_ALTERED);
	CHECK(strstr(p.detail, "attributes 0x0, want 0x1"));
	/* Another partition start, same description. */
	make_pair(&p);
	o = p.opt;
	o.part_start = 4096;
	p.have_len = efi_load_option_encode(&o, p.have, sizeof(p.have));
	CHECK_EQ(compare(&p), SF_ENTRY_ALTERED);
	CHECK(strstr(p.detail, "start 4096"));
	/* Renamed by the firmware, but it still starts our file: ours. */
	o = p.opt;
	strcpy(o.description, "Linux Boot Manager");
	p.have_len = efi_load_option_encode(&o, p.have, sizeof(p.have));
	CHECK_EQ(compare(&p), SF_ENTRY_ALTERED);
	CHECK(strstr(p.detail, "description"));
	/* slotflip's entry of the other slot at this number: ours. */
	o = p.opt;
	strcpy(o.description, "slotflip b");
	strcpy(o.path, "\\EFI\\b.efi");
	p.have_len = efi_load_option_encode(&o, p.have, sizeof(p.have));
	CHECK_EQ(compare(&p), SF_ENTRY_ALTERED);
	CHECK(strstr(p.detail, "starts \\EFI\\b.efi"));
	/* Optional data appended: ours, altered. */
	make_pair(&p);
	memcpy(p.have + p.want_len, "x\0", 2);
	p.have_len += 2;
	CHECK_EQ(compare(&p), SF_ENTRY_ALTERED);
}

TEST(compare_foreign)
{
	struct pair p;
	struct efi_load_option o;
	/* "Shell" with a firmware-volume file node: not HD()/File(). */
	static const uint8_t shell[] = {
		1,  0,	 0,  0,	  24, 0,    'S',  0,	'h',  0,    'e',
		0,  'l', 0,  'l', 0,  0,    0,	  0x04, 0x06, 0x14, 0x00,
		1,  2,	 3,  4,	  5,  6,    7,	  8,	9,    10,   11,
		12, 13,	 14, 15,  16, 0x7f, 0xff, 0x04, 0x00,
	};

	make_pair(&p);
	memcpy(p.have, shell, sizeof(shell));
	p.have_len = (int)sizeof(shell);
	CHECK_EQ(compare(&p), SF_ENTRY_FOREIGN);
	CHECK(strstr(p.detail, "holds another entry (\"Shell\")"));
	/* Another OS's HD()/File() entry. */
	o = p.opt;
	strcpy(o.description, "debian");
	strcpy(o.path, "\\EFI\\debian\\shimx64.efi");
	p.have_len = efi_load_option_encode(&o, p.have, sizeof(p.have));
	CHECK_EQ(compare(&p), SF_ENTRY_FOREIGN);
	/* Garbage of a few bytes. */
	p.have_len = 3;
	CHECK_EQ(compare(&p), SF_ENTRY_FOREIGN);
}

TEST(esp_in_disk_errors)
{
	struct sf_config cfg;
	struct sf_esp esp;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.esp_disk, "/missing.img");
	strcpy(cfg.esp, "/dev/sda1");
	CHECK_EQ(sf_esp_find(&test_ctx, &cfg, &esp), -EINVAL);
	CHECK_LOG("name the ESP by PARTLABEL= or PARTUUID=");
	strcpy(cfg.esp, "PARTLABEL=esp");
	CHECK_EQ(sf_esp_find(&test_ctx, &cfg, &esp), -ENOENT);
	CHECK_LOG("cannot open the ESP's disk");
	/* A file without a partition table. */
	test_write_file("plain.img", "0123456789", 10);
	strcpy(cfg.esp_disk, "/plain.img");
	CHECK_EQ(sf_esp_find(&test_ctx, &cfg, &esp), -EMEDIUMTYPE);
	CHECK_LOG("has no GPT partition table");
}

TEST(config_esp_disk)
{
	static const char text[] = "compatible = c\npubkey = /k.pub\n"
				   "data = /data\nesp = PARTLABEL=esp\n"
				   "esp-disk = /disk.img\n"
				   "[slot a]\ndevice = /a\nefi = /a.efi\n"
				   "boot-entry = 1\n[slot b]\ndevice = /b\n"
				   "efi = /b.efi\nboot-entry = 2\n";
	struct sf_config cfg;

	CHECK_EQ(sf_config_parse(&test_ctx, "c.conf", text, strlen(text), &cfg),
		 0);
	CHECK_STREQ(cfg.esp_disk, "/disk.img");
	CHECK_STREQ(cfg.esp, "PARTLABEL=esp");
}
