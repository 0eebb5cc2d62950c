# snapd build and test entry points. `make test` is what CI runs.
GO        ?= go
PREFIX    ?= /usr/local
DESTDIR   ?=
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X github.com/synology-snapd/snapd/internal/version.Version=$(VERSION) \
             -X github.com/synology-snapd/snapd/internal/version.Commit=$(COMMIT)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/staticcheck)

.PHONY: all build test vet fmt staticcheck fuzz bench clean demo test-systemd install uninstall

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/snapd ./cmd/snapd
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/dsmfake ./cmd/dsmfake

test: vet fmt staticcheck
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; find . -name '*.go' -newer go.mod 2>/dev/null) | sort -u); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

staticcheck:
	@if [ ! -x "$(STATICCHECK)" ]; then $(GO) install honnef.co/go/tools/cmd/staticcheck@latest; fi
	$(STATICCHECK) ./...

# A fake NAS with a year of history and snapd on a fast schedule; DEMO_SECONDS=30.
demo: build
	scripts/demo.sh

# Needs root: the real journald test, then systemd 252 as PID 1 of private namespaces
# running the packaged unit (packaging/systemd/test.sh).
test-systemd: build
	internal/logging/testdata/real-journald.sh
	packaging/systemd/test.sh all

# Binary, unit and README; the unit's /usr/local paths follow PREFIX. Config and state are
# the administrator's: never created or overwritten here.
install: build
	install -D -m 0755 $(BIN)/snapd $(DESTDIR)$(PREFIX)/bin/snapd
	install -d -m 0755 $(DESTDIR)/etc/systemd/system
	sed 's#/usr/local/#$(PREFIX)/#g' packaging/systemd/synology-snapd.service > $(DESTDIR)/etc/systemd/system/synology-snapd.service
	chmod 0644 $(DESTDIR)/etc/systemd/system/synology-snapd.service
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/synology-snapd/README.md
	install -D -m 0644 configs/example.yaml $(DESTDIR)$(PREFIX)/share/doc/synology-snapd/example.yaml
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# Leaves /etc/synology-snapd and /var/lib/synology-snapd (config and journal) in place.
uninstall:
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl disable --now synology-snapd.service || true; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/snapd $(DESTDIR)/etc/systemd/system/synology-snapd.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/synology-snapd
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
