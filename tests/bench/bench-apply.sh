#!/bin/bash
# make bench (apply part): `slotflip-init --root` applying each payload of
# the image benchmark (the synthetic reference payload of
# ../shared/bench/make-payload.sh, and the real Debian update pair of
# ../shared/bench/make-real-payload.sh with 1 KiB and with 4 KiB ext4
# blocks) to a spare slot that is a loop device over a file on disk (direct
# I/O, like a partition: no second page cache under the slot's), cold cache,
# against its peers on the same payload and the same loop device:
#
#   full   slotflip apply of a full v1 image (every chunk's stored hash
#          checked before it is written, the EFI binary written and renamed,
#          the slot flushed, its cache dropped and every chunk read back and
#          checked)  vs  `gzip -dc v1.gz | dd conv=fsync`  vs
#          `dd conv=fsync` of the uncompressed v1
#   delta  slotflip apply of a v2 delta image (made with --delta-from v1,
#          v1 in the active slot)  vs  slotflip apply of the full v2 image,
#          each onto a spare slot that starts with the pattern (below) and
#          onto one that starts holding v1, the delta's base (as on a device:
#          after a factory install both slots hold v1; in steady state the
#          spare holds the version before the running one)
#          and the floor of the delta onto v1: reading the whole spare slot
#          once (dd iflag=direct, cold cache) or hashing its 1 MiB chunks
#          with BLAKE2b on every CPU (build/bench/hash-chunks, from memory,
#          side by side as slotflip-init hashes them; one at a time with
#          libsodium printed beside), the longer of the two; every chunk of
#          the spare is read and proven by its content hash. Goal: the delta
#          onto its base within 1.1x of reading the slot once
#   memory the peak resident set size of slotflip-init in every apply
#          (/usr/bin/time -v, "Maximum resident set size"), the largest of
#          each kind of apply printed; goal: at most 256 MiB
#   rauc   with BENCH_PEERS=1 (`make bench-peers`), on the synthetic payload:
#          `rauc install` of a plain bundle of its v1, timed by
#          ../shared/bench/rauc-peer.sh (its runs one after the other), then
#          slotflip's full apply as many times again: the ratio takes
#          slotflip's runs before and after
#
# Before every run, outside the timing: the spare slot is filled with a
# pattern that is none of the images' content (slotflip skips chunks that are
# already right: a run must start from a slot that does not hold them), or
# with v1 for the delta runs that say so,
# the test root's EFI state, staged image and spare EFI binary are reset,
# then `sync; echo 3 > /proc/sys/vm/drop_caches`. Times are medians over
# runs; the tools alternate run by run (and which of them goes first), so
# the noise of a shared machine hits them alike. After every slotflip run
# the spare slot is compared with the image it should now hold (cmp,
# untimed). Prints figures and a "goals:" block, asserts nothing: a missed
# goal is printed "NOT MET" and the exit status stays 0. Non-zero only when
# something fails to run or a slot does not hold what was applied.
#
# Environment:
#   BENCH_PAYLOAD=DIR  an existing synthetic payload (img-v1.ext4,
#                      img-v2.ext4, and img-v1.ext4.gz, else it is made in
#                      build/bench/apply). Default build/bench/payload,
#                      generated when missing
#   BENCH_REAL=DIR     an existing real pair (default build/bench/real,
#                      which `make bench` generates); its gzip copies are
#                      made in build/bench/apply
#   BENCH_RUNS=N       runs of every measurement (default 5)
#   BENCH_PEERS=1      also time `rauc install` (installs Debian's rauc)
#   BENCH_SHARED=DIR   the shared bench helpers (default ../shared/bench)
#   BENCH_COMPARE=PATH another build of slotflip-init (say, of an earlier
#                      commit): the delta runs time it too, alternating with
#                      this build, and print both (before/after figures)
# Needs root (loop devices, drop_caches), /usr/bin/time (Debian's time),
# build/slotflip-image, build/slotflip-init, build/bench/state-tool and
# build/bench/hash-chunks: `make bench`.
# The images carry a 1 MiB EFI payload (the first bytes of the shared
# libraries), so that the rootfs dominates, as in what the peers write.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

B=build/bench
W=$B/apply
SFI=build/slotflip-image
INIT=build/slotflip-init
STATE=$B/state-tool
HASH=$B/hash-chunks
SHARED=${BENCH_SHARED:-../shared/bench}
EFI=$W/efi.bin
EFI_SIZE=1048576
COMPAT=slotflip-bench
R=$W/root
START=$EPOCHREALTIME

. tests/bench/lib.sh

RUNS=$(runs 5)
OTHER=${BENCH_COMPARE:-}
[ -z "$OTHER" ] || [ -x "$OTHER" ] || die "BENCH_COMPARE=$OTHER is not a program"
PEERS=${BENCH_PEERS:-0}
LOOPS=()

# Loop devices detached and slot files removed on every exit.
cleanup() {
	local d
	rm -f "$R/slots/a" "$R/slots/b"
	for d in "${LOOPS[@]}"; do losetup -d "$d" 2>/dev/null || true; done
	rm -f "$W/slot-a.raw" "$W/slot-b.raw" "$W"/rauc/slot*.img
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$SFI" ] && [ -x "$INIT" ] && [ -x "$STATE" ] && [ -x "$HASH" ] ||
	die "$SFI, $INIT, $STATE or $HASH is missing: run \`make bench\`"
[ "$(id -u)" = 0 ] ||
	die "the apply benchmark needs root (loop devices, dropping the page cache)"
command -v losetup >/dev/null || die "no losetup (apt-get install mount)"
[ -x /usr/bin/time ] && /usr/bin/time -v true 2>/dev/null ||
	die "no /usr/bin/time with -v (the peak memory of slotflip-init): apt-get install time"
mkdir -p "$W"
[ "$(stat -f -c %T "$W")" != tmpfs ] ||
	die "$W is on tmpfs: the slots must be files on disk"

payload_pairs

# Room for the two slots, three images and RAUC's two slots and bundle, of
# the largest payload, and the real pair's gzip copies.
avail=$(df -k --output=avail "$W" | tail -n 1)
need=$(($(fsize "$V1") * 5 / 1024 + 1024 * 1024))
[ "$avail" -ge "$need" ] ||
	die "$W: $((avail / 1024)) MiB free, the bench needs about $((need / 1024)) MiB"

make_efi $EFI_SIZE "$EFI"
[ -f "$W/bench.sec" ] || quiet "$SFI" keygen -p "$W/bench.pub" -s "$W/bench.sec" --force

# --- images (made once, again when the payload or the tool is newer) --------

# stale IMAGE INPUT...: IMAGE is missing, older than an input or the tool,
# or was made from other inputs (their names, sizes and times kept in
# IMAGE.from by made).
stale() {
	local f
	[ -f "$1" ] || return 0
	for f in "${@:2}" "$SFI" "$W/bench.sec"; do
		[ "$f" -nt "$1" ] && return 0
	done
	[ "$(cat "$1.from" 2>/dev/null)" != "$(stat -c '%n %s %Y' "${@:2}")" ]
}
made() { stat -c '%n %s %Y' "${@:2}" >"$1.from"; } # IMAGE INPUT...
image() { # OUT ROOTFS VERSION [options]
	local out=$1 rootfs=$2 version=$3
	shift 3
	echo "  making $out ($version$([ $# = 0 ] || echo " $*"))"
	rm -f "$out"
	quiet "$SFI" create --rootfs "$rootfs" --efi "$EFI" --version "$version" \
		--compatible "$COMPAT" --key "$W/bench.sec" -o "$out.tmp" "$@"
	mv "$out.tmp" "$out"
}

# --- the device: a test root; slots on loop devices, per payload -------------

rm -rf "$R"
mkdir -p "$R/etc/slotflip" "$R/keys" "$R/sys/firmware/efi/efivars" "$R/proc" \
	"$R/data/slotflip" "$R/esp/EFI/slotflip/a" "$R/esp/EFI/slotflip/b" \
	"$R/slots"
cp "$W/bench.pub" "$R/keys/"
cp "$EFI" "$R/esp/EFI/slotflip/a/linux.efi"
echo "slotflip.slot=a" >"$R/proc/cmdline"
cat >"$R/etc/slotflip/slotflip.conf" <<CONF
compatible = $COMPAT
pubkey = /keys/bench.pub
data = /data
data-dir = /data
esp = /esp
esp-dir = /esp
[slot a]
device = /slots/a
efi = /EFI/slotflip/a/linux.efi
boot-entry = 0001
[slot b]
device = /slots/b
efi = /EFI/slotflip/b/linux.efi
boot-entry = 0002
CONF
# EFI state for the delta and full v2 runs: slot a good, running version 1.
rm -rf "$W/state-root"
STATE_V1=$W/state-root/sys/firmware/efi/efivars
mkdir -p "$STATE_V1"
"$STATE" "$W/state-root" set good=a a.status=good a.version=1 ||
	die "$STATE could not write the state"

# Direct I/O between the loop device and its file, like a partition: no
# second page cache under the slot's, so that a read-back after dropping the
# slot's cache reads the disk. Buffered where the kernel refuses it.
loop() { # FILE -> device
	losetup -f --show --direct-io=on "$1" 2>/dev/null ||
		losetup -f --show "$1" || die "losetup $1 failed"
}

# slots V1: slot files of V1's size on loop devices, the active slot (a)
# holding V1 (written once, like a real partition; slotflip only reads it);
# sets ACTIVE, SPARE.
slots() {
	cleanup
	LOOPS=()
	for s in a b; do
		rm -f "$W/slot-$s.raw"
		truncate -s "$SIZE" "$W/slot-$s.raw"
	done
	ACTIVE=$(loop "$W/slot-a.raw")
	LOOPS+=("$ACTIVE")
	SPARE=$(loop "$W/slot-b.raw")
	LOOPS+=("$SPARE")
	dd if="$1" of="$ACTIVE" bs=4M conv=fsync status=none
	# sf_config_resolve_device takes paths under the root: symlinks.
	ln -sfn "$ACTIVE" "$R/slots/a"
	ln -sfn "$SPARE" "$R/slots/b"
}

# --- running ----------------------------------------------------------------

cold() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# fill_spare: a byte pattern none of the images holds, in every chunk.
fill_spare() {
	head -c "$SIZE" /dev/zero | tr '\0' '\125' |
		dd of="$SPARE" bs=4M iflag=fullblock conv=fsync status=none
}

# fill_spare_v1: the spare holds v1, as it does on a device after a
# factory install, or after two updates in steady state.
fill_spare_v1() {
	dd if="$V1" of="$SPARE" bs=4M conv=fsync status=none
}

# sf_apply IMAGE EXPECTED [STATE [SPARE]]: a boot of slot a with IMAGE
# staged; the spare slot starts with the pattern, or with v1 if SPARE=v1.
# Sets APPLIED (what it says it did) and RSS (its peak, KiB).
sf_apply() {
	local img=$1 expect=$2 state=${3:-} start=${4:-pattern}
	rm -rf "$R/sys/firmware/efi/efivars" "$R/data/slotflip"
	mkdir -p "$R/sys/firmware/efi/efivars" "$R/data/slotflip"
	[ -z "$state" ] || cp "$state"/* "$R/sys/firmware/efi/efivars/"
	rm -f "$R/esp/EFI/slotflip/b/"*
	ln "$img" "$R/data/slotflip/staged.img"
	if [ "$start" = v1 ]; then fill_spare_v1; else fill_spare; fi
	cold
	timed "$W/init.out" /usr/bin/time -v -o "$W/init.rss" \
		"${SF_INIT:-$INIT}" --root "$R"
	grep -q "^next: reboot (BootNext=b)" "$W/init.out" &&
		grep -q "written and read back" "$W/init.out" || {
		sed 's/^/  /' "$W/init.out" >&2
		die "slotflip-init did not apply $img"
	}
	APPLIED=$(sed -n 's/.*read back: //p' "$W/init.out")
	RSS=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$W/init.rss")
	[ -n "$RSS" ] || die "no maximum resident set size in $W/init.rss"
	cmp -s -n "$SIZE" "$SPARE" "$expect" ||
		die "after applying $img the spare slot does not hold $expect"
	cmp -s "$R/esp/EFI/slotflip/b/linux.efi" "$EFI" ||
		die "after applying $img the spare EFI binary is wrong"
}
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

gzip_dd() {
	gzip -dc "$GZ" | dd of="$SPARE" bs=4M iflag=fullblock conv=fsync \
		status=none
}
peer() { # NAME CMD...
	fill_spare
	cold
	timed /dev/null "${@:2}"
}

echo "slotflip apply benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
machine_lines "$INIT"
for p in "${PAIRS[@]}"; do
	read -r name v1 v2 <<<"$p"
	printf '%-9s %-9s %s, %s (%s each)\n' payload "$name" "$v1" \
		"$(basename "$v2")" "$(mib "$(fsize "$v1")")"
done
printf '%-9s medians of %d runs; before each: spare filled with a pattern (or v1 where said), caches dropped\n' \
	runs "$RUNS"
echo

GOALS=()
goal() { # TEXT VALUE VERDICT
	GOALS+=("$(printf '  %-64s %-13s %s' "$1" "$2" "$3")")
}

# bench_pair NAME V1 V2: the figures of one payload, its goals in GOALS.
bench_pair() {
	local name=$1
	V1=$2 V2=$3
	SIZE=$(fsize "$V1")
	[ "$(fsize "$V2")" = "$SIZE" ] || die "$V1 and $V2 differ in size"
	GZ=$(dirname "$V1")/$(basename "$V1").gz
	if ! [ -f "$GZ" ] || [ "$GZ" -ot "$V1" ]; then
		GZ=$W/$name-v1.ext4.gz
		if ! [ -f "$GZ" ] || [ "$GZ" -ot "$V1" ] ||
			[ "$(cat "$GZ.from" 2>/dev/null)" != "$(stat -c '%n %s %Y' "$V1")" ]; then
			gzip -6 -n -c "$V1" >"$GZ.tmp"
			mv "$GZ.tmp" "$GZ"
			made "$GZ" "$V1"
		fi
	fi
	I1=$W/$name-v1.img I2=$W/$name-v2.img ID=$W/$name-v2-delta.img
	if stale "$I1" "$V1" "$EFI"; then
		image "$I1" "$V1" 1
		made "$I1" "$V1" "$EFI"
	fi
	if stale "$I2" "$V2" "$EFI"; then
		image "$I2" "$V2" 2
		made "$I2" "$V2" "$EFI"
	fi
	if stale "$ID" "$V2" "$EFI" "$I1"; then
		image "$ID" "$V2" 2 --delta-from "$I1"
		made "$ID" "$V2" "$EFI" "$I1"
	fi
	slots "$V1"

	echo "== $name: $(basename "$V1") -> $(basename "$V2"), $(mib "$SIZE") (gzip -6 of v1: $(mib "$(fsize "$GZ")"))"
	printf '  images: v1 %s, v2 %s, v2 delta from v1 %s; EFI payload %s\n' \
		"$(mib "$(fsize "$I1")")" "$(mib "$(fsize "$I2")")" \
		"$(mib "$(fsize "$ID")")" "$(mib $EFI_SIZE)"
	dio=$(losetup -n -O DIO "$SPARE" | tr -d ' ')
	printf '  slots: spare %s over %s (direct I/O %s), active %s (holds v1); %s\n' \
		"$SPARE" "$W/slot-b.raw" "$([ "$dio" = 1 ] && echo on || echo off)" \
		"$ACTIVE" "$(stat -f -c 'filesystem %T' "$W")"

	# --- full: slotflip vs gzip -dc | dd vs dd ----------------------------

	sf_t=() gz_t=() dd_t=() sf_rss=()
	run_one() {
		case $1 in
		0)
			sf_apply "$I1" "$V1"
			sf_t+=("$WALL") sf_cpu=$CPU sf_rss+=("$RSS")
			;;
		1)
			peer gzip gzip_dd
			gz_t+=("$WALL") gz_cpu=$CPU
			;;
		2)
			peer dd dd if="$V1" of="$SPARE" bs=4M conv=fsync status=none
			dd_t+=("$WALL")
			;;
		esac
	}
	for ((i = 0; i < RUNS; i++)); do
		for k in 0 1 2; do run_one $(((i + k) % 3)); done
		printf '  full run %d/%d: slotflip %s (cpu %s s, peak %s; %s) | gzip -dc | dd %s (cpu %s s) | dd %s\n' \
			$((i + 1)) "$RUNS" "$(secs "${sf_t[-1]}")" "$sf_cpu" \
			"$(kib_mib "${sf_rss[-1]}")" "$APPLIED" \
			"$(secs "${gz_t[-1]}")" "$gz_cpu" "$(secs "${dd_t[-1]}")"
	done
	sf_med=$(median "${sf_t[@]}")
	gz_med=$(median "${gz_t[@]}")
	dd_med=$(median "${dd_t[@]}")
	printf 'full     slotflip %8s | gzip -dc | dd conv=fsync %8s | dd conv=fsync (raw) %8s\n' \
		"$(secs "$sf_med")" "$(secs "$gz_med")" "$(secs "$dd_med")"
	printf '         ratios: slotflip / gzip|dd %s, slotflip / dd %s (lower is faster)\n' \
		"$(ratio "$sf_med" "$gz_med")" "$(ratio "$sf_med" "$dd_med")"

	# --- delta: delta apply vs full apply of v2 ---------------------------
	#
	# Four cases, v1 in the active slot, taken in a rotating order run by
	# run:
	#   f2  full v2 onto a patterned spare  f2b  full v2 onto a spare holding v1
	#   dl  delta onto a patterned spare    dlb  delta onto a spare holding v1

	f2_t=() f2b_t=() dl_t=() dlb_t=()
	f2_rss=() f2b_rss=() dl_rss=() dlb_rss=()
	delta_one() {
		case $1 in
		0)
			sf_apply "$I2" "$V2" "$STATE_V1"
			f2_t+=("$WALL") f2_applied=$APPLIED f2_rss+=("$RSS")
			;;
		1)
			sf_apply "$I2" "$V2" "$STATE_V1" v1
			f2b_t+=("$WALL") f2b_applied=$APPLIED f2b_rss+=("$RSS")
			;;
		2)
			sf_apply "$ID" "$V2" "$STATE_V1"
			dl_t+=("$WALL") dl_applied=$APPLIED dl_rss+=("$RSS")
			;;
		3)
			sf_apply "$ID" "$V2" "$STATE_V1" v1
			dlb_t+=("$WALL") dlb_applied=$APPLIED dlb_rss+=("$RSS")
			;;
		esac
	}
	# other_one CASE: the same with BENCH_COMPARE's build, times in o_*.
	of2_t=() of2b_t=() odl_t=() odlb_t=()
	other_one() {
		local f2_t=() f2b_t=() dl_t=() dlb_t=()
		local f2_rss=() f2b_rss=() dl_rss=() dlb_rss=()
		local f2_applied f2b_applied dl_applied dlb_applied
		SF_INIT=$OTHER delta_one "$1"
		of2_t+=("${f2_t[@]}") of2b_t+=("${f2b_t[@]}")
		odl_t+=("${dl_t[@]}") odlb_t+=("${dlb_t[@]}")
	}
	for ((i = 0; i < RUNS; i++)); do
		for k in 0 1 2 3; do
			if [ -z "$OTHER" ]; then
				delta_one $(((i + k) % 4))
			elif (((i + k) % 2)); then
				other_one $(((i + k) % 4))
				delta_one $(((i + k) % 4))
			else
				delta_one $(((i + k) % 4))
				other_one $(((i + k) % 4))
			fi
		done
		printf '  delta run %d/%d: full v2 %s, onto v1 %s | delta %s, onto v1 %s\n' \
			$((i + 1)) "$RUNS" "$(secs "${f2_t[-1]}")" "$(secs "${f2b_t[-1]}")" \
			"$(secs "${dl_t[-1]}")" "$(secs "${dlb_t[-1]}")"
		[ -z "$OTHER" ] ||
			printf '      compared build: full v2 %s, onto v1 %s | delta %s, onto v1 %s\n' \
				"$(secs "${of2_t[-1]}")" "$(secs "${of2b_t[-1]}")" \
				"$(secs "${odl_t[-1]}")" "$(secs "${odlb_t[-1]}")"
	done
	# The floor of a delta onto a spare that holds its base: every chunk of
	# the spare is read and proven by its content hash (BLAKE2b), so no
	# delta apply takes less than reading the whole spare once (direct, as
	# slotflip reads it, from a cold cache as every apply starts) or than
	# hashing it on every CPU, whichever is longer.
	rd_t=() hs_t=() hs1_t=()
	for ((i = 0; i < RUNS; i++)); do
		fill_spare_v1
		cold
		timed /dev/null dd if="$SPARE" of=/dev/null bs=1M iflag=direct status=none
		rd_t+=("$WALL")
		timed "$W/hash.out" "$HASH" "$V1"
		hs_t+=("$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$W/hash.out")")
		hs1_t+=("$(sed -n 's/.*one=\([0-9.]*\).*/\1/p' "$W/hash.out")")
	done
	rd_med=$(median "${rd_t[@]}")
	hs_med=$(median "${hs_t[@]}")
	hs1_med=$(median "${hs1_t[@]}")
	hs_impl=$(sed -n 's/.*impl=\([a-z0-9]*\) lanes=\([0-9]*\).*/\1, \2 side by side/p' "$W/hash.out")
	floor=$(awk -v a="$rd_med" -v b="$hs_med" 'BEGIN { printf "%.3f", (a > b ? a : b) }')

	f2_med=$(median "${f2_t[@]}")
	f2b_med=$(median "${f2b_t[@]}")
	dl_med=$(median "${dl_t[@]}")
	dlb_med=$(median "${dlb_t[@]}")
	delta_speedup=$(ratio "$f2_med" "$dl_med")
	delta_v1_speedup=$(ratio "$f2b_med" "$dlb_med")
	update_speedup=$(ratio "$f2_med" "$dlb_med")
	read_ratio=$(ratio "$dlb_med" "$rd_med")
	echo 'delta    slotflip, v1 in the active slot; the spare slot starts with:'
	printf '           %-34s %-22s %s\n' '' 'a pattern (not v1/v2)' 'v1 (the delta'"'"'s base)'
	printf '           %-34s %-22s %s\n' 'full v2 image' "$(secs "$f2_med")" "$(secs "$f2b_med")"
	printf '           %-34s %-22s %s\n' 'delta v1 -> v2' "$(secs "$dl_med")" "$(secs "$dlb_med")"
	printf '           %-34s %-22s %s\n' 'full / delta (same start)' \
		"$delta_speedup" "$delta_v1_speedup"
	printf '         full v2 onto a patterned spare / delta onto a v1 spare: %s\n' \
		"$update_speedup"
	printf '         (first install vs update: not like for like; the delta'"'"'s own gain on the same start is the line above)\n'
	printf '         applied: full v2 %s / onto v1 %s\n' "$f2_applied" "$f2b_applied"
	printf '                  delta %s / onto v1 %s\n' "$dl_applied" "$dlb_applied"
	printf '         read the spare slot once (dd iflag=direct, cold): %s; delta onto v1 / that: %s\n' \
		"$(secs "$rd_med")" "$read_ratio"
	printf '         floor of a delta onto a spare holding its base: %s (the read above, or\n' \
		"$(secs "$floor")"
	printf '           BLAKE2b of its 1 MiB chunks on %s threads: %s, %s; one at a time: %s);\n' \
		"$(sed -n 's/.*threads=\([0-9]*\).*/\1/p' "$W/hash.out")" "$(secs "$hs_med")" "$hs_impl" "$(secs "$hs1_med")"
	printf '           delta onto v1 / floor %s, full v2 / floor %s\n' \
		"$(ratio "$dlb_med" "$floor")" "$(ratio "$f2_med" "$floor")"
	if [ -n "$OTHER" ]; then
		printf '         compared build %s, same runs (medians; this build after the slash):\n' "$OTHER"
		printf '           %-34s %-22s %s\n' 'full v2 image' \
			"$(secs "$(median "${of2_t[@]}")") / $(secs "$f2_med")" \
			"$(secs "$(median "${of2b_t[@]}")") / $(secs "$f2b_med")"
		printf '           %-34s %-22s %s\n' 'delta v1 -> v2' \
			"$(secs "$(median "${odl_t[@]}")") / $(secs "$dl_med")" \
			"$(secs "$(median "${odlb_t[@]}")") / $(secs "$dlb_med")"
	fi

	# --- memory: peak RSS of slotflip-init --------------------------------

	rss_max=$(max "${sf_rss[@]}" "${f2_rss[@]}" "${f2b_rss[@]}" "${dl_rss[@]}" "${dlb_rss[@]}")
	printf 'memory   slotflip-init peak RSS (largest of the runs): full v1 %s, full v2 %s, onto v1 %s, delta %s, onto v1 %s\n' \
		"$(kib_mib "$(max "${sf_rss[@]}")")" "$(kib_mib "$(max "${f2_rss[@]}")")" \
		"$(kib_mib "$(max "${f2b_rss[@]}")")" "$(kib_mib "$(max "${dl_rss[@]}")")" \
		"$(kib_mib "$(max "${dlb_rss[@]}")")"
	echo

	goal "$name: delta apply at least 3x faster than full" \
		"ratio $update_speedup" "$(verdict_min "$update_speedup" 3)"
	goal "$name:   like for like, both onto a spare holding v1" \
		"ratio $delta_v1_speedup" "$(verdict_min "$delta_v1_speedup" 3)"
	goal "$name:   like for like, both onto a patterned spare" \
		"ratio $delta_speedup" "$(verdict_min "$delta_speedup" 3)"
	goal "$name: delta onto its base within 1.1x of reading the slot" \
		"ratio $read_ratio" "$(verdict "$read_ratio" 1.1)"
	goal "$name: peak memory of slotflip-init <= 256 MiB" \
		"$(kib_mib "$rss_max")" "$(verdict "$rss_max" 262144)"

	[ "$PEERS" = 1 ] && [ "$name" = synthetic ] && rauc_peer
	rm -f "$R/data/slotflip/staged.img"
}

# --- rauc (make bench-peers), on the synthetic payload ----------------------

rauc_ratio=
rauc_peer() {
	[ -f "$SHARED/rauc-peer.sh" ] ||
		die "no $SHARED/rauc-peer.sh (set BENCH_SHARED=DIR)"
	echo "  rauc: $SHARED/rauc-peer.sh $(basename "$V1") $RUNS (its own slots, keys and service)"
	bash "$SHARED/rauc-peer.sh" "$V1" "$RUNS" "$PWD/$W/rauc" >"$W/rauc.log" 2>&1 || {
		sed 's/^/  /' "$W/rauc.log" | tail -n 20 >&2
		die "rauc-peer.sh failed (log: $W/rauc.log)"
	}
	sed -n 's/^rauc-install run=/  rauc run /p' "$W/rauc.log"
	rauc_med=$(sed -n 's/^rauc-install median_s=\([0-9.]*\).*/\1/p' "$W/rauc.log")
	[ -n "$rauc_med" ] || die "no median in the output of rauc-peer.sh (log: $W/rauc.log)"
	# rauc-peer.sh runs its installs one after the other: slotflip's full
	# apply runs as often again right after them, so that its figure
	# brackets rauc's stretch of time on this shared machine.
	sf_after=()
	for ((i = 0; i < RUNS; i++)); do
		sf_apply "$I1" "$V1"
		sf_after+=("$WALL")
	done
	printf '  slotflip full after rauc: %s (s)\n' "${sf_after[*]}"
	sf_all=$(median "${sf_t[@]}" "${sf_after[@]}")
	rauc_ratio=$(ratio "$rauc_med" "$sf_all")
	printf 'rauc     rauc install (plain bundle) %8s | slotflip full %8s (median of its %d runs before and after rauc) | rauc / slotflip %s\n' \
		"$(secs "$rauc_med")" "$(secs "$sf_all")" $((2 * RUNS)) "$rauc_ratio"
	echo "         RAUC's plain format checks the bundle's signature, then copies the"
	echo "         image: it never checks the written image's hash nor reads the slot"
	echo "         back. slotflip checks every chunk's hash just before writing it,"
	echo "         flushes, and reads back from the medium (direct I/O) all it wrote."
	echo "         (rauc-peer.sh sets up its own slots, loop devices without direct"
	echo "         I/O, keys and service, and runs its installs one after the other)"
	echo
}

for p in "${PAIRS[@]}"; do
	read -r name v1 v2 <<<"$p"
	bench_pair "$name" "$v1" "$v2"
done

# --- goals ------------------------------------------------------------------

echo "goals:"
if [ -n "$rauc_ratio" ]; then
	printf '  %-64s %-13s %s\n' "synthetic: apply at least 2x faster than rauc install" \
		"ratio $rauc_ratio" "$(verdict_min "$rauc_ratio" 2)"
else
	printf '  %-64s %s\n' "synthetic: apply at least 2x faster than rauc install" \
		"(run \`make bench-peers\`)"
fi
printf '%s\n' "${GOALS[@]}"
echo "    (delta apply 3x: full v2 onto a patterned spare / delta onto a spare"
echo "     holding v1, what a user sees: a first install vs an update)"
echo
awk -v a="$START" -v b="$EPOCHREALTIME" \
	'BEGIN { t = b - a; printf "apply bench took %d min %02d s\n", t / 60, t % 60 }'
