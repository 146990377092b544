# make install DESTDIR=... PREFIX=...: the device's programs, the boot
# confirmation unit and script, a sample config, the docs.
#   $(PREFIX)/sbin/slotflip                   the runtime tool
#   $(PREFIX)/lib/slotflip/slotflip-confirm   run by the unit
#   $(PREFIX)/lib/slotflip/slotflip-init      the initramfs /init
#   $(PREFIX)/bin/slotflip-image              the build server's tool
#   $(PREFIX)/lib/systemd/system/slotflip-confirm.service
#   /etc/slotflip/slotflip.conf.sample, /etc/slotflip/health.d/
#   $(PREFIX)/share/doc/slotflip/

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
SBINDIR := $(PREFIX)/sbin
LIBEXECDIR := $(PREFIX)/lib/slotflip
UNITDIR := $(PREFIX)/lib/systemd/system
DOCDIR := $(PREFIX)/share/doc/slotflip

install: $(PROGRAMS)
	install -D -m 0755 $(B)/slotflip $(DESTDIR)$(SBINDIR)/slotflip
	install -D -m 0755 $(B)/slotflip-init $(DESTDIR)$(LIBEXECDIR)/slotflip-init
	install -D -m 0755 $(B)/slotflip-image $(DESTDIR)$(PREFIX)/bin/slotflip-image
	install -D -m 0755 bootctl/slotflip-confirm $(DESTDIR)$(LIBEXECDIR)/slotflip-confirm
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/slotflip/health.d
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' bootctl/slotflip-confirm.service \
		>$(DESTDIR)$(UNITDIR)/slotflip-confirm.service
	install -D -m 0644 bootctl/slotflip.conf.sample \
		$(DESTDIR)$(SYSCONFDIR)/slotflip/slotflip.conf.sample
	install -D -m 0644 -t $(DESTDIR)$(DOCDIR) README.md docs/*.md

.PHONY: install
