# Reliability suites (issue 8), included by the top-level Makefile.
#   make faults     lossy, rate-limited links between client, proxy and server namespaces (~15 s)
#   make soak       one proxy through rounds of connection churn; SOAK_MINUTES (default 10),
#                   samples and an RSS chart in build/soak/  (make test runs a 2-minute one)
#   make hostile    slowloris, never-reading clients, a flood of reset connects (~20 s)
#   make model      randomized client/server scripts checked against a model (xunit + CsCheck,
#                   MODEL_SCRIPTS scripts, default 24, well under a minute)
#   make fuzz       the same for FUZZ_SECONDS (default 300); replay a failure with MODEL_SEED=...
# Each suite ends with its own "N passed, M failed" line. All of them run as root in network
# namespaces they create (named tpx-PID-ROLE) and remove, with every process ended by PID.
REL_DIR      := $(TOP)/native-tests/reliability
REL_BUILD    := $(BUILD)/reliability
REL_CFLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -pthread
REL_COMMON   := $(REL_DIR)/rel.c $(REL_DIR)/rel.h
REL_PACKAGES := iptables iproute2 ethtool gnuplot-nox
SOAK_MINUTES ?= 10
FUZZ_SECONDS ?= 300
MODEL_SCRIPTS ?= 24

.PHONY: faults soak soak-test hostile model fuzz reliability-packages

$(REL_BUILD)/faults: $(REL_DIR)/faults.c $(REL_COMMON)
	@mkdir -p $(dir $@)
	cc $(REL_CFLAGS) -o $@ $(filter %.c,$^)

$(REL_BUILD)/soak: $(REL_DIR)/soak.c $(REL_DIR)/echo_server.c $(REL_DIR)/echo_server.h $(REL_COMMON)
	@mkdir -p $(dir $@)
	cc $(REL_CFLAGS) -o $@ $(filter %.c,$^)

$(REL_BUILD)/hostile: $(REL_DIR)/hostile.c $(REL_DIR)/echo_server.c $(REL_DIR)/echo_server.h $(REL_COMMON)
	@mkdir -p $(dir $@)
	cc $(REL_CFLAGS) -o $@ $(filter %.c,$^)

reliability-packages:
	@$(ENSURE_PACKAGES) $(REL_PACKAGES)

faults: $(TCPPROXY) $(REL_BUILD)/faults reliability-packages ## lossy, rate-limited links between client, proxy and server namespaces (~15 s)
	$(REL_DIR)/faults.sh $(TCPPROXY) $(REL_BUILD)/faults $(REL_BUILD)/faults-run

soak: $(TCPPROXY) $(REL_BUILD)/soak reliability-packages ## rounds of connection churn for SOAK_MINUTES (10), RSS chart in build/soak/
	$(REL_DIR)/soak.sh $(TCPPROXY) $(REL_BUILD)/soak $$(( $(SOAK_MINUTES) * 60 )) $(BUILD)/soak

soak-test: $(TCPPROXY) $(REL_BUILD)/soak reliability-packages ## the soak for 2 minutes
	$(REL_DIR)/soak.sh $(TCPPROXY) $(REL_BUILD)/soak 120 $(BUILD)/soak

hostile: $(TCPPROXY) $(REL_BUILD)/hostile reliability-packages ## slowloris, never-reading clients, a flood of reset connects (~20 s)
	$(REL_DIR)/hostile.sh $(TCPPROXY) $(REL_BUILD)/hostile $(REL_BUILD)/hostile-run

model: $(TCPPROXY) ## randomized client/server scripts checked against a model (MODEL_SCRIPTS)
	TCPPROXY_BIN=$(TCPPROXY) MODEL_SCRIPTS=$(MODEL_SCRIPTS) dotnet test $(TEST_PROJ) -c Release --nologo \
	  --filter "Category=Model" --logger "console;verbosity=normal"

fuzz: $(TCPPROXY) ## the model tests for FUZZ_SECONDS (300); replay with MODEL_SEED=...
	TCPPROXY_BIN=$(TCPPROXY) MODEL_SECONDS=$(FUZZ_SECONDS) dotnet test $(TEST_PROJ) -c Release --nologo \
	  --filter "Category=Model" --logger "console;verbosity=normal"

# Linux only: network namespaces, iptables and tc.
ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += faults soak-test hostile
endif
