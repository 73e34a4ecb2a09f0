# Benchmark harness fragment, included by the top-level Makefile.
#   make loadgen        builds the C load generator (build/bench/loadgen)
#   make bench-compare  full side-by-side run (~15 min: tcpproxy default/copy/splice/auto × 1 and 2
#                       reactors, refproxy copy/splice, libasync when built, haproxy, nginx, direct)
#                       -> build/bench/compare/<UTC time>/ (and build/bench/compare/latest); the
#                       committed benchmarks/results/ changes only on purpose (benchmarks/README.md)
#   make bench-smoke    the --quick run (~1 min) -> build/bench/quick/ (part of `make test`)
#   make bench-scrape   9 900 idle pairs, a ping-pong client's RTT alone and beside 4 /metrics scrapers
#                       (~30 s; BENCH_SCRAPE_ARGS="--tcpproxy /path/to/other --pairs N")
BENCH_DIR     := $(TOP)/benchmarks
LOADGEN       := $(BUILD)/bench/loadgen
LOADGEN_SRC   := $(wildcard $(BENCH_DIR)/loadgen/*.c)
LOADGEN_HDR   := $(wildcard $(BENCH_DIR)/loadgen/*.h)
BENCH_COMPARE := python3 -B $(BENCH_DIR)/compare/compare.py
BENCH_PEERS   := haproxy nginx libnginx-mod-stream socat gnuplot-nox strace python3
BENCH_ARGS    ?=

BENCH_SCRAPE_ARGS ?=

.PHONY: loadgen bench-peers refproxy bench-compare bench-smoke bench-scrape

loadgen: $(LOADGEN) ## build the C load generator

$(LOADGEN): $(LOADGEN_SRC) $(LOADGEN_HDR)
	@mkdir -p $(dir $@)
	cc -std=c11 -Wall -Wextra -Werror -O2 -o $@ $(LOADGEN_SRC)

# The peers come from Debian packages; ensure-packages keeps their daemons from starting.
bench-peers:
	$(ENSURE_PACKAGES) $(BENCH_PEERS)

# refproxy (the C reference contender) comes from native-tests/native.mk.
# A run goes under build/: the source tree stays clean. BENCH_ARGS="--out benchmarks/results"
# writes the committed copy instead (and refreshes benchmarks/README.md's summary).
bench-compare: $(TCPPROXY) $(LOADGEN) bench-peers refproxy ## benchmark tcpproxy beside refproxy, libasync (if built), HAProxy, nginx (~15 min) -> build/bench/compare/
	@out=$(BUILD)/bench/compare/$$(date -u +%Y%m%dT%H%M%SZ); mkdir -p $$out \
	&& ln -sfn $$(basename $$out) $(BUILD)/bench/compare/latest \
	&& echo "bench-compare: writing $$out" \
	&& TCPPROXY=$(TCPPROXY) $(BENCH_COMPARE) --loadgen $(LOADGEN) --out $$out $(BENCH_ARGS)

bench-smoke: $(TCPPROXY) $(LOADGEN) bench-peers refproxy ## the quick benchmark run (~1 min), its results checked
	TCPPROXY=$(TCPPROXY) $(BENCH_COMPARE) --quick --loadgen $(LOADGEN) --out $(BUILD)/bench/quick
	python3 -B $(BENCH_DIR)/compare/check_results.py $(BUILD)/bench/quick

bench-scrape: $(TCPPROXY) $(LOADGEN) ## 9 900 idle pairs: ping-pong RTT alone and beside /metrics scrapers (~30 s)
	TCPPROXY=$(TCPPROXY) python3 -B $(BENCH_DIR)/compare/scrape_bench.py --loadgen $(LOADGEN) $(BENCH_SCRAPE_ARGS)

# Linux only: the peers come from Debian packages and the load generator is epoll code.
ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += bench-smoke
endif
