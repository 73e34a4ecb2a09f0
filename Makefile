# tcpproxy — build and test entry points.
#   make        builds ./tcpproxy (NativeAOT for this machine: linux-x64/arm64, or on macOS
#               osx-arm64/osx-x64; framework-dependent fallback without a C toolchain)
#   make test   runs every test (xunit, the C grader, the benchmark smoke runs, the reliability
#               suites; on Linux also xunit end-to-end and the grader on the poll backend
#               and in splice mode,
#               the grader as macOS compiles it, and framework-dependent macOS builds)
#   make help   lists the targets, one line each (the "## " comment on each rule)
SHELL := /bin/bash
.DEFAULT_GOAL := all

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

TOP        := $(CURDIR)
TCPPROXY   := $(TOP)/tcpproxy
BUILD      := $(TOP)/build
CLI_PROJ   := src/TcpProxy.Cli/TcpProxy.Cli.csproj
TEST_PROJ  := native-tests/TcpProxy.Tests/TcpProxy.Tests.csproj
# bin/ and obj/ hold generated files rewritten by every build: listing them would re-publish each time.
CS_SOURCES := $(shell find src \( -name bin -o -name obj \) -prune -o \( -name '*.cs' -o -name '*.csproj' \) -print 2>/dev/null) Directory.Build.props
# The machine `make` builds for: macOS (Darwin) gets its own RID, and no Linux-only test steps.
UNAME_S    := $(shell uname -s)
UNAME_M    := $(shell uname -m)
ifeq ($(UNAME_S),Darwin)
HOST_RID   := $(if $(filter arm64,$(UNAME_M)),osx-arm64,osx-x64)
else
HOST_RID   := $(if $(filter aarch64 arm64,$(UNAME_M)),linux-arm64,linux-x64)
endif
# Installs Debian packages that are missing (apt-get update once, only if needed).
ENSURE_PACKAGES := $(TOP)/scripts/ensure-packages.sh

.PHONY: all help test dotnet-test dotnet-test-poll dotnet-test-splice test-packages osx-build clean

all: $(TCPPROXY) ## build ./tcpproxy (NativeAOT for this machine)

# NativeAOT needs a C toolchain to link; without one, publish framework-dependent
# and leave a launcher at ./tcpproxy so every caller sees the same path.
$(TCPPROXY): $(CS_SOURCES)
	@if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1; then \
	  dotnet publish $(CLI_PROJ) -c Release -r $(HOST_RID) -o $(BUILD)/aot -p:PublishAot=true --nologo -v quiet \
	  && cp $(BUILD)/aot/tcpproxy $(TCPPROXY).new && mv -f $(TCPPROXY).new $(TCPPROXY); \
	else \
	  echo "warning: no C toolchain for NativeAOT; building a framework-dependent ./tcpproxy" >&2; \
	  dotnet publish $(CLI_PROJ) -c Release -o $(BUILD)/fdd -p:PublishAot=false --nologo -v quiet \
	  && printf '#!/bin/sh\nexec "%s/fdd/tcpproxy" "$$@"\n' "$(BUILD)" > $(TCPPROXY).new && chmod +x $(TCPPROXY).new && mv -f $(TCPPROXY).new $(TCPPROXY); \
	fi
	@test -x $(TCPPROXY) && echo "built $(TCPPROXY)"

# The end-to-end tests run a real HAProxy, and iptables in network namespaces (ip):
# Debian packages; on macOS those tests are Linux-only and skipped.
test-packages: ## install the Debian packages the end-to-end tests use
ifneq ($(UNAME_S),Darwin)
	@$(ENSURE_PACKAGES) haproxy iptables iproute2 e2fsprogs util-linux mount strace
endif

dotnet-test: $(TCPPROXY) test-packages ## xunit: unit, in-process and end-to-end tests
	TCPPROXY_BIN=$(TCPPROXY) dotnet test $(TEST_PROJ) -c Release --nologo \
	  --logger "console;verbosity=normal"

# The end-to-end classes once more, every proxy they start on the poll backend
# ($$TCPPROXY_EXTRA_ARGS reaches each one): nothing above the poller may depend on epoll.
dotnet-test-poll: $(TCPPROXY) test-packages ## xunit end-to-end tests, every proxy on the poll backend
	TCPPROXY_BIN=$(TCPPROXY) TCPPROXY_EXTRA_ARGS="--poller poll" dotnet test $(TEST_PROJ) -c Release --nologo \
	  --filter "FullyQualifiedName~TcpProxy.Tests.EndToEnd" --logger "console;verbosity=normal"

# The end-to-end classes and the model-based random tests once more, every proxy
# they start splicing (--splice on): every rule must hold in zero-copy mode too.
dotnet-test-splice: $(TCPPROXY) test-packages ## xunit end-to-end and model tests, every proxy with --splice on
	TCPPROXY_BIN=$(TCPPROXY) TCPPROXY_EXTRA_ARGS="--splice on" dotnet test $(TEST_PROJ) -c Release --nologo \
	  --filter "FullyQualifiedName~TcpProxy.Tests.EndToEnd|FullyQualifiedName~TcpProxy.Tests.Model" --logger "console;verbosity=normal"

# Shows the code compiles for macOS here: a framework-dependent build per Mac RID
# (NativeAOT for macOS links only on a Mac), each checked to be a Mach-O executable
# for its CPU (64-bit magic cffaedfe, then CPU_TYPE_ARM64 0x0100000c / X86_64 0x01000007).
OSX_RIDS := osx-arm64 osx-x64
osx-build: ## framework-dependent macOS builds, each checked to be Mach-O
	@mkdir -p $(BUILD)/osx; passed=0; failed=0; \
	for rid in $(OSX_RIDS); do \
	  case $$rid in osx-arm64) want=cffaedfe0c000001;; *) want=cffaedfe07000001;; esac; \
	  log=$(BUILD)/osx/$$rid.log; \
	  if dotnet publish $(CLI_PROJ) -c Release -r $$rid --self-contained false -p:PublishAot=false \
	       --artifacts-path $(BUILD)/osx/artifacts -o $(BUILD)/osx/$$rid --nologo -v quiet >$$log 2>&1 \
	     && got=$$(od -An -tx1 -N8 $(BUILD)/osx/$$rid/tcpproxy | tr -d ' \n') && [ "$$got" = "$$want" ]; then \
	    echo "--- ok: $$rid: $(BUILD)/osx/$$rid/tcpproxy is Mach-O ($$got)"; passed=$$((passed + 1)); \
	  else \
	    echo "!!! $$rid: publish failed or not a Mach-O $$rid executable ($${got:-no binary}):"; sed 's/^/    /' $$log; failed=$$((failed + 1)); \
	  fi; \
	done; \
	echo "osx-build: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

# Fragments owned by the native grader and the benchmark harness add their
# targets and append to TEST_TARGETS.
ifeq ($(UNAME_S),Darwin)
TEST_TARGETS := dotnet-test dotnet-test-poll
else
TEST_TARGETS := dotnet-test dotnet-test-poll dotnet-test-splice osx-build
endif
-include native-tests/native.mk
-include native-tests/libkqueue.mk
-include benchmarks/bench.mk
-include benchmarks/TcpProxy.Benchmarks/micro.mk
-include native-tests/reliability/reliability.mk
-include dist/systemd/units.mk
-include dist/examples.mk
-include dist/install.mk
-include dist/static.mk
-include benchmarks/peers/libasync/libasync.mk

# Each step runs to its end even if an earlier one failed; one closing line
# "N passed, M failed" sums them (scripts/run-tests.sh), logs in build/test-logs/.
test: ## every test step, then one line "N passed, M failed" (root; installs packages; ~11 min)
	@MAKE="$(MAKE)" $(TOP)/scripts/run-tests.sh $(TEST_TARGETS)

# Every rule with a "## " comment, in this file's and the fragments' order, once each.
help: ## list the targets, one line each
	@awk '/^[a-zA-Z0-9_.-]+:.*## / { t = $$0; sub(/:.*/, "", t); d = $$0; sub(/^[^#]*## /, "", d); if (!seen[t]++) printf "  %-22s %s\n", t, d }' $(MAKEFILE_LIST)

clean: ## remove build/, ./tcpproxy and every bin/ and obj/
	rm -rf $(BUILD) $(TCPPROXY)
	find src native-tests benchmarks -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + 2>/dev/null || true
