#!/bin/bash
# Builds slotflip's initramfs: a gzip-compressed newc cpio holding
#   /init                            the static slotflip-init
#   /etc/slotflip/slotflip.conf      the device config
#   /etc/slotflip/keys/*.pub         the trusted public keys
#   /etc/slotflip/modules            the modules /init loads, in order
#   /etc/slotflip/version            with -v: the version of the system
#                                    this initramfs boots (read when the
#                                    state is rebuilt, e.g. at first boot,
#                                    and at every boot against the
#                                    anti-rollback floor: docs/BOOT.md,
#                                    "Offline rollback")
#   /lib/modules/RELEASE/...         those modules, their dependencies, and
#                                    depmod's index of them
# and prints its size. Usage:
#   initrd/mkinitramfs.sh -k KERNELDIR -i INIT -c CONFIG -p KEY.pub...
#                         -m "mod1 mod2 ..." [-v VERSION] -o OUT.cpio.gz
# KERNELDIR is an unpacked kernel package (qemu/fetch-kernel.sh): its
# version file and root/lib/modules/RELEASE. Modules built into that kernel
# are left out of the list. Exit status: 0 built, 1 error, 2 usage.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

kdir= init= config= out= modules= version=
keys=()
while getopts k:i:c:p:m:v:o:h opt; do
	case $opt in
	k) kdir=$OPTARG ;;
	i) init=$OPTARG ;;
	c) config=$OPTARG ;;
	p) keys+=("$OPTARG") ;;
	m) modules=$OPTARG ;;
	v) version=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$kdir" ] && [ -n "$init" ] && [ -n "$config" ] && [ -n "$out" ] &&
	[ ${#keys[@]} -gt 0 ] || usage

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}
[ -s "$kdir/version" ] || die "$kdir is not an unpacked kernel (no version file): run qemu/fetch-kernel.sh"
release=$(cat "$kdir/version")
ktree=$kdir/root
[ -d "$ktree/lib/modules/$release" ] || die "no $ktree/lib/modules/$release"
[ -x "$init" ] || die "$init is not an executable"
! readelf -l "$init" 2>/dev/null | grep -q INTERP ||
	die "$init is dynamically linked: the initramfs has no libraries"

# The kernel package has no modules.dep: index the whole tree once.
if [ ! -s "$ktree/lib/modules/$release/modules.dep" ]; then
	depmod -b "$ktree" "$release" || die "depmod failed on $ktree"
fi

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{etc/slotflip/keys,proc,sys,dev,run,sysroot}
install -m 0755 "$init" "$stage/init"
install -m 0644 "$config" "$stage/etc/slotflip/slotflip.conf"
[ -z "$version" ] || echo "$version" >"$stage/etc/slotflip/version"
for k in "${keys[@]}"; do
	install -m 0644 "$k" "$stage/etc/slotflip/keys/$(basename "$k")"
done

mdir=lib/modules/$release
mkdir -p "$stage/$mdir"
: >"$stage/etc/slotflip/modules"
for m in $modules; do
	deps=$(modprobe -d "$ktree" -S "$release" --show-depends "$m" 2>&1) ||
		die "module $m: $deps"
	if echo "$deps" | grep -q '^builtin '; then
		echo "mkinitramfs: $m is built into $release: not listed"
		continue
	fi
	echo "$m" >>"$stage/etc/slotflip/modules"
	echo "$deps" | awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		rel=lib/modules/${ko#*/lib/modules/}
		mkdir -p "$stage/$(dirname "$rel")"
		cp "$ko" "$stage/$rel"
	done
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ ! -e "$ktree/$mdir/$f" ] || cp "$ktree/$mdir/$f" "$stage/$mdir/"
done
depmod -b "$stage" "$release" || die "depmod failed on the initramfs tree"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) | gzip -9 -n >"$out.tmp"
mv "$out.tmp" "$out"
n_ko=$(find "$stage/$mdir" -name '*.ko' | wc -l)
echo "mkinitramfs: $out: $(stat -c %s "$out") bytes ($n_ko modules for $release, list: $(tr '\n' ' ' <"$stage/etc/slotflip/modules"))"
