# The full update cycle (scenario 1), shared by tests/qemu/test-runtime.sh,
# which asserts it, and scripts/demo.sh, which narrates the same steps and
# assertions. Sourced after tests/qemu/lib.sh, with build_world done.
#
# Hooks a caller may define (no-ops otherwise):
#   narrate N TEXT... before boot N, what happens in it
#   before_boot       just before a boot (BOOTS is the previous boot's number)
#   after_boot        just after it (LOG names its stripped serial log)
#   show_state        after each boot, to show the varstore

for hook in narrate before_boot after_boot show_state; do
	declare -F "$hook" >/dev/null || eval "$hook() { :; }"
done

# The scripts the test system runs once (qemu/mkrootfs.sh: the data
# partition's sftest/once.sh, sourced by the slot's init after it confirmed).
# Boot 1 (A): stage v2.0 with the product's own `slotflip stage`, show the
# status, leave the script of boot 3, reboot. Boot 3 (B, trial, after the
# confirm): show the status, leave the script of boot 4. Boot 4 (B): the
# final status.
cycle_machine_data() {
	mkdir -p data/incoming data/sftest
	cp "$W/img-2.0-confirm" data/incoming/v2.img
	cat >data/sftest/once.sh <<'ONCE'
slotflip stage /run/slotflip/data/incoming/v2.img && echo "SFTEST: staged"
slotflip status
printf '%s\n' 'echo "SFTEST: status after the confirm"' 'slotflip status' \
	"printf '%s\\n' 'echo \"SFTEST: final status\"' 'slotflip status' >/run/slotflip/data/sftest/once.sh" \
	>/run/slotflip/data/sftest/once.sh
action=reboot
ONCE
}

# status_block LOG TITLE: the `slotflip status` lines after the marker.
status_block() {
	sed -n "/$2/,/SFTEST: powering off/p" "$1" | grep -E '^[a-z ]+: '
}

# update_cycle: the four boots of scenario 1, each asserted on its serial
# log and on the varstore.
update_cycle() {
	machine_data() { cycle_machine_data; }
	machine
	unset -f machine_data
	vars state-init a 1.0

	narrate 1 "First boot: the firmware starts slot A (version 1.0). In A," \
		"\`slotflip stage\` checks the update image (v2.0: its signature," \
		"then every chunk) and copies it to the data partition, then A reboots."
	before_boot
	boot
	after_boot
	log_has "BdsDxe: starting Boot00A0"
	log_has "SFTEST: up slot=a version=1.0"
	log_has "staged version 2.0 .*slot b gets it at the next reboot"
	log_has "SFTEST: staged"
	log_has "staged image: +version 2.0, [0-9]+ bytes, signatures valid"
	show_state

	narrate 2 "Second boot, still slot A: slotflip-init (the initramfs' /init)" \
		"finds the staged image, checks it again chunk by chunk while" \
		"writing it into slot B, reads B back, gives B 2 trial boots and" \
		"sets BootNext to B."
	before_boot
	boot
	after_boot
	log_has "booted slot a; an update is staged"
	log_has "apply: 100%"
	log_has "version 2.0 written to slot b; trial armed with 2 tries"
	log_has "rebooting into slot b"
	expect_state trial b
	show_state

	narrate 3 "Third boot: the firmware follows BootNext to slot B, a trial" \
		"boot (one try is used before B's kernel runs). B's init runs" \
		"slotflip-confirm: its health checks (here one: the system's files" \
		"and the data partition are there), then \`slotflip mark-good\`."
	before_boot
	boot
	after_boot
	log_has "BdsDxe: starting Boot00B0"
	log_has "booted slot b; trial boot"
	log_has "SFTEST: up slot=b version=2.0"
	log_has "slotflip-confirm: running health check 10-system-up"
	log_has "slotflip-confirm: all health checks passed"
	log_has "SFTEST: confirmed"
	expect_state good b
	expect_state b.status good
	expect_state trial none
	expect_state floor 2.0
	[ "$(vars boot-order | cut -c1-4)" = 00B0 ] || fail "BootOrder $(vars boot-order)"
	status_block "$LOG" "SFTEST: status after the confirm" >status3.txt
	grep -Eq '^good slot: +b$' status3.txt || fail "status after the confirm: $(cat status3.txt)"
	show_state

	narrate 4 "Fourth boot, a plain one: BootOrder now starts with B, which is" \
		"the good slot; nothing is staged, and no EFI variable of slotflip's" \
		"is written."
	our_vars >before.txt
	before_boot
	boot
	after_boot
	log_has "BdsDxe: starting Boot00B0"
	log_has "booted slot b; nothing staged"
	# The two lines with kernel timestamps that make bench times.
	log_has '^\[ *[0-9]+\.[0-9]+\] slotflip-init: /init started'
	log_has "^\[ *[0-9]+\.[0-9]+\] slotflip-init: exec of the slot's init"
	log_has "SFTEST: up slot=b version=2.0"
	our_vars >after.txt
	diff before.txt after.txt >&2 || fail "a plain boot of B changed slotflip's EFI variables"
	status_block "$LOG" "SFTEST: final status" >status4.txt
	grep -Eq '^booted slot: +b$' status4.txt || fail "final status: $(cat status4.txt)"
	grep -Eq '^slot b: +good, version 2.0' status4.txt || fail "final status: $(cat status4.txt)"
	show_state
}
