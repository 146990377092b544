#!/bin/bash
# Power cuts: slotflip-init --root on the fake device (firmware.sh) is
# stopped at every fault point of a boot (SLOTFLIP_FAULT_AT=N: slot writes
# and flushes, the EFI binary's write/flush/rename, EFI variable writes, the
# result file, staged-image renames), then the device is "powered on again":
# the fake firmware boots (BootNext, else BootOrder) and slotflip-init runs
# on, boot after boot, until the scenario settles. After every firmware boot
# and every decision the slot about to run must hold a complete system, and
# the end must be the same as without the power cut. Each case works in a
# tmpfs when it may mount one (the many fsyncs are slow on a disk).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
. "$(dirname "$0")/mount.sh"
# state_is FIELD=VALUE...: the state holds these values (one state-tool
# run: this test makes thousands of checks).
state_is() {
	local kv fields=() want=""
	for kv in "$@"; do
		fields+=("${kv%%=*}")
		want+="${kv#*=}"$'\n'
	done
	[ "$("$STATE" root get "${fields[@]}")"$'\n' = "$want" ]
}

# The points tried in this case, and how many of each kind.
TRIED=0
declare -A KINDS

# A new payload version that differs from 1.0 in a few 4 KiB blocks only,
# for delta images: rootfs-V and efi-V.
make_small_change() {
	cp rootfs-1.0 "rootfs-$1"
	for blk in 3 40 41 97 140; do
		printf 'changed block %s in %s' "$blk" "$1" |
			dd of="rootfs-$1" bs=1 seek=$((blk * 4096 + 100)) \
				conv=notrunc 2>/dev/null
	done
	{ echo "efi $1"; seq 1 3000; } >"efi-$1"
}

# slot_complete SLOT: the slot the firmware or slotflip-init picked holds a
# complete system: a is always the untouched 1.0; b only when it fully holds
# the new version and the state armed it as the trial.
slot_complete() {
	case $1 in
	a)
		cmp -s root/slots/a.img a.orig ||
			fail "slot a changed ($WHERE)"
		cmp -s root/esp/EFI/slotflip/a/linux.efi efi-1.0 ||
			fail "slot a's EFI binary changed ($WHERE)"
		;;
	b)
		slot_holds b "$NEW" || fail "slot b picked but incomplete ($WHERE)"
		state_is trial=b b.status=trial "b.version=$NEW" ||
			fail "slot b picked but not armed as the trial ($WHERE)"
		;;
	esac
}

# check_next: the slot slotflip-init's decision runs is complete.
check_next() {
	case $NEXT in
	"next: boot a" | "next: reboot (BootNext=a)") slot_complete a ;;
	"next: boot b" | "next: reboot (BootNext=b)") slot_complete b ;;
	*) cat init.out; fail "unexpected decision '$NEXT' ($WHERE)" ;;
	esac
}

# boot_on SETTLED: boot (firmware + slotflip-init) until the function
# SETTLED says the scenario is over, checking every boot; at most 8 boots.
boot_on() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		fw_boot
		slot_complete "$BOOTED"
		init
		check_next
		"$1" && return 0
	done
	fail "did not settle after 8 boots ($WHERE)"
}

# crash_sweep STEP SETTLED FINAL: the device is powered on (fw_boot done)
# and slotflip-init is about to run. Count this boot's fault points, then
# for every STEP-th of them (and the last 8, and the first), from a copy of
# the device: cut the power there, boot on until SETTLED, and run FINAL.
# Leaves the device as after this boot run without a fault.
crash_sweep() {
	local step=$1 settled=$2 final=$3 total n kind
	rm -rf snap && cp -a root snap
	total=$(fault_total)
	[ "$total" -gt 0 ] || fail "no fault points counted"
	for ((n = 1; n <= total; n++)); do
		[ $(((n - 1) % step)) -eq 0 ] || [ "$n" -gt $((total - 8)) ] ||
			continue
		rm -rf root && cp -a snap root
		kind=$(cut_at "$n")
		WHERE="power cut at point $n of $total ($kind)"
		boot_on "$settled"
		"$final"
		TRIED=$((TRIED + 1))
		KINDS[$kind]=$((${KINDS[$kind]:-0} + 1))
	done
	rm -rf root && mv snap root
	init
}

report() {
	local k
	for k in "${!KINDS[@]}"; do echo "  $k: ${KINDS[$k]}"; done | sort
	echo "crash points tried: $TRIED"
	[ "$TRIED" -ge "$1" ] || fail "only $TRIED crash points tried, want >= $1"
}

# The apply scenario: v1.0 in a, NEW staged.
settled_trial() { [ "$BOOTED" = b ] && [ "$NEXT" = "next: boot b" ]; }
final_trial() {
	slot_holds b "$NEW" || fail "b not complete at the end ($WHERE)"
	state_is good=a a.status=good a.version=1.0 ||
		fail "good slot a lost ($WHERE)"
	# Arming consumes one try; a cut between arming and BootNext makes
	# the next boot count a retry, so one more may be gone.
	state_is tries=2 || state_is tries=1 || fail "tries left $(state tries) ($WHERE)"
	grep -q "^result=applied$" root/data/slotflip/last-result &&
		grep -q "^version=$NEW$" root/data/slotflip/last-result ||
		fail "last-result: $(cat root/data/slotflip/last-result) ($WHERE)"
	! ls root/esp/EFI/slotflip/b/ | grep -q '\.new$' ||
		fail "a temporary EFI binary is left ($WHERE)"
	! ls root/data/slotflip/ | grep -q '\.tmp\.' ||
		fail "a temporary result file is left ($WHERE)"
}

# A device running 1.0 in a (the version recorded at provisioning).
apply_setup() {
	in_tmpfs 64m
	device_setup "${1:-3}"
	boot
	"$STATE" root set a.version=1.0
	cp root/slots/a.img a.orig
}

test_power_cut_during_full_apply() {
	apply_setup
	NEW=1.1
	stage_version 1.1
	fw_boot
	crash_sweep 1 settled_trial final_trial
	report 100
}

test_power_cut_during_delta_apply() {
	apply_setup
	image 1.0 v1.0.img
	NEW=1.2
	make_small_change 1.2
	image 1.2 d1.2.img --delta-from v1.0.img
	"$SF_BIN/slotflip-image" inspect d1.2.img | grep -q "reference [1-9]" ||
		fail "not a delta image with reference chunks"
	stage d1.2.img
	fw_boot
	crash_sweep 3 settled_trial final_trial
	report 40
}

# The same two sweeps with format 1 images, coarser (every fifth and every
# ninth point, and the last eight): what a power cut meets is the same
# writes, flushes and renames; only the chunk decoder differs.
test_power_cut_during_full_apply_format_1() {
	FORMAT=1
	apply_setup
	NEW=1.1
	stage_version 1.1
	"$SF_BIN/slotflip-image" inspect v1.1.img | grep -q "format 1)$" ||
		fail "not a format 1 image"
	fw_boot
	crash_sweep 5 settled_trial final_trial
	report 30
}

test_power_cut_during_delta_apply_format_1() {
	FORMAT=1
	apply_setup
	image 1.0 v1.0.img
	NEW=1.2
	make_small_change 1.2
	image 1.2 d1.2.img --delta-from v1.0.img
	"$SF_BIN/slotflip-image" inspect d1.2.img | grep -q "format 1)$" ||
		fail "not a format 1 delta"
	stage d1.2.img
	fw_boot
	crash_sweep 9 settled_trial final_trial
	report 20
}

# A second power cut while the next boot redoes the apply: after any two
# cuts, booting on still ends with b complete and armed.
test_two_power_cuts() {
	apply_setup
	NEW=1.1
	stage_version 1.1
	fw_boot
	rm -rf snap && cp -a root snap
	# Not the last points: a cut between arming the trial and BootNext
	# costs a try (docs/BOOT.md), and a second cut another.
	for first in 2 40 120 151; do
		rm -rf root && cp -a snap root
		cut_at "$first" >/dev/null
		fw_boot
		rm -rf snap2 && cp -a root snap2
		total=$(fault_total)
		for second in 1 2 $((total / 2)) $((total - 1)) $total; do
			rm -rf root && cp -a snap2 root
			cut_at "$second" >/dev/null
			WHERE="power cuts at point $first, then $second of $total"
			boot_on settled_trial
			final_trial
			TRIED=$((TRIED + 1))
		done
	done
	echo "pairs of power cuts tried: $TRIED"
}

# The boots after the apply: a retry (a trial that never confirms comes back
# to a through BootOrder) and the fallback once the tries are gone.
settled_fallback() { [ "$BOOTED" = a ] && state_is b.status=failed; }
final_fallback() {
	state_is good=a trial=none || fail "state after the fallback ($WHERE)"
	[ -e root/data/slotflip/staged.img.failed ] &&
		[ ! -e root/data/slotflip/staged.img ] ||
		fail "staged image not moved aside ($WHERE)"
	grep -q "^result=trial-failed$" root/data/slotflip/last-result ||
		fail "last-result: $(cat root/data/slotflip/last-result) ($WHERE)"
}

test_power_cut_during_retry_and_fallback() {
	apply_setup 2
	NEW=1.1
	stage_version 1.1
	boot
	boot # b, trial 1 of 2: never confirms
	[ "$BOOTED" = b ] || fail "trial not booted"
	fw_boot # back to a through BootOrder: retry
	[ "$BOOTED" = a ] || fail "firmware did not come back to a"
	crash_sweep 1 settled_fallback final_fallback
	boot # b, trial 2 of 2
	[ "$BOOTED" = b ] || fail "second trial not booted"
	fw_boot # a: out of tries, fallback
	crash_sweep 1 settled_fallback final_fallback
	report 4
}

# A refusal: the record, the result file and the move aside.
settled_refused() { [ "$BOOTED" = a ] && [ ! -e root/data/slotflip/staged.img ]; }
final_refused() {
	[ -e root/data/slotflip/staged.img.refused ] ||
		fail "staged image not moved aside ($WHERE)"
	[ "$(state result)" = refused ] || fail "refusal not recorded ($WHERE)"
	grep -q "^result=refused$" root/data/slotflip/last-result &&
		grep -q 'is for "other-board"' root/data/slotflip/last-result ||
		fail "last-result: $(cat root/data/slotflip/last-result) ($WHERE)"
	cmp -s root/slots/b.img b.orig || fail "slot b changed ($WHERE)"
}

test_power_cut_during_refusal() {
	apply_setup
	cp root/slots/b.img b.orig
	NEW=1.1
	make_version 1.1
	image 1.1 other.img --compatible other-board
	stage other.img
	fw_boot
	crash_sweep 1 settled_refused final_refused
	report 3
}

run_cases
