#!/bin/bash
# Builds a unified kernel image (UKI): systemd's EFI stub with the kernel,
# the initramfs, the command line and an os-release added as PE sections
# (.osrel, .cmdline, .linux, .initrd), each 4 KiB-aligned after the stub's
# last section. Usage:
#   initrd/mkuki.sh -k VMLINUZ -i INITRD -c "CMDLINE" [-n NAME] -o OUT.efi
# The stub is /usr/lib/systemd/boot/efi/linuxx64.efi.stub (package
# systemd-boot-efi), or $SLOTFLIP_EFI_STUB. Exit: 0 built, 1 error, 2 usage.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
kernel= initrd= cmdline= out= name=slotflip
while getopts k:i:c:n:o:h opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	c) cmdline=$OPTARG ;;
	n) name=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$cmdline" ] && [ -n "$out" ] || usage
stub=${SLOTFLIP_EFI_STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}
die() {
	echo "mkuki: $*" >&2
	exit 1
}
[ -r "$stub" ] || die "no EFI stub at $stub: install systemd-boot-efi (scripts/install-deps.sh)"
[ -r "$kernel" ] || die "no kernel $kernel"
[ -r "$initrd" ] || die "no initramfs $initrd"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'NAME="%s"\nID=slotflip\nPRETTY_NAME="%s"\n' "$name" "$name" >"$tmp/osrel"
printf '%s' "$cmdline" >"$tmp/cmdline"

# End of the stub's last section (VMA + size), rounded up to 4 KiB.
end=0
while read -r idx _ size vma _; do
	[[ $idx =~ ^[0-9]+$ ]] || continue
	e=$((0x$vma + 0x$size))
	[ $e -le $end ] || end=$e
done < <(objdump -h "$stub")
[ $end -gt 0 ] || die "cannot read the sections of $stub"
align() { echo $(((($1) + 4095) / 4096 * 4096)); }
args=()
addr=$(align "$end")
for s in osrel:"$tmp/osrel" cmdline:"$tmp/cmdline" initrd:"$initrd" linux:"$kernel"; do
	sec=.${s%%:*} file=${s#*:}
	args+=(--add-section "$sec=$file" --change-section-vma "$sec=$(printf '0x%x' "$addr")")
	addr=$(align $((addr + $(stat -L -c %s "$file"))))
done
objcopy "${args[@]}" "$stub" "$out.tmp" || die "objcopy failed"
mv "$out.tmp" "$out"
echo "mkuki: $out: $(stat -c %s "$out") bytes, command line: $cmdline"
