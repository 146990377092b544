#!/bin/bash
# qemu/mkdebian.sh's refusals, each before it fetches or builds anything
# (the build itself is booted by tests/qemu/test-debian.sh).
. "$(dirname "$0")/lib.sh"

MKDEBIAN=$SF_SRCDIR/qemu/mkdebian.sh

# setup: a kernel directory, a config and a key that pass the checks.
setup() {
	mkdir -p kernel
	echo 6.1.0-0-amd64 >kernel/version
	echo "compatible = x" >slotflip.conf
	echo key >release.pub
}

# mkd_fails RC MESSAGE ARGS...: mkdebian exits RC and says MESSAGE.
mkd_fails() {
	local want=$1 msg=$2 rc=0
	shift 2
	"$@" >out.txt 2>err.txt || rc=$?
	[ "$rc" = "$want" ] || { cat err.txt >&2; fail "exit $rc, want $want"; }
	grep -qF -- "$msg" err.txt || { cat err.txt >&2; fail "did not say '$msg'"; }
	[ ! -e out.ext4 ] && [ ! -e out.ext4.tmp ] || fail "left an image"
}

test_usage() {
	setup
	mkd_fails 2 "Usage: qemu/mkdebian.sh" "$MKDEBIAN" -k kernel -c slotflip.conf
	mkd_fails 2 "Usage:" "$MKDEBIAN" -k kernel -c slotflip.conf -s 320 -o out.ext4
}

test_refuses_without_root() {
	[ "$(id -u)" = 0 ] || skip "needs root to drop it"
	setup
	chmod -R a+rX .
	mkd_fails 1 "must run as root" setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$MKDEBIAN" -k kernel -c slotflip.conf \
		-p release.pub -s 320 -o out.ext4
}

test_refuses_without_mmdebstrap() {
	[ "$(id -u)" = 0 ] || skip "the root check comes first"
	setup
	mkdir bin
	ln -s "$(command -v id)" bin/id
	mkd_fails 1 "mmdebstrap is missing: run scripts/install-deps.sh" \
		env PATH="$PWD/bin" /bin/bash "$MKDEBIAN" -k kernel -c slotflip.conf \
		-p release.pub -s 320 -o out.ext4
}

test_refuses_bad_inputs() {
	[ "$(id -u)" = 0 ] || skip "the root check comes first"
	command -v mmdebstrap >/dev/null || skip "no mmdebstrap (scripts/install-deps.sh)"
	setup
	mkdir empty
	mkd_fails 1 "empty is not an unpacked kernel (no version file): run qemu/fetch-kernel.sh" \
		"$MKDEBIAN" -k empty -c slotflip.conf -p release.pub -s 320 -o out.ext4
	mkd_fails 1 "no config nope.conf" \
		"$MKDEBIAN" -k kernel -c nope.conf -p release.pub -s 320 -o out.ext4
	mkd_fails 1 "overlay slotflip.conf is not a directory" \
		"$MKDEBIAN" -k kernel -c slotflip.conf -p release.pub -s 320 \
		-x slotflip.conf -o out.ext4
	mkd_fails 1 "size '3x' is not a number of MiB" \
		"$MKDEBIAN" -k kernel -c slotflip.conf -p release.pub -s 3x -o out.ext4
}

run_cases
