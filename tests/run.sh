#!/bin/bash
# Runs test programs (C unit tests, shell integration tests, fuzz replays),
# each of which prints one line per case: "PASS name", "FAIL name" or
# "SKIP name" (with the reason on a preceding "skip reason:" line).
# Prints every case line, then, last, "N passed, N failed[, N skipped]".
# Usage: tests/run.sh LOGDIR PROGRAM...
set -u
logdir=$1
shift
mkdir -p "$logdir"
pass=0 fail=0 skip=0
skips=()
for prog in "$@"; do
	name=$(basename "$prog")
	log=$logdir/$name.log
	"$prog" >"$log.out" 2>"$log.err" </dev/null
	rc=$?
	while IFS= read -r line; do
		case $line in
		PASS\ *) pass=$((pass + 1)); echo "$line" ;;
		FAIL\ *) fail=$((fail + 1)); echo "$line"; failed_here=1 ;;
		SKIP\ *) skip=$((skip + 1)); echo "$line"; skips+=("${line#SKIP }: $reason") ;;
		*"skip reason: "*) reason=${line#*skip reason: } ;;
		esac
	done <"$log.out"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$log.out"; then
		echo "FAIL $name (exited $rc without reporting a failed case)"
		fail=$((fail + 1))
	fi
	if grep -q '^FAIL ' "$log.out" || [ $rc -ne 0 ]; then
		echo "---- $name: stderr (last 40 lines; full log in $log.err)"
		tail -n 40 "$log.err"
		echo "----"
	fi
done
for s in "${skips[@]}"; do echo "skipped: $s"; done
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
