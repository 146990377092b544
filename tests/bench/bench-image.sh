#!/bin/bash
# make bench: slotflip-image against its peers, on the shared reference
# payload (../shared/bench/make-payload.sh: a 512 MiB ext4 image, v1, and a
# v2 in which ~4% of the 4 KiB blocks differ).
#
#   create  `slotflip-image create` of v1 (rootfs + EFI)  vs  gzip -6 of the
#           rootfs: time and size; and vs `zstd -19` of the rootfs (size,
#           untimed, zstd on all CPUs; kept in build/bench/zstd19-size)
#   verify  `slotflip-image verify` of that image  vs  b2sum of the same file
#   delta   `create --delta-from` v1 for v2: size  vs  the full v2 image  vs
#           zlib -6 of the 4 KiB blocks that differ (build/bench/changed-blocks);
#           and, once, that `extract` of the delta rebuilds v2 byte for byte
#
# Times are medians over runs; slotflip and its peer alternate run by run
# (and which of them goes first), so the noise of a shared machine hits both
# alike. Prints figures and a "goals:" block, asserts nothing: a missed goal
# is printed "NOT MET" and the exit status stays 0. Non-zero only when
# something fails to run, or when the delta does not extract back to v2 (then
# the figures describe a broken image and mean nothing).
#
# Environment:
#   BENCH_PAYLOAD=DIR  an existing payload: img-v1.ext4, img-v2.ext4 (and
#                      img-v1.ext4.gz, else gzip's size costs one more run).
#                      Default build/bench/payload, generated there when
#                      missing (needs root and python3, takes ~2 minutes)
#   BENCH_RUNS=N       runs of every measurement (default 3 for create and
#                      delta, 5 for verify)
#   BENCH_SHARED=DIR   the shared bench helpers (default ../shared/bench,
#                      beside the repository)
# The EFI payload (the tool requires one) is the first 16 MiB of the shared
# libraries in /usr/lib/<multiarch>, in sorted order: real, deterministic for
# a machine, the same for v1 and v2. Keys: a throwaway pair in build/bench/.
# Needs build/slotflip-image and build/bench/changed-blocks: `make bench`.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

B=build/bench
W=$B/work
SFI=build/slotflip-image
HELPER=$B/changed-blocks
SHARED=${BENCH_SHARED:-../shared/bench}
EFI=$B/efi.bin
EFI_SIZE=16777216
COMPAT=slotflip-bench
START=$EPOCHREALTIME

. tests/bench/lib.sh

CREATE_RUNS=$(runs 3)
VERIFY_RUNS=$(runs 5)

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
mkdir -p "$W"

find_payload

# Room for three images and one extracted rootfs.
avail=$(df -k --output=avail "$W" | tail -n 1)
need=$(($(fsize "$V1") * 2 / 1024 + 512 * 1024))
[ "$avail" -ge "$need" ] ||
	die "$W: $((avail / 1024)) MiB free, the bench needs about $((need / 1024)) MiB"

make_efi $EFI_SIZE "$EFI"
quiet "$SFI" keygen -p "$W/bench.pub" -s "$W/bench.sec" --force

echo "slotflip-image benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
machine_lines "$SFI"
printf '%-9s %s: img-v1.ext4 %s, img-v2.ext4 %s\n' payload "$PAY" \
	"$(mib "$(fsize "$V1")")" "$(mib "$(fsize "$V2")")"
printf '%-9s %s: %s, first bytes of %d shared libraries (%s .. %s)\n' efi \
	"$EFI" "$(mib $EFI_SIZE)" ${#EFI_FROM[@]} "$(basename "${EFI_FROM[0]}")" \
	"$(basename "${EFI_FROM[-1]}")"
printf '%-9s medians of %d runs (create, delta) and %d (verify); page cache warm\n' \
	runs "$CREATE_RUNS" "$VERIFY_RUNS"
echo

# --- 1. create: slotflip-image create vs gzip -6 ----------------------------

warm "$V1" "$EFI"
sf_t=() gz_t=()
run_sf() {
	sf_create "$V1" 1 "$W/v1.img"
	sf_t+=("$WALL") sf_cpu=$CPU
}
run_gz() {
	timed /dev/null gzip -6 -n -c "$V1"
	gz_t+=("$WALL") gz_cpu=$CPU
}
for ((i = 1; i <= CREATE_RUNS; i++)); do
	if ((i % 2)); then run_sf && run_gz; else run_gz && run_sf; fi
	printf '  create run %d/%d: slotflip %s (cpu %s s) | gzip -6 %s (cpu %s s)\n' \
		"$i" "$CREATE_RUNS" "$(secs "${sf_t[-1]}")" "$sf_cpu" \
		"$(secs "${gz_t[-1]}")" "$gz_cpu"
done
sf_med=$(median "${sf_t[@]}")
gz_med=$(median "${gz_t[@]}")

img_size=$(fsize "$W/v1.img")
efi_stored=$(stored_bytes "$W/v1.img" efi)
rootfs_stored=$(stored_bytes "$W/v1.img" rootfs)
rootfs_only=$((img_size - efi_stored))
overhead=$((img_size - efi_stored - rootfs_stored))
gz_file=$PAY/img-v1.ext4.gz
if [ -f "$gz_file" ] && ! [ "$gz_file" -ot "$V1" ]; then
	gz_size=$(fsize "$gz_file")
	gz_from="$gz_file, made with the same gzip command"
else
	gz_size=$(gzip -6 -n -c "$V1" | wc -c)
	gz_from="gzip -6 -n -c $V1 | wc -c, untimed"
fi
create_ratio_efi=$(ratio "$img_size" "$gz_size")
create_ratio=$(ratio "$rootfs_only" "$gz_size")
create_time_ratio=$(ratio "$sf_med" "$gz_med")
# zstd -19 takes minutes: its size is kept in $B, with V1's size and mtime.
zst_key="$(stat -c '%s %Y' "$V1") $(zstd --version | head -n 1)"
zst_cache=$B/zstd19-size
if [ -f "$zst_cache" ] && [ "$(sed -n 1p "$zst_cache")" = "$zst_key" ]; then
	zst_size=$(sed -n 2p "$zst_cache")
else
	zst_size=$(nice zstd -19 -T0 -q -c "$V1" | wc -c)
	printf '%s\n%s\n' "$zst_key" "$zst_size" >"$zst_cache"
fi
zst_ratio=$(ratio "$rootfs_only" "$zst_size")

printf 'create   slotflip %8s %10s | gzip -6 %8s %10s | size ratio %s, time ratio %s\n' \
	"$(secs "$sf_med")" "$(mib "$img_size")" "$(secs "$gz_med")" \
	"$(mib "$gz_size")" "$create_ratio_efi" "$create_time_ratio"
printf '         the image also carries the EFI payload: %s stored (of %s)\n' \
	"$(mib "$efi_stored")" "$(mib $EFI_SIZE)"
printf 'create   rootfs only: image minus EFI stored bytes %s (rootfs %s + header, manifest, signatures %d bytes) | gzip -6 %s | size ratio %s\n' \
	"$(mib "$rootfs_only")" "$(mib "$rootfs_stored")" "$overhead" \
	"$(mib "$gz_size")" "$create_ratio"
printf '         (gzip size: %s)\n' "$gz_from"
printf 'create   rootfs only %s | zstd -19 of the whole file %s (zstd -19 -T0, untimed) | size ratio %s; zstd -19 / gzip -6 %s\n' \
	"$(mib "$rootfs_only")" "$(mib "$zst_size")" "$zst_ratio" \
	"$(ratio "$zst_size" "$gz_size")"
"$SFI" inspect "$W/v1.img" | sed -n 's/^\(chunk size\|codec\): */\1 /p' |
	paste -sd' ' | sed 's/^/         image: /'
echo

# --- 2. verify: slotflip-image verify vs b2sum ------------------------------

warm "$W/v1.img"
vf_t=() b2_t=()
run_vf() {
	timed "$W/verify.log" "$SFI" verify "$W/v1.img" --pubkey "$W/bench.pub"
	vf_t+=("$WALL")
}
run_b2() {
	timed /dev/null b2sum "$W/v1.img"
	b2_t+=("$WALL")
}
for ((i = 1; i <= VERIFY_RUNS; i++)); do
	if ((i % 2)); then run_vf && run_b2; else run_b2 && run_vf; fi
done
printf '  verify runs: slotflip %s | b2sum %s (s)\n' "${vf_t[*]}" "${b2_t[*]}"
vf_med=$(median "${vf_t[@]}")
b2_med=$(median "${b2_t[@]}")
verify_ratio=$(ratio "$vf_med" "$b2_med")
printf 'verify   slotflip %8s | b2sum %8s | time ratio %s  (v1 image, %s)\n' \
	"$(secs "$vf_med")" "$(secs "$b2_med")" "$verify_ratio" \
	"$(mib "$img_size")"
echo

# --- 3. delta: create --delta-from vs zlib -6 of the changed blocks ---------

warm "$V2" "$W/v1.img"
sf_create "$V2" 2 "$W/v2.img"
full2_t=$WALL full2_cpu=$CPU
full2_size=$(fsize "$W/v2.img")
printf '  full v2 image, 1 run: %s (cpu %s s), %s\n' "$(secs "$full2_t")" \
	"$full2_cpu" "$(mib "$full2_size")"

dl_t=()
for ((i = 1; i <= CREATE_RUNS; i++)); do
	sf_create "$V2" 2 "$W/v2-delta.img" --delta-from "$W/v1.img"
	dl_t+=("$WALL")
	printf '  delta run %d/%d: %s (cpu %s s)\n' "$i" "$CREATE_RUNS" \
		"$(secs "$WALL")" "$CPU"
done
dl_med=$(median "${dl_t[@]}")
dl_size=$(fsize "$W/v2-delta.img")

cb=$("$HELPER" "$V1" "$V2") || die "$HELPER $V1 $V2 failed"
kv() { tr ' ' '\n' <<<"$cb" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
blocks=$(kv blocks) changed=$(kv changed)
changed_bytes=$(kv changed_bytes) zlib_size=$(kv zlib6_bytes)
[ -n "$zlib_size" ] || die "unexpected output of $HELPER: $cb"
delta_ratio=$(ratio "$dl_size" "$zlib_size")

printf 'delta    changed 4 KiB blocks v1 -> v2: %d of %d (%s), zlib -6 of them as one stream %s\n' \
	"$changed" "$blocks" "$(mib "$changed_bytes")" "$(mib "$zlib_size")"
printf 'delta    slotflip delta %8s %10s | full v2 image %10s | zlib of changed blocks %s | size ratio %s\n' \
	"$(secs "$dl_med")" "$(mib "$dl_size")" "$(mib "$full2_size")" \
	"$(mib "$zlib_size")" "$delta_ratio"
"$SFI" inspect "$W/v2-delta.img" | sed -n 's/^payload /         delta payload /p'

# Correctness, once, untimed: the delta on top of v1 gives v2 back.
rm -f "$W/x-rootfs" "$W/x-efi"
timed "$W/extract.log" "$SFI" extract "$W/v2-delta.img" \
	--pubkey "$W/bench.pub" --rootfs "$W/x-rootfs" --efi "$W/x-efi" \
	--base-rootfs "$V1" --base-efi "$EFI"
extract_t=$WALL
diffs=()
cmp -s "$W/x-rootfs" "$V2" || diffs+=("rootfs differs from img-v2.ext4")
cmp -s "$W/x-efi" "$EFI" || diffs+=("EFI differs from $EFI")
rm -f "$W/x-rootfs" "$W/x-efi"
if [ ${#diffs[@]} = 0 ]; then
	printf 'delta    extract of the delta onto img-v1.ext4 + EFI (%s, 1 run): rootfs = img-v2.ext4 and EFI = EFI, byte for byte (cmp)\n' \
		"$(secs "$extract_t")"
else
	printf 'delta    extract of the delta onto img-v1.ext4 + EFI: %s\n' \
		"${diffs[*]}"
fi
echo

# --- goals ------------------------------------------------------------------

echo "goals:"
printf '  %-52s ratio %-6s %-8s (with the EFI payload: %s)\n' \
	"full image <= 0.75x gzip -6 (rootfs only)" "$create_ratio" \
	"$(verdict "$create_ratio" 0.75)" "$create_ratio_efi"
printf '  %-52s ratio %-6s %s\n' "create no slower than gzip -6" \
	"$create_time_ratio" "$(verdict "$create_time_ratio" 1)"
printf '  %-52s ratio %-6s %s\n' "verify within 1.2x of b2sum" \
	"$verify_ratio" "$(verdict "$verify_ratio" 1.2)"
printf '  %-52s ratio %-6s %s\n' \
	"delta within 1.5x of zlib -6 of the changed blocks" "$delta_ratio" \
	"$(verdict "$delta_ratio" 1.5)"
echo
awk -v a="$START" -v b="$EPOCHREALTIME" \
	'BEGIN { t = b - a; printf "bench took %d min %02d s\n", t / 60, t % 60 }'

[ ${#diffs[@]} = 0 ] ||
	die "the delta does not extract back to v2: its figures mean nothing"
exit 0
