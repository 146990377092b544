#!/bin/bash
# Builds a small test root filesystem (static busybox) as an ext4 image
# file of SIZE_MIB MiB, for a slot of the QEMU test disk. Its /sbin/init
# is laid out like Debian's, an absolute link through a linked directory
# (/sbin/init -> /lib/sftest/init, /lib -> usr/lib), so that slotflip-init
# must resolve it inside the slot's root. It prints "SFTEST:" markers on
# the console (the first one with the root's mount mode, ro or rw; one
# when the ESP is mounted at /run/slotflip/esp, which it must not be),
# confirms a trial the way a product does, with bootctl/slotflip-confirm
# (its health check here: the system's files and the data partition are
# there; then `slotflip mark-good`), when /usr/bin/slotflip is there
# (copied from BINDIR when BINDIR/slotflip exists), and then does what
# the kernel command line word sftest.action= says:
#   poweroff (default)  power off
#   reboot              reboot
#   hang                hang without confirming (a watchdog must reset it)
#   noconfirm           power off without confirming
#   panic               crash the kernel (sysrq c)
# Before that, a script left by the test on the data partition,
# sftest/once.sh, is run once (sourced: it may set action=), then renamed
# to once.sh.done.
# The config goes to /etc/slotflip/slotflip.conf, and the public keys
# given after OUT to /etc/slotflip/keys/ (for `slotflip stage`; a
# repository's key set for `slotflip fetch`). /media is an empty mount
# point (the read-only root has no other) for a test's removable medium.
# Usage: qemu/mkrootfs.sh VERSION CONFIG BINDIR SIZE_MIB OUT.ext4 [KEY.pub...]
set -euo pipefail

[ $# -ge 5 ] || {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
version=$1 config=$2 bindir=$3 size=$4 out=$5
shift 5
busybox=/bin/busybox
[ -x "$busybox" ] && ! readelf -l "$busybox" | grep -q INTERP || {
	echo "mkrootfs: need a static /bin/busybox (package busybox-static)" >&2
	exit 1
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/lib/sftest,etc/slotflip/keys,etc/slotflip/health.d,proc,sys,dev,run,tmp,media}
cp "$busybox" "$dir/bin/busybox"
for c in sh cat echo grep sed mount umount sleep sync poweroff reboot \
	printf ls uname tr timeout; do
	ln -s busybox "$dir/bin/$c"
done
cp "$config" "$dir/etc/slotflip/slotflip.conf"
for key in "$@"; do
	cp "$key" "$dir/etc/slotflip/keys/"
done
if [ -x "$bindir/slotflip" ]; then
	cp "$bindir/slotflip" "$dir/usr/bin/slotflip"
	cp "$(dirname "$0")/../bootctl/slotflip-confirm" "$dir/usr/bin/"
	cat >"$dir/etc/slotflip/health.d/10-system-up" <<'CHECK'
#!/bin/sh
# The test system is healthy when its files and the data partition are there.
[ -r /etc/sftest-version ] && [ -d /run/slotflip/data/slotflip ]
CHECK
	chmod 755 "$dir/etc/slotflip/health.d/10-system-up"
fi
echo "$version" >"$dir/etc/sftest-version"
ln -s usr/lib "$dir/lib"
ln -s /lib/sftest/init "$dir/sbin/init"
cat >"$dir/usr/lib/sftest/init" <<'INIT'
#!/bin/sh
# Test system of the slotflip QEMU scenarios.
export PATH=/bin:/sbin:/usr/bin
word() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1; }
slot=$(word slotflip.slot)
action=$(word sftest.action)
root=$(sed -n 's|^[^ ]* / [^ ]* \(r[ow]\)[, ].*|\1|p' /proc/mounts | tail -n 1)
echo "SFTEST: up slot=$slot version=$(cat /etc/sftest-version) action=${action:-poweroff} root=$root"
# slotflip-init leaves the ESP unmounted (a reset must not find it dirty).
if grep -q ' /run/slotflip/esp ' /proc/mounts; then
	echo "SFTEST: the ESP is mounted"
fi
if [ -x /usr/bin/slotflip ] && [ "$action" != hang ] &&
	[ "$action" != noconfirm ]; then
	if slotflip-confirm; then
		echo "SFTEST: confirmed"
	else
		echo "SFTEST: confirm failed"
	fi
fi
once=/run/slotflip/data/sftest/once.sh
if [ -f "$once" ]; then
	mv "$once" "$once.done" && sync
	echo "SFTEST: running the test's once.sh"
	. "$once.done"
fi
if [ -c /dev/watchdog ] && [ "$action" != hang ]; then
	# slotflip-init left the trial's watchdog running; a healthy system
	# would feed it (a watchdog daemon, systemd): the test one disarms it
	# (open, magic close) so that it can stay up.
	printf V >/dev/watchdog && echo "SFTEST: watchdog disarmed"
fi
# What a real shutdown does: the data partition (under /run, moved there
# by slotflip-init) is unmounted clean.
shutdown_mounts() {
	sync
	umount /run/slotflip/data 2>/dev/null
	sync
}
case $action in
hang)
	echo "SFTEST: watchdog devices: $(ls /dev | grep watchdog | tr '\n' ' ')"
	echo "SFTEST: hanging"
	while :; do sleep 3600; done
	;;
reboot)
	echo "SFTEST: rebooting"
	shutdown_mounts
	reboot -f
	;;
panic)
	echo "SFTEST: panicking"
	sync
	echo c >/proc/sysrq-trigger
	;;
*)
	echo "SFTEST: powering off"
	shutdown_mounts
	poweroff -f
	;;
esac
sync
sleep 3600
INIT
chmod 755 "$dir/usr/lib/sftest/init"
rm -f "$out"
truncate -s "${size}M" "$out"
mkfs.ext4 -q -F -d "$dir" -L "sftest-$version" -U clear -E root_owner=0:0 \
	-T default -b 4096 "$out" "${size}M"
