# Mounts for tests that need a full or read-only filesystem, sourced after
# lib.sh (tests run as root). Every mount made here is undone when the test
# case ends, passed or failed (an EXIT trap in the case's subshell).
SF_MOUNTS=()

# sf_unmount_all: undo every mount made so far (newest first).
sf_unmount_all() {
	local m
	for m in "${SF_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	SF_MOUNTS=()
}

sf_mounted() {
	SF_MOUNTS=("$1" "${SF_MOUNTS[@]}")
	trap 'cd /; sf_unmount_all' EXIT
}

# mount_tmpfs DIR SIZE: a new tmpfs of SIZE (e.g. 64k, 16m) on DIR; the case
# is skipped if mounting is not allowed here.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" ||
		skip "cannot mount a tmpfs (tests that mount need root)"
	sf_mounted "$(realpath "$1")"
}

# bind_ro PATH: PATH (a directory or file) made read-only by a read-only
# bind mount of itself. Root ignores permission bits and chattr +i is
# undone by slotflip's own efivar code (it clears FS_IMMUTABLE_FL as on a
# real efivarfs), so a read-only mount is the one way to refuse writes.
bind_ro() {
	mount --bind "$1" "$1" ||
		skip "cannot bind-mount (tests that mount need root)"
	sf_mounted "$(realpath "$1")"
	mount -o remount,bind,ro "$1" || fail "cannot make $1 read-only"
}

# in_tmpfs SIZE: move the case into a tmpfs (fast fsync), if allowed.
in_tmpfs() {
	mkdir -p fast
	if mount -t tmpfs -o "size=$1" tmpfs fast 2>/dev/null; then
		sf_mounted "$(realpath fast)"
		cd fast
	fi
}
