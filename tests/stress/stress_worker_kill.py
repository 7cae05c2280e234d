"""Workers killed under load (PROTOCOL.md 3.3: a worker that dies while
running a job fails it with worker_crashed and is replaced): two workers
run 200 `spin` jobs of 20-50 ms while a loop SIGKILLs a random worker
process every ~100 ms for 10 s.  Every job ends succeeded, or failed with
worker_crashed; none stays queued or running; the pool is back to two
live workers and new cpu jobs succeed. Then the same with 1 ms jobs, which
busy workers hold ahead: a kill fails at most the job its worker ran."""

import collections
import os
import random
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
import stresslib  # noqa: E402,F401  (puts the harness on sys.path)
import harness  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, poll_until,  # noqa: E402
                     workers_of)

WORKERS = 2
JOBS = 200
KILL_FOR_S = 10.0
KILL_EVERY_S = 0.1


def spin_spec(ms):
    return {"kind": "cpu", "args": {"fn": "spin", "input": {"ms": ms}}}


def pool_ready(d):
    """Two live worker processes and stats saying two idle workers."""
    w = d.ok({"op": "stats"})["workers"]
    return (w == {"total": WORKERS, "busy": 0}
            and len(workers_of(d.pid)) == WORKERS)


def killer(d, stop, killed):
    """SIGKILL a random worker every KILL_EVERY_S until stop is set."""
    rng = random.Random(5)
    while not stop.wait(KILL_EVERY_S):
        pids = workers_of(d.pid)
        if not pids:
            continue
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass


def test_workers_killed_under_load():
    rng = random.Random(3)
    with Daemon("--workers", WORKERS) as d:
        poll_until(lambda: pool_ready(d), 10, what="pool of %d idle workers"
                   % WORKERS)
        stop = threading.Event()
        killed = []
        k = threading.Thread(target=killer, args=(d, stop, killed),
                             daemon=True)
        t0 = time.monotonic()
        k.start()
        try:
            # submitted in batches while the killer runs, so that jobs
            # are dispatched during the whole 10 s
            ids = []
            specs = [spin_spec(rng.randint(20, 50)) for _ in range(JOBS)]
            with ReqClient(d.url) as c:
                per = JOBS // 10
                for i in range(0, JOBS, per):
                    r = c.request({"op": "submit", "jobs": specs[i:i + per]})
                    check(r.get("ok") is True, "submit not ok: %s", r)
                    ids += r["ids"]
                    stop.wait(KILL_FOR_S / 12)
            left = KILL_FOR_S - (time.monotonic() - t0)
            if left > 0:
                stop.wait(left)
        finally:
            stop.set()
            k.join(5)
        print("  %d workers killed in %.1f s" % (len(killed),
                                                time.monotonic() - t0))
        check(len(killed) >= KILL_FOR_S / KILL_EVERY_S / 2,
              "only %d workers were killed", len(killed))
        check(d.proc.poll() is None, "aiojobsd died")

        # a killed worker that was still starting counts towards the
        # start back-off (at most 30 s): bounded, not stuck
        done = d.wait_ids(ids, timeout_s=40)["done"]
        outcomes = collections.Counter(
            (v["state"], (v["error"] or {}).get("code")) for v in done)
        print("  %d jobs: %s (all done %.1f s after the start)"
              % (JOBS, dict(outcomes), time.monotonic() - t0))
        for v in done:
            if v["state"] == "succeeded":
                continue
            eq((v["state"], (v["error"] or {}).get("code")),
               ("failed", "worker_crashed"), "job %d (%s)" % (v["id"],
                                                             v["error"]))
            check("signal 9" in v["error"]["message"],
                  "job %d: the signal is not named: %r", v["id"],
                  v["error"]["message"])
        check(outcomes[("succeeded", None)] > 0, "no job succeeded")
        st = d.ok({"op": "stats"})["jobs"]
        eq((st["queued"], st["running"]), (0, 0), "queued and running jobs")

        # the pool is whole again and works
        poll_until(lambda: pool_ready(d), 35, interval=0.05,
                   what="the pool back to %d idle workers" % WORKERS)
        r = d.ok({"op": "submit", "jobs": [spin_spec(10)] * 4})
        for v in d.wait_ids(r["ids"], timeout_s=10)["done"]:
            eq(v["state"], "succeeded", "spin job after the kills (%s)"
               % v["error"])
        eq(len(workers_of(d.pid)), WORKERS, "live workers")
        with open(d.log_path, errors="replace") as f:
            backoffs = f.read().count("keep dying")
        print("  pool whole again %.1f s after the start (%d start "
              "back-offs)" % (time.monotonic() - t0, backoffs))


def test_workers_killed_while_holding_short_jobs():
    # 1 ms jobs: busy workers hold the next ones. A kill fails at most
    # the one job its worker ran; the jobs it held run elsewhere.
    rng = random.Random(7)
    with Daemon("--workers", WORKERS) as d:
        poll_until(lambda: pool_ready(d), 10, what="pool of %d idle workers"
                   % WORKERS)
        stop = threading.Event()
        killed = []
        k = threading.Thread(target=killer, args=(d, stop, killed),
                             daemon=True)
        try:
            ids = d.ok({"op": "submit", "jobs": [
                spin_spec(1) for _ in range(4000)]})["ids"]
            k.start()
            stop.wait(2.0 + rng.random())
        finally:
            stop.set()
            k.join(5)
        check(d.proc.poll() is None, "aiojobsd died")
        done = []
        for i in range(0, len(ids), 500):      # replies under 1 MiB
            done += d.wait_ids(ids[i:i + 500], timeout_s=60)["done"]
        outcomes = collections.Counter(
            (v["state"], (v["error"] or {}).get("code")) for v in done)
        print("  %d workers killed; %d jobs: %s" % (len(killed), len(ids),
                                                  dict(outcomes)))
        check(set(outcomes) <= {("succeeded", None),
                                ("failed", "worker_crashed")},
              "outcomes %s", dict(outcomes))
        check(outcomes[("failed", "worker_crashed")] <= len(killed),
              "%d jobs failed for %d kills",
              outcomes[("failed", "worker_crashed")], len(killed))
        for v in done:
            eq(v["attempts"], 1, "attempts of job %d" % v["id"])
        st = d.ok({"op": "stats"})["jobs"]
        eq((st["queued"], st["running"]), (0, 0), "queued and running jobs")
        poll_until(lambda: pool_ready(d), 35, interval=0.05,
                   what="the pool back to %d idle workers" % WORKERS)


if __name__ == "__main__":
    harness.main()
