#!/bin/bash
# Integration tests of the runtime tool slotflip --root, together with
# slotflip-init --root on the fake device of tests/cli/firmware.sh: whole
# update cycles, staging and its refusals, status, the state commands.
# Boot entries: test-entries.sh; the boot-confirm script: test-confirm.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
. "$(dirname "$0")/mount.sh"
. "$(dirname "$0")/slotflip.sh"

test_update_cycle() {
	ready
	sf stage v1.1.img >stage.out
	grep -q "staged version 1.1" stage.out || fail "stage did not say so"
	grep -q "verifying: 100%" stage.out || fail "no progress lines"
	cmp v1.1.img root/data/slotflip/staged.img || fail "staged bytes differ"
	[ "$(json .staged.version)" = 1.1 ] && [ "$(json .staged.verified)" = true ] &&
		[ "$(json .staged.applied)" = false ] || fail "status of the staged image"
	boot
	[ "$NEXT" = "next: reboot (BootNext=b)" ] || fail "no apply: $NEXT"
	boot
	[ "$BOOTED" = b ] || fail "trial slot not booted"
	[ "$(json .booted)" = b ] && [ "$(json .good)" = a ] &&
		[ "$(json .trial.slot)" = b ] && [ "$(json .trial.tries_left)" = 2 ] &&
		[ "$(json .slots.b.status)" = trial ] && [ "$(json .slots.b.version)" = 1.1 ] &&
		[ "$(json .staged.applied)" = true ] &&
		[ "$(json .last_apply.result)" = applied ] || fail "status during the trial"
	sf status | grep -q "^trial: *slot b, 2 more tries" || fail "text status: trial"
	sf mark-good >mg.out
	grep -q "slot b (version 1.1) is the good slot now" mg.out || fail "mark-good said"
	[ "$(json .good)" = b ] && [ "$(json .trial)" = null ] &&
		[ "$(json .floor)" = 1.1 ] && [ "$(json .slots.b.status)" = good ] &&
		[ "$(json .last_result.result)" = confirmed ] &&
		[ "$(json .staged)" = null ] || fail "status after mark-good"
	[ "$(efi_get_u16 BootOrder)" = 0002 ] || fail "BootOrder does not start with b"
	sf status | grep -q "^floor: *1.1" || fail "text status: floor"
	# The next boot, and mark-good again (the confirm service runs at
	# every boot), write no EFI variable.
	before=$(efi_fingerprint)
	boot
	[ "$NEXT" = "next: boot b" ] || fail "next boot: $NEXT"
	sf mark-good | grep -q "already the good slot: nothing to do"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
	# An older image, and the running one again, are refused now.
	expect_fail 1 "version 1.0 is not above the anti-rollback floor 1.1" sf stage v1.0.img
	expect_fail 1 "version 1.1 is not above the anti-rollback floor 1.1" sf stage v1.1.img
	[ ! -e root/data/slotflip/staged.img ] || fail "a refused image was staged"
	# And the next update goes to slot a.
	sf stage v1.2.img | grep -q "slot a gets it"
	boot
	boot
	[ "$BOOTED" = a ] && slot_holds a 1.2 || fail "v1.2 not in slot a"
}

# The same with format 1 images: staged, applied, confirmed.
test_update_cycle_format_1() {
	FORMAT=1
	test_update_cycle
	"$IMG" inspect v1.2.img | grep -q "format 1)$" ||
		fail "v1.2.img is not of format 1"
}

# One image serves either slot: its UKI's command line names the slot it
# was built with (a here), whichever slot it is written into. Its trial
# boot in b is slot b's, by BootCurrent: it boots on, confirms, stays.
test_image_built_for_slot_a_runs_in_slot_b() {
	ready
	sf stage v1.1.img >/dev/null
	boot
	[ "$NEXT" = "next: reboot (BootNext=b)" ] || fail "no apply: $NEXT"
	for i in 1 2; do
		fw_boot
		[ "$BOOTED" = b ] || fail "boot $i: the firmware booted $BOOTED"
		echo "slotflip.slot=a quiet" >root/proc/cmdline
		init
		[ "$NEXT" = "next: boot b" ] || { cat init.out; fail "boot $i: $NEXT"; }
		grep -q "warning: the kernel command line says slot a, BootCurrent (Boot0002) says slot b: trusting BootCurrent" init.out ||
			{ cat init.out; fail "boot $i: no warning"; }
		[ "$(json .booted)" = b ] || fail "boot $i: status says booted $(json .booted)"
		if [ $i = 1 ]; then
			sf mark-good >mg.out 2>mg.err
			grep -q "slot b (version 1.1) is the good slot now" mg.out ||
				{ cat mg.out mg.err; fail "mark-good said"; }
		fi
		[ "$(state good)" = b ] && [ "$(state b.status)" = good ] &&
			[ "$(state trial)" = none ] || fail "boot $i: b is not good"
	done
	[ "$(state result)" = confirmed ] || fail "result $(state result)"
	[ "$(state a.status)" = good ] && slot_holds a 1.0 || fail "slot a changed"
}

test_status_after_a_refusal_at_boot() {
	ready
	sf stage v1.1.img >/dev/null
	# The floor rises between staging and the boot (set by hand here):
	# slotflip-init refuses the image, status says why and when.
	"$STATE" root set floor=1.1
	boot
	[ "$NEXT" = "next: boot a" ] || fail "applied anyway"
	[ "$(json .last_apply.result)" = refused ] &&
		[ "$(json .last_apply.version)" = 1.1 ] &&
		[ "$(json .last_result.result)" = refused ] &&
		[ "$(json .staged)" = null ] || fail "status: $(sf status --json)"
	json .last_apply.reason | grep -q "not above the anti-rollback floor 1.1"
	[ "$(json .last_apply.time)" -gt 1700000000 ] || fail "no time"
	sf status | grep -q "^last apply: *refused, version 1.1 to slot b at 20..-..-.. ..:..:.. UTC: version 1.1 is not above" ||
		fail "text status: $(sf status)"
}

test_status_with_absent_or_corrupt_state() {
	device_setup
	[ "$(json .state_record)" = absent ] && [ "$(json .good)" = a ] &&
		[ "$(json .slots.b.status)" = invalid ] || fail "absent state"
	boot
	[ "$(json .state_record)" = valid ] || fail "valid state"
	printf 'X' | dd of="$STATE_FILE" bs=1 seek=100 conv=notrunc 2>/dev/null
	sf status --json >st.json 2>err.txt
	[ "$(jq -r .state_record st.json)" = unreadable ] || fail "corrupt state"
	grep -q "warning: the slotflip state record is unreadable (corrupt): taking slot a as good" err.txt ||
		fail "no warning: $(cat err.txt)"
	! grep -q "error:" err.txt || fail "an error for a state slotflip-init rebuilds"
}

# Secure Boot from the SecureBoot EFI variable (one byte: 1 on, 0 off);
# absent (firmware without Secure Boot) or malformed: unknown.
test_status_shows_secure_boot() {
	device_setup
	boot
	[ "$(json .secure_boot)" = null ] || fail "absent: $(json .secure_boot)"
	sf status | grep -q "^secure boot: *unknown (no SecureBoot EFI variable)$" ||
		fail "text status: $(sf status)"
	efi_set SecureBoot 01
	[ "$(json .secure_boot)" = true ] || fail "on: $(json .secure_boot)"
	sf status | grep -q "^secure boot: *on$" || fail "text status: $(sf status)"
	efi_set SecureBoot 00
	[ "$(json .secure_boot)" = false ] || fail "off: $(json .secure_boot)"
	sf status | grep -q "^secure boot: *off$" || fail "text status: $(sf status)"
	efi_set SecureBoot 02
	[ "$(json .secure_boot)" = null ] || fail "malformed: $(json .secure_boot)"
}

test_stage_from_stdin_and_replace() {
	ready
	cat v1.1.img | sf stage - >out.txt
	cmp v1.1.img root/data/slotflip/staged.img
	# A leftover of a power cut during an earlier stage goes away.
	echo partial >root/data/slotflip/staged.img.tmp.AbC123
	sf stage v1.2.img >out.txt
	cmp v1.2.img root/data/slotflip/staged.img || fail "not replaced"
	[ -z "$(ls root/data/slotflip | grep tmp)" ] || fail "temporary files left"
	# A refused image leaves the staged one as it was.
	head -c 100000 v1.1.img |
		{ expect_fail 1 "- is truncated: 100000 of $(stat -c %s v1.1.img) bytes" sf stage -; }
	cmp v1.2.img root/data/slotflip/staged.img || fail "staged image changed"
	[ -z "$(ls root/data/slotflip | grep tmp)" ] || fail "temporary files left"
}

# A power cut at each write point of stage (SLOTFLIP_FAULT_AT=N ends the
# process there): staged.img is always the old image or the whole new one.
test_power_cut_during_stage() {
	ready
	sf stage v1.1.img >/dev/null
	n=1
	while :; do
		rc=0
		SLOTFLIP_FAULT_AT=$n sf stage v1.2.img >out.txt 2>err.txt || rc=$?
		if cmp -s root/data/slotflip/staged.img v1.2.img; then
			[ "$rc" = 0 ] || fail "new image in place before the end (point $n)"
			break
		fi
		cmp -s root/data/slotflip/staged.img v1.1.img ||
			fail "staged image neither old nor new after a cut at point $n"
		[ "$rc" = 99 ] || { cat err.txt; fail "point $n: exit $rc"; }
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] || fail "only $((n - 1)) write points"
	[ -z "$(ls root/data/slotflip | grep tmp)" ] || fail "temporary files left"
	boot
	[ "$NEXT" = "next: reboot (BootNext=b)" ] && slot_holds b 1.2 || fail "apply"
}

# A power cut at each write point of mark-good in the trial slot: every
# boot after it reaches a slot, and running mark-good again in slot b (as
# the confirm service does at each boot) ends with b good.
test_power_cut_during_mark_good() {
	local n=1 rc dir
	while :; do
		dir=cut$n
		mkdir $dir
		cd $dir
		ready
		on_trial
		rc=0
		SLOTFLIP_FAULT_AT=$n sf mark-good >out.txt 2>err.txt || rc=$?
		for i in 1 2 3 4 5 6; do
			[ "$(state good)" = b ] && [ "$(efi_get_u16 BootOrder)" = 0002 ] && break
			boot
			if [ "$BOOTED" = b ]; then sf mark-good >/dev/null; fi
		done
		[ "$(state good)" = b ] && [ "$(state floor)" = 1.1 ] &&
			[ "$(efi_get_u16 BootOrder)" = 0002 ] || fail "cut at point $n: not confirmed"
		cd ..
		[ "$rc" = 99 ] || break
		n=$((n + 1))
	done
	[ "$rc" = 0 ] && [ "$n" -ge 4 ] || fail "points: $n, last exit $rc"
}

test_stage_refuses_corrupt_image() {
	ready
	sf stage v1.1.img >/dev/null
	cp v1.2.img bad.img
	# One byte of the last chunk's stored data (the data area ends the file).
	size=$(stat -c %s bad.img)
	printf '\xff' | dd of=bad.img bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
	cmp -s bad.img v1.2.img && fail "the byte did not change"
	expect_fail 1 "refused: it is corrupt" sf stage bad.img
	cmp v1.1.img root/data/slotflip/staged.img || fail "staged image changed"
	[ -z "$(ls root/data/slotflip | grep tmp)" ] || fail "temporary files left"
	head -c 5000 v1.2.img >short.img
	expect_fail 1 "short.img is corrupt: 5000 bytes" sf stage short.img
	expect_fail 1 "is not a slotflip image" sf stage rootfs-1.1
}

test_stage_refuses_other_device_and_bad_signature() {
	ready
	image 1.1 other.img --compatible other-board
	expect_fail 1 'image is for "other-board", this device is "test-board"' sf stage other.img
	"$SF_BIN/slotflip-image" keygen -p other.pub -s other.sec >/dev/null
	KEY=other.sec image 1.1 foreign.img
	expect_fail 1 "valid signatures from 0 of the 1 trusted keys" sf stage foreign.img
	head -c $((2 * SLOT_SIZE)) /dev/urandom >rootfs-2.0
	cp efi-1.1 efi-2.0
	image 2.0 big.img
	expect_fail 1 "does not fit the 1048576-byte slot" sf stage big.img
	[ ! -e root/data/slotflip/staged.img ] || fail "something was staged"
}

# Both slots on one device (one path twice, a link to slot a's file):
# every command refuses the config (exit 3) naming both slots and the
# device; nothing is staged, no variable written.
test_slots_on_one_device_refused() {
	ready
	ln -s a.img root/slots/a-link.img
	cp root/etc/slotflip/slotflip.conf conf.good
	before=$(efi_fingerprint)
	for dev in /slots/a.img /slots/a-link.img; do
		sed "s|^device = /slots/b.img\$|device = $dev|" conf.good \
			>root/etc/slotflip/slotflip.conf
		for cmd in "stage v1.1.img" status mark-good "set-active b"; do
			expect_fail 3 "root/etc/slotflip/slotflip.conf: [slot a] (device = /slots/a.img) and [slot b] (device = $dev) are one device, " sf $cmd
			grep -qF "an update of the spare slot would overwrite the running one; fix the config: give each slot its own partition" err.txt ||
				{ cat err.txt; fail "$cmd: no advice"; }
		done
	done
	[ ! -e root/data/slotflip/staged.img ] || fail "something was staged"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
	cp conf.good root/etc/slotflip/slotflip.conf
	sf stage v1.1.img | grep -q "slot b gets it" || fail "not staged once fixed"
}

# The spare slot's device is the one the running root is mounted from (a
# block device node with the device number of the root's filesystem):
# stage refuses before it copies a byte.
test_stage_refuses_the_running_root_device() {
	ready
	mknod root/slots/rootdev b "$(stat -c %Hd root)" "$(stat -c %Ld root)" ||
		skip "cannot make a device node (tests that make nodes need root)"
	sed -i "s|^device = /slots/b.img\$|device = /slots/rootdev|" \
		root/etc/slotflip/slotflip.conf
	expect_fail 1 "the spare slot b (device = /slots/rootdev, root/slots/rootdev) is the device the running root root/ is mounted from: writing it would overwrite the running system. slotflip takes slot a as running (BootCurrent, else slotflip.slot=); fix the device lines of [slot a] and [slot b] in root/etc/slotflip/slotflip.conf (or the boot entries); nothing was staged" \
		sf stage v1.1.img
	[ -z "$(ls root/data/slotflip)" ] || fail "something was written: $(ls root/data/slotflip)"
}

test_stage_other_refusals() {
	ready
	expect_fail 5 "cannot open missing.img" sf stage missing.img
	cp v1.1.img v3.img
	printf '\003' | dd of=v3.img bs=1 seek=8 conv=notrunc 2>/dev/null
	expect_fail 1 "v3.img uses another image format version: update slotflip" sf stage v3.img
	cp v1.1.img long.img
	echo extra >>long.img
	expect_fail 1 "long.img is corrupt: $(stat -c %s long.img) bytes, its header and manifest say $(stat -c %s v1.1.img)" \
		sf stage long.img
	cat long.img | { expect_fail 1 "is corrupt: longer than its header and manifest say" sf stage -; }
	mv root/keys/release.pub key.save
	expect_fail 3 "cannot load the trusted public key root/keys/release.pub" sf stage v1.1.img
	mv key.save root/keys/release.pub
	mv root/slots/b.img b.save
	expect_fail 5 "cannot open slot b (root/slots/b.img)" sf stage v1.1.img
	mv b.save root/slots/b.img
	[ -z "$(ls root/data/slotflip)" ] || fail "files left: $(ls root/data/slotflip)"
	rm -rf root/data
	expect_fail 5 "is the data partition mounted at /data? config: data-dir" sf stage v1.1.img
	mkdir root/data
	# Reboot failing after staging: the image is staged, the user is told.
	mkdir bin
	printf '#!/bin/sh\nexit 1\n' >bin/reboot
	chmod +x bin/reboot
	PATH=$PWD/bin:$PATH expect_fail 5 "\`reboot\` failed: reboot by hand" sf stage --reboot v1.1.img
	cmp v1.1.img root/data/slotflip/staged.img
	# Running a slot that is not the good one (fallback pending).
	"$STATE" root set good=b b.status=good
	expect_fail 1 "the running slot a is not the good slot b: reboot into slot b" sf stage v1.2.img
}

test_running_slot_unknown() {
	ready
	rm root/proc/cmdline "$EFIVARS/BootCurrent-$GLOBAL"
	for cmd in mark-good mark-bad "stage v1.1.img"; do
		expect_fail 1 "cannot tell which slot is running: no slotflip.slot= on the kernel command line" sf $cmd
	done
	[ "$(json .booted)" = null ] || fail "status: booted"
	# BootCurrent alone is enough.
	efi_set BootCurrent 0100
	[ "$(json .booted)" = a ] || fail "BootCurrent not used"
	sf mark-good | grep -q "already the good slot"
	expect_fail 2 'give install, check or repair, not "fix"' sf boot-entries fix
}

test_stage_refuses_downgrade_below_running() {
	ready
	"$STATE" root set a.version=1.1
	expect_fail 1 "version 1.0 is below the running version 1.1 (a downgrade)" sf stage v1.0.img
}

test_stage_refused_during_trial_and_after_failure() {
	ready
	on_trial
	expect_fail 1 "slot b is on trial (version 1.1)" sf stage v1.2.img
	sf mark-bad --reason "test says no" >/dev/null
	boot
	[ "$BOOTED" = a ] || fail "no fallback"
	# slotflip-init moved the failed image aside; staging it again is
	# refused at once, with the reason.
	[ -e root/data/slotflip/staged.img.failed ] || fail "not moved aside"
	expect_fail 1 "this image (version 1.1) was already tried and failed: slot b (version 1.1) marked bad: test says no" \
		sf stage v1.1.img
}

# The data partition, then the ESP, too small for the image (small tmpfs
# mounts): refused before anything is written, and nothing is left.
test_stage_refuses_no_space() {
	ready
	mount_tmpfs root/data 32k
	[ "$(stat -c %s v1.1.img)" -gt 32768 ] || fail "v1.1.img fits in 32 KiB"
	expect_fail 5 "not enough space on the data partition" sf stage v1.1.img
	grep -q "the image needs $(($(stat -c %s v1.1.img) >> 10)) KiB" err.txt ||
		fail "size not said: $(cat err.txt)"
	[ "$(ls -A root/data)" = slotflip ] || fail "files left: $(ls -A root/data)"
	[ -z "$(ls -A root/data/slotflip)" ] || fail "files left: $(ls -A root/data/slotflip)"
	sf_unmount_all
	# The ESP too: the applier writes slot b's EFI binary next to the old.
	mount_tmpfs root/esp 8k
	mkdir -p root/esp/EFI/slotflip/b
	expect_fail 5 "not enough space on the ESP (root/esp/EFI/slotflip/b) for slot b's EFI binary: it needs $(($(stat -c %s efi-1.1) >> 10)) KiB, 8 KiB are free" \
		sf stage v1.1.img
	[ -z "$(ls -A root/data/slotflip)" ] || fail "files left: $(ls -A root/data/slotflip)"
}

test_stage_reboot_and_progress_bar() {
	ready
	mkdir bin
	printf '#!/bin/sh\necho rebooted >"%s/rebooted"\n' "$PWD" >bin/reboot
	chmod +x bin/reboot
	PATH=$PWD/bin:$PATH sf stage --reboot v1.1.img >out.txt
	[ -e rebooted ] || fail "--reboot did not reboot"
	# On a terminal: a bar redrawn in place.
	script -qec "$SLOTFLIP --root root stage v1.1.img" /dev/null >tty.txt
	grep -q 'verifying  \[##############################\] 100%' tty.txt || {
		cat -A tty.txt
		fail "no progress bar on a terminal"
	}
	grep -q $'\r' tty.txt || fail "the bar is not redrawn in place"
}

test_mark_good_outside_trial() {
	ready
	on_trial
	sf mark-bad >/dev/null
	# The firmware boots the failed slot anyway (BootNext set by hand).
	efi_set BootNext 0200
	boot
	[ "$BOOTED" = b ] || fail "setup"
	expect_fail 1 "slot b is not on trial: it failed its trial" sf mark-good
	expect_fail 1 "slot b is not on trial: it failed its trial" sf mark-bad
	[ "$(state good)" = a ] || fail "state changed"
}

test_mark_bad_falls_back_at_once() {
	ready
	on_trial
	sf mark-bad --reason "health check 20-net failed" >out.txt
	grep -q "the next boot falls back to slot a" out.txt
	[ "$(state b.status)" = failed ] && [ "$(state trial)" = none ] &&
		[ "$(state result)" = trial-failed ] || fail "state"
	state reason | grep -q "marked bad: health check 20-net failed"
	[ "$(json .last_result.reason)" = "slot b (version 1.1) marked bad: health check 20-net failed" ] ||
		fail "status reason"
	boot
	[ "$BOOTED" = a ] && [ "$NEXT" = "next: boot a" ] || fail "fallback: $BOOTED $NEXT"
	[ -e root/data/slotflip/staged.img.failed ] || fail "staged image not moved aside"
	# In the good slot there is nothing to mark bad.
	expect_fail 1 "slot a is the good slot, not on trial" sf mark-bad
}

# last_apply_is FIELD=VALUE...: DATA_DIR/slotflip/last-result has these
# lines.
last_apply_is() {
	local kv
	for kv in "$@"; do
		grep -qxF "$kv" root/data/slotflip/last-result ||
			fail "last-result lacks $kv: $(cat root/data/slotflip/last-result)"
	done
}

# A trial marked bad is the last apply's outcome: last-result says so
# (with mark-bad's whole reason) at once, and status shows it.
test_mark_bad_records_the_fallback_in_last_result() {
	local why
	ready
	on_trial
	last_apply_is result=applied slot=b version=1.1
	why="health check 20-net failed (exit 1: $(printf 'x%.0s' $(seq 1 200)))"
	sf mark-bad --reason "$why" >out.txt
	last_apply_is result=trial-failed slot=b version=1.1 \
		"reason=slot b (version 1.1) marked bad: $why"
	[ "$(json .last_apply.result)" = trial-failed ] &&
		[ "$(json .last_apply.slot)" = b ] &&
		[ "$(json .last_apply.version)" = 1.1 ] &&
		[ "$(json .last_apply.reason)" = "slot b (version 1.1) marked bad: $why" ] ||
		fail "status: $(sf status --json)"
	sf status | grep -q "^last apply: *trial-failed, version 1.1 to slot b at 20..-..-.. ..:..:.. UTC: slot b (version 1.1) marked bad: health check 20-net" ||
		fail "text status: $(sf status)"
	# The fallback boot keeps it (the staged image goes aside).
	boot
	[ "$BOOTED" = a ] && [ -e root/data/slotflip/staged.img.failed ] ||
		fail "no fallback"
	last_apply_is result=trial-failed "reason=slot b (version 1.1) marked bad: $why"
}

# A power cut after mark-bad stored the state but before last-result was
# written: the fallback boot's slotflip-init writes it from the state.
test_fallback_boot_records_a_mark_bad_last_result_missed() {
	ready
	on_trial
	cp root/data/slotflip/last-result applied.txt
	sf mark-bad --reason "health check 20-net failed" >/dev/null
	cp applied.txt root/data/slotflip/last-result
	boot
	[ "$BOOTED" = a ] || fail "no fallback"
	last_apply_is result=trial-failed slot=b version=1.1 \
		"reason=slot b (version 1.1) marked bad: health check 20-net failed"
	[ "$(json .last_apply.result)" = trial-failed ] || fail "status"
	# Once: the next boot writes nothing.
	before=$(efi_fingerprint)
	cp root/data/slotflip/last-result result.before
	boot
	cmp -s root/data/slotflip/last-result result.before || fail "rewritten"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
}

# last-result that cannot be written (a directory in its place): mark-bad
# still records the failure in the EFI state, says so and succeeds.
test_mark_bad_last_result_not_writable() {
	ready
	on_trial
	rm root/data/slotflip/last-result
	mkdir root/data/slotflip/last-result
	sf mark-bad --reason "test says no" >out.txt 2>err.txt ||
		fail "mark-bad failed: $(cat err.txt)"
	grep -q "warning: cannot write .*root/data/slotflip/last-result: .*; the failure is recorded in the EFI state, and the next boot writes it there" err.txt ||
		fail "no warning: $(cat err.txt)"
	[ "$(state result)" = trial-failed ] || fail "state"
	grep -q "the next boot falls back to slot a" out.txt
}

# A trial that never confirms falls back after its tries: last-result and
# status say that it did not confirm, for which slot and version.
test_out_of_tries_recorded_in_last_result() {
	local i
	ready
	on_trial
	for i in $(seq 1 10); do
		boot
		[ "$BOOTED" = a ] && [ "$NEXT" = "next: boot a" ] && break
	done
	[ "$(state result)" = trial-failed ] || fail "state: $(state result)"
	last_apply_is result=trial-failed slot=b version=1.1 \
		"reason=slot b (version 1.1) did not confirm its trial after 3 tries"
	[ "$(json .last_apply.result)" = trial-failed ] &&
		[ "$(json .last_apply.reason)" = "slot b (version 1.1) did not confirm its trial after 3 tries" ] ||
		fail "status: $(sf status --json)"
	sf status | grep -q "^last apply: *trial-failed, version 1.1 to slot b at .*: slot b (version 1.1) did not confirm its trial after 3 tries" ||
		fail "text status: $(sf status)"
}

test_set_active_refusals_and_rollback() {
	ready
	expect_fail 1 "slot b holds no verified system (its status is invalid)" sf set-active b
	expect_fail 2 'give slot a or b, not "c"' sf set-active c
	sf set-active a | grep -q "already the good slot"
	on_trial
	sf mark-good >/dev/null
	# b (1.1) is good, the floor is 1.1; a still holds 1.0.
	expect_fail 1 "slot a holds version 1.0, under the anti-rollback floor 1.1: give --allow-downgrade" \
		sf set-active a
	[ "$(efi_get_u16 BootNext)" = "" ] || fail "BootNext set by a refusal"
	sf set-active a --allow-downgrade >out.txt
	grep -q "slot a (version 1.0) gets a trial of 3 boots" out.txt
	[ "$(efi_get_u16 BootNext)" = 0001 ] && [ "$(state trial)" = a ] &&
		[ "$(state tries)" = 2 ] && [ "$(state a.status)" = trial ] || fail "trial not armed"
	boot
	[ "$BOOTED" = a ] && [ "$NEXT" = "next: boot a" ] || fail "rollback boot"
	sf mark-good >/dev/null
	[ "$(state good)" = a ] && [ "$(state floor)" = 1.1 ] || fail "after the rollback"
	[ "$(efi_get_u16 BootOrder)" = 0001 ] || fail "BootOrder"
}

test_set_active_good_cancels_trial() {
	ready
	on_trial
	# From the trial slot, back to a: the trial ends now.
	sf set-active a >out.txt
	grep -q "trial of slot b (version 1.1) cancelled by set-active a" out.txt
	[ "$(state b.status)" = failed ] && [ "$(state trial)" = none ] || fail "state"
	boot
	[ "$BOOTED" = a ] || fail "did not fall back"
}

test_cancel() {
	ready
	sf cancel | grep -q "nothing is staged"
	sf stage v1.1.img >/dev/null
	sf cancel | grep -q "removed the staged image"
	[ ! -e root/data/slotflip/staged.img ] || fail "not removed"
	boot
	[ "$NEXT" = "next: boot a" ] || fail "something was applied"
	on_trial
	expect_fail 1 "the staged image is already applied: slot b runs it on trial" sf cancel
	[ -e root/data/slotflip/staged.img ] || fail "removed anyway"
}

test_not_root() {
	ready
	for cmd in "stage v1.1.img" mark-good mark-bad "set-active b" cancel \
		"boot-entries install" "boot-entries repair"; do
		expect_fail 6 "must run as root" \
			setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$SLOTFLIP" --root "$PWD/root" $cmd
	done
}

test_efivarfs_not_mounted() {
	ready
	rm -rf "$EFIVARS"
	for cmd in status mark-good mark-bad "set-active a" "stage v1.1.img" \
		cancel "boot-entries check"; do
		expect_fail 4 "efivarfs is not mounted at root/sys/firmware/efi/efivars" sf $cmd
	done
}

test_firmware_refuses_writes() {
	ready
	on_trial
	cp -a "$EFIVARS" vars.orig
	# Read-only efivarfs (or firmware refusing SetVariable): mark-good
	# fails with a clear message and changes nothing.
	bind_ro "$EFIVARS"
	expect_fail 4 "efivarfs is read-only or the firmware refused the write" sf mark-good
	grep -q "the trial is not confirmed .*run the command again" err.txt ||
		fail "no advice: $(cat err.txt)"
	diff -r vars.orig "$EFIVARS" || fail "variables changed"
	sf_unmount_all
	# NVRAM full: creating the boot entries fails with ENOSPC.
	write_disk
	mount_tmpfs "$EFIVARS" 64k
	cp -a vars.orig/. "$EFIVARS"/
	dd if=/dev/zero of="$EFIVARS/filler" bs=4k 2>/dev/null || true
	expect_fail 4 "firmware refused to store Boot0001: NVRAM is full" be install
	rm "$EFIVARS/filler"
	# The variable whose create failed is not left behind empty.
	diff -r vars.orig "$EFIVARS" || fail "variables changed"
	expect_rc 1 be check
	grep -q "Boot0001 (slot a): missing" out.txt || fail "check: $(cat out.txt)"
}

# Read-only efivarfs: set-active and mark-bad say that nothing was
# recorded, with exit 4, and leave every variable as it was.
test_state_writes_refused() {
	ready
	on_trial
	cp -a "$EFIVARS" vars.orig
	bind_ro "$EFIVARS"
	expect_fail 4 "nothing was changed. Once efivarfs is writable" sf set-active a
	expect_fail 4 "the failure is not recorded; the trial still falls back after its tries if it never confirms" \
		sf mark-bad --reason "test says no"
	diff -r vars.orig "$EFIVARS" || fail "variables changed"
	sf_unmount_all
	[ "$(state trial)" = b ] && [ "$(state b.status)" = trial ] || fail "state changed"
	# Once writable, the same commands work.
	sf mark-bad >/dev/null
	[ "$(state b.status)" = failed ] || fail "not marked bad once writable"
}

# An image staged behind the tool's back, signed with a key the device does
# not trust: status shows it as not verified (and says so), exit 0.
test_status_of_an_unverified_staged_image() {
	ready
	"$SF_BIN/slotflip-image" keygen -p other.pub -s other.sec >/dev/null
	KEY=other.sec image 1.1 foreign.img
	stage foreign.img
	sf status >out.txt
	grep -q "^staged image: *version 1.1, $(stat -c %s foreign.img) bytes, signatures not valid for the configured keys" out.txt ||
		fail "status: $(cat out.txt)"
	[ "$(json .staged.verified)" = false ] &&
		[ "$(json .staged.error)" = "signatures not valid for the configured keys" ] ||
		fail "status --json: $(sf status --json)"
	# Signed by the trusted key: verified.
	stage v1.1.img
	[ "$(json .staged.verified)" = true ] && [ "$(json .staged.error)" = null ] ||
		fail "status --json: $(sf status --json)"
}

test_config_missing_or_malformed() {
	ready
	expect_fail 3 "cannot read config file root/etc/nope.conf" sf --config /etc/nope.conf status
	sed 's/^tries = .*/tries = many/' root/etc/slotflip/slotflip.conf >root/etc/bad.conf
	expect_fail 3 "root/etc/bad.conf:4: tries must be a number from 1 to 100" \
		sf --config /etc/bad.conf mark-good
	printf 'compatible = x\nthis is not a setting\n' >root/etc/bad2.conf
	expect_fail 3 'bad2.conf:2: expected "key = value"' sf --config /etc/bad2.conf stage v1.1.img
}

test_usage_and_help() {
	expect_fail 2 'unknown command "frobnicate"' "$SLOTFLIP" frobnicate
	expect_fail 2 "give a command" "$SLOTFLIP"
	expect_fail 2 "an option given does not apply" "$SLOTFLIP" status --reason x
	expect_fail 2 "wrong number of arguments" "$SLOTFLIP" stage
	"$SLOTFLIP" --help | grep -q "Exit status: 0 done"
	for c in stage status mark-good mark-bad set-active cancel boot-entries; do
		"$SLOTFLIP" $c --help | grep -q "^Usage: slotflip $c" || fail "$c --help"
	done
}


# No state record yet: the runtime tool takes the running root's
# /etc/slotflip/version as the floor, as slotflip-init will at the next
# boot, so a downgrade is refused at staging already.
test_stage_without_a_record_takes_the_version_file() {
	device_setup
	echo 2.0 >root/etc/slotflip/version
	make_version 1.5
	image 1.5 v1.5.img
	[ ! -e "$STATE_FILE" ] || fail "a state record already"
	expect_fail 1 "version 1.5 is not above the anti-rollback floor 2.0" sf stage v1.5.img
	[ ! -e root/data/slotflip/staged.img ] || fail "staged"
}

run_cases
