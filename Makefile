# audiocap: build, test, run the demo, install and uninstall.
#   make build | test | demo | format
#   make install   [PREFIX=/usr/local] [DESTDIR=] [BUILD=0] [BUILT=.build/release]   (as root for the real system)
#   make uninstall [PREFIX=/usr/local] [DESTDIR=]   (keeps the configuration, the recordings and the user)
#   make install-network [DESTDIR=]   (the drop-in that lets audiocapd use the network: uploads, webhooks,
#                                      network sources, metrics; see docs/service.md)
#
# install builds first when the binaries in BUILT are missing or older than a source file (so
# `make build && sudo make install` does not build again as root, who often has no swift on PATH).
# BUILD=0 installs what BUILT holds as it is: the tests install their debug build that way
# (`make install BUILD=0 BUILT=.build/debug DESTDIR=/tmp/x PREFIX=/usr`).
# The man pages and shell completions are generated from the installed binaries' own argument parsers.
# The release build links Swift's runtime and Foundation statically: the installed programs need only the
# system's libc, libstdc++, libasound and libFLAC (libflac12), not the Swift toolchain (and use about 3 MB
# less memory).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
SYSCONFDIR ?= /etc
DESTDIR ?=

SWIFT ?= swift
INSTALL ?= install
PROGRAMS = audiocapd audiocap
BUILT ?= .build/release
BUILD ?= 1
CONFIG = $(DESTDIR)$(SYSCONFDIR)/audiocap/audiocap.toml
# The network drop-in: an administrator's choice, so it goes under /etc, not beside the unit.
NETWORK_DROPIN = $(SYSCONFDIR)/systemd/system/audiocapd.service.d/network.conf
SOURCES := Package.swift $(shell find Sources Tools -type f 2>/dev/null)

# Everything install writes except the configuration (which it keeps when present, and uninstall keeps).
INSTALLED = \
	$(addprefix $(BINDIR)/,$(PROGRAMS)) \
	$(UNITDIR)/audiocapd.service \
	$(SYSUSERSDIR)/audiocap.conf \
	$(MANDIR)/man1/audiocap.1 \
	$(MANDIR)/man8/audiocapd.8 \
	$(addprefix $(BASHCOMPDIR)/,$(PROGRAMS)) \
	$(addprefix $(ZSHCOMPDIR)/_,$(PROGRAMS)) \
	$(addsuffix .fish,$(addprefix $(FISHCOMPDIR)/,$(PROGRAMS)))

.PHONY: all build test demo install install-network uninstall format

all: build

# A smaller resident set (bench/README.md, "Memory"): lld; no dynamic symbol table (-export-dynamic would
# keep 3.8 MB of names resident that nothing looks up); packed relative relocations (3 MB of .rela.dyn
# shrink to 50 kB) where glibc has them, from 2.36 on (Debian 12, Ubuntu 24.04); a binary linked so needs
# such a glibc to run.
GLIBC_MINOR := $(shell getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc 2\.\([0-9]*\).*/\1/p')
RELR := $(shell [ "$(GLIBC_MINOR)" -ge 36 ] 2>/dev/null && echo "-Xlinker -z -Xlinker pack-relative-relocs")
# The functions audiocapd runs go first, together (Tools/link-order/generate.sh writes the list): 6 MB less
# of the binary resident. Functions the list does not name (new code) follow it; nothing else changes.
ORDER = Tools/link-order/audiocapd.order
ORDER_FLAGS := $(shell [ -f $(ORDER) ] && echo "-Xlinker --symbol-ordering-file=$(CURDIR)/$(ORDER) -Xlinker --no-warn-symbol-ordering")
# libstdc++ (the Swift runtime is C++) linked in, not loaded as a shared library: 1.3 MB less resident. The
# linker takes `-lstdc++` from .build/static-libstdc++, where a one-line script names the static library;
# without a static libstdc++ (no libstdc++-dev), the shared one is used as before.
STDCXX_A := $(shell clang -print-file-name=libstdc++.a 2>/dev/null)
STDCXX_DIR = $(CURDIR)/.build/static-libstdc++
STDCXX_FLAGS := $(if $(filter /%,$(STDCXX_A)),$(if $(wildcard $(STDCXX_A)),-Xlinker -L$(STDCXX_DIR)))
LINK_FLAGS ?= -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic $(RELR) $(ORDER_FLAGS) $(STDCXX_FLAGS)
# Every function in a section of its own (Swift puts local ones, closures and async parts, in one `.text` per
# file otherwise), so that the list moves only what ran. SCRATCH: SwiftPM's build folder (`make build` only).
SWIFT_FLAGS ?= -Xswiftc -Xfrontend -Xswiftc -function-sections
SCRATCH ?= .build
# SwiftPM does not see the list change: a binary older than the list is removed, so that it is linked again.
RELEASE_BUILD = if [ -n "$(STDCXX_FLAGS)" ]; then mkdir -p $(STDCXX_DIR) && \
	    echo "INPUT($(STDCXX_A))" > $(STDCXX_DIR)/libstdc++.so; fi; for p in $(PROGRAMS); do [ ! -f $(ORDER) ] || \
	    [ ! $(ORDER) -nt $(SCRATCH)/release/$$p ] || rm -f $(SCRATCH)/release/$$p; done; \
	$(SWIFT) build -c release --scratch-path $(SCRATCH) --static-swift-stdlib $(SWIFT_FLAGS) $(LINK_FLAGS)

build:
	$(RELEASE_BUILD)
	touch $(addprefix $(SCRATCH)/release/,$(PROGRAMS) generate-manpage)

test:
	$(SWIFT) test

# Formats the tree as CI checks it (.swift-format: 4 spaces, 120 columns).
format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Tools bench Package.swift

demo: build
	$(BUILT)/audiocapd --config config/demo.toml

ifeq ($(BUILD),1)
$(addprefix $(BUILT)/,$(PROGRAMS) generate-manpage): $(SOURCES)
	@if [ "$(BUILT)" != ".build/release" ]; then \
	    echo "BUILT=$(BUILT) is not where make builds (.build/release): add BUILD=0 to install it as it is" >&2; exit 1; \
	fi
	$(RELEASE_BUILD)
	touch $(addprefix .build/release/,$(PROGRAMS) generate-manpage)
else
$(addprefix $(BUILT)/,$(PROGRAMS) generate-manpage):
	@echo "$@ is missing: run make build first, or point BUILT= at the folder holding the binaries" >&2; exit 1
endif

install: $(addprefix $(BUILT)/,$(PROGRAMS) generate-manpage)
	$(INSTALL) -d $(addprefix $(DESTDIR),$(BINDIR) $(UNITDIR) $(SYSUSERSDIR) $(MANDIR)/man1 $(MANDIR)/man8 \
	    $(BASHCOMPDIR) $(ZSHCOMPDIR) $(FISHCOMPDIR))
	$(INSTALL) -m 0755 $(addprefix $(BUILT)/,$(PROGRAMS)) $(DESTDIR)$(BINDIR)/
	sed -e 's|/usr/local/bin/audiocapd|$(BINDIR)/audiocapd|' \
	    -e 's|/etc/audiocap/audiocap.toml|$(SYSCONFDIR)/audiocap/audiocap.toml|' \
	    systemd/audiocapd.service > $(DESTDIR)$(UNITDIR)/audiocapd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/audiocapd.service
	$(INSTALL) -m 0644 systemd/audiocap.sysusers $(DESTDIR)$(SYSUSERSDIR)/audiocap.conf
	$(BUILT)/audiocap --experimental-dump-help | $(BUILT)/generate-manpage --section 1 --source "audiocap $$($(BUILT)/audiocap --version)" --see-also 'audiocapd(8)' > $(DESTDIR)$(MANDIR)/man1/audiocap.1
	$(BUILT)/audiocapd --experimental-dump-help | $(BUILT)/generate-manpage --section 8 --source "audiocap $$($(BUILT)/audiocapd --version)" --see-also 'audiocap(1)' --see-also 'systemd.service(5)' --see-also 'journalctl(1)' > $(DESTDIR)$(MANDIR)/man8/audiocapd.8
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/audiocap.1 $(DESTDIR)$(MANDIR)/man8/audiocapd.8
	set -e; for program in $(PROGRAMS); do \
	    $(BUILT)/$$program --generate-completion-script bash > $(DESTDIR)$(BASHCOMPDIR)/$$program; \
	    $(BUILT)/$$program --generate-completion-script zsh > $(DESTDIR)$(ZSHCOMPDIR)/_$$program; \
	    $(BUILT)/$$program --generate-completion-script fish > $(DESTDIR)$(FISHCOMPDIR)/$$program.fish; \
	    chmod 0644 $(DESTDIR)$(BASHCOMPDIR)/$$program $(DESTDIR)$(ZSHCOMPDIR)/_$$program $(DESTDIR)$(FISHCOMPDIR)/$$program.fish; \
	done
	@if [ -e $(CONFIG) ]; then \
	    echo "keeping the existing $(CONFIG)"; \
	else \
	    $(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/audiocap && \
	    $(INSTALL) -m 0644 config/audiocap.toml $(CONFIG) && \
	    echo "installed $(CONFIG)"; \
	fi
	@# The service runs as the system user audiocap; create it when installing onto this machine
	@# (systemd also applies the sysusers.d file at boot).
	@if [ -z "$(DESTDIR)" ]; then \
	    if command -v systemd-sysusers >/dev/null; then \
	        echo "systemd-sysusers $(SYSUSERSDIR)/audiocap.conf"; \
	        systemd-sysusers $(SYSUSERSDIR)/audiocap.conf; \
	    elif ! getent passwd audiocap >/dev/null; then \
	        groups=$$(getent group audio >/dev/null && echo "--groups audio"); \
	        echo "useradd --system --user-group $$groups --home-dir /var/lib/audiocap --no-create-home --shell /usr/sbin/nologin audiocap"; \
	        useradd --system --user-group $$groups --home-dir /var/lib/audiocap --no-create-home --shell /usr/sbin/nologin audiocap; \
	    fi; \
	    if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	    echo "next: systemctl enable --now audiocapd"; \
	fi

install-network:
	$(INSTALL) -D -m 0644 systemd/audiocapd-network.conf $(DESTDIR)$(NETWORK_DROPIN)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; \
	    echo "next: systemctl restart audiocapd"; \
	fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && [ -e $(UNITDIR)/audiocapd.service ]; then \
	    echo "systemctl disable --now audiocapd"; \
	    systemctl disable --now audiocapd || true; \
	fi
	rm -f $(addprefix $(DESTDIR),$(INSTALLED)) $(DESTDIR)$(NETWORK_DROPIN)
	@rmdir $(dir $(DESTDIR)$(NETWORK_DROPIN)) 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
	@echo "kept: $(CONFIG), the recordings under /var/lib/audiocap and the user audiocap"
