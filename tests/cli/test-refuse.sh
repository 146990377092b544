#!/bin/bash
# Bad inputs to slotflip-init --root on the fake device (firmware.sh): each
# staged image that must not be applied is refused with its exact reason on
# the console and in data/slotflip/last-result; both slots, their EFI
# binaries and the state stay as they were except the refusal record; the
# image is moved to staged.img.refused, so the next boot neither retries it
# nor writes an EFI variable. Also: a missing or corrupt state record, EFI
# variable writes refused by the firmware (a read-only bind mount of the
# efivars directory or of one variable: tests run as root, which ignores
# permission bits, and chattr +i is undone by slotflip's efivar code as on
# a real efivarfs), a full data partition or ESP (small tmpfs mounts), and
# apply errors (the device's fault: the image stays staged). Mounts are
# undone when a case ends, passed or failed (mount.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
. "$(dirname "$0")/mount.sh"
DATA=root/data/slotflip
# The state fields a refusal must not change.
FIELDS="good trial tries a.status a.version b.status b.version floor"

# A device running 1.0 in slot a (version recorded at provisioning), with
# payloads of 1.1 ready.
setup() {
	device_setup "${1:-3}"
	boot
	"$STATE" root set a.version=1.0
	boot
	make_version 1.1
	image 1.1 v1.1.img
}

# snapshot: what a refusal must leave as it is.
snapshot() {
	cp root/slots/a.img a.before
	cp root/slots/b.img b.before
	cp root/esp/EFI/slotflip/a/linux.efi efia.before
	cp root/esp/EFI/slotflip/b/linux.efi efib.before 2>/dev/null ||
		rm -f efib.before
	for f in $FIELDS; do echo "$f=$(state "$f")"; done >state.before
}

# refused REASON [written]: the staged image was refused for REASON (a
# fixed string). With "written", the refusal came while writing (the staged
# file changed under us, or a signed chunk lies): slot b may have been
# written, but only after the state marked it invalid, and it stays so.
refused() {
	local why=$1 f
	expect_next "next: boot a"
	grep -qF "error: staged image refused: $why" init.out ||
		{ cat init.out; fail "console does not say: $why"; }
	grep -qx "result=refused" $DATA/last-result &&
		grep -qxF "reason=$why" $DATA/last-result ||
		{ cat $DATA/last-result; fail "last-result does not say: $why"; }
	cmp -s root/slots/a.img a.before || fail "slot a changed"
	cmp -s root/esp/EFI/slotflip/a/linux.efi efia.before ||
		fail "slot a's EFI binary changed"
	if [ -e efib.before ]; then
		cmp -s root/esp/EFI/slotflip/b/linux.efi efib.before ||
			fail "slot b's EFI binary changed"
	else
		[ ! -e root/esp/EFI/slotflip/b/linux.efi ] ||
			fail "slot b's EFI binary written"
	fi
	if [ "${2:-}" = written ]; then
		[ "$(state b.status)" = invalid ] || fail "slot b not invalid"
	else
		cmp -s root/slots/b.img b.before || fail "slot b changed"
	fi
	for f in $FIELDS; do echo "$f=$(state "$f")"; done >state.after
	diff state.before state.after || fail "state changed beyond the refusal"
	[ "$(state result)" = refused ] || fail "state result $(state result)"
	# The record's reason field holds the first 127 bytes.
	[ "$(state reason)" = "${why:0:127}" ] ||
		fail "state reason '$(state reason)', want '$why'"
	[ -z "$(efi_get_u16 BootNext)" ] || fail "BootNext set"
	[ -e $DATA/staged.img.refused ] && [ ! -e $DATA/staged.img ] ||
		fail "staged image not moved aside"
	# The next boot does not retry it and writes nothing.
	local before
	before=$(efi_fingerprint)
	cp $DATA/last-result result.before
	boot
	expect_next "next: boot a"
	! grep -q "refused\|applying" init.out || { cat init.out; fail "retried"; }
	[ "$(efi_fingerprint)" = "$before" ] || fail "the next boot wrote a variable"
	cmp -s $DATA/last-result result.before || fail "last-result rewritten"
}

# refuse_staged IMAGE REASON [written]: stage IMAGE, boot, check refused.
refuse_staged() {
	snapshot
	stage "$1"
	boot
	refused "$2" "${3:-}"
}

# flip OFFSET FILE: invert one byte.
flip() {
	local b
	b=$(od -An -tu1 -j"$1" -N1 "$2" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 0xff)))" |
		dd of="$2" bs=1 seek="$1" conv=notrunc 2>/dev/null
}

manifest_size() { od -An -tu8 -j16 -N8 "$1" | tr -d ' '; }
sig_offset() { echo $(((4096 + $(manifest_size "$1") + 4095) / 4096 * 4096)); }

test_truncated_image() {
	setup
	head -c $(($(stat -c %s v1.1.img) - 1000)) v1.1.img >t1.img
	refuse_staged t1.img "image is $(stat -c %s t1.img) bytes, its manifest says $(stat -c %s v1.1.img): truncated or extended"
	head -c 3000 v1.1.img >t2.img
	refuse_staged t2.img "root/data/slotflip/staged.img: not a slotflip image (only 3000 bytes)"
}

test_bit_flip_in_header() {
	setup
	cp v1.1.img x.img
	flip 0 x.img
	refuse_staged x.img "root/data/slotflip/staged.img: not a slotflip image"
}

test_bit_flip_in_manifest() {
	setup
	cp v1.1.img x.img
	flip $((4096 + 300)) x.img
	refuse_staged x.img "image has valid signatures from 0 of the 1 trusted keys, 1 required"
}

test_bit_flip_in_signature_block() {
	setup
	cp v1.1.img x.img
	flip $(($(sig_offset x.img) + 200)) x.img
	refuse_staged x.img "image has valid signatures from 0 of the 1 trusted keys, 1 required"
}

# chunk_at OFFSET IMAGE: the chunk whose stored bytes hold byte OFFSET of
# IMAGE's data area (a format 2 image of two payloads: its chunk table
# starts at 4096 + 272 + 2 * 16; stored length at byte 4 of an entry).
chunk_at() {
	local i=0 end=0
	while :; do
		end=$((end + $(od -An -tu4 -j $((4096 + 304 + 80 * i + 4)) -N4 "$2")))
		[ "$end" -gt "$1" ] && break
		i=$((i + 1))
	done
	echo "$i"
}

test_bit_flip_in_chunk_data() {
	setup
	cp v1.1.img x.img
	flip $(($(sig_offset x.img) + 16384 + 50000)) x.img
	k=$(chunk_at 50000 x.img)
	refuse_staged x.img "chunk $k (zstd, bytes $((k * 4096))-$((k * 4096 + 4095)) of rootfs): stored data does not match its hash"
}

test_bit_flip_in_chunk_data_format_1() {
	FORMAT=1 setup
	cp v1.1.img x.img
	flip $(($(sig_offset x.img) + 16384 + 50000)) x.img
	refuse_staged x.img "chunk 39 (deflate, bytes 159744-163839 of rootfs): stored data does not match its hash"
}

test_wrong_key() {
	setup
	"$SF_BIN/slotflip-image" keygen -p other.pub -s other.sec >/dev/null
	KEY=other.sec image 1.1 other.img
	refuse_staged other.img "image has valid signatures from 0 of the 1 trusted keys, 1 required"
}

# Threshold 2 of 2 trusted keys: one signature is not enough, two are.
test_too_few_signatures() {
	setup
	"$SF_BIN/slotflip-image" keygen -p root/keys/second.pub \
		-s second.sec >/dev/null
	sed -i 's|^pubkey = /keys/release.pub$|&\npubkey = /keys/second.pub\nthreshold = 2|' \
		root/etc/slotflip/slotflip.conf
	refuse_staged v1.1.img "image has valid signatures from 1 of the 2 trusted keys, 2 required"
	# Signed again, staged again by slotflip stage: the same manifest
	# (same image id) is checked again, not refused or discarded as
	# refused.
	"$SF_BIN/slotflip-image" sign v1.1.img --key second.sec
	"$SF_BIN/slotflip" --root root stage v1.1.img >stage.out 2>&1 ||
		{ cat stage.out; fail "the signed-again image was not staged"; }
	boot
	expect_next "next: reboot (BootNext=b)"
}

test_wrong_compatible() {
	setup
	image 1.1 other.img --compatible other-board
	refuse_staged other.img 'image is for "other-board", this device is "test-board"'
}

# The same refused image staged again is checked and refused again, and
# the state record is not rewritten.
test_refused_image_staged_again() {
	setup
	make_version 0.9
	image 0.9 old.img
	refuse_staged old.img "version 0.9 is below the running version 1.0 (a downgrade)"
	before=$(efi_fingerprint)
	cp $DATA/staged.img.refused again.img
	rm $DATA/staged.img.refused
	sleep 1 # a new time would change the record
	refuse_staged again.img "version 0.9 is below the running version 1.0 (a downgrade)"
	[ "$(efi_fingerprint)" = "$before" ] || fail "the same refusal was written again"
}

test_downgrade() {
	setup
	make_version 0.9
	image 0.9 old.img
	refuse_staged old.img "version 0.9 is below the running version 1.0 (a downgrade)"
}

test_version_at_or_below_the_floor() {
	setup
	# As after 1.0 was confirmed: the floor is 1.0.
	"$STATE" root set floor=1.0
	image 1.0 same.img
	refuse_staged same.img "version 1.0 is not above the anti-rollback floor 1.0"
	"$STATE" root set floor=1.1
	refuse_staged v1.1.img "version 1.1 is not above the anti-rollback floor 1.1"
}

test_oversized_payload() {
	setup
	head -c $((SLOT_SIZE + 4096)) /dev/urandom >rootfs-2.0
	cp efi-1.1 efi-2.0
	image 2.0 big.img
	refuse_staged big.img "root filesystem of $((SLOT_SIZE + 4096)) bytes does not fit the $SLOT_SIZE-byte slot"
}

# The ESP has no room for the new EFI binary (written beside the old one).
test_esp_full() {
	setup
	mount_tmpfs root/esp/EFI/slotflip/b 8k
	room=$(($(stat -f -c '%a * %S' root/esp/EFI/slotflip/b)))
	refuse_staged v1.1.img "EFI binary of $(stat -c %s efi-1.1) bytes does not fit the $room bytes free on the ESP"
}

# A delta made against another version than the running one.
test_delta_against_wrong_base_version() {
	setup
	make_version 1.2
	image 1.2 d.img --delta-from v1.1.img
	refuse_staged d.img "delta image made against version 1.1, but the running slot has 1.0"
}

# A delta against 1.0, but slot a holds another build of 1.0: the base
# chunks do not hash right. Found while writing.
test_delta_against_wrong_base_content() {
	setup
	image 1.0 v1.0.img
	cp rootfs-1.0 rootfs-1.2
	printf 'new in 1.2' | dd of=rootfs-1.2 bs=1 seek=50000 conv=notrunc 2>/dev/null
	cp efi-1.1 efi-1.2
	image 1.2 d.img --delta-from v1.0.img
	printf 'another build' | dd of=root/slots/a.img bs=1 seek=100 \
		conv=notrunc 2>/dev/null
	refuse_staged d.img "chunk 0: the base does not hold the data this delta was made against (wrong base version?)" written
}

# A validly signed image whose chunk 70 inflates to twice its declared
# length, or to its length with other content.
test_chunk_inflates_beyond_its_size() {
	setup
	"$SF_BIN/tool-lie-image" v1.1.img lie.img release.sec 70 longer
	"$SF_BIN/slotflip-image" verify lie.img --pubkey root/keys/release.pub \
		>/dev/null || fail "the lying image is not validly signed"
	refuse_staged lie.img "chunk 70: does not inflate to its 4096 bytes" written
}

test_chunk_content_lies() {
	setup
	"$SF_BIN/tool-lie-image" v1.1.img lie.img release.sec 70 wrong
	refuse_staged lie.img "chunk 70: content does not match its hash" written
}

# The same lie in a format 1 image.
test_chunk_inflates_beyond_its_size_format_1() {
	FORMAT=1 setup
	"$SF_BIN/slotflip-image" inspect v1.1.img | grep -q "format 1)$" ||
		fail "v1.1.img is not of format 1"
	"$SF_BIN/tool-lie-image" v1.1.img lie.img release.sec 70 longer
	refuse_staged lie.img "chunk 70: does not inflate to its 4096 bytes" written
}

# zstd_lie_refused HOW REASON [unwritten]: a validly signed image whose
# zstd chunk 70 lies as lie-image HOW makes it is refused for REASON. With
# "unwritten" (a frame refused by its checks, before it decodes), not a
# byte of that chunk reaches slot b (its 4 KiB there are as before); a
# frame that decodes to other content is found when slot b is read back.
zstd_lie_refused() {
	setup
	"$SF_BIN/tool-lie-image" v1.1.img lie.img release.sec 70 "$1"
	"$SF_BIN/slotflip-image" verify lie.img --pubkey root/keys/release.pub \
		>/dev/null || fail "the lying image is not validly signed"
	refuse_staged lie.img "$2" written
	[ "${3:-}" = unwritten ] || return 0
	cmp -s <(tail -c +$((70 * 4096 + 1)) b.before | head -c 4096) \
		<(tail -c +$((70 * 4096 + 1)) root/slots/b.img | head -c 4096) ||
		fail "chunk 70 of slot b was written"
}

test_zstd_chunk_longer_than_declared() {
	zstd_lie_refused zlonger "chunk 70: zstd frame does not declare the chunk's length" \
		unwritten
}

test_zstd_chunk_shorter_than_it_declares() {
	zstd_lie_refused zshort "chunk 70: corrupt zstd frame" \
		unwritten
}

test_zstd_chunk_content_lies() {
	zstd_lie_refused zwrong "chunk 70: content does not match its hash"
}

test_zstd_chunk_asks_for_a_128_mib_window() {
	zstd_lie_refused zwindow "chunk 70: zstd frame asks for a window over 4 MiB" \
		unwritten
}

test_zstd_chunk_with_trailing_bytes() {
	zstd_lie_refused ztrailing "chunk 70: not exactly one whole zstd frame (truncated, or trailing bytes)" \
		unwritten
}

# A delta against 1.0 (running in slot a) whose rootfs has 1000 bytes
# inserted in chunk 70: from there on its data is the base's moved by
# 1000 bytes, which only reference chunks (format 2) find. In d.img.
reference_delta() {
	setup
	image 1.0 v1.0.img
	{
		head -c $((70 * 4096 + 100)) rootfs-1.0
		printf 'M%.0s' $(seq 1000)
		tail -c +$((70 * 4096 + 101)) rootfs-1.0
	} | head -c "$(stat -c %s rootfs-1.0)" >rootfs-1.2
	cp efi-1.1 efi-1.2
	image 1.2 d.img --delta-from v1.0.img
	"$SF_BIN/slotflip-image" inspect d.img | grep -q "reference [1-9]" ||
		fail "d.img has no reference chunks"
}

# A reference delta applies: slot b gets 1.2's rootfs, read from ranges of
# slot a at other offsets than its own.
test_reference_delta_applies() {
	reference_delta
	snapshot
	stage d.img
	boot
	expect_next "next: reboot (BootNext=b)"
	cmp -s -n "$(stat -c %s rootfs-1.2)" root/slots/b.img rootfs-1.2 ||
		fail "slot b does not hold 1.2"
}

# ref_lie_refused HOW REASON [written]: d.img with its reference chunk 75
# lying as lie-image HOW makes it is refused for REASON, and not a byte of
# chunk 75 reaches slot b (each check comes before the chunk is written).
ref_lie_refused() {
	reference_delta
	"$SF_BIN/tool-lie-image" d.img lie.img release.sec 75 "$1" ||
		fail "lie-image $1"
	refuse_staged lie.img "${2//SLOT_SIZE/$(stat -c %s root/slots/a.img)}" \
		${3:-}
	cmp -s <(tail -c +$((75 * 4096 + 1)) b.before | head -c 4096) \
		<(tail -c +$((75 * 4096 + 1)) root/slots/b.img | head -c 4096) ||
		fail "chunk 75 of slot b was written"
}

# Slot a does not hold, in a range chunk 75 references, what the delta was
# made against (here the manifest names another hash for it).
test_reference_range_that_differs_is_refused() {
	ref_lie_refused rhash "chunk 75: the base does not hold the data this delta was made against (a range it references differs)" written
}

# A range beyond slot a (SLOT_SIZE: its size): refused before anything is
# written.
test_reference_range_beyond_the_slot_is_refused() {
	ref_lie_refused rout "chunk 75: a range it references lies beyond the base's SLOT_SIZE bytes: the delta was made against another base"
}

test_reference_chunk_longer_than_declared() {
	ref_lie_refused rlonger "chunk 75: zstd frame does not declare the chunk's length" written
}

test_reference_chunk_asks_for_a_128_mib_window() {
	ref_lie_refused rwindow "chunk 75: zstd frame asks for a window over 16 MiB" written
}

test_reference_chunk_content_lies() {
	ref_lie_refused rwrong "chunk 75: content does not match its hash" written
}

# init_stopped_at N WHAT: slotflip-init --root root in the background,
# stopped (SIGSTOP) at its N-th fault point, which must be WHAT; its pid
# in $pid, its output in init.out.
init_stopped_at() {
	SLOTFLIP_FAULT_AT=$1 SLOTFLIP_FAULT_STOP=1 "$INIT" --root root \
		>init.out 2>&1 &
	pid=$!
	for i in $(seq 1 200); do
		[ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = T ] && break
		sleep 0.05
	done
	grep -q "fault injected at point $1 ($2)" init.out ||
		{ kill -9 $pid; cat init.out; fail "not stopped at point $1 ($2)"; }
}

# The staged file is overwritten in place while slotflip-init writes slot b
# (stopped at its 20th fault point, a slot write): the chunks read after
# that do not match their hashes.
test_staged_file_replaced_during_apply() {
	setup
	snapshot
	stage v1.1.img
	fw_boot
	init_stopped_at 20 "slot write"
	data=$(($(sig_offset v1.1.img) + 16384))
	head -c $(($(stat -c %s v1.1.img) - data)) /dev/urandom |
		dd of=$DATA/staged.img bs=4096 seek=$((data / 4096)) conv=notrunc \
			2>/dev/null
	kill -CONT $pid
	wait $pid || fail "slotflip-init exited $?"
	NEXT=$(grep '^next:' init.out)
	why=$(sed -n 's/^slotflip-init: error: staged image refused: //p' init.out)
	# Which chunk comes first after the change depends on the workers
	# (some had read theirs before the stop): a root filesystem chunk or
	# the EFI binary's.
	case $why in
	"chunk "*" of rootfs): stored data does not match its hash") ;;
	"chunk "*" of efi): stored data does not match its hash") ;;
	*) cat init.out; fail "refused for '$why'" ;;
	esac
	refused "$why" written
}

# A missing record: the booted slot is good, the record is rebuilt, and a
# staged image is applied on that basis.
test_missing_state_variable() {
	setup
	rm "$STATE_FILE"
	stage v1.1.img
	boot
	grep -q "no slotflip state yet: slot a is the good slot" init.out ||
		{ cat init.out; fail "no message"; }
	expect_next "next: reboot (BootNext=b)"
	[ "$(state good)" = a ] && [ "$(state trial)" = b ] || fail "state"
	# Booted from b with no record: b is the good slot.
	rm "$STATE_FILE" "$DATA/staged.img"
	boot
	[ "$BOOTED" = b ] || fail "firmware did not boot b"
	expect_next "next: boot b"
	[ "$(state good)" = b ] && [ "$(state a.status)" = invalid ] ||
		fail "state not rebuilt with b good"
}

# corrupt_state HOW MESSAGE: a record the decoder refuses: rebuilt with the
# booted slot good; the message says what was wrong.
corrupt_state() {
	setup
	"$STATE" root set trial=b b.status=trial b.version=1.1 tries=2
	$1
	fw_boot
	init
	grep -qF "warning: slotflip state unreadable ($2): rebuilt with the booted slot a as good" init.out ||
		{ cat init.out; fail "no message for the corrupt record"; }
	expect_next "next: boot a"
	[ "$(state good)" = a ] && [ "$(state trial)" = none ] &&
		[ "$(state b.status)" = invalid ] || fail "state not rebuilt"
	# Rebuilt once: the next boot writes nothing.
	before=$(efi_fingerprint)
	boot
	[ "$(efi_fingerprint)" = "$before" ] || fail "rewritten again"
}

bad_crc() { flip $((4 + 100)) "$STATE_FILE"; }
test_corrupt_state_bad_crc() { corrupt_state bad_crc "state: checksum mismatch"; }
version_2() { "$STATE" root poke 4 2; }
test_corrupt_state_unknown_version() {
	corrupt_state version_2 "state: record version 2, this slotflip knows 1"
}
bad_status() { "$STATE" root poke 20 9; }
test_corrupt_state_field_out_of_range() {
	corrupt_state bad_status "state: slot a status 9"
}

# A record that cannot be read (here a directory: EINVAL) is named by its
# errno, not by the last message logged before (an oversized BootCurrent).
test_unreadable_state_says_its_own_error() {
	setup
	fw_boot
	efi_set BootCurrent 010000
	rm "$STATE_FILE"
	mkdir "$STATE_FILE"
	init
	grep -q "BootCurrent is too large" init.out || { cat init.out; fail "no earlier error"; }
	grep -qF "warning: slotflip state unreadable (Invalid argument): rebuilt with the booted slot a as good" init.out ||
		{ cat init.out; fail "the reason is not the read's"; }
	expect_next "next: boot a"
}

# The firmware refuses every variable write (efivars read-only): the apply
# does not start (the spare slot cannot be marked invalid first); nothing
# changes; the reason is on the console and in last-result; the image stays
# staged (it is not at fault) and is applied once writes work again.
test_firmware_refuses_variable_writes() {
	setup
	snapshot
	stage v1.1.img
	fw_boot
	cp "$STATE_FILE" state.raw
	bind_ro "$EFIVARS"
	init
	expect_next "next: boot a"
	why="cannot mark slot b invalid in the EFI state (Read-only file system): not applying; the update is tried again at the next boot"
	grep -qF "error: $why" init.out || { cat init.out; fail "console"; }
	grep -qx "result=apply-error" $DATA/last-result &&
		grep -qxF "reason=$why" $DATA/last-result ||
		{ cat $DATA/last-result; fail "last-result"; }
	cmp -s "$STATE_FILE" state.raw || fail "state changed"
	cmp -s root/slots/a.img a.before && cmp -s root/slots/b.img b.before ||
		fail "a slot changed"
	[ -e $DATA/staged.img ] || fail "staged image gone"
	sf_unmount_all
	boot
	expect_next "next: reboot (BootNext=b)"
	slot_holds b 1.1 || fail "b not written once writes work"
}

# Only BootNext is refused (a read-only empty file: absent, not writable):
# the trial is armed in the state but cannot start now; slot a boots; the
# next boot retries the trial, and b then boots.
test_firmware_refuses_boot_next() {
	setup
	stage v1.1.img
	fw_boot
	: >"$EFIVARS/BootNext-$GLOBAL"
	bind_ro "$EFIVARS/BootNext-$GLOBAL"
	init
	grep -q "warning: cannot set BootNext: booting slot a instead" init.out ||
		{ cat init.out; fail "no warning"; }
	grep -q "error: cannot write EFI variable BootNext: efivarfs is read-only or the firmware refused the write (Read-only file system)" init.out ||
		{ cat init.out; fail "no reason"; }
	expect_next "next: boot a"
	[ "$(state trial)" = b ] && [ "$(state tries)" = 2 ] || fail "not armed"
	sf_unmount_all
	rm "$EFIVARS/BootNext-$GLOBAL"
	boot
	expect_next "next: reboot (BootNext=b)"
	[ "$(state tries)" = 1 ] || fail "retry not counted"
	boot
	[ "$BOOTED" = b ] && [ "$NEXT" = "next: boot b" ] || fail "b not booted"
}

# full_data [OLD_RESULT]: the data partition (a small tmpfs) is full once
# the image is staged.
full_data() {
	local keep=root/data.keep
	mv root/data $keep
	mount_tmpfs root/data 400k
	cp -a $keep/. root/data/
	[ -z "${1:-}" ] || cp "$1" $DATA/last-result
	cp "$2" $DATA/staged.img
	dd if=/dev/zero of=root/data/filler bs=4096 2>/dev/null || true
	! head -c 4096 /dev/zero 2>/dev/null >root/data/probe || fail "not full"
	rm -f root/data/probe
}

# A good image on a full data partition is applied; the result file cannot
# be written: the console says so and no partial file is left.
test_full_data_partition_apply() {
	setup
	full_data "" v1.1.img
	boot
	expect_next "next: reboot (BootNext=b)"
	grep -qF "warning: cannot write $PWD/root/data/slotflip/last-result: No space left on device; the result stays in the EFI state (is the data partition full?)" init.out ||
		grep -qF "warning: cannot write root/data/slotflip/last-result: No space left on device; the result stays in the EFI state (is the data partition full?)" init.out ||
		{ cat init.out; fail "no warning"; }
	[ ! -e $DATA/last-result ] || fail "a result file was written"
	! ls $DATA | grep -q '\.tmp\.' || fail "a temporary file is left"
	[ "$(state result)" = applied ] && [ "$(state trial)" = b ] ||
		fail "state"
}

# A refusal on a full data partition: the old result is replaced (its
# space is reused), never left stale; the image is moved aside.
test_full_data_partition_refusal() {
	setup
	echo "result=applied" >old-result
	image 1.1 other.img --compatible other-board
	snapshot
	full_data old-result other.img
	fw_boot
	init
	refused 'image is for "other-board", this device is "test-board"'
}

# Apply errors: the device's fault, not the image's. apply_error PREFIX:
# the reason starts with PREFIX; nothing is armed, slot a is untouched, the
# image stays staged; the next boot meets the same error and writes no
# variable.
apply_error() {
	local why before
	expect_next "next: boot a"
	why=$(sed -n 's/^slotflip-init: error: apply failed, will retry at next boot: //p' init.out)
	case $why in
	"$1"*) ;;
	*) cat init.out; fail "apply error '$why', want '$1...'" ;;
	esac
	grep -qx "result=apply-error" $DATA/last-result &&
		grep -qxF "reason=$why" $DATA/last-result ||
		{ cat $DATA/last-result; fail "last-result"; }
	cmp -s root/slots/a.img a.before || fail "slot a changed"
	state_fields=$(for f in good trial a.status b.status; do state $f; done | paste -sd' ')
	[ "$state_fields" = "a none good invalid" ] || fail "state: $state_fields"
	[ -z "$(efi_get_u16 BootNext)" ] || fail "BootNext set"
	[ -e $DATA/staged.img ] || fail "staged image gone"
	before=$(efi_fingerprint)
	boot
	grep -qF "apply failed, will retry at next boot: $why" init.out ||
		{ cat init.out; fail "not the same error again"; }
	[ "$(efi_fingerprint)" = "$before" ] || fail "the same error wrote a variable"
}

# fixed: the fault is gone: the next boot applies.
fixed() {
	boot
	expect_next "next: reboot (BootNext=b)"
	slot_holds b 1.1 || fail "b not written once the fault is gone"
}

# while_missing FILE MESSAGE: with FILE moved away, applying the staged
# 1.1 is an apply error saying MESSAGE; once it is back, the next boot
# applies.
while_missing() {
	setup
	snapshot
	mv "$1" moved-away
	stage v1.1.img
	boot
	apply_error "$2"
	mv moved-away "$1"
	fixed
}

test_apply_error_missing_public_key() {
	while_missing root/keys/release.pub \
		"cannot load the trusted public key root/keys/release.pub (config: pubkey)"
}

test_apply_error_spare_slot_missing() {
	while_missing root/slots/b.img "cannot open slot b ("
}

# Slot b on a filesystem that fills up: its writes fail.
test_apply_error_slot_write_fails() {
	setup
	sed -i 's|^device = /slots/b.img$|device = /slots/small/b.img|' \
		root/etc/slotflip/slotflip.conf
	mount_tmpfs root/slots/small 64k
	truncate -s $SLOT_SIZE root/slots/small/b.img
	snapshot
	stage v1.1.img
	boot
	apply_error "cannot write the spare slot: No space left on device"
	sf_unmount_all
	sed -i 's|^device = /slots/small/b.img$|device = /slots/b.img|' \
		root/etc/slotflip/slotflip.conf
	fixed
}

# The ESP directory of slot b is missing: the EFI binary cannot be written
# (after the root filesystem was); once it is there, the next apply writes
# only the EFI binary.
test_apply_error_efi_binary_not_writable() {
	setup
	snapshot
	rmdir root/esp/EFI/slotflip/b
	stage v1.1.img
	boot
	apply_error "cannot create "
	mkdir root/esp/EFI/slotflip/b
	fixed
	[ "$(apply_counts)" = "$(chunks v1.1.img efi) $(chunks v1.1.img rootfs)" ] ||
		{ cat init.out; fail "the root filesystem was written again"; }
}

# slots_on_one_device DEVICE SHOWN: slot b's device line says DEVICE, which
# is slot a's device (SHOWN, as resolved). slotflip-init refuses the config
# at boot: it names both slots and the device, writes neither slot nor any
# EFI variable, arms no trial, leaves the image staged and boots a. Once
# the config is fixed, the update goes to slot b.
slots_on_one_device() {
	setup
	ln -s a.img root/slots/a-link.img
	stage v1.1.img
	snapshot
	cp root/etc/slotflip/slotflip.conf conf.good
	sed -i "s|^device = /slots/b.img\$|device = $1|" root/etc/slotflip/slotflip.conf
	before=$(efi_fingerprint)
	for i in 1 2; do
		boot
		expect_next "next: boot a"
		grep -qF "error: root/etc/slotflip/slotflip.conf: [slot a] (device = /slots/a.img) and [slot b] (device = $1) are one device, $2: an update of the spare slot would overwrite the running one; fix the config: give each slot its own partition" init.out ||
			{ cat init.out; fail "boot $i: no refusal"; }
		cmp -s root/slots/a.img a.before || fail "boot $i: slot a changed"
		cmp -s root/slots/b.img b.before || fail "boot $i: slot b changed"
		cmp -s root/esp/EFI/slotflip/a/linux.efi efia.before ||
			fail "boot $i: slot a's EFI binary changed"
		[ ! -e root/esp/EFI/slotflip/b/linux.efi ] ||
			fail "boot $i: slot b's EFI binary written"
		[ "$(efi_fingerprint)" = "$before" ] || fail "boot $i: an EFI variable was written"
		[ -e $DATA/staged.img ] || fail "boot $i: the staged image was moved"
	done
	for f in $FIELDS; do echo "$f=$(state "$f")"; done >state.after
	diff state.before state.after || fail "state changed"
	cp conf.good root/etc/slotflip/slotflip.conf
	boot
	expect_next "next: reboot (BootNext=b)"
	slot_holds b 1.1 && slot_holds a 1.0 || fail "not applied to b once fixed"
}

test_slots_on_one_path_refused() {
	slots_on_one_device /slots/a.img /slots/a.img
}

test_slots_on_a_link_to_one_file_refused() {
	slots_on_one_device /slots/a-link.img root/slots/a.img
}

# Slot b's file turns into a link to slot a's after the boot checked the
# config (slotflip-init stopped at its first fault point, the rebuild of a
# missing state record): the apply still refuses to open it for writing,
# as an apply error (the image stays staged), and slot a is untouched.
test_spare_turned_into_the_running_slot_before_the_apply() {
	setup
	snapshot
	stage v1.1.img
	rm "$STATE_FILE"
	fw_boot
	init_stopped_at 1 "efivar write"
	mv root/slots/b.img b.aside
	ln -s a.img root/slots/b.img
	kill -CONT $pid
	wait $pid || fail "slotflip-init exited $?"
	NEXT=$(grep '^next:' init.out)
	expect_next "next: boot a"
	grep -qF "error: slot b (root/slots/b.img) is the device of the running slot a: not writing it; fix the config (root/etc/slotflip/slotflip.conf)" init.out ||
		{ cat init.out; fail "no refusal"; }
	cmp -s root/slots/a.img a.before || fail "slot a changed"
	cmp -s b.aside b.before || fail "slot b changed"
	[ "$(state result)" = apply-error ] && [ "$(state trial)" = none ] ||
		fail "result $(state result), trial $(state trial)"
	[ -z "$(efi_get_u16 BootNext)" ] || fail "BootNext set"
	[ -e $DATA/staged.img ] || fail "the staged image was moved"
}

# slotflip status shows slotflip-init's whole reason (up to 511 bytes).
test_status_shows_a_long_reason_whole() {
	setup
	why="$(printf 'x%.0s' $(seq 500)) end"
	printf 'result=refused\ntime=1\nslot=b\nversion=1.1\nreason=%s\n' \
		"$why" >$DATA/last-result
	got=$("$SF_BIN/slotflip" --root root status --json | jq -r .last_apply.reason)
	[ "$got" = "$why" ] || fail "status cut the reason to ${#got} bytes"
	"$SF_BIN/slotflip" --root root status | grep -qF "$why" ||
		fail "status text cut the reason"
}

run_cases
