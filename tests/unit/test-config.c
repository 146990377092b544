// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "testlib.h"

static const char good[] = "# a device\n"
			   "compatible = acme-gw\n"
			   "pubkey = /etc/slotflip/a.pub\n"
			   "pubkey=/etc/slotflip/b.pub   # second key\n"
			   "threshold = 2\n"
			   "data = PARTLABEL=data\n"
			   "esp = PARTLABEL=esp\n"
			   "\n"
			   "[slot a]\n"
			   "device = PARTLABEL=root-a\n"
			   "efi = /EFI/slotflip/a/linux.efi\n"
			   "boot-entry = 0001\n"
			   "[slot b]\n"
			   "  device = /dev/vda3\r\n"
			   "efi = /EFI/slotflip/b/linux.efi\n"
			   "boot-entry = 1A\n";

static int parse(const char *text, struct sf_config *c)
{
	test_log_buf[0] = 0;
	return sf_config_parse(&test_ctx, "t.conf", text, strlen(text), c);
}

TEST(parses_a_full_config)
{
	struct sf_config c;

	CHECK_EQ(parse(good, &c), 0);
	CHECK_STREQ(c.compatible, "acme-gw");
	CHECK_EQ(c.n_pubkeys, 2);
	CHECK_STREQ(c.pubkeys[1], "/etc/slotflip/b.pub");
	CHECK_EQ(c.threshold, 2);
	CHECK_EQ(c.tries, 3);
	CHECK_EQ(c.trial_deadline_s, 600);
	CHECK_STREQ(c.data_dir, "/run/slotflip/data");
	CHECK_STREQ(c.esp_dir, "/run/slotflip/esp");
	CHECK_STREQ(c.slot[0].device, "PARTLABEL=root-a");
	CHECK_STREQ(c.slot[1].device, "/dev/vda3");
	CHECK_EQ(c.slot[1].boot_entry, 0x1a);
}

/* @text with line @n replaced by @line must be refused naming @msg. */
static void refused(const char *replace, const char *with, const char *msg)
{
	char text[2048], *p;
	struct sf_config c;

	strcpy(text, good);
	p = strstr(text, replace);
	CHECK(p != NULL);
	memmove(p + strlen(with), p + strlen(replace),
		strlen(p + strlen(replace)) + 1);
	memcpy(p, with, strlen(with));
	CHECK_EQ(parse(text, &c), -EINVAL);
	CHECK_LOG(msg);
}

TEST(trial_deadline_is_read)
{
	char text[2048];
	struct sf_config c;

	snprintf(text, sizeof(text), "trial-deadline = 60\n%s", good);
	CHECK_EQ(parse(text, &c), 0);
	CHECK_EQ(c.trial_deadline_s, 60);
	snprintf(text, sizeof(text), "trial-deadline=86400\n%s", good);
	CHECK_EQ(parse(text, &c), 0);
	CHECK_EQ(c.trial_deadline_s, 86400);
}

TEST(refusals_name_the_line)
{
	refused("threshold = 2", "tires = 3",
		"t.conf:5: unknown key \"tires\"");
	refused("threshold = 2", "tries = 0",
		"t.conf:5: tries must be a number from 1 to 100");
	refused("threshold = 2", "tries = 3x", "t.conf:5: tries must be");
	refused("threshold = 2", "trial-deadline = 59",
		"t.conf:5: trial-deadline must be a number of seconds from 60 "
		"to 86400, not \"59\"");
	refused("threshold = 2", "trial-deadline = 86401",
		"t.conf:5: trial-deadline must be a number of seconds");
	refused("threshold = 2", "trial-deadline = 10m",
		"t.conf:5: trial-deadline must be a number of seconds");
	refused("threshold = 2", "threshold = 3",
		"threshold 3 is above the 2 pubkey lines");
	refused("threshold = 2", "just words",
		"t.conf:5: expected \"key = value\"");
	refused("threshold = 2", "threshold =", "t.conf:5: empty key or value");
	refused("compatible = acme-gw", "compatible = acme gw",
		"t.conf:2: compatible must be");
	refused("[slot b]", "[slot c]", "t.conf:13: unknown section [slot c]");
	refused("boot-entry = 1A", "boot-entry = 12345",
		"t.conf:16: boot-entry must be 1 to 4 hex");
	refused("boot-entry = 1A", "boot-entry = 0001",
		"both slots name boot entry 0001");
	refused("boot-entry = 1A", "colour = red",
		"t.conf:16: unknown key \"colour\" in [slot b]");
	refused("efi = /EFI/slotflip/b/linux.efi\n", "",
		"efi is missing in [slot b]");
	refused("compatible = acme-gw\n", "", "compatible is missing");
	refused("data = PARTLABEL=data", "esp = x",
		"t.conf:7: esp given twice");
}

TEST(nul_byte_refused)
{
	struct sf_config c;

	CHECK_EQ(sf_config_parse(&test_ctx, "t.conf", "a\0b", 3, &c), -EINVAL);
	CHECK_LOG("contains a NUL byte");
}

TEST(load_from_root_and_missing_file)
{
	struct sf_config c;

	CHECK_EQ(system("mkdir -p etc/slotflip"), 0);
	CHECK_EQ(sf_config_load(&test_ctx, SF_CONFIG_PATH, &c), -ENOENT);
	CHECK_LOG("cannot read config file ./etc/slotflip/slotflip.conf");
	test_write_file("etc/slotflip/slotflip.conf", good, strlen(good));
	CHECK_EQ(sf_config_load(&test_ctx, SF_CONFIG_PATH, &c), 0);
	CHECK_STREQ(c.compatible, "acme-gw");
}

TEST(resolve_devices)
{
	char buf[256];

	CHECK_EQ(sf_config_resolve_device(&test_ctx, "/dev/vda3", buf,
					  sizeof(buf)),
		 0);
	CHECK_STREQ(buf, "./dev/vda3");
	CHECK_EQ(sf_config_resolve_device(&test_ctx,
					  "PARTLABEL=no-such-label-here", buf,
					  sizeof(buf)),
		 -ENOENT);
	CHECK_LOG("no partition with PARTLABEL=no-such-label-here");
	CHECK_EQ(sf_config_resolve_device(&test_ctx, "LABEL=x", buf,
					  sizeof(buf)),
		 -EINVAL);
	CHECK_EQ(sf_config_resolve_device(&test_ctx, "/xyz", buf, 4),
		 -ENAMETOOLONG);
}
