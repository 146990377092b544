#!/bin/bash
# `make install DESTDIR=... PREFIX=...` into a temporary directory.
. "$(dirname "$0")/lib.sh"

test_make_install() {
	make -s -C "$SF_SRCDIR" install DESTDIR="$PWD/dest" PREFIX=/usr >make.out 2>&1 ||
		{ cat make.out; fail "make install failed"; }
	for f in usr/sbin/slotflip usr/lib/slotflip/slotflip-confirm \
		usr/lib/slotflip/slotflip-init usr/bin/slotflip-image; do
		[ -x "dest/$f" ] || fail "$f missing or not executable"
	done
	cmp "$SF_SRCDIR/bootctl/slotflip-confirm" dest/usr/lib/slotflip/slotflip-confirm
	unit=dest/usr/lib/systemd/system/slotflip-confirm.service
	grep -qx "ExecStart=/usr/lib/slotflip/slotflip-confirm" $unit || fail "ExecStart"
	grep -qx "Environment=SLOTFLIP=/usr/sbin/slotflip" $unit || fail "SLOTFLIP"
	grep -qx "After=local-fs.target boot-complete.target multi-user.target" $unit
	grep -qx "OnFailure=slotflip-trial-failed.service" $unit || fail "OnFailure"
	! grep -q @ $unit || fail "placeholder left in the unit"
	failed=dest/usr/lib/systemd/system/slotflip-trial-failed.service
	grep -qx "ExecStart=/usr/lib/slotflip/slotflip-confirm --failed" $failed ||
		fail "the OnFailure unit's ExecStart"
	! grep -q @ $failed || fail "placeholder left in $failed"
	! grep -q "^Conflicts=shutdown.target" $failed ||
		fail "$failed conflicts with the reboot it asks for"
	fetch=dest/usr/lib/systemd/system/slotflip-fetch.service
	grep -qx "ExecStart=/usr/sbin/slotflip fetch --stage" $fetch ||
		fail "the fetch unit's ExecStart"
	timer=dest/usr/lib/systemd/system/slotflip-fetch.timer
	grep -qx "RandomizedDelaySec=1h" $timer || fail "no randomized delay"
	! grep -q @ $fetch $timer || fail "placeholder left in the fetch units"
	[ -x dest/usr/lib/slotflip/slotflip-http ] || fail "no slotflip-http"
	grep -qF /usr/lib/slotflip/slotflip-http dest/usr/sbin/slotflip ||
		fail "slotflip does not name the installed helper"
	grep -qx "RuntimeWatchdogSec=30s" \
		dest/usr/lib/systemd/system.conf.d/slotflip-watchdog.conf ||
		fail "no watchdog drop-in"
	[ -d dest/etc/slotflip/health.d ] || fail "no health.d"
	[ -f dest/usr/share/doc/slotflip/RUNTIME.md ] || fail "no docs"
	# The programs are static (the initramfs has no libraries) and run.
	for f in usr/sbin/slotflip usr/lib/slotflip/slotflip-init; do
		ldd "dest/$f" 2>&1 | grep -q "not a dynamic executable" ||
			fail "$f is not static"
	done
	dest/usr/sbin/slotflip --help | grep -q "^Usage: slotflip"
	# The sample config parses: status gets past it and stops at the
	# missing efivarfs (exit 4), not at the config (exit 3).
	rc=0
	dest/usr/sbin/slotflip --root dest --config /etc/slotflip/slotflip.conf.sample \
		status >out.txt 2>err.txt || rc=$?
	[ "$rc" = 4 ] && grep -q "efivarfs is not mounted" err.txt ||
		{ cat err.txt; fail "sample config: exit $rc"; }
}

run_cases
