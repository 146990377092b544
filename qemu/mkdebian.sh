#!/bin/bash
# Builds a stock Debian 12 (bookworm) systemd root with slotflip installed,
# as an ext4 slot image, without root mounts or loop devices:
#   1. mmdebstrap --variant=minbase --include=systemd,systemd-sysv,udev,
#      kmod,efibootmgr bookworm, from the package archive this machine's apt
#      is configured with (its bookworm `deb` entries, read at run time);
#      the tarball is cached in CACHE (default: OUT's directory) and made
#      again only when that command or the apt entries change;
#   2. the tarball unpacked (as root: owners and device nodes must stay);
#      the modules of the kernel KERNELDIR (qemu/fetch-kernel.sh) listed
#      with -m, with their dependencies and depmod's index; `make install
#      DESTDIR=... PREFIX=/usr` of this source tree; CONFIG as
#      /etc/slotflip/slotflip.conf, the keys in /etc/slotflip/keys/, with
#      -v the version in /etc/slotflip/version; slotflip-confirm.service
#      enabled; a host name and a locale (so that systemd's first boot
#      asks nothing); with -x, the files of OVERLAY copied over the root;
#   3. mkfs.ext4 -d into OUT (SIZE MiB).
# OUT is made again only when one of its inputs changed: OUT.stamp holds a
# hash of all of them (the tarball's, the kernel's release and modules, the
# programs and files `make install` copies, CONFIG, the keys, OVERLAY, the
# options, this script). Prints what it did and how long each step took.
# Usage: qemu/mkdebian.sh -k KERNELDIR -c CONFIG -p KEY.pub... -s SIZE
#                         -o OUT.ext4 [-v VERSION] [-m "mod1 mod2 ..."]
#                         [-x OVERLAY] [-C CACHE]
# Exit status: 0 built or up to date, 1 error, 2 usage.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
src=$(cd "$(dirname "$0")/.." && pwd)
kdir= config= size= out= version= overlay= cache=
modules="virtio_pci virtio_blk ext4 vfat nls_cp437 nls_ascii nls_utf8 efivarfs i6300esb autofs4"
keys=()
while getopts k:c:p:s:o:v:m:x:C:h opt; do
	case $opt in
	k) kdir=$OPTARG ;;
	c) config=$OPTARG ;;
	p) keys+=("$OPTARG") ;;
	s) size=$OPTARG ;;
	o) out=$OPTARG ;;
	v) version=$OPTARG ;;
	m) modules=$OPTARG ;;
	x) overlay=$OPTARG ;;
	C) cache=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$kdir" ] && [ -n "$config" ] && [ -n "$size" ] && [ -n "$out" ] &&
	[ ${#keys[@]} -gt 0 ] || usage
die() {
	echo "mkdebian: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] ||
	die "must run as root: the root's files keep their owners and device nodes (mmdebstrap, tar, mkfs.ext4 -d)"
command -v mmdebstrap >/dev/null ||
	die "mmdebstrap is missing: run scripts/install-deps.sh"
[ -s "$kdir/version" ] || die "$kdir is not an unpacked kernel (no version file): run qemu/fetch-kernel.sh"
[ -r "$config" ] || die "no config $config"
[ -z "$overlay" ] || [ -d "$overlay" ] || die "overlay $overlay is not a directory"
[[ $size =~ ^[0-9]+$ ]] || die "size '$size' is not a number of MiB"
release=$(cat "$kdir/version")
cache=${cache:-$(dirname "$out")}
mkdir -p "$cache"
tarball=$cache/debian-bookworm-minbase.tar
tree=
# Nothing half-made stays: the tree, a partial tarball or image.
trap 'rm -rf "${tree:-/nonexistent}" "$tarball.tmp" "$out.tmp"' EXIT

# The bookworm `deb` entries of this machine's apt (apt's own parser reads
# sources.list and the deb822 .sources files), one line per archive.
apt_sources() {
	apt-get indextargets --format '$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' | awk '
		$1 == "deb" && $3 ~ /^bookworm(-|$)/ {
			k = $2 " " $3
			if (!(k in comps)) order[++n] = k
			if (index(" " comps[k] " ", " " $4 " ") == 0)
				comps[k] = comps[k] " " $4
		}
		END { for (i = 1; i <= n; i++) print "deb " order[i] comps[order[i]] }'
}

# ---- 1. the mmdebstrap tarball (cached) -----------------------------------
MMDEBSTRAP=(mmdebstrap --variant=minbase --format=tar
	--include=systemd,systemd-sysv,udev,kmod,efibootmgr bookworm)
sources=$(apt_sources)
[ -n "$sources" ] ||
	die "apt has no bookworm 'deb' entry (see /etc/apt/sources.list*), or its lists are missing: run 'apt-get update'"
tar_stamp=$(printf '%s\n' "${MMDEBSTRAP[*]}" "$sources" | sha256sum | cut -c1-64)
if [ -f "$tarball" ] && [ -s "$tarball" ] &&
	[ "$(cat "$tarball.stamp" 2>/dev/null)" = "$tar_stamp" ]; then
	echo "mkdebian: $tarball is up to date"
else
	t0=$SECONDS
	echo "mkdebian: running ${MMDEBSTRAP[*]}"
	printf '%s\n' "$sources" >"$cache/sources.list"
	# --format=tar above: the name ends in .tmp, from which mmdebstrap
	# would guess a directory.
	rm -rf "$tarball" "$tarball.stamp" "$tarball.tmp"
	"${MMDEBSTRAP[@]}" "$tarball.tmp" "$cache/sources.list" \
		>"$cache/mmdebstrap.log" 2>&1 ||
		die "mmdebstrap failed (the end of $cache/mmdebstrap.log:)
$(tail -n 15 "$cache/mmdebstrap.log")"
	mv "$tarball.tmp" "$tarball"
	echo "$tar_stamp" >"$tarball.stamp"
	echo "mkdebian: $tarball: $(($(stat -c %s "$tarball") >> 20)) MiB in $((SECONDS - t0)) s"
fi

# ---- the inputs of the slot image -----------------------------------------
# make install builds the programs when they are stale: do that first, so
# that the stamp hashes what is installed.
make -s -C "$src" build/slotflip build/slotflip-init build/slotflip-image >/dev/null ||
	die "building slotflip failed (run make in $src)"
inputs_hash() {
	{
		echo "tarball $tar_stamp"
		echo "kernel $release modules $modules"
		echo "version $version size $size"
		sha256sum "$src/qemu/mkdebian.sh" "$src/mk/install.mk" "$src/build/slotflip" \
			"$src/build/slotflip-init" "$src/build/slotflip-image" \
			$(find "$src/bootctl" -type f | LC_ALL=C sort) \
			"$config" "${keys[@]}" |
			sed "s|  $src/|  |"
		if [ -n "$overlay" ]; then
			(cd "$overlay" && find . -type f -print0 | LC_ALL=C sort -z |
				xargs -0 -r sha256sum &&
				find . -printf '%p %y %m %l\n' | LC_ALL=C sort)
		fi
	} | sha256sum | cut -c1-64
}
stamp=$(inputs_hash)
if [ -s "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "mkdebian: $out is up to date"
	exit 0
fi

# ---- 2. the root tree -------------------------------------------------------
t0=$SECONDS
rm -f "$out.stamp"
tree=$(mktemp -d "$cache/tree.XXXXXX")
tar -C "$tree" -xpf "$tarball" --numeric-owner || die "cannot unpack $tarball"

# The kernel's modules: those listed, their dependencies, depmod's index.
ktree=$kdir/root
mdir=lib/modules/$release
if [ ! -s "$ktree/$mdir/modules.dep" ]; then
	depmod -b "$ktree" "$release" || die "depmod failed on $ktree"
fi
mkdir -p "$tree/usr/$mdir"
for m in $modules; do
	deps=$(modprobe -d "$ktree" -S "$release" --show-depends "$m" 2>&1) ||
		die "module $m: $deps"
	echo "$deps" | awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		rel=usr/lib/modules/${ko#*/lib/modules/}
		mkdir -p "$tree/$(dirname "$rel")"
		cp "$ko" "$tree/$rel"
	done
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ ! -e "$ktree/$mdir/$f" ] || cp "$ktree/$mdir/$f" "$tree/usr/$mdir/"
done
depmod -b "$tree" "$release" || die "depmod failed on the root tree"

# slotflip, its config and keys; the confirm service enabled.
make -s -C "$src" install DESTDIR="$tree" PREFIX=/usr >/dev/null ||
	die "make install DESTDIR=$tree PREFIX=/usr failed"
install -m 0644 "$config" "$tree/etc/slotflip/slotflip.conf"
install -d -m 0755 "$tree/etc/slotflip/keys"
for k in "${keys[@]}"; do
	install -m 0644 "$k" "$tree/etc/slotflip/keys/$(basename "$k")"
done
[ -z "$version" ] || echo "$version" >"$tree/etc/slotflip/version"
systemctl --root="$tree" enable slotflip-confirm.service >/dev/null 2>&1 ||
	die "systemctl --root enable slotflip-confirm.service failed"

# What systemd's first boot would otherwise ask on the console (the root
# comes with an empty /etc/machine-id: each device makes its own).
echo slotflip-debian >"$tree/etc/hostname"
echo "LANG=C.UTF-8" >"$tree/etc/locale.conf"
: >"$tree/etc/machine-id"
[ -z "$overlay" ] || cp -a "$overlay/." "$tree/"
t_tree=$((SECONDS - t0))

# ---- 3. the slot image ------------------------------------------------------
t0=$SECONDS
rm -f "$out.tmp"
truncate -s "${size}M" "$out.tmp"
mkfs.ext4 -q -F -d "$tree" -L "debian${version:+-$version}" -U clear \
	-T default -b 4096 "$out.tmp" "${size}M" ||
	die "mkfs.ext4 -d failed: is $size MiB enough for $(du -sm "$tree" | cut -f1) MiB of files?"
mv "$out.tmp" "$out"
echo "$stamp" >"$out.stamp"
echo "mkdebian: $out: $size MiB, $(du -sm "$tree" | cut -f1) MiB of files, kernel $release; root tree $t_tree s, mkfs $((SECONDS - t0)) s"
