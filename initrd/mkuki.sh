#!/bin/bash
# Builds a unified kernel image (UKI): systemd's EFI stub with the kernel,
# the initramfs, the command line and an os-release added as PE sections
# (.osrel, .cmdline, .linux, .initrd), each 4 KiB-aligned after the stub's
# last section. Usage:
#   initrd/mkuki.sh -k VMLINUZ -i INITRD -c "CMDLINE" [-n NAME] [-v VERSION]
#                   [--sign KEY CERT] -o OUT.efi
# The stub is /usr/lib/systemd/boot/efi/linuxx64.efi.stub (package
# systemd-boot-efi), or $SLOTFLIP_EFI_STUB. -v puts VERSION_ID=VERSION into
# the .osrel section (for people and tools; slotflip-init checks the version
# in its initramfs, initrd/mkinitramfs.sh -v). --sign signs the UKI for
# Secure Boot (sbsign, package sbsigntool) with the private key KEY (PEM,
# not encrypted) and its certificate CERT (PEM), and checks the signature
# with sbverify; the whole UKI, its initramfs included, is then covered by
# the signature. Exit: 0 built, 1 error, 2 usage.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
kernel= initrd= cmdline= out= name=slotflip version= sign_key= sign_cert=
# --sign KEY CERT (two arguments: getopts cannot take it).
rest=()
while [ $# -gt 0 ]; do
	if [ "$1" = --sign ]; then
		[ $# -ge 3 ] || usage
		sign_key=$2 sign_cert=$3
		shift 3
	else
		rest+=("$1")
		shift
	fi
done
set -- ${rest[@]+"${rest[@]}"}
while getopts k:i:c:n:v:o:h opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	c) cmdline=$OPTARG ;;
	n) name=$OPTARG ;;
	v) version=$OPTARG ;;
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
if [ -n "$sign_key" ]; then
	command -v sbsign >/dev/null && command -v sbverify >/dev/null ||
		die "--sign needs sbsign and sbverify: install sbsigntool (scripts/install-deps.sh)"
	[ -r "$sign_key" ] || die "no signing key $sign_key"
	[ -r "$sign_cert" ] || die "no signing certificate $sign_cert"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'NAME="%s"\nID=slotflip\nPRETTY_NAME="%s"\n' "$name" "$name" >"$tmp/osrel"
[ -z "$version" ] || printf 'VERSION_ID=%s\n' "$version" >>"$tmp/osrel"
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
objcopy "${args[@]}" "$stub" "$tmp/uki.efi" || die "objcopy failed"
signed=
if [ -n "$sign_key" ]; then
	sbsign --key "$sign_key" --cert "$sign_cert" --output "$tmp/signed.efi" \
		"$tmp/uki.efi" >"$tmp/sbsign.out" 2>&1 ||
		die "sbsign failed (is $sign_key the unencrypted private key of $sign_cert?): $(cat "$tmp/sbsign.out")"
	sbverify --cert "$sign_cert" "$tmp/signed.efi" >"$tmp/sbverify.out" 2>&1 ||
		die "the signed UKI does not verify against $sign_cert: $(cat "$tmp/sbverify.out")"
	mv "$tmp/signed.efi" "$tmp/uki.efi"
	signed=", signed by $(openssl x509 -noout -subject -in "$sign_cert" | sed 's/^subject= *//')"
fi
cp "$tmp/uki.efi" "$out.tmp" || die "cannot write $out.tmp"
mv "$out.tmp" "$out"
echo "mkuki: $out: $(stat -c %s "$out") bytes$signed, command line: $cmdline"
