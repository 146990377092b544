#!/bin/bash
# Installs the Debian 12 packages slotflip needs, and a deb-src entry for
# bookworm (so that `apt-get source kmod` works: see mk/kmod.mk).
# Idempotent: when everything is there it makes no apt call at all.
# Prints one line saying what it did. Needs root only when something is
# missing; otherwise says what is missing and exits 1.
set -euo pipefail

PACKAGES=(
	# build, test, fuzz, format
	gcc make libc6-dev binutils clang libclang-rt-14-dev clang-format
	# libraries (Debian ships their static archives)
	libsodium-dev libblkid-dev zlib1g-dev
	# slotflip-http (the download helper of `slotflip fetch`); its tests
	# serve files with nginx
	libcurl4-openssl-dev nginx-light
	# zstd chunks of image format 2 (libzstd.a for the static init)
	libzstd-dev
	# signing, images, test data; jq reads `slotflip status --json`
	minisign e2fsprogs xxd jq
	# Secure Boot: signing UKIs (initrd/mkuki.sh --sign), test keys
	sbsigntool openssl
	# dpkg-source, to unpack kmod's source package
	dpkg-dev
	# QEMU boot tests: firmware, disk image, initramfs, modules
	qemu-system-x86 ovmf fdisk mtools dosfstools busybox-static
	systemd-boot-efi cpio kmod
	# tests/cli/test-repo.sh: the order of the renames of a publication;
	# the sample nginx block of docs/REPO.md serving a repository
	strace nginx-light curl
	# the Debian 12 systemd guest (qemu/mkdebian.sh), the real update
	# pair of make bench
	mmdebstrap
	# make bench: the peers of slotflip-image's delta, peak memory
	xdelta3 time
)

SOURCES_D=/etc/apt/sources.list.d
SRC_FILE=$SOURCES_D/slotflip-deb-src.sources
LISTS=/var/lib/apt/lists

# Packages of PACKAGES that are not fully installed, one per line.
missing_packages() {
	local installed
	installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		"${PACKAGES[@]}" 2>/dev/null | awk '$1 == "ii" { print $2 }' || true)
	printf '%s\n' "${PACKAGES[@]}" | grep -vxF -f <(echo "$installed") || true
}

# Does any enabled source entry give deb-src for suite bookworm, main?
have_deb_src() {
	local f
	for f in /etc/apt/sources.list "$SOURCES_D"/*.list; do
		[ -f "$f" ] || continue
		grep -Eq '^[[:space:]]*deb-src[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+bookworm[[:space:]]+(.*[[:space:]])?main([[:space:]]|$)' \
			"$f" && return 0
	done
	for f in "$SOURCES_D"/*.sources; do
		[ -f "$f" ] || continue
		awk -v RS= '
		function has(list, word) { return (" " list " ") ~ (" " word " ") }
		{
			delete v
			n = split($0, lines, "\n")
			for (i = 1; i <= n; i++) {
				if (lines[i] ~ /^#/ || index(lines[i], ":") == 0)
					continue
				k = tolower(substr(lines[i], 1, index(lines[i], ":") - 1))
				v[k] = substr(lines[i], index(lines[i], ":") + 1)
			}
			if (has(v["types"], "deb-src") && has(v["suites"], "bookworm") &&
			    has(v["components"], "main") && tolower(v["enabled"]) !~ /no/)
				found = 1
		}
		END { exit !found }' "$f" && return 0
	done
	return 1
}

# Print deb822 deb-src stanzas mirroring the bookworm `deb` entries of
# debian.sources and sources.list.
deb_src_stanzas() {
	if [ -f "$SOURCES_D/debian.sources" ]; then
		awk -v RS= '
		{
			delete v
			n = split($0, lines, "\n")
			for (i = 1; i <= n; i++) {
				if (lines[i] ~ /^#/ || index(lines[i], ":") == 0)
					continue
				k = tolower(substr(lines[i], 1, index(lines[i], ":") - 1))
				val = substr(lines[i], index(lines[i], ":") + 1)
				sub(/^[ \t]+/, "", val)
				v[k] = val
			}
			if ((" " v["types"] " ") !~ / deb / || v["suites"] !~ /bookworm/ ||
			    tolower(v["enabled"]) ~ /no/)
				next
			print "Types: deb-src"
			print "URIs: " v["uris"]
			print "Suites: " v["suites"]
			print "Components: " v["components"]
			if (v["signed-by"] != "")
				print "Signed-By: " v["signed-by"]
			print ""
		}' "$SOURCES_D/debian.sources"
	fi
	if [ -f /etc/apt/sources.list ]; then
		awk '
		$1 != "deb" { next }
		{
			opts = ""; i = 2
			if ($2 ~ /^\[/) {
				while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
				opts = opts " " $i; i++
			}
			if ($(i + 1) !~ /^bookworm/)
				next
			comps = ""
			for (j = i + 2; j <= NF; j++)
				comps = comps (comps == "" ? "" : " ") $j
			print "Types: deb-src"
			print "URIs: " $i
			print "Suites: " $(i + 1)
			print "Components: " comps
			if (match(opts, /signed-by=[^] ]+/))
				print "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10)
			print ""
		}' /etc/apt/sources.list
	fi
}

have_sources_index() {
	compgen -G "$LISTS/*_dists_bookworm_main_source_Sources*" >/dev/null
}

missing=$(missing_packages | tr '\n' ' ')
missing=${missing% }
need_src=0
have_deb_src || need_src=1

if [ -z "$missing" ] && [ $need_src = 0 ] && have_sources_index; then
	echo "install-deps: all ${#PACKAGES[@]} packages and deb-src present, nothing to do"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing, and not root:" >&2
	[ -z "$missing" ] || echo "  packages: $missing" >&2
	[ $need_src = 0 ] || echo "  a deb-src entry for bookworm main (for apt-get source kmod)" >&2
	echo "  run as root: sudo scripts/install-deps.sh" >&2
	[ -z "$missing" ] ||
		echo "  or: sudo apt-get install --no-install-recommends $missing" >&2
	exit 1
fi

log=$(mktemp /tmp/slotflip-install-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "install-deps: '$*' failed:" >&2
		tail -n 30 "$log" >&2
		exit 1
	fi
}

did=()
if [ $need_src = 1 ]; then
	stanzas=$(deb_src_stanzas)
	if [ -z "$stanzas" ]; then
		echo "install-deps: no bookworm 'deb' entry in $SOURCES_D/debian.sources or /etc/apt/sources.list to mirror as deb-src" >&2
		exit 1
	fi
	{
		echo "# Added by slotflip scripts/install-deps.sh for 'apt-get source kmod'."
		echo "$stanzas"
	} >"$SRC_FILE.tmp"
	mv "$SRC_FILE.tmp" "$SRC_FILE"
	did+=("added $SRC_FILE")
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600)
run "${APT[@]}" update
did+=("ran apt-get update")
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	run "${APT[@]}" install --no-install-recommends $missing
	did+=("installed: $missing")
fi
(
	IFS=';'
	echo "install-deps: ${did[*]}" | sed 's/;/; /g'
)
