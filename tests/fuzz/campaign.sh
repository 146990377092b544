#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A fuzz campaign: each libFuzzer target in turn, until FUZZ_RUNS
# executions or FUZZ_SECONDS, whichever comes first, on a copy of its
# seed corpus (build/fuzz/corpus-NAME). Then, per target, a line of
# figures (executions, seconds, libFuzzer's cov: and ft:, findings) and
# the inputs that raise coverage over the committed seeds, merged into
# build/fuzz/new-NAME/ for review (copy them to tests/fuzz/corpus/NAME/
# to have `make check` replay them).
#
#   tests/fuzz/campaign.sh BUILD_DIR [NAME...]
#
# A finding is a crash-, leak-, timeout- or oom- file that libFuzzer
# leaves in BUILD_DIR/fuzz/NAME/; the campaign goes on to the next target
# and exits 1 at the end when there was one. FUZZ_SUMMARY names another
# file for the table (two campaigns at once).
set -u

b=${1:?usage: campaign.sh BUILD_DIR [NAME...]}
shift
runs=${FUZZ_RUNS:-10000000}
secs=${FUZZ_SECONDS:-1800}
src=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ]; then
	for f in "$src"/fuzz-*.c; do
		n=${f##*/fuzz-}
		set -- "$@" "${n%.c}"
	done
fi

summary=${FUZZ_SUMMARY:-$b/fuzz/summary.txt}
printf '%-10s %10s %6s %6s %6s %8s %s\n' target executions secs \
	cov ft corpus findings >"$summary"
found=0
for n in "$@"; do
	bin=$b/fuzz/fuzz-$n
	[ -x "$bin" ] || { echo "campaign: $bin not built" >&2; exit 2; }
	work=$b/fuzz/corpus-$n out=$b/fuzz/$n log=$b/fuzz/$n.log
	mkdir -p "$work" "$out"
	cp -n "$src/corpus/$n"/* "$work"/ 2>/dev/null
	echo "campaign: $n (up to $runs executions or $secs s), log $log"
	start=$(date +%s)
	"$bin" -runs="$runs" -max_total_time="$secs" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/" \
		"$work" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	hits=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' \
		-o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) |
		wc -l)
	[ "$rc" -eq 0 ] || [ "$hits" -gt 0 ] || hits="exit $rc"
	[ "$hits" = 0 ] || found=1
	printf '%-10s %10s %6s %6s %6s %8s %s\n' "$n" "${execs:-?}" \
		"$took" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$hits" \
		>>"$summary"
	# What raises coverage over the committed seeds, for review.
	rm -rf "$b/fuzz/new-$n"
	mkdir -p "$b/fuzz/new-$n" "$b/fuzz/seed-$n"
	cp -n "$src/corpus/$n"/* "$b/fuzz/seed-$n"/ 2>/dev/null
	"$bin" -merge=1 "$b/fuzz/seed-$n" "$work" >"$b/fuzz/$n.merge.log" 2>&1
	for f in "$b/fuzz/seed-$n"/*; do
		[ -e "$src/corpus/$n/${f##*/}" ] || cp "$f" "$b/fuzz/new-$n/"
	done
	rm -rf "$b/fuzz/seed-$n"
done
cat "$summary"
exit $found
