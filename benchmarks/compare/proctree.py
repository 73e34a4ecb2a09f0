"""CPU time and private memory of a process and all its descendants, read from /proc.

A whole tree, because some contenders serve from children (nginx's worker, socat's
per-connection forks); reaped children are already in their parent's cutime/cstime."""
import os

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # comm may contain spaces and parentheses: the fields start after the last ')'.
    return text[text.rindex(")") + 2:].split()


def tree_pids(root, running_only=False):
    """root plus every live descendant (scans /proc once for parent links); with running_only,
    no zombie (an exited child its parent has not reaped yet, e.g. socat's per-connection fork)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = _stat_fields(name)
            ppid = int(fields[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        if running_only and fields[0] == "Z":
            continue
        children.setdefault(ppid, []).append(int(name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def cpu_seconds(root):
    """user+sys seconds of the tree, including children it has already reaped."""
    total = 0
    for pid in tree_pids(root):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14..17 of stat; f starts at field 3.
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / _TICK


def private_kib(root):
    """Private_Clean + Private_Dirty of the tree, in KiB (smaps_rollup)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(("Private_Clean:", "Private_Dirty:")):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def rss_kib(root):
    """VmRSS of the tree, in KiB (shared pages counted in every process that maps them)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total
