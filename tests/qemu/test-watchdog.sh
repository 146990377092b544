#!/bin/bash
# Scenario 4: the trial hangs in userspace. Generic Debian kernel (it has
# the i6300esb driver), QEMU's i6300esb watchdog, tries = 1: slotflip-init
# arms /dev/watchdog for the trial, the watchdog resets the hung B, and
# the next boot of A records the failure.
. "$(dirname "$0")/lib.sh"

test_hung_trial_is_reset_by_the_watchdog() {
	build_world generic 1
	machine "$W/img-2.0-hang"
	vars state-init a 1.0
	boot -device i6300esb -action watchdog=reset
	log_has "trial armed with 1 tries"
	log_has "rebooting into slot b"
	boot -device i6300esb -action watchdog=reset
	log_has "slotflip-init: watchdog armed: 10 s"
	log_has "SFTEST: hanging"
	log_lacks "SFTEST: powering off"
	boot -device i6300esb -action watchdog=reset
	log_has "update failed: slot b \\(version 2.0\\) did not confirm its trial after 1 tries"
	log_has "SFTEST: up slot=a version=1.0"
	expect_state good a
	expect_state b.status failed
	expect_state result trial-failed
}

run_qemu_cases
