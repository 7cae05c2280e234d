"""Benchmark: the Python client (client/python/aiojobsd) against the C
client library, measured in the same run.

* single submits a second from the blocking aiojobsd.Client (one job a
  request, sequential, each with its idempotency key), jobs on a paused
  queue so that nothing runs, against the C load generator doing the
  same (`aiojobs_load submit N --keys`) on a daemon of its own, both
  --durability fast so that the client's share of a round trip shows;
* reference: the asyncio client's cost a job: submit_many of N sleep 0
  jobs in batches of 1,000, then awaiting every handle (asyncio.gather,
  whose waits the client shares), as microseconds of the client
  process's CPU a job.

Target (issue 20): the blocking client's single submits >= 0.33x the C
client's (within 3x).

usage: bench_python.py AIOJOBSD [--quick]   (3 rounds of 2,000 submits
and 20,000 async jobs; --quick: 1 round of 500 and 5,000; exit 0 always:
this is a measurement, not a test)"""

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
import benchlib  # noqa: E402
from benchlib import harness, median, result, say, thousands  # noqa: E402
import aiojobsd  # noqa: E402

ROUNDS = 3
SINGLE = 2000
ASYNC_JOBS = 20000
TARGET = ">= 0.33x"


def daemon():
    return harness.Daemon("-q", "--durability", "fast", "--workers", "0")


def python_rate(n):
    """Single submits a second from the blocking client."""
    with daemon() as d:
        d.ok({"op": "queue", "name": "bench", "action": "pause"})
        with aiojobsd.Client(d.url) as c:
            c.ping()
            t0 = time.monotonic()
            for _ in range(n):
                c.submit("sleep", ms=1000, queue="bench")
            return n / (time.monotonic() - t0)


def c_rate(n):
    with daemon() as d:
        for q in ("default", "bench"):
            d.ok({"op": "queue", "name": q, "action": "pause"})
        return benchlib.run_load(["submit", n, "--keys"], daemon=d,
                                 timeout=120)["submit.rate"]


async def async_jobs(url, n):
    async with aiojobsd.AsyncClient(url) as c:
        handles = []
        for i in range(0, n, 1000):
            handles += await c.submit_many(
                [aiojobsd.spec("sleep", ms=0, queue="abench")
                 for _ in range(min(1000, n - i))])
        await asyncio.gather(*handles)


def async_cost(n):
    """(client CPU microseconds a job, wall seconds) of n jobs."""
    with harness.Daemon("-q", "--durability", "fast", "--workers", "0",
                        "--limit", "0") as d:
        cpu0, t0 = time.process_time(), time.monotonic()
        asyncio.run(async_jobs(d.url, n))
        return ((time.process_time() - cpu0) / n * 1e6,
                time.monotonic() - t0)


def main():
    global ROUNDS, SINGLE, ASYNC_JOBS
    quick, _ = benchlib.options("bench_python.py AIOJOBSD [--quick]")
    if quick:
        ROUNDS, SINGLE, ASYNC_JOBS = 1, 500, 5000
    t_start = time.monotonic()
    workload = ("Python blocking client: single submits (1 job/request, "
                "sequential, keyed), --durability fast")
    if benchlib.load_path() is None:
        benchlib.skipped(workload, "jobs/s", "aiojobs_load is not built",
                         target=TARGET)
        return 0
    py, c, cost, wall = [], [], [], []
    for _ in range(ROUNDS):
        py.append(python_rate(SINGLE))
        c.append(c_rate(SINGLE))
        us, w = async_cost(ASYNC_JOBS)
        cost.append(us)
        wall.append(w)
    say("median of %d round(s)", ROUNDS)
    say("  Python Client: %8.0f submits/s  (%s)", median(py),
        " ".join("%.0f" % x for x in py))
    say("  C aiojobs_load: %7.0f submits/s  (%s)", median(c),
        " ".join("%.0f" % x for x in c))
    say("  AsyncClient: %.1f us of client CPU a job, %s jobs in %.2f s",
        median(cost), thousands(ASYNC_JOBS), median(wall))
    result(workload + ", %s submits" % thousands(SINGLE), median(py),
           "jobs/s", "the C client library: aiojobs_load submit N --keys",
           median(c), TARGET)
    result("Python AsyncClient: submit_many + awaiting %s sleep 0 jobs, "
           "client CPU a job" % thousands(ASYNC_JOBS), median(cost),
           "us/job", note="reference: %.2f s wall for all, --limit 0, "
           "--durability fast" % median(wall))
    say("bench took %.0f s", time.monotonic() - t_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
