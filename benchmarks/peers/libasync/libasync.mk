# The libasync peer (benchmarks/peers/libasync: tcpproxy.C, pair.C), included by the top-level Makefile.
#   make libasync SFSLITE=/path/to/sfslite   builds libasync's async/ from that checkout (a copy
#                            under build/libasync/src) and links build/libasync/tcpproxy
#   make native-test-libasync  the grader on the peer: classic phases required, extra reported
#   make test-libasync       (in make test) the above with SFSLITE or a built peer, else one
#                            line saying why it was skipped
# libasync's source is never part of this repository: see benchmarks/README.md for the checkout.
LIBASYNC_DIR      := $(BUILD)/libasync
LIBASYNC_SRC      := $(LIBASYNC_DIR)/src
LIBASYNC_LIB      := $(LIBASYNC_SRC)/async/.libs/libasync.a
LIBASYNC_PEER     := $(LIBASYNC_DIR)/tcpproxy
LIBASYNC_PEER_DIR := $(TOP)/benchmarks/peers/libasync
LIBASYNC_PEER_SRC := $(LIBASYNC_PEER_DIR)/tcpproxy.C $(LIBASYNC_PEER_DIR)/pair.C
LIBASYNC_BUILD    := $(LIBASYNC_PEER_DIR)/build-libasync.sh
LIBASYNC_CXXFLAGS := -std=gnu++11 -O2 -Wall -I$(LIBASYNC_SRC)/async -I$(LIBASYNC_SRC) -I/usr/include/tirpc
LIBASYNC_LIBS     := -lpcre -ltirpc -lresolv
LIBASYNC_HOWTO    := make libasync SFSLITE=/path/to/sfslite (git clone https://github.com/OkCupid/sfslite)
SFSLITE           ?=

.PHONY: libasync native-test-libasync test-libasync

libasync: ## build build/libasync/tcpproxy from SFSLITE=sfslite-checkout
ifneq ($(SFSLITE),)
	@$(LIBASYNC_BUILD) "$(SFSLITE)" $(LIBASYNC_DIR)
endif
	@[ -f $(LIBASYNC_LIB) ] || { echo "libasync: not built yet; $(LIBASYNC_HOWTO)" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(LIBASYNC_PEER)

$(LIBASYNC_PEER): $(LIBASYNC_PEER_SRC) $(LIBASYNC_PEER_DIR)/pair.h $(LIBASYNC_LIB)
	g++ $(LIBASYNC_CXXFLAGS) -o $@ $(LIBASYNC_PEER_SRC) $(LIBASYNC_LIB) $(LIBASYNC_LIBS)

# Classic phases must pass; the extra ones are reported, indented so that run-tests.sh does
# not count them, with a summary line of their own.
native-test-libasync: $(GRADER_BIN) ## the C grader on the libasync peer (classic phases required)
	@[ -x $(LIBASYNC_PEER) ] || { echo "native-test-libasync: no $(LIBASYNC_PEER); $(LIBASYNC_HOWTO)" >&2; exit 2; }
	$(GRADER_BIN) $(LIBASYNC_PEER)
	@last=$$($(GRADER_BIN) 2>&1 | sed -n 's/.*, 11-\([0-9]*\) extra.*/\1/p'); \
	extra=$$(seq -s, 11 $$last); \
	echo "libasync peer, extra phases $$extra (reported, not required):"; \
	$(GRADER_BIN) --only $$extra $(LIBASYNC_PEER) 2>&1 | sed 's/^/    /'; true

ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += test-libasync
endif

test-libasync: ## the libasync grader step when the peer exists, else one line saying why it is skipped
ifneq ($(SFSLITE),)
	@$(MAKE) --no-print-directory libasync SFSLITE="$(SFSLITE)"
	@$(MAKE) --no-print-directory native-test-libasync
else
	@if [ -x $(LIBASYNC_PEER) ]; then $(MAKE) --no-print-directory native-test-libasync; \
	else echo "test-libasync: skipped: no SFSLITE checkout given and no $(LIBASYNC_PEER) ($(LIBASYNC_HOWTO))"; fi
endif
