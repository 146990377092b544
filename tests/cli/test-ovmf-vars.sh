#!/bin/bash
# ovmf-vars on copies of Debian's empty OVMF varstore: create, read back,
# replace, delete variables; boot entries and BootOrder; slotflip's state;
# refusals. No QEMU needed.
. "$(dirname "$0")/../cli/lib.sh"
OV=$SF_BIN/ovmf-vars
TEMPLATE=/usr/share/OVMF/OVMF_VARS_4M.fd
GUID=8be4df61-93ca-11d2-aa0d-00e098032b8c

fresh() {
	[ -r "$TEMPLATE" ] || fail "no $TEMPLATE: install ovmf (scripts/install-deps.sh)"
	cp "$TEMPLATE" v.fd
}

test_empty_store_lists_nothing() {
	fresh
	[ -z "$("$OV" v.fd list)" ] || fail "a fresh store lists variables"
	expect_fail 3 "BootOrder-$GUID: no such variable" "$OV" v.fd get BootOrder
}

test_create_read_replace_delete() {
	fresh
	"$OV" v.fd set Foo 7 a1b2c3
	[ "$("$OV" v.fd get Foo)" = a1b2c3 ] || fail "read back"
	[ "$("$OV" v.fd list)" = "Foo-$GUID 7 3" ] || fail "list: $("$OV" v.fd list)"
	"$OV" v.fd set Foo 3 0102030405
	[ "$("$OV" v.fd get Foo)" = 0102030405 ] || fail "replaced value"
	[ "$("$OV" v.fd list)" = "Foo-$GUID 3 5" ] || fail "old record still live"
	# The old record stays in the file, marked deleted (state 0x3D): a
	# record is appended per change, as the firmware does.
	[ "$(od -An -tx1 -v -j100 -N4 v.fd | tr -d ' ')" = aa553d00 ] ||
		fail "first record not marked deleted"
	"$OV" v.fd delete Foo
	expect_fail 3 "no such variable" "$OV" v.fd get Foo
	expect_fail 3 "no such variable" "$OV" v.fd delete Foo
	[ -z "$("$OV" v.fd list)" ] || fail "deleted variable listed"
}

test_vendor_guid_is_separate() {
	fresh
	"$OV" v.fd set Foo 7 01 11111111-2222-3333-4444-555555555555
	expect_fail 3 "no such variable" "$OV" v.fd get Foo
	[ "$("$OV" v.fd get Foo 11111111-2222-3333-4444-555555555555)" = 01 ]
	"$OV" v.fd list | grep -qx "Foo-11111111-2222-3333-4444-555555555555 7 1"
}

test_boot_entry_and_order() {
	fresh
	"$OV" v.fd boot-entry 0001 "slotflip a" 1 2048 204800 \
		5f1e0000-0000-4000-8000-000000000001 '\EFI\slotflip\a\linux.efi'
	hex=$("$OV" v.fd get Boot0001)
	# Attributes LOAD_OPTION_ACTIVE, then the file path list length.
	[ "${hex:0:8}" = 01000000 ] || fail "attributes: ${hex:0:8}"
	# Description in UCS-2.
	echo "$hex" | grep -q "$(printf 'slotflip a' | od -An -tx1 -v | tr -d ' \n' | sed 's/../&00/g')0000" ||
		fail "description not in the entry"
	# HD() node: type 4, subtype 1, partition 1, start 2048, size 204800,
	# the partition GUID in EFI byte order, GPT.
	hd=04012a00 # type, subtype, length 42
	hd+=01000000 # partition 1
	hd+=0008000000000000 # start 2048
	hd+=0020030000000000 # size 204800
	hd+=00001e5f000000408000000000000001 # the GUID, EFI byte order
	hd+=0202 # GPT, GUID signature
	echo "$hex" | grep -q "$hd" ||
		fail "HD() node wrong: $hex"
	echo "$hex" | grep -q "$(printf '\\EFI\\slotflip\\a\\linux.efi' | od -An -tx1 -v | tr -d ' \n' | sed 's/../&00/g')0000" ||
		fail "path not in the entry"
	[ "${hex: -8}" = 7fff0400 ] || fail "no end node"
	"$OV" v.fd set-boot-order 0001,0002,000A
	[ "$("$OV" v.fd boot-order)" = 0001,0002,000A ]
	[ "$("$OV" v.fd get BootOrder)" = 010002000a00 ]
	"$OV" v.fd set BootNext 7 0200
	[ "$("$OV" v.fd get-u16 BootNext)" = 0002 ]
}

test_state_init_and_fields() {
	fresh
	expect_fail 3 "no slotflip state" "$OV" v.fd state good
	"$OV" v.fd state-init b 3.1
	[ "$("$OV" v.fd state good)" = b ]
	[ "$("$OV" v.fd state b.status)" = good ]
	[ "$("$OV" v.fd state b.version)" = 3.1 ]
	[ "$("$OV" v.fd state floor)" = 3.1 ]
	[ "$("$OV" v.fd state a.status)" = invalid ]
	[ "$("$OV" v.fd state trial)" = none ]
	"$OV" v.fd list | grep -q "^SlotflipState-3c1e8f6a-52d4-4f7b-9a0e-6d2b71c4e9a5 7 368$"
}

test_corrupt_state_is_an_error() {
	fresh
	"$OV" v.fd set SlotflipState 7 53465354ffff 3c1e8f6a-52d4-4f7b-9a0e-6d2b71c4e9a5
	expect_fail 1 "bad" "$OV" v.fd state good
}

test_refuses_a_file_that_is_not_a_varstore() {
	head -c 4096 /dev/zero >z.fd
	expect_fail 1 "not an OVMF varstore" "$OV" z.fd list
	expect_fail 1 "cannot open" "$OV" missing.fd list
	cp "$TEMPLATE" v.fd
	printf 'xxxx' | dd of=v.fd bs=1 seek=72 conv=notrunc status=none
	expect_fail 1 "not an authenticated-variable store" "$OV" v.fd list
}

test_full_store_refused_and_file_unchanged() {
	fresh
	data=$(head -c 4000 /dev/zero | od -An -tx1 -v | tr -d ' \n')
	i=0
	while "$OV" v.fd set "Fill$i" 7 "$data" 2>err.txt; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "the store never filled up"
	done
	grep -q "the variable store is full" err.txt || fail "$(cat err.txt)"
	[ $i -gt 10 ] || fail "full after only $i variables"
	sum=$(md5sum <v.fd)
	expect_fail 1 "full" "$OV" v.fd set Another 7 "$data"
	[ "$(md5sum <v.fd)" = "$sum" ] || fail "a refused set changed the file"
	[ "$("$OV" v.fd get Fill0 | cut -c1-8)" = 00000000 ]
}

test_usage_errors() {
	fresh
	expect_fail 2 "Usage: ovmf-vars" "$OV" v.fd
	expect_fail 2 "Usage: ovmf-vars" "$OV" v.fd frobnicate
	expect_fail 2 "Usage: ovmf-vars" "$OV" v.fd set Foo 7 abc
	expect_fail 2 "Usage: ovmf-vars" "$OV" v.fd set Foo zz 00
	expect_fail 2 "bad GUID" "$OV" v.fd get Foo not-a-guid
	expect_fail 2 "Usage: ovmf-vars" "$OV" v.fd set-boot-order 1,,2
	expect_fail 2 "Usage: ovmf-vars" "$OV" v.fd state-init c 1.0
	"$OV" --help | grep -q "Exit status"
	cmp -s v.fd "$TEMPLATE" || fail "a refused command changed the file"
}

run_cases
