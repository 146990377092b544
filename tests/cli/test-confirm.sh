#!/bin/bash
# The boot-confirm script (bootctl/slotflip-confirm) on the fake device of
# tests/cli/firmware.sh: health checks, mark-good or mark-bad and reboot,
# its OnFailure= mode (a failed gate, the trial's deadline).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
. "$(dirname "$0")/slotflip.sh"

# health NAME RC: a check that notes it ran and exits RC.
health() {
	mkdir -p root/etc/slotflip/health.d
	printf '#!/bin/sh\necho %s >>"%s/ran"\nexit %s\n' "$1" "$PWD" "$2" \
		>"root/etc/slotflip/health.d/$1"
	chmod +x "root/etc/slotflip/health.d/$1"
}

# confirm: run the script with slotflip and a stub reboot; rc in CONFIRM_RC.
confirm() {
	mkdir -p bin
	printf '#!/bin/sh\necho rebooted >"%s/rebooted"\n' "$PWD" >bin/reboot
	chmod +x bin/reboot
	CONFIRM_RC=0
	SLOTFLIP=$SLOTFLIP PATH=$PWD/bin:$PATH "$CONFIRM" --root root "$@" \
		>confirm.out 2>&1 || CONFIRM_RC=$?
}

# marked_bad_and_falls_back REASON: slot b (1.1) was marked bad for
# REASON and the script rebooted; the next boot is slot a's.
marked_bad_and_falls_back() {
	[ "$(state b.status)" = failed ] || fail "not marked bad"
	[ "$(state reason)" = "slot b (version 1.1) marked bad: $1" ] ||
		fail "reason: $(state reason)"
	[ -e rebooted ] || fail "did not reboot"
	boot
	[ "$BOOTED" = a ] && [ "$NEXT" = "next: boot a" ] || fail "no fallback"
}

test_confirm_all_checks_pass() {
	ready
	on_trial
	health 10-disk 0
	health 20-net 0
	printf 'exit 1\n' >root/etc/slotflip/health.d/README # not executable
	confirm
	[ "$CONFIRM_RC" = 0 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	[ "$(cat ran | tr '\n' ' ')" = "10-disk 20-net " ] || fail "checks run: $(cat ran)"
	[ "$(state good)" = b ] && [ "$(state b.status)" = good ] || fail "not marked good"
	[ ! -e rebooted ] || fail "rebooted"
}

test_confirm_failing_check_marks_bad_and_reboots() {
	ready
	on_trial
	health 10-disk 0
	health 20-net 3
	health 30-app 0
	confirm
	[ "$CONFIRM_RC" = 1 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	[ "$(cat ran | tr '\n' ' ')" = "10-disk 20-net " ] || fail "checks run: $(cat ran)"
	marked_bad_and_falls_back "health check 20-net failed (exit status 3)"
}

test_confirm_check_timeout() {
	ready
	on_trial
	mkdir -p root/etc/slotflip/health.d
	printf '#!/bin/sh\nsleep 30\n' >root/etc/slotflip/health.d/50-hang
	chmod +x root/etc/slotflip/health.d/50-hang
	SLOTFLIP_CHECK_TIMEOUT=1 confirm
	[ "$CONFIRM_RC" = 1 ] && [ -e rebooted ] || fail "exit $CONFIRM_RC"
	state reason | grep -q "health check 50-hang failed (no answer within 1 s)"
}

test_confirm_in_good_slot_never_reboots() {
	ready
	before=$(efi_fingerprint)
	confirm
	[ "$CONFIRM_RC" = 0 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	grep -q "already the good slot" confirm.out
	health 20-net 1
	confirm
	[ "$CONFIRM_RC" = 1 ] || fail "exit $CONFIRM_RC"
	grep -q "not on trial: not rebooting" confirm.out
	[ ! -e rebooted ] || fail "the good slot was rebooted"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
}

# systemctl_stub FAILED_UNITS JOBS: what `systemctl list-units --failed`
# and `systemctl list-jobs` show to slotflip-confirm --failed.
systemctl_stub() {
	mkdir -p bin
	cat >bin/systemctl <<STUB
#!/bin/sh
case "\$*" in
*list-units*--failed*) for u in $1; do echo "\$u loaded failed failed A unit"; done ;;
*list-jobs*) n=1; for j in $2; do echo "\$n \$j start waiting"; n=\$((n + 1)); done ;;
*) exit 1 ;;
esac
STUB
	chmod +x bin/systemctl
}

# The confirm unit's OnFailure=: a gate of boot-complete.target failed.
test_confirm_failed_gate_marks_bad_and_reboots() {
	ready
	on_trial
	systemctl_stub "slotflip-confirm.service gate.service" ""
	confirm --failed
	[ "$CONFIRM_RC" = 0 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	marked_bad_and_falls_back "boot not complete: gate.service failed"
}

# The trial's deadline passed (the confirm job timed out): no failed unit,
# the jobs still waiting and the uptime in the reason.
test_confirm_failed_deadline_names_waiting_jobs() {
	ready
	on_trial
	systemctl_stub "" "slotflip-trial-failed.service gate.service boot-complete.target x.service"
	mkdir -p root/proc
	echo "151.27 140.00" >root/proc/uptime
	confirm --failed
	[ "$CONFIRM_RC" = 0 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	[ "$(state reason)" = "slot b (version 1.1) marked bad: trial deadline passed (up 151 s; waiting: gate.service boot-complete.target)" ] ||
		fail "reason: $(state reason)"
	[ -e rebooted ] || fail "did not reboot"
}

# In the good slot a failed gate changes nothing and never reboots.
test_confirm_failed_in_good_slot_does_nothing() {
	ready
	systemctl_stub "gate.service" ""
	before=$(efi_fingerprint)
	confirm --failed
	[ "$CONFIRM_RC" = 0 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	grep -q "not on trial: nothing to do" confirm.out || fail "$(cat confirm.out)"
	[ ! -e rebooted ] || fail "the good slot was rebooted"
	[ "$(efi_fingerprint)" = "$before" ] || fail "an EFI variable was written"
}

# mark-bad failing otherwise (here: no efivarfs) is reported, not hidden,
# and does not reboot.
test_confirm_failed_mark_bad_error_is_reported() {
	ready
	on_trial
	systemctl_stub "gate.service" ""
	rm -rf root/sys/firmware/efi/efivars
	confirm --failed
	[ "$CONFIRM_RC" = 4 ] || { cat confirm.out; fail "exit $CONFIRM_RC"; }
	grep -q "slotflip mark-bad failed (exit status 4)" confirm.out || fail "$(cat confirm.out)"
	[ ! -e rebooted ] || fail "rebooted"
}

run_cases
