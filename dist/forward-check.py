#!/usr/bin/env python3
"""Starts a tcpproxy binary, forwards 256 KiB through it both ways on loopback,
then stops it with SIGTERM. Run it in a network namespace of its own
(fixed ports 7000/7001): unshare -n sh -c 'ip link set lo up && forward-check.py ...'.
With --root DIR the proxy runs chrooted in DIR as /tcpproxy (an empty root);
--host NAME names the destination (127.0.0.1 by default); --run PREFIX runs
the binary through a command ("podman run ... IMAGE": BINARY is then unused).
Prints "NAME: passed" or "NAME: FAILED ..." and exits 0 or 1.
usage: forward-check.py [--root DIR] [--host NAME] [--run PREFIX] NAME BINARY [PROXY-ARG...]"""
import os, signal, socket, subprocess, sys, threading

TIMEOUT = 10.0


def echo_once(server):
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)


def main(argv):
    flags = {"--root": None, "--host": "127.0.0.1", "--run": None}
    while argv[:1] and argv[0] in flags:
        flags[argv[0]], argv = argv[1], argv[2:]
    root, host, run = flags["--root"], flags["--host"], flags["--run"]
    name, binary, extra = argv[0], argv[1], argv[2:]
    program = run.split() if run else ["/tcpproxy" if root else binary]
    command = [*program, host, "7001", "7000", "--bind", "127.0.0.1", *extra]
    server = socket.create_server(("127.0.0.1", 7001))
    threading.Thread(target=echo_once, args=(server,), daemon=True).start()
    # READY=1 on an abstract socket says the proxy accepts: no polling, and no path inside the root.
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_name = "tcpproxy-forward-check-%d" % os.getpid()
    if run:  # the runtime passes only what it is told: the name goes in the prefix as {notify}
        command = [word.replace("{notify}", "@" + notify_name) for word in command]
    notify.bind("\0" + notify_name)
    notify.settimeout(TIMEOUT)
    # A runtime (podman) needs its own environment; the proxy gets the socket through the prefix.
    env = dict(os.environ) if run else {"NOTIFY_SOCKET": "@" + notify_name}
    preexec = (lambda: (os.chroot(root), os.chdir("/"))) if root else None
    proxy = subprocess.Popen(command, env=env, preexec_fn=preexec, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        payload = os.urandom(256 * 1024)
        with socket.create_connection(("127.0.0.1", 7000), timeout=TIMEOUT) as client:
            sender = threading.Thread(target=lambda: (client.sendall(payload), client.shutdown(socket.SHUT_WR)))
            sender.start()
            received = bytearray()
            while chunk := client.recv(65536):
                received += chunk
            sender.join(TIMEOUT)
        proxy.send_signal(signal.SIGTERM)
        code = proxy.wait(TIMEOUT)
        if bytes(received) != payload or code != 0:
            raise RuntimeError("%d of %d bytes came back intact, exit %d" % (len(received) if bytes(received) == payload[:len(received)] else 0, len(payload), code))
        print(name + ": passed")
        return 0
    except Exception as error:  # one line, whatever failed: the step's log says which check
        print("%s: FAILED (%s: %s)" % (name, type(error).__name__, error))
        return 1
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait()
        err = proxy.stderr.read().decode(errors="replace").strip()
        if err:
            print("    proxy stderr: " + err.replace("\n", "\n    proxy stderr: "))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
