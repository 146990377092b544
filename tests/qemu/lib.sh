# Harness of the QEMU boot scenarios (tests/qemu/test-*.sh): builds the
# "world" (kernels, initramfs, UKIs, root filesystems, update images) once
# per run in build/qemu/world-FLAVOUR, makes a fresh disk and varstore per
# case, boots OVMF + a real Debian kernel under QEMU (TCG), and reads the
# serial log and the varstore back.
#
# Each case is a function test_NAME, run in build/qemu/cases/NAME (kept
# for inspection: serial logs *.log, the varstore vars.fd); it prints
# "PASS prog/NAME (N s)" or "FAIL ...". QEMU_CASES="a b" runs only those.
# Environment (set by the Makefile): SF_SRCDIR, SF_STATIC_BIN (the static
# programs: slotflip-init, slotflip-image, slotflip, ovmf-vars).
set -u
: "${SF_SRCDIR:?SF_SRCDIR must name the source tree}"
: "${SF_STATIC_BIN:?SF_STATIC_BIN must name the static programs}"
SRC=$SF_SRCDIR
SB=$SF_STATIC_BIN
QDIR=$SB/qemu
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
VARS_TOOL=$SB/ovmf-vars
BOOT_LIMIT=${QEMU_BOOT_LIMIT:-180}
# This run of the test program (what its cases share: applied_machine).
QEMU_RUN="$$.$(date +%s%N)"
. "$SRC/qemu/layout.sh"

fail() {
	echo "  FAILED: $*" >&2
	exit 1
}

skip() {
	echo "  skip reason: $*"
	exit 77
}

# ---- the world -------------------------------------------------------------

# The modules the initramfs loads, per kernel flavour.
MODULES_cloud="virtio_pci virtio_blk vfat nls_cp437 nls_ascii nls_utf8 efivarfs"
MODULES_generic="virtio_pci virtio_blk ext4 vfat nls_cp437 nls_ascii nls_utf8 efivarfs i6300esb"

# world_config TRIES: the device config of the test disk.
world_config() {
	cat <<CONF
compatible = slotflip-qemu
pubkey = /etc/slotflip/keys/release.pub
tries = $1
data = PARTLABEL=data
esp = PARTLABEL=esp
[slot a]
device = PARTLABEL=root-a
efi = /EFI/slotflip/a/linux.efi
boot-entry = 00A0
[slot b]
device = PARTLABEL=root-b
efi = /EFI/slotflip/b/linux.efi
boot-entry = 00B0
CONF
}

# uki OUT SLOT ACTION [INITRD] [EXTRA CMDLINE]
uki() {
	local out=$1 slot=$2 action=$3 initrd=${4:-$W/initrd.cpio.gz}
	"$SRC/initrd/mkuki.sh" -k "$W/kernel/vmlinuz" -i "$initrd" \
		-c "console=ttyS0 panic=1 slotflip.slot=$slot sftest.action=$action ${5:-}" \
		-n "slotflip test $slot" -o "$out" >/dev/null
}

# image OUT VERSION ROOTFS EFI [KEY] [slotflip-image create args]
image() {
	local out=$1 v=$2 rootfs=$3 efi=$4 key=${5:-$W/release.sec}
	shift 5 || shift $#
	"$SB/slotflip-image" create --rootfs "$rootfs" --efi "$efi" \
		--version "$v" --compatible slotflip-qemu --key "$key" \
		--level 1 --chunk-size 65536 -o "$out" "$@" >/dev/null
}

# build_world FLAVOUR TRIES: everything the scenarios boot, in $W.
build_world() {
	local flavour=$1 tries=$2 mods
	W=$QDIR/world-$flavour
	# Rebuilt when a program or a builder it uses changed (slotflip: its
	# listing, kept in done).
	if [ -e "$W/done" ] && [ "$W/done" -nt "$SB/slotflip-init" ] &&
		[ "$W/done" -nt "$SRC/qemu/mkrootfs.sh" ] &&
		[ "$W/done" -nt "$SRC/bootctl/slotflip-confirm" ] &&
		[ "$W/done" -nt "$SRC/initrd/mkinitramfs.sh" ] &&
		[ "$(cat "$W/done")" = "$(ls -l --time-style=+%s "$SB/slotflip" 2>&1)" ]; then
		return 0
	fi
	rm -rf "$W"
	mkdir -p "$W/kernel"
	"$SRC/qemu/fetch-kernel.sh" "$SB" "$flavour" >/dev/null
	cp "$SB/kernel/$flavour/vmlinuz" "$W/kernel/vmlinuz"
	"$SB/slotflip-image" keygen -p "$W/release.pub" -s "$W/release.sec" >/dev/null
	"$SB/slotflip-image" keygen -p "$W/rogue.pub" -s "$W/rogue.sec" >/dev/null
	world_config "$tries" >"$W/slotflip.conf"
	mods=MODULES_$flavour
	"$SRC/initrd/mkinitramfs.sh" -k "$SB/kernel/$flavour" \
		-i "$SB/slotflip-init" -c "$W/slotflip.conf" -p "$W/release.pub" \
		-m "${!mods}" -o "$W/initrd.cpio.gz" >"$W/initrd.txt"
	# An initramfs without /init: the kernel finds no root and panics.
	mkdir -p "$W/empty/etc"
	(cd "$W/empty" && echo etc | cpio --quiet -o -H newc) | gzip >"$W/panic.cpio.gz"
	for v in 0.9 1.0 2.0; do
		"$SRC/qemu/mkrootfs.sh" "$v" "$W/slotflip.conf" "$SB" "$SLOT_MIB" \
			"$W/rootfs-$v.ext4" "$W/release.pub" >/dev/null
	done
	uki "$W/a-1.0.efi" a poweroff
	uki "$W/b-2.0.efi" b poweroff
	# This one mounts B's root read-write (the kernel's "rw").
	uki "$W/b-2.0-noconfirm.efi" b noconfirm "" rw
	uki "$W/b-0.9.efi" b poweroff
	uki "$W/b-2.0-panic.efi" b poweroff "$W/panic.cpio.gz"
	uki "$W/b-2.0-hang.efi" b hang "" slotflip.watchdog=10
	image "$W/img-1.0" 1.0 "$W/rootfs-1.0.ext4" "$W/a-1.0.efi"
	image "$W/img-2.0" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0-noconfirm.efi"
	image "$W/img-2.0-delta" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0-noconfirm.efi" "" \
		--delta-from "$W/img-1.0"
	image "$W/img-2.0-confirm" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0.efi"
	image "$W/img-2.0-rogue" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0.efi" "$W/rogue.sec"
	image "$W/img-0.9" 0.9 "$W/rootfs-0.9.ext4" "$W/b-0.9.efi"
	image "$W/img-2.0-panic" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0-panic.efi"
	image "$W/img-2.0-hang" 2.0 "$W/rootfs-2.0.ext4" "$W/b-2.0-hang.efi"
	# A device that fetches from an update repository on a second disk
	# (file://): the repository's key set 1 (keys/1 never changes; each
	# case adds the images to a copy, with fresh timestamps), and a 1.0
	# root whose config has the [server] section, with its full image.
	"$SB/slotflip-image" keygen -p "$W/repo.pub" -s "$W/repo.sec" >/dev/null
	"$SB/slotflip-image" repo init "$W/repo-empty" --product slotflip-qemu \
		--compatible slotflip-qemu --key "$W/repo.sec" >/dev/null
	cp "$W/repo-empty/keys/1" "$W/repo-keys"
	{
		world_config "$tries"
		printf '%s\n' "[server]" "url = file:///media" "product = slotflip-qemu" \
			"channel = stable" "repo-keys = /etc/slotflip/keys/repo-keys" \
			"allow-file = yes"
	} >"$W/slotflip-fetch.conf"
	"$SRC/qemu/mkrootfs.sh" 1.0 "$W/slotflip-fetch.conf" "$SB" "$SLOT_MIB" \
		"$W/rootfs-1.0-fetch.ext4" "$W/release.pub" "$W/repo-keys" >/dev/null
	image "$W/img-1.0-fetch" 1.0 "$W/rootfs-1.0-fetch.ext4" "$W/a-1.0.efi"
	ls -l --time-style=+%s "$SB/slotflip" >"$W/done" 2>&1 || true
}

# ---- a machine -------------------------------------------------------------

# vars_entries: slot a's and slot b's boot entries (Boot00A0, Boot00B0)
# in vars.fd, BootOrder a then b.
vars_entries() {
	for s in a:00A0 b:00B0; do
		"$VARS_TOOL" vars.fd boot-entry "${s#*:}" "slotflip ${s%:*}" 1 \
			"$ESP_START" "$ESP_SECTORS" "$ESP_GUID" \
			"\\EFI\\slotflip\\${s%:*}\\linux.efi"
	done
	"$VARS_TOOL" vars.fd set-boot-order 00A0,00B0
}

# machine [STAGED_IMAGE]: disk.img (A = 1.0, B empty, the image staged on
# the data partition) and vars.fd (boot entries 00A0 = a, 00B0 = b:
# numbers OVMF does not take for its own entries; BootOrder 00A0,00B0) in
# the current directory.
# A case may define machine_data to add files to the data partition, and
# set NO_ENTRIES=1 for a varstore without slotflip's boot entries,
# ROOTFS_A to put another root filesystem image into slot A, and UKI_A
# for another UKI of A.
machine() {
	rm -rf data && mkdir -p data/slotflip
	[ -z "${1:-}" ] || cp "$1" data/slotflip/staged.img
	if declare -F machine_data >/dev/null; then machine_data; fi
	"$SRC/qemu/mkdisk.sh" -a "${UKI_A:-$W/a-1.0.efi}" -r "${ROOTFS_A:-$W/rootfs-1.0.ext4}" \
		-d data -o disk.img
	cp "$OVMF_VARS" vars.fd
	BOOTS=0
	[ -z "${NO_ENTRIES:-}" ] || return 0
	vars_entries
}

# applied_machine NAME MACHINE...: run MACHINE... (machine IMAGE, or a
# test file's own), write the state "a good, 1.0" and boot once (with
# $APPLY_BOOT, default boot): A's
# initramfs applies the staged image and arms B's trial (asserted). The
# first case of a run that asks for NAME boots; the later ones of the
# same run start from a copy of its disk, varstore and boot1.log (the
# bytes that boot left). A case that needs other files on the data
# partition puts them there afterwards (data_put).
applied_machine() {
	local keep=$QDIR/applied/$1
	shift
	if [ "$(cat "$keep/run" 2>/dev/null)" = "$QEMU_RUN" ]; then
		cp --sparse=always "$keep/disk.img" "$keep/vars.fd" "$keep/boot1.log" .
		BOOTS=1 LOG=boot1.log
		echo "  boot 1: the applied machine of this run, copied" >&2
		return 0
	fi
	"$@"
	vars state-init a 1.0
	${APPLY_BOOT:-boot}
	log_has "version 2.0 written to slot b; trial armed with 2 tries"
	log_has "rebooting into slot b"
	expect_state trial b
	rm -rf "$keep" && mkdir -p "$keep"
	cp --sparse=always disk.img vars.fd boot1.log "$keep/"
	echo "$QEMU_RUN" >"$keep/run"
}

# data_put FILE PATH: write FILE to PATH on the data partition of disk.img
# (offline, between two boots; PATH's directory must exist).
data_put() {
	dd if=disk.img of=data.ext4 bs=512 skip="$DATA_START" \
		count=$((DATA_MIB * 2048)) status=none
	debugfs -w -R "rm $2" data.ext4 >/dev/null 2>&1 || true
	debugfs -w -R "write $1 $2" data.ext4 >/dev/null 2>&1
	debugfs -R "cat $2" data.ext4 2>/dev/null | cmp -s - "$1" ||
		fail "cannot write $2 on the data partition"
	dd if=data.ext4 of=disk.img bs=512 seek="$DATA_START" conv=notrunc \
		status=none
	rm -f data.ext4
}

vars() { "$VARS_TOOL" vars.fd "$@"; }
state() { "$VARS_TOOL" vars.fd state "$1"; }

# expect_state FIELD VALUE
expect_state() {
	local got
	got=$(state "$1") || fail "no slotflip state in the varstore"
	[ "$got" = "$2" ] || fail "state $1 is '$got', want '$2'"
}

qemu_cmd() {
	QEMU=(qemu-system-x86_64 -accel tcg -m 256 -display none -monitor none
		-net none -no-user-config
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
		-drive "if=pflash,format=raw,unit=1,file=vars.fd"
		-drive "file=disk.img,format=raw,if=virtio")
}

# strip RAW OUT: the serial log without ANSI escapes and CRs.
strip_log() {
	sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g; s/\x1b[()][0-9A-Za-z]//g; s/\r//g' "$1" >"$2"
}

# boot [QEMU ARGS]: one boot, one QEMU process with -no-reboot (a reset or
# power-off ends it). The log is bootN.log; LOG names it; returns QEMU's rc.
boot() {
	local rc=0 t0=$SECONDS
	BOOTS=$((BOOTS + 1))
	LOG=boot$BOOTS.log
	qemu_cmd
	timeout -s KILL "$BOOT_LIMIT" "${QEMU[@]}" -no-reboot \
		-serial "file:boot$BOOTS.raw" "$@" || rc=$?
	strip_log "boot$BOOTS.raw" "$LOG"
	echo "  boot $BOOTS: $((SECONDS - t0)) s, rc $rc" >&2
	[ $rc != 137 ] || fail "boot $BOOTS did not end within $BOOT_LIMIT s (see $PWD/$LOG)"
	return $rc
}

# boot_rebooting [QEMU ARGS]: one QEMU process that follows every guest
# reset (the firmware's real reset path) until the guest powers off.
boot_rebooting() {
	local rc=0 t0=$SECONDS
	BOOTS=$((BOOTS + 1))
	LOG=boot$BOOTS.log
	qemu_cmd
	timeout -s KILL "$BOOT_LIMIT" "${QEMU[@]}" \
		-serial "file:boot$BOOTS.raw" "$@" || rc=$?
	strip_log "boot$BOOTS.raw" "$LOG"
	echo "  run $BOOTS (resets inside): $((SECONDS - t0)) s, rc $rc" >&2
	[ $rc != 137 ] || fail "run $BOOTS did not end within $BOOT_LIMIT s (see $PWD/$LOG)"
	return $rc
}

# count PATTERN: how many lines of the last log match.
count() { grep -Ec -- "$1" "$LOG" || true; }

# boot_until PATTERN: boot, and cut the power (SIGKILL to QEMU) as soon as
# the serial log shows PATTERN. Fails if the boot ends before.
boot_until() {
	local pat=$1 pid t0=$SECONDS
	BOOTS=$((BOOTS + 1))
	LOG=boot$BOOTS.log
	qemu_cmd
	rm -f qemu.pid
	timeout -s KILL "$BOOT_LIMIT" "${QEMU[@]}" -no-reboot -pidfile qemu.pid \
		-serial "file:boot$BOOTS.raw" &
	local waiter=$!
	while kill -0 $waiter 2>/dev/null; do
		if grep -qa -- "$pat" "boot$BOOTS.raw" 2>/dev/null; then
			pid=$(cat qemu.pid)
			kill -KILL "$pid"
			wait $waiter 2>/dev/null || true
			strip_log "boot$BOOTS.raw" "$LOG"
			echo "  boot $BOOTS: power cut at '$pat' after $((SECONDS - t0)) s" >&2
			return 0
		fi
		sleep 0.05
	done
	wait $waiter || true
	strip_log "boot$BOOTS.raw" "$LOG"
	fail "boot $BOOTS ended before '$pat' showed (see $PWD/$LOG)"
}

# partition_file START SECTORS PATH: a file of the ext4 file system that
# starts at sector START of disk.img, on stdout (debugfs, no mount).
partition_file() {
	dd if=disk.img of=part.ext4 bs=512 skip="$1" count="$2" status=none
	debugfs -R "cat $3" part.ext4 2>/dev/null
	rm -f part.ext4
}

# log_has PATTERN [LOG]: grep -E in the stripped log of the last boot.
log_has() {
	grep -Eq -- "$1" "${2:-$LOG}" || fail "$PWD/${2:-$LOG} does not show '$1'"
}
log_lacks() {
	! grep -Eq -- "$1" "${2:-$LOG}" || fail "$PWD/${2:-$LOG} shows '$1'"
}

# The names of the variables slotflip writes (its boot entries: 00A0, 00B0).
OUR_VARS='(SlotflipState|BootNext|BootOrder|Boot00A0|Boot00B0)'

# The slotflip-owned variables, with their data (for "nothing written").
# Fails unless the dump works and holds the state record, so two broken
# dumps never compare equal.
our_vars() {
	local dump
	dump=$(vars dump) || fail "ovmf-vars dump failed"
	grep -q '^SlotflipState-' <<<"$dump" || fail "no slotflip state in the varstore"
	grep -E "^$OUR_VARS-" <<<"$dump"
}

# expect_absent NAME: the global variable NAME is not in the varstore
# (ovmf-vars exits 3; 0 is a value, anything else an error).
expect_absent() {
	local rc=0 got
	got=$(vars get "$1" 2>get.err) || rc=$?
	case $rc in
	3) ;;
	0) fail "$1 is set ($got)" ;;
	*) fail "cannot read $1 from the varstore: ovmf-vars exited $rc: $(cat get.err)" ;;
	esac
}

# ---- running the cases -----------------------------------------------------

run_qemu_cases() {
	local prog t rc dir t0
	prog=$(basename "$0" .sh)
	if ! [ -r "$OVMF_CODE" ] || ! command -v qemu-system-x86_64 >/dev/null; then
		echo "qemu-system-x86 or ovmf missing: run scripts/install-deps.sh" >&2
		for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
			echo "FAIL $prog/${t#test_} (no QEMU/OVMF)"
		done
		return 1
	fi
	for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
		if [ -n "${QEMU_CASES:-}" ] && ! [[ " $QEMU_CASES " == *" ${t#test_} "* ]]; then
			continue
		fi
		dir=$QDIR/cases/${t#test_}
		rm -rf "$dir" && mkdir -p "$dir"
		t0=$SECONDS
		(cd "$dir" && set -e && "$t") >"$dir/case.out" 2>&1
		rc=$?
		sed 's/^/  /' "$dir/case.out" >&2
		case $rc in
		0) echo "PASS $prog/${t#test_} ($((SECONDS - t0)) s)" ;;
		77) grep -h 'skip reason:' "$dir/case.out"; echo "SKIP $prog/${t#test_}" ;;
		*) echo "FAIL $prog/${t#test_} (exit $rc, $((SECONDS - t0)) s, logs in $dir)" ;;
		esac
	done
}
