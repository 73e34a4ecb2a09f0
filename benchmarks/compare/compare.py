#!/usr/bin/env python3
"""Side-by-side benchmark: the same load through each contender proxy, interleaved and
repeated, plus `direct` (no proxy) as the machine's ceiling. Writes results.md, results.json
and chart.png. Speeds are reported, never asserted."""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxyproc as proc_mod  # noqa: E402
import contenders  # noqa: E402
import loadgen  # noqa: E402
import proctree  # noqa: E402
import report  # noqa: E402
from strace_count import SyscallCounter  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20

# name, loadgen mode, loadgen arguments from the settings
TESTS = [
    ("bulk-1", "bulk", lambda s: ["--conns", "1", "--bytes", str(s.bulk_bytes)]),
    ("bulk-20", "bulk", lambda s: ["--conns", "20", "--bytes", str(s.bulk_bytes // 20)]),
    ("rtt-1", "rtt", lambda s: ["--conns", "1", "--msg-size", str(s.msg_size), "--seconds", str(s.seconds)]),
    ("rtt-100", "rtt", lambda s: ["--conns", "100", "--msg-size", str(s.msg_size), "--seconds", str(s.seconds)]),
    ("connrate", "connrate", lambda s: ["--conns", str(s.workers), "--seconds", str(s.seconds)]),
    ("idle", "idle", lambda s: ["--conns", str(s.idle_pairs)]),
    ("startup", "startup", lambda s: []),
]
NO_DIRECT = ("idle", "startup")  # modes that need a proxy


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes, 1 repetition: a smoke run (~1 min)")
    p.add_argument("--reps", type=int, help="repetitions of every test (default 3; 1 with --quick)")
    p.add_argument("--contenders", help="comma-separated built-ins to run, of " + ",".join(contenders.BUILTIN)
                   + " (default: " + ",".join(contenders.DEFAULT_FULL) + "; with --quick "
                   + ",".join(contenders.DEFAULT_QUICK) + ")")
    p.add_argument("--contender", action="append", default=[], metavar="NAME=COMMAND",
                   help="add a contender: COMMAND gets `destination-host destination-port listen-port`")
    p.add_argument("--no-direct", action="store_true", help="skip the no-proxy ceiling runs")
    p.add_argument("--baseline", default="refproxy", help="ratios are relative to this (default refproxy; "
                   "falls back to the first contender that ran)")
    p.add_argument("--tests", help="comma-separated subset of " + ",".join(t[0] for t in TESTS))
    p.add_argument("--bulk-bytes", type=int, help="bytes per bulk run, split over 20 conns in bulk-20 (default 4 GiB; 64 MiB quick)")
    p.add_argument("--seconds", type=float, help="seconds of each rtt and connrate run (default 5; 0.5 quick)")
    p.add_argument("--msg-size", type=int, default=64, help="rtt message size (default 64)")
    p.add_argument("--workers", type=int, default=50, help="concurrent connrate workers (default 50)")
    p.add_argument("--idle-pairs", type=int, help="idle connection pairs (default 9900; 200 quick)")
    p.add_argument("--strace-bytes", type=int, help="bytes of the bulk run under strace -c (default 256 MiB; 16 MiB quick)")
    p.add_argument("--strace-seconds", type=float, help="seconds of the 1-connection ping-pong under strace -c "
                   "(default 2; 0.3 quick)")
    p.add_argument("--startup", type=int, metavar="N", help="start-up test: exec to the first round trip through "
                   "the proxy, median of N starts per repetition (default 9; 3 quick)")
    p.add_argument("--loadgen-procs", type=int, default=1, metavar="K",
                   help="run rtt and connrate from K loadgen processes sharing the destination port, for "
                   "machines where one would saturate a core and more cores are free (default 1)")
    p.add_argument("--loadgen", default=os.path.join(contenders.TOP, "build/bench/loadgen"))
    p.add_argument("--out", help="output directory (default build/bench/compare/<UTC time>, build/bench/quick with "
                   "--quick); benchmarks/results, the committed one, also refreshes benchmarks/README.md's summary")
    a = p.parse_args()
    quick = a.quick
    defaults = dict(reps=(1, 3), bulk_bytes=(64 * MIB, 4 * GIB), seconds=(0.5, 4.0), idle_pairs=(200, 9900),
                    strace_bytes=(16 * MIB, 256 * MIB), strace_seconds=(0.3, 2.0), startup=(3, 9),
                    out=(os.path.join(contenders.TOP, "build/bench/quick"),
                         os.path.join(contenders.TOP, "build/bench/compare",
                                      time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))))
    for key, (q, full) in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, q if quick else full)
    if (a.reps < 1 or a.loadgen_procs < 1 or a.bulk_bytes < 20 or a.idle_pairs < 1 or a.workers < 1 or a.seconds <= 0
            or a.startup < 1 or a.strace_seconds <= 0):
        p.error("reps, sizes, pairs, workers and seconds must be positive")
    return a


def select_contenders(args):
    names = args.contenders.split(",") if args.contenders else (
        contenders.DEFAULT_QUICK if args.quick else contenders.DEFAULT_FULL)
    chosen = []
    for name in names:
        if name not in contenders.BUILTIN:
            raise SystemExit(f"unknown built-in contender {name}; use --contender name=command")
        chosen.append(contenders.builtin(name))
    chosen += [contenders.custom(spec) for spec in args.contender]
    for c in chosen:
        if c.missing:
            print(f"skipping {c.name}: {c.missing}", flush=True)
    runnable = [c for c in chosen if not c.missing]
    if not args.no_direct:
        runnable.append(contenders.direct())
    return chosen, runnable


class Runner:
    def __init__(self, args, rundir):
        self.args, self.rundir = args, rundir
        self.env = dict(os.environ, TMPDIR=rundir)
        # A hang fails the run after this long instead of blocking the whole benchmark.
        self.timeout = 20 if args.quick else 60

    def _start(self, c, dest_port, listen_port, tag):
        log = os.path.join(self.rundir, f"{c.name}-{tag}.log")
        proxy = proc_mod.Proxy(c.name, c.argv(proc_mod.HOST, dest_port, listen_port), listen_port, log, self.env)
        try:
            proxy.wait_ready()
        except BaseException:
            proxy.stop()
            raise
        return proxy

    def _load(self, mode, dest_port, listen_port, lg_args):
        """rtt and connrate may be spread over several loadgen processes; the rest run in one."""
        if self.args.loadgen_procs > 1 and mode in ("rtt", "connrate"):
            i = lg_args.index("--conns")
            conns, rest = int(lg_args[i + 1]), lg_args[:i] + lg_args[i + 2:]
            return loadgen.run_parallel(self.args.loadgen, mode, dest_port, listen_port, conns, rest,
                                        self.args.loadgen_procs, self.timeout, self.rundir)
        return loadgen.run(self.args.loadgen, mode, dest_port, listen_port, lg_args, self.timeout)

    def startup_once(self, c, tag):
        """ms from just before exec to the first byte echoed back through the proxy by a
        destination we serve here (the client retries its connect every 0.5 ms until the port
        listens)."""
        dest_port, listen_port = proc_mod.free_ports(2)
        dest = socket.socket()
        client = conn = proxy = None
        try:
            dest.bind((proc_mod.HOST, dest_port))
            dest.listen(8)
            dest.settimeout(5)
            log = os.path.join(self.rundir, f"{c.name}-{tag}.log")
            t0 = time.monotonic()
            proxy = proc_mod.Proxy(c.name, c.argv(proc_mod.HOST, dest_port, listen_port), listen_port, log, self.env)
            while True:
                if proxy.proc.poll() is not None:
                    raise RuntimeError(f"{c.name} exited with {proxy.proc.returncode}: {proxy.log_tail()}")
                if time.monotonic() - t0 > 15:
                    raise RuntimeError(f"{c.name} did not accept connections within 15 s")
                client = socket.socket()
                try:
                    client.connect((proc_mod.HOST, listen_port))
                    break
                except ConnectionRefusedError:
                    client.close()
                    time.sleep(0.0005)
            client.settimeout(5)
            client.sendall(b"s")
            conn, _ = dest.accept()
            conn.settimeout(5)
            if conn.recv(1) != b"s":
                raise RuntimeError(f"{c.name}: start-up byte did not arrive")
            conn.sendall(b"e")
            if client.recv(1) != b"e":
                raise RuntimeError(f"{c.name}: start-up echo did not come back")
            return (time.monotonic() - t0) * 1000
        except socket.timeout as e:
            raise RuntimeError(f"{c.name}: start-up round trip timed out") from e
        finally:
            for s in (client, conn, dest):
                if s is not None:
                    s.close()
            if proxy is not None:
                proxy.stop()

    def measure_startup(self, c):
        times = [self.startup_once(c, f"startup-{i}") for i in range(self.args.startup)]
        return {"mode": "startup", "runs": len(times), "startup_ms": statistics.median(times),
                "startup_min_ms": min(times), "startup_max_ms": max(times)}

    def measure(self, c, test):
        name, mode, make_args = test
        if mode == "startup":
            return self.measure_startup(c)
        lg_args = make_args(self.args)
        dest_port, listen_port = proc_mod.free_ports(2)
        if c.direct:
            return self._load(mode, dest_port, None, lg_args)
        proxy = self._start(c, dest_port, listen_port, name)
        try:
            if mode == "idle":
                def memory():
                    return proctree.private_kib(proxy.pid), proctree.rss_kib(proxy.pid)
                before = memory()
                result, held = loadgen.run_idle(self.args.loadgen, dest_port, listen_port, lg_args, self.timeout,
                                                memory)
                pairs = max(result["established"], 1)
                result["proxy_private_kib"], result["proxy_rss_kib"] = held
                result["kib_per_pair"] = (held[0] - before[0]) / pairs
                result["rss_kib_per_pair"] = (held[1] - before[1]) / pairs
                return result
            cpu0, t0 = proctree.cpu_seconds(proxy.pid), time.monotonic()
            result = self._load(mode, dest_port, listen_port, lg_args)
            cpu = proctree.cpu_seconds(proxy.pid) - cpu0
            result["proxy_cpu_s"] = cpu
            result["proxy_cpu_pct"] = 100 * cpu / (time.monotonic() - t0)
            if mode == "bulk":
                result["cpu_s_per_gb"] = cpu / (result["bytes_total"] / 1e9)
            return result
        finally:
            proxy.stop()

    def count_syscalls(self, c, mode):
        """One extra 1-connection run (bulk, or rtt ping-pong) with strace attached after
        start-up (start-up excluded). strace slows the proxy; the counts per unit stay honest."""
        dest_port, listen_port = proc_mod.free_ports(2)
        proxy = self._start(c, dest_port, listen_port, f"strace-{mode}")
        try:
            proxy.wait_serving()  # every process that will carry the load is in the tree strace attaches to
            counter = SyscallCounter(proctree.tree_pids(proxy.pid, running_only=True),
                                     os.path.join(self.rundir, f"{c.name}-{mode}.strace"))
            lg_args = (["--conns", "1", "--bytes", str(self.args.strace_bytes)] if mode == "bulk" else
                       ["--conns", "1", "--msg-size", str(self.args.msg_size),
                        "--seconds", str(self.args.strace_seconds)])
            try:
                result = loadgen.run(self.args.loadgen, mode, dest_port, listen_port, lg_args, self.timeout)
            except BaseException:
                # The load's own failure is the one to report: with no load the tree made no
                # syscall, and strace's empty summary would hide why.
                counter.detach()
                raise
            calls, per_call = counter.stop()
            result["syscalls"] = calls
            if mode == "bulk":
                unit, key = result["bytes_total"] / MIB, "syscalls_per_mib"
            else:
                unit, key = max(result["round_trips"], 1), "syscalls_per_rt"
            result[key] = calls / unit
            result[key + "_by_name"] = {k: v / unit for k, v in per_call.items()}
            return result
        finally:
            proxy.stop()


def describe(test, r):
    mode = test[1]
    if mode == "bulk":
        s = f"{r['mb_per_s']:.0f} MB/s"
    elif mode == "rtt":
        s = f"p50 {r['p50_us']:.0f} µs, p99 {r['p99_us']:.0f} µs, {r['rt_per_s']:.0f} rt/s"
    elif mode == "connrate":
        s = f"{r['conns_per_s']:.0f} conn/s, {r['failures']:.0f} failures"
    elif mode == "startup":
        return f"start-up {r['startup_ms']:.1f} ms (median of {r['runs']}, {r['startup_min_ms']:.1f}–{r['startup_max_ms']:.1f})"
    else:
        s = f"{r['kib_per_pair']:.1f} KiB/pair ({r['established']:.0f} pairs)"
    if "proxy_cpu_pct" in r:
        s += f"; proxy CPU {r['proxy_cpu_pct']:.0f}%"
    if "loadgen_cpu_pct" in r:
        s += f", loadgen CPU {r['loadgen_cpu_pct']:.0f}%"
    return s


def main():
    # SIGTERM/SIGHUP unwind like Ctrl-C, so every `finally` stops the proxy it started.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    args = parse_args()
    with open("/proc/loadavg") as f:
        args.loadavg_start = " ".join(f.read().split()[:3])
    if not os.access(args.loadgen, os.X_OK):
        raise SystemExit(f"{args.loadgen} missing: run `make loadgen`")
    tests = TESTS
    if args.tests:
        wanted = args.tests.split(",")
        tests = [t for t in TESTS if t[0] in wanted]
        if len(tests) != len(wanted):
            raise SystemExit(f"unknown test in {args.tests}")
    chosen, runnable = select_contenders(args)
    proxies = [c for c in runnable if not c.direct]
    plan = [(rep, t, c) for rep in range(1, args.reps + 1) for t in tests for c in runnable
            if not (c.direct and t[1] in NO_DIRECT)]
    # strace -c runs: bulk when a bulk test is selected, 1-connection ping-pong when rtt-1 is.
    traced = [m for m, t in (("bulk", "bulk-1"), ("rtt", "rtt-1")) if any(x[0] == t for x in tests)]
    if traced and not shutil.which("strace"):
        traced = []
        print("strace not installed: no syscall counts", flush=True)
    total = len(plan) + len(proxies) * len(traced)
    runs, step, started = [], 0, time.time()
    broken = {}  # (contender, test) -> rep that failed: later reps skip it instead of timing out again
    rundir = tempfile.mkdtemp(prefix="bench-compare.")
    runner = Runner(args, rundir)
    try:
        for rep, test, c in plan:
            step += 1
            print(f"[{step}/{total}] {c.name} {test[0]} rep {rep} … ", end="", flush=True)
            entry = {"contender": c.name, "test": test[0], "rep": rep}
            if (c.name, test[0]) in broken:
                print(f"skipped: failed in rep {broken[c.name, test[0]]}", flush=True)
                continue
            try:
                entry["result"] = runner.measure(c, test)
                print(describe(test, entry["result"]), flush=True)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
                entry["error"] = str(e)
                broken[c.name, test[0]] = rep
                print(f"FAILED: {e}", flush=True)
            runs.append(entry)
        for mode in traced:
            source, test_name = ("bulk-1", "strace") if mode == "bulk" else ("rtt-1", "strace-rtt")
            for c in proxies:
                step += 1
                print(f"[{step}/{total}] {c.name} {source} under strace -c … ", end="", flush=True)
                if (c.name, source) in broken:
                    print(f"skipped: {source} failed", flush=True)
                    continue
                entry = {"contender": c.name, "test": test_name, "rep": 1}
                try:
                    entry["result"] = r = runner.count_syscalls(c, mode)
                    print(f"{r['syscalls_per_mib']:.0f} syscalls/MiB" if mode == "bulk" else
                          f"{r['syscalls_per_rt']:.1f} syscalls per round trip", flush=True)
                except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
                    entry["error"] = str(e)
                    print(f"FAILED: {e}", flush=True)
                runs.append(entry)
    finally:
        shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    paths = report.write(args, tests, chosen, runnable, runs, time.time() - started)
    print(f"wrote {', '.join(paths)}")
    failed = sum(1 for r in runs if "error" in r)
    if failed:
        print(f"{failed} run(s) failed: listed in results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
