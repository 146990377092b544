# make bench: benchmarks of slotflip-image against its peers (gzip -6,
# b2sum, zlib of the changed blocks) on the shared reference payload. Prints
# figures and goals, asserts nothing: see tests/bench/bench-image.sh for the
# knobs (BENCH_PAYLOAD=DIR, BENCH_RUNS=N). Everything it makes goes to
# $(B)/bench/ (the payload too, when it has to generate it: needs root).

BENCH_DIR := $(B)/bench

# Counts and compresses the 4 KiB blocks that differ between two files.
$(BENCH_DIR)/changed-blocks: tests/bench/changed-blocks.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $< -lz

bench: $(B)/slotflip-image $(BENCH_DIR)/changed-blocks
	tests/bench/bench-image.sh

.PHONY: bench
