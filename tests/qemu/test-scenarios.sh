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
	log_has "switching root to slot a"
	log_has "SFTEST: up slot=a version=1.0"
	expect_state good a
	expect_state b.status invalid
	cp vars.fd vars-before.fd
	our_vars >before.txt
	boot
	log_has "SFTEST: up slot=a version=1.0"
	our_vars >after.txt
	diff before.txt after.txt >&2 || fail "a plain boot changed slotflip's EFI variables"
	grep -q '^SlotflipState-' after.txt || fail "no state in the varstore"
	"$VARS_TOOL" vars-before.fd dump >all-before.txt
	vars dump >all-after.txt
	echo "  variables the firmware itself changed:" \
		"$(diff all-before.txt all-after.txt | sed -n 's/^> \([^-]*\)-.*/\1/p' | tr '\n' ' ')" >&2
}

# Scenario 2: an image signed by a key the device does not trust (staged
# by bypassing the staging check) is refused at boot; A boots; the state
# and the console say why.
test_bad_signature_refused() {
	build_world cloud 2
	machine "$W/img-2.0-rogue"
	boot
	log_has "staged image refused: .*(key|signature)"
	log_has "SFTEST: up slot=a version=1.0"
	expect_state result refused
	state reason | grep -Eq "key|signature" || fail "reason: $(state reason)"
	expect_state good a
	expect_state b.status invalid
	vars get-u16 BootNext && fail "BootNext set after a refusal"
	true
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

# Scenario 8: a delta image (against 1.0) applies; B boots as the trial.
test_delta_applies_and_boots() {
	build_world cloud 2
	machine "$W/img-2.0-delta"
	vars state-init a 1.0
	boot
	log_has "apply: 100%"
	log_has "trial armed"
	log_has "rebooting into slot b"
	expect_state trial b
	expect_state b.status trial
	expect_state b.version 2.0
	[ "$(vars get-u16 BootNext)" = 0002 ] || fail "BootNext is not 0002"
	boot
	log_has "slotflip-init: booted slot b"
	log_has "SFTEST: up slot=b version=2.0"
	vars get-u16 BootNext && fail "BootNext still set after the trial boot"
	expect_state trial b
	expect_state good a
}

run_qemu_cases
