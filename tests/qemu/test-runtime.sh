#!/bin/bash
# Scenarios that need the runtime tool (build/slotflip) inside the test
# systems: the full update cycle (1), boot entries made by the product
# itself on a machine booted through the fallback path (7), and an update
# fetched as a delta from a repository on offline media (8). `make
# qemu-check` builds build/slotflip; without it these cases fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cycle.sh"

need_slotflip() {
	[ -x "$SB/slotflip" ] || fail "no $SB/slotflip (the runtime tool): these scenarios run it inside the test systems (make qemu-check builds it)"
}

# Scenario 1 (tests/qemu/cycle.sh, the path `make demo` shows): in A,
# `slotflip stage` takes v2.0; the next boot applies it, B boots as the
# trial and confirms (slotflip-confirm: a health check, then `slotflip
# mark-good`): B is good, the floor is 2.0, BootOrder starts with B,
# `slotflip status` in B says so, and the next plain boot is B's, with no
# EFI variable of slotflip's written.
test_stage_apply_trial_confirm() {
	need_slotflip
	build_world cloud 2
	update_cycle
}

# Scenario 7: no boot entries of ours: the firmware boots the fallback
# \EFI\BOOT\BOOTX64.EFI (A's UKI); `slotflip boot-entries install` in A
# creates Boot00A0/Boot00B0 with the bytes the harness' own encoder makes,
# and the next boot goes through Boot00A0.
test_boot_entries_install_from_fallback_path() {
	need_slotflip
	build_world cloud 2
	machine_data() {
		mkdir -p data/sftest
		echo 'slotflip boot-entries install && echo "SFTEST: entries installed"' \
			>data/sftest/once.sh
	}
	NO_ENTRIES=1 machine
	unset -f machine_data
	boot
	log_has "SFTEST: up slot=a version=1.0"
	log_has "SFTEST: entries installed"
	cp "$OVMF_VARS" want.fd
	for s in a:00A0 b:00B0; do
		"$VARS_TOOL" want.fd boot-entry "${s#*:}" "slotflip ${s%:*}" 1 \
			"$ESP_START" "$ESP_SECTORS" "$ESP_GUID" \
			"\\EFI\\slotflip\\${s%:*}\\linux.efi"
		got=$(vars get "Boot${s#*:}") || fail "no Boot${s#*:}"
		want=$("$VARS_TOOL" want.fd get "Boot${s#*:}")
		# The description is the product's choice: compare from the
		# device path on (after the description's UCS-2 NUL).
		[ "${got#*0000040}" = "${want#*0000040}" ] ||
			fail "Boot${s#*:}: $got, want the device path of $want"
	done
	[ "$(vars boot-order | cut -c1-9)" = 00A0,00B0 ] || fail "BootOrder $(vars boot-order)"
	boot
	log_has "BdsDxe: (loading|starting) Boot00A0"
	log_has "SFTEST: up slot=a version=1.0"
}

# repo_index: the index the repository's stable channel offers now.
repo_index() {
	echo "repo/channels/stable/index.$(sed -n 's/^index-hash //p' repo/channels/stable/timestamp)"
}

# Scenario 8, a delta applies, here as a fleet's offline update: a guest
# of 512 MiB (the memory the applier must do with) without network (-nic
# none); the repository (`slotflip-image repo`: the full image of 1.0,
# then 2.0, which adds a delta from 1.0) is on a second virtual disk that
# A mounts at /media. `slotflip fetch --stage` reads it through file://
# and takes the delta, as A runs the 1.0 that fetch itself got before (the
# fetch-state line `slot a 1.0 MANIFEST` that it writes when it stages an
# image; without it a device from the factory takes the full image). The
# next boot applies the delta (B on trial, BootNext = B); B boots, its
# ESP unmounted, confirms, and runs 2.0.
test_fetch_delta_from_file_repository() {
	need_slotflip
	build_world cloud 2
	cp -a "$W/repo-empty" repo
	"$SB/slotflip-image" repo add repo "$W/img-1.0-fetch" --channel stable \
		--key "$W/repo.sec" --image-key "$W/release.sec" >/dev/null
	base=$(sed -n 's/^manifest //p' "$(repo_index)")
	"$SB/slotflip-image" repo add repo "$W/img-2.0-confirm" --channel stable \
		--key "$W/repo.sec" --image-key "$W/release.sec" >/dev/null
	index=$(repo_index)
	read -r dbase dmanifest dsize dhash < <(sed -n 's/^delta //p' "$index")
	[ "$dbase $dmanifest" = "1.0 $base" ] ||
		fail "the index offers no delta from the 1.0 in slot a: $(cat "$index")"
	fsize=$(sed -n 's/^full \([0-9]*\) .*/\1/p' "$index")
	[ "$dsize" -lt "$fsize" ] || fail "the delta ($dsize bytes) is not smaller than the full image ($fsize)"
	echo "  repository: full image $fsize bytes, delta from 1.0 $dsize bytes" >&2
	truncate -s 64M repo.img
	mkfs.ext4 -q -F -d repo -L repo repo.img || fail "mkfs.ext4 of the repository disk failed"
	machine_data() {
		echo "slot a 1.0 $base" >data/slotflip/fetch-state
		mkdir -p data/sftest
		cat >data/sftest/once.sh <<'ONCE'
mount -t ext4 -o ro /dev/vdb /media && echo "SFTEST: repository mounted"
slotflip fetch --stage
echo "SFTEST: fetch exit status $?"
slotflip status
umount /media
action=reboot
ONCE
	}
	ROOTFS_A=$W/rootfs-1.0-fetch.ext4 machine
	unset -f machine_data
	vars state-init a 1.0
	mem=(-m 512 -drive file=repo.img,format=raw,if=virtio,readonly=on)

	boot "${mem[@]}"
	log_has "SFTEST: up slot=a version=1.0"
	log_has "SFTEST: repository mounted"
	log_has "fetch: index serial 2 offers version 2.0"
	log_has "fetch: downloading the delta from 1.0 \($dsize bytes\)"
	log_lacks "fetch: downloading the full image"
	log_has "staged version 2.0: slot b gets it at the next reboot"
	log_has "SFTEST: fetch exit status 0"
	log_has "staged image: +version 2.0, $dsize bytes, signatures valid"
	log_has "SFTEST: rebooting"
	# What is staged is the repository's delta, byte for byte, and fetch
	# recorded 2.0's manifest for slot b (the base of the next delta)
	# and its build time (the clock's floor once it runs).
	partition_file "$DATA_START" $((DATA_MIB * 2048)) /slotflip/staged.img >staged.img
	cmp staged.img "repo/images/$dhash.img" || fail "the staged image is not the delta images/$dhash.img"
	partition_file "$DATA_START" $((DATA_MIB * 2048)) /slotflip/fetch-state >fetch-state
	grep -qE "^slot b 2\.0 $(sed -n 's/^manifest //p' "$index") [1-9][0-9]*$" \
		fetch-state ||
		fail "fetch-state: $(cat fetch-state)"

	boot "${mem[@]}"
	log_has "booted slot a; an update is staged"
	log_has "apply: 100%"
	log_has "version 2.0 written to slot b; trial armed with 2 tries"
	log_has "rebooting into slot b"
	expect_state trial b
	expect_state b.status trial
	expect_state b.version 2.0
	[ "$(vars get-u16 BootNext)" = 00B0 ] || fail "BootNext is not 00B0"

	boot "${mem[@]}"
	log_has "BdsDxe: starting Boot00B0"
	log_has "booted slot b; trial boot"
	log_has "SFTEST: up slot=b version=2.0"
	log_has "slotflip-confirm: all health checks passed"
	log_has "SFTEST: confirmed"
	log_lacks "SFTEST: the ESP is mounted"
	expect_absent BootNext
	expect_state good b
	expect_state b.status good
	expect_state trial none
	expect_state floor 2.0
}

run_qemu_cases
