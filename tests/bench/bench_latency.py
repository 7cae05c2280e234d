"""Benchmark: submit -> start latency, one job at a time, against the
transport's floor measured in the same rounds, with beanstalkd's put ->
reserve with a blocked consumer for reference, all with the same C client
(tests/bench/aiojobs_load).

* aiojobsd `--durability fast`: `aiojobs_load latency N` submits one job,
  waits until it has started, N times, and reports percentiles;
* the transport's floor: `sp_floor N` (no daemon) times a request on a
  REQ socket to the second of two events on a SUB socket through a
  thread that only receives on REP, publishes on PUB and replies, over
  ipc as aiojobsd is reached. Two events, because a job that starts at
  once publishes job.queued and then job.running, and the protocol gives
  every subscriber both; the second of two messages reaches a subscriber
  some 25 us after one alone would. What a latency asks below it, no
  daemon behind these sockets can meet; what aiojobsd adds above it is
  its own;
* beanstalkd (Debian package, installed with apt-get when missing) on
  127.0.0.1 and a free port, without a binlog: `aiojobs_load bs-latency N`
  puts one job while a second connection is blocked in `reserve`, N times.

The three run one after the other in each round, ROUNDS times (3 with
--quick). What aiojobsd adds is the median of the rounds' differences
(its percentile minus the floor's of the same round, the floor running
right after the daemon, so a slow spell of the machine shifts both).

Targets (issue 19): aiojobsd adds at most 30 us to the transport floor at
p50 and at most 60 us at p99. Its own p50 and p99, the floor's, and
beanstalkd's are reference rows (no target).

usage: bench_latency.py AIOJOBSD [--quick] [N]   (default 5000; --quick:
1000; exit 0 always: this is a measurement, not a test)"""

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness, median, result, say  # noqa: E402

ROUNDS = 5
ROUNDS_QUICK = 3
TARGETS = (("p50", "<= 30 us"), ("p99", "<= 60 us"))   # added to the floor
BASELINE = "beanstalkd put -> reserve (blocked consumer, no binlog)"
FLOOR = "transport floor %s: REQ -> REP -> PUB -> SUB, no daemon (sp_floor)"
ADDED = "submit -> start latency %s, added to the transport floor"


def percentiles(r, prefix):
    """{"p50": us, "p90": us, "p99": us, "max": us} of aiojobs_load's
    RESULT lines prefix.p50 ..."""
    return {p: r[prefix + "." + p] for p in ("p50", "p90", "p99", "max")}


def daemon_side(n):
    """The start percentiles, plus the submit round trip's p50 and how
    often job.running came before the submit's reply."""
    with harness.Daemon("--durability", "fast", "--workers", "0",
                        "-q") as d:
        r = benchlib.run_load(["latency", n], daemon=d, timeout=300)
    out = percentiles(r, "latency.start")
    out["submit rtt p50"] = r["latency.submit_rtt.p50"]
    out["running before reply"] = r["latency.running_before_reply"]
    return out


def beanstalkd_side(exe, n):
    with benchlib.Beanstalkd(exe) as bs:
        r = benchlib.run_load(["bs-latency", n], bs_port=bs.port,
                              timeout=300)
    return percentiles(r, "bs_latency.start")


def floor_path():
    p = benchlib.load_path()
    p = p and os.path.join(os.path.dirname(p), "sp_floor")
    return p if p and os.access(p, os.X_OK) else None


def floor_side(exe, n):
    p = subprocess.run([exe, str(n)], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError("sp_floor: %s" % p.stderr[-2000:])
    out = {}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            out[r["name"]] = r["value"]
    return percentiles(out, "floor.start")


def main():
    quick, args = benchlib.options("bench_latency.py AIOJOBSD [--quick] [N]")
    n = int(args[0]) if args else (1000 if quick else 5000)
    t0 = time.monotonic()
    nn = floor_path()
    if benchlib.load_path() is None or nn is None:
        for p, target in TARGETS:
            benchlib.skipped(ADDED % p, "us", "aiojobs_load or sp_floor is "
                             "not built", FLOOR % p, target)
        return 0
    exe = benchlib.beanstalkd_path()
    rounds = ROUNDS_QUICK if quick else ROUNDS
    ours, theirs, floor = [], [], []
    for _ in range(rounds):
        ours.append(daemon_side(n))
        floor.append(floor_side(nn, n))
        if exe is not None:
            theirs.append(beanstalkd_side(exe, n))
    say("%d jobs one at a time, medians of %d rounds (microseconds)",
        n, rounds)
    for name, runs in (("aiojobsd --durability fast", ours),
                       ("SP transport floor (no daemon)", floor),
                       ("beanstalkd, no binlog", theirs)):
        if runs:
            say("  %-27s %s", name, "  ".join(
                "%s %.4g" % (k, median(r[k] for r in runs))
                for k in runs[0]))
    for p, target in TARGETS:
        adds = [o[p] - f[p] for o, f in zip(ours, floor)]
        result(ADDED % p + ", one job at a time, --durability fast",
               median(adds), "us", FLOOR % p, median(r[p] for r in floor),
               target, "what aiojobsd adds: the median of the rounds' "
               "differences (%s us); the ratio is the added part over the "
               "floor" % ", ".join("%.0f" % a for a in adds))
    base = {p: median(r[p] for r in theirs) if theirs else None
            for p, _ in TARGETS}
    for p, _ in TARGETS:
        result("submit -> start latency %s, one job at a time, "
               "--durability fast" % p, median(r[p] for r in ours), "us",
               BASELINE if theirs else None, base[p], None,
               "reference: the whole latency, the floor's part included"
               + ("" if theirs else "; beanstalkd is not installed"))
    for p, _ in TARGETS:
        result(FLOOR % p, median(r[p] for r in floor), "us",
               BASELINE if theirs else None, base[p], None,
               "reference: the part of the latency that is the "
               "transport's, before any work")
    say("bench took %.0f s", time.monotonic() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
