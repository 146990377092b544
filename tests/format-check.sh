#!/bin/bash
# Checks every C file of the tree (tracked or not, ignored ones excluded)
# against .clang-format. One line per file: "PASS format-check/FILE" or
# "FAIL format-check/FILE"; the diff of a failing file goes to stderr.
# Exits 1 if any file fails. Fix a file with: clang-format -i FILE
set -u
cd "$(dirname "$0")/.." || exit 1

DIRS=(lib keys applier bootctl initrd qemu tests)

list_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard \
			-- "${DIRS[@]/%//*.c}" "${DIRS[@]/%//*.h}"
	else
		find "${DIRS[@]}" -name '*.[ch]' -type f -print0 2>/dev/null
	fi
}

if ! command -v clang-format >/dev/null; then
	echo "format-check: clang-format not found (run: make deps)" >&2
	echo "FAIL format-check/clang-format"
	exit 1
fi

failed=0
while IFS= read -r -d '' f; do
	# A file deleted from the work tree but still in the index.
	[ -f "$f" ] || continue
	case $f in build/* | */build/*) continue ;; esac
	if clang-format --dry-run -Werror "$f" 2>/dev/null; then
		echo "PASS format-check/$f"
	else
		echo "FAIL format-check/$f"
		echo "--- $f: clang-format -i $f would change:" >&2
		clang-format "$f" | diff -u "$f" - | head -n 40 >&2
		failed=1
	fi
done < <(list_files | sort -zu)
exit $failed
