#!/bin/bash
# Integration tests of slotflip-image (the sanitizer build): round trips,
# deltas, minisign interop, refusals with their exit codes, tamper sweep.
. "$(dirname "$0")/lib.sh"

# Small deterministic payloads: text-like rootfs with a zero run, efi.
payloads() {
	seq 1 40000 >rootfs
	head -c 200000 /dev/zero >>rootfs
	seq 50000 90000 | tr 0-9 a-j >>rootfs
	seq 1 3000 | sha256sum | head -c 64 >efi
	for i in $(seq 1 300); do echo "efi section $i"; done >>efi
}

keys() {
	"$IMG" keygen -p k.pub -s k.sec >/dev/null
	"$IMG" keygen -p k2.pub -s k2.sec >/dev/null
}

mk() { # VERSION OUT [extra create args]
	local v=$1 out=$2
	shift 2
	SOURCE_DATE_EPOCH=1700000000 "$IMG" create --rootfs rootfs --efi efi \
		--version "$v" --compatible acme-gw --key k.sec \
		--chunk-size 16384 -o "$out" "$@" >/dev/null
}

stored() { # PAYLOAD IMAGE: the payload's stored bytes
	"$IMG" inspect "$2" | awk -v p="$1" '$1 == "payload" && $2 == p { print $8 }'
}

test_help_on_every_command() {
	"$IMG" --help | grep -q "Exit status"
	for c in keygen create sign verify inspect manifest extract; do
		"$IMG" "$c" --help | grep -q "Usage: slotflip-image $c" ||
			fail "$c --help"
	done
	expect_fail 2 "unknown command" "$IMG" frobnicate
	expect_fail 2 "bad option" "$IMG" verify --bogus x
	expect_fail 2 "give IMAGE and --pubkey" "$IMG" verify
	expect_fail 2 "threshold 2 is above the 1 keys" "$IMG" verify x \
		--pubkey k.pub --threshold 2
}

test_round_trip() {
	payloads
	keys
	mk 1.0.0 a.img
	"$IMG" verify a.img --pubkey k.pub | grep -q "good: full image 1.0.0"
	"$IMG" inspect a.img | grep -q "compatible:  acme-gw"
	"$IMG" inspect --json a.img >j
	grep -q '"version": "1.0.0"' j
	grep -q '"kind": "rootfs", "size": '"$(stat -c %s rootfs)" j
	grep -q '"zero": [1-9]' j
	"$IMG" extract a.img --pubkey k.pub --rootfs r.out --efi e.out
	cmp r.out rootfs
	cmp e.out efi
	# The image is smaller than the payloads: they compress.
	[ "$(stat -c %s a.img)" -lt $(($(stat -c %s rootfs) / 2)) ]
}

# Format 2 with zstd chunks by default; inspect says so.
test_format_2_zstd_by_default() {
	payloads
	keys
	mk 1.0 a.img
	"$IMG" inspect a.img >i.txt
	grep -q "^image:       a.img ([0-9]* bytes, format 2)$" i.txt ||
		fail "not format 2: $(head -n 1 i.txt)"
	grep -qx "codec:       zstd" i.txt || fail "codec: $(grep codec i.txt)"
	grep -q "^payload rootfs .*, zstd [1-9][0-9]*, reference 0)$" i.txt ||
		fail "no zstd chunks: $(grep payload i.txt)"
	"$IMG" inspect --json a.img >j
	grep -q '"format": 2, .*"codec": "zstd"' j || fail "json: $(cat j)"
	"$IMG" verify a.img --pubkey k.pub --content | grep -q "good: full image 1.0"
	"$IMG" extract a.img --pubkey k.pub --rootfs r.out --efi e.out
	cmp r.out rootfs
	cmp e.out efi
	# zstd at its default level beats zlib at 9 on these payloads.
	mk 1.0 z.img --codec zlib
	[ "$(stat -c %s a.img)" -lt "$(stat -c %s z.img)" ] ||
		fail "zstd image not smaller than the zlib one"
}

# Version 1 (zlib) images are still made on request and read; a version 2
# delta can be made against one and applies onto its payloads.
test_format_1_still_read() {
	payloads
	keys
	mk 1.0 v1.img --format 1
	"$IMG" inspect v1.img >i.txt
	grep -q "format 1)$" i.txt || fail "not format 1: $(head -n 1 i.txt)"
	grep -qx "codec:       zlib" i.txt || fail "codec: $(grep codec i.txt)"
	"$IMG" inspect --json v1.img | grep -q '"format": 1, .*"codec": "zlib"'
	"$IMG" verify v1.img --pubkey k.pub --content | grep -q "good: full image 1.0"
	"$IMG" extract v1.img --pubkey k.pub --rootfs r.out --efi e.out
	cmp r.out rootfs
	cmp e.out efi
	cp rootfs rootfs.v1
	sed -i '100s/.*/changed/' rootfs
	mk 1.1 d.img --delta-from v1.img
	"$IMG" inspect d.img | grep -q "format 2)$" || fail "delta not format 2"
	"$IMG" extract d.img --pubkey k.pub --rootfs r2.out --efi e2.out \
		--base-rootfs rootfs.v1 --base-efi efi
	cmp r2.out rootfs
	cmp e2.out efi
}

test_codec_zlib_in_format_2() {
	payloads
	keys
	mk 1.0 a.img --codec zlib --level 6
	"$IMG" inspect a.img >i.txt
	grep -q "format 2)$" i.txt && grep -qx "codec:       zlib" i.txt ||
		fail "$(cat i.txt)"
	"$IMG" verify a.img --pubkey k.pub --content | grep -q "good: full image 1.0"
}

test_codec_and_format_usage_errors() {
	payloads
	keys
	expect_fail 2 'bad codec "lz4" (zstd or zlib)' mk 1.0 x.img --codec lz4
	expect_fail 2 "format 1 has no zstd chunks" \
		mk 1.0 x.img --format 1 --codec zstd
	expect_fail 2 'bad format "3"' mk 1.0 x.img --format 3
	expect_fail 2 'bad level "20"' mk 1.0 x.img --level 20
	expect_fail 2 "zlib compression level must be 1 to 9" \
		mk 1.0 x.img --codec zlib --level 12
	[ ! -e x.img ] || fail "x.img left behind"
	"$IMG" create --help >h.txt
	grep -q -- "--codec C" h.txt && grep -q -- "--format F" h.txt ||
		fail "create --help lacks --codec or --format"
}

test_build_is_reproducible() {
	payloads
	keys
	mk 1.0 a.img --threads 1
	mk 1.0 b.img --threads 2
	cmp a.img b.img
}

test_delta_reconstructs_the_new_payload() {
	payloads
	keys
	mk 1.0 v1.img
	cp rootfs rootfs.v1
	# v2: 4 KiB inserted early (shifts the rest), a few bytes changed.
	{ head -c 8192 rootfs.v1; head -c 4096 /dev/urandom
	  tail -c +8193 rootfs.v1 | head -c 300000 | sed 's/7/8/g'
	  tail -c +308193 rootfs.v1; } >rootfs
	mk 1.1 v2.img --delta-from v1.img
	mk 1.1 v2full.img
	"$IMG" verify v2.img --pubkey k.pub | grep -q "good: delta image 1.1"
	"$IMG" inspect v2.img | grep -q "delta from version 1.0"
	# (Stored bytes: the header, manifest and signature block are ~24 KB.)
	[ "$(stored rootfs v2.img)" -lt $(($(stored rootfs v2full.img) / 2)) ] ||
		fail "delta not smaller than half the full image"
	"$IMG" extract v2.img --pubkey k.pub --rootfs r.out --efi e.out \
		--base-rootfs rootfs.v1 --base-efi efi
	cmp r.out rootfs
	cmp e.out efi
	expect_fail 1 "this is a delta image from version 1.0" \
		"$IMG" extract v2.img --pubkey k.pub --rootfs r2.out
	expect_fail 1 "the base does not hold the data" \
		"$IMG" extract v2.img --pubkey k.pub --rootfs r2.out \
		--base-rootfs rootfs
	[ ! -e r2.out ] || fail "partial output left behind"
	expect_fail 1 "is itself a delta image" \
		mk 1.2 v3.img --delta-from v2.img
}

# A delta base is trusted only when its signatures verify: by default
# against the public half of --key, else against --base-pubkey (k of n).
test_delta_base_must_be_signed() {
	payloads
	keys
	"$IMG" keygen -p k3.pub -s k3.sec >/dev/null
	SOURCE_DATE_EPOCH=1700000000 "$IMG" create --rootfs rootfs --efi efi \
		--version 1.0 --compatible acme-gw --key k2.sec \
		--chunk-size 16384 -o other.img >/dev/null
	echo more >>rootfs
	expect_fail 1 "delta base other.img is not signed by the key(s)" \
		mk 1.1 v2.img --delta-from other.img
	grep -qF "checked against the public half of --key k.sec; if another key signed it, give that key's public key with --base-pubkey PUB" err.txt ||
		fail "no hint to --base-pubkey"
	[ ! -e v2.img ] || fail "an image made from an untrusted base"
	mk 1.1 v2.img --delta-from other.img --base-pubkey k2.pub
	"$IMG" inspect v2.img | grep -q "delta from version 1.0"
	# k of n, as verify counts them.
	expect_fail 1 "checked against --base-pubkey k2.pub, k3.pub" \
		mk 1.1 v3.img --delta-from other.img --base-pubkey k2.pub \
		--base-pubkey k3.pub --threshold 2
	"$IMG" sign other.img --key k3.sec >/dev/null
	mk 1.1 v3.img --delta-from other.img --base-pubkey k2.pub \
		--base-pubkey k3.pub --threshold 2
	expect_fail 2 "threshold 3 is above the 2 keys" \
		mk 1.1 v4.img --delta-from other.img --base-pubkey k2.pub \
		--base-pubkey k3.pub --threshold 3
	expect_fail 2 "go with --delta-from" mk 1.1 v4.img --base-pubkey k2.pub
	expect_fail 7 "cannot use public key nope.pub" \
		mk 1.1 v4.img --delta-from other.img --base-pubkey nope.pub
}

test_delta_base_unsigned_or_tampered_refused() {
	local sigs
	payloads
	keys
	mk 1.0 v1.img
	echo more >>rootfs
	# Tampered: one byte of the manifest (the version string's field).
	cp v1.img bad.img
	printf 'X' | dd of=bad.img bs=1 seek=$((4096 + 200)) conv=notrunc \
		status=none
	expect_fail 1 "delta base bad.img is not signed by the key(s)" \
		mk 1.1 v2.img --delta-from bad.img
	# Unsigned: a signature block that holds no signature (count 0).
	sigs=$(($(grep -boa "untrusted comment" v1.img | head -1 |
		cut -d: -f1) - 16))
	[ "$(dd if=v1.img bs=1 skip=$sigs count=8 status=none)" = SFSIGBLK ]
	cp v1.img nosig.img
	dd if=/dev/zero of=nosig.img bs=1 seek=$((sigs + 8)) count=16376 \
		conv=notrunc status=none
	expect_fail 1 "valid signatures from 0 of the 1" \
		"$IMG" verify nosig.img --pubkey k.pub
	expect_fail 1 "delta base nosig.img is not signed by the key(s)" \
		mk 1.1 v2.img --delta-from nosig.img
	[ ! -e v2.img ] || fail "an image made from an untrusted base"
}

# A signed base declaring 2 GiB of zero chunks in 64 KiB (or 1 TiB in
# 21 MB): its zeros take no memory (create runs in 512 MiB of address space, the static build:
# the sanitizers' shadow does not fit there); one declaring more non-zero
# data than the machine's memory, or a chunk longer than deflate can give,
# is refused before anything is allocated.
test_delta_base_declared_sizes_bounded() {
	local ram
	payloads
	keys
	SOURCE_DATE_EPOCH=1700000000 "$IMG" create --rootfs rootfs --efi efi \
		--version 1.0 --compatible acme-gw --key k.sec \
		--chunk-size 4194304 -o v1.img >/dev/null
	"$SF_BIN/tool-lie-image" v1.img zeros.img k.sec $((2 << 30)) zeros
	[ "$(stat -c %s zeros.img)" -lt 200000 ]
	echo more >>rootfs
	mk 1.1 v2.img --delta-from zeros.img
	"$IMG" verify v2.img --pubkey k.pub | grep -q "good: delta image 1.1"
	ram=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024))
	[ "$ram" -lt $((256 << 30)) ] || skip "more than 256 GiB of memory"
	"$SF_BIN/tool-lie-image" v1.img fill.img k.sec $((ram + (1 << 30))) fill
	expect_fail 1 "delta base fill.img: $(((ram + (1 << 30)) >> 20)) MiB of data that is not zero, more than this machine's" \
		mk 1.1 v3.img --delta-from fill.img
	"$SF_BIN/tool-lie-image" v1.img short.img k.sec 0 short
	expect_fail 1 "delta base short.img: chunk 0 declares" \
		mk 1.1 v3.img --delta-from short.img
	grep -q "more than deflate can give" err.txt
	[ -x "${SF_STATIC_BIN:-}/slotflip-image" ] ||
		skip "no static slotflip-image (make) for the ulimit -v check"
	(ulimit -v $((512 << 10))
	 IMG=$SF_STATIC_BIN/slotflip-image mk 1.1 v4.img --delta-from zeros.img) ||
		fail "create with a 2 GiB zero base in 512 MiB of address space"
	"$IMG" verify v4.img --pubkey k.pub | grep -q "good: delta image 1.1"
	# 1 TiB of zero chunks (the format's largest payload), 21 MB.
	"$SF_BIN/tool-lie-image" v1.img tib.img k.sec $((1 << 40)) zeros
	(ulimit -v $((512 << 10))
	 IMG=$SF_STATIC_BIN/slotflip-image mk 1.1 v5.img --delta-from tib.img) ||
		fail "create with a 1 TiB zero base in 512 MiB of address space"
}

test_threshold_and_sign() {
	payloads
	keys
	mk 1.0 a.img
	expect_fail 1 "from 1 of the 2 trusted keys, 2 required" \
		"$IMG" verify a.img --pubkey k.pub --pubkey k2.pub --threshold 2
	"$IMG" sign a.img --key k2.sec
	"$IMG" verify a.img --pubkey k.pub --pubkey k2.pub --threshold 2 |
		grep -q good
	"$IMG" inspect a.img | grep -q "signatures:  2"
	# Signing twice with one key adds nothing.
	"$IMG" sign a.img --key k2.sec
	"$IMG" inspect a.img | grep -q "signatures:  2"
	"$IMG" verify a.img --pubkey k2.pub | grep -q good
}

test_wrong_key_refused() {
	payloads
	keys
	mk 1.0 a.img
	expect_fail 1 "valid signatures from 0 of the 1 trusted keys" \
		"$IMG" verify a.img --pubkey k2.pub
}

test_key_problems() {
	payloads
	keys
	expect_fail 7 "cannot use public key missing.pub" \
		"$IMG" verify x --pubkey missing.pub
	echo "not a key" >bad.pub
	expect_fail 7 "cannot use public key bad.pub" \
		"$IMG" verify x --pubkey bad.pub
	expect_fail 7 "cannot use secret key k.pub" \
		"$IMG" create --rootfs rootfs --efi efi --version 1 \
		--compatible c --key k.pub -o x.img
	expect_fail 5 "k.sec exists; give --force" \
		"$IMG" keygen -p k.pub -s k.sec
	cp k.sec k.sec.orig
	"$IMG" keygen -p k.pub -s k.sec --force >/dev/null
	! cmp -s k.sec k.sec.orig || fail "--force did not replace the key"
	[ "$(stat -c %a k.sec)" = 600 ] || fail "secret key mode"
}

test_bad_values_are_usage_errors() {
	payloads
	keys
	expect_fail 2 "is not 1 to 8 dot-separated numbers" \
		mk 1.0-rc1 x.img
	expect_fail 2 "compatible string must be" \
		"$IMG" create --rootfs rootfs --efi efi --version 1 \
		--compatible "a b" --key k.sec -o x.img
	expect_fail 2 "bad chunk size" mk 1.0 x.img --chunk-size 12abc
	expect_fail 2 "chunk size must be a power of two" \
		mk 1.0 x.img --chunk-size 5000
	expect_fail 2 "give --rootfs FILE and --efi FILE" \
		"$IMG" create --version 1 --compatible c --key k.sec -o x.img
	[ ! -e x.img ] || fail "x.img left behind"
	expect_fail 5 "cannot open nothing" \
		"$IMG" create --rootfs nothing --efi efi --version 1 \
		--compatible c --key k.sec -o x.img
	ls | grep -q '\.tmp\.' && fail "temporary file left behind"
	true
}

test_refuses_non_images() {
	payloads
	keys
	mk 1.0 a.img
	expect_fail 1 "not a slotflip image" "$IMG" verify rootfs --pubkey k.pub
	: >empty
	expect_fail 1 "not a slotflip image (only 0 bytes)" \
		"$IMG" verify empty --pubkey k.pub
	expect_fail 5 "cannot open nothing.img" \
		"$IMG" verify nothing.img --pubkey k.pub
	# An unknown format version, and an absurd manifest length.
	cp a.img v3.img
	printf '\003' | dd of=v3.img bs=1 seek=8 conv=notrunc 2>/dev/null
	expect_fail 1 "image format version 3, this reader knows 1 to 2" \
		"$IMG" verify v3.img --pubkey k.pub
	# The header's version must be the signed manifest's.
	cp a.img v1.img
	printf '\001' | dd of=v1.img bs=1 seek=8 conv=notrunc 2>/dev/null
	expect_fail 1 "manifest of format version 2 in an image of version 1" \
		"$IMG" verify v1.img --pubkey k.pub
	cp a.img big.img
	printf '\377\377\377\377\377\377\377\177' |
		dd of=big.img bs=1 seek=16 conv=notrunc 2>/dev/null
	expect_fail 1 "out of bounds" "$IMG" inspect big.img
	head -c 20000 a.img >trunc.img
	expect_fail 1 "truncated" "$IMG" verify trunc.img --pubkey k.pub
}

# Flip one byte at OFFSET of a copy of a.img: verify must refuse (exit 1),
# never accept, crash or report another error.
flip_refused() {
	local off=$1 rc=0
	cp a.img t.img
	b=$(od -An -tu1 -j "$off" -N1 t.img)
	printf "\\$(printf %03o $(((b ^ 0x41) & 255)))" |
		dd of=t.img bs=1 seek="$off" conv=notrunc 2>/dev/null
	"$IMG" verify t.img --pubkey k.pub >/dev/null 2>err.txt || rc=$?
	[ "$rc" = 1 ] || fail "byte $off flipped: verify exited $rc"
}

test_tamper_sweep() {
	payloads
	keys
	mk 1.0 a.img
	msize=$(od -An -tu8 -j16 -N8 a.img | tr -d ' ')
	sig=$(((4096 + msize + 4095) / 4096 * 4096))
	data=$((sig + 16384))
	size=$(stat -c %s a.img)
	n=0
	for off in 0 7 8 12 15 16 23 24 100 4095; do flip_refused $off; n=$((n + 1)); done
	for ((off = 4096; off < 4096 + msize; off += 37)); do flip_refused $off; n=$((n + 1)); done
	for ((off = 4096 + msize; off < sig; off += 211)); do flip_refused $off; n=$((n + 1)); done
	for ((off = sig; off < sig + 420; off += 9)); do flip_refused $off; n=$((n + 1)); done
	flip_refused $((sig + 16383))
	for ((off = data; off < size; off += (size - data) / 60)); do flip_refused $off; n=$((n + 1)); done
	flip_refused $((size - 1))
	echo "  tamper sweep: $((n + 2)) single-byte flips, all refused"
}

test_minisign_interop() {
	command -v minisign >/dev/null || skip "minisign not installed"
	payloads
	# Keys made by minisign sign our images.
	minisign -G -W -p m.pub -s m.sec >/dev/null
	SOURCE_DATE_EPOCH=1700000000 "$IMG" create --rootfs rootfs --efi efi \
		--version 2.0 --compatible acme-gw --key m.sec -o a.img >/dev/null
	"$IMG" verify a.img --pubkey m.pub | grep -q good
	# Our signatures check with minisign -V.
	"$IMG" manifest a.img -o man -x man.minisig
	minisign -Vm man -x man.minisig -p m.pub | grep -q "version:2.0"
	# Our keys work with minisign, both ways.
	"$IMG" keygen -p k.pub -s k.sec >/dev/null
	echo hello >msg
	minisign -S -s k.sec -m msg -t "made by minisign" >/dev/null
	minisign -Vm msg -p k.pub -q
	"$IMG" sign a.img --key k.sec
	"$IMG" manifest a.img -o man2 -x man2.minisig --signature 1
	minisign -Vm man2 -x man2.minisig -p k.pub -q
	# A tampered manifest fails minisign too.
	printf 'X' | dd of=man bs=1 seek=50 conv=notrunc 2>/dev/null
	! minisign -Vm man -x man.minisig -p m.pub -q 2>/dev/null ||
		fail "minisign accepted a tampered manifest"
}

test_password_protected_minisign_key() {
	command -v minisign >/dev/null || skip "minisign not installed"
	payloads
	printf 'sekrit\nsekrit\n' | minisign -G -p p.pub -s p.sec >/dev/null 2>&1
	expect_fail 7 "is password-protected: give its password with --password-file" \
		"$IMG" create --rootfs rootfs --efi efi --version 1 \
		--compatible c --key p.sec -o a.img
	echo wrong >pw
	expect_fail 7 "cannot use secret key p.sec" \
		"$IMG" create --rootfs rootfs --efi efi --version 1 \
		--compatible c --key p.sec --password-file pw -o a.img
	echo sekrit >pw
	"$IMG" create --rootfs rootfs --efi efi --version 1 --compatible c \
		--key p.sec --password-file pw -o a.img >/dev/null
	"$IMG" verify a.img --pubkey p.pub | grep -q good
}

run_cases
