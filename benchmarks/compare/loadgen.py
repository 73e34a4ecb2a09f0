"""Run the C load generator and parse its `result key=value ...` line."""
import os
import select
import subprocess
import time


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("result "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            return {k: (v if k == "mode" else float(v)) for k, v in fields.items()}
    raise RuntimeError(f"loadgen printed no result line: {text.strip()[-300:]}")


def _target_args(dest_port, listen_port):
    if listen_port is None:
        return ["--dest-port", str(dest_port), "--direct"]
    return ["--dest-port", str(dest_port), "--proxy-port", str(listen_port)]


def run(loadgen, mode, dest_port, listen_port, args, timeout):
    """One loadgen run to completion; listen_port None means direct (no proxy)."""
    cmd = [loadgen, mode] + _target_args(dest_port, listen_port) + args + ["--timeout", str(timeout)]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout + 30)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen {mode} failed ({p.returncode}): {p.stderr.strip()[-300:]}")
    return parse_result(p.stdout)


def _read_line(proc, deadline):
    """One stdout line of proc, waiting at most until deadline (monotonic)."""
    buf = b""
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise RuntimeError("loadgen: no result line in time")
        chunk = os.read(fd, 1)
        if not chunk:
            raise RuntimeError(f"loadgen exited early: {proc.stderr.read().decode(errors='replace')[-300:]}")
        buf += chunk
    return buf.decode()


def run_idle(loadgen, dest_port, listen_port, args, timeout, while_held):
    """Open the idle pairs, call while_held() once they are all up, then release them."""
    cmd = [loadgen, "idle"] + _target_args(dest_port, listen_port) + args + ["--timeout", str(timeout)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _read_line(proc, time.monotonic() + timeout)  # idle-ready: every pair is up
        held = while_held()
        out, err = proc.communicate(input=b"release\n", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen idle failed ({proc.returncode}): {err.decode()[-300:]} {out.decode()[-200:]}")
    return parse_result(out.decode()), held


def _merged_percentiles(paths):
    """p50/p99/p99.9/max in µs of the merged 100 ns histograms, as the C side computes them."""
    buckets = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                index, count = map(int, line.split())
                buckets[index] = buckets.get(index, 0) + count
    total = sum(buckets.values())
    if total == 0:
        raise RuntimeError("loadgen rtt: no round trips in any process")
    ordered = sorted(buckets.items())

    def percentile(pct):
        rank = min(int(pct / 100 * total), total - 1)
        seen = 0
        for index, count in ordered:
            seen += count
            if seen > rank:
                return (index + 1) * 0.1
        return (ordered[-1][0] + 1) * 0.1

    return {"round_trips": total, "p50_us": percentile(50), "p99_us": percentile(99),
            "p999_us": percentile(99.9), "max_us": percentile(100)}


def _split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_parallel(loadgen, mode, dest_port, listen_port, conns, args, procs, timeout, scratch):
    """rtt or connrate from `procs` loadgen processes sharing the destination port
    (SO_REUSEPORT), `conns` split over them. Each serves the shared destination until all
    have printed their result (--hold-echo), so none pulls the rug from another's connections."""
    procs = max(1, min(procs, conns))
    running, deadline = [], time.monotonic() + timeout + 30
    try:
        for i, share in enumerate(_split(conns, procs)):
            cmd = [loadgen, mode] + _target_args(dest_port, listen_port) + args + [
                "--conns", str(share), "--timeout", str(timeout), "--hold-echo"]
            if mode == "rtt":
                cmd += ["--histogram", os.path.join(scratch, f"histogram-{i}.txt")]
            running.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE))
        results = [parse_result(_read_line(p, deadline)) for p in running]
        for p in running:
            p.stdin.close()  # EOF: the processes stop serving the shared destination
        for p in running:
            p.wait(timeout=max(1, deadline - time.monotonic()))
            err = p.stderr.read()
            if p.returncode != 0:
                raise RuntimeError(f"loadgen {mode} failed ({p.returncode}): {err.decode()[-300:]}")
    finally:
        for p in running:
            if p.poll() is None:
                p.kill()
                p.wait()
    merged = {"mode": mode, "conns": conns, "loadgen_procs": procs,
              "loadgen_cpu_s": sum(r["loadgen_cpu_s"] for r in results),
              "loadgen_cpu_pct": sum(r["loadgen_cpu_pct"] for r in results)}
    if mode == "rtt":
        merged.update(_merged_percentiles([os.path.join(scratch, f"histogram-{i}.txt") for i in range(procs)]))
        merged["rt_per_s"] = sum(r["rt_per_s"] for r in results)
        merged["msg_size"] = results[0]["msg_size"]
    else:
        merged.update(workers=conns, conns_ok=sum(r["conns_ok"] for r in results),
                      failures=sum(r["failures"] for r in results), seconds=max(r["seconds"] for r in results),
                      conns_per_s=sum(r["conns_ok"] / r["seconds"] for r in results))
    return merged
