#!/bin/bash
# Scenarios that need the runtime tool (build/slotflip) inside the test
# systems: the full update cycle (1) and boot entries made by the product
# itself on a machine booted through the fallback path (7). Skipped, with
# the reason, when build/slotflip is not built.
. "$(dirname "$0")/lib.sh"

need_slotflip() {
	[ -x "$SB/slotflip" ] || skip "no $SB/slotflip (the runtime tool, built on its own branch): these scenarios run it inside the test systems"
}

# Scenario 1: in A, `slotflip stage` takes v2.0; the next boot applies it,
# B boots as the trial and confirms (`slotflip mark-good`): B is good, the
# floor is 2.0, BootOrder starts with B, and the next plain boot is B's,
# with no EFI variable written.
test_stage_apply_trial_confirm() {
	need_slotflip
	build_world cloud 2
	machine_data() {
		mkdir -p data/incoming data/sftest
		cp "$W/img-2.0-confirm" data/incoming/v2.img
		cat >data/sftest/once.sh <<'ONCE'
slotflip stage /run/slotflip/data/incoming/v2.img && echo "SFTEST: staged"
slotflip status
action=reboot
ONCE
	}
	machine
	unset -f machine_data
	vars state-init a 1.0
	boot
	log_has "SFTEST: up slot=a version=1.0"
	log_has "SFTEST: staged"
	boot
	log_has "booted slot a; an update is staged"
	log_has "rebooting into slot b"
	boot
	log_has "SFTEST: up slot=b version=2.0"
	log_has "SFTEST: confirmed"
	expect_state good b
	expect_state b.status good
	expect_state trial none
	expect_state floor 2.0
	[ "$(vars boot-order | cut -c1-4)" = 00B0 ] || fail "BootOrder $(vars boot-order)"
	our_vars >before.txt
	boot
	log_has "booted slot b; nothing staged"
	log_has "SFTEST: up slot=b version=2.0"
	our_vars >after.txt
	diff before.txt after.txt >&2 || fail "a plain boot of B changed slotflip's EFI variables"
}

# Scenario 7: no boot entries of ours: the firmware boots the fallback
# \EFI\BOOT\BOOTX64.EFI (A's UKI); `slotflip boot-entries install` in A
# creates Boot00A0/Boot00B0 with the bytes the harness' own encoder makes,
# and the next boot goes through Boot00A0.
test_boot_entries_install_from_fallback_path() {
	need_slotflip
	build_world cloud 2
	machine_data() {
		mkdir -p data/sftest
		echo 'slotflip boot-entries install && echo "SFTEST: entries installed"' \
			>data/sftest/once.sh
	}
	NO_ENTRIES=1 machine
	unset -f machine_data
	boot
	log_has "SFTEST: up slot=a version=1.0"
	log_has "SFTEST: entries installed"
	cp "$OVMF_VARS" want.fd
	for s in a:00A0 b:00B0; do
		"$VARS_TOOL" want.fd boot-entry "${s#*:}" "slotflip ${s%:*}" 1 \
			"$ESP_START" "$ESP_SECTORS" "$ESP_GUID" \
			"\\EFI\\slotflip\\${s%:*}\\linux.efi"
		got=$(vars get "Boot${s#*:}") || fail "no Boot${s#*:}"
		want=$("$VARS_TOOL" want.fd get "Boot${s#*:}")
		# The description is the product's choice: compare from the
		# device path on (after the description's UCS-2 NUL).
		[ "${got#*0000040}" = "${want#*0000040}" ] ||
			fail "Boot${s#*:}: $got, want the device path of $want"
	done
	[ "$(vars boot-order | cut -c1-9)" = 00A0,00B0 ] || fail "BootOrder $(vars boot-order)"
	boot
	log_has "BdsDxe: (loading|starting) Boot00A0"
	log_has "SFTEST: up slot=a version=1.0"
}

# Scenario 2, the user's side: after a badly signed image was refused at
# boot, `slotflip status` in A shows the refusal and its reason.
test_status_shows_refusal_reason() {
	need_slotflip
	build_world cloud 2
	machine_data() {
		mkdir -p data/sftest
		echo 'slotflip status' >data/sftest/once.sh
	}
	machine "$W/img-2.0-rogue"
	unset -f machine_data
	boot
	log_has "staged image refused"
	log_has "SFTEST: running the test's once.sh"
	sed -n "/running the test's once.sh/,/SFTEST: powering off/p" "$LOG" >status.txt
	grep -q "refused" status.txt || fail "status does not show the refusal"
	grep -q "signatures from 0 of the 1 trusted keys" status.txt ||
		fail "status does not show the reason"
}

run_qemu_cases
