"""Count the syscalls a running proxy tree makes, with `strace -c -f -p PID...`."""
import os
import re
import select
import signal
import subprocess
import time


def _running(pid):
    """Whether pid is a live process, not exited nor a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


class SyscallCounter:
    """Attach to every process of the tree; stop() detaches and returns the total call count."""

    def __init__(self, pids, out_path, timeout=15.0):
        self.out_path = out_path
        cmd = ["strace", "-c", "-f", "-o", out_path]
        for pid in pids:
            cmd += ["-p", str(pid)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self._wait_attached(set(pids), pids[0], time.monotonic() + timeout)

    def _wait_attached(self, pids, root, deadline):
        """strace says `Process N attached` per process: the event that tracing has begun.

        A forking proxy's child listed a moment ago may have exited since
        (socat's, for a connection just closed): strace then says
        `ptrace(PTRACE_SEIZE, N): No such process`, or EPERM while it is
        exiting, and that child, gone, has nothing left to count. Only the
        proxy itself, and any process still running, must be attached.
        """
        fd, text = self.proc.stderr.fileno(), ""
        while pids:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.detach()
                raise RuntimeError(f"strace did not attach: {text.strip()[-200:]}")
            chunk = os.read(fd, 4096).decode(errors="replace")
            if not chunk:
                raise RuntimeError(f"strace exited: {text.strip()[-200:]}")
            text += chunk
            for pid in re.findall(r"Process (\d+) attached", text):
                pids.discard(int(pid))
            for pid in map(int, re.findall(r"PTRACE_SEIZE, (\d+)\): (?:No such process|Operation not permitted)", text)):
                # EPERM too is what a process in the middle of exiting answers.
                if pid == root or _running(pid):
                    self.detach()
                    raise RuntimeError(f"strace could not attach to {pid}: {text.strip()[-200:]}")
                pids.discard(pid)

    def detach(self):
        """Ends strace (it detaches from the tree); its summary is left unread."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        """Detach; returns (total calls, {syscall: calls})."""
        self.detach()
        per_call = {}
        with open(self.out_path) as f:
            for line in f:
                fields = line.split()
                # % time, seconds, usecs/call, calls, [errors], syscall
                if len(fields) < 5 or not fields[3].isdigit():
                    continue
                if fields[-1] == "total":
                    return int(fields[3]), per_call
                per_call[fields[-1]] = int(fields[3])
        raise RuntimeError("strace -c printed no total line")
