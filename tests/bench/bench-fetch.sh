#!/bin/bash
# make bench (fetch part): `slotflip fetch --stage` from a repository made
# by `slotflip-image repo init/add` (docs/REPO.md) that holds the synthetic
# reference payload's v1 and v2 full images and the delta v1 -> v2 that
# `repo add` makes, served by Debian's nginx on 127.0.0.1 over https with a
# test CA (tests/cli/nginx.sh, as the fetch tests serve it), to a test root
# (a device running v1 in slot a, config with a [server] section), against
# curl on the same server, the same URL and the same CA:
#
#   full, delta  `slotflip fetch --stage`  vs  `curl -o FILE URL` then
#          `slotflip stage FILE`  vs  `curl -o FILE URL` alone (goal:
#          fetch --stage within 1.1x of curl -o alone). The device runs
#          version 1 with no manifest recorded (from the factory: fetch
#          takes the full image) or with v1's recorded in fetch-state (as
#          after an update fetch staged: fetch takes the delta)
#   resume  a full download (served at 64 MiB/s, so that the cut lands near
#          the middle) killed (SIGKILL to slotflip and its helper) once
#          half the image is on disk, then run again: the bytes nginx
#          sent for the image in all (its access log, $body_bytes_sent)
#          against the image's size (goal: within 1%)
#
# Before every run: the staged image, the partial download and curl's file
# are removed and the dirty pages written back (sync); the page cache stays
# warm (the server reads the image from memory, as a cache would). Times
# are medians over runs; the three take turns, the order rotating run by
# run. After every run the staged image is compared with the image served
# (cmp, untimed). Prints figures and a "goals:" block, asserts nothing;
# non-zero only when something fails to run or what was staged is wrong.
#
# Environment:
#   BENCH_PAYLOAD=DIR  an existing synthetic payload (img-v1.ext4,
#                      img-v2.ext4). Default build/bench/payload
#   BENCH_RUNS=N       runs of every measurement (default 5)
#   BENCH_SHARED=DIR   the shared bench helpers (default ../shared/bench)
# Needs root (slotflip fetch and stage do), nginx, curl, openssl,
# build/slotflip-image, build/slotflip, build/slotflip-http and
# build/bench/state-tool: `make bench`.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
TOP=$PWD

B=build/bench
W=$TOP/$B/fetch
SFI=$TOP/build/slotflip-image
SF=$TOP/build/slotflip
HTTP=$TOP/build/slotflip-http
STATE=$TOP/$B/state-tool
SHARED=${BENCH_SHARED:-../shared/bench}
COMPAT=slotflip-bench
START=$EPOCHREALTIME

. tests/bench/lib.sh
# nginx_start, nginx_stop, tls_ca, tls_cert: they report with fail.
fail() { die "$*"; }
. tests/cli/nginx.sh

RUNS=$(runs 5)

[ -x "$SFI" ] && [ -x "$SF" ] && [ -x "$HTTP" ] && [ -x "$STATE" ] ||
	die "build/slotflip-image, build/slotflip, build/slotflip-http or $B/state-tool is missing: run \`make bench\`"
[ "$(id -u)" = 0 ] || die "the fetch benchmark needs root (slotflip fetch and stage)"
for t in nginx curl openssl; do
	command -v $t >/dev/null ||
		die "no $t here: apt-get install $([ $t = nginx ] && echo nginx-light || echo $t)"
done

find_payload
[[ $PAY == /* ]] || PAY=$TOP/$PAY
V1=$PAY/img-v1.ext4 V2=$PAY/img-v2.ext4
SIZE=$(fsize "$V1")

rm -rf "$W"
mkdir -p "$W"
cd "$W"
trap 'nginx_stop' EXIT
trap 'exit 130' INT TERM

avail=$(df -k --output=avail . | tail -n 1)
need=$((SIZE * 3 / 1024 + 512 * 1024))
[ "$avail" -ge "$need" ] ||
	die "$W: $((avail / 1024)) MiB free, the bench needs about $((need / 1024)) MiB"

# --- the repository: v1, then v2 with its delta from v1 ---------------------

make_efi 1048576 efi.bin
quiet "$SFI" keygen -p release.pub -s release.sec
quiet "$SFI" keygen -p repo.pub -s repo.sec
for v in 1 2; do
	quiet "$SFI" create --rootfs "$([ $v = 1 ] && echo "$V1" || echo "$V2")" \
		--efi efi.bin --version $v --compatible $COMPAT --key release.sec \
		-o v$v.img
done
quiet "$SFI" repo init repo --product bench --compatible $COMPAT --key repo.sec
for v in 1 2; do
	quiet "$SFI" repo add repo v$v.img --channel stable --key repo.sec \
		--image-key release.sec
done
INDEX=repo/channels/stable/index.$(awk '$1 == "index-hash" { print $2 }' \
	repo/channels/stable/timestamp)
FULL_HASH=$(awk '$1 == "full" { print $3 }' "$INDEX")
read -r _ _ BASE_MANIFEST DELTA_SIZE DELTA_HASH < <(awk '$1 == "delta"' "$INDEX")
[ -n "$FULL_HASH" ] && [ -n "${DELTA_HASH:-}" ] ||
	die "the index $INDEX offers no full image or no delta: $(cat "$INDEX")"
FULL_SIZE=$(fsize repo/images/$FULL_HASH.img)
cmp -s repo/images/$FULL_HASH.img v2.img || die "the repository's full image is not v2.img"

# --- the device: v1 in slot a -----------------------------------------------

R=root
mkdir -p $R/etc/slotflip $R/keys $R/sys/firmware/efi/efivars $R/proc \
	$R/data/slotflip $R/esp/EFI/slotflip/a $R/esp/EFI/slotflip/b $R/slots
cp release.pub $R/keys/
cp efi.bin $R/esp/EFI/slotflip/a/linux.efi
echo "slotflip.slot=a" >$R/proc/cmdline
cp --reflink=auto "$V1" $R/slots/a.img
truncate -s "$SIZE" $R/slots/b.img
"$STATE" $R set good=a a.status=good a.version=1 ||
	die "$STATE could not write the state"
tls_ca ca
tls_cert server ca "IP:127.0.0.1,DNS:localhost"
cp ca.pem $R/etc/slotflip/ca.pem
cp repo/keys/1 $R/etc/slotflip/repo-keys
ln -s "$PWD/repo" www
nginx_start "listen 127.0.0.1:@PORT@ ssl;
	ssl_certificate $PWD/server.pem;
	ssl_certificate_key $PWD/server.key;
	ssl_protocols TLSv1.2 TLSv1.3;
	location /slow/ { alias $PWD/www/; limit_rate 64m; }"
URL=https://127.0.0.1:$PORT
cat >$R/etc/slotflip/slotflip.conf <<CONF
compatible = $COMPAT
pubkey = /keys/release.pub
data = /data
data-dir = /data
esp = /esp
esp-dir = /esp
[slot a]
device = /slots/a.img
efi = /EFI/slotflip/a/linux.efi
boot-entry = 0001
[slot b]
device = /slots/b.img
efi = /EFI/slotflip/b/linux.efi
boot-entry = 0002
[server]
url = $URL
product = bench
channel = stable
repo-keys = /etc/slotflip/repo-keys
ca = /etc/slotflip/ca.pem
CONF
export SLOTFLIP_HTTP_HELPER=$HTTP
D=$R/data/slotflip

sf() { "$SF" --root $R "$@"; }

# device MODE: the device's fetch-state says it runs v1 with (delta) or
# without (full) the manifest of v1 recorded, as after fetch staged it.
device() {
	sed -i '/^slot a /d' $D/fetch-state
	[ "$1" = full ] || echo "slot a 1 $BASE_MANIFEST" >>$D/fetch-state
}

reset() {
	rm -f $D/staged.img $D/fetch-*.partial dl.img
}

# staged_is IMAGE: what is staged is IMAGE.
staged_is() {
	cmp -s $D/staged.img "$1" || die "the staged image is not $1"
}

quiet sf fetch --check
grep -q '^slot a ' $D/fetch-state && die "fetch-state names slot a's manifest already: $(cat $D/fetch-state)"

echo "slotflip fetch benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
machine_lines "$SF"
printf '%-9s %s: img-v1.ext4 -> img-v2.ext4 (%s each)\n' payload "$PAY" "$(mib "$SIZE")"
printf '%-9s %s, channel stable offers version 2: full image %s, delta from 1 %s\n' \
	repo "$W/repo" "$(mib "$FULL_SIZE")" "$(mib "$DELTA_SIZE")"
printf '%-9s nginx %s on %s (https, test CA, TLS 1.2/1.3), page cache warm\n' \
	server "$(nginx -v 2>&1 | sed 's/.*version: //')" "$URL"
printf '%-9s medians of %d runs\n' runs "$RUNS"
echo

# --- 0. the fixed cost: fetch --check (timestamp, index, no image) ----------

ck_t=()
for ((i = 0; i < RUNS; i++)); do
	timed check.out "$SF" --root $R fetch --check
	ck_t+=("$WALL")
done
printf 'check    fetch --check (timestamp, its signatures, the index and its, no image) %s\n\n' \
	"$(secs "$(median "${ck_t[@]}")")"

# --- 1. fetch --stage vs curl -o + stage vs curl -o -------------------------

GOALS=()
bench_kind() { # full|delta HASH SIZE
	local kind=$1 hash=$2 size=$3 i k
	local f_t=() cs_t=() c_t=() f_cpu='' cs_cpu='' c_cpu=''
	local curl=(curl -sS --fail --cacert ca.pem -o dl.img "$URL/images/$hash.img")
	device "$kind"
	one() {
		reset
		case $1 in
		0)
			timed fetch.out "$SF" --root $R fetch --stage
			grep -q "fetch: downloading the $kind" fetch.out ||
				die "fetch did not download the $kind image: $(cat fetch.out)"
			staged_is repo/images/$hash.img
			f_t+=("$WALL") f_cpu=$CPU
			;;
		1)
			timed curl.out bash -c '"$@" && "$SF" --root "$R" stage dl.img' \
				curl "${curl[@]}"
			staged_is repo/images/$hash.img
			cs_t+=("$WALL") cs_cpu=$CPU
			;;
		2)
			timed curl.out "${curl[@]}"
			cmp -s dl.img repo/images/$hash.img || die "curl got another file"
			c_t+=("$WALL") c_cpu=$CPU
			;;
		esac
	}
	for ((i = 0; i < RUNS; i++)); do
		for k in 0 1 2; do one $(((i + k) % 3)); done
		printf '  %s run %d/%d: fetch --stage %s (cpu %s s) | curl -o + stage %s (cpu %s s) | curl -o %s (cpu %s s)\n' \
			"$kind" $((i + 1)) "$RUNS" "$(secs "${f_t[-1]}")" "$f_cpu" \
			"$(secs "${cs_t[-1]}")" "$cs_cpu" "$(secs "${c_t[-1]}")" "$c_cpu"
	done
	reset
	local f_med cs_med c_med
	f_med=$(median "${f_t[@]}") cs_med=$(median "${cs_t[@]}") c_med=$(median "${c_t[@]}")
	printf '%-8s %s: fetch --stage %8s | curl -o + slotflip stage %8s | curl -o %8s\n' \
		"$kind" "$(mib "$size")" "$(secs "$f_med")" "$(secs "$cs_med")" "$(secs "$c_med")"
	printf '         ratios: fetch --stage / (curl -o + stage) %s, fetch --stage / curl -o %s\n' \
		"$(ratio "$f_med" "$cs_med")" "$(ratio "$f_med" "$c_med")"
	GOALS+=("$(printf '  %-52s ratio %-6s %s' "$kind: fetch --stage within 1.1x of curl -o" \
		"$(ratio "$f_med" "$c_med")" "$(verdict "$(ratio "$f_med" "$c_med")" 1.1)")")
}
export SF R
bench_kind full "$FULL_HASH" "$FULL_SIZE"
bench_kind delta "$DELTA_HASH" "$DELTA_SIZE"
echo

# --- 2. resume after a cut --------------------------------------------------

# Through /slow/ (the same files, 64 MiB/s each response), so that the cut
# comes close to half-way.
device full
reset
sed -i "s|^url = .*|url = $URL/slow|" $R/etc/slotflip/slotflip.conf
: >www.log
setsid "$SF" --root $R fetch --stage >cut.out 2>&1 &
pid=$!
have=0
for ((i = 0; i < 3000; i++)); do
	have=$(stat -c %s $D/fetch-$FULL_HASH.partial 2>/dev/null || echo 0)
	[ "$have" -lt $((FULL_SIZE / 2)) ] || break
	kill -0 $pid 2>/dev/null || break
	sleep 0.01
done
# (bash's "Killed" notice of the job goes to /dev/null)
exec 3>&2 2>/dev/null
kill -KILL -- -$pid || true
wait $pid || true
exec 2>&3 3>&-
have=$(stat -c %s $D/fetch-$FULL_HASH.partial 2>/dev/null || echo 0)
[ "$have" -gt 0 ] && [ "$have" -lt "$FULL_SIZE" ] ||
	die "the cut left $have of $FULL_SIZE bytes (not cut mid-download): $(cat cut.out)"
[ ! -e $D/staged.img ] || die "staged after the cut"
sleep 0.3 # nginx logs the cut request once its connection closes
sent_cut=$(awk '$4 ~ /\/images\// { s += $3 } END { print s + 0 }' www.log)
timed resume.out "$SF" --root $R fetch --stage
grep -q "resuming" resume.out || die "the second run did not resume: $(cat resume.out)"
staged_is repo/images/$FULL_HASH.img
sleep 0.3
sent=$(awk '$4 ~ /\/images\// { s += $3 } END { print s + 0 }' www.log)
reqs=$(awk '$4 ~ /\/images\// { printf "%s%s %s %s", sep, $1, $2, $3; sep = "; " }' www.log)
resume_ratio=$(ratio "$sent" "$FULL_SIZE")
printf 'resume   full image %d bytes, cut after %d on disk (%s%%), nginx had sent %d; the second run %s\n' \
	"$FULL_SIZE" "$have" "$(awk -v a="$have" -v b="$FULL_SIZE" 'BEGIN { printf "%.1f", 100 * a / b }')" \
	"$sent_cut" "$(secs "$WALL")"
printf '         requests for the image (status, range, bytes): %s\n' "$reqs"
printf '         bytes served in all %d = %s x the image (%+d bytes)\n' "$sent" \
	"$resume_ratio" $((sent - FULL_SIZE))
reset
echo

echo "goals:"
printf '%s\n' "${GOALS[@]}"
printf '  %-52s ratio %-6s %s\n' "resume: bytes served within 1% of the image" \
	"$resume_ratio" "$(verdict "$resume_ratio" 1.01)"
echo
awk -v a="$START" -v b="$EPOCHREALTIME" \
	'BEGIN { t = b - a; printf "fetch bench took %d min %02d s\n", t / 60, t % 60 }'
