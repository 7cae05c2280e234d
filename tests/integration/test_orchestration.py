"""Orchestration (PROTOCOL.md 3.1 and 4): dependencies (after), locks and
task groups, through the protocol."""

import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, expect_error,  # noqa: E402
                     max_overlap)


def test_after_waits_for_success():
    with Daemon() as d:
        a = d.submit_sleep(300)
        b = d.submit_sleep(0, after=[a])
        v = d.status(b)
        eq((v["state"], v["started_at"]), ("queued", None),
           "dependent job while its dependency runs")
        va, vb = d.wait_ids([a, b], timeout_s=10)["done"]
        eq((va["state"], vb["state"]), ("succeeded", "succeeded"), "states")
        check(vb["started_at"] >= va["finished_at"],
              "dependent started at %d before dependency finished at %d",
              vb["started_at"], va["finished_at"])
        # several dependencies, one of them already done
        c = d.submit_sleep(200)
        e = d.submit_sleep(0, after=[a, c])
        vc, ve = d.wait_ids([c, e], timeout_s=10)["done"]
        eq(ve["state"], "succeeded", "job after two")
        check(ve["started_at"] >= vc["finished_at"], "started too early")


def test_after_failed_or_cancelled_dependency():
    with Daemon() as d:
        bad = d.submit_sleep(5000, timeout_ms=50)
        dep = d.submit_sleep(0, after=[bad])
        v = d.wait_ids([bad, dep], timeout_s=10)["done"][1]
        eq(v["state"], "failed", "job after a failed job")
        eq(v["error"]["code"], "dependency_failed", "error code")
        eq(v["started_at"], None, "it never ran")
        long = d.submit_sleep(30000)
        dep2 = d.submit_sleep(0, after=[long])
        d.ok({"op": "cancel", "id": long})
        v = d.wait_ids([dep2], timeout_s=10)["done"][0]
        eq((v["state"], v["error"]["code"]), ("failed", "dependency_failed"),
           "job after a cancelled job")
        # chains propagate
        x = d.submit_sleep(30000)
        y = d.submit_sleep(0, after=[x])
        z = d.submit_sleep(0, after=[y])
        d.ok({"op": "cancel", "id": x})
        v = d.wait_ids([y, z], timeout_s=10)["done"]
        eq([(w["state"], w["error"]["code"]) for w in v],
           [("failed", "dependency_failed")] * 2, "chain")


def test_after_bad_ids():
    with Daemon() as d:
        r = d.request({"op": "submit", "job": sleep_spec(0, after=[999999])})
        check(r.get("ok") is False and r["error"]["code"] in
              ("not_found", "bad_request"), "after unknown id: %s", r)
        expect_error(d.request({"op": "submit",
                                "job": sleep_spec(0, after="x")}),
                     "bad_request", "after")
        expect_error(d.request({"op": "submit",
                                "job": sleep_spec(0, after=["x"])}),
                     "bad_request", "after")


def test_lock_serializes():
    with Daemon() as d:
        ids = d.ok({"op": "submit", "jobs": [sleep_spec(150, lock="L")
                                             for _ in range(4)]})["ids"]
        other = d.ok({"op": "submit", "jobs": [sleep_spec(150, lock="M")
                                               for _ in range(2)]})["ids"]
        done = d.wait_ids(ids + other, timeout_s=20)["done"]
        eq({v["state"] for v in done}, {"succeeded"}, "states")
        ov = max_overlap([(v["started_at"], v["finished_at"])
                          for v in done[:4]])
        eq(ov, 1, "jobs holding lock L at once")
        ov = max_overlap([(v["started_at"], v["finished_at"])
                          for v in done])
        eq(ov, 2, "jobs with locks L and M at once")


def test_group_failure_cancels_members():
    with Daemon() as d:
        d.ok({"op": "queue", "name": "gq", "action": "pause"})
        r = d.ok({"op": "submit", "group": True, "jobs": [
            sleep_spec(30000),
            sleep_spec(5000, timeout_ms=100),
            sleep_spec(0, queue="gq"),
        ]})
        long, bad, queued = r["ids"]
        views = d.wait_ids([long, bad, queued], timeout_s=10)["done"]
        eq([v["state"] for v in views], ["cancelled", "failed", "cancelled"],
           "group states")
        eq(views[1]["error"]["code"], "timeout", "failed member")
        for v in (views[0], views[2]):
            msg = v["error"]["message"] if v["error"] else ""
            check(str(bad) in msg or "jobs[1]" in msg,
                  "cancel message does not name the failed member %d: %r",
                  bad, msg)
        # a group that succeeds
        ids = d.ok({"op": "submit", "group": True,
                    "jobs": [sleep_spec(10), sleep_spec(20)]})["ids"]
        eq([v["state"] for v in d.wait_ids(ids)["done"]],
           ["succeeded"] * 2, "good group")
        # without group a failure cancels nobody
        ids = d.ok({"op": "submit", "jobs": [
            sleep_spec(300), sleep_spec(5000, timeout_ms=50)]})["ids"]
        eq([v["state"] for v in d.wait_ids(ids)["done"]],
           ["succeeded", "failed"], "plain batch")


def test_join_an_open_group():
    """Jobs join a task group one submit at a time, as TaskGroup's
    create_task adds tasks: a later failure cancels the earlier members,
    and a failed group takes no new members, in memory or after all its
    members ended."""
    with Daemon() as d:
        first = d.ok({"op": "submit", "group": True,
                      "job": sleep_spec(30000)})["id"]
        second = d.ok({"op": "submit", "join": first,
                       "job": sleep_spec(30000)})["id"]
        more = d.ok({"op": "submit", "join": second,
                     "jobs": [sleep_spec(30000), sleep_spec(30000)]})["ids"]
        bad = d.ok({"op": "submit", "join": first,
                    "job": sleep_spec(5000, timeout_ms=100)})["id"]
        views = d.wait_ids([first, second] + more + [bad],
                           timeout_s=10)["done"]
        eq([v["state"] for v in views], ["cancelled"] * 4 + ["failed"],
           "members after the last one failed")
        check(str(bad) in views[0]["error"]["message"],
              "cancel message names the failed member: %r",
              views[0]["error"]["message"])
        r = d.request({"op": "submit", "join": first, "job": sleep_spec(1)})
        expect_error(r, "conflict")
        # a group whose members all ended well still takes new members;
        # one whose member failed does not, though none is in memory
        ok = d.ok({"op": "submit", "group": True, "job": sleep_spec(1)})["id"]
        d.wait_ids([ok])
        late = d.ok({"op": "submit", "join": ok, "job": sleep_spec(1)})["id"]
        eq(d.wait_ids([late])["done"][0]["state"], "succeeded", "late member")
        failed = d.ok({"op": "submit", "group": True,
                       "job": exec_spec(["false"])})["id"]
        d.wait_ids([failed])
        expect_error(d.request({"op": "submit", "join": failed,
                                "job": sleep_spec(1)}), "conflict")
        # what cannot be joined
        plain = d.submit_sleep(1)
        expect_error(d.request({"op": "submit", "join": plain,
                                "job": sleep_spec(1)}), "bad_request")
        expect_error(d.request({"op": "submit", "join": 999999,
                                "job": sleep_spec(1)}), "not_found")
        expect_error(d.request({"op": "submit", "join": ok, "group": True,
                                "job": sleep_spec(1)}), "bad_request")


def test_group_members_joined_survive_a_restart():
    sd = tempfile.mkdtemp(prefix="ajstate", dir="/tmp")
    try:
        with Daemon(state_dir=sd) as d:
            d.ok({"op": "queue", "name": "gq", "action": "pause"})
            first = d.ok({"op": "submit", "group": True,
                          "job": sleep_spec(0, queue="gq")})["id"]
            other = d.ok({"op": "submit", "join": first,
                          "job": sleep_spec(0, queue="gq")})["id"]
        with Daemon(state_dir=sd) as d:
            bad = d.ok({"op": "submit", "join": other,
                        "job": sleep_spec(5000, timeout_ms=100)})["id"]
            views = d.wait_ids([first, other, bad], timeout_s=10)["done"]
            eq([v["state"] for v in views], ["cancelled", "cancelled",
                                            "failed"],
               "queued members read back at start, then a joined failure")
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def exec_spec(argv, **fields):
    spec = {"kind": "exec", "args": {"argv": argv}}
    spec.update(fields)
    return spec


def test_chain_of_three_middle_fails():
    with Daemon() as d:
        a = d.submit_sleep(50)
        b = d.submit(exec_spec(["sh", "-c", "sleep 0.1; exit 4"], after=[a]))
        c = d.submit_sleep(0, after=[b])
        va, vb, vc = d.wait_ids([a, b, c], timeout_s=10)["done"]
        eq((va["state"], vb["state"], vc["state"]),
           ("succeeded", "failed", "failed"), "states")
        eq(vb["error"]["code"], "exit_status", "middle")
        eq(vc["error"]["code"], "dependency_failed", "last")
        check(str(b) in vc["error"]["message"], "names the failed id: %s",
              vc["error"]["message"])
        eq((vc["attempts"], vc["started_at"]), (0, None), "never ran")
        check(vb["started_at"] >= va["finished_at"], "b started early")


def test_diamond():
    with Daemon() as d:
        a = d.submit_sleep(100)
        b = d.submit_sleep(150, after=[a])
        c = d.submit_sleep(50, after=[a])
        e = d.submit_sleep(0, after=[b, c])
        va, vb, vc, ve = d.wait_ids([a, b, c, e], timeout_s=10)["done"]
        eq({v["state"] for v in (va, vb, vc, ve)}, {"succeeded"}, "states")
        check(min(vb["started_at"], vc["started_at"]) >= va["finished_at"],
              "b or c before a")
        check(ve["started_at"] >= max(vb["finished_at"], vc["finished_at"]),
              "d before b and c")
        eq(max_overlap([(vb["started_at"], vb["finished_at"]),
                        (vc["started_at"], vc["finished_at"])]), 2,
           "b and c run together")


def test_lock_five_jobs_across_queues():
    with Daemon() as d:
        t0 = time.monotonic()
        ids = d.ok({"op": "submit", "jobs": [
            sleep_spec(100, lock="shared", queue="q%d" % (i % 3))
            for i in range(5)]})["ids"]
        done = d.wait_ids(ids, timeout_s=20)["done"]
        check(time.monotonic() - t0 >= 0.5, "5 x 100 ms under one lock "
              "took less than 500 ms")
        spans = [(v["started_at"], v["finished_at"]) for v in done]
        eq(max_overlap(spans), 1, "holders at once")
        eq([v["id"] for v in sorted(done, key=lambda v: v["started_at"])],
           ids, "FIFO order among equal priorities")


def test_lock_waiters_by_priority():
    with Daemon() as d:
        first = d.submit_sleep(200, lock="P")
        d.wait_state(first, "running")
        low = d.submit_sleep(10, lock="P", priority=1)
        high = d.submit_sleep(10, lock="P", priority=9)
        eq(d.status(low)["waiting_for"], "lock", "waiting_for")
        vl, vh = d.wait_ids([low, high], timeout_s=10)["done"]
        check(vh["started_at"] <= vl["started_at"], "priority among waiters")


def test_lock_released_on_every_end():
    with Daemon("--kill-grace", "200ms") as d:
        ends = [exec_spec(["false"], lock="R"),
                sleep_spec(5000, lock="R", timeout_ms=100),
                exec_spec(["sleep", "30"], lock="R")]
        ids = d.ok({"op": "submit", "jobs": ends})["ids"]
        d.wait_ids(ids[:2], timeout_s=10)
        d.wait_state(ids[2], "running")
        d.ok({"op": "cancel", "id": ids[2]}, timeout_ms=10000)
        after = d.submit_sleep(10, lock="R")
        v = d.wait_ids([after], timeout_s=10)["done"][0]
        eq(v["state"], "succeeded", "the lock was released each time")
        states = [x["state"] for x in d.wait_ids(ids)["done"]]
        eq(states, ["failed", "failed", "cancelled"], "the three ends")


def test_retry_gaps_grow():
    with Daemon() as d:
        sub = d.sub(("job.running",))
        d.sync_sub(sub)
        jid = d.submit(exec_spec(["false"], retries=2,
                                 retry_backoff_ms=150))
        starts = []
        deadline = time.monotonic() + 10
        while len(starts) < 3 and time.monotonic() < deadline:
            try:
                topic, view, _ = sub.recv_event(500)
            except TimeoutError:
                continue
            # the daemon's start times: when the events arrive depends
            # on how busy the machine is, not on the back-off
            if topic == "job.running" and view.get("id") == jid:
                starts.append(view["started_at"] / 1000.0)
        eq(len(starts), 3, "job.running events")
        v = d.wait_ids([jid])["done"][0]
        eq((v["state"], v["attempts"]), ("failed", 3), "3 attempts")
        gap1, gap2 = starts[1] - starts[0], starts[2] - starts[1]
        check(gap1 >= 0.14 and gap2 >= 0.29, "back-off gaps %.3f %.3f",
              gap1, gap2)
        check(gap2 > gap1, "gaps do not grow: %.3f %.3f", gap1, gap2)


def test_rate_20_per_second():
    with Daemon() as d:
        d.ok({"op": "queue", "name": "api", "action": "set", "rate": 20})
        ids = d.ok({"op": "submit", "jobs": [sleep_spec(0, queue="api")
                                             for _ in range(60)]})["ids"]
        done = d.wait_ids(ids, timeout_s=30)["done"]
        starts = sorted(v["started_at"] for v in done)
        span = starts[-1] - starts[0]
        # a burst of 20, then 40 more at 20/s: about 2 s after the first
        check(1800 <= span <= 4000, "60 starts spanned %d ms", span)
        burst_end = starts[19]
        later = [t for t in starts if t > burst_end]
        for t in later:
            n = sum(1 for u in later if t <= u < t + 1000)
            check(n <= 21, "%d starts in one second after the burst", n)


def test_group_of_ten_exec_fails():
    with Daemon() as d:
        jobs = [sleep_spec(10000) for _ in range(10)]
        jobs[3] = exec_spec(["sh", "-c", "sleep 0.1; exit 1"])
        t0 = time.monotonic()
        ids = d.ok({"op": "submit", "group": True, "jobs": jobs})["ids"]
        r = d.ok({"op": "wait", "ids": ids,
                  "return_when": "FIRST_EXCEPTION", "timeout_ms": 5000},
                 timeout_ms=8000)
        eq([v["id"] for v in r["done"] if v["state"] == "failed"],
           [ids[3]], "the failed member is in done")
        done = d.wait_ids(ids, timeout_s=10)["done"]
        check(time.monotonic() - t0 < 3, "the group took %.1f s",
              time.monotonic() - t0)
        for i, v in enumerate(done):
            if i == 3:
                eq(v["state"], "failed", "member 3")
                continue
            eq(v["state"], "cancelled", "member %d" % i)
            check(str(ids[3]) in v["error"]["message"],
                  "message names member %d: %r", ids[3],
                  v["error"]["message"])


def test_waiting_for():
    with Daemon("--limit", "1") as d:
        blocker = d.submit_sleep(5000)
        d.wait_state(blocker, "running")
        slot = d.submit_sleep(0)
        dep = d.submit_sleep(0, after=[blocker])
        delayed = d.submit_sleep(0, delay_ms=60000)
        d.ok({"op": "queue", "name": "pq", "action": "pause"})
        paused = d.submit_sleep(0, queue="pq")
        eq(d.status(slot)["waiting_for"], "slot", "slot")
        eq(d.status(dep)["waiting_for"], "dependency", "dependency")
        eq(d.status(delayed)["waiting_for"], "delay", "delay")
        eq(d.status(paused)["waiting_for"], "paused", "paused")
        eq(d.status(blocker)["waiting_for"], None, "running job")
        for j in (blocker, slot, dep, delayed, paused):
            d.ok({"op": "cancel", "id": j})


def test_cli_orchestration_options():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "sleep", "300ms")
        eq(rc, 0, "submit (%s)" % err)
        a = int(out.strip())
        rc, out, err = d.ctl("submit", "--after", str(a), "--lock", "K",
                             "--shield", "--backoff", "2s", "--retries",
                             "1", "sleep", "1ms")
        eq(rc, 0, "submit with options (%s)" % err)
        b = int(out.strip())
        v = d.status(b)
        eq((v["args"], v["state"], v["waiting_for"]),
           ({"ms": 1}, "queued", "dependency"), "the dependent job")
        rc, out, err = d.ctl("status", str(b))
        check("dependency" in out, "status shows what it waits for: %r", out)
        rc, out, err = d.ctl("--json", "status", str(b))
        eq(json.loads(out)["job"]["waiting_for"], "dependency", "--json")
        eq(d.wait_ids([b], timeout_s=10)["done"][0]["state"], "succeeded",
           "ran after its dependency")
        for bad in (["--after", "1,x"], ["--after", "0"], ["--backoff", "x"]):
            rc, out, err = d.ctl("submit", *bad, "sleep", "1ms")
            eq(rc, 2, "usage error for %s (%s)" % (bad, err))
        group = json.dumps({"group": True, "jobs": [
            sleep_spec(10000), exec_spec(["false"])]})
        rc, out, err = d.ctl("submit", "--wait", "--file", "-", input=group)
        eq(rc, 1, "a failed group (%s)" % err)
        ids = [int(x) for x in out.split() if x.isdigit()][:2]
        states = [v["state"] for v in d.wait_ids(ids)["done"]]
        eq(states, ["cancelled", "failed"], "group from a file")


if __name__ == "__main__":
    harness.main()
