#!/usr/bin/env python3
"""make demo: the classic lab's manual test, automated and narrated.

A local destination serves GET /cgi-bin/big (an endless stream) and GET /ok. A client
fetches /cgi-bin/big through the proxy and stops reading; /ok must still come through at
once; then the stalled pair must be aborted after the stall timeout (3 s here, instead of
the default 10 s, so the demo ends quickly).
usage: demo.py PATH-TO-TCPPROXY
"""
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

STALL_TIMEOUT = 3
events = {}          # name -> monotonic time, set by the destination's threads
events_cv = threading.Condition()


def say(msg):
    print(msg, flush=True)


def note(name):
    with events_cv:
        events[name] = time.monotonic()
        events_cv.notify_all()


def wait_event(name, timeout):
    with events_cv:
        events_cv.wait_for(lambda: name in events, timeout)
        return events.get(name)


def serve(conn):
    """One destination connection: a request line, then the answer."""
    conn.settimeout(10)
    request = b""
    try:
        while b"\n" not in request and len(request) < 1024:
            chunk = conn.recv(1024)
            if not chunk:
                return
            request += chunk
    except OSError:
        return
    path = request.split()[1].decode() if len(request.split()) > 1 else ""
    if path == "/ok":
        conn.sendall(b"You were able to fetch the data.\n")
        conn.close()
        return
    if path == "/cgi-bin/big":
        note("big-started")
        line = 0
        conn.settimeout(60)     # bounded: the proxy must abort us well before this
        try:
            while True:
                line += 1
                conn.sendall(b"line %08d of an endless stream ...............................\n" % line)
        except OSError as e:
            note("big-aborted")
            events["big-error"] = f"{type(e).__name__}: {e}"
        conn.close()
        return
    conn.sendall(b"not found\n")
    conn.close()


def destination(listener):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: demo.py PATH-TO-TCPPROXY")
    proxy_bin = sys.argv[1]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    dest_port = listener.getsockname()[1]
    threading.Thread(target=destination, args=(listener,), daemon=True).start()
    say(f"1. A destination server listens on 127.0.0.1:{dest_port}: GET /cgi-bin/big streams forever, GET /ok answers.")

    proxy = None
    for _ in range(5):      # the port we picked may be taken meanwhile: try another
        listen_port = free_port()
        cmd = [proxy_bin, "127.0.0.1", str(dest_port), str(listen_port), "--stall-timeout", str(STALL_TIMEOUT)]
        proxy = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([proxy.stderr], [], [], 10)
        line = proxy.stderr.readline() if ready else ""
        if "listening on" in line:
            break
        proxy.kill()
        proxy.wait()
        proxy = None
    if proxy is None:
        sys.exit("demo: the proxy did not start")
    try:
        say(f"2. Started: {' '.join(cmd)}")
        say(f"   (stall timeout {STALL_TIMEOUT} s for this demo; the default is 10 s)")
        say(f"   proxy says: {line.strip()}")

        big = socket.create_connection(("127.0.0.1", listen_port), timeout=10)
        big.sendall(b"GET /cgi-bin/big\r\n")
        got = b""
        while len(got) < 64 * 1024:
            got += big.recv(65536)
        say(f"3. Client A fetched GET /cgi-bin/big through the proxy and read {len(got) // 1024} KB:")
        say(f"   {got.splitlines()[0].decode()}")
        say("   ...and now client A stops reading (like telnet after ^] and z).")
        stopped_at = time.monotonic()

        t = time.monotonic()
        ok = socket.create_connection(("127.0.0.1", listen_port), timeout=5)
        ok.sendall(b"GET /ok\r\n")
        answer = b""
        while True:
            chunk = ok.recv(1024)
            if not chunk:
                break
            answer += chunk
        ok.close()
        say(f"4. Client B fetched GET /ok through the same proxy in {1000 * (time.monotonic() - t):.1f} ms:")
        say(f"   {answer.decode().strip()}")
        if answer.strip() != b"You were able to fetch the data.":
            sys.exit("demo: FAILED, /ok did not come through")
        say("   The stalled client A did not hang the proxy.")

        say(f"5. Waiting for the proxy to abort client A's pair (nothing could be written for {STALL_TIMEOUT} s) ...")
        aborted = wait_event("big-aborted", STALL_TIMEOUT * 3 + 5)
        if aborted is None:
            sys.exit("demo: FAILED, the stalled pair was not aborted")
        say(f"   The destination's endless write failed {aborted - stopped_at:.1f} s after client A stopped reading"
            f" ({events.get('big-error')}).")
        big.settimeout(10)
        drained = 0
        try:
            while True:
                chunk = big.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
            how = "end-of-file"
        except ConnectionResetError:
            how = "a connection reset"
        say(f"   Client A, reading again, gets the {drained // 1024} KB still in flight, then {how}: the pair is gone.")
        say("6. Done: a client that stops reading neither hangs the proxy nor holds its memory forever.")
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
        listener.close()


if __name__ == "__main__":
    main()
