#!/usr/bin/env python3
"""bench-scrape: what /metrics scrapers cost the connections a proxy forwards.

With N idle pairs open through the proxy (default 9 900, `loadgen idle`), one
ping-pong client measures its round trips (`loadgen rtt`) first alone, then
while 4 processes scrape /metrics as fast as they can. Reports the p50/p99
round trips of both runs and the scrapes made. A measurement, never asserted.

  python3 benchmarks/compare/scrape_bench.py --loadgen build/bench/loadgen [--tcpproxy ./tcpproxy]
"""
import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadgen  # noqa: E402
from proxyproc import free_ports  # noqa: E402

REQUEST = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def scrape_forever(port, stop, count):
    """One scraper: connect, ask, read to EOF, again, until stop is set."""
    done = 0
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(REQUEST)
                while s.recv(65536):
                    pass
            done += 1
        except OSError:
            time.sleep(0.001)  # reset or refused: the next one
    with count.get_lock():
        count.value += done


def rtt(args, dest, listen):
    """The ping-pong run; None when not one round trip completed (a loop frozen that long)."""
    try:
        return loadgen.run(args.loadgen, "rtt", dest, listen, ["--conns", "1", "--seconds", str(args.seconds)], timeout=60)
    except RuntimeError as e:
        if "no round trip completed" not in str(e):
            raise
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--tcpproxy", default=os.environ.get("TCPPROXY", "./tcpproxy"))
    ap.add_argument("--pairs", type=int, default=9900)
    ap.add_argument("--scrapers", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()

    dest, listen, metrics = free_ports(3)
    proxy = subprocess.Popen([args.tcpproxy, "127.0.0.1", str(dest), str(listen), "--metrics", f"127.0.0.1:{metrics}"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if b"listening on" not in proxy.stderr.readline():
            raise RuntimeError("the proxy did not start")

        def measure():
            alone = rtt(args, dest, listen)
            stop = multiprocessing.Event()
            count = multiprocessing.Value("l", 0)
            scrapers = [multiprocessing.Process(target=scrape_forever, args=(metrics, stop, count)) for _ in range(args.scrapers)]
            for p in scrapers:
                p.start()
            try:
                time.sleep(0.5)  # the scrapers are up to speed
                started = time.monotonic()
                scraped = rtt(args, dest, listen)
                elapsed = time.monotonic() - started
            finally:
                stop.set()
                for p in scrapers:
                    p.join(30)
                    if p.is_alive():
                        p.kill()
            return alone, scraped, count.value, elapsed

        _, (alone, scraped, scrapes, elapsed) = loadgen.run_idle(
            args.loadgen, dest, listen, ["--conns", str(args.pairs)], timeout=300, while_held=measure)
    finally:
        proxy.terminate()
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()

    print(f"{args.tcpproxy}: {args.pairs} idle pairs open, one ping-pong client, {args.seconds} s per run")
    for name, r in (("alone", alone), (f"{args.scrapers} scrapers", scraped)):
        if r is None:
            print(f"  {name:>11}: not one round trip completed in {args.seconds} s")
        else:
            print(f"  {name:>11}: rtt p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us, {r['rt_per_s']:.0f} round trips/s")
    print(f"  scrapes during the second run: about {scrapes} in {elapsed + 0.5:.1f} s")


if __name__ == "__main__":
    main()
