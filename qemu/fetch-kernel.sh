#!/bin/bash
# Fetches a Debian 12 kernel package and unpacks it under BUILD/kernel/FLAVOUR
# without installing it (the host's /boot and /lib/modules are not touched):
#   BUILD/kernel/FLAVOUR/vmlinuz        the EFI-stub kernel
#   BUILD/kernel/FLAVOUR/version        its release (e.g. 6.1.0-26-cloud-amd64)
#   BUILD/kernel/FLAVOUR/root/          the unpacked package (lib/modules/...)
# FLAVOUR is "cloud" (ext4 built in, no watchdog driver) or "generic" (has
# i6300esb). Cached: a second run with the package already unpacked does
# nothing. Usage: qemu/fetch-kernel.sh BUILD FLAVOUR
set -euo pipefail

build=${1:?usage: qemu/fetch-kernel.sh BUILD cloud|generic}
flavour=${2:?usage: qemu/fetch-kernel.sh BUILD cloud|generic}
case $flavour in
cloud) meta=linux-image-cloud-amd64 ;;
generic) meta=linux-image-amd64 ;;
*)
	echo "fetch-kernel: unknown flavour '$flavour' (cloud or generic)" >&2
	exit 2
	;;
esac

out=$build/kernel/$flavour
if [ -s "$out/vmlinuz" ] && [ -s "$out/version" ]; then
	exit 0
fi

# The meta package names the current kernel package.
pkg=$(apt-cache depends "$meta" 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
	echo "fetch-kernel: apt-cache does not know $meta: run 'apt-get update' (as root) and retry" >&2
	exit 1
fi
release=${pkg#linux-image-}

debs=$build/kernel/debs
mkdir -p "$debs"
if ! compgen -G "$debs/${pkg}_*.deb" >/dev/null; then
	echo "fetch-kernel: downloading $pkg"
	# As root, apt would warn that its sandbox user cannot write here.
	if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root \
		"$pkg" >/dev/null); then
		echo "fetch-kernel: 'apt-get download $pkg' failed (network? apt lists?)" >&2
		exit 1
	fi
fi
deb=$(compgen -G "$debs/${pkg}_*.deb" | head -n 1)

rm -rf "$out.tmp"
mkdir -p "$out.tmp/root"
dpkg-deb -x "$deb" "$out.tmp/root"
cp "$out.tmp/root/boot/vmlinuz-$release" "$out.tmp/vmlinuz"
echo "$release" >"$out.tmp/version"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "fetch-kernel: $flavour kernel $release in $out"
