# Real boot: slotflip-init as PID 1 (links libkmod), the initramfs and UKIs
# (initrd/), the OVMF varstore tool and the disk builder (qemu/), and the
# QEMU scenarios (tests/qemu/, `make qemu-check`).

ifndef KMOD_MK_INCLUDED
include mk/kmod.mk
endif

# applier/modules.c uses libkmod: its headers and archive come from
# mk/kmod.mk; the archive is linked into both builds of slotflip-init.
$(B)/obj/applier/modules.o: REL_CFLAGS += $(KMOD_CFLAGS)
$(S)/obj/applier/modules.o: SAN_CFLAGS += $(KMOD_CFLAGS)
$(B)/obj/applier/modules.o $(S)/obj/applier/modules.o: $(KMOD_A)
$(B)/slotflip-init $(S)/slotflip-init: $(KMOD_A)

# Unit tests of applier/initplan.c (not part of lib/).
$(S)/test-initplan: $(call san_obj,tests/unit/test-initplan.c \
		tests/unit/testlib.c applier/initplan.c) $(SAN_LIB)
	$(call link,$(SAN_CFLAGS))

# The OVMF varstore tool (qemu/varstore.c, qemu/ovmf-vars.c), built like a
# shipped program (static) and like a test tool (sanitizers).
OVMF_VARS_SRCS := qemu/varstore.c qemu/ovmf-vars.c
$(B)/ovmf-vars: $(call rel_obj,$(OVMF_VARS_SRCS)) $(REL_LIB)
	$(call link,$(REL_CFLAGS))
$(S)/ovmf-vars: $(call san_obj,$(OVMF_VARS_SRCS)) $(SAN_LIB)
	$(call link,$(SAN_CFLAGS))

all: $(B)/ovmf-vars
$(S)/obj/tests/unit/test-initplan.o: SAN_CFLAGS += -Iapplier

# The QEMU boot scenarios ($(QEMU_TESTS), listed in the Makefile): OVMF +
# a Debian kernel fetched into $(B)/kernel (qemu/fetch-kernel.sh), one
# QEMU at a time. Work files and serial logs
# stay in $(B)/qemu/cases/NAME. QEMU_CASES="name ..." runs only those. The
# test systems run the static programs, the runtime tool slotflip among
# them (tests/qemu/test-runtime.sh). tests/qemu/test-debian.sh boots a
# stock Debian 12 systemd root made by qemu/mkdebian.sh (cached in
# $(B)/debian; the first run fetches it with mmdebstrap, about 2 min).
QEMU_PROGRAMS := $(B)/slotflip-init $(B)/slotflip-image $(B)/slotflip \
	$(B)/ovmf-vars

qemu-check: deps
	$(MAKE) $(QEMU_PROGRAMS)
	SF_SRCDIR=$(CURDIR) SF_STATIC_BIN=$(CURDIR)/$(B) SF_BIN=$(CURDIR)/$(S) \
		tests/run.sh $(B)/qemu-logs $(QEMU_TESTS)

.PHONY: qemu-check

# Unit tests of applier/modules.c (libkmod, on trees made with depmod).
$(S)/obj/tests/unit/test-modules.o: SAN_CFLAGS += -Iapplier
$(S)/test-modules: $(call san_obj,tests/unit/test-modules.c \
		tests/unit/testlib.c applier/modules.c applier/initplan.c) \
		$(SAN_LIB) $(KMOD_A)
	$(call link,$(SAN_CFLAGS))
