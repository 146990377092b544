#!/bin/bash
# slotflip-init outside the initramfs: without --root it refuses to run
# unless it is PID 1 (it would mount and reboot the machine), and says
# what to do. The PID-1 mode itself is tested by booting it in QEMU
# (tests/qemu/).
. "$(dirname "$0")/lib.sh"

test_refuses_boot_mode_unless_pid1() {
	expect_fail 2 "give --root DIR (the boot mode runs only as PID 1, in the initramfs)" \
		"$SF_BIN/slotflip-init"
	[ ! -e out.txt ] || [ ! -s out.txt ] || fail "printed on stdout: $(cat out.txt)"
}

test_help_describes_the_boot_mode() {
	"$SF_BIN/slotflip-init" --help >help.txt
	grep -q "Run by the kernel as PID 1" help.txt || fail "no PID-1 text in --help"
	grep -q "/etc/slotflip/modules" help.txt || fail "--help does not name the module list"
}

run_cases
