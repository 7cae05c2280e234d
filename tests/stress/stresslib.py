"""Helpers shared by the stress suite (tests/stress): the integration
harness (tests/integration/harness.py) plus what load tests measure about
the daemon process from /proc: resident memory, open descriptors and CPU
time.  Every script: python3 stress_x.py AIOJOBSD AIOJOBCTL [TEST...]"""

import os
import subprocess
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_here), "integration"))
import harness  # noqa: E402
from harness import Daemon, clean_env  # noqa: E402

# Clock ticks per second, for /proc/PID/stat utime and stime.
_HZ = os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    """The resident set of a process, KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def fd_count(pid):
    """The number of descriptors a process has open."""
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
    """User plus system CPU time a process has used, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is the state (field 3); utime and stime are fields 14, 15
    return (int(fields[11]) + int(fields[12])) / _HZ


def subprocess_env():
    """The environment for a helper Python process that imports the
    harness: where it is, and no bytecode in the source tree."""
    env = clean_env(PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.path.join(os.path.dirname(_here), "integration")
    return env


class LimitedDaemon(Daemon):
    """A Daemon started with resource limits: rlimits is a list of
    (resource.RLIMIT_x, (soft, hard)) set in the child before exec."""

    def __init__(self, *args, rlimits=(), **kw):
        super().__init__(*args, **kw)
        self.rlimits = list(rlimits)

    def start(self):
        import resource

        limits = self.rlimits

        def preexec():
            for res, value in limits:
                resource.setrlimit(res, value)

        real_popen = subprocess.Popen

        def popen(*a, **kw):
            kw["preexec_fn"] = preexec
            return real_popen(*a, **kw)

        # Daemon.start() is the harness's; only its Popen gets the limits.
        harness.subprocess.Popen = popen
        try:
            return super().start()
        finally:
            harness.subprocess.Popen = real_popen
