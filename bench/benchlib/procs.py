"""CPU time and memory of a server's whole process tree.

CPU: a server is started inside its own cgroup-v1 `cpuacct` group when the
kernel offers one (writable /sys/fs/cgroup/cpuacct). Every process it ever
forks stays in the group, and `cpuacct.usage` counts their user+system time
in nanoseconds, including processes that exited during a run (Dovecot's
login, pop3 and lmtp processes come and go). Without a cgroup the fallback
walks the tree from the root PID and adds utime+stime+cutime+cstime of every
live process: a child that exited and was reaped is in its parent's
cutime/cstime, so nothing is lost as long as its parent is in the tree
(true for both servers: the master/supervisor reaps its children). Both
figures are computed when possible and the driver reports how far apart
they are.

Memory: PSS (proportional set size, so that pages shared between a
server's processes are counted once in total) from /proc/PID/smaps_rollup,
summed over the group's processes.
"""
import itertools
import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
CGROUP_ROOT = "/sys/fs/cgroup/cpuacct"
_serial = itertools.count()


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _stat_fields(pid):
    """(ppid, utime+stime+cutime+cstime in ticks) of a process, or None."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # the command name may contain spaces and parentheses: split after it
    rest = text[text.rindex(")") + 2:].split()
    ppid = int(rest[1])
    ticks = sum(int(x) for x in rest[11:15])
    return ppid, ticks


def process_tree(root):
    """PIDs of root and all its descendants (live ones)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat_fields(name)
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class ProcGroup:
    """The processes of one server instance."""

    def __init__(self, name):
        self.root = None
        self.cgroup = None
        # a new group for every start: the last one may still be draining
        path = f"{CGROUP_ROOT}/ybench-{os.getpid()}-{name}-{next(_serial)}"
        try:
            os.mkdir(path)
            self.cgroup = path
        except OSError:
            self.cgroup = None

    @property
    def method(self):
        return "cgroup-v1 cpuacct" if self.cgroup else "process tree (/proc/PID/stat)"

    def preexec(self):
        """Run in the child between fork and exec: join the cgroup."""
        if self.cgroup:
            with open(f"{self.cgroup}/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    def attach(self, pid):
        self.root = pid

    def pids(self):
        if self.cgroup:
            text = _read(f"{self.cgroup}/cgroup.procs") or ""
            return [int(x) for x in text.split()]
        return process_tree(self.root) if self.root else []

    def tree_cpu_ns(self):
        total = 0
        for pid in process_tree(self.root) if self.root else []:
            st = _stat_fields(pid)
            if st is not None:
                total += st[1]
        return total * 1_000_000_000 // CLK_TCK

    def cpu_ns(self):
        """User+system time of every process the server ever ran."""
        if self.cgroup:
            return int(_read(f"{self.cgroup}/cpuacct.usage"))
        return self.tree_cpu_ns()

    def pss_kib(self):
        total = 0
        for pid in self.pids():
            text = _read(f"/proc/{pid}/smaps_rollup") or ""
            for line in text.splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        return total

    def count(self, comm):
        """How many of the group's processes are named comm."""
        n = 0
        for pid in self.pids():
            if (_read(f"/proc/{pid}/comm") or "").strip() == comm:
                n += 1
        return n

    def close(self):
        if not self.cgroup:
            return
        for _ in range(50):
            try:
                os.rmdir(self.cgroup)
                return
            except OSError:
                time.sleep(0.1)


class CpuMeter:
    """CPU used by a group between start() and stop(), both methods."""

    def __init__(self, group):
        self.group = group

    def __enter__(self):
        self.c0 = self.group.cpu_ns()
        self.t0 = self.group.tree_cpu_ns()
        return self

    def __exit__(self, *exc):
        self.cpu_ns = self.group.cpu_ns() - self.c0
        self.tree_ns = self.group.tree_cpu_ns() - self.t0
        return False
