# libkqueue (github.com/mheily/libkqueue: kqueue/kevent over epoll) runs the
# kqueue backend on Linux, real sockets on kqueue semantics: a testing aid,
# not a production backend (docs/kqueue-libkqueue.md).
#   make libkqueue LIBKQUEUE_SRC=/path/to/checkout   builds build/libkqueue/libkqueue.so
#   make dotnet-test-kqueue                          the end-to-end classes on it (part of make test)
# No checkout is ever committed here; without the library the test step says so and passes.
.PHONY: libkqueue dotnet-test-kqueue

LIBKQUEUE_DIR := $(BUILD)/libkqueue
LIBKQUEUE_SO  := $(LIBKQUEUE_DIR)/libkqueue.so

# CMake out of tree (build/libkqueue/cmake), shared library only, no tests of its own.
libkqueue: ## build build/libkqueue/libkqueue.so from LIBKQUEUE_SRC=checkout (a testing aid)
	@if [ -z "$(LIBKQUEUE_SRC)" ] || [ ! -f "$(LIBKQUEUE_SRC)/CMakeLists.txt" ]; then \
	  echo "libkqueue: LIBKQUEUE_SRC must name a libkqueue checkout (git clone https://github.com/mheily/libkqueue)" >&2; exit 2; fi
	@$(ENSURE_PACKAGES) cmake gcc make libc6-dev
	@mkdir -p $(LIBKQUEUE_DIR)
	cmake -S "$(LIBKQUEUE_SRC)" -B $(LIBKQUEUE_DIR)/cmake -DCMAKE_BUILD_TYPE=Release \
	  -DENABLE_STATIC=OFF -DENABLE_SHARED=ON -DENABLE_TESTING=OFF >$(LIBKQUEUE_DIR)/cmake.log 2>&1 \
	  || { cat $(LIBKQUEUE_DIR)/cmake.log >&2; exit 1; }
	$(MAKE) --no-print-directory -C $(LIBKQUEUE_DIR)/cmake kqueue >$(LIBKQUEUE_DIR)/make.log 2>&1 \
	  || { cat $(LIBKQUEUE_DIR)/make.log >&2; exit 1; }
	cp -L $(LIBKQUEUE_DIR)/cmake/libkqueue.so $(LIBKQUEUE_SO).new && mv -f $(LIBKQUEUE_SO).new $(LIBKQUEUE_SO)
	@echo "built $(LIBKQUEUE_SO)"

# LIBKQUEUE (a path to the .so) wins over the one built above.
KQUEUE_LIB := $(or $(LIBKQUEUE),$(LIBKQUEUE_SO))

# The end-to-end classes of dotnet-test-poll, every proxy on --poller kqueue over
# libkqueue, then the kqueue unit tests that run against the real library.
dotnet-test-kqueue: $(TCPPROXY) ## xunit end-to-end tests on --poller kqueue through libkqueue (skipped without it)
	@if [ ! -f "$(KQUEUE_LIB)" ]; then \
	  echo "dotnet-test-kqueue: skipped: no libkqueue at $(KQUEUE_LIB) (make libkqueue LIBKQUEUE_SRC=checkout builds it)"; \
	else \
	  $(MAKE) --no-print-directory test-packages && \
	  LIBKQUEUE=$(KQUEUE_LIB) TCPPROXY_BIN=$(TCPPROXY) TCPPROXY_EXTRA_ARGS="--poller kqueue" dotnet test $(TEST_PROJ) -c Release --nologo \
	    --filter "FullyQualifiedName~TcpProxy.Tests.EndToEnd|FullyQualifiedName~TcpProxy.Tests.Unit.LibKqueue" --logger "console;verbosity=normal"; \
	fi

ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += dotnet-test-kqueue
endif
