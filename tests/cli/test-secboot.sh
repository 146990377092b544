#!/bin/bash
# Secure Boot and the offline rollback check of slotflip-init --root
# (docs/BOOT.md, "Secure Boot" and "Offline rollback"): the version of the
# booted initramfs (/etc/slotflip/version, in the signed UKI) against the
# anti-rollback floor of the EFI state. Someone with the disk but not the
# NVRAM writes an older system into a slot: it must never run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"

# A device that booted v1.0 from slot a with a version file: floor 1.0.
floor_setup() {
	device_setup "$@"
	echo 1.0 >root/etc/slotflip/version
	boot
	[ "$(state floor)" = 1.0 ] || fail "floor is '$(state floor)'"
}

# The booted UKI's initramfs says version $1 (the slot was overwritten).
booted_version() { echo "$1" >root/etc/slotflip/version; }

# last_result FIELD: a line of the result file.
last_result() { sed -n "s/^$1=//p" root/data/slotflip/last-result; }

# run_init: slotflip-init once, any exit status; $RC and init.out.
run_init() {
	RC=0
	"$INIT" --root root >init.out 2>&1 || RC=$?
	NEXT=$(grep '^next:' init.out || true)
}

# The attack in the trial window: slot b, armed with 2.0, is overwritten
# with a signed 0.9 before its first boot. Its initramfs refuses to run
# it: the trial fails with the reason, and the good slot boots.
test_trial_below_the_floor_fails_and_falls_back() {
	floor_setup
	stage_version 2.0
	boot
	expect_next "next: reboot (BootNext=b)"
	fw_boot
	[ "$BOOTED" = b ] || fail "the firmware did not boot the trial"
	booted_version 0.9
	init
	expect_next "next: reboot (BootNext=a)"
	grep -q "error: slot b booted a system of version 0.9, below the anti-rollback floor 1.0: refused" init.out ||
		fail "console: $(cat init.out)"
	[ "$(efi_get_u16 BootNext)" = 0001 ] || fail "BootNext is not a"
	[ "$(state trial)" = none ] && [ "$(state b.status)" = failed ] &&
		[ "$(state result)" = trial-failed ] && [ "$(state good)" = a ] ||
		fail "state: trial $(state trial), b $(state b.status), result $(state result)"
	state reason | grep -q "below the anti-rollback floor 1.0" ||
		fail "state reason: $(state reason)"
	[ "$(last_result result)" = trial-failed ] && [ "$(last_result slot)" = b ] ||
		fail "last-result: $(cat root/data/slotflip/last-result)"
	last_result reason | grep -q "version 0.9, below the anti-rollback floor 1.0" ||
		fail "last-result reason: $(last_result reason)"
	[ -e root/data/slotflip/staged.img.failed ] || fail "staged image not moved aside"
	booted_version 1.0
	boot
	[ "$BOOTED" = a ] || fail "a did not boot"
	expect_next "next: boot a"
}

# An older system written into the spare (not on trial) and booted through
# BootNext: refused, said in last-result, the good slot boots.
test_spare_below_the_floor_reboots_into_the_good_slot() {
	floor_setup
	efi_set BootNext 0200
	fw_boot
	[ "$BOOTED" = b ] || fail "the firmware did not boot b"
	booted_version 0.9
	before=$(state reason)
	init
	expect_next "next: reboot (BootNext=a)"
	[ "$(last_result result)" = rollback-refused ] && [ "$(last_result slot)" = b ] &&
		[ "$(last_result version)" = 0.9 ] ||
		fail "last-result: $(cat root/data/slotflip/last-result)"
	last_result reason | grep -q "^slot b booted a system of version 0.9, below the anti-rollback floor 1.0" ||
		fail "last-result reason: $(last_result reason)"
	[ "$(state reason)" = "$before" ] && [ "$(state b.status)" = invalid ] ||
		fail "the state changed"
}

# The good slot itself overwritten with an older system: there is nothing
# to fall back to; slotflip-init stops (exit 3, next: stop) with the
# reason, and writes no EFI variable.
test_good_slot_below_the_floor_stops() {
	floor_setup
	before=$(efi_fingerprint)
	booted_version 0.9
	fw_boot
	run_init
	[ "$RC" = 3 ] || { cat init.out; fail "exit $RC, want 3"; }
	[ "$NEXT" = "next: stop (slot a booted a system of version 0.9, below the anti-rollback floor 1.0: refused (an older system written to the disk?))" ] ||
		fail "next: '$NEXT'"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
	[ "$(last_result result)" = rollback-refused ] && [ "$(last_result slot)" = a ] ||
		fail "last-result: $(cat root/data/slotflip/last-result)"
	# A staged image is not applied by a refused system.
	stage_version 2.0
	run_init
	[ "$RC" = 3 ] && slot_holds a 1.0 && ! grep -q apply init.out ||
		fail "the refused system went on: $(cat init.out)"
}

# An old UKI of slot a (slotflip.slot=a) put at slot b's path: the command
# line names the good slot, but BootCurrent shows the firmware booted b's
# entry, so the good slot's own entry is booted.
test_old_good_slot_uki_on_the_other_entry_boots_the_good_entry() {
	floor_setup
	booted_version 0.9
	efi_set BootCurrent 0200
	echo "slotflip.slot=a" >root/proc/cmdline
	run_init
	[ "$RC" = 0 ] && [ "$NEXT" = "next: reboot (BootNext=a)" ] ||
		{ cat init.out; fail "exit $RC, $NEXT"; }
	[ "$(efi_get_u16 BootNext)" = 0001 ] || fail "BootNext is not a"
}

# BootNext cannot be written: the refused system still does not boot.
test_refused_when_boot_next_cannot_be_written() {
	floor_setup
	efi_set BootNext 0200
	fw_boot
	booted_version 0.9
	mkdir "$EFIVARS/BootNext-$GLOBAL"
	run_init
	[ "$RC" = 3 ] && [[ $NEXT == "next: stop (slot b booted a system of version 0.9"* ]] ||
		{ cat init.out; fail "exit $RC, $NEXT"; }
}

# At or above the floor, or without a version file (a UKI built without
# mkinitramfs.sh -v cannot be checked), the boot goes on.
test_at_or_above_the_floor_or_unknown_boots() {
	floor_setup
	for v in 1.0 1.1 1.0.0 -; do
		if [ "$v" = - ]; then rm root/etc/slotflip/version; else booted_version "$v"; fi
		boot
		expect_next "next: boot a"
	done
	# No floor yet: nothing to compare with.
	"$STATE" root set floor=
	booted_version 0.1
	boot
	expect_next "next: boot a"
}

# A downgrade root asked for (`slotflip set-active --allow-downgrade`:
# the state, in NVRAM, gives slot b a trial with version 0.9 under the
# floor 1.0) boots, on trial and once confirmed; the same slot holding
# another older version does not.
test_downgrade_recorded_in_the_state_boots() {
	floor_setup
	"$STATE" root set trial=b b.status=trial b.version=0.9 tries=1
	efi_set BootNext 0200
	fw_boot
	booted_version 0.9
	init
	expect_next "next: boot b"
	"$STATE" root set good=b trial=none b.status=good
	efi_set BootOrder 02000100
	boot
	[ "$BOOTED" = b ] || fail "b did not boot"
	expect_next "next: boot b"
	booted_version 0.8
	fw_boot
	run_init
	[ "$RC" = 3 ] && [[ $NEXT == "next: stop (slot b booted a system of version 0.8, below the anti-rollback floor 1.0"* ]] ||
		{ cat init.out; fail "exit $RC, $NEXT"; }
}

# trial_refused_by_firmware SB: the trial's UKI never starts (the firmware
# refuses it and boots a through BootOrder) until its 2 tries ran out,
# with the SecureBoot variable SB (hex, or "" for absent).
trial_refused_by_firmware() {
	device_setup 2
	[ -z "$1" ] || efi_set SecureBoot "$1"
	boot
	stage_version 1.1
	boot
	expect_next "next: reboot (BootNext=b)"
	for i in 1 2; do
		rm "$EFIVARS/BootNext-$GLOBAL" # consumed; b's UKI refused
		boot
		[ "$BOOTED" = a ] || fail "a did not boot"
	done
	expect_next "next: boot a"
	[ "$(state result)" = trial-failed ] && [ "$(last_result slot)" = b ] ||
		fail "result $(state result), last-result $(cat root/data/slotflip/last-result)"
}

# With Secure Boot on, the reason of a trial that never confirmed names
# the likely cause: a UKI the firmware refused.
test_trial_failed_with_secure_boot_on_names_the_signature() {
	trial_refused_by_firmware 01
	[ "$(last_result reason)" = "slot b (version 1.1) did not confirm its trial after 2 tries; Secure Boot is on: was its UKI signed with a key in the firmware's db?" ] ||
		fail "reason: $(last_result reason)"
	state reason | grep -q "after 2 tries; Secure Boot is on" ||
		fail "state reason: $(state reason)"
}

test_trial_failed_with_secure_boot_off_or_absent() {
	for sb in 00 ""; do
		rm -rf ./*
		trial_refused_by_firmware "$sb"
		[ "$(last_result reason)" = "slot b (version 1.1) did not confirm its trial after 2 tries" ] ||
			fail "SecureBoot '$sb': reason: $(last_result reason)"
	done
}

run_cases
