# A fake firmware and device for slotflip-init --root tests, sourced after
# lib.sh. The device root is ./root: config, efivarfs directory, kernel
# command line, slots as regular files, ESP and data partition as folders.
# Boot entries: 0001 = slot a, 0002 = slot b.
INIT=$SF_BIN/slotflip-init
STATE=$SF_BIN/tool-state-tool
EFIVARS=root/sys/firmware/efi/efivars
GLOBAL=8be4df61-93ca-11d2-aa0d-00e098032b8c
STATE_FILE=$EFIVARS/SlotflipState-3c1e8f6a-52d4-4f7b-9a0e-6d2b71c4e9a5
SLOT_SIZE=$((1024 * 1024))

# efi_set NAME HEXDATA: a global variable (attributes NV+BS+RT).
efi_set() {
	printf '\x07\x00\x00\x00' >"$EFIVARS/$1-$GLOBAL"
	printf "$(echo "$2" | sed 's/../\\x&/g')" >>"$EFIVARS/$1-$GLOBAL"
}

# efi_get_u16 NAME: the value in hex (e.g. 0002), or nothing if absent.
efi_get_u16() {
	local f=$EFIVARS/$1-$GLOBAL
	[ -s "$f" ] || return 0
	od -An -tx1 -j4 -N2 "$f" | awk '{print toupper($2 $1)}'
}

# device_setup [TRIES]: a device running v1.0 in slot a.
device_setup() {
	local tries=${1:-3}
	mkdir -p root/etc/slotflip root/keys "$EFIVARS" root/proc \
		root/data/slotflip root/esp/EFI/slotflip/a \
		root/esp/EFI/slotflip/b root/slots
	"$SF_BIN/slotflip-image" keygen -p root/keys/release.pub \
		-s release.sec >/dev/null
	cat >root/etc/slotflip/slotflip.conf <<CONF
# test device
compatible = test-board
pubkey = /keys/release.pub
tries = $tries
data = /data
data-dir = /data
esp = /esp
esp-dir = /esp
[slot a]
device = /slots/a.img
efi = /EFI/slotflip/a/linux.efi
boot-entry = 0001
[slot b]
device = /slots/b.img
efi = /EFI/slotflip/b/linux.efi
boot-entry = 0002
CONF
	make_version 1.0
	cp rootfs-1.0 root/slots/a.img
	truncate -s $SLOT_SIZE root/slots/a.img
	head -c $SLOT_SIZE /dev/zero | tr '\0' 'O' >root/slots/b.img
	cp efi-1.0 root/esp/EFI/slotflip/a/linux.efi
	efi_set BootOrder 01000200
	fw_boot
}

# make_version V: payloads rootfs-V (text, 600 KiB) and efi-V.
make_version() {
	{ echo "version $1"; seq 1 90000 | sed "s/5/$1/"; } |
		head -c 614400 >"rootfs-$1"
	{ echo "efi $1"; seq 1 3000; } >"efi-$1"
}

# image V OUT [args]: a signed image of version V, for test-board (a later
# --compatible in args wins), signed with release.sec or with $KEY; of
# format $FORMAT when set (default: the writer's, 2).
image() {
	local v=$1 out=$2
	shift 2
	"$SF_BIN/slotflip-image" create --rootfs "rootfs-$v" --efi "efi-$v" \
		--version "$v" --compatible test-board --key "${KEY:-release.sec}" \
		--chunk-size 4096 ${FORMAT:+--format "$FORMAT"} -o "$out" "$@" \
		>/dev/null
}

# chunks IMAGE [PAYLOAD]: the number of chunks of PAYLOAD (rootfs, efi) in
# IMAGE, or of all its payloads.
chunks() {
	"$SF_BIN/slotflip-image" inspect "$1" |
		awk -v p="${2:-}" '$1 == "payload" && (p == "" || $2 == p) {n += $6}
			END {print n + 0}'
}

# apply_counts: "W S" of the last apply in init.out (W chunks written, S
# already right).
apply_counts() {
	sed -n 's/.*read back: \([0-9]*\) chunks written, \([0-9]*\) already right$/\1 \2/p' init.out
}

# fault_total: how many fault points slotflip-init passes in this boot
# (SLOTFLIP_FAULT_AT=0 counts them; the device goes on as after the boot).
fault_total() {
	SLOTFLIP_FAULT_AT=0 "$INIT" --root root >count.out 2>&1 ||
		{ cat count.out >&2; fail "count run failed"; }
	sed -n 's/^fault points passed: //p' count.out
}

# cut_at N: this boot's slotflip-init, the power cut at its fault point N
# (it must exit 99); prints the point's kind.
cut_at() {
	local rc=0 kind
	SLOTFLIP_FAULT_AT=$1 "$INIT" --root root >crash.out 2>&1 || rc=$?
	[ "$rc" = 99 ] || { cat crash.out >&2; fail "cut at point $1: exit $rc, want 99"; }
	kind=$(sed -n "s/^fault injected at point $1 (\(.*\))$/\1/p" crash.out)
	[ -n "$kind" ] || { cat crash.out >&2; fail "point $1 not reported"; }
	echo "$kind"
}

# stage IMAGE: put IMAGE where slotflip-init looks (no checks: that is the
# runtime tool's job, tested in test-slotflip.sh).
stage() { cp "$1" root/data/slotflip/staged.img; }

# stage_version V: payloads, image vV.img and its staging, of version V.
stage_version() {
	make_version "$1"
	image "$1" "v$1.img"
	stage "v$1.img"
}

# fw_boot: what the firmware does at reset: BootNext once, else BootOrder.
fw_boot() {
	local next entry
	next=$(efi_get_u16 BootNext)
	if [ -n "$next" ]; then
		entry=$next
		rm -f "$EFIVARS/BootNext-$GLOBAL"
	else
		entry=$(od -An -tx1 -j4 -N2 "$EFIVARS/BootOrder-$GLOBAL" |
			awk '{print toupper($2 $1)}')
	fi
	efi_set BootCurrent "${entry:2:2}${entry:0:2}"
	case $entry in
	0001) echo "slotflip.slot=a quiet" >root/proc/cmdline ;;
	0002) echo "slotflip.slot=b quiet" >root/proc/cmdline ;;
	esac
	BOOTED=$([ "$entry" = 0001 ] && echo a || echo b)
}

# init: run slotflip-init once; its output in init.out, "next:" in NEXT.
init() {
	local rc=0
	"$INIT" --root root >init.out 2>&1 || rc=$?
	[ "$rc" = 0 ] || { cat init.out; fail "slotflip-init exited $rc"; }
	NEXT=$(grep '^next:' init.out)
}

# boot: firmware boot + initramfs; sets BOOTED and NEXT.
boot() {
	fw_boot
	init
}

# slot_holds SLOT V: slot SLOT's first bytes and EFI binary are version V.
slot_holds() {
	cmp -s -n "$(stat -c %s "rootfs-$2")" "rootfs-$2" "root/slots/$1.img" &&
		cmp -s "efi-$2" "root/esp/EFI/slotflip/$1/linux.efi"
}

# state FIELD: a field of the slotflip state record.
state() { "$STATE" root get "$1"; }

# expect_next WANT: slotflip-init's last decision ("next: ...") is WANT.
expect_next() {
	[ "$NEXT" = "$1" ] || { cat init.out; fail "next is '$NEXT', want '$1'"; }
}

# efi_fingerprint: every EFI variable but BootCurrent (the firmware's):
# names, sizes, mtimes, inodes and contents, so a rewrite with the same
# bytes shows too.
efi_fingerprint() {
	(cd "$EFIVARS" && find . -type f ! -name 'BootCurrent-*' -printf '%p %s %T@ %i\n' |
		sort && cat $(ls | grep -v BootCurrent) | md5sum)
}
