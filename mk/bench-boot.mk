# make bench-boot (part of `make bench`): the boot-time cost of
# slotflip-init with nothing staged, against a minimal initramfs, in QEMU
# (tests/bench/bench-boot.sh; BENCH_BOOTS=N boots of each, default 5).
# Prints figures, asserts nothing; files in $(B)/bench/boot/.

bench-boot: $(B)/slotflip-init $(B)/slotflip-image $(B)/ovmf-vars
	SF_SRCDIR=$(CURDIR) SF_STATIC_BIN=$(CURDIR)/$(B) tests/bench/bench-boot.sh

bench: bench-boot

.PHONY: bench-boot
