// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "testlib.h"
#include "util.h"

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

/* Parse @good with @replace replaced by @with. */
static int parse_with(const char *replace, const char *with,
		      struct sf_config *c)
{
	char text[2048], *p;

	strcpy(text, good);
	p = strstr(text, replace);
	CHECK(p != NULL);
	memmove(p + strlen(with), p + strlen(replace),
		strlen(p + strlen(replace)) + 1);
	memcpy(p, with, strlen(with));
	return parse(text, c);
}

/* @good with @replace replaced by @with must be refused naming @msg. */
static void refused(const char *replace, const char *with, const char *msg)
{
	struct sf_config c;

	CHECK_EQ(parse_with(replace, with, &c), -EINVAL);
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

/* strtoul() takes signs, blanks and a 0x prefix: none is a boot entry or
 * a count here ("-1" was taken as FFFF, "-FFE" as F002). */
TEST(signs_and_prefixes_refused)
{
	static const char *const entries[] = { "-1",   "-FFE", "0x2", "+2",
					       "0X1A", "- 1",  "1 A", "" };
	static const char *const counts[] = { "+3",  "-1",  "0x3", "3.0",
					      "- 3", "1e2", "03x" };
	char line[64], msg[128];

	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		snprintf(line, sizeof(line), "boot-entry = %s", entries[i]);
		snprintf(msg, sizeof(msg),
			 "t.conf:16: boot-entry must be 1 to 4 hex digits "
			 "(the #### of Boot####), not \"%s\"",
			 entries[i]);
		if (!entries[i][0]) /* "key =": no value at all */
			snprintf(msg, sizeof(msg), "t.conf:16: empty key");
		refused("boot-entry = 1A", line, msg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		snprintf(line, sizeof(line), "tries = %s", counts[i]);
		snprintf(msg, sizeof(msg),
			 "t.conf:5: tries must be a number from 1 to 100, "
			 "not \"%s\"",
			 counts[i]);
		refused("threshold = 2", line, msg);
		snprintf(line, sizeof(line), "threshold = %s", counts[i]);
		snprintf(msg, sizeof(msg),
			 "t.conf:5: threshold must be a number from 1 to 8, "
			 "not \"%s\"",
			 counts[i]);
		refused("threshold = 2", line, msg);
	}
	refused("threshold = 2", "tries = 101", "t.conf:5: tries must be");
	refused("threshold = 2", "tries = 99999999999999999999999",
		"t.conf:5: tries must be");
}

/* What the refusals above must not catch: 1 to 4 digits of either case,
 * leading zeros, the edges of the ranges. */
TEST(plain_digits_accepted)
{
	static const struct {
		const char *v;
		unsigned want;
	} entries[] = { { "a", 0xa }, { "00b0", 0xb0 }, { "FfFf", 0xffff } },
	  tries[] = { { "1", 1 }, { "007", 7 }, { "100", 100 } };
	char line[64];
	struct sf_config c;

	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		snprintf(line, sizeof(line), "boot-entry = %s", entries[i].v);
		CHECK_EQ(parse_with("boot-entry = 1A", line, &c), 0);
		CHECK_EQ(c.slot[1].boot_entry, entries[i].want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
		snprintf(line, sizeof(line), "tries = %s", tries[i].v);
		CHECK_EQ(parse_with("threshold = 2", line, &c), 0);
		CHECK_EQ(c.tries, tries[i].want);
	}
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

/* A FIFO in the config's place is refused at once (slotflip-init reads it
 * as PID 1): no wait for a writer. */
TEST(load_refuses_a_fifo_without_blocking)
{
	struct sf_config c;

	alarm(5);
	CHECK_EQ(system("mkdir -p etc/slotflip"), 0);
	CHECK_EQ(mkfifo("etc/slotflip/slotflip.conf", 0644), 0);
	CHECK_EQ(sf_config_load(&test_ctx, SF_CONFIG_PATH, &c), -EINVAL);
	CHECK_LOG("config file ./etc/slotflip/slotflip.conf: not a regular "
		  "file");
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

TEST(same_device_compares_devices_and_files)
{
	struct stat a = { .st_mode = S_IFBLK | 0600, .st_rdev = makedev(8, 2) };
	struct stat b = a;

	/* Two nodes of one block device (/dev/sda2, a link in
	 * /dev/disk/by-partlabel): their own inodes, one st_rdev. */
	a.st_ino = 10;
	b.st_ino = 11;
	CHECK(sf_same_device(&a, &b));
	b.st_rdev = makedev(8, 3);
	CHECK(!sf_same_device(&a, &b));
	/* Regular files (slots in tests): one inode of one filesystem. */
	a = (struct stat){ .st_mode = S_IFREG, .st_dev = 5, .st_ino = 7 };
	b = a;
	CHECK(sf_same_device(&a, &b));
	b.st_ino = 8;
	CHECK(!sf_same_device(&a, &b));
	b.st_ino = 7;
	b.st_dev = 6;
	CHECK(!sf_same_device(&a, &b));
	/* A file and a block device are never one device. */
	b = (struct stat){
		.st_mode = S_IFBLK, .st_dev = 5, .st_ino = 7, .st_rdev = 5
	};
	CHECK(!sf_same_device(&a, &b));
}

/* A config whose slots are @a and @b. */
static struct sf_config slots(const char *a, const char *b)
{
	struct sf_config c;

	CHECK_EQ(parse(good, &c), 0);
	snprintf(c.slot[0].device, sizeof(c.slot[0].device), "%s", a);
	snprintf(c.slot[1].device, sizeof(c.slot[1].device), "%s", b);
	test_log_buf[0] = '\0';
	return c;
}

/* Both slots on one device: an update would overwrite the running slot. */
TEST(slots_on_one_device_refused)
{
	struct sf_config c;

	c = slots("/dev/vda2", "/dev/vda2"); /* need not exist */
	CHECK_EQ(sf_config_check_slots(&test_ctx, &c), -EINVAL);
	CHECK_LOG("t.conf: [slot a] (device = /dev/vda2) and [slot b] "
		  "(device = /dev/vda2) are one device, /dev/vda2: an update "
		  "of the spare slot would overwrite the running one; fix the "
		  "config: give each slot its own partition");
	/* A path and a link to it. */
	CHECK_EQ(system("mkdir -p dev && truncate -s 1M dev/vda2 && "
			"ln -s vda2 dev/root-b"),
		 0);
	c = slots("/dev/vda2", "/dev/root-b");
	CHECK_EQ(sf_config_check_slots(&test_ctx, &c), -EINVAL);
	CHECK_LOG("[slot a] (device = /dev/vda2) and [slot b] (device = "
		  "/dev/root-b) are one device, ./dev/vda2");
}

/* PARTLABEL= and PARTUUID= of one partition, found in sysfs and the
 * partition table under the root. */
TEST(partlabel_and_partuuid_of_one_partition_refused)
{
	struct sf_config c;

	test_gpt_disk();
	CHECK_EQ(system("truncate -s 1M dev/sdx2 dev/sdx4"), 0);
	c = slots("PARTLABEL=root-a",
		  "PARTUUID=5f1e0000-0000-4000-8000-000000000002");
	CHECK_EQ(sf_config_check_slots(&test_ctx, &c), -EINVAL);
	CHECK_LOG("[slot a] (device = PARTLABEL=root-a) and [slot b] (device "
		  "= PARTUUID=5f1e0000-0000-4000-8000-000000000002) are one "
		  "device, ./dev/sdx2");
	/* Two partitions: fine. */
	c = slots("PARTLABEL=root-a", "PARTLABEL=data");
	CHECK_EQ(sf_config_check_slots(&test_ctx, &c), 0);
	/* A slot not there (yet): not compared, not logged; whoever needs
	 * the device says it is missing. */
	c = slots("PARTLABEL=root-a", "PARTLABEL=no-such");
	CHECK_EQ(sf_config_check_slots(&test_ctx, &c), 0);
	CHECK_EQ(test_log_buf[0], '\0');
	c = slots("/dev/sdx2", "/dev/nothing");
	CHECK_EQ(sf_config_check_slots(&test_ctx, &c), 0);
}

static const char server[] = "[server]\n"
			     "url = https://updates.example.com/acme\n"
			     "product = acme\n"
			     "channel = beta-2\n"
			     "repo-keys = /etc/slotflip/repo-keys\n"
			     "ca = /etc/slotflip/ca.pem\n"
			     "limit-rate = 100000\n"
			     "stall-timeout = 30\n";

/* @good, then [server] of @server with @replace replaced by @with. */
static int parse_server(const char *replace, const char *with,
			struct sf_config *c)
{
	char text[4096], *p;

	snprintf(text, sizeof(text), "%s%s", good, server);
	p = strstr(text, replace);
	CHECK(p != NULL);
	memmove(p + strlen(with), p + strlen(replace),
		strlen(p + strlen(replace)) + 1);
	memcpy(p, with, strlen(with));
	return parse(text, c);
}

static void server_refused(const char *replace, const char *with,
			   const char *msg)
{
	struct sf_config c;

	CHECK_EQ(parse_server(replace, with, &c), -EINVAL);
	CHECK_LOG(msg);
}

TEST(server_section_is_read)
{
	struct sf_config c;

	CHECK_EQ(parse(good, &c), 0);
	CHECK(!c.server.present);
	CHECK_EQ(parse_server("", "", &c), 0);
	CHECK(c.server.present);
	CHECK_STREQ(c.server.url, "https://updates.example.com/acme");
	CHECK_STREQ(c.server.product, "acme");
	CHECK_STREQ(c.server.channel, "beta-2");
	CHECK_STREQ(c.server.repo_keys, "/etc/slotflip/repo-keys");
	CHECK_STREQ(c.server.ca, "/etc/slotflip/ca.pem");
	CHECK_EQ(c.server.limit_rate, 100000);
	CHECK_EQ(c.server.stall_timeout, 30);
	CHECK_EQ(c.server.connect_timeout, 0);
	CHECK(!c.server.allow_http && !c.server.allow_file);
	CHECK(!c.server.reboot); /* the default: fetch never reboots */
	/* The slots' keys are still the slots'. */
	CHECK_EQ(c.slot[1].boot_entry, 0x1a);
	CHECK_EQ(parse_server("url = https://updates.example.com/acme",
			      "url = file:///media/repo\nallow-file = yes", &c),
		 0);
	CHECK(c.server.allow_file);
	CHECK_EQ(parse_server("url = https://updates.example.com/acme",
			      "url = http://10.0.0.1/r\nallow-http = yes", &c),
		 0);
	CHECK_EQ(parse_server("ca = /etc/slotflip/ca.pem",
			      "ca = c\ncert = c.pem\nkey = c.key", &c),
		 0);
	CHECK_STREQ(c.server.key, "c.key");
	CHECK_EQ(parse_server("stall-timeout = 30", "reboot = yes", &c), 0);
	CHECK(c.server.reboot);
	CHECK_EQ(parse_server("stall-timeout = 30", "reboot = no", &c), 0);
	CHECK(!c.server.reboot);
}

TEST(server_refusals_name_the_line)
{
	server_refused("url = https://updates.example.com/acme",
		       "url = http://updates.example.com/acme",
		       "[server] url \"http://updates.example.com/acme\": give "
		       "https://HOST/PATH; http:// needs allow-http = yes");
	server_refused("url = https://updates.example.com/acme",
		       "url = file:///media/repo", "file:///PATH allow-file");
	server_refused("url = https://updates.example.com/acme",
		       "url = ftp://x/y", "[server] url \"ftp://x/y\"");
	server_refused("url = https://updates.example.com/acme",
		       "url = https://", "[server] url \"https://\"");
	server_refused("url = https://updates.example.com/acme\n", "",
		       "url is missing in [server]");
	server_refused("product = acme\n", "",
		       "product is missing in [server]");
	server_refused("channel = beta-2\n", "", "channel is missing");
	server_refused("repo-keys = /etc/slotflip/repo-keys\n", "",
		       "repo-keys is missing in [server]");
	server_refused("ca = /etc/slotflip/ca.pem\n", "",
		       "ca is missing in [server] (https trusts only the "
		       "pinned CA)");
	server_refused("ca = /etc/slotflip/ca.pem", "ca = a\ncert = c.pem",
		       "[server] cert and key go together");
	server_refused("channel = beta-2", "channel = Beta",
		       "t.conf:20: channel must be 1 to 31 characters from "
		       "[a-z0-9-], not \"Beta\"");
	server_refused("product = acme", "product = acme_gw",
		       "t.conf:19: product must be 1 to 63 characters");
	server_refused("limit-rate = 100000", "limit-rate = 1k",
		       "t.conf:23: limit-rate must be a number from 1 to");
	server_refused("stall-timeout = 30", "allow-http = 1",
		       "t.conf:24: allow-http must be yes or no, not \"1\"");
	server_refused("stall-timeout = 30", "reboot = true",
		       "t.conf:24: reboot must be yes or no, not \"true\"");
	server_refused("stall-timeout = 30", "reboot = yes\nreboot = no",
		       "t.conf:25: reboot given twice");
	server_refused("stall-timeout = 30", "pubkey = x",
		       "t.conf:24: unknown key \"pubkey\" in [server]");
	server_refused("stall-timeout = 30", "channel = a",
		       "t.conf:24: channel given twice");
	server_refused("stall-timeout = 30", "[servers]",
		       "unknown section [servers] (sections: [slot a], "
		       "[slot b], [server])");
}
