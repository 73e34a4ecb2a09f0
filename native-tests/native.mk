# native-tests: the C grader (test-tcpproxy), the reference/broken C proxy (refproxy),
# the high-fanout stress tool and the demo.  Included by the top-level Makefile.
NATIVE_DIR   := $(TOP)/native-tests
NATIVE_BUILD := $(BUILD)/native
NATIVE_CC    ?= cc
NATIVE_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2
GRADER_BIN   := $(NATIVE_BUILD)/test-tcpproxy
REFPROXY_BIN := $(NATIVE_BUILD)/refproxy
STRESS_BIN   := $(NATIVE_BUILD)/stress
STRESS_ARGS  ?=
STRESS_PROXY_ARGS ?=

.PHONY: grader refproxy stress-tool native-test native-test-poll native-test-splice native-test-portable stress demo native-ensure-socat

grader: $(GRADER_BIN) ## build the C grader
refproxy: $(REFPROXY_BIN) ## build the C reference proxy
stress-tool: $(STRESS_BIN) ## build the C stress client

$(GRADER_BIN): $(wildcard $(NATIVE_DIR)/grader/*.c $(NATIVE_DIR)/grader/*.h)
	@mkdir -p $(NATIVE_BUILD)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -pthread -o $@ $(filter %.c,$^)

$(REFPROXY_BIN): $(NATIVE_DIR)/refproxy/refproxy.c
	@mkdir -p $(NATIVE_BUILD)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -o $@ $<

$(STRESS_BIN): $(NATIVE_DIR)/stress/stress.c
	@mkdir -p $(NATIVE_BUILD)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -o $@ $<

# socat is a rival proxy the grader must fail on the two timeout phases.
native-ensure-socat:
	@$(ENSURE_PACKAGES) socat

ifeq ($(UNAME_S),Darwin)
# macOS: refproxy and the stress tool are Linux epoll programs (and socat may be
# missing), so the grader grades ./tcpproxy alone, every phase.
native-test: $(TCPPROXY) $(GRADER_BIN) ## the C grader on ./tcpproxy, refproxy and broken proxies, and a small stress
	$(GRADER_BIN) --extra $(TCPPROXY)
else
# Grades ./tcpproxy and refproxy (all phases must pass), the broken proxies (exactly the
# expected phases must fail) and runs a small stress.
native-test: $(TCPPROXY) $(GRADER_BIN) $(REFPROXY_BIN) $(STRESS_BIN) native-ensure-socat ## the C grader on ./tcpproxy, refproxy and broken proxies, and a small stress
	$(NATIVE_DIR)/native-test.sh $(GRADER_BIN) $(TCPPROXY) $(REFPROXY_BIN) $(STRESS_BIN)
endif

# ./tcpproxy on the poll backend, every phase: a wrapper adds --poller poll (exec keeps
# the PID the grader signals).
TCPPROXY_POLL := $(BUILD)/tcpproxy-poll
native-test-poll: $(TCPPROXY) $(GRADER_BIN) ## the C grader on ./tcpproxy --poller poll
	@printf '#!/bin/sh\nexec "%s" "$$@" --poller poll\n' "$(TCPPROXY)" > $(TCPPROXY_POLL) && chmod +x $(TCPPROXY_POLL)
	$(GRADER_BIN) --extra $(TCPPROXY_POLL)

# ./tcpproxy splicing (--splice on, Linux only), every phase, classic and extra.
TCPPROXY_SPLICE := $(BUILD)/tcpproxy-splice
native-test-splice: $(TCPPROXY) $(GRADER_BIN) ## the C grader on ./tcpproxy --splice on
	@printf '#!/bin/sh\nexec "%s" "$$@" --splice on\n' "$(TCPPROXY)" > $(TCPPROXY_SPLICE) && chmod +x $(TCPPROXY_SPLICE)
	$(GRADER_BIN) --extra $(TCPPROXY_SPLICE)

# The grader as macOS compiles it (POSIX stand-ins for epoll, /proc, prctl, accept4:
# grader/compat.h), built and run here so that code is exercised on every make test.
GRADER_PORTABLE_BIN := $(NATIVE_BUILD)/test-tcpproxy-portable
$(GRADER_PORTABLE_BIN): $(wildcard $(NATIVE_DIR)/grader/*.c $(NATIVE_DIR)/grader/*.h)
	@mkdir -p $(NATIVE_BUILD)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -DGRADER_PORTABLE -pthread -o $@ $(filter %.c,$^)

native-test-portable: $(TCPPROXY) $(GRADER_PORTABLE_BIN) ## the grader as macOS compiles it, on ./tcpproxy
	$(GRADER_PORTABLE_BIN) --extra $(TCPPROXY)

ifeq ($(UNAME_S),Darwin)
TEST_TARGETS += native-test native-test-poll
else
TEST_TARGETS += native-test native-test-poll native-test-splice native-test-portable
endif

# 9 000 connections by default (the proxy holds 2 per pair under a hard limit of 20 000).
# STRESS_PROXY_ARGS go to the proxy, e.g. STRESS_PROXY_ARGS="--splice on".
stress: $(TCPPROXY) $(STRESS_BIN) ## many connections through ./tcpproxy (STRESS_ARGS, STRESS_PROXY_ARGS)
	$(STRESS_BIN) $(STRESS_ARGS) $(TCPPROXY) $(STRESS_PROXY_ARGS)

demo: $(TCPPROXY) ## build ./tcpproxy, then the classic manual test, narrated
	@$(ENSURE_PACKAGES) python3
	python3 $(NATIVE_DIR)/demo/demo.py $(TCPPROXY)
