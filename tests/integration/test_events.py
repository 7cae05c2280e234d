"""Events on the PUB endpoint: `TOPIC SPACE JSON`, the view without
result and args (PROTOCOL.md section 5)."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq  # noqa: E402

VIEW_FIELDS = {"id", "kind", "name", "queue", "priority", "state", "attempts",
               "submitted_at", "started_at", "finished_at", "error"}


def events_for(sub, jid, until_topic, timeout_s=10):
    """Collect (topic, view, raw) for job jid until until_topic arrives."""
    got = []
    deadline = time.monotonic() + timeout_s
    for _ in range(10000):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            topic, view, raw = sub.recv_event(min(left, 0.5) * 1000)
        except TimeoutError:
            continue
        if view.get("id") != jid:
            continue
        got.append((topic, view, raw))
        if topic == until_topic:
            return got
    raise AssertionError("no %s for job %d; got %s"
                         % (until_topic, jid, [t for t, _, _ in got]))


def check_event(topic, view, raw):
    sp = raw.index(b" ")
    eq(raw[:sp].decode(), topic, "topic")
    eq(json.loads(raw[sp + 1:].decode()), view, "JSON after one space")
    check(raw[sp + 1:sp + 2] == b"{", "not one space before JSON: %r",
          raw[:60])
    check("result" not in view, "event view has result: %s", view)
    check("args" not in view, "event view has args: %s", view)
    missing = VIEW_FIELDS - set(view)
    check(not missing, "event view lacks %s: %s", sorted(missing), view)
    eq(view["state"], topic[len("job."):], "state matches topic")


def test_lifecycle_events():
    with Daemon() as d:
        sub = d.sub(("job.",))
        d.sync_sub(sub)
        jid = d.submit_sleep(100, name="ev", queue="evq")
        got = events_for(sub, jid, "job.succeeded")
        eq([t for t, _, _ in got], ["job.queued", "job.running",
                                    "job.succeeded"], "topics")
        for topic, view, raw in got:
            check_event(topic, view, raw)
            eq((view["name"], view["queue"], view["kind"]),
               ("ev", "evq", "sleep"), "view fields")
        q, r, s = (v for _, v, _ in got)
        eq(q["started_at"], None, "started_at in job.queued")
        check(isinstance(r["started_at"], int), "started_at in job.running")
        eq(r["finished_at"], None, "finished_at in job.running")
        check(isinstance(s["finished_at"], int), "finished_at in succeeded")
        eq(s["error"], None, "error in job.succeeded")


def test_cancelled_and_failed_events():
    with Daemon() as d:
        sub = d.sub(("job.",))
        d.sync_sub(sub)
        jid = d.submit_sleep(30000)
        d.wait_state(jid, "running")
        d.ok({"op": "cancel", "id": jid})
        got = events_for(sub, jid, "job.cancelled")
        topic, view, raw = got[-1]
        check_event(topic, view, raw)
        eq(view["error"]["code"], "cancelled", "error code of cancelled")

        fid = d.submit_sleep(5000, timeout_ms=100)
        got = events_for(sub, fid, "job.failed")
        eq([t for t, _, _ in got], ["job.queued", "job.running",
                                    "job.failed"], "topics of failed job")
        topic, view, raw = got[-1]
        check_event(topic, view, raw)
        eq(view["error"]["code"], "timeout", "error code of failed")

        # a queued job cancelled before it ran
        d.ok({"op": "queue", "name": "hold", "action": "pause"})
        qid = d.submit_sleep(0, queue="hold")
        d.ok({"op": "cancel", "id": qid})
        got = events_for(sub, qid, "job.cancelled")
        eq([t for t, _, _ in got], ["job.queued", "job.cancelled"],
           "topics of a cancelled queued job")


def test_topic_prefix_filter():
    with Daemon() as d:
        sub = d.sub(("job.succeeded",))
        d.sync_sub(sub)
        ids = [d.submit_sleep(20) for _ in range(3)]
        fid = d.submit_sleep(5000, timeout_ms=50)
        seen = []
        deadline = time.monotonic() + 10
        while len([1 for t, v in seen if v["id"] in ids]) < 3:
            check(time.monotonic() < deadline, "succeeded events missing: %s",
                  seen)
            try:
                t, v, _ = sub.recv_event(500)
            except TimeoutError:
                continue
            seen.append((t, v))
        d.wait_ids([fid])
        # nothing but job.succeeded may arrive
        for _ in range(100):
            try:
                t, v, _ = sub.recv_event(300)
            except TimeoutError:
                break
            seen.append((t, v))
        eq({t for t, _ in seen}, {"job.succeeded"}, "topics with a filter")
        eq(sorted(v["id"] for _, v in seen if v["id"] in ids), ids, "ids")


def test_two_subscribers():
    with Daemon() as d:
        a = d.sub(("job.",))
        b = d.sub(("job.",))
        d.sync_sub(a)
        d.sync_sub(b)
        jid = d.submit_sleep(10)
        for s in (a, b):
            got = events_for(s, jid, "job.succeeded")
            eq([t for t, _, _ in got], ["job.queued", "job.running",
                                        "job.succeeded"], "topics")


if __name__ == "__main__":
    harness.main()
