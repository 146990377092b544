#!/bin/bash
# Integration tests of slotflip-init --root: whole boot sequences on a fake
# device (tests/cli/firmware.sh). Refusals are in test-refuse.sh, power cuts
# in test-crash.sh. The sequence through a confirmed trial (stage, apply,
# trial boot, mark-good, boot) needs the runtime tool's mark-good and is
# joined with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
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

# With /etc/slotflip/version in the initramfs, the first boot knows the
# booted slot's version: the floor and the downgrade check hold from the
# start.
test_first_boot_takes_the_version_file() {
	device_setup
	echo 1.0 >root/etc/slotflip/version
	boot
	expect_next "next: boot a"
	[ "$(state a.version)" = 1.0 ] || fail "a.version is '$(state a.version)'"
	[ "$(state floor)" = 1.0 ] || fail "floor is '$(state floor)'"
	grep -q "slot a runs version 1.0" init.out || fail "not said"
	stage_version 0.9
	boot
	expect_next "next: boot a"
	grep -q "version 0.9 is not above the anti-rollback floor 1.0" \
		root/data/slotflip/last-result || fail "downgrade not refused"
	cmp -s root/slots/b.img <(head -c $SLOT_SIZE /dev/zero | tr '\0' O) ||
		fail "slot b was written"
	# Read only when the state is rebuilt: a later change is ignored.
	echo 7.0 >root/etc/slotflip/version
	boot
	[ "$(state a.version)" = 1.0 ] || fail "version file read again"
}

test_first_boot_without_a_version_file() {
	device_setup
	boot
	[ -z "$(state a.version)" ] && [ -z "$(state floor)" ] ||
		fail "a version came from nowhere"
}

test_a_bad_version_file_is_ignored() {
	device_setup
	printf '1.0-rc1\n' >root/etc/slotflip/version
	boot
	expect_next "next: boot a"
	grep -q "does not hold a version" init.out || fail "no warning"
	[ -z "$(state a.version)" ] && [ -z "$(state floor)" ] ||
		fail "a bad version was taken"
}

test_update_arms_a_trial() {
	device_setup
	boot
	stage_version 1.1
	boot
	expect_next "next: reboot (BootNext=b)"
	grep -q "check: 100%" init.out && grep -q "apply: 100%" init.out ||
		fail "no progress shown"
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

# The same with a format 1 image (zlib), as a device may have staged one.
test_update_arms_a_trial_format_1() {
	FORMAT=1
	test_update_arms_a_trial
	"$SF_BIN/slotflip-image" inspect v1.1.img | grep -q "format 1)$" ||
		fail "v1.1.img is not of format 1"
}

# The result file on the data partition, for `slotflip status`.
test_result_file_content() {
	device_setup
	boot
	"$STATE" root set a.version=1.0
	stage_version 1.1
	boot
	sed 's/^time=[0-9]*$/time=T/' root/data/slotflip/last-result >got
	printf '%s\n' result=applied time=T slot=b version=1.1 \
		"reason=version 1.1 written to slot b; trial armed with 3 tries" >want
	diff want got || fail "last-result content"
	t=$(sed -n 's/^time=//p' root/data/slotflip/last-result)
	[ $(($(date +%s) - t)) -lt 600 ] || fail "time $t is not now"
}

# Zero chunks are skipped where the slot already reads zero, written where
# it does not.
test_zero_chunks_skipped_where_the_slot_reads_zero() {
	device_setup
	boot
	make_version 1.1
	{ head -c 200000 rootfs-1.1; head -c 409600 /dev/zero; } >rootfs-z
	mv rootfs-z rootfs-1.1
	image 1.1 v1.1.img
	zeros=$("$SF_BIN/slotflip-image" inspect v1.1.img |
		sed -n 's/^payload rootfs.*(zero \([0-9]*\),.*/\1/p')
	[ "$zeros" -ge 90 ] || fail "only $zeros zero chunks"
	total=$(chunks v1.1.img)
	stage v1.1.img
	boot
	[ "$(apply_counts)" = "$total 0" ] || fail "counts $(apply_counts), want $total 0"
	slot_holds b 1.1 || fail "b does not hold 1.1"
	# Again on a slot b of zeros.
	rm -rf root release.sec
	device_setup
	truncate -s 0 root/slots/b.img
	truncate -s $SLOT_SIZE root/slots/b.img
	boot
	image 1.1 v1.1.img
	stage v1.1.img
	boot
	[ "$(apply_counts)" = "$((total - zeros)) $zeros" ] ||
		fail "counts $(apply_counts), want $((total - zeros)) $zeros"
	slot_holds b 1.1 || fail "b does not hold 1.1"
}

# fault_kinds: the kind of every fault point slotflip-init passes in this
# boot (each from a copy of the device, cut there), one a line.
fault_kinds() {
	local n total
	rm -rf snap && cp -a root snap
	total=$(fault_total)
	for ((n = 1; n <= total; n++)); do
		rm -rf root && cp -a snap root
		cut_at "$n"
	done
	rm -rf root && mv snap root
}

# An apply that finds the slot already right writes no chunk: the slot and
# the EFI binary are not touched (mtime, inode), and no slot or EFI binary
# write fault point is passed.
test_chunks_already_right_are_not_rewritten() {
	device_setup
	boot
	stage_version 1.1
	boot
	expect_next "next: reboot (BootNext=b)"
	# As if the apply had been cut just before arming the trial.
	"$STATE" root set trial=none b.status=invalid b.version= tries=0
	rm "$EFIVARS/BootNext-$GLOBAL"
	fw_boot
	fault_kinds >kinds.txt
	kinds=$(sort kinds.txt | uniq -c | awk '{$1 = $1; print}' | paste -sd,)
	echo "  fault points passed: $kinds"
	# The slot flushed, the result file, the state armed and BootNext: no
	# slot or EFI binary write, no second state write.
	[ "$kinds" = "2 efivar write,1 result write,1 slot flush" ] ||
		fail "fault points: $kinds"
	before=$(stat -c '%Y.%y %i' root/slots/b.img root/esp/EFI/slotflip/b/linux.efi)
	sleep 1
	init
	[ "$(apply_counts)" = "0 $(chunks v1.1.img)" ] ||
		fail "counts $(apply_counts), want 0 $(chunks v1.1.img)"
	expect_next "next: reboot (BootNext=b)"
	[ "$(efi_get_u16 BootNext)" = 0002 ] || fail "BootNext not written"
	[ "$(stat -c '%Y.%y %i' root/slots/b.img root/esp/EFI/slotflip/b/linux.efi)" = "$before" ] ||
		fail "slot b or its EFI binary was rewritten"
}

# Which slot booted: the slot whose entry BootCurrent names wins over
# slotflip.slot= on the command line (with a warning); BootCurrent absent
# or naming no slot: the command line; neither: no slot, exit 1.
test_booted_slot_detection() {
	device_setup
	boot
	efi_set BootCurrent 0200
	init
	grep -q "warning: the kernel command line says slot a, BootCurrent (Boot0002) says slot b: trusting BootCurrent, the entry that ran" init.out ||
		{ cat init.out; fail "no warning"; }
	# b is not the good slot: back to a.
	expect_next "next: reboot (BootNext=a)"
	rm "$EFIVARS/BootNext-$GLOBAL"
	# An entry of no slot (the removable-media path): the command line.
	efi_set BootCurrent 0700
	init
	expect_next "next: boot a"
	! grep -q warning init.out || { cat init.out; fail "a warning"; }
	# BootCurrent alone names b, not the good slot: back to a.
	efi_set BootCurrent 0200
	echo quiet >root/proc/cmdline
	init
	expect_next "next: reboot (BootNext=a)"
	rm "$EFIVARS/BootCurrent-$GLOBAL"
	rc=0
	"$INIT" --root root >out 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "exit $rc, want 1"
	grep -q "^next: none (cannot tell which slot booted: no slotflip.slot= on the kernel command line and BootCurrent names neither slot's boot entry)$" out ||
		{ cat out; fail "no reason"; }
}

# A command line that names the other slot than the entry that ran (here
# two slotflip.slot=, the last one wins) rebooted into the good slot at
# every boot, landing where it was. The entry that ran is the slot: the
# good one boots on, with a warning, and writes nothing.
test_contradicting_command_line_never_loops() {
	device_setup
	boot
	expect_next "next: boot a"
	before=$(efi_fingerprint)
	for i in 1 2 3; do
		fw_boot
		[ "$BOOTED" = a ] || fail "boot $i: the firmware booted $BOOTED"
		echo "slotflip.slot=a quiet slotflip.slot=b" >root/proc/cmdline
		init
		expect_next "next: boot a"
		grep -q "warning: the kernel command line says slot b, BootCurrent (Boot0001) says slot a: trusting BootCurrent" init.out ||
			{ cat init.out; fail "boot $i: no warning"; }
	done
	[ -z "$(efi_get_u16 BootNext)" ] || fail "BootNext set"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
}

test_help_and_usage_errors() {
	"$INIT" --help | grep -q "^Usage: slotflip-init --root DIR" || fail "--help"
	"$INIT" --help | grep -q "^99 a fault was injected" || fail "exit codes"
	expect_fail 2 "Usage:" "$INIT" --bogus
	SLOTFLIP_FAULT_AT=x expect_fail 2 "SLOTFLIP_FAULT_AT must be a number" \
		"$INIT" --root .
}

# The trial never confirms (or panics at once: the firmware comes back to
# a through BootOrder): after exactly `tries` boots of b, a is good and b
# failed.
trial_fallback() {
	local tries=$1 trial_boots=0
	device_setup "$tries"
	boot
	stage_version 1.1
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
	stage_version 1.1
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

# A record with a valid checksum that gives the trial 255 tries left: the
# good slot counts no more than the config's tries (a warning says so),
# and the trial falls back after exactly 3 boots, not 255.
test_tries_left_above_the_config_is_clamped() {
	local trial_boots=0
	device_setup 3
	boot
	stage_version 1.1
	boot
	expect_next "next: reboot (BootNext=b)"
	"$STATE" root set tries=255
	[ "$(state tries)" = 255 ] || fail "state-tool did not set 255"
	for i in $(seq 1 20); do
		boot
		if [ "$BOOTED" = b ]; then
			trial_boots=$((trial_boots + 1))
			expect_next "next: boot b"
			continue
		fi
		[ "$trial_boots" != 1 ] || grep -q "warning: the state gives the trial of slot b 255 tries left, more than the 3 tries of the config: counting 2" init.out ||
			{ cat init.out; fail "no warning"; }
		[ "$NEXT" = "next: boot a" ] && break
		expect_next "next: reboot (BootNext=b)"
	done
	[ "$trial_boots" = 3 ] || fail "b booted $trial_boots times, want 3"
	[ "$(state b.status)" = failed ] && [ "$(state trial)" = none ] ||
		fail "b not failed"
}

test_trial_falls_back_after_exactly_3_tries() { trial_fallback 3; }
test_trial_falls_back_after_exactly_1_try() { trial_fallback 1; }
test_trial_falls_back_after_exactly_5_tries() { trial_fallback 5; }

run_cases
