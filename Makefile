# dmypy-swift. `make demo` and `make test` are the two set-up commands of the README.
PREFIX ?= $(HOME)/.local
UNITDIR ?= $(HOME)/.config/systemd/user

.PHONY: demo test build dist install uninstall

demo:
	tools/demo

test:
	tools/test

build:
	tools/build

# The wheel and the Debian package (see the README, "Installing without Swift").
dist:
	tools/dist

install: build
	install -D -m 0755 .build/release/dmypy $(DESTDIR)$(PREFIX)/bin/dmypy
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' systemd/dmypy.service.in > $(DESTDIR)$(UNITDIR)/dmypy.service
	install -m 0644 systemd/dmypy.socket $(DESTDIR)$(UNITDIR)/dmypy.socket

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dmypy $(DESTDIR)$(UNITDIR)/dmypy.service $(DESTDIR)$(UNITDIR)/dmypy.socket
