# make bench: benchmarks of slotflip-image (tests/bench/bench-image.sh), of
# the apply of slotflip-init (tests/bench/bench-apply.sh) and of `slotflip
# fetch` from nginx on 127.0.0.1 (tests/bench/bench-fetch.sh), against
# their peers, on the shared synthetic payload and on the real update pair
# (a Debian root filesystem and its updates, 1 KiB and 4 KiB ext4 blocks);
# and of the boot (mk/bench-boot.mk). `make bench-peers` adds `rauc
# install` to the apply benchmark. They print figures and goals and assert
# nothing: see the scripts for the knobs (BENCH_PAYLOAD=DIR, BENCH_REAL=DIR,
# BENCH_RUNS=N). Everything they make goes to $(B)/bench/ (the payloads
# too, when they have to be generated: needs root). Apply and fetch need
# root.
# Run time on a busy 2-CPU machine (measured with BENCH_RUNS=1 and
# scaled), default runs: image ~10 min, and the first time ~25 min more
# (zstd -19 and zstd --patch-from of each payload: their figures are kept
# in $(B)/bench); apply ~9 min; fetch ~3 min; then the boot benchmark. The
# payloads, when generated: ~2 min (synthetic), ~1 min plus downloads
# (real). BENCH_RUNS=1 takes about a third of that.

BENCH_DIR := $(B)/bench

# Counts and compresses the 4 KiB blocks that differ between two files.
$(BENCH_DIR)/changed-blocks: tests/bench/changed-blocks.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $< -lz

# BLAKE2b of a file's 1 MiB chunks on every CPU: the hashing floor of a delta.
$(BENCH_DIR)/hash-chunks: tests/bench/hash-chunks.c $(call rel_obj,lib/hash.c)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $^ -lsodium -pthread

# Sets the EFI state of the apply benchmark's test root.
$(BENCH_DIR)/state-tool: $(call rel_obj,tests/tools/state-tool.c) $(REL_LIB)
	@mkdir -p $(dir $@)
	$(call link,$(REL_CFLAGS))

BENCH_TOOLS := $(B)/slotflip-image $(B)/slotflip-init $(B)/slotflip \
	$(HTTP_PROGRAM) $(BENCH_DIR)/changed-blocks $(BENCH_DIR)/state-tool \
	$(BENCH_DIR)/hash-chunks

# The real update pair (real-v1.ext4 ...), made once by the shared script
# (root, mmdebstrap: about a minute plus the downloads); BENCH_REAL=DIR
# names an existing one instead. Its tarballs are made anew: a run cut
# short may have left one half-written.
BENCH_SHARED ?= ../shared/bench
BENCH_REAL_DEP := $(if $(BENCH_REAL),,$(BENCH_DIR)/real/.complete)

$(BENCH_DIR)/real/.complete:
	@test -f $(BENCH_SHARED)/make-real-payload.sh || { echo "bench: no $(BENCH_SHARED)/make-real-payload.sh to make the real update pair: set BENCH_SHARED=DIR, or BENCH_REAL=DIR for an existing pair" >&2; exit 1; }
	@test "$$(id -u)" = 0 || { echo "bench: making the real update pair needs root (mmdebstrap): run as root, or set BENCH_REAL=DIR" >&2; exit 1; }
	@command -v mmdebstrap >/dev/null || { echo "bench: making the real update pair needs mmdebstrap: apt-get install mmdebstrap (or scripts/install-deps.sh)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	@rm -f $@ $(dir $@)v1.tar $(dir $@)v2.tar
	@echo "bench: generating the real update pair in $(dir $@) with $(BENCH_SHARED)/make-real-payload.sh (log: $(BENCH_DIR)/real.log)"
	@bash $(BENCH_SHARED)/make-real-payload.sh $(dir $@) >$(BENCH_DIR)/real.log 2>&1 || { tail -n 30 $(BENCH_DIR)/real.log >&2; echo "bench: $(BENCH_SHARED)/make-real-payload.sh failed (log: $(BENCH_DIR)/real.log)" >&2; exit 1; }
	@touch $@

bench: $(BENCH_TOOLS) $(BENCH_REAL_DEP)
	tests/bench/bench-image.sh
	tests/bench/bench-apply.sh
	tests/bench/bench-fetch.sh

bench-peers: $(BENCH_TOOLS) $(BENCH_REAL_DEP)
	BENCH_PEERS=1 tests/bench/bench-apply.sh

.PHONY: bench bench-peers
