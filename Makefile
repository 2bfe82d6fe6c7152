# Cairn — the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CONFIG ?= debug
BIN = .build/$(CONFIG)/cairn

.PHONY: deps template build release demo test bench clean

# Install what is missing: libgit2-dev, libsqlite3-dev, pkg-config, git, python3, bubblewrap and libcurl4
# (model agents load libcurl when they first call a model) (Debian/Ubuntu).
deps:
	@missing=""; \
	pkg-config --exists libgit2 2>/dev/null || missing="$$missing libgit2-dev"; \
	pkg-config --exists sqlite3 2>/dev/null || missing="$$missing libsqlite3-dev"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	command -v git >/dev/null || missing="$$missing git"; \
	command -v python3 >/dev/null || missing="$$missing python3"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	/sbin/ldconfig -p 2>/dev/null | grep -Eq 'libcurl(-gnutls)?\.so\.4 ' || missing="$$missing libcurl4"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "error: swift not found (expected on PATH or at /opt/swift/usr/bin/swift)"; exit 1; }

template:
	@python3 scripts/embed-template.py

build: deps template
	$(SWIFT) build -c $(CONFIG)

# The release cairn links the Swift runtime and Foundation statically (start-up is ~10 ms shorter than with
# the shared libraries).
# The MCP SDK imports FoundationNetworking, whose static library links -lcurl: the runtime libcurl.so.4 stands in
# for the development symlink (libcurl*-dev need not be installed).
release: deps template
	@mkdir -p .build/curl && ln -sf "$$(/sbin/ldconfig -p | awk '/libcurl\.so\.4 /{print $$NF; exit}')" .build/curl/libcurl.so
	$(SWIFT) build -c release --static-swift-stdlib -Xlinker -L$$PWD/.build/curl

demo: build
	@CAIRN=$(BIN) ./scripts/demo.sh

test: deps template
	@python3 -c 'import yaml' 2>/dev/null || { echo "installing: python3-yaml (tests use it as an independent YAML parser)"; \
	  python3 -m pip install -q pyyaml 2>/dev/null || $(SUDO) apt-get install -y -qq python3-yaml >/dev/null; }
	@python3 -c 'import mcp' 2>/dev/null || { echo "installing: mcp (the official MCP client SDK; tests drive cairn mcp with it)"; \
	  python3 -m pip install -q mcp 2>/dev/null || python3 -m pip install -q --break-system-packages mcp; }
	@command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ] || { echo "installing: dovecot-imapd (connector tests run a real IMAP server)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dovecot-imapd >/dev/null; }
	@python3 -c 'import aiosmtpd, radicale, imapclient' 2>/dev/null || { echo "installing: aiosmtpd radicale imapclient (connector tests and bench)"; \
	  python3 -m pip install -q aiosmtpd radicale imapclient 2>/dev/null || python3 -m pip install -q --break-system-packages aiosmtpd radicale imapclient; }
	@[ -x /usr/sbin/sshd ] && command -v openssl >/dev/null || { echo "installing: openssh-server openssl (sync tests run sshd and make a CA)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openssh-server openssl >/dev/null; }
	$(SWIFT) build --build-tests
	@# The failures are repeated at the end, where a CI log's tail shows them.
	@set -o pipefail; CAIRN_BIN=$$PWD/.build/debug/cairn $(SWIFT) test --skip-build 2>&1 | tee .build/test.log \
	  || { echo "--- failures (from .build/test.log) ---"; grep -E -A4 '✘ Test .*(recorded an issue|failed)|: error: ' .build/test.log | grep -v -E '^(--|◇|✔)' | tail -80; exit 1; }

bench: release
	python3 bench/bench.py --cairn .build/release/cairn

clean:
	rm -rf .build
