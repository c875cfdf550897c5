# audiocap: build, test, run the demo, install and uninstall.
#   make build | test | demo
#   make install   [PREFIX=/usr/local] [DESTDIR=]   (as root for the real system)
#   make uninstall [PREFIX=/usr/local] [DESTDIR=]   (keeps the configuration and the recordings)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
DESTDIR ?=

SWIFT ?= swift
INSTALL ?= install
PROGRAMS = audiocapd audiocap
BUILT = .build/release
CONFIG = $(DESTDIR)$(SYSCONFDIR)/audiocap/audiocap.toml

.PHONY: all build test demo install uninstall

all: build

build:
	$(SWIFT) build -c release

test:
	$(SWIFT) test

demo: build
	$(BUILT)/audiocapd --config config/demo.toml

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(addprefix $(BUILT)/,$(PROGRAMS)) $(DESTDIR)$(BINDIR)/
	sed -e 's|/usr/local/bin/audiocapd|$(BINDIR)/audiocapd|' \
	    -e 's|/etc/audiocap/audiocap.toml|$(SYSCONFDIR)/audiocap/audiocap.toml|' \
	    systemd/audiocapd.service > $(DESTDIR)$(UNITDIR)/audiocapd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/audiocapd.service
	@if [ -e $(CONFIG) ]; then \
	    echo "keeping the existing $(CONFIG)"; \
	else \
	    $(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/audiocap && \
	    $(INSTALL) -m 0644 config/audiocap.toml $(CONFIG) && \
	    echo "installed $(CONFIG)"; \
	fi
	@# The service runs as the system user audiocap; create it when installing onto this machine.
	@if [ -z "$(DESTDIR)" ] && ! getent passwd audiocap >/dev/null; then \
	    echo "useradd --system --user-group --home-dir /var/lib/audiocap --no-create-home --shell /usr/sbin/nologin audiocap"; \
	    useradd --system --user-group --home-dir /var/lib/audiocap --no-create-home --shell /usr/sbin/nologin audiocap; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
	    echo "next: systemctl daemon-reload && systemctl enable --now audiocapd"; \
	fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && [ -e $(UNITDIR)/audiocapd.service ]; then \
	    echo "systemctl disable --now audiocapd"; \
	    systemctl disable --now audiocapd || true; \
	fi
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(PROGRAMS)) $(DESTDIR)$(UNITDIR)/audiocapd.service
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
	@echo "kept: $(CONFIG), the recordings under /var/lib/audiocap and the user audiocap"
