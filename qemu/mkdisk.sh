#!/bin/bash
# Builds the QEMU test disk without root, loop devices or mounts: a GPT
# (qemu/layout.sh) with
#   1 esp     FAT32: \EFI\slotflip\a\linux.efi (A's UKI), \EFI\slotflip\b\
#             linux.efi (B's UKI, if given), \EFI\BOOT\BOOTX64.EFI (A's UKI:
#             the firmware's fallback path)
#   2 root-a  the ext4 image ROOT_A
#   3 root-b  the ext4 image ROOT_B, or zeros
#   4 data    ext4 made from the directory DATA_DIR (mkfs.ext4 -d)
# Usage: qemu/mkdisk.sh -a UKI_A [-b UKI_B] -r ROOT_A [-s ROOT_B] -d DATA_DIR
#                      -o DISK
set -euo pipefail

here=$(dirname "$0")
. "$here/layout.sh"
usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
uki_a= uki_b= root_a= root_b= data= out=
while getopts a:b:r:s:d:o:h opt; do
	case $opt in
	a) uki_a=$OPTARG ;;
	b) uki_b=$OPTARG ;;
	r) root_a=$OPTARG ;;
	s) root_b=$OPTARG ;;
	d) data=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$uki_a" ] && [ -n "$root_a" ] && [ -n "$data" ] && [ -n "$out" ] || usage
die() {
	echo "mkdisk: $*" >&2
	exit 1
}
for f in "$root_a" ${root_b:+"$root_b"}; do
	[ "$(stat -c %s "$f")" -le $((SLOT_MIB << 20)) ] ||
		die "$f is larger than a slot ($SLOT_MIB MiB)"
done

rm -f "$out.tmp"
truncate -s $((DISK_SECTORS * 512)) "$out.tmp"
sfdisk -q --no-reread --no-tell-kernel "$out.tmp" <<GPT || die "sfdisk failed"
label: gpt
label-id: $DISK_GUID
start=$ESP_START, size=$ESP_SECTORS, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_GUID, name="esp"
start=$ROOTA_START, size=$((SLOT_MIB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOTA_GUID, name="root-a"
start=$ROOTB_START, size=$((SLOT_MIB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOTB_GUID, name="root-b"
start=$DATA_START, size=$((DATA_MIB * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$DATA_GUID, name="data"
GPT

# ESP: FAT32 with 1-sector clusters (mtools fails on small FAT32 else).
mkfs.vfat -F 32 -s 1 -n ESP -i 5F1E0001 --offset=$ESP_START "$out.tmp" \
	$((ESP_SECTORS / 2)) >/dev/null 2>&1 || die "mkfs.vfat failed"
esp="$out.tmp@@$((ESP_START * 512))"
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/slotflip ::/EFI/slotflip/a \
	::/EFI/slotflip/b || die "mmd failed"
mcopy -i "$esp" "$uki_a" ::/EFI/slotflip/a/linux.efi || die "mcopy failed"
mcopy -i "$esp" "$uki_a" ::/EFI/BOOT/BOOTX64.EFI || die "mcopy failed"
if [ -n "$uki_b" ]; then
	mcopy -i "$esp" "$uki_b" ::/EFI/slotflip/b/linux.efi || die "mcopy failed"
fi

dd if="$root_a" of="$out.tmp" bs=1M seek=$((ROOTA_START * 512)) \
	oflag=seek_bytes conv=notrunc,sparse status=none
if [ -n "$root_b" ]; then
	dd if="$root_b" of="$out.tmp" bs=1M seek=$((ROOTB_START * 512)) \
		oflag=seek_bytes conv=notrunc,sparse status=none
fi
mkfs.ext4 -q -F -d "$data" -L data -E offset=$((DATA_START * 512)) \
	"$out.tmp" "${DATA_MIB}M" || die "mkfs.ext4 of the data partition failed"
mv "$out.tmp" "$out"
