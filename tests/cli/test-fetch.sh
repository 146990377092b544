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

test_flipped_byte_in_an_image() {
	fetch_ready 1.1
	local img
	img=$REPO/images/$(b2sum -l 256 v1.1.img | cut -d' ' -f1).img
	printf 'X' | dd of="$img" bs=1 seek=5000 conv=notrunc 2>/dev/null
	expect_fail 1 "is not the one the index names" sf fetch --stage
	[ ! -e "$STAGED" ] || fail "staged"
	! ls root/data/slotflip/fetch-*.partial 2>/dev/null || fail "corrupt download kept"
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
	tls_ca ca
	tls_cert server ca "IP:127.0.0.1,DNS:localhost"
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

https_ready() {
	device_and_repo
	echo 0123456789abcdef0123456789abcdef >root/etc/machine-id
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
	local h size have
	h=$(b2sum -l 256 v1.1.img | cut -d' ' -f1)
	size=$(stat -c %s v1.1.img)
	have=$((size / 2))
	head -c $have v1.1.img >root/data/slotflip/fetch-$h.partial
	expect_rc 0 sf fetch --stage
	cmp "$STAGED" v1.1.img || fail "staged differs"
	[ "$(log_count "^206 \"bytes=$have-\" $((size - have)) /images/$h.img")" = 1 ] ||
		fail "no 206 for the rest: $(cat www.log)"
}

# The connection cut mid-download (slotflip and its helper killed): the
# next run resumes with a Range request, and the bytes sent in all are
# about the image's size.
test_https_cut_download_resumes() {
	https_ready "location /images/ { limit_rate 50k; }"
	local h size have=0 i pid sent
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
	[ "$(log_count "^206 \"bytes=$have-\" $((size - have)) /images/$h.img")" = 1 ] ||
		fail "no 206 for the rest: $(cat www.log)"
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

test_https_other_ca_refused() {
	https_ready
	tls_ca other
	cp other.pem root/etc/slotflip/ca.pem
	expect_fail 1 "refused" sf fetch
	[ ! -e "$STAGED" ] || fail "staged"
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

run_cases
