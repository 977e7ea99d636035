# Build, test and end-to-end targets. README.md describes each one.
GO ?= go
BIN := bin/burrow
# The version burrow reports. Set here because builds with GOFLAGS=-buildvcs=false
# carry no VCS revision.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)

.PHONY: build check test e2e e2e-deps e2e-faults fuzz bench bench-loopback bench-kernel clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/burrow

# Everything CI runs: installs the Debian packages the tests need, then the
# unit and libnfs tests, every fuzz target for a few seconds, the
# kernel-client suite in the QEMU guest, and the fault scenarios.
check: e2e-deps
	$(MAKE) test
	$(MAKE) fuzz FUZZTIME=5s
	$(MAKE) e2e
	$(MAKE) e2e-faults

# Unit tests, protocol tests against real temporary directories, and the
# libnfs client tests (skipped with a message when libnfs-utils is missing).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Boots Debian's kernel under QEMU and runs the end-to-end suite through the
# Linux kernel NFS client, once per server in SERVERS (default: burrow and
# burrow-passthrough), or only for SERVER. CASE=regex runs only the
# matching cases.
e2e: build
	./test/vm/e2e.sh

# Runs the fault scenarios of test/vm/faults (server SIGKILL under fsx,
# durability, disk full, descriptor limit, burrow mount) in one QEMU guest.
e2e-faults: build
	./test/vm/faults/run.sh

# Installs the Debian packages that the QEMU harness needs.
e2e-deps:
	./test/vm/deps.sh

# Runs every fuzz target for FUZZTIME each.
FUZZTIME ?= 10s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# Runs both benchmark parts, each of which rewrites only its own part of
# docs/benchmarks.md. RUNS, when set, applies to both.
bench: bench-loopback bench-kernel

# Measures burrow against nfs-ganesha and go-nfs over loopback and writes
# docs/benchmarks.md. Needs root; installs the peers when they are missing.
# bench/run.sh lists the settings (RUNS, DURATION, BENCH_REV, PROFILE_DIR).
bench-loopback:
	./bench/run.sh

# Times untar, find, git status, sequential and random I/O and rm -rf
# through the Linux kernel NFS client in the QEMU guest, natively and on
# burrow, the kernel nfsd and nfs-ganesha, and writes the kernel-client
# section of docs/benchmarks.md. Installs the peers when they are missing.
# bench/kernel/run.sh lists the settings (RUNS, QUICK, sizes).
bench-kernel: build
	./bench/kernel/run.sh

clean:
	rm -rf bin
