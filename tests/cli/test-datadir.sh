#!/bin/bash
# What an attacker who can write the data partition places there: a FIFO
# where slotflip reads a file (staged.img, last-result) or as the config,
# and a symbolic link as DATA_DIR/slotflip. Nothing may block (slotflip-init
# runs as PID 1, before any watchdog), nothing may be written, renamed or
# removed through the link, and the device always boots a slot.
# Every command that could wait runs under `timeout`: a hang fails the case
# (exit 124) instead of stopping the suite.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
SLOTFLIP=$SF_BIN/slotflip
DATA=root/data/slotflip

sf() { timeout 20 "$SLOTFLIP" --root root "$@"; }

# run_init: slotflip-init once, in bounded time: it must exit 0; its
# output in init.out, its decision in NEXT.
run_init() {
	local rc=0
	timeout 60 "$INIT" --root root >init.out 2>&1 || rc=$?
	[ "$rc" = 0 ] || { cat init.out; fail "slotflip-init exited $rc (124: it hung)"; }
	NEXT=$(grep '^next:' init.out)
}

# boot_bounded: firmware boot + run_init.
boot_bounded() {
	fw_boot
	run_init
}

# said TEXT: init.out holds TEXT.
said() { grep -qF -- "$1" init.out || { cat init.out; fail "slotflip-init did not say '$1'"; }; }

# A device that booted once (slot a good, version 1.0), images v1.1, v1.2.
ready() {
	device_setup
	boot_bounded
	"$STATE" root set a.version=1.0
	for v in 1.1 1.2; do
		make_version $v
		image $v v$v.img
	done
}

# From `ready`: v1.1 staged, applied, slot b booted on trial.
on_trial() {
	sf stage v1.1.img >stage.out
	boot_bounded
	boot_bounded
	[ "$BOOTED" = b ] && [ "$NEXT" = "next: boot b" ] || fail "not on trial in b"
}

# tree DIR: every entry of DIR with its type, size, mode, inode and the
# contents' sums: a change of any shows.
tree() {
	(cd "$1" && find . -printf '%p %y %s %m %i\n' | sort &&
		find . -type f -exec md5sum {} + | sort)
}

# link_data_dir: DATA_DIR/slotflip becomes a link to ./outside, which
# holds a leftover-looking temporary file, a valid signed image as
# staged.img and a last-result: the files of someone else that root must
# not touch. Its tree is kept in outside.before.
link_data_dir() {
	mkdir outside
	echo "not slotflip's" >outside/staged.img.tmp.x
	cp v1.1.img outside/staged.img
	printf 'result=applied\n' >outside/last-result
	[ ! -e $DATA ] || mv $DATA data.saved
	ln -s ../../outside $DATA
	tree outside >outside.before
}

# refused_untouched RC TEXT CMD...: CMD leaves the link's target as it
# was (checked first: that is the harm), exits RC and says TEXT.
refused_untouched() {
	local want_rc=$1 want_msg=$2 rc=0
	shift 2
	"$@" >out.txt 2>err.txt || rc=$?
	outside_untouched
	[ "$rc" = "$want_rc" ] || { cat err.txt >&2; fail "'$*' exited $rc, want $want_rc"; }
	grep -qF -- "$want_msg" err.txt || { cat err.txt >&2; fail "'$*' did not say '$want_msg'"; }
}

outside_untouched() {
	tree outside >outside.after
	diff outside.before outside.after >&2 ||
		fail "the link's target was changed (above)"
}

# --- A FIFO where a file is read: refused at once, never waited on. ---

test_init_boots_with_a_fifo_staged_image() {
	ready
	mkfifo $DATA/staged.img
	boot_bounded
	expect_next "next: boot a"
	said "staged.img: not a regular file"
	said "staged image refused"
	[ -p $DATA/staged.img.refused ] && [ ! -e $DATA/staged.img ] ||
		fail "the FIFO was not moved aside"
	grep -q "^result=refused" $DATA/last-result || fail "no result written"
	# And it stays booting: nothing is retried.
	boot_bounded
	expect_next "next: boot a"
	said "nothing staged"
}

# A FIFO swapped in for staged.img once it was applied (the apply reads
# its open fd): the trial boot and the confirmation go on.
test_fifo_swapped_in_after_the_apply() {
	ready
	sf stage v1.1.img >/dev/null
	boot_bounded
	expect_next "next: reboot (BootNext=b)"
	rm $DATA/staged.img
	mkfifo $DATA/staged.img
	boot_bounded
	[ "$BOOTED" = b ] || fail "slot b not booted"
	expect_next "next: boot b"
	sf mark-good >mg.out || fail "mark-good exited $?"
	grep -q "slot b (version 1.1) is the good slot now" mg.out ||
		fail "mark-good: $(cat mg.out)"
	[ "$(state good)" = b ] || fail "not confirmed"
	boot_bounded
	expect_next "next: boot b"
}

test_status_with_a_fifo_staged_image() {
	ready
	mkfifo $DATA/staged.img
	sf status >st.txt 2>err.txt || fail "status exited $?"
	grep -q "^staged image:  .*/slotflip/staged.img: not a regular file: remove it (slotflip cancel)" st.txt ||
		fail "status: $(cat st.txt)"
	sf status --json >st.json 2>err.txt || fail "status --json exited $?"
	[ "$(jq -r .staged.readable st.json)" = false ] &&
		[ "$(jq -r .staged.error st.json)" = "not a regular file: remove it (slotflip cancel)" ] ||
		fail "status --json: $(cat st.json)"
}

test_status_with_a_fifo_last_result() {
	ready
	mkfifo $DATA/last-result
	sf status >st.txt 2>err.txt || fail "status exited $?"
	grep -q "warning: .*/slotflip/last-result: not a regular file: the last apply is not shown; remove it" err.txt ||
		fail "no warning: $(cat err.txt)"
	! grep -q "^last apply:" st.txt || fail "a last apply shown"
	sf status --json >st.json 2>err.txt || fail "status --json exited $?"
	[ "$(jq -r .last_apply st.json)" = null ] || fail "status --json: $(cat st.json)"
	grep -q "last-result: not a regular file" err.txt || fail "no warning (--json)"
	# slotflip-init replaces it with the next result.
	sf stage v1.1.img >/dev/null
	boot_bounded
	expect_next "next: reboot (BootNext=b)"
	[ -f $DATA/last-result ] && grep -q "^result=applied" $DATA/last-result ||
		fail "last-result not replaced"
	[ "$(sf status --json | jq -r .last_apply.result)" = applied ] || fail "status after"
}

test_cancel_removes_a_fifo_staged_image() {
	ready
	mkfifo $DATA/staged.img
	sf cancel >out.txt || fail "cancel exited $?"
	grep -q "removed the staged image" out.txt || fail "cancel said: $(cat out.txt)"
	[ ! -e $DATA/staged.img ] || fail "the FIFO is still there"
}

# mark-good stores good=b first, then looks at staged.img: a FIFO there
# must not keep it (and the confirm service) from finishing.
test_mark_good_with_a_fifo_staged_image() {
	ready
	on_trial
	rm $DATA/staged.img
	mkfifo $DATA/staged.img
	sf mark-good >mg.out || fail "mark-good exited $?"
	grep -q "slot b (version 1.1) is the good slot now" mg.out || fail "mark-good said: $(cat mg.out)"
	[ "$(state good)" = b ] || fail "not confirmed"
}

test_fifo_config() {
	device_setup
	rm root/etc/slotflip/slotflip.conf
	mkfifo root/etc/slotflip/slotflip.conf
	rc=0
	timeout 20 "$INIT" --root root >init.out 2>&1 || rc=$?
	[ "$rc" = 1 ] || { cat init.out; fail "slotflip-init exited $rc, want 1 (124: it hung)"; }
	said "slotflip.conf: not a regular file"
	expect_fail 3 "slotflip.conf: not a regular file" sf status
}

# --- A link as DATA_DIR/slotflip: never followed. ---

test_stage_refuses_a_linked_directory() {
	ready
	link_data_dir
	refused_untouched 5 "slotflip is a symbolic link: slotflip does not follow it" sf stage v1.2.img
	grep -q "remove the link (rm .*/data/slotflip)" err.txt || fail "no advice: $(cat err.txt)"
	grep -q "nothing was staged" err.txt || fail "$(cat err.txt)"
	# A file in its place: refused as well.
	rm $DATA
	echo x >$DATA
	expect_fail 5 "slotflip is not a directory: remove it" sf stage v1.2.img
	# Once removed, stage makes the directory again.
	rm $DATA
	sf stage v1.2.img >/dev/null
	[ -d $DATA ] && [ ! -L $DATA ] && cmp v1.2.img $DATA/staged.img || fail "not staged"
}

test_cancel_refuses_a_linked_directory() {
	ready
	link_data_dir
	refused_untouched 5 "slotflip is a symbolic link" sf cancel
	grep -q "nothing was removed" err.txt || fail "$(cat err.txt)"
}

test_init_skips_a_linked_directory() {
	ready
	link_data_dir
	boot_bounded
	expect_next "next: boot a"
	said "slotflip is a symbolic link: slotflip does not follow it"
	said "the staging directory is not usable"
	said "nothing staged"
	outside_untouched
	slot_holds b 1.1 && fail "the image behind the link was applied"
	# Every boot the same: never a loop.
	boot_bounded
	expect_next "next: boot a"
	outside_untouched
	# A file in its place.
	rm $DATA
	echo x >$DATA
	boot_bounded
	expect_next "next: boot a"
	said "slotflip is not a directory"
}

# A trial that fails while the directory is a link: the fall back happens,
# nothing is moved aside or written behind the link.
test_init_fails_a_trial_past_a_linked_directory() {
	ready
	on_trial
	"$STATE" root set tries=0
	link_data_dir
	boot_bounded
	[ "$BOOTED" = a ] || fail "no fall back to a"
	expect_next "next: boot a"
	said "update failed: slot b (version 1.1) did not confirm its trial"
	[ "$(state good)" = a ] && [ "$(state trial)" = none ] || fail "trial not failed"
	outside_untouched
}

test_mark_good_skips_a_linked_directory() {
	ready
	on_trial
	# The applied image is in the link's target now.
	mkdir outside
	mv $DATA/staged.img outside/
	rm -r $DATA
	ln -s ../../outside $DATA
	tree outside >outside.before
	refused_untouched 0 "an applied image there is not removed" sf mark-good
	grep -q "slot b (version 1.1) is the good slot now" out.txt || fail "mark-good said: $(cat out.txt)"
	grep -q "slotflip is a symbolic link" err.txt || fail "mark-good did not say why: $(cat err.txt)"
}

test_status_with_a_linked_directory() {
	ready
	link_data_dir
	refused_untouched 0 "slotflip is a symbolic link" sf status --json
	[ "$(jq -r .staged out.txt)" = null ] && [ "$(jq -r .last_apply out.txt)" = null ] ||
		fail "status read behind the link: $(cat out.txt)"
}

run_cases
