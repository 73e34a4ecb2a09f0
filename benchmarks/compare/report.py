"""Turn the runs into results.md (medians, min–max, ratio to a baseline), results.json
(every raw run) and chart.png (gnuplot)."""
import datetime
import json
import os
import platform
import statistics
import subprocess

# test -> (main metric, label, higher is better, extra columns (key, label, format))
METRICS = {
    "bulk-1": ("mb_per_s", "MB/s", True),
    "bulk-20": ("mb_per_s", "MB/s", True),
    "rtt-1": ("p99_us", "p99 µs", False),
    "rtt-100": ("p99_us", "p99 µs", False),
    "connrate": ("conns_per_s", "conn/s", True),
    "idle": ("kib_per_pair", "KiB/pair", False),
    "startup": ("startup_ms", "ms", False),
}
EXTRAS = {
    "bulk": [("cpu_s_per_gb", "proxy CPU s/GB", "{:.2f}"), ("proxy_cpu_pct", "proxy CPU %", "{:.0f}"),
             ("loadgen_cpu_pct", "loadgen CPU %", "{:.0f}")],
    "rtt": [("p50_us", "p50 µs", "{:.0f}"), ("p999_us", "p99.9 µs", "{:.0f}"), ("rt_per_s", "round trips/s", "{:.0f}"),
            ("proxy_cpu_pct", "proxy CPU %", "{:.0f}"), ("loadgen_cpu_pct", "loadgen CPU %", "{:.0f}")],
    "connrate": [("failures", "failures", "{:d}"), ("proxy_cpu_pct", "proxy CPU %", "{:.0f}"),
                 ("loadgen_cpu_pct", "loadgen CPU %", "{:.0f}")],
    "idle": [("established", "pairs", "{:d}"), ("rss_kib_per_pair", "RSS KiB/pair", "auto"),
             ("proxy_private_kib", "proxy private KiB", "{:.0f}"), ("proxy_rss_kib", "proxy RSS KiB", "{:.0f}")],
    "startup": [("startup_min_ms", "fastest ms", "auto"), ("startup_max_ms", "slowest ms", "auto")],
}

# The one summary table: (label, test, key, higher is better, format); a row per figure,
# a column per contender. "bulk" as test means the median over bulk-1 and bulk-20 runs.
ROWS = [
    ("private KiB per idle pair", "idle", "kib_per_pair", False, "auto"),
    ("RSS KiB per idle pair", "idle", "rss_kib_per_pair", False, "auto"),
    ("bulk 1 conn, MB/s", "bulk-1", "mb_per_s", True, "auto"),
    ("bulk 20 conns, MB/s", "bulk-20", "mb_per_s", True, "auto"),
    ("CPU s/GB (bulk)", "bulk", "cpu_s_per_gb", False, "{:.2f}"),
    ("syscalls/MiB (bulk, strace -c)", "strace", "syscalls_per_mib", False, "auto"),
    ("syscalls per round trip (1 conn, strace -c)", "strace-rtt", "syscalls_per_rt", False, "{:.1f}"),
    ("RTT p99 1 conn, µs", "rtt-1", "p99_us", False, "auto"),
    ("RTT p99 100 conns, µs", "rtt-100", "p99_us", False, "auto"),
    ("round trips/s, 100 conns", "rtt-100", "rt_per_s", True, "auto"),
    ("connections/s", "connrate", "conns_per_s", True, "auto"),
    ("start-up ms (exec → first round trip)", "startup", "startup_ms", False, "{:.1f}"),
]


def fmt(v, spec="auto"):
    """auto: whole numbers, with one or two decimals only for small values."""
    if v is None:
        return "–"
    if spec == "{:d}":
        return str(int(v))
    if spec == "auto":
        spec = "{:.0f}"
    if spec == "{:.0f}" and abs(v) < 10:
        spec = "{:.1f}" if abs(v) >= 1 else "{:.2f}"
    return spec.format(v)


def collect(runs):
    """(contender, test) -> list of results that succeeded; and -> list of errors."""
    ok, errors = {}, {}
    for r in runs:
        key = (r["contender"], r["test"])
        if "result" in r:
            ok.setdefault(key, []).append(r["result"])
        else:
            errors.setdefault(key, []).append(r["error"])
    return ok, errors


def median_of(ok, contender, test, key):
    values = [r[key] for r in ok.get((contender, test), []) if key in r]
    return statistics.median(values) if values else None


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"loadavg": load, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": f"{cpu} × {os.cpu_count()}", "kernel": platform.release(), "os": osname,
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30), 1)}


def bulk_cpu_per_gb(ok, contender):
    """Median proxy CPU seconds per GB over all bulk runs (1 and 20 connections)."""
    values = [r["cpu_s_per_gb"] for t in ("bulk-1", "bulk-20") for r in ok.get((contender, t), [])
              if "cpu_s_per_gb" in r]
    return statistics.median(values) if values else None


PEERS = ("refproxy", "haproxy", "nginx")


def targets(ok):
    """The ratios issue 4 sets for tcpproxy against the best of the C reference, HAProxy, nginx."""
    if not any(k[0] == "tcpproxy" for k in ok):
        return []
    rows = []

    def check(label, ours, theirs, higher, spec="auto"):
        theirs = {n: v for n, v in theirs.items() if v is not None}
        if ours is None or not theirs:
            rows.append(f"| {label} | {fmt(ours, spec)} | – | – | not measured |")
            return
        best_name = (max if higher else min)(theirs, key=theirs.get)
        best = theirs[best_name]
        r = ours / best if best else float("inf")
        met = r >= 1.0 if higher else r <= 1.0
        rows.append(f"| {label} | {fmt(ours, spec)} | {fmt(best, spec)} ({best_name}) | {r:.2f}× | "
                    + ("met" if met else f"missed by {abs(1 - r) * 100:.0f} %") + " |")

    for test, label in (("bulk-1", "bulk 1 conn, MB/s ≥ best"), ("bulk-20", "bulk 20 conns, MB/s ≥ best")):
        check(label, median_of(ok, "tcpproxy", test, "mb_per_s"),
              {n: median_of(ok, n, test, "mb_per_s") for n in PEERS}, True)
    for test, label in (("rtt-1", "RTT p99 1 conn, µs ≤ best"), ("rtt-100", "RTT p99 100 conns, µs ≤ best")):
        check(label, median_of(ok, "tcpproxy", test, "p99_us"),
              {n: median_of(ok, n, test, "p99_us") for n in PEERS}, False)
    check("conn/s ≥ refproxy", median_of(ok, "tcpproxy", "connrate", "conns_per_s"),
          {"refproxy": median_of(ok, "refproxy", "connrate", "conns_per_s")}, True)
    check("CPU s/GB ≤ best", bulk_cpu_per_gb(ok, "tcpproxy"), {n: bulk_cpu_per_gb(ok, n) for n in PEERS}, False,
          "{:.2f}")
    sc = median_of(ok, "tcpproxy", "strace", "syscalls_per_mib")
    rows.append(f"| syscalls/MiB ≤ 270 | {fmt(sc)} | 270 (fixed) | {'–' if sc is None else f'{sc / 270:.2f}×'} | "
                + ("not measured" if sc is None else "met" if sc <= 270 else f"missed by {(sc / 270 - 1) * 100:.0f} %")
                + " |")
    kib = median_of(ok, "tcpproxy", "idle", "kib_per_pair")
    others = ", ".join(f"{n} {fmt(median_of(ok, n, 'idle', 'kib_per_pair'))}" for n in PEERS)
    rows.append(f"| KiB per idle pair (reported) | {fmt(kib)} | {others} | – | reported only |")
    return ["", "## Targets of issue 4: tcpproxy against the best of refproxy, HAProxy, nginx", "",
            "| target | tcpproxy | best peer | ratio | verdict |", "|---|---|---|---|---|"] + rows


def row_value(ok, contender, test, key):
    if test == "bulk":
        return bulk_cpu_per_gb(ok, contender)
    return median_of(ok, contender, test, key)


def summary_table(ok, errors, names, args):
    """ONE table: a row per figure, a column per contender (medians over the repetitions).
    Bold: the best value in the row."""
    lines = ["", "## Summary (medians; a row per figure, bold = best in the row)", "",
             "| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, test, key, higher, spec in ROWS:
        values = {n: row_value(ok, n, test, key) for n in names}
        tried = ("bulk-1", "bulk-20") if test == "bulk" else (test,)
        if all(v is None for v in values.values()) and not any((n, t) in errors for n in names for t in tried):
            continue  # a figure this run did not measure (not in --tests)
        measured = {n: v for n, v in values.items() if v is not None and n != "direct"}
        best = (max if higher else min)(measured.values()) if measured else None
        if test == "idle":
            label += f" ({args.idle_pairs} pairs)"
        cells = []
        for n in names:
            v = values[n]
            if v is None:
                cells.append("failed" if any((n, t) in errors for t in tried) else "–")
            else:
                cell = fmt(v, spec)
                cells.append(f"**{cell}**" if v == best and n != "direct" and len(measured) > 1 else cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def issue9_ratios(ok):
    """The ratios issue 9 names, each against a named contender of the same run."""
    def v(n, test, key):
        return row_value(ok, n, test, key)

    rows = []

    def add(label, ours_name, ours, peer_name, peer, target, higher):
        if ours is None or peer is None or not peer:
            return
        r = ours / peer
        met = r >= target if higher else r <= target
        want = ("≥ " if higher else "≤ ") + f"{target:g}×"
        rows.append(f"| {label} | {ours_name} {fmt(ours)} | {peer_name} {fmt(peer)} | {r:.2f}× | {want} | "
                    + ("met" if met else "missed") + " |")

    for peer in ("refproxy", "refproxy-splice", "haproxy", "nginx"):
        add("private KiB per idle pair", "tcpproxy", v("tcpproxy", "idle", "kib_per_pair"), peer,
            v(peer, "idle", "kib_per_pair"), 1.0, False)
    for ours in ("tcpproxy-splice", "tcpproxy-auto"):
        add("bulk 1 conn MB/s", ours, v(ours, "bulk-1", "mb_per_s"), "refproxy-splice",
            v("refproxy-splice", "bulk-1", "mb_per_s"), 1.0, True)
        add("CPU s/GB (bulk)", ours, v(ours, "bulk", "cpu_s_per_gb"), "refproxy-splice",
            v("refproxy-splice", "bulk", "cpu_s_per_gb"), 1.0, False)
    add("RTT p99 1 conn (auto must not be worse than copy)", "tcpproxy-auto", v("tcpproxy-auto", "rtt-1", "p99_us"),
        "tcpproxy-off", v("tcpproxy-off", "rtt-1", "p99_us"), 1.0, False)
    for label, test, key in (("connections/s", "connrate", "conns_per_s"),
                             ("round trips/s, 100 conns", "rtt-100", "rt_per_s"),
                             ("bulk 20 conns MB/s", "bulk-20", "mb_per_s")):
        add(label + ": 2 reactors over 1", "tcpproxy-r2", v("tcpproxy-r2", test, key), "tcpproxy",
            v("tcpproxy", test, key), 1.0, True)
    out = []
    if rows:
        out = ["", "## Ratios of issue 9 (each against a named contender of this run)", "",
               "| figure | ours | against | ratio | target | verdict |", "|---|---|---|---|---|---|"] + rows
    fixed = []
    kib = v("tcpproxy", "idle", "kib_per_pair")
    if kib is not None:
        fixed.append(f"| private KiB per idle pair, tcpproxy | {fmt(kib)} | < 1.0 | {'met' if kib < 1.0 else 'missed'} |")
    for n in ("tcpproxy", "tcpproxy-off", "tcpproxy-splice", "tcpproxy-auto"):
        sc = v(n, "strace", "syscalls_per_mib")
        if sc is not None:
            fixed.append(f"| syscalls/MiB, {n} | {fmt(sc)} | floor 256 (8 KiB rings) | {sc / 256:.2f}× the floor |")
    ms = v("tcpproxy", "startup", "startup_ms")
    if ms is not None:
        fixed.append(f"| start-up ms, tcpproxy | {ms:.1f} | < 10 | {'met' if ms < 10 else 'missed'} |")
    if fixed:
        out += ["", "| fixed target | value | target | verdict |", "|---|---|---|---|"] + fixed
    return out


def pick_baseline(wanted, names, ok):
    have = [n for n in names if n != "direct" and any(k[0] == n for k in ok)]
    if wanted in have:
        return wanted
    return have[0] if have else None


def ratio(value, base):
    return f"{value / base:.2f}×" if value is not None and base else "–"


def write(args, tests, chosen, runnable, runs, elapsed):
    ok, errors = collect(runs)
    names = [c.name for c in runnable]
    baseline = pick_baseline(args.baseline, names, ok)
    info = machine()
    md = ["# Side-by-side proxy benchmark", "",
          f"- Date: {info['date']}; run took {elapsed / 60:.1f} min",
          f"- Machine: {info['cpu']}, {info['memory_gib']} GiB RAM; {info['os']}; kernel {info['kernel']}",
          f"- Load average (1, 5, 15 min) at the start: {args.loadavg_start}; at the end: {info['loadavg']} "
          "(well above 2 means other work shared the 2 cores and the figures are noisy)",
          f"- Settings: {args.reps} repetition(s), contenders interleaved; bulk {args.bulk_bytes / (1 << 20):.0f} MiB "
          f"per run (bulk-20: split over 20 connections); rtt {args.msg_size}-byte messages for {args.seconds:g} s; "
          f"connrate {args.workers} workers for {args.seconds:g} s; idle {args.idle_pairs} pairs; start-up: median of "
          f"{args.startup} starts; strace -c: {args.strace_bytes / (1 << 20):.0f} MiB bulk, {args.strace_seconds:g} s ping-pong"
          + ("; **quick smoke run: sizes too small to mean much**" if args.quick else ""),
          f"- Baseline for ratios: **{baseline or 'none'}**" + (
              f" (wanted {args.baseline}, which did not run)" if baseline != args.baseline else ""),
          f"- Load generator: {args.loadgen_procs} single-threaded epoll process(es) for rtt and connrate, one for "
          "bulk and idle (benchmarks/loadgen), with its own sink/echo destination, sharing the cores with the "
          "proxy. Its CPU % is shown (summed over processes): near 100 % per process means it, not the proxy, "
          "set the pace.",
          "- `direct` = loadgen talking to its destination with no proxy: the ceiling of this machine."]
    for c in chosen:
        if c.missing:
            md.append(f"- Skipped {c.name}: {c.missing}")
    versions = [f"{c.name}: {c.version}" for c in chosen if c.version]
    if versions:
        md.append("- Versions: " + "; ".join(versions))
    md += summary_table(ok, errors, names, args)
    md += issue9_ratios(ok)
    md += targets(ok)
    summary = md[2:]  # everything but the title: copied into benchmarks/README.md
    for name, mode, _ in tests:
        key, label, higher = METRICS[name]
        extras = EXTRAS[mode]
        md += ["", f"## {name}" + (" (higher is better)" if higher else " (lower is better)"), "",
               f"| contender | {label} median | min–max | × {baseline} | " + " | ".join(e[1] for e in extras) + " |",
               "|---|---|---|---|" + "---|" * len(extras)]
        base = median_of(ok, baseline, name, key)
        for n in names:
            results = ok.get((n, name), [])
            failed = errors.get((n, name), [])
            if not results and not failed:
                continue
            if not results:
                md.append(f"| {n} | failed | | | " + " | ".join("" for _ in extras) + " |")
                continue
            values = [r[key] for r in results]
            med = statistics.median(values)
            row = [n, fmt(med), f"{fmt(min(values))}–{fmt(max(values))}", ratio(med, base)]
            row += [fmt(median_of(ok, n, name, k), spec) for k, _, spec in extras]
            if failed:
                row[0] += f" ({len(failed)} failed)"
            md.append("| " + " | ".join(row) + " |")
    for test, key, title, spec in (("strace", "syscalls_per_mib", "per MiB in the 1-connection bulk run", "{:.0f}"),
                                   ("strace-rtt", "syscalls_per_rt", "per round trip in the 1-connection ping-pong",
                                    "{:.2f}")):
        traced = [(n, ok[n, test][0]) for n in names if (n, test) in ok]
        if traced:
            md += ["", f"## Syscalls {title} under strace -c (top 5)", ""]
            for n, r in traced:
                top = sorted(r.get(key + "_by_name", {}).items(), key=lambda kv: -kv[1])[:5]
                md.append(f"- {n}: {spec.format(r[key])} in all; " + ", ".join(f"{k} {spec.format(v)}" for k, v in top))
    busy = sorted({f"{r['contender']} {r['test']}" for r in runs
                   if r.get("result", {}).get("loadgen_cpu_pct", 0) >= 90 * r.get("result", {}).get("loadgen_procs", 1) and r["contender"] != "direct"})
    if busy:
        md += ["", "Load generator at ≥ 90 % of a core (it may have set the pace, not the proxy): "
               + ", ".join(busy) + "."]
    failures = [r for r in runs if "error" in r]
    if failures:
        md += ["", "## Failed runs", ""]
        md += [f"- {r['contender']} {r['test']} rep {r['rep']}: {r['error']}" for r in failures]
    md += ["", "![throughput, latency and idle memory by contender](chart.png)", ""]
    out = args.out
    paths = [os.path.join(out, "results.md"), os.path.join(out, "results.json")]
    with open(paths[0], "w") as f:
        f.write("\n".join(md))
    with open(paths[1], "w") as f:
        json.dump({"machine": info, "baseline": baseline, "contenders": names,
                   "skipped": {c.name: c.missing for c in chosen if c.missing},
                   "settings": {k: v for k, v in vars(args).items() if k not in ("contender",)},
                   "contender_commands": {c.name: c.argv("<dest-host>", "<dest-port>", "<listen-port>")
                                          for c in runnable if not c.direct}, "runs": runs}, f, indent=1)
    chart = write_chart(out, names, ok)
    if chart:
        paths.append(chart)
    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
    results_dir = os.path.join(os.path.dirname(readme), "results")
    if os.path.abspath(out) == results_dir and update_readme(readme, summary):
        paths.append(readme)
    return paths


BEGIN, END = "<!-- latest-results:begin -->", "<!-- latest-results:end -->"


def update_readme(readme, summary):
    """Replace the text between the markers in benchmarks/README.md with the latest summary."""
    try:
        with open(readme) as f:
            text = f.read()
    except OSError:
        return False
    if BEGIN not in text or END not in text:
        return False
    summary = ["#" + line if line.startswith("## ") else line for line in summary]  # nest under README's ###
    block = "\n".join([BEGIN, "", *summary, "", "Per-test tables: [results/results.md](results/results.md).", "",
                       "![bulk throughput, round-trip percentiles and memory per idle pair](results/chart.png)",
                       "", END])
    head, rest = text.split(BEGIN, 1)
    with open(readme, "w") as f:
        f.write(head + block + rest.split(END, 1)[1])
    return True


PANELS = [  # data file, title, log scale, (test, key, legend) per bar
    ("bulk.dat", "Bulk throughput (MB/s, higher is better)", False,
     [("bulk-1", "mb_per_s", "1 connection"), ("bulk-20", "mb_per_s", "20 connections")]),
    ("rtt1.dat", "Round trip, 1 connection (µs, log, lower is better)", True,
     [("rtt-1", "p50_us", "p50"), ("rtt-1", "p99_us", "p99"), ("rtt-1", "p999_us", "p99.9")]),
    ("rtt100.dat", "Round trip, 100 connections (µs, log, lower is better)", True,
     [("rtt-100", "p50_us", "p50"), ("rtt-100", "p99_us", "p99"), ("rtt-100", "p999_us", "p99.9")]),
    ("idle.dat", "Private memory per idle pair (KiB, lower is better)", False,
     [("idle", "kib_per_pair", "KiB per pair")]),
]


def write_chart(out, names, ok):
    """Up to 2×2 panels in one PNG: bulk MB/s, RTT percentiles (1 and 100 conns), KiB per idle pair.
    Panels without any data (tests not run) are left out."""
    plots = []
    for fname, title, log, bars in PANELS:
        rows = []
        for n in names:
            vals = [median_of(ok, n, t, k) for t, k, _ in bars]
            if any(v is not None for v in vals):
                rows.append(f'"{n}" ' + " ".join("?" if v is None else f"{v:.3f}" for v in vals))
        if not rows:
            continue
        with open(os.path.join(out, fname), "w") as f:
            f.write("\n".join(rows) + "\n")
        series = ", ".join(f'"{fname}" using {i + 2}' + (":xtic(1)" if i == 0 else "")
                           + (f' title "{legend}"' if len(bars) > 1 else " notitle")
                           for i, (_, _, legend) in enumerate(bars))
        plots.append(("set logscale y\nset yrange [*:*]\n" if log else "unset logscale y\nset yrange [0:*]\n")
                     + f'set title "{title}"\nplot {series}\n')
    if not plots:
        return None
    layout = "1,1" if len(plots) == 1 else "1,2" if len(plots) == 2 else "2,2"
    gp = os.path.join(out, "chart.gp")
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 1400,900 font "sans,10"
set output "chart.png"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set xtics rotate by -30
set key top left
set multiplot layout {layout} title "{machine()['date']}: proxies side by side (medians)"
""" + "".join(plots) + "unset multiplot\n")
    try:
        p = subprocess.run(["gnuplot", "chart.gp"], cwd=out, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"no chart: gnuplot: {e}")
        return None
    if p.returncode != 0:
        print(f"no chart: gnuplot failed: {p.stderr.strip()[-300:]}")
        return None
    return os.path.join(out, "chart.png")
