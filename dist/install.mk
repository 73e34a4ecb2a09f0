# make install / make uninstall: the binary, the man page, bash and zsh completion
# and the systemd units, under PREFIX (default /usr/local), staged under DESTDIR.
# The units go to $(PREFIX)/lib/systemd/system, which systemd searches for both
# /usr/local and /usr; their ExecStart is rewritten to $(BINDIR)/tcpproxy.
# INSTALL_BIN picks the binary: ./tcpproxy, or build/static/tcpproxy after make static.
PREFIX         ?= /usr/local
DESTDIR        ?=
BINDIR         ?= $(PREFIX)/bin
MANDIR         ?= $(PREFIX)/share/man
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR     ?= $(PREFIX)/share/zsh/site-functions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_BIN    ?= $(TCPPROXY)

# Every file install writes, and so every file uninstall removes.
INSTALLED_FILES := $(BINDIR)/tcpproxy $(MANDIR)/man1/tcpproxy.1 $(BASHCOMPDIR)/tcpproxy $(ZSHCOMPDIR)/_tcpproxy \
  $(SYSTEMDUNITDIR)/tcpproxy@.service $(SYSTEMDUNITDIR)/tcpproxy@.socket

.PHONY: install uninstall install-check

install: $(INSTALL_BIN) ## install under PREFIX (/usr/local) and DESTDIR: binary, man page, completions, systemd units
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/tcpproxy
	install -D -m 0644 $(TOP)/dist/man/tcpproxy.1 $(DESTDIR)$(MANDIR)/man1/tcpproxy.1
	install -D -m 0644 $(TOP)/dist/completion/tcpproxy.bash $(DESTDIR)$(BASHCOMPDIR)/tcpproxy
	install -D -m 0644 $(TOP)/dist/completion/_tcpproxy $(DESTDIR)$(ZSHCOMPDIR)/_tcpproxy
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/local/bin/tcpproxy|$(BINDIR)/tcpproxy|' $(TOP)/dist/systemd/tcpproxy@.service > $(DESTDIR)$(SYSTEMDUNITDIR)/tcpproxy@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/tcpproxy@.service
	install -m 0644 $(TOP)/dist/systemd/tcpproxy@.socket $(DESTDIR)$(SYSTEMDUNITDIR)/tcpproxy@.socket

# Files only: directories such as share/man/man1 belong to the system.
uninstall: ## remove exactly the files make install wrote (same PREFIX and DESTDIR)
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))

# Installs into a temporary DESTDIR, checks the tree, the man page, the completion,
# runs the installed binary (--version, a forward on loopback in a network
# namespace of its own), uninstalls, and finds no file left.
install-check: $(TCPPROXY) ## install into a temporary DESTDIR, run the installed binary, uninstall (~3 s)
	@$(ENSURE_PACKAGES) groff-base iproute2 util-linux python3
	@$(TOP)/dist/install-check.sh "$(MAKE)" $(TCPPROXY) $(TEST_TARGETS)

ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += install-check
endif
