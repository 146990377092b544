#!/bin/bash
# Boot scenarios on a stock Debian 12 systemd root (qemu/mkdebian.sh),
# generic kernel (i6300esb watchdog), tries = 2. The guest reports through
# a test agent (a oneshot unit after multi-user.target, writing "SFTEST:"
# lines to /dev/ttyS0, whose serial getty is masked): it runs the data
# partition's sftest/agent.sh when there is one (a case writes it), else
# reports and powers off. The varstore is read from the host between boots.
SLOT_MIB=320
DATA_MIB=96
export SLOT_MIB DATA_MIB
. "$(dirname "$0")/lib.sh"

DEB_WATCHDOG=10 # slotflip.watchdog= of the trial UKIs
DEB_DEADLINE=120 # trial-deadline of the guest's config
# A systemd boot under TCG takes 30-45 s; a trial waits for checks.
BOOT_LIMIT=${QEMU_BOOT_LIMIT:-420}

# The agent: the unit, its script, the masked serial getty.
debian_overlay() {
	local o=$1
	mkdir -p "$o/etc/systemd/system/multi-user.target.wants" "$o/usr/local/sbin"
	cat >"$o/etc/systemd/system/sftest.service" <<'UNIT'
[Unit]
Description=slotflip QEMU test agent
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/sftest-agent
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy=multi-user.target
UNIT
	ln -s ../sftest.service "$o/etc/systemd/system/multi-user.target.wants/sftest.service"
	ln -s /dev/null "$o/etc/systemd/system/serial-getty@ttyS0.service"
	# The journal on the serial console too (what slotflip's units say).
	mkdir -p "$o/etc/systemd/journald.conf.d"
	printf '%s\n' '[Journal]' ForwardToConsole=yes TTYPath=/dev/ttyS0 \
		MaxLevelConsole=info >"$o/etc/systemd/journald.conf.d/sftest.conf"
	cat >"$o/usr/local/sbin/sftest-agent" <<'AGENT'
#!/bin/sh
# slotflip's QEMU test agent (tests/qemu/test-debian.sh).
say() { echo "SFTEST: $*"; }
slot=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^slotflip.slot=//p' | tail -n 1)
# report: what a test asserts on, one line each.
report() {
	say "up slot=$slot version=$(cat /etc/slotflip/version)"
	say "multi-user.target $(systemctl is-active multi-user.target)"
	say "failed units: [$(systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')]"
	say "root options $(findmnt -no OPTIONS /)"
	say "cmdline $(cat /proc/cmdline)"
}
# wait_unit UNIT SECONDS: until UNIT is active or failed.
wait_unit() {
	i=0
	while [ $i -lt "$2" ]; do
		case $(systemctl is-active "$1") in
		active | failed) break ;;
		esac
		sleep 1
		i=$((i + 1))
	done
	say "$1 $(systemctl is-active "$1") after $i s"
}
if [ -f /run/slotflip/data/sftest/agent.sh ]; then
	. /run/slotflip/data/sftest/agent.sh
else
	report
	say "powering off"
	systemctl poweroff
fi
AGENT
	chmod 755 "$o/usr/local/sbin/sftest-agent"
	# A gate of boot-complete.target, and a health check: each runs the
	# data partition's sftest/gate.sh, sftest/health.sh when a case left
	# one (else passes).
	mkdir -p "$o/etc/systemd/system/boot-complete.target.requires" \
		"$o/etc/slotflip/health.d"
	cat >"$o/etc/systemd/system/sftest-gate.service" <<'UNIT'
[Unit]
Description=slotflip QEMU test gate of boot-complete.target
Before=boot-complete.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c '[ ! -f /run/slotflip/data/sftest/gate.sh ] || . /run/slotflip/data/sftest/gate.sh'

[Install]
RequiredBy=boot-complete.target
UNIT
	ln -s ../sftest-gate.service \
		"$o/etc/systemd/system/boot-complete.target.requires/sftest-gate.service"
	printf '%s\n' '#!/bin/sh' \
		'[ ! -f /run/slotflip/data/sftest/health.sh ] || . /run/slotflip/data/sftest/health.sh' \
		>"$o/etc/slotflip/health.d/50-sftest"
	chmod 755 "$o/etc/slotflip/health.d/50-sftest"
}

# deb_uki OUT SLOT VERSION [EXTRA CMDLINE]: with VERSION's initramfs.
# no_timer_check: on a loaded host the kernel's check of the IO-APIC
# timer under TCG can fail and panic ("IO-APIC + timer doesn't work!").
deb_uki() {
	"$SRC/initrd/mkuki.sh" -k "$W/kernel/vmlinuz" -i "$W/initrd-$3.cpio.gz" \
		-c "console=ttyS0 panic=1 no_timer_check rw slotflip.slot=$2 ${4:-}" \
		-n "slotflip debian $2" -o "$1" >/dev/null
}

# build_debian_world: kernel, initramfs, UKIs, the Debian roots 1.0 and
# 2.0 (qemu/mkdebian.sh, cached in build/debian), the update images;
# checked (about 15 s even when up to date) by the first case of a run
# only (world-debian/run names the run).
build_debian_world() {
	local t0=$SECONDS stamp
	[ "$(id -u)" = 0 ] ||
		skip "qemu/mkdebian.sh must run as root (it unpacks a Debian root with its owners and device nodes)"
	W=$QDIR/world-debian
	[ "$(cat "$W/run" 2>/dev/null)" != "$QEMU_RUN" ] || return 0
	mkdir -p "$W"
	"$SRC/qemu/fetch-kernel.sh" "$SB" generic >/dev/null
	# The keys stay from one run to the next (mkdebian's cache).
	if ! [ -s "$W/release.sec" ]; then
		"$SB/slotflip-image" keygen -p "$W/release.pub" -s "$W/release.sec" >/dev/null
	fi
	rm -rf "$W.new" && mkdir -p "$W.new/kernel"
	cp "$SB/kernel/generic/vmlinuz" "$W.new/kernel/vmlinuz"
	cp "$W/release.pub" "$W/release.sec" "$W.new/"
	world_config 2 >"$W.new/slotflip.conf"
	sed -i "/^tries/a trial-deadline = $DEB_DEADLINE" "$W.new/slotflip.conf"
	debian_overlay "$W.new/overlay"
	# The roots first (each about 4 s when up to date): the world is made
	# again when they, a program, a builder, or how this file makes the
	# world changed.
	for v in 1.0 2.0; do
		"$SRC/qemu/mkdebian.sh" -k "$SB/kernel/generic" -c "$W.new/slotflip.conf" \
			-p "$W.new/release.pub" -s "$SLOT_MIB" -v "$v" \
			-x "$W.new/overlay" -C "$SB/debian" \
			-o "$SB/debian/slotflip-test-$v.ext4" >&2 || fail "mkdebian failed"
	done
	stamp=$({
		cat "$SB/slotflip-init" "$SB/slotflip-image" "$SB/slotflip" \
			"$SB"/debian/slotflip-test-*.ext4.stamp "$SRC"/initrd/*.sh \
			"$SB/kernel/generic/version"
		declare -f deb_uki build_debian_world image
		echo "$DEB_WATCHDOG $DEB_DEADLINE $SLOT_MIB $MODULES_generic"
	} | sha256sum)
	if [ -s "$W/done" ] && [ "$(cat "$W/done")" = "$stamp" ]; then
		rm -rf "$W.new"
		echo "$QEMU_RUN" >"$W/run"
		return 0
	fi
	W=$W.new
	# Each version's UKI carries its own version (the offline rollback
	# check): one initramfs for 1.0, one for 2.0.
	for v in 1.0 2.0; do
		"$SRC/initrd/mkinitramfs.sh" -k "$SB/kernel/generic" \
			-i "$SB/slotflip-init" -c "$W/slotflip.conf" \
			-p "$W/release.pub" -m "$MODULES_generic" -v "$v" \
			-o "$W/initrd-$v.cpio.gz" >"$W/initrd-$v.txt"
	done
	deb_uki "$W/a.efi" a 1.0
	deb_uki "$W/b.efi" b 2.0 "slotflip.watchdog=$DEB_WATCHDOG"
	image "$W/img-1.0" 1.0 "$SB/debian/slotflip-test-1.0.ext4" "$W/a.efi"
	# A format 1 delta (patch chunks): the stock root runs read-write,
	# and slot a changes (free space, inode times) under ranges that a
	# format 2 delta's reference chunks need; a spare that still holds
	# the base serves a patch chunk's own blocks only (docs/FORMAT.md,
	# "Reference chunks").
	image "$W/img-2.0" 2.0 "$SB/debian/slotflip-test-2.0.ext4" "$W/b.efi" "" \
		--delta-from "$W/img-1.0" --format 1 --codec zlib
	echo "$stamp" >"$W/done"
	rm -rf "$QDIR/world-debian" && mv "$W" "$QDIR/world-debian"
	W=$QDIR/world-debian
	echo "$QEMU_RUN" >"$W/run"
	echo "  world: $((SECONDS - t0)) s" >&2
}

# deb_machine: disk.img with Debian 1.0 in both slots (a factory install:
# the delta's base is in the spare), the data partition from ./data (a
# case fills it first), vars.fd with the entries and state (a good, 1.0).
deb_machine() {
	mkdir -p data/slotflip
	"$SRC/qemu/mkdisk.sh" -a "$W/a.efi" -b "$W/b.efi" \
		-r "$SB/debian/slotflip-test-1.0.ext4" \
		-s "$SB/debian/slotflip-test-1.0.ext4" -d data -o disk.img
	cp "$OVMF_VARS" vars.fd
	BOOTS=0
	vars_entries
	vars state-init a 1.0
}

# agent SCRIPT: the guest's agent runs SCRIPT (sourced) at every boot.
agent() {
	mkdir -p data/sftest
	printf '%s\n' "$1" >data/sftest/agent.sh
}

deb_boot() { boot -m 1024 -device i6300esb -action watchdog=reset "$@"; }

# deb_staged_machine: deb_machine with 2.0 staged by the host.
deb_staged_machine() {
	mkdir -p data/slotflip
	cp "$W/img-2.0" data/slotflip/staged.img
	deb_machine
}

# deb_apply: boot 1 (A's initramfs applies 2.0 and reboots into B).
deb_apply() {
	deb_boot
	log_has "version 2.0 written to slot b; trial armed with 2 tries"
	log_has "rebooting into slot b"
	expect_state trial b
}

# deb_trial_machine: B on trial with 2.0 (deb_staged_machine, then boot 1
# applies it; cases of one run share that boot: applied_machine), the
# agent with nothing to do.
deb_trial_machine() {
	agent 'say "agent: nothing to do"'
	APPLY_BOOT=deb_boot applied_machine debian-2.0 deb_staged_machine
}

# deb_fell_back REASON: the trial was marked bad with REASON and the
# next boot is A's (cut once A's initramfs chose to boot it).
deb_fell_back() {
	expect_state b.status failed
	expect_state good a
	expect_state trial none
	expect_state result trial-failed
	state reason | grep -Eq -- "$1" || fail "reason: $(state reason)"
	echo "  reason: $(state reason)" >&2
	boot_until "switching root to slot a"
	log_has "slotflip-init: booted slot a"
}

# (a) A stock root, its init the /sbin/init link, no slotflip.init=:
# systemd reaches multi-user.target, no unit failed, the root is mounted
# read-write as the command line's "rw" says. (b) In it (A), `slotflip
# stage` takes 2.0; the next boot applies it; B boots as the trial,
# confirms, and stays up with its watchdog running (fed by systemd,
# RuntimeWatchdogSec=30s) past twice that timeout; efibootmgr in B lists
# both entries with their paths; B is good. (e) B's health check is
# slower than both watchdog timeouts (10 s armed by slotflip-init, 30 s
# systemd's) but within its 300 s: the trial confirms and is not reset.
test_stock_root_stage_apply_confirm() {
	build_debian_world
	mkdir -p data/incoming data/sftest
	cp "$W/img-2.0" data/incoming/v2.img
	# The slow check in the trial only (the good slot runs the checks too).
	echo 'if grep -q slotflip.slot=b /proc/cmdline; then
	echo "SFTEST: health check sleeps 35 s" >/dev/ttyS0
	sleep 35
	echo "SFTEST: health check done" >/dev/ttyS0
fi' >data/sftest/health.sh
	agent 'if [ "$slot" = a ]; then
	report
	slotflip stage /run/slotflip/data/incoming/v2.img && say "staged"
	say "rebooting"
	systemctl reboot
else
	wait_unit slotflip-confirm.service 250
	report
	slotflip status | sed "s/^/SFTEST: status: /"
	efibootmgr -v | sed "s/^/SFTEST: efibootmgr: /"
	# Up past twice the watchdog timeout of systemd (30 s), however fast the
	# boot was: a reset would end it before the power-off.
	while [ "$(cut -d. -f1 /proc/uptime)" -lt 70 ]; do sleep 1; done
	say "uptime $(cut -d. -f1 /proc/uptime) s"
	say "powering off"
	systemctl poweroff
fi'
	deb_machine
	deb_boot
	log_has "slotflip-init: booted slot a; nothing staged"
	log_has "SFTEST: up slot=a version=1.0"
	log_lacks "SFTEST: health check sleeps"
	log_has "SFTEST: multi-user.target active"
	log_has "SFTEST: failed units: \[\]"
	log_has "SFTEST: root options rw[,]"
	log_lacks "slotflip.init="
	log_has "SFTEST: staged"
	log_has "SFTEST: rebooting"
	deb_apply
	deb_boot
	log_has "slotflip-init: booted slot b; trial boot"
	log_has "watchdog armed: $DEB_WATCHDOG s"
	log_has "trial deadline: $DEB_DEADLINE s"
	log_has "systemd\[1\]: Using hardware watchdog"
	log_has "SFTEST: up slot=b version=2.0"
	log_has "SFTEST: health check sleeps 35 s"
	log_has "SFTEST: health check done"
	log_has "SFTEST: slotflip-confirm.service active"
	log_has "SFTEST: failed units: \[\]"
	log_has 'SFTEST: efibootmgr: Boot00A0\* slotflip a[[:space:]]+HD\(1,GPT,5f1e0000-0000-4000-8000-000000000001,0x800,0x32000\)/File\(\\EFI\\slotflip\\a\\linux.efi\)'
	log_has 'SFTEST: efibootmgr: Boot00B0\* slotflip b[[:space:]]+HD\(1,GPT,5f1e0000-0000-4000-8000-000000000001,0x800,0x32000\)/File\(\\EFI\\slotflip\\b\\linux.efi\)'
	log_has "SFTEST: efibootmgr: BootOrder: 00B0,00A0"
	log_has "SFTEST: powering off"
	log_has "reboot: Power down"
	up=$(sed -n 's/^SFTEST: uptime \([0-9]*\) s$/\1/p' "$LOG")
	[ "${up:-0}" -ge 60 ] || fail "B was up $up s, want at least 2 x 30 s"
	echo "  B stayed up $up s, watchdog fed" >&2
	expect_state good b
	expect_state b.status good
	expect_state trial none
	expect_state result confirmed
}

# (c) A unit RequiredBy=boot-complete.target fails in the trial: the
# confirm job fails, its OnFailure= marks B bad and reboots; A boots.
test_failed_gate_falls_back() {
	build_debian_world
	deb_trial_machine
	echo 'echo "SFTEST: gate fails"; exit 1' >gate.sh
	data_put gate.sh /sftest/gate.sh
	deb_boot
	log_has "SFTEST: gate fails"
	log_has "slotflip-confirm: boot not complete: sftest-gate.service failed"
	log_has "slotflip-confirm: rebooting into the good slot"
	deb_fell_back "marked bad: boot not complete: sftest-gate.service failed"
}

# (d) A unit ordered before boot-complete.target never finishes: the
# trial's deadline (trial-deadline = 120) fails the confirm job, B is
# marked bad, A boots.
test_hung_gate_deadline_falls_back() {
	build_debian_world
	deb_trial_machine
	echo 'echo "SFTEST: gate hangs"; exec sleep infinity' >gate.sh
	data_put gate.sh /sftest/gate.sh
	deb_boot
	log_has "SFTEST: gate hangs"
	log_has "slotflip-confirm: trial deadline passed"
	log_has "slotflip-confirm: rebooting into the good slot"
	deb_fell_back "marked bad: trial deadline passed \(up [0-9]+ s; waiting: .*sftest-gate.service"
}

run_qemu_cases
