#!/bin/bash
# `make demo`: slotflip's update cycle on a real firmware (OVMF), a real
# Debian kernel and real reboots under QEMU, narrated. The same steps and
# checks as the QEMU scenario 1 (tests/qemu/cycle.sh): a device on slot A
# (v1.0) stages v2.0, reboots, applies it to slot B, boots B as a trial,
# confirms it, and B stays. The serial console of each boot is shown as it
# comes (the firmware's choice, slotflip-init's lines, the test system's),
# and the varstore is read from outside after each boot.
# Needs the programs of `make` (the Makefile's demo target builds them) and
# QEMU/OVMF (scripts/install-deps.sh); fetches a Debian kernel package into
# build/kernel/ the first time. Files stay in build/demo/.
# Exit status: 0 the cycle happened as told, 1 it did not (the message
# names the step and the serial log to read).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export SF_SRCDIR=$top SF_STATIC_BIN=$top/build
. "$top/tests/qemu/lib.sh"
. "$top/tests/qemu/cycle.sh"
IMG=$SB/slotflip-image
t_start=$SECONDS

for p in slotflip-image slotflip-init slotflip ovmf-vars; do
	[ -x "$SB/$p" ] || {
		echo "demo: $SB/$p is missing: run 'make demo' (it builds first)" >&2
		exit 1
	}
done
[ -r "$OVMF_CODE" ] && command -v qemu-system-x86_64 >/dev/null || {
	echo "demo: QEMU or OVMF missing: run scripts/install-deps.sh as root" >&2
	exit 1
}

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { printf '%s\n' "$*" | fold -s -w 76; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

# ---- the serial console, as it comes ---------------------------------------

# pick LOG: the lines a reader cares about: which boot entry the firmware
# starts, and after the kernel runs /init, everything but kernel messages
# (progress bars: their last state).
pick() {
	awk '/Run \/init as init process/ { u = 1; next }
		/^BdsDxe: starting/ { print; next }
		u && NF && !/^\[ *[0-9]+\.[0-9]+\]/' "$1" |
		sed -E 's/^.*((copying|verifying) +\[)/\1/'
}

# follow RAW: prints the picked lines of a growing serial log (complete
# lines only), and their count in follow.n.
follow() {
	local n=0 lines
	echo 0 >follow.n
	while :; do
		if [ -s "$1" ]; then
			strip_log "$1" follow.txt
			sed -i '$d' follow.txt
			pick follow.txt >follow.pick
			lines=$(wc -l <follow.pick)
			if [ "$lines" -gt "$n" ]; then
				tail -n +$((n + 1)) follow.pick | head -n $((lines - n)) |
					sed 's/^/   | /'
				n=$lines
				echo "$n" >follow.n
			fi
		fi
		sleep 0.3
	done
}

before_boot() {
	echo "   serial console of boot $((BOOTS + 1)) (QEMU, TCG: about 10 s):"
	follow "boot$((BOOTS + 1)).raw" &
	FOLLOWER=$!
}

stop_follower() {
	[ -z "${FOLLOWER:-}" ] || kill "$FOLLOWER" 2>/dev/null || true
	[ -z "${FOLLOWER:-}" ] || wait "$FOLLOWER" 2>/dev/null || true
	FOLLOWER=
}
trap stop_follower EXIT

after_boot() {
	stop_follower
	pick "$LOG" | tail -n +$(($(cat follow.n) + 1)) | sed 's/^/   | /'
}

show_state() {
	local next
	next=$(vars get-u16 BootNext 2>/dev/null) || next=none
	echo "   varstore after boot $BOOTS (read with build/ovmf-vars):" \
		"good slot $(state good), trial $(state trial)," \
		"tries left $(state tries), BootNext $next," \
		"BootOrder $(vars boot-order | cut -d, -f1-2),..."
	echo "   checked: the serial log and the varstore show what was told."
}

narrate() {
	bold "== Boot $1 of 4"
	shift
	say "$*"
}

# ---- the demo ----------------------------------------------------------------

bold "slotflip: A/B updates with trial boots, on OVMF + a Debian kernel in QEMU"
say "A device has two root slots, A and B, an EFI system partition and a \
data partition. It runs slot A, version 1.0, and gets version 2.0."

bold "== The build server's side: a signed update image"
say "Preparing the test world (once, cached in build/qemu/world-cloud): \
a Debian 12 cloud kernel (downloaded the first time), an initramfs with \
the static slotflip-init as /init, one signed kernel+initramfs EFI file \
(UKI) per slot, root filesystems v1.0 and v2.0 (busybox + slotflip), and \
update images signed with a release key."
t0=$SECONDS
build_world cloud 2
echo "   ready in $((SECONDS - t0)) s; $(cut -d' ' -f2- "$W/initrd.txt")"
run "$IMG" inspect "$W/img-2.0-confirm" | head -n 12
say "Checked against the release key (signature, then every chunk):"
run "$IMG" verify "$W/img-2.0-confirm" --pubkey "$W/release.pub"
say "A copy with one byte changed in its data is refused:"
rm -rf "$top/build/demo" && mkdir -p "$top/build/demo" && cd "$top/build/demo"
cp "$W/img-2.0-confirm" tampered.img
printf 'X' | dd of=tampered.img bs=1 conv=notrunc status=none \
	seek=$(($(stat -c %s tampered.img) - 5000))
if run "$IMG" verify tampered.img --pubkey "$W/release.pub"; then
	fail "a tampered image was accepted"
fi
echo "(refused, as it must be)"

bold "== The device: a GPT disk (ESP, root-a = v1.0, root-b empty, data) and OVMF's varstore"
say "The firmware has boot entries Boot00A0 (slot A's UKI) and Boot00B0 \
(slot B's), BootOrder A first; slotflip's state (an EFI variable) says A \
is good with version 1.0. The update image waits in data/incoming/."
update_cycle

bold "== Done in $((SECONDS - t_start)) s"
say "Slot B (version 2.0) is the good slot and boots by default; slot A \
(version 1.0) is kept as the fallback. The final \`slotflip status\`, run \
in B:"
sed 's/^/   /' status4.txt
say "Serial logs (boot1.log ... boot4.log), the disk and the varstore are \
in build/demo/."
