#!/usr/bin/env python3
"""Starts a tcpproxy binary, forwards 256 KiB through it both ways on loopback,
then stops it with SIGTERM. Run it in a network namespace of its own
(fixed ports 7000/7001): unshare -n sh -c 'ip link set lo up && forward-check.py ...'.
With --root DIR the proxy runs chrooted in DIR as /tcpproxy (an empty root).
Prints "NAME: passed" or "NAME: FAILED ..." and exits 0 or 1.
usage: forward-check.py [--root DIR] NAME BINARY [PROXY-ARG...]"""
import os, signal, socket, subprocess, sys, threading

TIMEOUT = 10.0


def echo_once(server):
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)


def main(argv):
    root = None
    if argv[:1] == ["--root"]:
        root, argv = argv[1], argv[2:]
    name, binary, extra = argv[0], argv[1], argv[2:]
    command = ["/tcpproxy" if root else binary, "127.0.0.1", "7001", "7000", "--bind", "127.0.0.1", *extra]
    server = socket.create_server(("127.0.0.1", 7001))
    threading.Thread(target=echo_once, args=(server,), daemon=True).start()
    # READY=1 on an abstract socket says the proxy accepts: no polling, and no path inside the root.
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_name = "tcpproxy-forward-check-%d" % os.getpid()
    notify.bind("\0" + notify_name)
    notify.settimeout(TIMEOUT)
    env = {"NOTIFY_SOCKET": "@" + notify_name}
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
