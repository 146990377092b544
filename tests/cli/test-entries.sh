#!/bin/bash
# slotflip boot-entries install|check|repair --root on the fake device of
# tests/cli/firmware.sh with a GPT disk image: the exact bytes of the
# entries, what check finds, what repair mends, what is never touched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
. "$(dirname "$0")/slotflip.sh"

# The whole variable file (attributes, then data) in hex.
var_hex() { od -An -tx1 -v "$EFIVARS/$1-$GLOBAL" | tr -d ' \n'; }
var_set_hex() { printf "$(echo "$2" | sed 's/../\\x&/g')" >"$EFIVARS/$1-$GLOBAL"; }

# EFI_LOAD_OPTION (UEFI 2.10, 3.1.3) of slot a's entry, written out by hand:
#   Attributes       01000000          LOAD_OPTION_ACTIVE
#   FilePathListLen  6600              42 (HD) + 56 (File) + 4 (End) = 102
#   Description      "slotflip a" in UCS-2, NUL-terminated (22 bytes)
#   HD() node        04 01 2a00        media, hard drive, length 42
#                    02000000          partition number 2
#                    0028000000000000  start LBA 10240
#                    0000010000000000  size 65536 LBAs
#                    628e9a3b 1c4d 2a4f 9e3b 7a6c5d4e3f21  (the GUID of
#                                      $ESP_GUID in EFI byte order)
#                    02 02             GPT, GUID signature
#   File() node      04 04 3800        media, file path, length 4 + 52
#                    "\EFI\slotflip\a\linux.efi" in UCS-2, NUL-terminated
#   End node         7f ff 0400
# The efivarfs file starts with the attributes NV+BS+RT: 07000000.
WANT_A=07000000\
010000006600\
73006c006f00740066006c006900700020006100\
0000\
04012a00\
02000000\
0028000000000000\
0000010000000000\
628e9a3b1c4d2a4f9e3b7a6c5d4e3f21\
0202\
04043800\
5c004500460049005c00\
73006c006f00740066006c0069007000\
5c0061005c00\
6c0069006e00750078002e00650066006900\
0000\
7fff0400
# Slot b's differs in the description's and the path's slot letter.
WANT_B=$(echo "$WANT_A" | sed -e 's/2000610000/2000620000/' -e 's/5c0061005c00/5c0062005c00/')

# "UEFI Shell", a firmware entry with a firmware-volume file path: not ours.
SHELL_ENTRY=07000000\
010000001800\
55004500460049002000530068006500\
6c006c00\
0000\
04061400\
83a5047c3e9e1c4fad65e05268d0b4d1\
7fff0400

test_boot_entry_bytes() {
	ready
	write_disk
	var_set_hex Boot0003 "$SHELL_ENTRY"
	efi_set BootOrder 03000200
	be install >out.txt
	[ "$(var_hex Boot0001)" = "$WANT_A" ] || fail "Boot0001: $(var_hex Boot0001)"
	[ "$(var_hex Boot0002)" = "$WANT_B" ] || fail "Boot0002: $(var_hex Boot0002)"
	[ "$(var_hex Boot0003)" = "$SHELL_ENTRY" ] || fail "the firmware's entry changed"
	[ "$(var_hex BootOrder)" = 07000000010003000200 ] ||
		fail "BootOrder $(var_hex BootOrder), want 0001 0003 0002"
	be check >out.txt
	grep -q "Boot0001 (slot a): ok" out.txt || fail "check: $(cat out.txt)"
	grep -q "Boot0002 (slot b): ok" out.txt || fail "check: $(cat out.txt)"
	grep -q "BootOrder: ok" out.txt || fail "check: $(cat out.txt)"
	# Installing again writes nothing.
	before=$(efi_fingerprint)
	be install >/dev/null
	[ "$(efi_fingerprint)" = "$before" ] || fail "install rewrote a variable"
	# The ESP by its partition GUID gives the same entries.
	sed -i "s|^esp = .*|esp = PARTUUID=$(echo $ESP_GUID | tr a-f A-F)|" root/etc/slotflip/disk.conf
	be check >/dev/null || fail "PARTUUID= gave other entries"
}

test_boot_entries_check_and_repair() {
	ready
	write_disk
	be install >/dev/null
	# Firmware rewrote slot b's entry (another path), dropped slot a's,
	# and reordered BootOrder.
	var_set_hex Boot0002 "$(echo "$WANT_B" | sed 's/5c0062005c00/5c0063005c00/')"
	rm "$EFIVARS/Boot0001-$GLOBAL"
	efi_set BootOrder 0200
	expect_rc 1 be check
	grep -q 'Boot0002 (slot b): altered: starts \\EFI\\slotflip\\c\\linux.efi, want \\EFI\\slotflip\\b\\linux.efi' out.txt ||
		fail "altered entry: $(cat out.txt)"
	grep -q "Boot0001 (slot a): missing" out.txt || fail "missing entry"
	grep -q "BootOrder: wrong: starts with 0002, not the good slot a's 0001" out.txt ||
		fail "BootOrder: $(cat out.txt)"
	be repair >out.txt
	grep -q "Boot0002 (slot b): written (was altered)" out.txt
	[ "$(var_hex Boot0001)" = "$WANT_A" ] && [ "$(var_hex Boot0002)" = "$WANT_B" ] ||
		fail "not repaired"
	[ "$(var_hex BootOrder)" = 0700000001000200 ] || fail "BootOrder not repaired"
	be check >/dev/null
	# An entry made inactive is ours, altered.
	var_set_hex Boot0001 "07000000000000${WANT_A:14}"
	expect_rc 1 be check
	grep -q "Boot0001 (slot a): altered: attributes 0x0, want 0x1" out.txt || fail "$(cat out.txt)"
}

# BootOrder in the wanted order is not ok when the entries it names are
# gone: the firmware has nothing of ours to boot. check says so, and how
# to put it right.
test_boot_entries_check_order_of_missing_entries() {
	ready
	write_disk
	be install >/dev/null
	rm "$EFIVARS/Boot0001-$GLOBAL" "$EFIVARS/Boot0002-$GLOBAL"
	[ "$(var_hex BootOrder)" = 0700000001000200 ] || fail "BootOrder $(var_hex BootOrder)"
	expect_rc 1 be check
	grep -q "Boot0001 (slot a): missing" out.txt || fail "$(cat out.txt)"
	grep -q "BootOrder: wrong: it names Boot0001 and Boot0002, and neither entry exists" out.txt ||
		fail "BootOrder: $(cat out.txt)"
	grep -q "BootOrder: ok" out.txt && fail "BootOrder ok without entries"
	grep -q 'run `slotflip boot-entries repair` (or `install`)' out.txt ||
		fail "no word of repair: $(cat out.txt)"
	be repair >/dev/null
	rm "$EFIVARS/Boot0002-$GLOBAL"
	expect_rc 1 be check
	grep -q "BootOrder: wrong: it names Boot0002 (slot b), which does not exist" out.txt ||
		fail "BootOrder: $(cat out.txt)"
	be repair >/dev/null
	be check >out.txt
	grep -q "BootOrder: ok" out.txt || fail "$(cat out.txt)"
	grep -q "repair" out.txt && fail "a repair hint when all is well"
	true
}

# What check finds beyond missing or altered entries: BootOrder that
# starts right but lacks the other slot, an entry with the right bytes but
# other variable attributes; repair puts both right.
test_boot_entries_order_and_attributes() {
	ready
	write_disk
	be install >/dev/null
	efi_set BootOrder 0100
	var_set_hex Boot0002 "03000000${WANT_B:8}"
	expect_rc 1 be check
	grep -q "BootOrder: wrong: lacks slot b's 0002" out.txt || fail "$(cat out.txt)"
	grep -q "Boot0002 (slot b): altered: variable attributes 0x3, want 0x7" out.txt ||
		fail "$(cat out.txt)"
	grep -q "Boot0001 (slot a): ok" out.txt || fail "$(cat out.txt)"
	be repair >out.txt
	[ "$(var_hex Boot0002)" = "$WANT_B" ] || fail "Boot0002: $(var_hex Boot0002)"
	[ "$(var_hex BootOrder)" = 0700000001000200 ] || fail "BootOrder $(var_hex BootOrder)"
	be check >/dev/null || fail "not repaired"
}

# A slot's efi path that no boot entry can hold (not ASCII): exit 3 (the
# config's fault), nothing written.
test_boot_entries_efi_path_not_encodable() {
	ready
	write_disk
	sed -i 's|^efi = /EFI/slotflip/b/linux.efi$|efi = /EFI/slotflip/b/l\xc3\xafnux.efi|' \
		root/etc/slotflip/disk.conf
	grep -q "^efi = /EFI/slotflip/b/l.*nux.efi$" root/etc/slotflip/disk.conf || fail "setup"
	before=$(efi_fingerprint)
	for cmd in check install; do
		expect_fail 3 "slot b: efi = /EFI/slotflip/b/l$(printf '\xc3\xaf')nux.efi cannot go in a boot entry (ASCII only, at most 255 characters)" \
			be $cmd
	done
	[ "$(efi_fingerprint)" = "$before" ] || fail "a variable was written"
}

test_boot_entries_never_overwrite_foreign() {
	ready
	write_disk
	var_set_hex Boot0002 "$SHELL_ENTRY"
	expect_fail 1 'Boot0002 holds another entry ("UEFI Shell")' be install
	grep -q "Nothing was written" err.txt
	[ "$(var_hex Boot0002)" = "$SHELL_ENTRY" ] || fail "foreign entry overwritten"
	[ ! -e "$EFIVARS/Boot0001-$GLOBAL" ] || fail "Boot0001 written anyway"
	expect_rc 1 be check
	grep -q "Boot0002 (slot b): foreign" out.txt
}

test_boot_entries_esp_errors() {
	ready
	write_disk
	sed -i 's|^esp = .*|esp = PARTLABEL=nope|' root/etc/slotflip/disk.conf
	expect_fail 5 "no partition with PARTLABEL=nope on root/disk.img" be check
	sed -i 's|^esp = .*|esp = /dev/sda1|' root/etc/slotflip/disk.conf
	expect_fail 5 "with esp-disk, name the ESP by PARTLABEL= or PARTUUID=" be check
	sed -i 's|^esp = .*|esp = PARTLABEL=esp|' root/etc/slotflip/disk.conf
	truncate -s 8M root/mbr.img
	echo 'label: dos
start=2048, type=ef' | sfdisk -q root/mbr.img
	sed -i 's|^esp-disk = .*|esp-disk = /mbr.img|' root/etc/slotflip/disk.conf
	expect_fail 5 "root/mbr.img has no GPT partition table" be check
}

run_cases
