#!/bin/bash
# make bench: slotflip-image against its peers, on three payloads, each an
# update pair v1 -> v2 of ext4 images: the shared synthetic payload
# (../shared/bench/make-payload.sh: 512 MiB, ~4% of the 4 KiB blocks differ)
# and the real pair (../shared/bench/make-real-payload.sh: a Debian 12
# systemd root filesystem from the point release, and with its updates; 320
# MiB, with 1 KiB ext4 blocks and with 4 KiB blocks). For each, side by side:
#
#   full   `slotflip-image create` of v2 (format 2, zstd, the defaults)  vs
#          `gzip -6` of v2: size and time; vs `zstd -19` of v2: size
#          (untimed, on all CPUs; kept in build/bench/zstd19-size-NAME)
#   delta  `create --delta-from` the v1 image  vs  `xdelta3 -e -9 -s v1 v2`
#          vs  `zstd -19 --long=27 --patch-from=v1 v2`: size and time; and
#          zlib -6 of the 4 KiB blocks that differ (build/bench/changed-blocks)
#          as a yardstick; then, once, that `extract` of the delta onto v1
#          rebuilds v2 byte for byte
# and, on the synthetic payload, `slotflip-image verify` of the full image
# vs b2sum of the same file.
#
# Times are medians over runs, page cache warm; slotflip and its peers take
# turns run by run (the order rotates), so the noise of a shared machine
# hits them alike. zstd --patch-from takes minutes a run: it runs
# BENCH_ZSTD_RUNS times (default 1), and its size and time are kept in
# build/bench/zstd-patch-NAME for the same inputs and zstd (delete the file
# to measure again). Prints figures and a "goals:" block, asserts nothing: a
# missed goal is printed "NOT MET" and the exit status stays 0. Non-zero
# only when something fails to run, or when a delta does not extract back to
# its v2 (then the figures describe a broken image and mean nothing).
#
# Environment:
#   BENCH_PAYLOAD=DIR  an existing synthetic payload: img-v1.ext4,
#                      img-v2.ext4. Default build/bench/payload, generated
#                      there when missing (needs root and python3, ~2 min)
#   BENCH_REAL=DIR     an existing real pair: real-v1.ext4, real-v2.ext4,
#                      real-v1-4k.ext4, real-v2-4k.ext4. Default
#                      build/bench/real, which `make bench` generates
#   BENCH_RUNS=N       runs of every measurement (default 3, 5 for verify)
#   BENCH_ZSTD_RUNS=N  runs of zstd --patch-from when it is measured
#   BENCH_SHARED=DIR   the shared bench helpers (default ../shared/bench,
#                      beside the repository)
# The EFI payload (the tool requires one) is the first 1 MiB of the shared
# libraries in /usr/lib/<multiarch>, in sorted order: real, deterministic for
# a machine, the same for v1 and v2; the peers compress the rootfs alone, so
# the full image is also measured without the EFI payload's stored bytes.
# Keys: a throwaway pair in build/bench/work. Needs build/slotflip-image and
# build/bench/changed-blocks (`make bench`), xdelta3 and zstd.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

B=build/bench
W=$B/work
SFI=build/slotflip-image
HELPER=$B/changed-blocks
SHARED=${BENCH_SHARED:-../shared/bench}
EFI=$B/efi-1m.bin
EFI_SIZE=1048576
COMPAT=slotflip-bench
START=$EPOCHREALTIME

. tests/bench/lib.sh

RUNS=$(runs 3)
VERIFY_RUNS=$(runs 5)
ZSTD_RUNS=$(BENCH_RUNS=${BENCH_ZSTD_RUNS:-1} runs 1)

warm() { cat "$@" >/dev/null; }

sf_create() { # ROOTFS VERSION OUT [options]
	local rootfs=$1 version=$2 out=$3
	shift 3
	rm -f "$out"
	timed "$W/create.log" "$SFI" create --rootfs "$rootfs" --efi "$EFI" \
		--version "$version" --compatible "$COMPAT" \
		--key "$W/bench.sec" -o "$out" "$@"
}

# stored_bytes IMAGE KIND: payloads[].stored_bytes of `inspect --json`.
stored_bytes() {
	local v
	v=$("$SFI" inspect "$1" --json | sed 's/"forms": *{[^}]*}//g' |
		awk -v RS='{' -v kind="\"$2\"" '
		$0 ~ "\"kind\": *" kind && match($0, /"stored_bytes": *[0-9]+/) {
			s = substr($0, RSTART, RLENGTH)
			gsub(/[^0-9]/, "", s)
			print s
		}')
	[ -n "$v" ] || die "no stored_bytes for payload $2 in \`inspect $1 --json\`"
	echo "$v"
}

# --- setup ------------------------------------------------------------------

[ -x "$SFI" ] && [ -x "$HELPER" ] ||
	die "$SFI or $HELPER is missing: run \`make bench\`"
for t in xdelta3 zstd gzip b2sum; do
	command -v $t >/dev/null ||
		die "no $t here: apt-get install $([ $t = b2sum ] && echo coreutils || echo $t)"
done
mkdir -p "$W"

payload_pairs

# Room for the peers' outputs and four images of the largest payload.
avail=$(df -k --output=avail "$W" | tail -n 1)
need=$(($(fsize "$V1") * 3 / 1024 + 512 * 1024))
[ "$avail" -ge "$need" ] ||
	die "$W: $((avail / 1024)) MiB free, the bench needs about $((need / 1024)) MiB"

make_efi $EFI_SIZE "$EFI"
quiet "$SFI" keygen -p "$W/bench.pub" -s "$W/bench.sec" --force

echo "slotflip-image benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
machine_lines "$SFI"
for p in "${PAIRS[@]}"; do
	read -r name v1 v2 <<<"$p"
	printf '%-9s %-9s %s, %s (%s each)\n' payload "$name" "$v1" \
		"$(basename "$v2")" "$(mib "$(fsize "$v1")")"
done
printf '%-9s %s: %s, first bytes of %d shared libraries (%s .. %s)\n' efi \
	"$EFI" "$(mib $EFI_SIZE)" ${#EFI_FROM[@]} "$(basename "${EFI_FROM[0]}")" \
	"$(basename "${EFI_FROM[-1]}")"
printf '%-9s medians of %d runs (create, delta; zstd --patch-from %d when measured) and %d (verify); page cache warm\n' \
	runs "$RUNS" "$ZSTD_RUNS" "$VERIFY_RUNS"
echo
# --- per payload ------------------------------------------------------------

GOALS=()
goal() { # TEXT RATIO LIMIT [NOTE]
	GOALS+=("$(printf '  %-58s ratio %-6s %-8s %s' "$1" "$2" \
		"$(verdict "$2" "$3")" "${4:-}")")
}
BROKEN=()

# zstd_full NAME FILE: size of zstd -19 -T0 of FILE, kept in $B with the
# file's size and mtime and zstd's version (it takes minutes).
zstd_full() {
	local cache=$B/zstd19-size-$1 key
	key="$(stat -c '%s %Y' "$2") $(zstd --version | head -n 1)"
	if [ -f "$cache" ] && [ "$(sed -n 1p "$cache")" = "$key" ]; then
		sed -n 2p "$cache"
		return
	fi
	nice zstd -19 -T0 -q -c "$2" | wc -c >"$cache.tmp"
	printf '%s\n%s\n' "$key" "$(cat "$cache.tmp")" >"$cache"
	rm -f "$cache.tmp"
	sed -n 2p "$cache"
}

# zstd_patch NAME V1 V2: sets ZP_SIZE, ZP_TIME (median), ZP_FROM (how it
# was had): ZSTD_RUNS timed runs of zstd -19 --long=27 --patch-from, or the
# figures kept in $B for the same inputs and zstd.
zstd_patch() {
	local cache=$B/zstd-patch-$1 key t=() i
	key="$(stat -c '%s %Y' "$2" "$3" | paste -sd' ') $(zstd --version | head -n 1)"
	if [ -f "$cache" ] && [ "$(sed -n 1p "$cache")" = "$key" ]; then
		read -r ZP_SIZE ZP_TIME ZP_FROM < <(sed -n 2p "$cache")
		ZP_FROM="kept from $ZP_FROM"
		return
	fi
	echo "  zstd --patch-from: measuring ($ZSTD_RUNS run(s), minutes each; kept in $cache)"
	for ((i = 0; i < ZSTD_RUNS; i++)); do
		rm -f "$W/zp.zst"
		timed /dev/null zstd -q -f -19 --long=27 --patch-from="$2" "$3" \
			-o "$W/zp.zst"
		t+=("$WALL")
	done
	ZP_SIZE=$(fsize "$W/zp.zst")
	ZP_TIME=$(median "${t[@]}")
	printf '%s\n%s %s %s\n' "$key" "$ZP_SIZE" "$ZP_TIME" \
		"$(date -u +%Y-%m-%dT%H:%MZ),${ZSTD_RUNS}run" >"$cache"
	ZP_FROM="measured now, $ZSTD_RUNS run(s)"
	rm -f "$W/zp.zst"
}

# bench_pair NAME V1 V2 DELTA_GOAL: the figures of one payload; its goals
# appended to GOALS. Leaves the full v2 image in $W/NAME-v2.img.
bench_pair() {
	local name=$1 v1=$2 v2=$3 dgoal=$4
	local base=$W/$name-v1.img full=$W/$name-v2.img delta=$W/$name-delta.img
	local sf_t=() gz_t=() dl_t=() xd_t=() i k
	echo "== $name: $(basename "$v1") -> $(basename "$v2")"
	warm "$v1" "$v2" "$EFI"
	sf_create "$v1" 1 "$base" # the delta's base, untimed
	one() {
		case $1 in
		0)
			sf_create "$v2" 2 "$full"
			sf_t+=("$WALL")
			;;
		1)
			timed "$W/v2.gz" gzip -6 -n -c "$v2"
			gz_t+=("$WALL")
			;;
		2)
			sf_create "$v2" 2 "$delta" --delta-from "$base"
			dl_t+=("$WALL")
			;;
		3)
			rm -f "$W/x.vcdiff"
			timed /dev/null xdelta3 -e -9 -f -s "$v1" "$v2" "$W/x.vcdiff"
			xd_t+=("$WALL")
			;;
		esac
	}
	for ((i = 0; i < RUNS; i++)); do
		for k in 0 1 2 3; do one $(((i + k) % 4)); done
		printf '  run %d/%d: full: slotflip %s | gzip -6 %s;  delta: slotflip %s | xdelta3 -9 %s\n' \
			$((i + 1)) "$RUNS" "$(secs "${sf_t[-1]}")" "$(secs "${gz_t[-1]}")" \
			"$(secs "${dl_t[-1]}")" "$(secs "${xd_t[-1]}")"
	done
	zstd_patch "$name" "$v1" "$v2"

	local sf_med gz_med dl_med xd_med full_size efi_stored rootfs_only gz_size
	local zst_size dl_size xd_size cb
	sf_med=$(median "${sf_t[@]}") gz_med=$(median "${gz_t[@]}")
	dl_med=$(median "${dl_t[@]}") xd_med=$(median "${xd_t[@]}")
	full_size=$(fsize "$full")
	efi_stored=$(stored_bytes "$full" efi)
	rootfs_only=$((full_size - efi_stored))
	gz_size=$(fsize "$W/v2.gz")
	zst_size=$(zstd_full "$name" "$v2")
	dl_size=$(fsize "$delta")
	xd_size=$(fsize "$W/x.vcdiff")
	rm -f "$W/v2.gz" "$W/x.vcdiff"
	cb=$("$HELPER" "$v1" "$v2") || die "$HELPER $v1 $v2 failed"
	kv() { tr ' ' '\n' <<<"$cb" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
	[ -n "$(kv zlib6_bytes)" ] || die "unexpected output of $HELPER: $cb"

	local f='  %-6s %-22s %10s  %9s  %s\n'
	printf "$f" "" "" size time ""
	printf "$f" full "slotflip create" "$(mib "$full_size")" "$(secs "$sf_med")" \
		"rootfs only $(mib "$rootfs_only") (EFI stored $(mib "$efi_stored"))"
	printf "$f" "" "gzip -6" "$(mib "$gz_size")" "$(secs "$gz_med")" ""
	printf "$f" "" "zstd -19" "$(mib "$zst_size")" "-" "untimed (-T0, kept in $B)"
	printf '         rootfs only / gzip -6 %s, / zstd -19 %s; time / gzip -6 %s\n' \
		"$(ratio "$rootfs_only" "$gz_size")" "$(ratio "$rootfs_only" "$zst_size")" \
		"$(ratio "$sf_med" "$gz_med")"
	printf "$f" delta "slotflip --delta-from" "$(mib "$dl_size")" "$(secs "$dl_med")" ""
	printf "$f" "" "xdelta3 -e -9 -s" "$(mib "$xd_size")" "$(secs "$xd_med")" ""
	printf "$f" "" "zstd -19 --patch-from" "$(mib "$ZP_SIZE")" "$(secs "$ZP_TIME")" \
		"--long=27; $ZP_FROM"
	printf "$f" "" "zlib -6, changed blocks" "$(mib "$(kv zlib6_bytes)")" "-" \
		"$(kv changed) of $(kv blocks) 4 KiB blocks differ ($(mib "$(kv changed_bytes)"))"
	printf '         delta / xdelta3 %s, / zstd --patch-from %s, / zlib of changed blocks %s; time / xdelta3 %s, / zstd %s\n' \
		"$(ratio "$dl_size" "$xd_size")" "$(ratio "$dl_size" "$ZP_SIZE")" \
		"$(ratio "$dl_size" "$(kv zlib6_bytes)")" "$(ratio "$dl_med" "$xd_med")" \
		"$(ratio "$dl_med" "$ZP_TIME")"
	printf '         bytes: full %d, gzip %d, zstd %d; delta %d, xdelta3 %d, zstd patch %d\n' \
		"$full_size" "$gz_size" "$zst_size" "$dl_size" "$xd_size" "$ZP_SIZE"
	"$SFI" inspect "$delta" | sed -n 's/^payload /         delta payload /p'

	# Correctness, once, untimed: the delta on top of v1 gives v2 back.
	rm -f "$W/x-rootfs" "$W/x-efi"
	quiet "$SFI" extract "$delta" --pubkey "$W/bench.pub" \
		--rootfs "$W/x-rootfs" --efi "$W/x-efi" --base-rootfs "$v1" \
		--base-efi "$EFI"
	if cmp -s "$W/x-rootfs" "$v2" && cmp -s "$W/x-efi" "$EFI"; then
		echo "         extract of the delta onto v1: v2 and the EFI payload, byte for byte (cmp)"
	else
		echo "         extract of the delta onto v1: NOT v2 and the EFI payload (cmp)"
		BROKEN+=("$name")
	fi
	rm -f "$W/x-rootfs" "$W/x-efi" "$base" "$delta"
	echo

	goal "$name: full image <= 0.75x gzip -6 (rootfs only)" \
		"$(ratio "$rootfs_only" "$gz_size")" 0.75 \
		"(with EFI: $(ratio "$full_size" "$gz_size"))"
	goal "$name: create no slower than gzip -6" "$(ratio "$sf_med" "$gz_med")" 1
	goal "$name: delta <= ${dgoal}x xdelta3 -9" "$(ratio "$dl_size" "$xd_size")" \
		"$dgoal"
}

for p in "${PAIRS[@]}"; do
	read -r name v1 v2 <<<"$p"
	bench_pair "$name" "$v1" "$v2" "$([ "$name" = synthetic ] && echo 3 || echo 1.25)"
	if [ "$name" = synthetic ]; then
		# verify: slotflip-image verify vs b2sum, the full v2 image.
		img=$W/synthetic-v2.img
		warm "$img"
		vf_t=() b2_t=()
		for ((i = 1; i <= VERIFY_RUNS; i++)); do
			for k in $((i % 2)) $(((i + 1) % 2)); do
				if [ "$k" = 0 ]; then
					timed "$W/verify.log" "$SFI" verify "$img" --pubkey "$W/bench.pub"
					vf_t+=("$WALL")
				else
					timed /dev/null b2sum "$img"
					b2_t+=("$WALL")
				fi
			done
		done
		vf_med=$(median "${vf_t[@]}") b2_med=$(median "${b2_t[@]}")
		printf '== verify (synthetic full v2 image, %s): slotflip %s | b2sum %s | time ratio %s\n\n' \
			"$(mib "$(fsize "$img")")" "$(secs "$vf_med")" "$(secs "$b2_med")" \
			"$(ratio "$vf_med" "$b2_med")"
		verify_ratio=$(ratio "$vf_med" "$b2_med")
	fi
	rm -f "$W/$name-v2.img"
done

# --- goals ------------------------------------------------------------------

echo "goals:"
printf '%s\n' "${GOALS[@]}"
printf '  %-58s ratio %-6s %s\n' "verify within 1.2x of b2sum (synthetic)" \
	"$verify_ratio" "$(verdict "$verify_ratio" 1.2)"
echo
awk -v a="$START" -v b="$EPOCHREALTIME" \
	'BEGIN { t = b - a; printf "image bench took %d min %02d s\n", t / 60, t % 60 }'

[ ${#BROKEN[@]} = 0 ] ||
	die "the delta of ${BROKEN[*]} does not extract back to v2: its figures mean nothing"
exit 0
