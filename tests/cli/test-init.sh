#!/bin/bash
# Integration tests of slotflip-init --root: whole boot sequences on a fake
# device (tests/cli/firmware.sh). Refusals are in test-refuse.sh, power cuts
# in test-crash.sh. The sequence through a confirmed trial (stage, apply,
# trial boot, mark-good, boot) needs the runtime tool's mark-good and is
# joined with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
STATE=$SF_BIN/tool-state-tool

state() { "$STATE" root get "$1"; }

expect_next() {
	[ "$NEXT" = "$1" ] || { cat init.out; fail "next is '$NEXT', want '$1'"; }
}

# A fingerprint of every EFI variable but BootCurrent (the firmware's).
efi_fingerprint() {
	(cd "$EFIVARS" && find . -type f ! -name 'BootCurrent-*' -printf '%p %s %T@ %i\n' |
		sort && cat $(ls | grep -v BootCurrent) | md5sum)
}

test_first_boot_then_no_writes() {
	device_setup
	boot
	expect_next "next: boot a"
	[ "$(state good)" = a ] || fail "good slot"
	[ "$(state b.status)" = invalid ] || fail "slot b should be invalid"
	before=$(efi_fingerprint)
	boot
	expect_next "next: boot a"
	boot
	[ "$(efi_fingerprint)" = "$before" ] || fail "a normal boot wrote an EFI variable"
}

test_update_arms_a_trial() {
	device_setup
	boot
	make_version 1.1
	image 1.1 v1.1.img
	stage v1.1.img
	boot
	expect_next "next: reboot (BootNext=b)"
	grep -q "apply: 100%" init.out || fail "no progress shown"
	[ "$(efi_get_u16 BootNext)" = 0002 ] || fail "BootNext not set to b"
	slot_holds b 1.1 || fail "slot b does not hold 1.1"
	slot_holds a 1.0 || fail "slot a changed"
	[ "$(state trial)" = b ] && [ "$(state b.status)" = trial ] &&
		[ "$(state b.version)" = 1.1 ] || fail "state after apply"
	grep -q "result=applied" root/data/slotflip/last-result
	boot
	[ "$BOOTED" = b ] || fail "firmware did not boot the trial"
	expect_next "next: boot b"
	# The trial slot's initramfs writes nothing.
	before=$(efi_fingerprint)
	init
	[ "$(efi_fingerprint)" = "$before" ] || fail "trial boot wrote a variable"
}

# The trial never confirms (or panics at once: the firmware comes back to
# a through BootOrder): after exactly `tries` boots of b, a is good and b
# failed.
trial_fallback() {
	local tries=$1 trial_boots=0
	device_setup "$tries"
	boot
	make_version 1.1
	image 1.1 v1.1.img
	stage v1.1.img
	boot
	for i in $(seq 1 20); do
		boot
		if [ "$BOOTED" = b ]; then
			trial_boots=$((trial_boots + 1))
			expect_next "next: boot b"
		elif [ "$NEXT" = "next: boot a" ]; then
			break
		fi
	done
	[ "$trial_boots" = "$tries" ] || fail "b booted $trial_boots times, want $tries"
	[ "$(state b.status)" = failed ] || fail "b not failed"
	[ "$(state trial)" = none ] || fail "trial still pending"
	[ "$(state result)" = trial-failed ] || fail "result"
	state reason | grep -q "did not confirm its trial after $tries tries"
	[ -e root/data/slotflip/staged.img.failed ] || fail "staged image not moved aside"
	[ ! -e root/data/slotflip/staged.img ] || fail "staged image still there"
	grep -q "result=trial-failed" root/data/slotflip/last-result
	# And from now on a boots with nothing written.
	before=$(efi_fingerprint)
	boot
	expect_next "next: boot a"
	[ "$(efi_fingerprint)" = "$before" ] || fail "wrote after the fallback"
}

# trial_panics TRIES PATTERN: the trial kernel panics before its initramfs
# runs ("p": the firmware is reset, slotflip-init never runs in b) or boots
# and never confirms ("i"), per trial boot in the order of PATTERN. After
# exactly TRIES boots of b, in any mix, a is good and b failed.
trial_panics() {
	local tries=$1 pattern=$2 trial_boots=0 panics=0 i
	device_setup "$tries"
	boot
	"$STATE" root set a.version=1.0
	make_version 1.1
	image 1.1 v1.1.img
	stage v1.1.img
	boot
	expect_next "next: reboot (BootNext=b)"
	for i in $(seq 1 20); do
		fw_boot
		if [ "$BOOTED" = b ]; then
			trial_boots=$((trial_boots + 1))
			[ "$(efi_get_u16 BootNext)" = "" ] ||
				fail "BootNext still set in the trial boot"
			if [ "${pattern:$(((trial_boots - 1) % ${#pattern})):1}" = p ]; then
				panics=$((panics + 1))
				continue
			fi
			init
			expect_next "next: boot b"
			continue
		fi
		# The firmware came back to a through BootOrder.
		[ "$(efi_get_u16 BootOrder)" = 0001 ] || fail "BootOrder no longer starts with a"
		init
		[ "$NEXT" = "next: boot a" ] && break
		expect_next "next: reboot (BootNext=b)"
	done
	[ "$trial_boots" = "$tries" ] || fail "b booted $trial_boots times, want $tries"
	echo "  $trial_boots trial boots, $panics of them panics"
	[ "$(state good)" = a ] && [ "$(state a.status)" = good ] ||
		fail "a not good"
	[ "$(state b.status)" = failed ] && [ "$(state trial)" = none ] ||
		fail "b not failed"
	[ "$(state result)" = trial-failed ] || fail "result"
	grep -q "did not confirm its trial after $tries tries" root/data/slotflip/last-result
	slot_holds a 1.0 || fail "slot a changed"
	boot
	expect_next "next: boot a"
}

test_trial_panics_every_time() { trial_panics 3 p; }
test_trial_panics_once_of_one_try() { trial_panics 1 p; }
test_trial_mixed_panics_and_boots() { trial_panics 4 ippi; }
test_trial_mixed_boots_then_panics() { trial_panics 3 ipp; }

test_trial_falls_back_after_exactly_3_tries() { trial_fallback 3; }
test_trial_falls_back_after_exactly_1_try() { trial_fallback 1; }
test_trial_falls_back_after_exactly_5_tries() { trial_fallback 5; }

run_cases
