"""Start a contender proxy, wait until it accepts connections, stop it by its process group."""
import os
import random
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"


def free_ports(count):
    """Distinct ports below the ephemeral range, so no outgoing connect can take them meanwhile."""
    ports, held = [], []
    try:
        for _ in range(200):
            if len(ports) == count:
                break
            port = random.randrange(20000, 32000)
            s = socket.socket()
            try:
                s.bind((HOST, port))
            except OSError:
                s.close()
                continue
            held.append(s)
            ports.append(port)
    finally:
        for s in held:
            s.close()
    if len(ports) < count:
        raise RuntimeError("no free ports found")
    return ports


class Proxy:
    """One running contender (argv already holds DEST_HOST DEST_PORT LISTEN_PORT and any
    options after them), in its own session."""

    def __init__(self, name, argv, listen_port, log_path, env):
        self.name, self.listen_port, self.log_path = name, listen_port, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        self.pid = self.proc.pid

    def log_tail(self, lines=5):
        try:
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout=15.0):
        """Ready = a connect to the listen port succeeds (bounded retries; the proxy's own
        attempt to reach the not-yet-listening destination is refused and harmless)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.listen_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not accept connections within {timeout:.0f} s: {self.log_tail()}")

    def wait_serving(self, timeout=15.0):
        """A process of the tree has accepted a connection: the proxy closes it (its connect to
        the destination, which does not listen yet, fails). A connect alone does not show that:
        nginx listens before it forks the worker that accepts, and the kernel completes the
        handshake meanwhile, so a tree listed then may lack the process that does the work."""
        with socket.create_connection((HOST, self.listen_port), timeout=timeout) as probe:
            try:
                probe.recv(1)  # b"" (EOF) or a reset: both come from the process that accepted
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise RuntimeError(f"{self.name} accepted no connection within {timeout:.0f} s: {self.log_tail()}")

    def stop(self):
        """SIGTERM to the whole group (nginx worker, socat children, strace), SIGKILL if it lingers."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        # Children of a group whose leader already exited (e.g. socat's forks).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log.close()
