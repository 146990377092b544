#!/bin/bash
# Integration tests of `slotflip-image verify --content`: every chunk is
# decoded and checked against its declared length and content hash, so a
# validly signed image whose chunk lies (tests/tools/lie-image.c) is
# refused, which plain verify cannot see; deltas with and without the
# payloads they were made against.
. "$(dirname "$0")/lib.sh"

LIE=$SF_BIN/tool-lie-image

# Compressible deterministic payloads of 30 chunks of 16 KiB, and keys.
setup() {
	seq 1 60000 >rootfs
	head -c 100000 /dev/zero >>rootfs
	seq 1 3000 | sha256sum | head -c 64 >efi
	for i in $(seq 1 300); do echo "efi section $i"; done >>efi
	"$IMG" keygen -p k.pub -s k.sec >/dev/null
	mk 1.0 v1.img
}

mk() { # VERSION OUT [extra create args]
	local v=$1 out=$2
	shift 2
	"$IMG" create --rootfs rootfs --efi efi --version "$v" \
		--compatible acme-gw --key k.sec --chunk-size 16384 \
		-o "$out" "$@" >/dev/null
}

# A delta v2.img from v1.img: a few bytes of the rootfs change, the efi
# binary not at all (all its chunks come from the base).
delta_setup() {
	setup
	cp rootfs rootfs.v1
	cp efi efi.v1
	sed -i '2000s/.*/changed/' rootfs
	mk 1.1 v2.img --delta-from v1.img
	"$IMG" inspect v2.img | grep -q "delta from version 1.0" ||
		fail "v2.img is not a delta"
}

test_help_documents_content() {
	"$IMG" verify --help >help.txt
	grep -q -- "--content" help.txt || fail "verify --help lacks --content"
	grep -q -- "--base-rootfs FILE" help.txt || fail "help lacks the bases"
	grep -q "8 (--content only)" help.txt || fail "help lacks exit 8"
	"$IMG" --help | grep -q -- "--content" ||
		fail "slotflip-image --help lacks verify --content"
}

test_good_image_passes() {
	setup
	"$IMG" verify v1.img --pubkey k.pub --content >out.txt
	grep -q "v1.img: good: full image 1.0 for acme-gw, signatures and [0-9]* chunks with their content check" out.txt ||
		fail "unexpected output: $(cat out.txt)"
}

# lie_refused CHUNK longer|wrong MESSAGE: v1.img with rootfs chunk CHUNK
# lying as lie-image makes it. Its signatures and stored hashes are right,
# so plain verify passes it; verify --content refuses it with MESSAGE.
lie_refused() {
	setup
	"$LIE" v1.img lie.img k.sec "$1" "$2"
	"$IMG" verify lie.img --pubkey k.pub >/dev/null ||
		fail "plain verify refused a validly signed image"
	expect_fail 1 "$3" "$IMG" verify lie.img --pubkey k.pub --content
	grep -q "lie.img is refused: its signatures are valid, but its data is not what its manifest declares" err.txt ||
		fail "no summary line: $(cat err.txt)"
	[ ! -s out.txt ] || fail "said something on stdout: $(cat out.txt)"
}

# The chunk inflates to twice its declared length.
test_chunk_longer_than_declared_is_refused() {
	lie_refused 3 longer "chunk 3: does not inflate to its 16384 bytes"
}

# The chunk inflates to its declared length, but to other content.
test_chunk_with_wrong_content_is_refused() {
	lie_refused 5 wrong "chunk 5: content does not match its hash"
}

# zstd chunks (format 2) that lie, each refused before it is used: a frame
# of twice the length, one that declares the length but holds half of it,
# one with other content, one asking for a 128 MiB window, one followed by
# a byte.
test_zstd_frame_longer_than_declared_is_refused() {
	lie_refused 3 zlonger "chunk 3: zstd frame does not declare the chunk's length"
}

test_zstd_frame_shorter_than_it_declares_is_refused() {
	lie_refused 3 zshort "chunk 3: corrupt zstd frame"
}

test_zstd_chunk_with_wrong_content_is_refused() {
	lie_refused 3 zwrong "chunk 3: content does not match its hash"
}

test_zstd_window_over_4_mib_is_refused() {
	lie_refused 3 zwindow "chunk 3: zstd frame asks for a window over 4 MiB"
}

test_zstd_trailing_bytes_are_refused() {
	lie_refused 3 ztrailing "chunk 3: not exactly one whole zstd frame"
}

# A stored-data tamper is still found with --content (the stored hash is
# checked before a chunk is decoded).
test_tampered_data_is_refused() {
	setup
	size=$(stat -c %s v1.img)
	printf 'X' | dd of=v1.img bs=1 seek=$((size - 100)) conv=notrunc \
		2>/dev/null
	expect_fail 1 "stored data does not match its hash" \
		"$IMG" verify v1.img --pubkey k.pub --content
}

test_delta_with_its_bases_passes() {
	delta_setup
	"$IMG" verify v2.img --pubkey k.pub --content \
		--base-rootfs rootfs.v1 --base-efi efi.v1 >out.txt
	grep -q "good: delta image 1.1 .* with their content check" out.txt ||
		fail "unexpected output: $(cat out.txt)"
}

# Without its bases, the chunks that read them are not checked: exit 8
# and how many; given only the rootfs base, only the efi chunks remain.
test_delta_without_bases_is_not_fully_checked() {
	delta_setup
	n_efi=$("$IMG" inspect --json v2.img | grep -o '"kind": "efi"[^}]*' |
		grep -o '"chunks": [0-9]*' | grep -o '[0-9]*$')
	rc=0
	"$IMG" verify v2.img --pubkey k.pub --content >out.txt || rc=$?
	[ "$rc" = 8 ] || fail "exit $rc without bases, want 8"
	grep -q "v2.img: not fully checked: .* but the content of [1-9][0-9]* chunks that read the payloads of version 1.0 was not checked: give them with --base-rootfs FILE and --base-efi FILE" out.txt ||
		fail "unexpected output: $(cat out.txt)"
	all=$(grep -o "content of [0-9]* chunks" out.txt | grep -o "[0-9]*")
	rc=0
	"$IMG" verify v2.img --pubkey k.pub --content \
		--base-rootfs rootfs.v1 >out.txt || rc=$?
	[ "$rc" = 8 ] || fail "exit $rc with the rootfs base only, want 8"
	grep -q "content of $n_efi chunks" out.txt ||
		fail "want the $n_efi efi chunks unchecked: $(cat out.txt)"
	[ "$n_efi" -lt "$all" ] || fail "the rootfs base checked nothing"
}

# A lie in a chunk that does not read the base is found without bases.
test_delta_lie_found_without_bases() {
	delta_setup
	"$LIE" v2.img lie.img k.sec 0 wrong
	expect_fail 1 "chunk 0: content does not match its hash" \
		"$IMG" verify lie.img --pubkey k.pub --content
}

test_delta_with_wrong_base_is_refused() {
	delta_setup
	seq 5 70000 >other
	expect_fail 1 "the base does not hold the data this delta was made against" \
		"$IMG" verify v2.img --pubkey k.pub --content \
		--base-rootfs other --base-efi efi.v1
	grep -q "or the base is not the one the delta was made against" \
		err.txt || fail "no summary line: $(cat err.txt)"
}

test_usage_and_file_errors() {
	delta_setup
	expect_fail 2 "--base-rootfs and --base-efi go with --content" \
		"$IMG" verify v2.img --pubkey k.pub --base-rootfs rootfs.v1
	expect_fail 2 "bad option" \
		"$IMG" extract v2.img --pubkey k.pub --rootfs r --content
	expect_fail 5 "cannot open base missing" \
		"$IMG" verify v2.img --pubkey k.pub --content \
		--base-rootfs missing
	# A base given for a full image is not used, and said so.
	"$IMG" verify v1.img --pubkey k.pub --content --base-efi efi.v1 \
		>out.txt 2>err.txt || fail "full image with a base refused"
	grep -q "not a delta image: --base-efi is not used" err.txt ||
		fail "no warning: $(cat err.txt)"
}

run_cases
