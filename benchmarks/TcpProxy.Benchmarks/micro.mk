# Micro-benchmarks (BenchmarkDotNet), included by the top-level Makefile.
#   make bench               every micro-benchmark, full BenchmarkDotNet runs (9-13 min)
#                            -> build/bench-micro/results/ (tables as .md/.csv/.html)
#   make bench-micro-smoke   the same benchmarks in BenchmarkDotNet's Dry job, in process (~5 s
#                            after the build): every benchmark must run without an error.
# Both exit non-zero if a benchmark throws; `bench` also if a ZeroAlloc benchmark allocates.
# Narrow a run with BENCH_MICRO_ARGS, e.g. make bench BENCH_MICRO_ARGS="--filter '*TimerWheel*'".
BENCH_MICRO_PROJ  := $(TOP)/benchmarks/TcpProxy.Benchmarks/TcpProxy.Benchmarks.csproj
BENCH_MICRO_DLL   := $(BUILD)/bench-micro/bin/Release/net10.0/TcpProxy.Benchmarks.dll
BENCH_MICRO_RUN   := cd $(TOP) && dotnet $(BENCH_MICRO_DLL)
BENCH_MICRO_ARGS  ?= --filter '*'

.PHONY: bench bench-micro-build bench-micro-smoke

bench-micro-build:
	dotnet build $(BENCH_MICRO_PROJ) -c Release --nologo -v quiet

# Out of process (BenchmarkDotNet's default): a fresh runtime per benchmark, no noise from the host.
bench: bench-micro-build ## BenchmarkDotNet micro-benchmarks (BENCH_MICRO_ARGS)
	$(BENCH_MICRO_RUN) $(BENCH_MICRO_ARGS) --join --assert-zero-alloc --artifacts $(BUILD)/bench-micro

# Dry = one cold invocation per benchmark: proves each runs, measures nothing worth quoting.
# Cold, in-process runs count JIT and host-thread allocations, so zero-alloc is not asserted here.
bench-micro-smoke: bench-micro-build ## each micro-benchmark once, cold: proves it runs
	$(BENCH_MICRO_RUN) $(BENCH_MICRO_ARGS) --join --job Dry --inProcess --artifacts $(BUILD)/bench-micro-smoke

# Keeps every micro-benchmark runnable; ~10 s.
TEST_TARGETS += bench-micro-smoke
