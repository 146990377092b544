#!/bin/bash
# Builds BUILD/kmod/libkmod.a and BUILD/kmod/include/libkmod.h from Debian's
# kmod source package: Debian ships no libkmod.a, and kmod's configure refuses
# --enable-static. Called by mk/kmod.mk; BUILD defaults to build.
#
#   BUILD/kmod-src/   apt-get source, dpkg-source -x into kmod/ (stamp:
#                     .unpacked): done once
#   BUILD/kmod/obj/   one object per libkmod/*.c and shared/*.c
#   BUILD/kmod/       libkmod.a, include/libkmod.h
#
# Only the kmod_* API stays global in the archive: kmod's internal helpers
# (hash_*, array_*, strbuf_*, util functions) are made local, so that they
# cannot clash with ours or with another static library's.
set -euo pipefail

B=${1:-build}
SRC=$B/kmod-src
OUT=$B/kmod
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-gcc}

# The files of libkmod.la and libshared.la in kmod's Makefile.am: no tools,
# no testsuite.
LIB_SRCS="libkmod.c libkmod-builtin.c libkmod-list.c libkmod-config.c
	libkmod-index.c libkmod-module.c libkmod-file.c libkmod-elf.c
	libkmod-signature.c"
SHARED_SRCS="array.c hash.c scratchbuf.c strbuf.c util.c"

CFLAGS=(-std=gnu11 -O2 -g -fPIC -pipe -ffunction-sections -fdata-sections
	-Wall -Wno-unused-parameter -Wno-unused-result
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DSYSCONFDIR=\"/etc\"
	-include "$HERE/libkmod-config.h")

die() {
	echo "build-libkmod: $*" >&2
	exit 1
}

# Runs "$@" with its output in LOG; on failure shows the log and dies.
logged() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		die "'$*' failed (log: $log)"
	fi
}

fetch() {
	local apt_opts=(-q -o APT::Get::Only-Source=true)
	local dsc

	[ -f "$SRC/.unpacked" ] && return 0
	rm -rf "$SRC"
	mkdir -p "$SRC"
	# As root, apt drops privileges to _apt for downloads and warns when _apt
	# cannot write here: download as root instead, silently.
	[ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)
	if ! (cd "$SRC" && apt-get "${apt_opts[@]}" source --download-only kmod) \
		>"$SRC/fetch.log" 2>&1; then
		cat "$SRC/fetch.log" >&2
		die "cannot download kmod's source package (is there a deb-src entry? run: make deps)"
	fi
	dsc=$(echo "$SRC"/kmod_*.dsc)
	[ -f "$dsc" ] || die "no kmod .dsc in $SRC"
	logged "$SRC/unpack.log" dpkg-source -x "$dsc" "$SRC/kmod"
	touch "$SRC/.unpacked"
}

compile() {
	local f src="" obj pids=() failed=0

	rm -rf "$OUT"
	mkdir -p "$OUT/obj" "$OUT/include"
	for f in $LIB_SRCS; do src+=" libkmod/$f"; done
	for f in $SHARED_SRCS; do src+=" shared/$f"; done
	for f in $src; do
		[ -f "$SRC/kmod/$f" ] || die "$SRC/kmod/$f is missing: not kmod 30?"
		obj=$OUT/obj/$(basename "$f" .c).o
		$CC "${CFLAGS[@]}" -I"$SRC/kmod" -c -o "$obj" "$SRC/kmod/$f" \
			2>"$obj.log" &
		pids+=($!)
	done
	for f in "${pids[@]}"; do wait "$f" || failed=1; done
	cat "$OUT"/obj/*.log >&2
	[ $failed = 0 ] || die "compiling libkmod failed"

	# One relocatable object, in which only kmod_* stays global.
	ld -r -o "$OUT/obj/libkmod-all.o" "$OUT"/obj/*.o
	objcopy --wildcard --keep-global-symbol='kmod_*' \
		"$OUT/obj/libkmod-all.o" "$OUT/obj/libkmod.o"
	cp "$SRC/kmod/libkmod/libkmod.h" "$OUT/include/libkmod.h"
	rm -f "$OUT/libkmod.a.tmp"
	ar rcsD "$OUT/libkmod.a.tmp" "$OUT/obj/libkmod.o"
	mv "$OUT/libkmod.a.tmp" "$OUT/libkmod.a"
}

mkdir -p "$B"
# Two makes in one tree (make check while make fuzz) share build/.
exec 9>"$B/.kmod.lock"
flock 9
fetch
compile
echo "build-libkmod: $OUT/libkmod.a from $(basename "$SRC"/kmod_*.dsc .dsc)"
