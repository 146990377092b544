// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>

#include "booted.h"
#include "efivar.h"
#include "testlib.h"

static const struct sf_config cfg = {
	.slot = { { .boot_entry = 0x0001 }, { .boot_entry = 0x0002 } },
};

static void cmdline(const char *text)
{
	CHECK_EQ(system("mkdir -p proc sys/firmware/efi/efivars"), 0);
	test_write_file("proc/cmdline", text, strlen(text));
}

static void bootcurrent(uint16_t entry)
{
	uint8_t v[2] = { (uint8_t)entry, (uint8_t)(entry >> 8) };

	CHECK_EQ(system("mkdir -p sys/firmware/efi/efivars"), 0);
	CHECK(efivar_write(&test_ctx, "BootCurrent", EFI_GLOBAL_GUID,
			   EFI_VARIABLE_NV_BS_RT, v, 2) >= 0);
}

TEST(command_line_alone)
{
	cmdline("root=/dev/sda2 slotflip.slot=b quiet\n");
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 1);
	cmdline("slotflip.slot=a\n");
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 0);
}

TEST(bootcurrent_alone)
{
	cmdline("quiet\n");
	bootcurrent(0x0002);
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 1);
	bootcurrent(0x0001);
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 0);
}

/* One image serves either slot: its command line may name the other one.
 * The entry that ran wins, with a warning. */
TEST(disagreement_trusts_bootcurrent)
{
	cmdline("slotflip.slot=a\n");
	bootcurrent(0x0002);
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 1);
	CHECK_LOG("the kernel command line says slot a, BootCurrent "
		  "(Boot0002) says slot b: trusting BootCurrent, the entry "
		  "that ran");
	/* Two slotflip.slot= (the last one wins) against BootCurrent. */
	test_log_buf[0] = '\0';
	cmdline("slotflip.slot=a slotflip.slot=b\n");
	bootcurrent(0x0001);
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 0);
	CHECK_LOG("the kernel command line says slot b, BootCurrent "
		  "(Boot0001) says slot a: trusting BootCurrent");
}

/* Booted through an entry that is not a slot's (the removable-media
 * path, a boot menu): the command line tells, without a warning. */
TEST(bootcurrent_of_no_slot_leaves_the_command_line)
{
	cmdline("slotflip.slot=b\n");
	bootcurrent(0x0003);
	test_log_buf[0] = '\0';
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), 1);
	CHECK_EQ(test_log_buf[0], '\0');
}

TEST(neither_tells)
{
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), -ENOENT);
	cmdline("slotflip.slot=c\n");
	bootcurrent(0x0007); /* not a slot's entry */
	CHECK_EQ(sf_booted_slot(&test_ctx, &cfg), -ENOENT);
}
