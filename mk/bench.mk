# make bench: benchmarks of slotflip-image (tests/bench/bench-image.sh) and
# of the apply of slotflip-init (tests/bench/bench-apply.sh, needs root)
# against their peers on the shared reference payload; `make bench-peers`
# adds `rauc install` to the apply benchmark. They print figures and goals
# and assert nothing: see the scripts for the knobs (BENCH_PAYLOAD=DIR,
# BENCH_RUNS=N). Everything they make goes to $(B)/bench/ (the payload too,
# when it has to be generated: needs root).

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

BENCH_TOOLS := $(B)/slotflip-image $(B)/slotflip-init \
	$(BENCH_DIR)/changed-blocks $(BENCH_DIR)/state-tool \
	$(BENCH_DIR)/hash-chunks

bench: $(BENCH_TOOLS)
	tests/bench/bench-image.sh
	tests/bench/bench-apply.sh

bench-peers: $(BENCH_TOOLS)
	BENCH_PEERS=1 tests/bench/bench-apply.sh

.PHONY: bench bench-peers
