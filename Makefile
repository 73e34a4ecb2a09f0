# tcpproxy — build and test entry points.
#   make        builds ./tcpproxy (NativeAOT, linux-x64; framework-dependent fallback)
#   make test   runs every test (xunit, the C grader, the benchmark smoke runs, the reliability suites)
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
# Installs Debian packages that are missing (apt-get update once, only if needed).
ENSURE_PACKAGES := $(TOP)/scripts/ensure-packages.sh

.PHONY: all test dotnet-test test-packages clean

all: $(TCPPROXY)

# NativeAOT needs a C toolchain to link; without one, publish framework-dependent
# and leave a launcher at ./tcpproxy so every caller sees the same path.
$(TCPPROXY): $(CS_SOURCES)
	@if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1; then \
	  dotnet publish $(CLI_PROJ) -c Release -r linux-x64 -o $(BUILD)/aot -p:PublishAot=true --nologo -v quiet \
	  && cp $(BUILD)/aot/tcpproxy $(TCPPROXY).new && mv -f $(TCPPROXY).new $(TCPPROXY); \
	else \
	  echo "warning: no C toolchain for NativeAOT; building a framework-dependent ./tcpproxy" >&2; \
	  dotnet publish $(CLI_PROJ) -c Release -o $(BUILD)/fdd -p:PublishAot=false --nologo -v quiet \
	  && printf '#!/bin/sh\nexec "%s/fdd/tcpproxy" "$$@"\n' "$(BUILD)" > $(TCPPROXY).new && chmod +x $(TCPPROXY).new && mv -f $(TCPPROXY).new $(TCPPROXY); \
	fi
	@test -x $(TCPPROXY) && echo "built $(TCPPROXY)"

# The end-to-end tests run a real HAProxy, and iptables in network namespaces (ip).
test-packages:
	@$(ENSURE_PACKAGES) haproxy iptables iproute2

dotnet-test: $(TCPPROXY) test-packages
	TCPPROXY_BIN=$(TCPPROXY) dotnet test $(TEST_PROJ) -c Release --nologo \
	  --logger "console;verbosity=normal"

# Fragments owned by the native grader and the benchmark harness add their
# targets and append to TEST_TARGETS.
TEST_TARGETS := dotnet-test
-include native-tests/native.mk
-include benchmarks/bench.mk
-include benchmarks/TcpProxy.Benchmarks/micro.mk
-include native-tests/reliability/reliability.mk

# Each step runs to its end even if an earlier one failed; one closing line
# "N passed, M failed" sums them (scripts/run-tests.sh), logs in build/test-logs/.
test:
	@MAKE="$(MAKE)" $(TOP)/scripts/run-tests.sh $(TEST_TARGETS)

clean:
	rm -rf $(BUILD) $(TCPPROXY)
	find src native-tests benchmarks -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + 2>/dev/null || true
