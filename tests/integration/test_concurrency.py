"""Concurrency: many IO-bound jobs run at once on the event loop, and the
global running limit holds (PROTOCOL.md 3, DESIGN.md quality bars)."""

import os
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import Daemon, check, eq, max_overlap  # noqa: E402

FINAL = ("job.succeeded", "job.failed", "job.cancelled")


def test_thousand_sleeps_unlimited():
    with Daemon("--limit", "0") as d:
        n, chunk = 1000, 100
        ids = []
        t0 = time.monotonic()
        for i in range(0, n, chunk):
            r = d.ok({"op": "submit",
                      "jobs": [sleep_spec(1000) for _ in range(chunk)]},
                     timeout_ms=10000)
            eq(len(r["ids"]), chunk, "ids in a chunk")
            ids.extend(r["ids"])
        eq(len(set(ids)), n, "distinct ids")
        r = d.wait_ids(ids, timeout_s=60)
        elapsed = time.monotonic() - t0
        states = {}
        for v in r["done"]:
            states[v["state"]] = states.get(v["state"], 0) + 1
        eq(states, {"succeeded": n}, "final states")
        check(elapsed < 10, "%d jobs of 1 s took %.1f s with --limit 0",
              n, elapsed)
        ov = max_overlap([(v["started_at"], v["finished_at"])
                          for v in r["done"]])
        check(ov >= 100, "only %d jobs ran at once", ov)
        st = d.ok({"op": "stats"})["jobs"]
        eq(st["succeeded"], n, "stats succeeded")


def test_limit_10_holds():
    with Daemon("--limit", "10") as d:
        sub = d.sub(("job.",))
        d.sync_sub(sub)
        t0 = time.monotonic()
        ids = d.ok({"op": "submit",
                    "jobs": [sleep_spec(200) for _ in range(30)]})["ids"]
        idset = set(ids)

        def all_final(events):
            return idset <= {v.get("id") for t, v in events if t in FINAL}

        events = sub.events_until(all_final, timeout_s=30)
        r = d.wait_ids(ids, timeout_s=30)
        elapsed = time.monotonic() - t0
        eq({v["state"] for v in r["done"]}, {"succeeded"}, "final states")
        check(elapsed >= 0.6, "30 x 200 ms with limit 10 took %.3f s",
              elapsed)
        # concurrency seen through events
        running = peak = 0
        started = set()
        for topic, view in events:
            if view.get("id") not in idset:
                continue
            if topic == "job.running":
                running += 1
                started.add(view["id"])
            elif topic in FINAL:
                check(view["id"] in started,
                      "job %d finished without a job.running event",
                      view["id"])
                running -= 1
            peak = max(peak, running)
        eq(started, idset, "job.running seen for every job")
        check(peak <= 10, "events show %d jobs running at once", peak)
        check(peak >= 5, "events show only %d jobs running at once", peak)
        # concurrency seen through the views' times
        intervals = [(v["started_at"], v["finished_at"]) for v in r["done"]]
        ov = max_overlap(intervals)
        check(ov <= 10, "views show %d jobs running at once", ov)
        span = max(e for _, e in intervals) - min(s for s, _ in intervals)
        check(span >= 600, "jobs spanned only %d ms", span)


def test_stats_running_never_above_limit():
    with Daemon("--limit", "3") as d:
        ids = d.ok({"op": "submit",
                    "jobs": [sleep_spec(100) for _ in range(12)]})["ids"]
        deadline = time.monotonic() + 20
        seen_max = 0
        samples = 0
        while time.monotonic() < deadline and samples < 5000:
            st = d.ok({"op": "stats"})
            samples += 1
            seen_max = max(seen_max, st["jobs"]["running"])
            check(st["jobs"]["running"] <= 3, "stats: %d running, limit 3",
                  st["jobs"]["running"])
            if st["jobs"]["succeeded"] == 12:
                break
        eq(d.ok({"op": "stats"})["jobs"]["succeeded"], 12, "all done")
        check(seen_max >= 1, "never saw a running job")
        ov = max_overlap([(v["started_at"], v["finished_at"])
                          for v in d.wait_ids(ids)["done"]])
        check(ov <= 3, "views show %d running, limit 3", ov)


if __name__ == "__main__":
    harness.main()
