#!/bin/bash
# Each program links only what it needs: lib/ is an archive
# (build/libslotflip.a), so a program holds the lib modules it calls and
# those they call, no more. The modules of a program are those of which
# it holds a global symbol (nm). Also: no include cycle between lib's
# modules (a module is lib/X.c with lib/X.h). Run by `make check`.
# shellcheck source=tests/cli/lib.sh disable=SC1091
. "${SF_SRCDIR:?SF_SRCDIR must name the source tree}/tests/cli/lib.sh"
: "${SF_STATIC_BIN:?SF_STATIC_BIN must name the directory of the static programs}"
LIBOBJ=$SF_STATIC_BIN/obj/lib

# modules PROGRAM: the lib modules PROGRAM holds, one per line.
modules() {
	local o syms
	[ -x "$1" ] || fail "$1 is missing: make $1"
	nm "$1" | awk '$2 ~ /^[TDRBW]$/ { print $3 }' | sort -u >prog.syms
	for o in "$LIBOBJ"/*.o; do
		nm --defined-only -g "$o" | awk '$2 ~ /^[TDRBW]$/ { print $3 }' |
			sort -u >mod.syms
		[ -s mod.syms ] || continue
		comm -12 prog.syms mod.syms | grep -q . && basename "$o" .o
	done
	return 0
}

# lacks PROGRAM MODULE...: PROGRAM holds none of MODULEs.
lacks() {
	local prog=$SF_STATIC_BIN/$1 m
	shift
	modules "$prog" >held
	echo "$(basename "$prog"): $(tr '\n' ' ' <held)" >&2
	for m in "$@"; do
		[ -f "$LIBOBJ/$m.o" ] || fail "no module $m in $LIBOBJ"
		! grep -qx "$m" held || fail "$(basename "$prog") holds $m"
	done
}

# holds PROGRAM MODULE...: the check above can see a module that is there.
holds() {
	local prog=$SF_STATIC_BIN/$1 m
	shift
	modules "$prog" >held
	for m in "$@"; do
		grep -qx "$m" held || fail "$(basename "$prog") lacks $m"
	done
}

test_init_has_no_signing_or_image_creation() {
	lacks slotflip-init seckey imgwrite bootentry
	holds slotflip-init minisign apply efivar
}

test_runtime_tool_has_no_signing_or_image_creation() {
	lacks slotflip seckey imgwrite apply writeq
	holds slotflip minisign efivar bootentry
}

test_image_tool_has_no_device_code() {
	lacks slotflip-image efivar bootstate decide transition bootentry \
		partdev apply writeq staging booted cmdline
	holds slotflip-image seckey imgwrite
}

test_no_secret_key_symbol_in_device_programs() {
	local p
	for p in slotflip-init slotflip; do
		[ -x "$SF_STATIC_BIN/$p" ] || fail "$SF_STATIC_BIN/$p is missing"
		if nm "$SF_STATIC_BIN/$p" | grep -E ' [Tt] (ms_seckey|ms_sign|ms_keygen|sf_image_create)'; then
			fail "$p holds signing or image-creation code"
		fi
	done
}

# A device checks repository documents (lib/repodoc) without signing
# code; signing them is lib/repowrite's, which the image tool holds.
test_repo_documents_check_without_signing_code() {
	local o=$SF_STATIC_BIN/obj/lib/repodoc.o
	[ -f "$o" ] || fail "$o is missing"
	nm -u "$o" | grep -q ms_sig_verify_prehashed ||
		fail "repodoc.o does not verify signatures"
	if nm -u "$o" | grep -E 'ms_sign|ms_seckey|sf_repo_sign'; then
		fail "repodoc.o needs signing code"
	fi
	holds slotflip-image repodoc repowrite
}

# module NAME: the module of lib/NAME.[ch]. A header without a .c of its
# own whose name starts with a module's and a dash (minisign-text.h) is
# that module's private part.
module() {
	if [ ! -f "$SF_SRCDIR/lib/$1.c" ] && [ -f "$SF_SRCDIR/lib/${1%%-*}.c" ]; then
		echo "${1%%-*}"
	else
		echo "$1"
	fi
}

# tsort reports a loop in the graph of "module includes module" pairs.
test_no_include_cycle_in_lib() {
	local f m inc
	for f in "$SF_SRCDIR"/lib/*.[ch]; do
		m=$(module "$(basename "${f%.?}")")
		echo "$m $m"
		sed -n 's/^#include "\(.*\)\.h"$/\1/p' "$f" | while read -r inc; do
			inc=$(module "$inc")
			[ "$inc" = "$m" ] || echo "$m $inc"
		done
	done >pairs
	[ "$(wc -l <pairs)" -gt 30 ] || fail "found too few include pairs"
	tsort pairs >/dev/null 2>loops || true
	if [ -s loops ]; then
		cat loops >&2
		fail "lib/ has an include cycle"
	fi
}

run_cases
