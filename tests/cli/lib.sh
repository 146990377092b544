# Shell test harness, sourced by tests/cli/test-*.sh. A script defines
# functions named test_*; run_cases runs each in a subshell with `set -e`,
# inside a fresh temporary directory, and prints PASS/FAIL/SKIP lines.
# Environment (set by the Makefile): SF_BIN (built programs), SF_SRCDIR.
set -u
: "${SF_BIN:?SF_BIN must name the directory of the built programs}"
: "${SF_SRCDIR:?SF_SRCDIR must name the source tree}"
IMG=$SF_BIN/slotflip-image

# skip REASON: end the current case as skipped.
skip() {
	echo "  skip reason: $*"
	exit 77
}

# fail MESSAGE: end the current case as failed.
fail() {
	echo "  FAILED: $*" >&2
	exit 1
}

# expect_fail RC SUBSTRING CMD...: CMD must exit with RC and print
# SUBSTRING on stderr.
expect_fail() {
	local want_rc=$1 want_msg=$2 rc=0
	shift 2
	"$@" >out.txt 2>err.txt || rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		cat err.txt >&2
		fail "'$*' exited $rc, want $want_rc"
	fi
	if ! grep -qF -- "$want_msg" err.txt; then
		cat err.txt >&2
		fail "'$*' did not say '$want_msg'"
	fi
}

# expect_rc RC CMD...: CMD exits with RC; its output in out.txt, err.txt.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" >out.txt 2>err.txt || rc=$?
	[ "$rc" = "$want" ] || { cat out.txt err.txt; fail "'$*' exited $rc, want $want"; }
}

run_cases() {
	local prog t rc dir
	prog=$(basename "$0" .sh)
	for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
		dir=$(mktemp -d /tmp/sf-cli-XXXXXX)
		(cd "$dir" || exit 1; set -e; "$t") >"$dir.log" 2>&1
		rc=$?
		sed 's/^/  /' "$dir.log" >&2
		grep -h 'skip reason:' "$dir.log" || true
		case $rc in
		0) echo "PASS $prog/${t#test_}" ;;
		77) echo "SKIP $prog/${t#test_}" ;;
		*) echo "FAIL $prog/${t#test_} (exit $rc)" ;;
		esac
		rm -rf "$dir" "$dir.log"
	done
}
