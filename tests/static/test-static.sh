#!/bin/bash
# The initramfs toolchain: build/static-probe (tests/static/probe.c, built by
# mk/static.mk) must be fully static and its calls into libblkid, libsodium,
# zlib, libzstd and libkmod must work; the static slotflip-init must hold
# zstd's decoder (image format 2). Run by `make check`, which sets SF_BIN,
# SF_SRCDIR and SF_STATIC_BIN (the directory of the static programs).
# shellcheck source=tests/cli/lib.sh disable=SC1091
. "${SF_SRCDIR:?SF_SRCDIR must name the source tree}/tests/cli/lib.sh"
: "${SF_STATIC_BIN:?SF_STATIC_BIN must name the directory of the static programs}"
PROBE=$SF_STATIC_BIN/static-probe

need_probe() {
	[ -x "$PROBE" ] || fail "$PROBE is missing: make $PROBE"
}

test_no_interpreter() {
	need_probe
	readelf -lW "$PROBE" >phdrs.txt
	grep -q LOAD phdrs.txt || fail "readelf -l found no LOAD segment"
	if grep -q INTERP phdrs.txt; then
		grep INTERP -A1 phdrs.txt >&2
		fail "$PROBE has an ELF interpreter"
	fi
}

test_no_dynamic_section() {
	need_probe
	readelf -dW "$PROBE" >dyn.txt
	grep -q 'There is no dynamic section' dyn.txt ||
		fail "$PROBE has a dynamic section: $(head -n 5 dyn.txt)"
}

test_blkid() {
	need_probe
	"$PROBE" blkid
}

test_sodium() {
	need_probe
	"$PROBE" sodium
}

test_zlib() {
	need_probe
	"$PROBE" zlib
}

test_zstd() {
	need_probe
	"$PROBE" zstd
}

test_init_holds_the_zstd_decoder() {
	local init=$SF_STATIC_BIN/slotflip-init
	[ -x "$init" ] || fail "$init is missing: make $init"
	! readelf -lW "$init" | grep -q INTERP || fail "$init is not static"
	nm "$init" | grep -q ' T ZSTD_decompressDCtx$' ||
		fail "$init does not hold ZSTD_decompressDCtx"
}

test_kmod() {
	need_probe
	"$PROBE" kmod
}

test_runs_all() {
	need_probe
	"$PROBE" || fail "$PROBE exited $?"
}

run_cases
