# slotflip: top-level build. Everything generated goes to build/.
#
#   make            static programs in build/
#   make check      install missing packages, run every test (ASan+UBSan)
#   make demo       install missing packages, build, show what slotflip does
#   make analyze    GCC -fanalyzer over the sources (part of check)
#   make bench      benchmarks (print figures, assert nothing)
#   make fuzz       fuzz campaign: each libFuzzer target 10 M runs or 30 min

B := build
S := $(B)/san
CC := gcc

WARN := -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -fno-common
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) -Ilib -pthread
REL_CFLAGS := $(BASE_CFLAGS) -O2 -g
SAN_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
LIBS := -lsodium -lzstd -lz -lblkid -pthread

LIB_SRCS := $(wildcard lib/*.c)
LIB_HDRS := $(wildcard lib/*.h)
IMAGE_SRCS := $(wildcard keys/*.c)
INIT_SRCS := $(wildcard applier/*.c)
RUNTIME_SRCS := $(wildcard bootctl/*.c)
HTTP_SRCS := $(wildcard bootctl/http/*.c)
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)
CLI_TESTS := $(wildcard tests/cli/test-*.sh)

rel_obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
san_obj = $(patsubst %.c,$(S)/obj/%.o,$(1))

# lib/ as a static archive, built twice (release, sanitizers): a program
# links its own objects, then the archive, from which the linker takes
# only the modules that program needs (`nm` shows each program's closure;
# tests/static/test-closure.sh checks it).
REL_LIB := $(B)/libslotflip.a
SAN_LIB := $(S)/libslotflip.a

PROGRAMS := $(B)/slotflip-image $(B)/slotflip-init $(B)/slotflip
# slotflip-http, the download helper of `slotflip fetch`, links libcurl,
# which Debian ships as a shared library only: the one dynamic program.
HTTP_PROGRAM := $(B)/slotflip-http
SAN_PROGRAMS := $(S)/slotflip-image $(S)/slotflip-init $(S)/slotflip \
	$(S)/slotflip-http \
	$(patsubst tests/tools/%.c,$(S)/tool-%,$(wildcard tests/tools/*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(S)/%,$(UNIT_SRCS))
FUZZ_REPLAYS := $(patsubst tests/fuzz/fuzz-%.c,$(S)/replay-%,$(FUZZ_SRCS))

# What `make check` runs, in this order (tests/run.sh): the format check,
# the static-link and closure checks, GCC's static analyzer (-fanalyzer)
# over lib/, applier/, bootctl/ and keys/, unit tests, fuzz-corpus
# replays, integration tests of the programs, then the QEMU boot
# scenarios. Rules for the QEMU harness are in mk/realboot.mk.
QEMU_TESTS := tests/qemu/test-scenarios.sh tests/qemu/test-watchdog.sh \
	tests/qemu/test-runtime.sh tests/qemu/test-secure-boot.sh \
	tests/qemu/test-debian.sh
CHECK_TESTS := tests/format-check.sh tests/static/test-static.sh \
	tests/static/test-closure.sh tests/static/test-analyze.sh \
	$(UNIT_BINS) $(FUZZ_REPLAYS) \
	$(CLI_TESTS) $(QEMU_TESTS)
# ... and what they need besides $(PROGRAMS) and $(SAN_PROGRAMS).
CHECK_EXTRA := $(B)/static-probe $(B)/ovmf-vars $(S)/ovmf-vars

all: $(PROGRAMS) $(HTTP_PROGRAM)

-include mk/*.mk

# `make V=1` shows the commands.
Q := $(if $(V),,@)

# Each object also writes its header dependencies (-MMD) to a .d beside it;
# all depend on this Makefile, for its flags.
$(B)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) -MMD -MP -c -o $@ $<

$(S)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/san  $<")
	$(Q)$(CC) $(SAN_CFLAGS) -MMD -MP -Itests/unit -c -o $@ $<

-include $(shell find $(B)/obj $(S)/obj -type f -name '*.d' 2>/dev/null)

$(REL_LIB): $(call rel_obj,$(LIB_SRCS))
$(SAN_LIB): $(call san_obj,$(LIB_SRCS))
$(REL_LIB) $(SAN_LIB):
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# One link recipe: $(call link,FLAGS) links the objects, then the archives
# (ours before libkmod's) among the prerequisites, then $(LIBS).
define link
@$(if $(Q),echo "  LD      $@")
$(Q)$(CC) $(1) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS)
endef

# Shipped programs are static (the initramfs has no libraries).
$(B)/slotflip-image: $(call rel_obj,$(IMAGE_SRCS)) $(REL_LIB)
$(B)/slotflip-init: $(call rel_obj,$(INIT_SRCS)) $(REL_LIB)
$(B)/slotflip: $(call rel_obj,$(RUNTIME_SRCS)) $(REL_LIB)
$(PROGRAMS):
	$(call link,$(REL_CFLAGS) -static)

$(B)/slotflip-http: $(call rel_obj,$(HTTP_SRCS)) $(REL_LIB)
	$(call link,$(REL_CFLAGS))
$(B)/slotflip-http $(S)/slotflip-http: LIBS += -lcurl

# The same sources, dynamic, with sanitizers, for the tests; and the
# tests' own programs.
$(S)/slotflip-image: $(call san_obj,$(IMAGE_SRCS)) $(SAN_LIB)
$(S)/slotflip-init: $(call san_obj,$(INIT_SRCS)) $(SAN_LIB)
$(S)/slotflip: $(call san_obj,$(RUNTIME_SRCS)) $(SAN_LIB)
$(S)/slotflip-http: $(call san_obj,$(HTTP_SRCS)) $(SAN_LIB)
$(S)/slotflip-image $(S)/slotflip-init $(S)/slotflip $(S)/slotflip-http:
	$(call link,$(SAN_CFLAGS))

$(S)/test-%: $(call san_obj,tests/unit/test-%.c tests/unit/testlib.c) $(SAN_LIB)
	$(call link,$(SAN_CFLAGS))

$(S)/tool-%: $(call san_obj,tests/tools/%.c) $(SAN_LIB)
	$(call link,$(SAN_CFLAGS))

$(S)/replay-%: $(call san_obj,tests/fuzz/fuzz-%.c tests/fuzz/replay.c) $(SAN_LIB)
	$(call link,$(SAN_CFLAGS))

deps:
	scripts/install-deps.sh

# libFuzzer builds (clang) of every fuzz target. `make fuzz` is a
# campaign (tests/fuzz/campaign.sh): each target until FUZZ_RUNS
# executions or FUZZ_SECONDS, whichever comes first, then a table of
# figures in build/fuzz/summary.txt and the inputs that raise coverage
# in build/fuzz/new-NAME/. FUZZ_TARGETS picks targets (default: all).
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?= 1800
FUZZ_TARGETS ?=
FUZZ_BINS := $(patsubst tests/fuzz/fuzz-%.c,$(B)/fuzz/fuzz-%,$(FUZZ_SRCS))

$(B)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -Ilib -g -O1 -pthread \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRCS) $(LIBS)

fuzz: deps
	$(MAKE) $(FUZZ_BINS)
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	tests/fuzz/campaign.sh $(B) $(FUZZ_TARGETS)

demo: deps
	$(MAKE) all
	scripts/demo.sh

check-build: $(PROGRAMS) $(HTTP_PROGRAM) $(SAN_PROGRAMS) $(UNIT_BINS) $(FUZZ_REPLAYS) \
	$(CHECK_EXTRA)

check: deps
	$(MAKE) check-build
	SF_BIN=$(CURDIR)/$(S) SF_SRCDIR=$(CURDIR) SF_STATIC_BIN=$(CURDIR)/$(B) \
	SF_ANALYZE_CFLAGS="$(KMOD_CFLAGS)" \
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	tests/run.sh $(B)/test-logs $(CHECK_TESTS)

# The static analysis alone (also part of check).
analyze: $(KMOD_A)
	SF_SRCDIR=$(CURDIR) SF_ANALYZE_CFLAGS="$(KMOD_CFLAGS)" \
	tests/run.sh $(B)/test-logs tests/static/test-analyze.sh

format-check:
	@tests/format-check.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

.SECONDARY:

.PHONY: demo all check check-build deps clean format-check format fuzz analyze
