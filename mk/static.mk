# Proof that the initramfs toolchain works: a fully static program linked
# with Debian's libblkid.a, libsodium.a, libz.a, libzstd.a and our
# libkmod.a, which calls each of them. Built and run by `make check` only. Needs $(KMOD_A)
# from mk/kmod.mk, included here whatever the order of mk/*.mk.

ifndef KMOD_MK_INCLUDED
include mk/kmod.mk
endif

STATIC_LIBS := $(KMOD_A) -lblkid -lsodium -lzstd -lz -pthread

$(B)/static-probe: tests/static/probe.c $(KMOD_A)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(KMOD_CFLAGS) -static -o $@ $< $(STATIC_LIBS)
