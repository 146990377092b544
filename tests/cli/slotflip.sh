# The runtime tool slotflip --root on the fake device of firmware.sh,
# sourced after lib.sh and firmware.sh by the tests of slotflip.
SLOTFLIP=$SF_BIN/slotflip
CONFIRM=$SF_SRCDIR/bootctl/slotflip-confirm

sf() { "$SLOTFLIP" --root root "$@"; }
json() { sf status --json | jq -r "$1"; }

# A device that booted once (slot a good, version 1.0 recorded) with
# images v1.0, v1.1, v1.2 made.
ready() {
	device_setup "$@"
	boot
	"$STATE" root set a.version=1.0
	for v in 1.1 1.2; do make_version $v; done
	for v in 1.0 1.1 1.2; do image $v v$v.img; done
}

# From `ready`: stage v1.1, apply it, boot slot b on trial.
on_trial() {
	sf stage v1.1.img >stage.out
	boot
	boot
	[ "$BOOTED" = b ] && [ "$NEXT" = "next: boot b" ] || fail "not on trial in b"
}

ESP_GUID=3b9a8e62-4d1c-4f2a-9e3b-7a6c5d4e3f21

# write_disk: root/disk.img, a GPT disk image (data = partition 1, esp =
# partition 2 at LBA 10240, 65536 blocks) and root/etc/slotflip/disk.conf,
# the device config naming the ESP inside it.
write_disk() {
	truncate -s 40M root/disk.img
	sfdisk -q root/disk.img <<D
label: gpt
label-id: 0b3c5d7e-1f2a-4b6c-8d9e-0a1b2c3d4e5f
start=2048, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
start=10240, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_GUID, name=esp
D
	sed -e 's|^esp = .*|esp = PARTLABEL=esp\nesp-disk = /disk.img|' \
		root/etc/slotflip/slotflip.conf >root/etc/slotflip/disk.conf
}

be() { sf --config /etc/slotflip/disk.conf boot-entries "$@"; }
