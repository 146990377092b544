# Helpers shared by the benchmarks (sourced by tests/bench/bench-*.sh, from
# the top of the repository, after `set -euo pipefail`): formatting,
# medians, timed runs, and the reference payload. The caller sets B (the
# bench build dir), W (its work dir) and SHARED (the shared bench helpers).

die() {
	echo "bench: $*" >&2
	exit 1
}

runs() { # default: BENCH_RUNS, else @default
	local n=${BENCH_RUNS:-$1}
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS=$n: not a positive number"
	echo "$n"
}

# --- formatting -------------------------------------------------------------

secs() { # seconds -> "12.3 s" / "1.23 s" / "0.123 s"
	awk -v t="$1" 'BEGIN {
		f = t >= 10 ? "%.1f s" : t >= 1 ? "%.2f s" : "%.3f s"
		printf f, t
	}'
}
mib() { # bytes -> "123.4 MiB" / "6.12 MiB"
	awk -v b="$1" 'BEGIN {
		m = b / 1048576
		printf(m >= 10 ? "%.1f MiB" : "%.2f MiB", m)
	}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { # ratio limit: met when ratio <= limit
	awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "NOT MET" }'
}
verdict_min() { # ratio limit: met when ratio >= limit
	awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g) ? "met" : "NOT MET" }'
}
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
fsize() { stat -c %s "$1"; }

# --- running ----------------------------------------------------------------

# timed OUT CMD...: run CMD with stdout to OUT; set WALL (s, from
# $EPOCHREALTIME) and CPU (user + sys, s). Exit if CMD fails. Dirty pages of
# the previous step are written back first, so no run pays for another's.
timed() {
	local out=$1 t0 t1 rc=0 TIMEFORMAT='%3U %3S'
	shift
	sync
	t0=$EPOCHREALTIME
	{ time "$@" >"$out" 2>"$W/cmd.err"; } 2>"$W/cmd.time" || rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" != 0 ]; then
		echo "bench: FAILED (exit $rc): $*" >&2
		sed 's/^/  /' "$out" "$W/cmd.err" | tail -n 30 >&2
		exit 1
	fi
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	CPU=$(awk '{ printf "%.1f", $1 + $2 }' "$W/cmd.time")
}

# quiet CMD...: run CMD untimed, its output shown only if it fails.
quiet() {
	"$@" >"$W/cmd.out" 2>&1 && return 0
	echo "bench: FAILED (exit $?): $*" >&2
	sed 's/^/  /' "$W/cmd.out" >&2
	exit 1
}

# --- the payload ------------------------------------------------------------

make_payload() {
	local script=$SHARED/make-payload.sh missing=() t
	[ -f "$script" ] ||
		die "no payload in $PAY, and no $script to make one (set BENCH_SHARED=DIR, or BENCH_PAYLOAD=DIR for an existing payload)"
	[ "$(id -u)" = 0 ] ||
		die "no payload in $PAY; making one needs root (make-payload.sh mounts a tmpfs): run as root, or set BENCH_PAYLOAD=DIR"
	command -v python3 >/dev/null ||
		missing+=("python3 (make-payload.sh runs it; apt-get install python3)")
	for t in mkfs.ext4 e2fsck dumpe2fs; do
		command -v $t >/dev/null || missing+=("$t (apt-get install e2fsprogs)")
	done
	if [ ${#missing[@]} != 0 ]; then
		echo "bench: no payload in $PAY, and $script needs what is missing here:" >&2
		printf '  %s\n' "${missing[@]}" >&2
		die "install it, or set BENCH_PAYLOAD=DIR for an existing payload"
	fi
	echo "payload: none in $PAY, generating it with $script (~2 minutes)"
	mkdir -p "$PAY"
	rm -f "$PAY/.complete"
	if ! bash "$script" "$PAY" >"$B/payload.log" 2>&1; then
		# Do not leave its tmpfs mounted.
		if mountpoint -q "$PAY/tree"; then umount "$PAY/tree" || true; fi
		sed 's/^/  /' "$B/payload.log" | tail -n 30 >&2
		die "$script failed (log: $B/payload.log)"
	fi
	sed 's/^/  /' "$B/payload.log"
	touch "$PAY/.complete"
}

# find_payload: set PAY, V1, V2 (BENCH_PAYLOAD, else build/bench/payload,
# generated there when missing).
find_payload() {
	local f
	if [ -n "${BENCH_PAYLOAD:-}" ]; then
		PAY=$BENCH_PAYLOAD
		for f in img-v1.ext4 img-v2.ext4; do
			[ -f "$PAY/$f" ] ||
				die "BENCH_PAYLOAD=$PAY has no $f (make one with $SHARED/make-payload.sh DIR, as root)"
		done
	else
		PAY=$B/payload
		[ -f "$PAY/.complete" ] || make_payload
	fi
	V1=$PAY/img-v1.ext4
	V2=$PAY/img-v2.ext4
}

# make_efi SIZE OUT: the first SIZE bytes of the shared libraries (real
# files, not links), by name; sets EFI_FROM. Real data, deterministic for a
# machine, the same for v1 and v2.
make_efi() {
	local size=$1 out=$2 dir total
	dir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)
	mapfile -t EFI_FROM < <(find "$dir" -maxdepth 1 -type f -name 'lib*.so*' \
		-printf '%s %p\n' | sort -k2 | awk -v need="$size" '
		s < need { print substr($0, index($0, " ") + 1); s += $1 }')
	[ ${#EFI_FROM[@]} != 0 ] || die "no shared libraries in $dir for the EFI payload"
	cat "${EFI_FROM[@]}" >"$out.tmp"
	total=$(fsize "$out.tmp")
	[ "$total" -ge "$size" ] ||
		die "the shared libraries in $dir hold $total bytes, less than the $size the EFI payload needs"
	truncate -s "$size" "$out.tmp"
	if cmp -s "$out.tmp" "$out"; then
		rm -f "$out.tmp" # unchanged: keep its time, images made from it stay fresh
	else
		mv "$out.tmp" "$out"
	fi
}

# machine_lines TOOL: the "machine" and "tool" header lines.
machine_lines() {
	local cpu_model rev
	cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
	printf '%-9s nproc %s, %s, %s %s\n' machine "$(nproc)" \
		"${cpu_model:-unknown CPU}" "$(uname -s)" "$(uname -r)"
	printf '%-9s %s (git %s)\n' tool "$1" "$rev"
}

# find_real: set REAL, the real update pair (BENCH_REAL, else
# build/bench/real, which `make bench` generates with
# $SHARED/make-real-payload.sh): real-v1.ext4, real-v2.ext4 (1 KiB ext4
# blocks), real-v1-4k.ext4, real-v2-4k.ext4 (4 KiB blocks).
find_real() {
	local f
	REAL=${BENCH_REAL:-$B/real}
	if [ -z "${BENCH_REAL:-}" ] && ! [ -f "$REAL/.complete" ]; then
		die "no real update pair in $REAL: \`make bench\` generates it (make $REAL/.complete, as root, with mmdebstrap), or set BENCH_REAL=DIR"
	fi
	for f in real-v1.ext4 real-v2.ext4 real-v1-4k.ext4 real-v2-4k.ext4; do
		[ -f "$REAL/$f" ] ||
			die "$REAL has no $f (make the pair with $SHARED/make-real-payload.sh DIR, as root)"
	done
}

# payload_pairs: set PAIRS to "NAME V1 V2" lines, the synthetic payload
# then the real pair with 1 KiB and 4 KiB blocks (find_payload, find_real).
payload_pairs() {
	find_payload
	find_real
	PAIRS=("synthetic $V1 $V2"
		"real-1k $REAL/real-v1.ext4 $REAL/real-v2.ext4"
		"real-4k $REAL/real-v1-4k.ext4 $REAL/real-v2-4k.ext4")
}
