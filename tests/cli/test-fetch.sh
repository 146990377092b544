#!/bin/bash
# Integration tests of `slotflip fetch` (docs/REPO.md, "The device's
# algorithm") on the fake device of tests/cli/firmware.sh: a repository
# made by `slotflip-image repo`, read through file:// and served by
# Debian's nginx on 127.0.0.1 with a test CA (tests/cli/nginx.sh). Each
# case asserts on the exit status, the message, what is (not) staged and,
# where it proves something, nginx's access log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firmware.sh"
. "$(dirname "$0")/slotflip.sh"
. "$(dirname "$0")/nginx.sh"
. "$(dirname "$0")/mount.sh"

REPO=root/media/repo
STAGED=root/data/slotflip/staged.img
export SLOTFLIP_HTTP_HELPER=$SF_BIN/slotflip-http

repo() { "$IMG" repo "$1" "$REPO" "${@:2}"; }

# publish V [repo add args]: image vV.img (signed by release.sec) into the
# stable channel.
publish() {
	local v=$1
	shift
	[ -e "v$v.img" ] || { make_version "$v"; image "$v" "v$v.img"; }
	repo add "v$v.img" --channel stable --key repo.sec \
		--image-key release.sec "$@" >add.out 2>&1 ||
		{ cat add.out; fail "repo add $v"; }
}

# server_conf URL [lines]: the [server] section of the device's config.
server_conf() {
	local url=$1
	shift
	cp "$REPO/keys/1" root/etc/slotflip/repo-keys
	{
		echo "[server]"
		echo "url = $url"
		echo "product = acme"
		echo "channel = stable"
		echo "repo-keys = /etc/slotflip/repo-keys"
		printf '%s\n' "$@"
	} >>root/etc/slotflip/slotflip.conf
}

# A booted device on v1.0 (slot a) and an empty repository of its
# product and compatible string, signed by repo.sec.
device_and_repo() {
	device_setup
	boot
	"$STATE" root set a.version=1.0
	"$IMG" keygen -p repo.pub -s repo.sec >/dev/null
	mkdir -p root/media
	repo init --product acme --compatible test-board --key repo.sec >/dev/null
}

# A booted device on v1.0 (slot a), a repository offering v1.0 and V
# (default 1.1), read through file://.
fetch_ready() {
	device_and_repo
	image 1.0 v1.0.img
	publish 1.0
	publish "${1:-1.1}"
	server_conf file:///media/repo "allow-file = yes"
}

# apply_and_confirm: the staged image applied by slotflip-init, the new
# slot booted on trial, confirmed.
apply_and_confirm() {
	boot
	boot
	sf mark-good >mg.out || fail "mark-good: $(cat mg.out)"
}

# make_big V: vV.img of 4 MiB of random bytes in 4 KiB chunks (about
# 1000 chunks, none compressed): a download that takes a while.
make_big() {
	head -c 4194304 /dev/urandom >"rootfs-$1"
	{ echo "efi $1"; seq 1 3000; } >"efi-$1"
	image "$1" "v$1.img"
}

# flip FILE OFFSET: one byte of FILE changed in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf '%b' "\\0$(printf %03o $(((b + 1) % 256)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# image_sent: the bytes nginx sent of images, all requests.
image_sent() {
	sleep 0.2
	awk '$4 ~ /^\/images\// { s += $3 } END { print s + 0 }' www.log
}

tries_line() { awk '$1 == "tries" { print $2, $3 }' root/data/slotflip/fetch-state; }

state_field() { awk -v k="$1" '$1 == k { print $2 }' root/data/slotflip/fetch-state 2>/dev/null || true; }

test_help_and_usage() {
	sf fetch --help | grep -q "Usage: slotflip fetch \[--check\] \[--stage\]" ||
		fail "no help"
	device_setup
	expect_fail 2 "an option given does not apply" sf status --check
	expect_fail 3 "has no [server] section: nowhere to fetch from" sf fetch
}

# A device on the previous version gets the delta, once it knows the
# base it runs (the image fetch staged); one outside the window gets the
# full image; an up-to-date one gets nothing.
test_full_then_delta_then_nothing() {
	fetch_ready 1.1
	expect_rc 0 sf fetch --stage
	grep -q "fetch: downloading the full image" out.txt || fail "$(cat out.txt)"
	grep -q "staged version 1.1: slot b gets it" out.txt || fail "$(cat out.txt)"
	cmp "$STAGED" v1.1.img || fail "staged is not v1.1.img"
	apply_and_confirm
	[ "$BOOTED" = b ] && [ "$(json .slots.b.version)" = 1.1 ] || fail "1.1 not running"
	publish 1.2
	expect_rc 0 sf fetch --stage
	grep -q "fetch: downloading the delta from 1.1" out.txt || fail "$(cat out.txt)"
	[ "$(stat -c %s "$STAGED")" -lt "$(stat -c %s v1.2.img)" ] || fail "not a delta"
	apply_and_confirm
	[ "$BOOTED" = a ] && [ "$(json .slots.a.version)" = 1.2 ] || fail "1.2 not running"
	expect_rc 0 sf fetch --stage
	grep -q "fetch: up to date (running 1.2, offered 1.2)" out.txt || fail "$(cat out.txt)"
	[ ! -e "$STAGED" ] || fail "something staged"
	expect_rc 10 sf fetch --check
	grep -q "nothing new (the same index" out.txt || fail "$(cat out.txt)"
}

# "Nothing new" (the index of the last run, which offered nothing) holds
# only while the version it was judged for runs.
test_nothing_new_only_while_the_same_version_runs() {
	fetch_ready 1.1
	"$STATE" root set a.version=1.1
	expect_rc 10 sf fetch --check
	grep -q "up to date (running 1.1, offered 1.1)" out.txt || fail "$(cat out.txt)"
	[ "$(state_field idle)" = 1.1 ] || fail "idle $(state_field idle)"
	expect_rc 10 sf fetch --check
	grep -q "nothing new" out.txt || fail "$(cat out.txt)"
	"$STATE" root set a.version=1.0
	expect_rc 0 sf fetch --check
	grep -q "update available: version 1.1" out.txt || fail "$(cat out.txt)"
	[ "$(state_field idle)" = - ] || fail "idle $(state_field idle)"
}

test_outside_the_delta_window_gets_the_full_image() {
	fetch_ready 1.1
	expect_rc 0 sf fetch --stage
	apply_and_confirm
	publish 1.2 --deltas 0
	expect_rc 0 sf fetch --check
	grep -q "update available: version 1.2 (full image" out.txt || fail "$(cat out.txt)"
	[ ! -e root/data/slotflip/fetch-*.partial ] || fail "--check downloaded"
	expect_rc 0 sf fetch --stage
	cmp "$STAGED" v1.2.img || fail "staged is not the full v1.2.img"
}

# Without --stage: downloaded and checked, kept for --stage.
test_download_then_stage() {
	fetch_ready 1.1
	expect_rc 0 sf fetch
	grep -q "downloaded and checked" out.txt || fail "$(cat out.txt)"
	[ ! -e "$STAGED" ] || fail "staged without --stage"
	cmp root/data/slotflip/fetch-*.partial v1.1.img || fail "download differs"
	expect_rc 0 sf fetch --stage
	grep -q "bytes, already downloaded)" out.txt || fail "fetched again: $(cat out.txt)"
	cmp "$STAGED" v1.1.img || fail "not staged"
	! ls root/data/slotflip/fetch-*.partial 2>/dev/null || fail "partial left"
}

test_refused_during_a_trial() {
	fetch_ready 1.1
	sf stage v1.1.img >/dev/null
	boot
	boot
	expect_fail 1 "slot b is on trial (version 1.1): confirm it" sf fetch --check
}

test_resume_after_a_cut() {
	fetch_ready 1.1
	local h size
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	head -c $((size / 3)) v1.1.img >root/data/slotflip/fetch-$h.partial
	head -c 1000 /dev/zero >root/data/slotflip/fetch-$(printf '%064d' 0).partial
	expect_rc 0 sf fetch --stage
	grep -q "($size bytes, resuming)" out.txt || fail "$(cat out.txt)"
	cmp "$STAGED" v1.1.img || fail "resumed image differs"
	! ls root/data/slotflip/fetch-*.partial 2>/dev/null || fail "a stale partial left"
}

# Freeze: a timestamp that expired is refused, nothing is staged.
test_freeze_expired_timestamp() {
	device_and_repo
	make_version 1.1
	image 1.1 v1.1.img
	SOURCE_DATE_EPOCH=$(($(date +%s) - 3 * 86400)) repo add v1.1.img \
		--channel stable --key repo.sec --image-key release.sec \
		--timestamp-days 2 >/dev/null
	server_conf file:///media/repo "allow-file = yes"
	expect_fail 1 "the repository is stale or frozen" sf fetch --stage
	grep -q "timestamp refused (above): nothing changed" err.txt || fail "$(cat err.txt)"
	[ ! -e "$STAGED" ] && [ ! -e root/data/slotflip/fetch-state ] || fail "state or image"
}

# Rollback: a mirror serving an older timestamp after a newer one was
# seen.
test_rollback_older_serial() {
	fetch_ready 1.1
	cp -a "$REPO" old-repo
	repo refresh --key repo.sec >/dev/null
	expect_rc 0 sf fetch --check
	[ "$(state_field timestamp-serial)" = 3 ] || fail "serial $(state_field timestamp-serial)"
	rm -rf "$REPO"
	cp -a old-repo "$REPO"
	expect_fail 1 "serial 2 is below 3, seen before: an old copy (rollback)" \
		sf fetch --stage
	[ ! -e "$STAGED" ] || fail "staged"
	[ "$(state_field timestamp-serial)" = 3 ] || fail "the state went back"
}

# Mix-and-match: the index the timestamp names replaced by the channel's
# older index (valid and signed, of another moment).
test_mix_and_match_index() {
	fetch_ready 1.1
	local old new
	new=$REPO/channels/stable/index.$(awk '$1 == "index-hash" { print $2 }' \
		"$REPO/channels/stable/timestamp")
	for old in "$REPO"/channels/stable/index.*[0-9a-f]; do
		[ "$old" != "$new" ] && break
	done
	cp "$old" "$new"
	cp "$old.minisig" "$new.minisig"
	expect_fail 1 "the timestamp says" sf fetch --stage
	grep -q "(mix-and-match or a damaged copy)" err.txt || fail "$(cat err.txt)"
	[ ! -e "$STAGED" ] || fail "staged"
	[ "$(state_field index-serial)" = "" ] || fail "the state took the index"
}

test_wrong_product_or_compatible() {
	fetch_ready 1.1
	sed -i 's/^product = acme$/product = other/' root/etc/slotflip/slotflip.conf
	expect_fail 3 "is the key set of product acme, not other" sf fetch
	sed -i 's/^product = other$/product = acme/;s/^compatible = test-board$/compatible = other-board/' \
		root/etc/slotflip/slotflip.conf
	expect_fail 1 "compatible test-board, this device wants other-board" \
		sf fetch --stage
	[ ! -e "$STAGED" ] || fail "staged"
}

# A byte of the manifest changed on the server: its signature does not
# verify, the download stops there and nothing of it is kept.
test_flipped_byte_in_the_manifest() {
	fetch_ready 1.1
	local img
	img=$REPO/images/$(b2sum -l 256 v1.1.img | cut -d' ' -f1).img
	flip "$img" 5000
	expect_fail 1 "manifest or signatures do not check" sf fetch --stage
	grep -q "valid signatures from 0 of the 1 trusted keys" err.txt || fail "$(cat err.txt)"
	grep -q "download was stopped at .* and removed: nothing was staged" err.txt ||
		fail "$(cat err.txt)"
	[ ! -e "$STAGED" ] || fail "staged"
	! ls root/data/slotflip/fetch-*.partial 2>/dev/null || fail "corrupt download kept"
}

# A byte of the data area changed: refused at its chunk, naming it; the
# partial keeps the chunks before it, all good.
test_flipped_byte_in_a_chunk() {
	fetch_ready 1.1
	local h img size part
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	img=$REPO/images/$h.img
	size=$(stat -c %s v1.1.img)
	flip "$img" $((size - 3000))
	expect_fail 1 "does not match the stored hash its signed manifest names" \
		sf fetch --stage
	grep -q "images/$h.img refused: chunk [0-9]* of [0-9]* (bytes [0-9]*-[0-9]* of the file)" \
		err.txt || fail "$(cat err.txt)"
	[ ! -e "$STAGED" ] || fail "staged"
	part=root/data/slotflip/fetch-$h.partial
	[ "$(stat -c %s "$part")" -le $((size - 3000)) ] || fail "the bad chunk kept"
	cmp -s -n "$(stat -c %s "$part")" "$part" v1.1.img || fail "the partial is not good bytes"
}

# Key rotation: set 2 signed by set 1 and by itself is accepted; signed
# by the new keys alone it is refused.
test_key_rotation() {
	fetch_ready 1.1
	"$IMG" keygen -p new.pub -s new.sec >/dev/null
	cp -a "$REPO" before-rotation
	repo rotate-keys --key repo.sec --new-key new.sec >/dev/null
	expect_rc 0 sf fetch --check
	grep -q "key set 2 accepted" out.txt || fail "$(cat out.txt)"
	[ "$(state_field keyset)" = 2 ] || fail "key set not kept"
	cmp root/data/slotflip/fetch-keys "$REPO/keys/2" || fail "fetch-keys"
}

test_key_rotation_by_new_keys_alone_refused() {
	fetch_ready 1.1
	"$IMG" keygen -p new.pub -s new.sec >/dev/null
	repo rotate-keys --key repo.sec --new-key new.sec >/dev/null
	# keys/2 signed by the new key alone: set 1's signature dropped
	# (rotate-keys writes set N's signatures first, then the new keys').
	[ "$(wc -l <"$REPO/keys/2.minisig")" = 8 ] || fail "two signatures expected"
	sed -i 1,4d "$REPO/keys/2.minisig"
	grep -qF "$(sed -n 2p new.pub | cut -c1-20)" "$REPO/keys/2" || fail "new key not in set 2"
	expect_fail 1 "keys/2 refused (above)" sf fetch --check
	grep -q "valid signatures" err.txt || fail "$(cat err.txt)"
	[ ! -e root/data/slotflip/fetch-state ] || fail "a refused run kept state"
}

# ---- over HTTPS, through slotflip-http and nginx ----

# serve: nginx serving $REPO over TLS (test CA), the device's config
# pointing at it; LOCATIONS go into the server block.
serve() {
	local locations=${1:-}
	[ -e ca.pem ] || tls_ca ca
	[ -e server.pem ] || tls_cert server ca "IP:127.0.0.1,DNS:localhost"
	cp ca.pem root/etc/slotflip/ca.pem
	mkdir -p www
	rmdir www
	ln -s "$PWD/$REPO" www
	NGINX_HTTP_LINES="log_format r '\$status \$uri v=\$http_slotflip_version s=\$http_slotflip_slot c=\$http_slotflip_channel r=\$http_slotflip_last_result d=\$http_slotflip_device';"
	nginx_start "listen 127.0.0.1:@PORT@ ssl;
		ssl_certificate $PWD/server.pem;
		ssl_certificate_key $PWD/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		access_log $PWD/report.log r;
		access_log $PWD/www.log t;
		$locations"
}

# https_ready [LOCATIONS [big]]: a device on 1.0, the repository
# offering 1.1 (big: make_big's) over HTTPS.
https_ready() {
	device_and_repo
	echo 0123456789abcdef0123456789abcdef >root/etc/machine-id
	[ -z "${2:-}" ] || make_big 1.1
	publish 1.1
	serve "${1:-}"
	server_conf "https://127.0.0.1:$PORT" "ca = /etc/slotflip/ca.pem" \
		"stall-timeout = 5" "connect-timeout = 5"
}

test_https_fetch_stage_and_reports() {
	https_ready
	expect_rc 0 sf fetch --stage
	cmp "$STAGED" v1.1.img || fail "staged differs"
	local ts=/channels/stable/timestamp
	[ "$(log_count "^200 \"-\" [0-9]+ $ts \"-\"\$")" = 1 ] || fail "$(cat www.log)"
	grep -q "^200 $ts v=1.0 s=a c=stable r=none d=[0-9a-f]\{64\}$" report.log ||
		fail "report headers: $(cat report.log)"
	# Only the timestamp request carries them (caches serve the rest).
	[ "$(grep -c 'v=1.0' report.log)" = 1 ] || fail "$(cat report.log)"
	! grep -q 0123456789abcdef0123456789abcdef report.log www.log ||
		fail "the raw machine-id was sent"
	[ "$(log_count '^200 "-" [0-9]+ /images/')" = 1 ] || fail "$(cat www.log)"
}

test_https_resume_is_a_range_request() {
	https_ready
	local h size have from
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	have=$((size / 2))
	head -c $have v1.1.img >root/data/slotflip/fetch-$h.partial
	expect_rc 0 sf fetch --stage
	cmp "$STAGED" v1.1.img || fail "staged differs"
	# From the cut: the start of the chunk it cut is kept (and checked
	# once that chunk is whole).
	from=$(awk -v h="$h" '$1 == 206 && $4 ~ h { gsub(/[^0-9]/, "", $2); print $2 }' www.log)
	[ "$from" = "$have" ] || fail "no 206 from byte $have: $(cat www.log)"
	[ "$(log_count "^206 \"bytes=$from-\" $((size - from)) /images/$h.img")" = 1 ] ||
		fail "$(cat www.log)"
}

# A resume checks the partial first: a byte that went bad in it (a
# disk, a run killed mid-write) is not trusted, its chunk and the rest
# are fetched again.
test_resume_checks_the_partial_first() {
	fetch_ready 1.1
	local h size part
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	part=root/data/slotflip/fetch-$h.partial
	head -c $((size * 3 / 4)) v1.1.img >"$part"
	flip "$part" $((size / 2))
	expect_rc 0 sf fetch --stage
	grep -q "fetch: [0-9]* of the $((size * 3 / 4)) bytes already downloaded check; the rest is fetched again" \
		out.txt || fail "$(cat out.txt)"
	cmp "$STAGED" v1.1.img || fail "staged differs"
}

# The connection cut mid-download (slotflip and its helper killed): the
# next run resumes with a Range request, and the bytes sent in all are
# about the image's size.
test_https_cut_download_resumes() {
	https_ready "location /images/ { limit_rate 50k; }"
	local h size have=0 from i pid sent
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	setsid "$SLOTFLIP" --root root fetch --stage >cut.out 2>&1 &
	pid=$!
	for i in $(seq 100); do
		have=$(stat -c %s root/data/slotflip/fetch-$h.partial 2>/dev/null || echo 0)
		[ "$have" -gt 60000 ] && break
		sleep 0.1
	done
	kill -KILL -- -"$pid"
	wait "$pid" || true
	have=$(stat -c %s root/data/slotflip/fetch-$h.partial)
	[ "$have" -gt 0 ] && [ "$have" -lt "$size" ] || fail "partial of $have bytes"
	[ ! -e "$STAGED" ] || fail "staged after the cut"
	expect_rc 0 sf fetch --stage
	grep -q "($size bytes, resuming)" out.txt || fail "$(cat out.txt)"
	cmp "$STAGED" v1.1.img || fail "the resumed image differs"
	from=$(awk -v h="$h" '$1 == 206 && $4 ~ h { gsub(/[^0-9]/, "", $2); print $2 }' www.log)
	[ -n "$from" ] && [ "$from" -le "$have" ] ||
		fail "no 206 for the rest: $(cat www.log)"
	[ "$(log_count "^206 \"bytes=$from-\" $((size - from)) /images/$h.img")" = 1 ] ||
		fail "$(cat www.log)"
	sent=$(awk '$4 ~ /^\/images\// { s += $3 } END { print s }' www.log)
	[ "$sent" -lt $((size + size / 10)) ] || fail "sent $sent bytes for $size"
}

# --reboot stages, then reboots; on a terminal the download shows the
# helper's bar, otherwise a line per step.
test_https_reboot_and_progress() {
	https_ready
	mkdir bin
	printf '#!/bin/sh\necho rebooted >"%s/rebooted"\n' "$PWD" >bin/reboot
	chmod +x bin/reboot
	PATH=$PWD/bin:$PATH script -qec "$SLOTFLIP --root root fetch --reboot" \
		/dev/null >tty.txt
	grep -q 'downloading  *\[#*\] 100%' tty.txt || { cat -A tty.txt; fail "no bar"; }
	[ -e rebooted ] || fail "--reboot did not reboot"
	cmp "$STAGED" v1.1.img || fail "not staged"
	# Staged already: not fetched again; a line per step.
	sf fetch --stage >lines.txt
	grep -q "^fetch: timestamp serial 1 (key set 1)$" lines.txt &&
		grep -q "^fetch: index serial 1 offers version 1.1$" lines.txt &&
		grep -q "^fetch: version 1.1 is staged already: slot b gets it" lines.txt ||
		fail "$(cat lines.txt)"
	[ "$(log_count '/images/')" = 1 ] || fail "fetched again: $(cat www.log)"
}

test_https_404_and_503() {
	https_ready "location = /channels/stable/timestamp { return 503; }"
	expect_fail 9 "the server or the network failed" \
		env SLOTFLIP_HTTP_HELPER="$SF_BIN/slotflip-http" "$SLOTFLIP" --root root fetch
	[ "$(log_count '^503 .*/channels/stable/timestamp')" -gt 1 ] || fail "no retry: $(cat www.log)"
	[ ! -e "$STAGED" ] || fail "staged"
	grep -q "^result failed" root/data/slotflip/fetch-last || fail "fetch-last"
}

test_https_404_given_up_at_once() {
	https_ready
	rm "$REPO"/channels/stable/timestamp.*.minisig
	expect_fail 1 "refused" sf fetch
	[ "$(log_count '^404 ')" = 1 ] || fail "retried a 404: $(cat www.log)"
}

# A data partition without room for the image: refused before a byte of
# it is fetched; the documents' state is kept (they passed).
test_no_space_for_the_image() {
	mount_tmpfs root/data 64k
	fetch_ready 1.1
	expect_fail 5 "not enough space on the data partition: the download needs" \
		sf fetch --stage
	! ls root/data/slotflip/fetch-*.partial 2>/dev/null || fail "a partial made"
	[ ! -e "$STAGED" ] || fail "staged"
	[ "$(state_field index-serial)" = 2 ] || fail "the state of the documents"
}

# Endless data: a timestamp far over its 4 KiB cap is not taken.
test_endless_timestamp_stopped_at_the_cap() {
	fetch_ready 1.1
	head -c 10000000 /dev/zero >"$REPO/channels/stable/timestamp"
	expect_fail 1 "channels/stable/timestamp refused: more than its cap of 4096 bytes" \
		sf fetch --check
	[ ! -e root/data/slotflip/fetch-state ] || fail "state written"
}

test_https_endless_timestamp_stopped_at_the_cap() {
	https_ready
	head -c 10000000 /dev/zero >"$REPO/channels/stable/timestamp"
	expect_fail 1 "refused (above)" sf fetch --check
	grep -q "more than 4096 bytes\|4096" err.txt || fail "$(cat err.txt)"
	[ "$(du -k root/data/slotflip | cut -f1)" -lt 100 ] || fail "disk use"
	[ ! -e root/data/slotflip/fetch-doc ] || fail "the document left behind"
}

# A server serving a longer image than signed: never more than the
# signed size is taken, and the result is refused.
test_https_image_longer_than_signed() {
	https_ready
	local img
	img=$REPO/images/$(b2sum -l 256 v1.1.img | cut -d' ' -f1).img
	head -c 5000000 /dev/zero >>"$img"
	expect_fail 1 "refused" sf fetch --stage
	[ ! -e "$STAGED" ] || fail "staged"
	[ "$(du -k root/data/slotflip | cut -f1)" -lt 1000 ] || fail "disk use $(du -k root/data/slotflip)"
}

# A server that requires a client certificate: refused without one,
# accepted with the config's cert and key.
test_https_client_certificate() {
	https_ready "ssl_verify_client on; ssl_client_certificate $PWD/ca.pem;"
	expect_fail 1 "refused" sf fetch --check
	[ "$(log_count '^400 ')" -ge 1 ] || fail "$(cat www.log)"
	tls_cert client ca "DNS:device"
	cp client.pem client.key root/etc/slotflip/
	printf 'cert = /etc/slotflip/client.pem\nkey = /etc/slotflip/client.key\n' \
		>>root/etc/slotflip/slotflip.conf
	expect_rc 0 sf fetch --check
	grep -q "update available: version 1.1" out.txt || fail "$(cat out.txt)"
}

test_status_shows_the_last_fetch() {
	fetch_ready 1.1
	expect_rc 0 sf fetch --check
	[ "$(json .last_fetch.result)" = available ] &&
		[ "$(json .last_fetch.version)" = 1.1 ] || fail "$(sf status --json)"
	expect_rc 0 sf fetch
	[ "$(json .last_fetch.result)" = downloaded ] &&
		[ "$(json .last_fetch.bytes)" = "$(stat -c %s v1.1.img)" ] ||
		fail "$(sf status --json)"
	sf status | grep -q "^last fetch: *downloaded at .*, version 1.1, [0-9]* bytes$" || fail "$(sf status)"
}

# ---- checked as it downloads ----

# A byte changed in the data area of an image of 1000 chunks, served at
# 1 MB/s: refused at its chunk while the download runs, well before the
# end (nginx's log: the bytes it sent in all).
test_https_bad_chunk_stops_the_download_early() {
	https_ready "location /images/ { limit_rate 1m; }" big
	local h size sent part
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	flip "$REPO/images/$h.img" $((size / 8))
	expect_fail 1 "does not match the stored hash its signed manifest names" \
		sf fetch --stage
	[ ! -e "$STAGED" ] || fail "staged"
	sent=$(image_sent)
	echo "bad chunk at byte $((size / 8)) of $size: $sent bytes sent" >&2
	[ "$sent" -lt $((size / 3)) ] || fail "$sent of $size bytes sent"
	part=root/data/slotflip/fetch-$h.partial
	[ "$(stat -c %s "$part")" -le $((size / 8)) ] || fail "the bad chunk kept"
	cmp -s -n "$(stat -c %s "$part")" "$part" v1.1.img || fail "the partial is not good bytes"
}

# A manifest whose signature does not verify: refused once the head has
# arrived, before the data area is downloaded.
test_https_bad_manifest_refused_before_the_data() {
	https_ready "location /images/ { limit_rate 1m; }" big
	local h size sent
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	flip "$REPO/images/$h.img" 4200
	expect_fail 1 "manifest or signatures do not check" sf fetch --stage
	grep -q "valid signatures from 0 of the 1 trusted keys" err.txt || fail "$(cat err.txt)"
	sent=$(image_sent)
	echo "bad manifest: $sent of $size bytes sent" >&2
	[ "$sent" -lt $((size / 5)) ] || fail "$sent of $size bytes sent"
	! ls root/data/slotflip/fetch-*.partial 2>/dev/null || fail "the partial kept"
	[ ! -e "$STAGED" ] || fail "staged"
}

# ---- caps per index serial ----

# The same bad image, run after run: the download is tried 8 times,
# then given up until a new index serial appears.
test_attempts_capped_per_index_serial() {
	fetch_ready 1.1
	local img size i
	img=$REPO/images/$(b2sum -l 256 v1.1.img | cut -d' ' -f1).img
	size=$(stat -c %s v1.1.img)
	flip "$img" $((size - 3000))
	for i in 1 2 3 4 5 6 7 8; do
		expect_fail 1 "does not match the stored hash" sf fetch --stage
	done
	[ "$(tries_line)" = "2 8" ] || fail "tries: $(tries_line)"
	expect_fail 1 "gave up on version 1.1 of index serial 2: 8 download attempts" \
		sf fetch --stage
	grep -q "A new index serial starts over" err.txt || fail "$(cat err.txt)"
	[ "$(json .last_fetch.result)" = gave-up ] || fail "$(sf status --json)"
	[ "$(json .last_fetch.bytes)" = 0 ] || fail "downloaded after giving up"
	[ "$(tries_line)" = "2 8" ] || fail "tries: $(tries_line)"
	# A new serial (version 1.2) starts over.
	publish 1.2 --deltas 0
	expect_rc 0 sf fetch --stage
	cmp "$STAGED" v1.2.img || fail "1.2 not staged"
	[ -z "$(tries_line)" ] || fail "tries kept: $(tries_line)"
}

# An image that downloads whole and checks but does not stage (here:
# larger than the spare slot) counts as well: each run fetches it whole
# again, so the bytes cap (3 x its size + 1 MiB) ends it after 4 runs.
test_caps_count_images_that_do_not_stage() {
	device_and_repo
	make_big 1.1
	publish 1.1
	server_conf file:///media/repo "allow-file = yes"
	local i
	for i in 1 2 3 4; do
		expect_fail 1 "does not fit the 1048576-byte slot" sf fetch --stage
	done
	[ "$(tries_line)" = "1 4" ] || fail "tries: $(tries_line)"
	expect_fail 1 "gave up on version 1.1 of index serial 1: 4 download attempts" \
		sf fetch --stage
	# Without --stage, a good download ends the count.
	rm root/data/slotflip/fetch-state
	expect_rc 0 sf fetch
	[ -z "$(tries_line)" ] || fail "tries kept: $(tries_line)"
}

# A server that ignores ranges sends the whole image at every attempt:
# the bytes cap (3 x the image + 1 MiB) stops it before the attempts
# cap.
test_https_bytes_capped_per_index_serial() {
	https_ready "location /images/ { max_ranges 0; limit_rate 8m; }" big
	local h size i=0
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	flip "$REPO/images/$h.img" $((size - 5000))
	while [ $i -lt 8 ]; do
		i=$((i + 1))
		expect_fail 1 "nothing was staged" sf fetch --stage
		grep -q "gave up" err.txt && break
	done
	grep -q "gave up on version 1.1 of index serial 1: $((i - 1)) download attempts" err.txt ||
		fail "run $i: $(cat err.txt)"
	[ $i -le 6 ] || fail "the bytes cap did not stop it: $i runs"
	local bytes
	bytes=$(awk '$1 == "tries" { print $4 }' root/data/slotflip/fetch-state)
	[ "$bytes" -ge $((3 * size + 1048576)) ] || fail "gave up at $bytes bytes"
	[ "$(log_count '/images/')" = $((i - 1)) ] || fail "$(cat www.log)"
}

# ---- the clock ----

# The running image was built after the device's clock (a clock set
# back, a dead battery): a timestamp that expired before that build time
# is refused, though the real-time clock would take it.
test_clock_behind_the_running_image_build_time() {
	device_and_repo
	local build
	build=$(($(date +%s) + 30 * 86400))
	image 1.0 v1.0.img
	make_version 1.1
	SOURCE_DATE_EPOCH=$build image 1.1 v1.1.img
	publish 1.1
	server_conf file:///media/repo "allow-file = yes"
	expect_rc 0 sf fetch --stage
	[ "$(awk '$1 == "slot" && $2 == "b" { print $5 }' root/data/slotflip/fetch-state)" = "$build" ] ||
		fail "build time not recorded: $(cat root/data/slotflip/fetch-state)"
	apply_and_confirm
	[ "$BOOTED" = b ] || fail "1.1 not running"
	# Valid for 7 days by the real-time clock, 23 days stale by the
	# running image's build time.
	publish 1.2
	expect_fail 1 "the repository is stale or frozen" sf fetch --stage
	[ ! -e "$STAGED" ] || fail "staged"
}

# The same with an image staged by hand (not by fetch): mark-good
# recorded its build time before it removed the applied image.
test_clock_behind_an_image_staged_by_hand() {
	device_and_repo
	local build
	build=$(($(date +%s) + 30 * 86400))
	make_version 1.1
	SOURCE_DATE_EPOCH=$build image 1.1 v1.1.img
	sf stage v1.1.img >/dev/null
	apply_and_confirm
	[ "$BOOTED" = b ] || fail "1.1 not running"
	[ "$(cat root/data/slotflip/installed-b)" = "1.1 $build" ] ||
		fail "installed-b: $(cat root/data/slotflip/installed-b)"
	publish 1.2 --deltas 0
	server_conf file:///media/repo "allow-file = yes"
	expect_fail 1 "the repository is stale or frozen" sf fetch --check
	# Without it, the real-time clock is the latest: the same timestamp
	# is taken; a record of another version counts for nothing.
	echo "1.0 $build" >root/data/slotflip/installed-b
	expect_rc 0 sf fetch --check
	grep -q "update available: version 1.2" out.txt || fail "$(cat out.txt)"
}

# ---- reboot = yes ----

test_config_reboot_after_staging() {
	fetch_ready 1.1
	mkdir bin
	printf '#!/bin/sh\necho rebooted >>"%s/rebooted"\n' "$PWD" >bin/reboot
	chmod +x bin/reboot
	grep -q "^ExecStart=@SBINDIR@/slotflip fetch --stage$" \
		"$SF_SRCDIR/bootctl/slotflip-fetch.service" || fail "the unit passes more"
	PATH=$PWD/bin:$PATH expect_rc 0 sf fetch --stage
	[ -e "$STAGED" ] && [ ! -e rebooted ] || fail "rebooted without reboot = yes"
	sf cancel >/dev/null
	echo "reboot = yes" >>root/etc/slotflip/slotflip.conf
	PATH=$PWD/bin:$PATH expect_rc 0 sf fetch
	[ ! -e rebooted ] || fail "rebooted with nothing staged"
	PATH=$PWD/bin:$PATH expect_rc 0 sf fetch --stage
	cmp "$STAGED" v1.1.img && [ "$(cat rebooted)" = rebooted ] || fail "not rebooted"
	# Up to date after the update: no reboot.
	rm rebooted
	apply_and_confirm
	PATH=$PWD/bin:$PATH expect_rc 0 sf fetch --stage
	[ ! -e rebooted ] || fail "rebooted with nothing new"
	sed -i 's/^reboot = yes$/reboot = maybe/' root/etc/slotflip/slotflip.conf
	expect_fail 3 "reboot" sf fetch --stage
}

# ---- TLS and a stalled server, through slotflip fetch ----

# tls_refused CERT WHY: the server presents CERT.pem: refused, nothing
# fetched or staged.
tls_refused() {
	expect_fail 1 "refused (above): nothing was staged" sf fetch --stage
	grep -qi "certificate\|SSL" err.txt || fail "$1: $(cat err.txt)"
	[ "$(log_count /channels/)" = 0 ] || fail "$1: a request was served"
	[ ! -e "$STAGED" ] && [ ! -e root/data/slotflip/fetch-state ] || fail "$1: state or image"
}

test_https_wrong_host_name_refused() {
	tls_ca ca
	tls_cert server ca "DNS:other.example"
	https_ready
	tls_refused "wrong name"
}

test_https_expired_certificate_refused() {
	tls_ca ca
	tls_cert server ca "IP:127.0.0.1" -1
	https_ready
	tls_refused expired
}

test_https_other_ca_refused() {
	https_ready
	tls_ca other
	cp other.pem root/etc/slotflip/ca.pem
	tls_refused "other CA"
}

# A server that stalls after 60 KB: the low-speed timeout ends the
# download with exit status 9; the partial keeps its good chunks.
test_https_stalled_server_partial_kept() {
	https_ready "location /images/ { limit_rate_after 60k; limit_rate 100; }"
	local h size part kept
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	sed -i 's/^stall-timeout = 5$/stall-timeout = 2/' root/etc/slotflip/slotflip.conf
	printf '#!/bin/sh\nexec "%s" "$@" --attempts 1\n' "$SF_BIN/slotflip-http" >one-try
	chmod +x one-try
	SLOTFLIP_HTTP_HELPER=$PWD/one-try expect_fail 9 "the server or the network failed" \
		sf fetch --stage
	grep -qi "too slow\|timeout\|timed out" err.txt || fail "$(cat err.txt)"
	grep -q "the partial download keeps [0-9]* of the $size bytes ([0-9]* checked, the rest when its chunk is whole)" out.txt ||
		fail "$(cat out.txt)"
	part=root/data/slotflip/fetch-$h.partial
	kept=$(stat -c %s "$part")
	[ "$kept" -gt 20000 ] && [ "$kept" -lt 70000 ] || fail "kept $kept of $size bytes"
	cmp -s -n "$kept" "$part" v1.1.img || fail "the partial is not good bytes"
	[ ! -e "$STAGED" ] || fail "staged"
}

run_cases
