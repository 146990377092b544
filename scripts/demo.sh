#!/bin/bash
# `make demo`: what slotflip does so far, narrated. Builds two versions of an
# ext4 root filesystem from generated files, makes a key pair, creates,
# verifies and inspects signed images (full and delta), and shows tampered
# or untrusted images being refused.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
IMG=$top/build/slotflip-image
work=$top/build/demo
rm -rf "$work"
mkdir -p "$work"
cd "$work"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# A root filesystem tree: generated text and binary-like files.
make_tree() { # DIR VERSION
	mkdir -p "$1/etc" "$1/usr/bin" "$1/usr/share/doc"
	echo "VERSION_ID=$2" >"$1/etc/os-release"
	for i in $(seq 1 60); do
		seq "$i" 7 $((i * 4000)) >"$1/usr/share/doc/file$i.txt"
	done
	head -c 3000000 /dev/zero | tr '\0' 'x' >"$1/usr/bin/tool"
	if [ "$2" != 1.0.0 ]; then
		seq 1 5000 | sed 's/$/ changed in 1.1.0/' >"$1/usr/share/doc/file7.txt"
	fi
}

mkext4() { # DIR OUT
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -L rootfs \
		-U 6f1c2a9e-2b4d-4e1a-9a55-1e0c3b7d9f00 \
		-E hash_seed=6f1c2a9e-2b4d-4e1a-9a55-1e0c3b7d9f00 \
		-d "$1" "$2" 32M
}

say "1. The build server makes a signing key pair (minisign's formats)"
run "$IMG" keygen -p demo.pub -s demo.sec

say "2. Two root filesystem images (ext4, 32 MiB) and an EFI binary"
make_tree tree-1.0.0 1.0.0
make_tree tree-1.1.0 1.1.0
mkext4 tree-1.0.0 rootfs-1.0.0.ext4
mkext4 tree-1.1.0 rootfs-1.1.0.ext4
seq 1 200000 | gzip -1 >linux.efi
ls -l rootfs-*.ext4 linux.efi

say "3. Create a signed full image of 1.0.0"
run "$IMG" create --rootfs rootfs-1.0.0.ext4 --efi linux.efi \
	--version 1.0.0 --compatible demo-board --key demo.sec -o v1.0.0.img

say "4. Verify it: the signature first, then every chunk's hash"
run "$IMG" verify v1.0.0.img --pubkey demo.pub

say "5. What it holds (inspect checks nothing)"
run "$IMG" inspect v1.0.0.img

say "6. A delta image of 1.1.0 against 1.0.0 carries only what changed"
run "$IMG" create --rootfs rootfs-1.1.0.ext4 --efi linux.efi \
	--version 1.1.0 --compatible demo-board --key demo.sec \
	--delta-from v1.0.0.img -o v1.1.0-delta.img
run "$IMG" verify v1.1.0-delta.img --pubkey demo.pub
ls -l v1.0.0.img v1.1.0-delta.img

say "7. The delta plus the old root filesystem rebuild 1.1.0 exactly"
run "$IMG" extract v1.1.0-delta.img --pubkey demo.pub \
	--rootfs rebuilt.ext4 --base-rootfs rootfs-1.0.0.ext4 \
	--efi rebuilt.efi --base-efi linux.efi
run cmp rebuilt.ext4 rootfs-1.1.0.ext4 && echo "identical"

say "8. A copy with one byte changed in its data is refused"
cp v1.0.0.img tampered.img
printf 'X' | dd of=tampered.img bs=1 seek=$(($(stat -c %s tampered.img) - 5000)) \
	conv=notrunc status=none
run "$IMG" verify tampered.img --pubkey demo.pub || echo "(exit status $?: refused)"

say "9. An image checked against another key is refused"
"$IMG" keygen -p other.pub -s other.sec >/dev/null
run "$IMG" verify v1.0.0.img --pubkey other.pub || echo "(exit status $?: refused)"

say "10. minisign itself checks the manifest signature"
run "$IMG" manifest v1.0.0.img -o manifest -x manifest.minisig
run minisign -Vm manifest -x manifest.minisig -p demo.pub

say "Done. The files are in build/demo/."
