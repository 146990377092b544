# libkmod, static: Debian ships no libkmod.a, so scripts/build-libkmod.sh
# builds one from Debian's kmod source package (apt-get source; needs the
# deb-src entry that `make deps` adds). The download is kept in
# $(B)/kmod-src/ and done once; the archive is rebuilt only when the script
# or its config.h change. Users: link $(KMOD_A), compile with $(KMOD_CFLAGS).

ifndef KMOD_MK_INCLUDED
KMOD_MK_INCLUDED := 1

KMOD_A := $(B)/kmod/libkmod.a
KMOD_CFLAGS := -I$(B)/kmod/include

$(KMOD_A): scripts/build-libkmod.sh scripts/libkmod-config.h
	scripts/build-libkmod.sh $(B)

endif
