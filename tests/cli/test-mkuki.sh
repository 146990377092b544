#!/bin/bash
# initrd/mkuki.sh: a UKI from systemd's EFI stub, signed for Secure Boot
# with --sign KEY CERT (sbsign, checked with sbverify). The "kernel" and
# the "initramfs" here are small files: only the PE layout and the
# signature matter.
. "$(dirname "$0")/lib.sh"
MKUKI=$SF_SRCDIR/initrd/mkuki.sh
STUB=${SLOTFLIP_EFI_STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}

setup() {
	[ -r "$STUB" ] || skip "no EFI stub $STUB (systemd-boot-efi)"
	command -v sbsign >/dev/null || skip "no sbsign (sbsigntool)"
	head -c 100000 /dev/urandom >vmlinuz
	echo initrd >initrd
	for k in db rogue; do
		openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
			-subj "/CN=test $k" -keyout $k.key -out $k.pem 2>/dev/null
	done
}

uki() { "$MKUKI" -k vmlinuz -i initrd -c "console=ttyS0 slotflip.slot=a" "$@"; }

test_signed_uki_verifies_with_its_certificate() {
	setup
	uki -v 1.2 --sign db.key db.pem -o a.efi >out.txt
	grep -q "a.efi: [0-9]* bytes, signed by .*CN *= *test db" out.txt ||
		fail "output: $(cat out.txt)"
	sbverify --cert db.pem a.efi >/dev/null 2>&1 || fail "does not verify"
	! sbverify --cert rogue.pem a.efi >/dev/null 2>&1 || fail "verifies with another cert"
	objcopy -O binary --only-section=.osrel a.efi osrel
	grep -qx "VERSION_ID=1.2" osrel || fail "osrel: $(cat osrel)"
	uki -o plain.efi >/dev/null
	! sbverify --cert db.pem plain.efi >/dev/null 2>&1 || fail "unsigned UKI verifies"
}

test_sign_refusals_leave_no_output() {
	setup
	expect_fail 1 "sbsign failed (is rogue.key the unencrypted private key of db.pem?)" \
		uki --sign rogue.key db.pem -o a.efi
	[ ! -e a.efi ] && [ ! -e a.efi.tmp ] || fail "output left behind"
	# A signature that does not verify (a broken sbsign) is not kept.
	mkdir bin
	printf '#!/bin/sh\necho "Signature verification failed"; exit 1\n' >bin/sbverify
	chmod +x bin/sbverify
	PATH=$PWD/bin:$PATH expect_fail 1 "the signed UKI does not verify against db.pem: Signature verification failed" \
		uki --sign db.key db.pem -o a.efi
	[ ! -e a.efi ] && [ ! -e a.efi.tmp ] || fail "output left behind"
	expect_fail 1 "no signing key nokey" uki --sign nokey db.pem -o a.efi
	expect_fail 1 "no signing certificate nocert" uki --sign db.key nocert -o a.efi
	echo junk >bad.key
	expect_fail 1 "sbsign failed (is bad.key the unencrypted private key of db.pem?)" \
		uki --sign bad.key db.pem -o a.efi
	[ ! -e a.efi ] || fail "output left behind"
	expect_fail 2 "Usage" uki -o a.efi --sign db.key
}

run_cases
