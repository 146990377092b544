#!/bin/bash
# Integration tests of `slotflip-image repo` (docs/REPO.md): each command,
# each refusal with its exit status and message, what `repo verify` finds
# (tampering, expiry, a rotation signed by the new keys alone), minisign
# interoperation, and a publication order that never shows a reader a
# timestamp naming a file that is not there yet.
. "$(dirname "$0")/lib.sh"

# Payloads of version N (1, 2, 3...): each changes a few lines.
payloads() {
	seq 1 40000 | sed "s/^$1\$/changed $1/;s/7$/7$1/" >rootfs
	head -c 100000 /dev/zero >>rootfs
	seq 1 2000 >efi
}

keys() {
	local k
	for k in "$@"; do
		"$IMG" keygen -p "$k.pub" -s "$k.sec" >/dev/null
	done
}

# mk N VERSION [create args]: the full image vN.img, signed by k.
mk() {
	local n=$1 v=$2
	shift 2
	payloads "$n"
	SOURCE_DATE_EPOCH=1700000000 "$IMG" create --rootfs rootfs --efi efi \
		--version "$v" --compatible acme-gw --key k.sec \
		--chunk-size 16384 -o "v$n.img" "$@" >/dev/null
}

init() {
	"$IMG" repo init repo --product acme --compatible acme-gw \
		--key k.sec "$@" >/dev/null
}

add() { # IMAGE CHANNEL [args]
	local img=$1 ch=$2
	shift 2
	"$IMG" repo add repo "$img" --channel "$ch" --key k.sec "$@"
}

field() { # FILE KEY: the value of a document's KEY line
	awk -v k="$2" '$1 == k { sub(/^[^ ]* /, ""); print; exit }' "$1"
}

index_of() { # CHANNEL: the path of the index its timestamp names
	echo "repo/channels/$1/index.$(field "repo/channels/$1/timestamp" index-hash)"
}

# Everything the timestamps name is there: what a reader needs.
consistent() {
	local ts ch dir serial idx h
	for ts in repo/channels/*/timestamp; do
		[ -e "$ts" ] || continue
		dir=${ts%/timestamp}
		ch=${dir##*/}
		serial=$(field "$ts" serial)
		[ -f "$dir/timestamp.$serial.minisig" ] ||
			fail "$ch: timestamp.$serial.minisig missing"
		[ -f "repo/keys/$(field "$ts" keys)" ] || fail "$ch: key set missing"
		idx=$(index_of "$ch")
		[ -f "$idx" ] && [ -f "$idx.minisig" ] || fail "$ch: index missing"
		[ "$(stat -c %s "$idx")" = "$(field "$ts" index-size)" ] ||
			fail "$ch: index size"
		for h in $(awk '$1 == "full" { print $3 } $1 == "delta" { print $5 }' "$idx"); do
			[ -f "repo/images/$h.img" ] || fail "$ch: image $h missing"
			[ "$(b2sum -l 256 "repo/images/$h.img" | cut -d' ' -f1)" = "$h" ] ||
				fail "$ch: image $h is not its name"
		done
	done
	! find repo -name '*.tmp.*' | grep . || fail "temporary files left"
}

# A listing of every file and its hash: to show that nothing changed.
snapshot() {
	(cd repo && find . -type f -exec sha256sum {} + | sort)
}

test_help_on_every_repo_command() {
	"$IMG" --help | grep -q "repo init|add|refresh"
	"$IMG" repo --help | grep -q "Usage: slotflip-image repo COMMAND"
	for c in init add refresh promote rotate-keys verify; do
		"$IMG" repo "$c" --help | grep -q "Usage: slotflip-image repo $c" ||
			fail "$c --help"
	done
	expect_fail 2 'unknown command "frob"' "$IMG" repo frob
	expect_fail 2 "Usage: slotflip-image repo COMMAND" "$IMG" repo
	expect_fail 2 "bad option" "$IMG" repo verify repo --key k.sec
	expect_fail 2 "give DIR" "$IMG" repo verify
	expect_fail 2 "--deltas must be a number from 0 to 16" \
		"$IMG" repo add repo x --channel s --key k --deltas 17
}

test_init_refusals() {
	keys k k2
	expect_fail 2 "threshold 2 is above the 1 --key keys" \
		"$IMG" repo init repo --product acme --compatible acme-gw \
		--key k.sec --threshold 2
	expect_fail 2 "threshold must be a number from 1 to 16" \
		"$IMG" repo init repo --product acme --compatible acme-gw \
		--key k.sec --threshold 0
	expect_fail 2 "give --product P" "$IMG" repo init repo \
		--product 'a b' --compatible acme-gw --key k.sec
	expect_fail 2 "give --compatible C" "$IMG" repo init repo \
		--product acme --key k.sec
	expect_fail 2 "give at least one --key SEC" "$IMG" repo init repo \
		--product acme --compatible acme-gw
	expect_fail 2 "the keys do not make a key set" "$IMG" repo init repo \
		--product acme --compatible acme-gw --key k.sec --key k.sec
	[ ! -e repo/keys/1 ] || fail "a refused init wrote keys/1"
	init
	expect_fail 5 "repo is a repository already" "$IMG" repo init repo \
		--product acme --compatible acme-gw --key k2.sec
	expect_fail 5 "is not a repository (no keys/1)" "$IMG" repo verify .
}

test_documents_verify_with_minisign() {
	command -v minisign >/dev/null || skip "minisign not installed"
	keys k
	mk 1 1.0
	init
	minisign -Vm repo/keys/1 -x repo/keys/1.minisig -p k.pub >out.txt
	grep -q "Trusted comment: slotflip-repo keys product:acme set:1" out.txt
	add v1.img stable >/dev/null
	minisign -Vm repo/channels/stable/timestamp \
		-x repo/channels/stable/timestamp.1.minisig \
		-P "$(tail -n 1 k.pub)" >out.txt
	grep -q "slotflip-repo timestamp product:acme channel:stable" out.txt
	minisign -Vm "$(index_of stable)" -p k.pub >out.txt
	grep -q "slotflip-repo index product:acme channel:stable" out.txt
	# The key set's key lines are the keys' own.
	[ "$(field repo/keys/1 key)" = "$(tail -n 1 k.pub)" ]
	# A changed byte is caught by minisign too.
	sed 's/serial 1/serial 9/' repo/channels/stable/timestamp >ts
	! minisign -Vm ts -x repo/channels/stable/timestamp.1.minisig \
		-p k.pub >/dev/null 2>&1 || fail "minisign took a changed timestamp"
}

test_add_offers_full_image_and_deltas() {
	keys k
	mk 1 1.0
	mk 2 1.1
	mk 3 1.2
	mk 4 1.3
	init
	add v1.img stable >out.txt
	grep -q "channel stable offers 1.0: full image .* 0 delta(s); timestamp serial 1" out.txt
	add v2.img stable >/dev/null
	add v3.img stable >/dev/null
	add v4.img stable --deltas 2 >out.txt
	grep -q "delta from 1.2: " out.txt
	grep -q "delta from 1.1: " out.txt
	! grep -q "delta from 1.0" out.txt || fail "more deltas than --deltas 2"
	idx=$(index_of stable)
	[ "$(field "$idx" version)" = 1.3 ]
	[ "$(field "$idx" serial)" = 4 ]
	[ "$(field repo/channels/stable/timestamp serial)" = 4 ]
	[ "$(awk '$1 == "delta" { print $2 }' "$idx" | tr '\n' ' ')" = "1.2 1.1 " ]
	full=$(awk '$1 == "full" { print $3 }' "$idx")
	cmp v4.img "repo/images/$full.img"
	[ "$(awk '$1 == "full" { print $2 }' "$idx")" = "$(stat -c %s v4.img)" ]
	consistent
	# The delta from 1.2 rebuilds 1.3's payloads from 1.2's.
	d=$(awk '$1 == "delta" && $2 == "1.2" { print $5 }' "$idx")
	size=$(awk '$1 == "delta" && $2 == "1.2" { print $4 }' "$idx")
	[ "$size" -lt "$(stat -c %s v4.img)" ]
	"$IMG" verify "repo/images/$d.img" --pubkey k.pub | grep -q "good: delta image 1.3"
	"$IMG" extract v3.img --pubkey k.pub --rootfs r3 --efi e3
	"$IMG" extract "repo/images/$d.img" --pubkey k.pub --rootfs r4 \
		--efi e4 --base-rootfs r3 --base-efi e3
	payloads 4
	cmp r4 rootfs
	cmp e4 efi
	# Its base manifest hash is the one the index of 1.2 named.
	old=$(grep -lx "version 1.2" repo/channels/stable/index.*[0-9a-f])
	[ "$(awk '$1 == "delta" && $2 == "1.2" { print $3 }' "$idx")" = \
		"$(field "$old" manifest)" ]
	"$IMG" repo verify repo --pubkey k.pub >out.txt
	grep -q "channel stable: good: version 1.3 (floor 0), full image and 2 delta(s)" out.txt
	# The same image in another channel: no image is written again.
	(cd repo/images && stat -c '%n %i %Y' ./*) >before
	sleep 1
	add v4.img beta --deltas 2 >out.txt
	grep -q "channel beta offers 1.3: .* 2 delta(s)" out.txt
	(cd repo/images && stat -c '%n %i %Y' ./*) >after
	diff before after
	[ "$(grep -E '^(full|delta) ' "$(index_of beta)")" = \
		"$(grep -E '^(full|delta) ' "$idx")" ]
	# --deltas 0: none.
	mk 5 1.4
	add v5.img stable --deltas 0 | grep -q "0 delta(s)"
}

test_add_refusals_change_nothing() {
	keys k k2
	mk 1 1.0
	mk 2 1.1
	init
	add v2.img stable >/dev/null
	before=$(snapshot)
	expect_fail 7 "is not a key of key set 1 of repo" \
		"$IMG" repo add repo v1.img --channel stable --key k2.sec
	expect_fail 1 "version 1.0 is not above 1.1, what channel stable offers" \
		add v1.img stable
	expect_fail 1 "version 1.1 is not above 1.1" add v2.img stable
	payloads 3
	SOURCE_DATE_EPOCH=1 "$IMG" create --rootfs rootfs --efi efi \
		--version 2.0 --compatible other-gw --key k.sec -o other.img >/dev/null
	expect_fail 1 "other.img is for compatible other-gw, the repository for acme-gw" \
		add other.img stable
	SOURCE_DATE_EPOCH=1 "$IMG" create --rootfs rootfs --efi efi \
		--version 2.0 --compatible acme-gw --key k2.sec -o foreign.img >/dev/null
	expect_fail 1 "foreign.img is not signed by an image key" \
		add foreign.img stable
	SOURCE_DATE_EPOCH=1 "$IMG" create --rootfs rootfs --efi efi \
		--version 2.0 --compatible acme-gw --key k.sec \
		--delta-from v2.img -o delta.img >/dev/null
	expect_fail 1 "delta.img is a delta image: add full images" \
		add delta.img stable
	head -c 5000 v1.img >short.img
	expect_fail 1 "short.img is refused" add short.img stable
	expect_fail 5 "cannot read missing.img" add missing.img stable
	mk 3 1.2
	expect_fail 1 "floor 1.5 must be from the channel's floor 0 to the version offered, 1.2" \
		add v3.img stable --floor 1.5
	expect_fail 2 'bad channel "Stable"' add v3.img Stable
	[ "$(snapshot)" = "$before" ] || fail "a refused add changed the repository"
	consistent
	# The same with --image-key: deltas and checks use the image keys.
	mk 3 1.2 >/dev/null
	expect_fail 1 "v3.img is not signed by an image key" \
		add v3.img stable --image-key k2.sec
	add v3.img stable --floor 1.1 >/dev/null
	[ "$(field "$(index_of stable)" floor)" = 1.1 ]
	mk 4 1.3
	expect_fail 1 "floor 1.0 must be from the channel's floor 1.1" \
		add v4.img stable --floor 1.0
	# New image keys: bases signed by the old ones give no delta.
	payloads 5
	SOURCE_DATE_EPOCH=1 "$IMG" create --rootfs rootfs --efi efi \
		--version 1.4 --compatible acme-gw --key k2.sec -o v5.img >/dev/null
	add v5.img stable --image-key k2.sec >out.txt 2>err.txt
	grep -q "no delta from 1.2: images/.*.img is not signed by an image key" err.txt
	grep -q "no delta from 1.1" err.txt
	grep -q "channel stable offers 1.4: .* 0 delta(s)" out.txt
	consistent
}

test_threshold_two_of_three() {
	command -v minisign >/dev/null || skip "minisign not installed"
	keys k k2 k3
	mk 1 1.0
	"$IMG" repo init repo --product acme --compatible acme-gw --key k.sec \
		--key k2.sec --key k3.sec --threshold 2 >/dev/null
	expect_fail 7 "key set 1 needs signatures by 2 keys, 1 given" \
		"$IMG" repo add repo v1.img --channel stable --key k2.sec
	"$IMG" repo add repo v1.img --channel stable --key k2.sec --key k3.sec \
		--image-key k.sec >/dev/null
	ts=repo/channels/stable/timestamp
	minisign -Vm "$ts" -x "$ts.1.minisig" -p k2.pub >/dev/null
	sed -n 5,8p "$ts.1.minisig" >second.minisig
	minisign -Vm "$ts" -x second.minisig -p k3.pub >/dev/null
	"$IMG" repo verify repo | grep -q "channel stable: good"
	# One signature is below the threshold: refused.
	head -n 4 "$ts.1.minisig" >one && cp one "$ts.1.minisig"
	expect_fail 1 "by 1 of the 3 keys of key set 1, 2 required" \
		"$IMG" repo verify repo
}

test_verify_catches_tampering() {
	keys k
	mk 1 1.0
	mk 2 1.1
	init
	add v1.img stable >/dev/null
	add v2.img stable >/dev/null
	cp -a repo clean
	idx=$(index_of stable)
	full=repo/images/$(awk '$1 == "full" { print $3 }' "$idx").img
	delta=repo/images/$(awk '$1 == "delta" { print $5 }' "$idx").img
	"$IMG" repo verify repo --pubkey k.pub >/dev/null

	# A byte in the middle of the image (of whatever size it compresses
	# to) flipped: same size, another hash.
	local off b
	off=$(($(stat -c %s "$full") / 2))
	b=$(od -An -tu1 -j "$off" -N1 "$full")
	printf "\\$(printf %03o $(((b ^ 0x41) & 255)))" |
		dd of="$full" bs=1 seek="$off" conv=notrunc status=none
	expect_fail 1 "its hash is not the one the index names" \
		"$IMG" repo verify repo
	grep -q "channel stable: refused" err.txt
	rm -rf repo && cp -a clean repo
	head -c -1 "$delta" >d && cat d >"$delta"
	expect_fail 1 "bytes, the index says" "$IMG" repo verify repo
	rm -rf repo && cp -a clean repo
	sed -i 's/^version 1.1$/version 1.9/' "$idx"
	expect_fail 1 "its hash is not the one the timestamp names" \
		"$IMG" repo verify repo
	rm -rf repo && cp -a clean repo
	sed -i 's/^index-size .*/index-size 10/' repo/channels/stable/timestamp
	expect_fail 1 "valid signatures (trusted comment \"slotflip-repo timestamp product:acme channel:stable\") by 0 of the 1 keys" \
		"$IMG" repo verify repo
	rm -rf repo && cp -a clean repo
	# An index signature moved onto the timestamp: another role.
	cp "$idx.minisig" repo/channels/stable/timestamp.2.minisig
	expect_fail 1 "by 0 of the 1 keys" "$IMG" repo verify repo
	rm -rf repo && cp -a clean repo
	# An older, validly signed timestamp is fine for verify (serials are
	# the device's), but one naming a missing index is not.
	rm "$idx"
	expect_fail 1 "cannot open $(echo "$idx" | sed 's|^repo/||')" \
		"$IMG" repo verify repo
	rm -rf repo && cp -a clean repo
	# An image signed by a key the device does not trust.
	keys other
	expect_fail 1 "image has valid signatures from 0 of the 1 trusted keys" \
		"$IMG" repo verify repo --pubkey other.pub
	rm -rf repo && cp -a clean repo
	"$IMG" repo verify repo --pubkey k.pub >/dev/null
}

test_expired_documents_and_refresh() {
	keys k
	mk 1 1.0
	init
	SOURCE_DATE_EPOCH=1000000000 "$IMG" repo add repo v1.img \
		--channel stable --key k.sec >/dev/null
	expect_fail 1 "channels/stable/timestamp: expired at 1000604800" \
		"$IMG" repo verify repo
	SOURCE_DATE_EPOCH=1000000000 "$IMG" repo refresh repo --key k.sec \
		--timestamp-days 30 >/dev/null
	[ "$(field repo/channels/stable/timestamp serial)" = 2 ]
	[ "$(field repo/channels/stable/timestamp expires)" = 1002592000 ]
	# A refresh now: a new timestamp, and a new index (it expired).
	"$IMG" repo refresh repo --key k.sec >out.txt
	grep -q "channel stable: timestamp serial 3, index serial 2" out.txt
	"$IMG" repo verify repo >/dev/null
	# A fresh index is kept; only the timestamp is new.
	"$IMG" repo refresh repo --key k.sec --timestamp-days 1 >out.txt
	grep -q "channel stable: timestamp serial 4, index serial 2" out.txt
	ts=repo/channels/stable/timestamp
	[ $(($(field $ts expires) - $(field $ts issued))) = 86400 ]
	# An index that expired before its timestamp: verify says so.
	SOURCE_DATE_EPOCH=$(($(date +%s) - 2 * 86400)) "$IMG" repo add repo \
		v1.img --channel beta --key k.sec --index-days 1 >/dev/null
	expect_fail 1 "channels/beta/index: expired at" "$IMG" repo verify repo \
		--channel beta
	! grep -q "timestamp: expired" err.txt || fail "the timestamp is fresh"
}

test_refresh_keeps_eight_timestamp_signatures() {
	keys k
	mk 1 1.0
	init
	add v1.img stable >/dev/null
	for i in $(seq 2 11); do
		"$IMG" repo refresh repo --key k.sec >/dev/null
	done
	ls repo/channels/stable/ | grep '^timestamp\.' | sort -t. -k2 -n >sigs
	[ "$(tr '\n' ' ' <sigs)" = "$(for i in $(seq 4 11); do printf 'timestamp.%s.minisig ' "$i"; done)" ] ||
		fail "kept: $(tr '\n' ' ' <sigs)"
	consistent
}

test_promote() {
	keys k
	mk 1 1.0
	mk 2 1.1
	init
	add v1.img stable >/dev/null
	add v2.img beta --floor 1.0 >/dev/null
	expect_fail 1 "channel beta offers 1.1, not 1.0" \
		"$IMG" repo promote repo 1.0 --from beta --to stable --key k.sec
	expect_fail 1 "channel nightly offers nothing, not 1.1" \
		"$IMG" repo promote repo 1.1 --from nightly --to stable --key k.sec
	expect_fail 2 "--from and --to are the same" \
		"$IMG" repo promote repo 1.1 --from beta --to beta --key k.sec
	expect_fail 2 'bad version "x"' \
		"$IMG" repo promote repo x --from beta --to stable --key k.sec
	"$IMG" repo promote repo 1.1 --from beta --to stable --key k.sec >out.txt
	grep -q "channel stable offers 1.1 (from beta); timestamp serial 2" out.txt
	# The same images: the index lines match beta's.
	diff <(grep -E '^(version|manifest|full|delta) ' "$(index_of beta)") \
		<(grep -E '^(version|manifest|full|delta) ' "$(index_of stable)")
	[ "$(field "$(index_of stable)" channel)" = stable ]
	[ "$(field "$(index_of stable)" floor)" = 0 ]
	expect_fail 1 "version 1.1 is not above 1.1, what channel stable offers" \
		"$IMG" repo promote repo 1.1 --from beta --to stable --key k.sec
	"$IMG" repo promote repo 1.1 --from stable --to lts --key k.sec \
		--floor 1.1 >/dev/null
	[ "$(field "$(index_of lts)" floor)" = 1.1 ]
	"$IMG" repo verify repo --pubkey k.pub >out.txt
	[ "$(grep -c ": good:" out.txt)" = 3 ]
	consistent
}

test_rotate_keys() {
	command -v minisign >/dev/null || skip "minisign not installed"
	keys k n1 n2 other
	mk 1 1.0
	init
	add v1.img stable >/dev/null
	expect_fail 7 "is not a key of key set 1" "$IMG" repo rotate-keys repo \
		--key other.sec --new-key n1.sec
	expect_fail 2 "threshold 3 is above the 2 --new-key keys" \
		"$IMG" repo rotate-keys repo --key k.sec --new-key n1.sec \
		--new-key n2.sec --threshold 3
	"$IMG" repo rotate-keys repo --key k.sec --new-key n1.sec \
		--new-key n2.sec --threshold 2 >out.txt
	grep -q "key set 2 (2 of 2 keys)" out.txt
	ts=repo/channels/stable/timestamp
	[ "$(field $ts keys)" = 2 ]
	minisign -Vm $ts -x "$ts.$(field $ts serial).minisig" -p n1.pub >/dev/null
	minisign -Vm repo/keys/2 -x repo/keys/2.minisig -p k.pub >/dev/null
	"$IMG" repo verify repo --pubkey k.pub | grep -q "key set 2 (2 of 2 keys)"
	consistent
	# The old key alone can no longer publish.
	mk 2 1.1
	expect_fail 7 "is not a key of key set 2" add v2.img stable
	"$IMG" repo add repo v2.img --channel stable --key n1.sec --key n2.sec \
		--image-key k.sec >/dev/null
	# keys/2 signed by the new keys alone (the old key's signature
	# dropped): refused.
	cp repo/keys/2.minisig full.minisig
	tail -n 8 full.minisig >repo/keys/2.minisig
	expect_fail 1 "keys/2: valid signatures (trusted comment \"slotflip-repo keys product:acme set:2\") by 0 of the 1 keys of key set 1, 1 required" \
		"$IMG" repo verify repo
	# ... or by the old keys alone.
	head -n 4 full.minisig >repo/keys/2.minisig
	expect_fail 1 "by 0 of the 2 keys of key set 2, 2 required" \
		"$IMG" repo verify repo
	cp full.minisig repo/keys/2.minisig
	"$IMG" repo verify repo >/dev/null
	# A rotation interrupted before the channels were issued again:
	# verify refuses, refresh finishes it.
	cp -a repo/channels before
	"$IMG" repo rotate-keys repo --key n1.sec --key n2.sec \
		--new-key k.sec >/dev/null
	rm -rf repo/channels && cp -a before repo/channels
	expect_fail 1 "names key set 2, the one in force is 3" \
		"$IMG" repo verify repo
	"$IMG" repo refresh repo --key k.sec >/dev/null
	"$IMG" repo verify repo | grep -q "key set 3 (1 of 1 keys)"
	minisign -Vm "$(index_of stable)" -p k.pub >/dev/null
}

test_publication_renames_timestamp_last() {
	command -v strace >/dev/null || skip "strace not installed"
	keys k
	mk 1 1.0
	mk 2 1.1
	init
	add v1.img stable >/dev/null
	# (LeakSanitizer does not work under ptrace.)
	ASAN_OPTIONS=detect_leaks=0 \
		strace -f -qq -e trace=rename,renameat,renameat2 -o trace.txt \
		"$IMG" repo add repo v2.img --channel stable --key k.sec >/dev/null
	# The destination of every rename a reader can see, in order (the
	# work directory of the deltas is not one: its name has ".tmp.").
	sed -n 's/.*rename[a-z0-9]*(.*"\(repo\/[^"]*\)".*) = 0$/\1/p' trace.txt |
		grep -vF .tmp. >order
	cat order
	n=$(wc -l <order)
	[ "$n" = 6 ] || fail "$n renames, want 6 (2 images, index and its \
signatures, timestamp and its signatures)"
	idx=$(index_of stable)
	diff order - <<-EOF
		repo/images/$(awk '$1 == "full" { print $3 }' "$idx").img
		repo/images/$(awk '$1 == "delta" { print $5 }' "$idx").img
		$idx.minisig
		$idx
		repo/channels/stable/timestamp.2.minisig
		repo/channels/stable/timestamp
	EOF
	consistent
}

# hold_lock SECONDS: another writer holds the repository's lock.
hold_lock() {
	flock repo sleep "$1" &
	while flock -n repo true; do sleep 0.05; done
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

test_writers_wait_for_each_other() {
	command -v flock >/dev/null || skip "flock not installed"
	keys k
	mk 1 1.0
	init
	add v1.img stable >/dev/null
	start=$(date +%s%N)
	hold_lock 2
	"$IMG" repo refresh repo --key k.sec >/dev/null
	waited=$(ms_since "$start")
	wait
	[ "$waited" -ge 1900 ] || fail "refresh did not wait (${waited} ms)"
	[ "$(field repo/channels/stable/timestamp serial)" = 2 ]
	# verify only reads: it does not wait.
	start=$(date +%s%N)
	hold_lock 4
	"$IMG" repo verify repo >/dev/null
	waited=$(ms_since "$start")
	wait
	[ "$waited" -lt 3500 ] || fail "verify waited (${waited} ms)"
}

# The sample server block of docs/REPO.md, on 127.0.0.1 without TLS:
# nginx.conf for PORT, serving ./repo, logging to ./access.log.
nginx_conf() {
	local port=$1 t
	{
		echo "pid $PWD/nginx.pid; error_log $PWD/error.log;"
		echo "master_process off; daemon on; events {}"
		echo "http {"
		for t in client_body proxy fastcgi uwsgi scgi; do
			echo "${t}_temp_path $PWD/tmp-$t;"
		done
		sed -n '/^    log_format slotflip/,/^    }$/p' \
			"$SF_SRCDIR/docs/REPO.md" |
			sed -e "s|listen 443 ssl;|listen 127.0.0.1:$port;|" \
				-e '/ssl_/d' -e "s|root /srv/[^;]*;|root $PWD/repo;|" \
				-e "s|/var/log/nginx/slotflip.log|$PWD/access.log|"
		echo "}"
	} >nginx.conf
	grep -q "listen 127.0.0.1:$port;" nginx.conf || fail "no listen line"
	grep -q "root $PWD/repo;" nginx.conf || fail "no root line"
}

start_nginx() {
	local try
	for try in 1 2 3 4 5; do
		PORT=$((20000 + RANDOM % 20000))
		nginx_conf $PORT
		if nginx -p "$PWD/" -c "$PWD/nginx.conf" 2>nginx.err; then
			trap 'kill "$(cat nginx.pid)" 2>/dev/null' EXIT
			return 0
		fi
		grep -q "Address already in use" nginx.err || break
	done
	cat nginx.err >&2
	fail "nginx did not start"
}

# header URL NAME: the value of the response header NAME of a HEAD.
header() {
	curl -sfI "http://127.0.0.1:$PORT/$1" | tr -d '\r' |
		awk -v n="$2" 'tolower($1) == tolower(n) ":" { sub(/^[^ ]* /, ""); print }'
}

test_sample_nginx_block_serves_the_repository() {
	command -v nginx >/dev/null || skip "nginx not installed"
	command -v curl >/dev/null || skip "curl not installed"
	keys k
	mk 1 1.0
	mk 2 1.1
	init
	add v1.img stable >/dev/null
	add v2.img stable >/dev/null
	start_nginx
	idx=$(index_of stable)
	full=$(awk '$1 == "full" { print $3 }' "$idx")
	immutable="public, max-age=31536000, immutable"
	[ "$(header "images/$full.img" Cache-Control)" = "$immutable" ]
	[ "$(header "${idx#repo/}" Cache-Control)" = "$immutable" ]
	[ "$(header "${idx#repo/}.minisig" Cache-Control)" = "$immutable" ]
	[ "$(header channels/stable/timestamp.2.minisig Cache-Control)" = "$immutable" ]
	[ "$(header channels/stable/timestamp Cache-Control)" = "public, max-age=60" ]
	[ "$(header keys/1 Cache-Control)" = "public, max-age=300" ]
	# Bytes as they are: no compression, Range requests on images.
	curl -sf -H "Accept-Encoding: gzip" -D h.txt \
		"http://127.0.0.1:$PORT/channels/stable/timestamp" -o ts
	cmp ts repo/channels/stable/timestamp
	! grep -qi "^content-encoding" h.txt || fail "compressed"
	curl -sf -r 100-199 "http://127.0.0.1:$PORT/images/$full.img" -o part \
		-w '%{http_code}\n' | grep -qx 206
	cmp part <(tail -c +101 "repo/images/$full.img" | head -c 100)
	# Files being written are not served.
	echo partial >"repo/channels/stable/timestamp.tmp.Ab12Cd"
	echo partial >"repo/images/new.img.tmp.Ab12Cd"
	for f in channels/stable/timestamp.tmp.Ab12Cd images/new.img.tmp.Ab12Cd; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' \
			"http://127.0.0.1:$PORT/$f")" = 404 ] || fail "$f served"
	done
	# The device's report headers reach the access log.
	curl -sf -o /dev/null -H "Slotflip-Version: 1.0" -H "Slotflip-Slot: a" \
		-H "Slotflip-Channel: stable" -H "Slotflip-Last-Result: applied" \
		-H "Slotflip-Device: 5e1a" \
		"http://127.0.0.1:$PORT/channels/stable/timestamp"
	kill "$(cat nginx.pid)"
	trap - EXIT
	grep 'GET /channels/stable/timestamp HTTP' access.log |
		grep -q 'version="1.0" slot="a" channel="stable" result="applied" device="5e1a"' ||
		{ cat access.log; fail "no report in the access log"; }
	grep -q 'range="bytes=100-199"' access.log
}

run_cases
