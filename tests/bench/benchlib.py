"""Shared by the benchmarks of tests/bench (not a benchmark itself).

* options(): `bench_x.py AIOJOBSD [--quick] [ARG...]`;
* result(): one machine-readable line, collected by scripts/bench:

    RESULT {"bench": "bench_store", "workload": "...", "aiojobsd": 123.0,
            "unit": "jobs/s", "baseline": "store floor: ...",
            "baseline_value": 300.0, "ratio": 0.41, "target": ">= 0.5x",
            "met": false, "note": "..."}

  The baseline of a judged row is measured in the same invocation: a
  floor (sp_floor, store_floor: the same work with no daemon) or another
  program doing the same work. `ratio` is always aiojobsd / baseline in
  `unit`; the target says which way is better (">= 5x": higher is
  better, "<= 0.4x": lower is better). A target that is an absolute
  bound ("<= 450 B/job", "<= 30 us", ">= 95%") is checked against the
  aiojobsd figure itself. `met` is null when there is no target or no
  figure;
* the C load generator (aiojobs_load) and beanstalkd, found, installed
  and started the same way by every benchmark.

Python 3 standard library only."""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

BENCH = os.path.splitext(os.path.basename(sys.argv[0]))[0]


def options(usage):
    """(quick, positional arguments after AIOJOBSD); sets harness.AIOJOBSD.
    --quick may appear anywhere."""
    args = [a for a in sys.argv[1:] if a != "--quick"]
    quick = len(args) != len(sys.argv) - 1
    if not args or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: %s\n" % usage)
        sys.exit(2)
    harness.AIOJOBSD = os.path.abspath(args[0])
    return quick, args[1:]


def thousands(n):
    """1000000 -> "1,000,000", for the workload names."""
    return "{:,}".format(n)


def median(xs):
    return statistics.median(xs)


def _bound(target):
    """(op, number, relative) of a target such as ">= 5x", "<= 450 B/job",
    ">= 95%"; None when there is none."""
    if not target:
        return None
    parts = target.split()
    if len(parts) < 2 or parts[0] not in (">=", "<="):
        return None
    num = parts[1]
    relative = num.endswith("x")
    try:
        value = float(num.rstrip("x%"))   # "95%": the figure is in %
    except ValueError:
        return None
    return parts[0], value, relative


def judge(value, ratio, target):
    """True/False when the target can be checked, else None."""
    b = _bound(target)
    if b is None:
        return None
    op, bound, relative = b
    x = ratio if relative else value
    if x is None:
        return None
    return x >= bound if op == ">=" else x <= bound


def result(workload, value, unit, baseline=None, baseline_value=None,
           target=None, note=None, ratio=None, met=None):
    """Print one RESULT line (and a human one). ratio defaults to
    value / baseline_value; met to judge(value, ratio, target)."""
    if (ratio is None and value is not None and baseline_value
            and baseline_value > 0):
        ratio = value / baseline_value
    if met is None:
        met = judge(value, ratio, target)
    r = {"bench": BENCH, "workload": workload,
         "aiojobsd": _round(value), "unit": unit,
         "baseline": baseline, "baseline_value": _round(baseline_value),
         "ratio": _round(ratio), "target": target, "met": met}
    if note:
        r["note"] = note
    print("RESULT " + json.dumps(r), flush=True)
    return r


def skipped(workload, unit, why, baseline=None, target=None):
    """A RESULT line for a measurement that could not be made."""
    return result(workload, None, unit, baseline=baseline, target=target,
                  note="not measured: " + why)


def _round(x):
    if x is None:
        return None
    if abs(x) >= 100:
        return round(x, 1)
    return float("%.4g" % x)


def proc_kib(pid, field):
    """A /proc/PID/status field in KiB (VmRSS, VmHWM); -1 if missing."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    """User + system CPU time of pid so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def say(fmt, *args):
    print(fmt % args if args else fmt, flush=True)


# ---------------------------------------------------------------------------
# aiojobs_load (tests/bench/aiojobs_load.c, built by meson)
# ---------------------------------------------------------------------------


def load_path():
    """$AIOJOBS_LOAD, else tests/bench/aiojobs_load in the build tree of
    the daemon under test; None when it is not built."""
    p = os.environ.get("AIOJOBS_LOAD")
    if not p:
        build = os.path.dirname(os.path.dirname(harness.AIOJOBSD))
        p = os.path.join(build, "tests", "bench", "aiojobs_load")
    return p if os.access(p, os.X_OK) else None


def run_load(args, daemon=None, bs_port=None, timeout=600):
    """Run aiojobs_load with args against a harness.Daemon or a beanstalkd
    port, with --max-seconds timeout; return {name: value} of its RESULT
    lines ({"name": "io.wall", "value": 1.2, "unit": "s", ...}), the whole
    lines under "_lines". Raises RuntimeError on failure."""
    exe = load_path()
    if exe is None:
        raise RuntimeError("aiojobs_load is not built")
    cmd = [exe] + [str(a) for a in args] + ["--max-seconds", str(timeout)]
    if daemon is not None:
        cmd += ["--url", daemon.url, "--events-url", daemon.events_url]
    if bs_port is not None:
        cmd += ["--host", "127.0.0.1", "--port", str(bs_port)]
    p = subprocess.run(cmd, env=harness.clean_env(), capture_output=True,
                       text=True, timeout=timeout + 60)
    out = {"_lines": []}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            out[r["name"]] = r["value"]
            out["_lines"].append(r)
    if p.returncode != 0 or not out["_lines"]:
        raise RuntimeError("%s: exit %d\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return out


# ---------------------------------------------------------------------------
# the floors: sp_floor and store_floor (tests/bench/*.c, built by meson)
# ---------------------------------------------------------------------------


def tool(name):
    """A program built beside aiojobs_load (sp_floor, store_floor), or
    None."""
    p = load_path()
    p = p and os.path.join(os.path.dirname(p), name)
    return p if p and os.access(p, os.X_OK) else None


def run_tool(cmd, timeout=600):
    """{name: value} of a floor tool's RESULT lines."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (cmd[0], p.stderr[-2000:]))
    return {r["name"]: r["value"] for r in
            (json.loads(line[7:]) for line in p.stdout.splitlines()
             if line.startswith("RESULT "))}


def store_floor(n, batch, mode, started=False):
    """store_floor's {name: value} for n rows, batch a transaction, in a
    fresh directory (started: each row updated when its job starts too);
    None when it is not built."""
    exe = tool("store_floor")
    if exe is None:
        return None
    d = tempfile.mkdtemp(prefix="aiojobs-floor.")
    try:
        return run_tool([exe, str(n), str(batch), mode, d] +
                        (["started"] if started else []))
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# beanstalkd (Debian package)
# ---------------------------------------------------------------------------


def beanstalkd_path():
    """beanstalkd's path, installing the package (apt-get, as root or with
    sudo) when it is missing; None if that fails."""
    path = shutil.which("beanstalkd")
    if path is not None:
        return path
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and shutil.which("sudo") is None:
        say("beanstalkd is not installed: run 'apt-get install -y "
            "beanstalkd' as root for the comparison")
        return None
    say("installing beanstalkd (apt-get install -y beanstalkd)")
    cmd = sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                  "beanstalkd"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(sudo + ["apt-get", "update", "-q"], env=env,
                       capture_output=True)
        subprocess.run(cmd, env=env, capture_output=True)
    path = shutil.which("beanstalkd")
    if path is None:
        say("could not install beanstalkd; no comparison")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Beanstalkd:
    """beanstalkd on 127.0.0.1 and a free port; args may contain DIR (a
    fresh temporary directory, for the binlog)."""

    def __init__(self, exe, args=()):
        self.exe = exe
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="ajbs", dir="/tmp")
        self.port = free_port()

    def __enter__(self):
        args = [a.replace("DIR", self.dir) for a in self.args]
        self.proc = subprocess.Popen([self.exe, "-l", "127.0.0.1", "-p",
                                      str(self.port)] + args,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("beanstalkd did not start")
                time.sleep(0.02)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
