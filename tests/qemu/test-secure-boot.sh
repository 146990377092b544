#!/bin/bash
# Boot scenarios with UEFI Secure Boot on (cloud kernel, tries = 2): OVMF's
# Secure Boot build (SMM, secure flash) and a varstore whose db holds the
# project's test certificate (the "secboot world" below). Signed UKIs boot,
# update and confirm; a trial UKI that is unsigned or signed by another key
# is refused by the firmware, which costs the trial its tries and falls
# back to the good slot; an older, validly signed slot written into the
# spare from the host never runs its userspace (the anti-rollback floor).
. "$(dirname "$0")/lib.sh"

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
# The image database (db) and the certificate type of its entries.
DB_GUID=d719b2cb-3d3a-4596-a3bc-dad00e67656f
EFI_CERT_X509=a159c0a5e494a74a87b5ab155c2bf072
OWNER=5f1e00000000004080000000000000ff

# Secure Boot OVMF runs its variable store in SMM, on secure flash.
qemu_cmd() {
	QEMU=(qemu-system-x86_64 -accel tcg -m 256 -display none -monitor none
		-net none -no-user-config -machine q35,smm=on
		-global driver=cfi.pflash01,property=secure,value=on
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
		-drive "if=pflash,format=raw,unit=1,file=vars.fd"
		-drive "file=disk.img,format=raw,if=virtio")
}

# le32 N: N as 4 little-endian bytes, in hex.
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

# esl_hex CERT.pem: an EFI_SIGNATURE_LIST holding that X.509 certificate,
# in hex (UEFI 2.10, 32.4.1): type, list size, header size 0, entry size;
# the entry is the owner GUID and the DER certificate.
esl_hex() {
	local der n
	der=$(openssl x509 -in "$1" -outform DER | xxd -p | tr -d '\n')
	n=$((${#der} / 2))
	echo "$EFI_CERT_X509$(le32 $((28 + 16 + n)))$(le32 0)$(le32 $((16 + n)))$OWNER$der"
}

# sb_uki OUT SLOT ACTION INITRD [KEY CERT]: a UKI, signed with KEY/CERT
# (default: the project's test db key), or unsigned when KEY is "-".
sb_uki() {
	local out=$1 slot=$2 action=$3 initrd=$4 key=${5:-$WS/db.key} cert=${6:-$WS/db.pem}
	local sign=(--sign "$key" "$cert")
	[ "$key" != - ] || sign=()
	"$SRC/initrd/mkuki.sh" -k "$WS/kernel/vmlinuz" -i "$initrd" \
		-c "console=ttyS0 panic=1 slotflip.slot=$slot sftest.action=$action" \
		-n "slotflip test $slot" "${sign[@]}" -o "$out" >/dev/null
}

# build_sb_world: the secboot world in $W, from the cloud world's root
# filesystems and release key: initramfs images that know their version
# (mkinitramfs.sh -v), UKIs signed with the project's test db key, one
# unsigned and one signed by a key the firmware does not trust, the update
# images carrying them, and the test key's db entry (db.hex).
build_sb_world() {
	local v
	build_world cloud 2
	local WC=$W
	WS=$QDIR/world-secboot
	if [ -e "$WS/done" ] && [ "$WS/done" -nt "$WC/done" ] &&
		[ "$WS/done" -nt "$SRC/initrd/mkuki.sh" ] &&
		[ "$WS/done" -nt "$SRC/initrd/mkinitramfs.sh" ]; then
		W=$WS
		return 0
	fi
	rm -rf "$WS"
	mkdir -p "$WS/kernel"
	cp "$WC/kernel/vmlinuz" "$WS/kernel/vmlinuz"
	for f in release.pub release.sec slotflip.conf rootfs-0.9.ext4 \
		rootfs-1.0.ext4 rootfs-2.0.ext4; do
		ln "$WC/$f" "$WS/$f" 2>/dev/null || cp "$WC/$f" "$WS/$f"
	done
	for k in db rogue; do
		openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
			-subj "/CN=slotflip test $k key" -keyout "$WS/$k.key" \
			-out "$WS/$k.pem" 2>/dev/null || fail "openssl req failed"
	done
	esl_hex "$WS/db.pem" >"$WS/db.hex"
	for v in 0.9 1.0 2.0; do
		"$SRC/initrd/mkinitramfs.sh" -k "$SB/kernel/cloud" \
			-i "$SB/slotflip-init" -c "$WS/slotflip.conf" \
			-p "$WS/release.pub" -m "$MODULES_cloud" -v "$v" \
			-o "$WS/initrd-$v.cpio.gz" >/dev/null
	done
	sb_uki "$WS/a-1.0.efi" a poweroff "$WS/initrd-1.0.cpio.gz"
	sb_uki "$WS/b-2.0.efi" b poweroff "$WS/initrd-2.0.cpio.gz"
	sb_uki "$WS/b-0.9.efi" b poweroff "$WS/initrd-0.9.cpio.gz"
	sb_uki "$WS/b-2.0-unsigned.efi" b poweroff "$WS/initrd-2.0.cpio.gz" -
	sb_uki "$WS/b-2.0-rogue.efi" b poweroff "$WS/initrd-2.0.cpio.gz" \
		"$WS/rogue.key" "$WS/rogue.pem"
	W=$WS
	image "$W/img-2.0" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0.efi"
	image "$W/img-2.0-unsigned" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0-unsigned.efi"
	image "$W/img-2.0-rogue" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0-rogue.efi"
	date >"$WS/done"
}

# sb_machine [STAGED_IMAGE]: machine(), with the test db key enrolled: the
# varstore's db (the snakeoil one's) is replaced by the test certificate,
# offline (see docs/BOOT.md, "Secure Boot").
sb_machine() {
	machine "$@"
	vars set db 27 "$(cat "$W/db.hex")" "$DB_GUID"
}

# status_once: the test system's first userspace boot runs `slotflip
# status` (qemu/mkrootfs.sh: the data partition's sftest/once.sh).
status_once() {
	mkdir -p data/sftest
	printf '%s\n' 'echo "SFTEST: status"' 'slotflip status' \
		>data/sftest/once.sh
}

# esp_put FILE PATH: replace a file on the ESP of disk.img (offline, as
# someone holding the disk would).
esp_put() {
	mcopy -o -i "disk.img@@$((ESP_START * 512))" "$1" "::$2" ||
		fail "mcopy to the ESP failed"
}

# slot_put IMAGE START: write a root filesystem image into the slot at
# sector START of disk.img.
slot_put() {
	dd if="$1" of=disk.img bs=512 seek="$2" conv=notrunc status=none
}

# Signed UKIs boot, update and confirm with Secure Boot on; `slotflip
# status` says it is on.
test_signed_update_boots_and_confirms() {
	build_sb_world
	machine_data() { status_once; }
	applied_machine secboot-2.0 sb_machine "$W/img-2.0"
	log_has "EFI stub: UEFI Secure Boot is enabled" boot1.log
	log_has "booted slot a; an update is staged" boot1.log
	boot
	log_has "BdsDxe: starting Boot00B0"
	log_has "secureboot: Secure boot enabled"
	log_has "SFTEST: up slot=b version=2.0"
	log_has "SFTEST: confirmed"
	log_has "^secure boot: +on$"
	expect_state good b
	expect_state b.status good
	expect_state floor 2.0
}

# A trial UKI the firmware refuses: unsigned at the first try, signed by a
# key that is not in db at the second (the host swaps it on the ESP
# between the two). Each refusal is a failed try: after `tries` (2) the
# good slot records the failure, with the reason in last-result and
# `slotflip status`.
test_unsigned_or_foreign_trial_is_refused() {
	build_sb_world
	machine_data() { status_once; }
	sb_machine "$W/img-2.0-unsigned"
	vars state-init a 1.0
	boot
	log_has "trial armed with 2 tries"
	boot
	log_has "BdsDxe: failed to load Boot00B0 .*Access Denied"
	log_has "retrying the trial of slot b \(0 tries left after this one\)"
	log_lacks "SFTEST: up"
	esp_put "$W/b-2.0-rogue.efi" /EFI/slotflip/b/linux.efi
	boot
	log_has "BdsDxe: failed to load Boot00B0 .*Access Denied"
	log_has "update failed: slot b \(version 2.0\) did not confirm its trial after 2 tries; Secure Boot is on"
	log_has "SFTEST: up slot=a version=1.0"
	log_lacks "SFTEST: up slot=b"
	expect_state good a
	expect_state b.status failed
	expect_state result trial-failed
	log_has "^last result: +trial-failed at .*: slot b \(version 2.0\) did not confirm its trial after 2 tries"
	log_has "^last apply: +trial-failed, version 2.0 to slot b at .*Secure Boot is on: was its UKI signed with a key in the firmware's db\?"
	log_has "^secure boot: +on$"
}

# Offline rollback: while slot b is on trial with 2.0, the host writes an
# older, validly signed system (0.9: its root and its UKI) into slot b and
# points BootNext and BootOrder at it. Its slotflip-init knows its own
# version and refuses to go below the floor (1.0): its userspace never
# runs; the trial fails with the reason and slot a boots.
test_older_signed_slot_written_offline_never_runs() {
	build_sb_world
	machine_data() { status_once; }
	applied_machine secboot-2.0 sb_machine "$W/img-2.0"
	slot_put "$W/rootfs-0.9.ext4" "$ROOTB_START"
	esp_put "$W/b-0.9.efi" /EFI/slotflip/b/linux.efi
	vars set BootNext 7 b000
	vars set-boot-order 00B0,00A0
	boot
	log_has "EFI stub: UEFI Secure Boot is enabled"
	log_has "slotflip-init: error: slot b booted a system of version 0.9, below the anti-rollback floor 1.0: refused"
	log_has "falling back: BootNext = the good slot a"
	log_lacks "SFTEST: up"
	expect_state trial none
	expect_state b.status failed
	expect_state result trial-failed
	partition_file "$DATA_START" $((DATA_MIB * 2048)) /slotflip/last-result >last-result
	grep -qx "result=trial-failed" last-result && grep -qx "slot=b" last-result &&
		grep -q "^reason=slot b booted a system of version 0.9, below the anti-rollback floor 1.0" last-result ||
		fail "last-result: $(cat last-result)"
	boot
	log_has "BdsDxe: starting Boot00A0"
	log_has "SFTEST: up slot=a version=1.0"
	log_lacks "SFTEST: up slot=b"
}

# The good slot's own UKI and root replaced by an older signed system (here:
# the state says slot a runs 2.0, floor 2.0; its UKI is 1.0). The firmware
# booted the good slot's entry, so there is nothing to fall back to: PID 1
# stops with the reason instead of running it or rebooting in a loop.
test_older_signed_good_slot_stops() {
	build_sb_world
	sb_machine
	vars state-init a 2.0
	boot_until "then power the device off and on"
	log_has "EFI stub: UEFI Secure Boot is enabled"
	log_has "slotflip-init: error: slot a booted a system of version 1.0, below the anti-rollback floor 2.0: refused"
	log_has "stopped, not rebooting: .*Put a signed system of version 2.0 or later into slot a"
	log_lacks "SFTEST: up"
	log_lacks "rebooting in"
	expect_absent BootNext
	partition_file "$DATA_START" $((DATA_MIB * 2048)) /slotflip/last-result >last-result
	grep -qx "result=rollback-refused" last-result && grep -qx "slot=a" last-result &&
		grep -qx "version=1.0" last-result ||
		fail "last-result: $(cat last-result)"
}

run_qemu_cases
