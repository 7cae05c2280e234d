"""Scheduling features of the job spec: retries, queue rate, shield and
field limits (PROTOCOL.md 3.1 and 4). Dependencies, locks and task groups
come with the orchestration work."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, expect_error,  # noqa: E402
                     max_overlap)


def test_retries():
    with Daemon() as d:
        t0 = time.monotonic()
        jid = d.submit_sleep(5000, timeout_ms=50, retries=2,
                             retry_backoff_ms=100)
        v = d.wait_ids([jid], timeout_s=15)["done"][0]
        dt = time.monotonic() - t0
        eq(v["state"], "failed", "state")
        eq(v["attempts"], 3, "attempts")
        eq(v["error"]["code"], "timeout", "error code")
        # 3 x 50 ms running + 100 + 200 ms backoff
        check(dt >= 0.4, "retries with backoff took only %.2f s", dt)
        check(dt < 10, "retries took %.2f s", dt)
        ok = d.submit_sleep(10, retries=3)
        v = d.wait_ids([ok])["done"][0]
        eq((v["state"], v["attempts"]), ("succeeded", 1), "no retry needed")


def test_no_retry_after_cancel():
    with Daemon() as d:
        jid = d.submit_sleep(30000, retries=3, retry_backoff_ms=10)
        d.wait_state(jid, "running")
        d.ok({"op": "cancel", "id": jid})
        v = d.status(jid)
        eq((v["state"], v["attempts"]), ("cancelled", 1), "after cancel")
        # stays cancelled
        other = d.submit_sleep(100)
        d.wait_ids([other])
        eq(d.status(jid)["state"], "cancelled", "no retry")


def test_queue_rate():
    with Daemon() as d:
        q = d.ok({"op": "queue", "name": "rq", "action": "set",
                  "rate": 4})["queue"]
        eq(q["rate"], 4, "rate")
        ids = d.ok({"op": "submit", "jobs": [sleep_spec(0, queue="rq")
                                             for _ in range(8)]})["ids"]
        done = d.wait_ids(ids, timeout_s=20)["done"]
        starts = sorted(v["started_at"] for v in done)
        span = starts[-1] - starts[0]
        # burst 4, then one start every 250 ms: the last at >= 1000 ms
        check(span >= 900, "8 starts at rate 4/s spanned %d ms", span)
        check(span < 5000, "rate 4/s too slow: %d ms", span)
        for i in range(len(starts)):
            in_window = [s for s in starts if starts[i] <= s < starts[i] + 500]
            check(len(in_window) <= 6, "%d starts within 500 ms at rate 4/s",
                  len(in_window))


def test_shield_survives_shutdown():
    with Daemon() as d:
        shielded = d.submit_sleep(1000, shield=True)
        plain = d.submit_sleep(30000)
        d.wait_state(shielded, "running")
        d.wait_state(plain, "running")
        with ReqClient(d.url) as w:
            w.send_bytes(json.dumps({"op": "wait",
                                     "ids": [shielded, plain]}).encode(),
                         2000)
            d.ok({"op": "shutdown", "timeout_ms": 100})
            r = json.loads(w.recv_bytes(10000))
        eq([(v["id"], v["state"]) for v in r["done"]],
           [(shielded, "succeeded"), (plain, "cancelled")], "after shutdown")
        eq(d.wait_exit(15), 0, "exit status")


def test_spec_limits():
    with Daemon() as d:
        expect_error(d.request({"op": "submit",
                                "job": sleep_spec(0, name="n" * 300)}),
                     "bad_request", "name")
        eq(d.request({"op": "submit", "job": sleep_spec(0, name="n" * 256)})
           .get("ok"), True, "name of 256 bytes")
        expect_error(d.request({"op": "submit",
                                "job": sleep_spec(0, shield="yes")}),
                     "bad_request", "shield")
        expect_error(d.request({"op": "submit",
                                "job": sleep_spec(0, lock=5)}),
                     "bad_request", "lock")
        expect_error(d.request({"op": "submit",
                                "job": sleep_spec(0, key=5)}),
                     "bad_request", "key")
        expect_error(d.request({"op": "submit", "group": "yes",
                                "jobs": [sleep_spec(0)]}),
                     "bad_request", "group")


if __name__ == "__main__":
    harness.main()
