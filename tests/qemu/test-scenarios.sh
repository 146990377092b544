#!/bin/bash
# Boot scenarios in QEMU with OVMF and a real Debian kernel (cloud flavour;
# tries = 2). Each asserts on the serial log and on the varstore.
. "$(dirname "$0")/lib.sh"

# A plain boot of A with nothing staged: the first boot records the state
# (slot a good); the next one writes no EFI variable of slotflip's.
test_plain_boot_writes_nothing() {
	build_world cloud 2
	machine
	boot
	log_has "slotflip-init: booted slot a; nothing staged"
	# /sbin/init is an absolute link, resolved in the slot's root; the
	# root is read-only without "rw" on the command line.
	log_has "switching root to slot a \(/sbin/init -> /usr/lib/sftest/init, read-only\)"
	log_has "SFTEST: up slot=a version=1.0 .*root=ro"
	log_lacks "SFTEST: the ESP is mounted"
	expect_state good a
	expect_state b.status invalid
	cp vars.fd vars-before.fd
	our_vars >before.txt
	boot
	log_has "SFTEST: up slot=a version=1.0"
	our_vars >after.txt
	diff before.txt after.txt >&2 || fail "a plain boot changed slotflip's EFI variables"
	"$VARS_TOOL" vars-before.fd dump >all-before.txt
	vars dump >all-after.txt
	echo "  variables the firmware itself changed:" \
		"$(diff all-before.txt all-after.txt | sed -n 's/^> \([^-]*\)-.*/\1/p' | tr '\n' ' ')" >&2
}

# Scenario 2: an image signed by a key the device does not trust (staged
# by bypassing the staging check) is refused at boot; A boots; the state
# and the console say why, and so does `slotflip status` in A (the user's
# side).
test_bad_signature_refused() {
	build_world cloud 2
	machine_data() {
		mkdir -p data/sftest
		echo 'slotflip status' >data/sftest/once.sh
	}
	machine "$W/img-2.0-rogue"
	unset -f machine_data
	boot
	log_has "staged image refused: .*(key|signature)"
	log_has "SFTEST: up slot=a version=1.0"
	log_has "SFTEST: running the test's once.sh"
	sed -n "/running the test's once.sh/,/SFTEST: powering off/p" "$LOG" >status.txt
	grep -q "refused" status.txt || fail "status does not show the refusal"
	grep -q "signatures from 0 of the 1 trusted keys" status.txt ||
		fail "status does not show the reason"
	# The ESP, mounted for the apply's checks, is unmounted before the
	# system starts.
	log_lacks "SFTEST: the ESP is mounted"
	expect_state result refused
	state reason | grep -Eq "key|signature" || fail "reason: $(state reason)"
	expect_state good a
	expect_state b.status invalid
	expect_absent BootNext
}

# Scenario 6: a signed image older than the running version is refused.
test_downgrade_refused() {
	build_world cloud 2
	machine "$W/img-0.9"
	vars state-init a 1.0
	boot
	log_has "staged image refused"
	log_has "SFTEST: up slot=a version=1.0"
	expect_state result refused
	state reason | grep -Eq "0\.9" || fail "reason: $(state reason)"
	expect_state b.status invalid
	expect_state a.version 1.0
}

# rm_init START: remove the test system's init (the target of its
# /sbin/init link) from the slot at sector START of disk.img.
rm_init() {
	dd if=disk.img of=slot.ext4 bs=512 skip="$1" count=$((SLOT_MIB * 2048)) \
		status=none
	debugfs -w -R "rm /usr/lib/sftest/init" slot.ext4 2>/dev/null
	dd if=slot.ext4 of=disk.img bs=512 seek="$1" conv=notrunc status=none
	rm -f slot.ext4
}

# PID 1 when the trial's init cannot run (its /sbin/init links to nothing):
# no retry helps, so the trial fails at once, with the reason, and the
# good slot boots.
test_trial_without_init_fails_at_once() {
	build_world cloud 2
	applied_machine scenarios-2.0 machine "$W/img-2.0"
	rm_init "$ROOTB_START"
	boot
	log_has "cannot boot slot b: its init /sbin/init cannot run: /usr/lib/sftest/init does not exist in the slot's root"
	log_has "falling back: BootNext = the good slot a"
	log_lacks "SFTEST: up"
	expect_state result trial-failed
	expect_state trial none
	expect_state b.status failed
	partition_file "$DATA_START" $((DATA_MIB * 2048)) /slotflip/last-result >last-result
	grep -q "^reason=slot b (version 2.0) cannot boot: its init /sbin/init cannot run" last-result ||
		fail "last-result: $(cat last-result)"
	boot
	log_has "booted slot a; nothing staged"
	log_has "SFTEST: up slot=a version=1.0"
}

# PID 1 when the good slot's init cannot run and no other slot can boot:
# it stops with the reason on the console and in last-result, instead of
# rebooting into the same failure for ever.
test_good_slot_without_init_stops() {
	build_world cloud 2
	machine
	vars state-init a 1.0
	rm_init "$ROOTA_START"
	boot_until "stopped, not rebooting"
	log_has "cannot boot slot a: its init /sbin/init cannot run: /usr/lib/sftest/init does not exist in the slot's root"
	log_lacks "rebooting in"
	log_lacks "SFTEST: up"
	expect_absent BootNext
	partition_file "$DATA_START" $((DATA_MIB * 2048)) /slotflip/last-result >last-result
	grep -qx "result=unbootable" last-result &&
		grep -qx "slot=a" last-result &&
		grep -q "^reason=slot a (version 1.0) cannot boot: its init /sbin/init cannot run: /usr/lib/sftest/init does not exist" last-result ||
		fail "last-result: $(cat last-result)"
}

# Scenario 3: B's kernel panics (its initramfs has no /init) before any
# slotflip code runs in it. One QEMU process follows every reset: after
# exactly `tries` (2) boots of B, A is good and B failed.
test_panicking_kernel_falls_back_after_tries() {
	build_world cloud 2
	machine "$W/img-2.0-panic"
	vars state-init a 1.0
	BOOT_LIMIT=$((BOOT_LIMIT * 3)) boot_rebooting
	log_has "trial armed with 2 tries"
	[ "$(count 'Kernel panic')" = 2 ] || fail "B panicked $(count 'Kernel panic') times, want 2"
	[ "$(count 'slotflip-init: starting')" = 3 ] ||
		fail "A's initramfs ran $(count 'slotflip-init: starting') times, want 3"
	log_has "retrying the trial of slot b \(0 tries left after this one\)"
	log_has "update failed: slot b \(version 2.0\) did not confirm its trial after 2 tries"
	[ "$(tail -n 20 "$LOG" | grep -c 'SFTEST: up slot=a version=1.0')" = 1 ] ||
		fail "A did not boot last"
	expect_state good a
	expect_state b.status failed
	expect_state trial none
	expect_state result trial-failed
	state reason | grep -q "after 2 tries" || fail "reason: $(state reason)"
}

# Scenario 5: power cuts during the apply (QEMU killed at a few points);
# every following boot still reaches A, and the last one finishes the
# apply (skipping what is already right) and B boots as the trial, its
# root read-write as its command line says ("rw"), without confirming.
test_power_cut_during_apply_resumes() {
	build_world cloud 2
	machine "$W/img-2.0"
	vars state-init a 1.0
	for at in "writing version 2.0 to slot b" "apply: 30%" "apply: 80%"; do
		boot_until "$at"
		expect_state good a
		expect_state b.status invalid
		expect_state trial none
		expect_absent BootNext
	done
	boot
	log_has "booted slot a; an update is staged"
	log_has "slot b written and read back"
	grep -o "[0-9]* chunks written, [0-9]* already right" "$LOG" >&2
	log_has "rebooting into slot b"
	expect_state trial b
	boot
	log_has "slotflip-init: booted slot b"
	# B's command line has "rw": its root is read-write.
	log_has "switching root to slot b \(/sbin/init -> /usr/lib/sftest/init, read-write\)"
	log_has "SFTEST: up slot=b version=2.0 .*root=rw"
	log_lacks "SFTEST: the ESP is mounted"
	expect_absent BootNext
	expect_state b.status trial
	expect_state trial b
	expect_state good a
}

# zero_partition START SECTORS: wipe a partition of disk.img (the host
# breaks a slot between two boots).
zero_partition() {
	dd if=/dev/zero of=disk.img bs=512 seek="$1" count="$2" conv=notrunc \
		status=none
}

# PID 1's fallback: the trial slot's root does not mount (wiped after the
# apply): its initramfs sends the machine back to the good slot.
test_unmountable_trial_root_falls_back_to_good() {
	build_world cloud 2
	applied_machine scenarios-2.0 machine "$W/img-2.0"
	zero_partition "$ROOTB_START" $((SLOT_MIB * 2048))
	boot
	log_has "slotflip-init: booted slot b; trial boot"
	log_has "cannot boot slot b: its root filesystem does not mount"
	log_has "falling back: BootNext = the good slot a"
	log_lacks "SFTEST: up"
	[ "$(vars get-u16 BootNext)" = 00A0 ] || fail "BootNext is not A's entry"
	boot
	log_has "booted slot a; .*retry"
}

# PID 1's last resort: the good slot itself does not mount and there is
# nothing to fall back to: it says why and reboots after the delay, here
# slotflip.fail-delay=2 (the default, 10 s, is test-initplan's).
test_nothing_bootable_says_why_and_reboots() {
	build_world cloud 2
	uki a-delay.efi a poweroff "" slotflip.fail-delay=2
	UKI_A=$PWD/a-delay.efi machine
	vars state-init a 1.0
	zero_partition "$ROOTA_START" $((SLOT_MIB * 2048))
	boot
	log_has "cannot boot slot a: its root filesystem does not mount"
	log_has "no slot can be booted from here"
	log_has "rebooting in 2 s"
	log_lacks "SFTEST: up"
	expect_absent BootNext
}

run_qemu_cases
