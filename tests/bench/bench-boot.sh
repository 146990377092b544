#!/bin/bash
# Boot-time cost of slotflip-init with nothing staged, in QEMU (OVMF, the
# Debian cloud kernel of the QEMU scenarios, TCG): the time from the
# kernel's "Run /init as init process" to the line /init writes to
# /dev/kmsg just before it execs the slot's init, both from the kernel's
# printk timestamps on the serial console. Compared with a minimal
# initramfs built here (not a product): a busybox /init that mounts /proc,
# /sys and /dev, loads the same modules (same list, same module files),
# waits for the root device, mounts it read-only and switch_roots. Boots
# alternate between the two; prints the medians, their difference (goal:
# under 50 ms more) and the EFI variables each boot changed (from the
# varstore before and after; goal: none of slotflip's). Asserts nothing.
# Knobs: BENCH_BOOTS=N boots of each (default 5).
# Environment (set by mk/bench-boot.mk): SF_SRCDIR, SF_STATIC_BIN.
# Files and serial logs stay in build/bench/boot/.
set -euo pipefail
. "$SF_SRCDIR/tests/qemu/lib.sh"
. "$SF_SRCDIR/tests/bench/lib.sh"
N=${BENCH_BOOTS:-5}
BD=$SB/bench/boot

if ! [ -r "$OVMF_CODE" ] || ! command -v qemu-system-x86_64 >/dev/null; then
	echo "bench-boot: QEMU or OVMF missing: run scripts/install-deps.sh" >&2
	exit 1
fi

# base_initrd OUT: the world's initramfs with /init replaced by the
# minimal script (its modules, their depmod index and module list kept).
base_initrd() {
	local d=$BD/base-tree
	rm -rf "$d" && mkdir -p "$d"
	(cd "$d" && gzip -dc "$W/initrd.cpio.gz" | cpio --quiet -id)
	rm -f "$d/init"
	mv "$d/etc/slotflip/modules" "$d/etc/modules"
	rm -rf "$d/etc/slotflip"
	mkdir -p "$d/bin"
	cp /bin/busybox "$d/bin/busybox"
	for c in sh mount mkdir modprobe sleep switch_root cat; do
		ln -s busybox "$d/bin/$c"
	done
	# Partition 2 of the test disk is root-a (qemu/layout.sh).
	cat >"$d/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "<5>bench-init: /init started" >/dev/kmsg
modprobe -a $(cat /etc/modules)
n=0
while [ ! -b /dev/vda2 ] && [ $n -lt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done
mkdir -p /sysroot
mount -t ext4 -o ro /dev/vda2 /sysroot
for m in dev proc sys; do mount --move /$m /sysroot/$m; done
echo "<5>bench-init: exec of the slot's init" >/sysroot/dev/kmsg
exec switch_root /sysroot /sbin/init
INIT
	chmod 755 "$d/init"
	(cd "$d" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | gzip -9 -n >"$1"
}

# ts PATTERN LOG: the printk timestamp (seconds) of the first line
# matching PATTERN.
ts() {
	grep -m1 -E -- "$1" "$2" | sed -nE 's/^\[ *([0-9]+\.[0-9]+)\].*/\1/p'
}

# one KIND MARK: a boot of the machine in $BD/KIND; appends the /init time
# (ms) to KIND.ms and the EFI variables the boot changed to KIND.vars.
one() {
	local kind=$1 mark=$2 t0 t1 changed ours
	cd "$BD/$kind"
	vars dump >vars-before.txt
	boot
	t0=$(ts 'Run /init as init process' "$LOG")
	t1=$(ts "$mark" "$LOG")
	[ -n "$t0" ] && [ -n "$t1" ] && grep -q "SFTEST: up slot=a" "$LOG" || {
		echo "bench-boot: $kind boot $BOOTS did not reach slot A's init (see $PWD/$LOG)" >&2
		exit 1
	}
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$BD/$kind.ms"
	vars dump >vars-after.txt
	changed=$({ diff vars-before.txt vars-after.txt || true; } | sed -nE 's/^[<>] ([^ -]+)-.*/\1/p' |
		sort -u | tr '\n' ' ')
	ours=$(echo "$changed" | tr ' ' '\n' | grep -cE "^$OUR_VARS\$" || true)
	echo "$BOOTS $ours ${changed:-none}" >>"$BD/$kind.vars"
	printf '  %-8s boot %d: /init to exec %s ms; EFI variables changed: %s\n' \
		"$kind" "$BOOTS" "$(tail -n 1 "$BD/$kind.ms")" "${changed:-none}"
}

build_world cloud 2
rm -rf "$BD" && mkdir -p "$BD/slotflip" "$BD/base"
base_initrd "$BD/base.cpio.gz"
uki "$BD/a-base.efi" a poweroff "$BD/base.cpio.gz"
echo "boot-time bench: $N boots each, alternating (QEMU TCG, cloud kernel $(cat "$SB/kernel/cloud/version"))"
echo "  initramfs: slotflip $(stat -c %s "$W/initrd.cpio.gz") bytes, minimal $(stat -c %s "$BD/base.cpio.gz") bytes"
(cd "$BD/slotflip" && machine && vars state-init a 1.0)
# The same disk, with the minimal initramfs in A's UKI.
(cd "$BD/base" && cp "$BD/slotflip/vars.fd" vars.fd &&
	"$SRC/qemu/mkdisk.sh" -a "$BD/a-base.efi" -r "$W/rootfs-1.0.ext4" \
		-d "$BD/slotflip/data" -o disk.img)
BOOTS=0
for i in $(seq 1 "$N"); do
	one slotflip "slotflip-init: exec of the slot's init"
	one base "bench-init: exec of the slot's init"
done
mapfile -t sf_ms <"$BD/slotflip.ms"
mapfile -t base_ms <"$BD/base.ms"
sf=$(median "${sf_ms[@]}")
base=$(median "${base_ms[@]}")
echo "boot-time bench results (medians of $N boots):"
echo "  /init start to exec of the slot's init: slotflip-init $sf ms, minimal /init $base ms"
awk -v a="$sf" -v b="$base" 'BEGIN { d = a - b
	printf "  difference (slotflip-init - minimal): %+.1f ms (goal: under +50 ms)%s\n", d,
		d < 50 ? "" : ": goal missed" }'
# The first boot of a fresh varstore is OVMF's own setup: not counted.
ours=$(tail -n +2 "$BD/slotflip.vars" | awk '{ s += $2 } END { print s + 0 }')
echo "  EFI variables of slotflip's changed by slotflip-init boots 2..$N: $ours (goal: 0)"
echo "  all variables changed per boot (boot number, slotflip's, names):"
sed 's/^/    slotflip: /' "$BD/slotflip.vars"
sed 's/^/    minimal:  /' "$BD/base.vars"
