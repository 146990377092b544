# make install DESTDIR=... PREFIX=...: the device's programs, the boot
# confirmation unit and script, a sample config, the docs.
#   $(PREFIX)/sbin/slotflip                   the runtime tool
#   $(PREFIX)/lib/slotflip/slotflip-confirm   run by the unit
#   $(PREFIX)/lib/slotflip/slotflip-init      the initramfs /init
#   $(PREFIX)/bin/slotflip-image              the build server's tool
#   $(PREFIX)/lib/systemd/system/slotflip-confirm.service
#   $(PREFIX)/lib/systemd/system/slotflip-trial-failed.service
#   $(PREFIX)/lib/systemd/system/slotflip-fetch.service, .timer
#   $(PREFIX)/lib/slotflip/slotflip-http      the download helper
#   $(PREFIX)/lib/systemd/system.conf.d/slotflip-watchdog.conf
#   /etc/slotflip/slotflip.conf.sample, /etc/slotflip/health.d/
#   $(PREFIX)/share/doc/slotflip/

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
SBINDIR := $(PREFIX)/sbin
LIBEXECDIR := $(PREFIX)/lib/slotflip
UNITDIR := $(PREFIX)/lib/systemd/system
SYSTEMCONFDIR := $(PREFIX)/lib/systemd/system.conf.d
UNITS := slotflip-confirm.service slotflip-trial-failed.service \
	slotflip-fetch.service slotflip-fetch.timer
DOCDIR := $(PREFIX)/share/doc/slotflip

# `slotflip fetch` runs the download helper where install puts it; the
# object is rebuilt when that path changes (another PREFIX), through a
# file that holds it.
HTTP_HELPER := $(LIBEXECDIR)/slotflip-http
HTTP_HELPER_DEF := -DSF_HTTP_HELPER='"$(HTTP_HELPER)"'
$(B)/http-helper-path: http-helper-path-check
	@mkdir -p $(B)
	@echo '$(HTTP_HELPER)' | cmp -s - $@ || echo '$(HTTP_HELPER)' >$@
.PHONY: http-helper-path-check
http-helper-path-check:
$(B)/obj/bootctl/cmd-fetch.o $(S)/obj/bootctl/cmd-fetch.o: $(B)/http-helper-path
$(B)/obj/bootctl/cmd-fetch.o: REL_CFLAGS += $(HTTP_HELPER_DEF)
$(S)/obj/bootctl/cmd-fetch.o: SAN_CFLAGS += $(HTTP_HELPER_DEF)

install: $(PROGRAMS) $(HTTP_PROGRAM)
	install -D -m 0755 $(B)/slotflip $(DESTDIR)$(SBINDIR)/slotflip
	install -D -m 0755 $(B)/slotflip-http $(DESTDIR)$(LIBEXECDIR)/slotflip-http
	install -D -m 0755 $(B)/slotflip-init $(DESTDIR)$(LIBEXECDIR)/slotflip-init
	install -D -m 0755 $(B)/slotflip-image $(DESTDIR)$(PREFIX)/bin/slotflip-image
	install -D -m 0755 bootctl/slotflip-confirm $(DESTDIR)$(LIBEXECDIR)/slotflip-confirm
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/slotflip/health.d
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
			-e 's|@DOCDIR@|$(DOCDIR)|g' bootctl/$$u \
			>$(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -D -m 0644 bootctl/slotflip-watchdog.conf \
		$(DESTDIR)$(SYSTEMCONFDIR)/slotflip-watchdog.conf
	install -D -m 0644 bootctl/slotflip.conf.sample \
		$(DESTDIR)$(SYSCONFDIR)/slotflip/slotflip.conf.sample
	install -D -m 0644 -t $(DESTDIR)$(DOCDIR) README.md docs/*.md

.PHONY: install
