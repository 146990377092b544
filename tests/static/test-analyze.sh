#!/bin/bash
# Static analysis: GCC's -fanalyzer over each source file of lib/, applier/,
# bootctl/ and keys/ (with the headers they include). One case per file:
# PASS when the analyzer reports nothing, FAIL with its report on stderr.
# A false alarm is silenced where it stands, by a `#pragma GCC diagnostic`
# around the few lines concerned, with a comment saying why it is false.
#
# -O0: at -O1 and above GCC 12's analyzer works on inlined code and reports
# dozens more false alarms (BLAKE2b's loops in lib/hash.c, freep() of a
# _cleanup_ variable) without finding anything more in this tree.
#
# Run by `make check` (and `make analyze`), which sets SF_SRCDIR and
# SF_ANALYZE_CFLAGS (the include directory of libkmod, for applier/).
# SF_ANALYZE_JOBS: files analyzed side by side (default: the CPU count).
set -u
: "${SF_SRCDIR:?SF_SRCDIR must name the source tree}"
cd "$SF_SRCDIR" || exit 1
prog=$(basename "$0" .sh)
jobs=${SF_ANALYZE_JOBS:-$(nproc)}
# shellcheck disable=SC2206 # word splitting of the flags is wanted
cflags=(-std=gnu11 -D_GNU_SOURCE -Ilib -pthread -O0 -fanalyzer
	${SF_ANALYZE_CFLAGS:-})

if ! echo 'int x;' | gcc -fanalyzer -x c -c -o /dev/null - 2>/dev/null; then
	echo "skip reason: gcc $(gcc -dumpversion) has no -fanalyzer (GCC 10 or later)"
	echo "SKIP $prog"
	exit 0
fi

out=$(mktemp -d /tmp/sf-analyze-XXXXXX)
trap 'rm -rf "$out"' EXIT
files=(lib/*.c applier/*.c bootctl/*.c keys/*.c)

# shellcheck disable=SC2016 # the inner sh expands them
# Each file's report in $out/<path with / as _>.txt, its exit status in
# .rc. xargs appends the file to the flags: it is the last argument.
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$jobs" sh -c '
	out=$1; shift
	for f; do :; done
	log=$out/$(echo "$f" | tr / _)
	gcc "$@" -o /dev/null >"$log.txt" 2>&1
	echo $? >"$log.rc"' sh "$out" "${cflags[@]}" -c

for f in "${files[@]}"; do
	log=$out/$(echo "$f" | tr / _)
	if [ "$(cat "$log.rc" 2>/dev/null)" != 0 ]; then
		echo "  gcc -fanalyzer failed on $f:" >&2
		sed 's/^/  /' "$log.txt" >&2
		echo "FAIL $prog/$f (does not compile)"
	elif grep -q 'warning:' "$log.txt"; then
		echo "  gcc -fanalyzer on $f: fix the code, or, for a false alarm," >&2
		echo "  a commented '#pragma GCC diagnostic' around the lines:" >&2
		sed 's/^/  /' "$log.txt" >&2
		echo "FAIL $prog/$f (warnings: $(grep -c 'warning:' "$log.txt"))"
	else
		echo "PASS $prog/$f"
	fi
done
