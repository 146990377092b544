#!/bin/bash
# Scenarios that need the runtime tool (build/slotflip) inside the test
# systems: the full update cycle (1) and boot entries made by the product
# itself on a machine booted through the fallback path (7). `make
# qemu-check` builds build/slotflip; without it these cases fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cycle.sh"

need_slotflip() {
	[ -x "$SB/slotflip" ] || fail "no $SB/slotflip (the runtime tool): these scenarios run it inside the test systems (make qemu-check builds it)"
}

# Scenario 1 (tests/qemu/cycle.sh, the path `make demo` shows): in A,
# `slotflip stage` takes v2.0; the next boot applies it, B boots as the
# trial and confirms (slotflip-confirm: a health check, then `slotflip
# mark-good`): B is good, the floor is 2.0, BootOrder starts with B,
# `slotflip status` in B says so, and the next plain boot is B's, with no
# EFI variable of slotflip's written.
test_stage_apply_trial_confirm() {
	need_slotflip
	build_world cloud 2
	update_cycle
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
