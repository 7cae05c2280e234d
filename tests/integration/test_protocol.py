"""Protocol tests: a raw nanomsg REQ client against a real aiojobsd
(PROTOCOL.md sections 2-4)."""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, expect_error,  # noqa: E402
                     max_overlap, poll_until)

VIEW_FIELDS = {"id", "kind", "name", "queue", "priority", "state", "attempts",
               "submitted_at", "started_at", "finished_at", "args", "result",
               "error"}
STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def pause(d, name):
    return d.ok({"op": "queue", "name": name, "action": "pause"})["queue"]


def resume(d, name):
    return d.ok({"op": "queue", "name": name, "action": "resume"})["queue"]


def job_count(d):
    jobs = d.ok({"op": "stats"})["jobs"]
    return sum(jobs[s] for s in STATES)


def check_view(v):
    missing = VIEW_FIELDS - set(v)
    check(not missing, "view lacks %s: %s", sorted(missing), v)
    check(is_int(v["id"]) and v["id"] > 0, "bad id in %s", v)
    check(v["state"] in STATES, "bad state in %s", v)
    check(is_int(v["submitted_at"]), "submitted_at not int: %s", v)
    for f in ("started_at", "finished_at"):
        check(v[f] is None or is_int(v[f]), "%s not int/null: %s", f, v)
    check(is_int(v["priority"]), "priority not int: %s", v)
    check(is_int(v["attempts"]), "attempts not int: %s", v)


# -- ping ---------------------------------------------------------------------


def test_ping_fields():
    with Daemon() as d:
        r = d.ok({"op": "ping"})
        check(isinstance(r.get("version"), str)
              and re.fullmatch(r"\d+\.\d+\.\d+.*", r["version"]),
              "version not x.y.z: %r", r)
        eq(r.get("pid"), d.pid, "ping pid")
        check(is_int(r.get("uptime_ms")) and r["uptime_ms"] >= 0,
              "uptime_ms not a non-negative int: %r", r)
        # uptime grows
        t0 = time.monotonic()
        poll_until(lambda: d.ok({"op": "ping"})["uptime_ms"] > r["uptime_ms"],
                   5, what="uptime_ms increases")
        check(time.monotonic() - t0 < 5)


# -- submit / status ----------------------------------------------------------


def test_submit_status_full_view():
    with Daemon() as d:
        pause(d, "tq")
        jid = d.submit(sleep_spec(300, queue="tq"))
        check(is_int(jid) and jid > 0, "id not a positive int: %r", jid)
        v = d.status(jid)
        check_view(v)
        eq(v["id"], jid, "id")
        eq(v["kind"], "sleep", "kind")
        eq(v["name"], None, "default name")
        eq(v["queue"], "tq", "queue")
        eq(v["priority"], 0, "default priority")
        eq(v["state"], "queued", "state in paused queue")
        eq(v["args"], {"ms": 300}, "args")
        eq(v["started_at"], None, "started_at before start")
        eq(v["finished_at"], None, "finished_at before end")
        eq(v["result"], None, "result before end")
        eq(v["error"], None, "error before end")
        now_ms = int(time.time() * 1000)
        check(abs(now_ms - v["submitted_at"]) < 60000,
              "submitted_at not epoch ms: %r (now %d)", v["submitted_at"],
              now_ms)
        resume(d, "tq")
        v = d.wait_state(jid, ("running", "succeeded"))
        if v["state"] == "running":
            check(is_int(v["started_at"]), "running without started_at: %s", v)
            eq(v["finished_at"], None, "finished_at while running")
        r = d.wait_ids([jid], timeout_s=10)
        v = r["done"][0]
        check_view(v)
        eq(v["state"], "succeeded", "final state")
        eq(v["error"], None, "error of succeeded job")
        check(v["submitted_at"] <= v["started_at"] <= v["finished_at"],
              "times out of order: %s", v)
        check(v["finished_at"] - v["started_at"] >= 290,
              "ran shorter than 300 ms: %s", v)
        eq(v["attempts"], 1, "attempts")
        check(isinstance(v["result"], dict)
              and is_int(v["result"].get("slept_ms"))
              and v["result"]["slept_ms"] >= 300,
              "result not {slept_ms >= 300}: %s", v["result"])
        # status of a final job carries the result too
        eq(d.status(jid)["result"], v["result"], "status result")


def test_submit_named_fields():
    with Daemon() as d:
        jid = d.submit(sleep_spec(0, name="hello", queue="nq", priority=7))
        v = d.wait_ids([jid])["done"][0]
        eq(v["name"], "hello", "name")
        eq(v["queue"], "nq", "queue")
        eq(v["priority"], 7, "priority")
        eq(v["state"], "succeeded", "state")


def test_submit_batch_ids_increasing():
    with Daemon() as d:
        first = d.submit(sleep_spec(0))
        r = d.ok({"op": "submit", "jobs": [sleep_spec(0), sleep_spec(1),
                                           sleep_spec(2)]})
        ids = r["ids"]
        eq(len(ids), 3, "number of ids")
        check(all(is_int(i) for i in ids), "ids not ints: %s", ids)
        check(first < ids[0] < ids[1] < ids[2], "ids not increasing: %d %s",
              first, ids)
        done = d.wait_ids(ids)["done"]
        eq([v["args"]["ms"] for v in done], [0, 1, 2], "batch order")
        eq([v["state"] for v in done], ["succeeded"] * 3, "states")


def test_submit_batch_invalid_rejected():
    with Daemon() as d:
        d.submit(sleep_spec(0))
        before = job_count(d)
        before_list = len(d.ok({"op": "list", "limit": 1000})["jobs"])
        r = d.request({"op": "submit", "jobs": [
            sleep_spec(10), sleep_spec(-1), sleep_spec(10)]})
        expect_error(r, "bad_request", "jobs[1]")
        r = d.request({"op": "submit", "jobs": [
            sleep_spec(10), sleep_spec(10), {"kind": "nope"}]})
        check(r.get("ok") is False, "batch with unknown kind accepted: %s", r)
        check("jobs[2]" in r["error"]["message"],
              "message does not name jobs[2]: %s", r)
        eq(job_count(d), before, "jobs after rejected batches (stats)")
        eq(len(d.ok({"op": "list", "limit": 1000})["jobs"]), before_list,
           "jobs after rejected batches (list)")
        expect_error(d.request({"op": "submit", "jobs": []}), "bad_request")


def test_unknown_kind():
    with Daemon() as d:
        expect_error(d.request({"op": "submit", "job": {"kind": "nope"}}),
                     "unknown_kind")


def test_unknown_op():
    with Daemon() as d:
        expect_error(d.request({"op": "frobnicate"}), "unknown_op")
        expect_error(d.request({"nop": "ping"}), "bad_request")


def test_not_json_or_not_object():
    with Daemon() as d:
        with d.client() as c:
            for bad in (b"hello", b"{", b'{"op": "ping"', b"[1,2]",
                        b'[{"op":"ping"}]', b'"ping"', b"42", b"null",
                        b"\xff\xfe{}", b""):
                r = c.request(bad)
                expect_error(r, "bad_request")
            eq(c.request({"op": "ping"})["ok"], True, "ping after garbage")


def test_wrong_field_types():
    with Daemon() as d:
        cases = [
            ({"op": "status", "id": "x"}, "id"),
            ({"op": "status", "id": 1.5}, "id"),
            ({"op": "status"}, "id"),
            ({"op": "cancel", "id": [1]}, "id"),
            ({"op": 5}, "op"),
            ({"op": "submit", "job": "x"}, "job"),
            ({"op": "submit"}, "job"),
            ({"op": "submit", "job": {"kind": "sleep", "args": {"ms": "x"}}},
             "ms"),
            ({"op": "submit", "job": {"kind": "sleep", "args": {"ms": 1.5}}},
             "ms"),
            ({"op": "submit", "job": {"kind": "sleep", "args": {}}}, "ms"),
            ({"op": "submit", "job": {"kind": "sleep", "args": "x"}}, "args"),
            ({"op": "submit", "job": sleep_spec(1, priority=1.5)},
             "priority"),
            ({"op": "submit", "job": sleep_spec(1, priority="high")},
             "priority"),
            ({"op": "submit", "job": sleep_spec(1, queue=5)}, "queue"),
            ({"op": "submit", "job": sleep_spec(1, name=5)}, "name"),
            ({"op": "submit", "job": {"kind": 5}}, "kind"),
            ({"op": "submit", "job": {"args": {"ms": 1}}}, "kind"),
            ({"op": "submit", "jobs": "x"}, "jobs"),
            ({"op": "wait", "ids": "x"}, "ids"),
            ({"op": "wait", "ids": ["a"]}, "ids"),
            ({"op": "wait", "ids": [1], "timeout_ms": "x"}, "timeout_ms"),
            ({"op": "list", "limit": "x"}, "limit"),
            ({"op": "list", "state": 5}, "state"),
            ({"op": "queue", "name": 5, "action": "pause"}, "name"),
            ({"op": "queue", "name": "q", "action": 5}, "action"),
            ({"op": "shutdown", "timeout_ms": "x"}, "timeout_ms"),
        ]
        jid = d.submit(sleep_spec(0))
        cases.append(({"op": "wait", "ids": [jid], "return_when": 5},
                      "return_when"))
        with d.client() as c:
            before = job_count(d)
            for req, field in cases:
                r = c.request(req)
                try:
                    expect_error(r, "bad_request", field)
                except AssertionError as e:
                    raise AssertionError("%s: %s" % (json.dumps(req), e))
            eq(job_count(d), before, "no job created by bad requests")
            eq(c.request({"op": "ping"})["ok"], True, "still alive")


def test_negative_durations():
    with Daemon() as d:
        cases = [
            (sleep_spec(10, delay_ms=-1), "delay_ms"),
            (sleep_spec(10, timeout_ms=-5), "timeout_ms"),
            (sleep_spec(-1), "ms"),
            (sleep_spec(10, retries=-1), "retries"),
        ]
        for spec, field in cases:
            r = d.request({"op": "submit", "job": spec})
            try:
                expect_error(r, "bad_request", field)
            except AssertionError as e:
                raise AssertionError("%s: %s" % (json.dumps(spec), e))
        eq(job_count(d), 0, "jobs created")
        jid = d.submit(sleep_spec(0))
        expect_error(d.request({"op": "wait", "ids": [jid],
                                "timeout_ms": -1}), "bad_request",
                     "timeout_ms")


def test_unknown_ids_not_found():
    with Daemon() as d:
        jid = d.submit(sleep_spec(0))
        expect_error(d.request({"op": "status", "id": 999999}), "not_found")
        expect_error(d.request({"op": "cancel", "id": 999999}), "not_found")
        expect_error(d.request({"op": "wait", "ids": [999999]}), "not_found")
        expect_error(d.request({"op": "wait", "ids": [jid, 999999]}),
                     "not_found")
        # a running job named before the unknown id is not left linked
        # to the refused wait: it still ends and is awaited as usual
        run = d.submit(sleep_spec(200))
        expect_error(d.request({"op": "wait", "ids": [run, 999999]}),
                     "not_found")
        eq(d.wait_ids([run])["done"][0]["state"], "succeeded",
           "the running job after the refused wait")
        r = d.request({"op": "status", "id": 0})
        check(r.get("ok") is False and r["error"]["code"] in
              ("not_found", "bad_request"), "status of id 0: %s", r)


def padded_ping(size):
    """A ping of size bytes: padded with white space, as a field the daemon
    does not know would be refused."""
    msg = b'{"op":"ping"'
    return msg + b" " * (size - len(msg) - 1) + b"}"


def test_too_large_request():
    with Daemon() as d:
        pad = "x" * (3 * 1024 * 1024 // 2)
        with d.client() as c:
            r = c.request({"op": "ping", "pad": pad}, timeout_ms=10000)
            expect_error(r, "too_large")
        msg = b'{"op":"ping","pad":"'
        msg += b"y" * (4 * 1024 * 1024 - len(msg) - 2) + b'"}'
        eq(len(msg), 4 * 1024 * 1024, "message size")
        with d.client() as c:
            r = c.request(msg, timeout_ms=10000)
            expect_error(r, "too_large")
        with d.client() as c:
            eq(c.request({"op": "ping"})["ok"], True, "ping after too_large")
        # just under the default limit is fine
        eq(d.request(padded_ping(1024 * 1024 - 100), timeout_ms=10000).get(
            "ok"), True, "request just below 1 MiB")


def test_max_request_bytes_flag():
    with Daemon("--max-request-bytes", "2000") as d:
        eq(d.request(padded_ping(1500)).get("ok"), True,
           "1.5 kB request, limit 2000")
        with d.client() as c:
            expect_error(c.request({"op": "ping", "pad": "b" * 3000}),
                         "too_large")
            expect_error(c.request({"op": "submit", "jobs": [
                {"kind": "sleep", "args": {"ms": 0}}] * 200}), "too_large")
            eq(c.request({"op": "ping"}).get("ok"), True, "ping after")
        eq(job_count(d), 0, "jobs after too_large")


def test_malformed_requests_do_not_crash():
    import random
    rng = random.Random(1234)
    samples = [b"[" * 100000, b"{\"a\":" * 50000, b'{"op":"ping"' + b"}" * 10,
               b'{"op":"status","id":1e400}',
               b'{"op":"status","id":9223372036854775808}',
               b'{"op":"status","id":-9223372036854775809}',
               b'{"op":"status","id":-1}',
               b'{"op":"ping\\u0000x"}', b'{"op":"\\ud800"}',
               b'{"op":"submit","job":{"kind":"sleep","args":{"ms":1e20}}}',
               b'{"op":"submit","job":{"kind":"sleep","args":'
               b'{"ms":99999999999999999999}}}',
               b'{"op":"wait","ids":[' + b"1," * 10000 + b'1]}',
               b'{"op":"list","limit":-1}', b'{"op":"list","limit":0}',
               b'{"op":"ping"}{"op":"ping"}', b"\0" * 100,
               b'{"op":"ping","op":"stats"}',
               b'{"op":"submit","job":{"kind":"sleep","args":{"ms":1},'
               b'"name":"\\u00e9\\u4e2d"}}']
    for _ in range(200):
        n = rng.randrange(0, 300)
        samples.append(bytes(rng.randrange(256) for _ in range(n)))
    with Daemon() as d:
        with d.client() as c:
            for m in samples:
                try:
                    r = c.request(m, timeout_ms=5000)
                except TimeoutError:
                    raise AssertionError("no reply to %r" % m[:80])
                check(isinstance(r, dict) and isinstance(r.get("ok"),
                                                         bool),
                      "reply to %r is not a reply object: %r", m[:80], r)
                if r["ok"] is False:
                    check(isinstance(r.get("error"), dict)
                          and isinstance(r["error"].get("code"), str),
                          "bad error reply to %r: %r", m[:80], r)
            eq(c.request({"op": "ping"})["pid"], d.pid, "alive")
        jobs = d.ok({"op": "list", "limit": 1000})["jobs"]
        for v in jobs:
            check(v["state"] in STATES, "job state %s", v)


def test_trailing_nul_or_newline():
    with Daemon() as d:
        with d.client() as c:
            for m in (b'{"op":"ping"}\0', b'{"op":"ping"}\n',
                      b'{"op":"ping"}'):
                r = c.request(m)
                eq(r.get("ok"), True, "reply to %r" % m)
            r = c.request(b'{"op":"submit","job":{"kind":"sleep",'
                          b'"args":{"ms":0}}}\n')
            eq(r.get("ok"), True, "submit with newline")


# -- list / stats --------------------------------------------------------------


def test_list_filters():
    with Daemon() as d:
        pause(d, "la")
        la = [d.submit(sleep_spec(0, queue="la")) for _ in range(5)]
        lb = [d.submit(sleep_spec(0, queue="lb")) for _ in range(3)]
        d.wait_ids(lb)
        jobs = d.ok({"op": "list"})["jobs"]
        ids = [v["id"] for v in jobs]
        eq(sorted(ids, reverse=True), ids, "list newest first")
        eq(set(ids), set(la + lb), "listed ids")
        for v in jobs:
            check("result" not in v, "list view has result: %s", v)
            for f in VIEW_FIELDS - {"result"}:
                check(f in v, "list view lacks %s: %s", f, v)
        q = d.ok({"op": "list", "queue": "la"})["jobs"]
        eq([v["id"] for v in q], sorted(la, reverse=True), "queue=la")
        s = d.ok({"op": "list", "state": "succeeded"})["jobs"]
        eq([v["id"] for v in s], sorted(lb, reverse=True), "state=succeeded")
        s = d.ok({"op": "list", "state": "queued"})["jobs"]
        eq([v["id"] for v in s], sorted(la, reverse=True), "state=queued")
        eq(d.ok({"op": "list", "state": "failed"})["jobs"], [], "failed")
        lim = d.ok({"op": "list", "limit": 2})["jobs"]
        eq([v["id"] for v in lim], sorted(ids, reverse=True)[:2], "limit=2")
        pivot = la[2]
        before = d.ok({"op": "list", "before_id": pivot})["jobs"]
        eq([v["id"] for v in before], [i for i in ids if i < pivot],
           "before_id")
        both = d.ok({"op": "list", "queue": "la", "limit": 1,
                     "before_id": la[4]})["jobs"]
        eq([v["id"] for v in both], [la[3]], "queue+limit+before_id")


def test_list_default_limit_100():
    with Daemon() as d:
        pause(d, "big")
        specs = [sleep_spec(0, queue="big") for _ in range(130)]
        ids = d.ok({"op": "submit", "jobs": specs})["ids"]
        jobs = d.ok({"op": "list"})["jobs"]
        eq(len(jobs), 100, "default list limit")
        eq([v["id"] for v in jobs], sorted(ids, reverse=True)[:100],
           "newest 100")


def test_stats_shape():
    with Daemon() as d:
        pause(d, "sq")
        d.submit(sleep_spec(0, queue="sq"))
        d.submit(sleep_spec(0, queue="sq"))
        done = d.submit(sleep_spec(0))
        d.wait_ids([done])
        running = d.submit(sleep_spec(30000, queue="rq"))
        d.wait_state(running, "running")
        r = d.ok({"op": "stats"})
        eq(set(r), {"ok", "jobs", "queues", "workers", "uptime_ms"},
           "stats keys")
        eq(set(r["jobs"]), set(STATES), "stats.jobs keys")
        for s in STATES:
            check(is_int(r["jobs"][s]), "jobs.%s not int: %s", s, r)
        eq(r["jobs"]["queued"], 2, "jobs.queued")
        eq(r["jobs"]["running"], 1, "jobs.running")
        eq(r["jobs"]["succeeded"], 1, "jobs.succeeded")
        eq(r["jobs"]["failed"], 0, "jobs.failed")
        eq(r["jobs"]["cancelled"], 0, "jobs.cancelled")
        check(isinstance(r["queues"], dict), "queues not a map: %s", r)
        for name in ("sq", "rq", "default"):
            check(name in r["queues"], "queue %s missing: %s", name, r)
            q = r["queues"][name]
            for k in ("limit", "queued", "running"):
                check(is_int(q.get(k)), "queues.%s.%s not int: %s", name, k, q)
            check(isinstance(q.get("paused"), bool),
                  "queues.%s.paused not bool: %s", name, q)
        eq((r["queues"]["sq"]["queued"], r["queues"]["sq"]["running"],
            r["queues"]["sq"]["paused"]), (2, 0, True), "queue sq")
        eq((r["queues"]["rq"]["queued"], r["queues"]["rq"]["running"],
            r["queues"]["rq"]["paused"]), (0, 1, False), "queue rq")
        w = r["workers"]
        check(isinstance(w, dict) and is_int(w.get("total"))
              and is_int(w.get("busy")) and 0 <= w["busy"] <= w["total"],
              "workers shape: %s", w)
        check(is_int(r["uptime_ms"]) and r["uptime_ms"] >= 0,
              "uptime_ms: %s", r)
        d.ok({"op": "cancel", "id": running})
        eq(d.ok({"op": "stats"})["jobs"]["cancelled"], 1, "after cancel")


# -- queues --------------------------------------------------------------------


def check_queue_reply(q, name):
    eq(set(q) >= {"name", "limit", "rate", "paused", "queued", "running"},
       True, "queue reply keys %s" % sorted(q))
    eq(q["name"], name, "queue name")
    check(is_int(q["limit"]), "limit not int: %s", q)
    check(isinstance(q["rate"], (int, float))
          and not isinstance(q["rate"], bool), "rate not a number: %s", q)
    check(isinstance(q["paused"], bool), "paused not bool: %s", q)
    check(is_int(q["queued"]) and is_int(q["running"]), "counts: %s", q)


def test_queue_op():
    with Daemon() as d:
        q = pause(d, "q1")
        check_queue_reply(q, "q1")
        eq(q["paused"], True, "paused after pause")
        d.submit(sleep_spec(0, queue="q1"))
        q = d.ok({"op": "queue", "name": "q1", "action": "set",
                  "limit": 3})["queue"]
        check_queue_reply(q, "q1")
        eq((q["limit"], q["paused"], q["queued"], q["running"]),
           (3, True, 1, 0), "after set limit")
        q = d.ok({"op": "queue", "name": "q1", "action": "set",
                  "rate": 2.5})["queue"]
        eq((q["limit"], q["rate"]), (3, 2.5), "after set rate")
        q = resume(d, "q1")
        check_queue_reply(q, "q1")
        eq(q["paused"], False, "paused after resume")
        eq(d.ok({"op": "stats"})["queues"]["q1"]["limit"], 3, "stats limit")
        expect_error(d.request({"op": "queue", "name": "q1",
                                "action": "explode"}), "bad_request",
                     "action")
        expect_error(d.request({"op": "queue", "action": "pause"}),
                     "bad_request", "name")
        expect_error(d.request({"op": "queue", "name": "q1", "action": "set",
                                "limit": -1}), "bad_request", "limit")


def test_paused_queue_holds_jobs():
    with Daemon() as d:
        pause(d, "pq")
        held = d.submit(sleep_spec(0, queue="pq"))
        other = d.submit(sleep_spec(50, queue="oq"))
        d.wait_ids([other])
        v = d.status(held)
        eq((v["state"], v["started_at"]), ("queued", None),
           "job in paused queue after another finished")
        resume(d, "pq")
        eq(d.wait_ids([held], timeout_s=10)["done"][0]["state"], "succeeded",
           "after resume")


def test_queue_limit():
    with Daemon() as d:
        d.ok({"op": "queue", "name": "lim", "action": "set", "limit": 2})
        ids = d.ok({"op": "submit", "jobs": [sleep_spec(150, queue="lim")
                                             for _ in range(6)]})["ids"]
        done = d.wait_ids(ids, timeout_s=20)["done"]
        ov = max_overlap([(v["started_at"], v["finished_at"]) for v in done])
        check(ov <= 2, "queue limit 2 exceeded: %d running at once", ov)
        check(ov == 2, "queue limit 2 never reached: %d", ov)


# -- idempotency / pending limit -------------------------------------------


def test_idempotency_key():
    with Daemon() as d:
        spec = sleep_spec(100, key="k-1")
        a = d.ok({"op": "submit", "job": spec})["id"]
        b = d.ok({"op": "submit", "job": dict(spec)})["id"]
        eq(b, a, "same key, same spec")
        eq(job_count(d), 1, "jobs after duplicate submit")
        r = d.request({"op": "submit", "job": sleep_spec(200, key="k-1")})
        expect_error(r, "conflict")
        eq(job_count(d), 1, "jobs after conflict")
        # after the job finished the key still maps to it
        d.wait_ids([a])
        eq(d.ok({"op": "submit", "job": dict(spec)})["id"], a,
           "same key after completion")
        c = d.ok({"op": "submit", "job": sleep_spec(100, key="k-2")})["id"]
        check(c != a, "different key got the same id")


def test_idempotency_keys_within_a_batch():
    with Daemon() as d:
        a, b, c = (sleep_spec(100, key=k) for k in ("ka", "kb", "kc"))
        ids = d.ok({"op": "submit", "jobs": [a, b, dict(a), c, dict(b)]})[
            "ids"]
        eq(len(set(ids)), 3, "distinct jobs of a batch with repeated keys")
        eq((ids[2], ids[4]), (ids[0], ids[1]), "a repeated key's id")
        eq(job_count(d), 3, "jobs after the batch")
        # the same key for another spec, later in a batch: nothing is made
        r = d.request({"op": "submit", "jobs": [
            sleep_spec(100, key="kd"), sleep_spec(100, key="ke"),
            sleep_spec(200, key="kd")]})
        expect_error(r, "conflict")
        eq(job_count(d), 3, "jobs after a conflicting batch")
        # thousands of keys (the table grows), each found again by a resend
        specs = [sleep_spec(1, key="many-%d" % i) for i in range(3000)]
        first = []
        for i in range(0, len(specs), 1000):
            first += d.ok({"op": "submit", "jobs": specs[i:i + 1000]})["ids"]
        again = []
        for i in range(0, len(specs), 1000):
            again += d.ok({"op": "submit", "jobs": specs[i:i + 1000]})["ids"]
        eq(again, first, "ids of 3,000 keyed jobs sent twice")
        eq(len(set(first)), 3000, "distinct jobs of 3,000 keys")


def test_pending_limit():
    with Daemon("--pending-limit", "5") as d:
        pause(d, "pl")
        ids = [d.submit(sleep_spec(0, queue="pl")) for _ in range(5)]
        r = d.request({"op": "submit", "job": sleep_spec(0, queue="pl")})
        expect_error(r, "queue_full")
        r = d.request({"op": "submit", "job": sleep_spec(0, queue="other")})
        expect_error(r, "queue_full")
        r = d.request({"op": "submit", "jobs": [sleep_spec(0)]})
        expect_error(r, "queue_full")
        eq(job_count(d), 5, "jobs after queue_full")
        d.ok({"op": "cancel", "id": ids[0]})
        d.submit(sleep_spec(0, queue="pl"))
        expect_error(d.request({"op": "submit", "job": sleep_spec(0)}),
                     "queue_full", "retry later")
        # a batch larger than the limit itself: retrying cannot help
        for jid in ids[1:]:
            d.ok({"op": "cancel", "id": jid})
        r = d.request({"op": "submit", "jobs": [sleep_spec(0, queue="pl")
                                                for _ in range(6)]})
        expect_error(r, "queue_full", "a batch of 6 new jobs can never fit")
        eq(job_count(d), 6, "jobs after the batch that can never fit")


# -- scheduling ----------------------------------------------------------------


def test_priority_order():
    with Daemon("--limit", "1") as d:
        blocker = d.submit(sleep_spec(800))
        d.wait_state(blocker, "running")
        prios = [0, 5, 0, 5, 2, -1]
        ids = d.ok({"op": "submit", "jobs": [
            sleep_spec(20, priority=p) for p in prios]})["ids"]
        v = d.status(ids[0])
        eq(v["state"], "queued", "low job while the blocker runs")
        done = d.wait_ids([blocker] + ids, timeout_s=20)["done"]
        eq(done[0]["state"], "succeeded", "blocker")
        by_start = sorted(done[1:], key=lambda v: v["started_at"])
        expected = [ids[1], ids[3], ids[4], ids[0], ids[2], ids[5]]
        eq([v["id"] for v in by_start], expected,
           "start order (prios %s, ids %s)" % (prios, ids))
        check(by_start[0]["started_at"] >= done[0]["finished_at"],
              "limit 1 violated")


def test_delay():
    with Daemon() as d:
        jid = d.submit(sleep_spec(0, delay_ms=400))
        v = d.status(jid)
        eq((v["state"], v["started_at"]), ("queued", None),
           "delayed job right after submit")
        v = d.wait_ids([jid], timeout_s=10)["done"][0]
        eq(v["state"], "succeeded", "delayed job")
        check(v["started_at"] - v["submitted_at"] >= 400,
              "started %d ms after submit, delay 400",
              v["started_at"] - v["submitted_at"])


def test_timeout():
    with Daemon() as d:
        t0 = time.monotonic()
        jid = d.submit(sleep_spec(5000, timeout_ms=200))
        v = d.wait_ids([jid], timeout_s=10)["done"][0]
        eq(v["state"], "failed", "state")
        check(isinstance(v["error"], dict), "error not set: %s", v)
        eq(v["error"].get("code"), "timeout", "error code")
        check(v["finished_at"] - v["started_at"] < 3000,
              "ran %d ms with timeout 200", v["finished_at"] - v["started_at"])
        check(time.monotonic() - t0 < 4, "wait took too long")


# -- cancel --------------------------------------------------------------------


def test_cancel_queued():
    with Daemon() as d:
        pause(d, "cq")
        jid = d.submit(sleep_spec(0, queue="cq"))
        v = d.ok({"op": "cancel", "id": jid})["job"]
        eq(v["id"], jid, "id")
        eq(v["state"], "cancelled", "state in cancel reply")
        eq(v["started_at"], None, "started_at of cancelled queued job")
        check(is_int(v["finished_at"]), "finished_at not set: %s", v)
        eq(d.status(jid)["state"], "cancelled", "status after cancel")
        resume(d, "cq")
        other = d.submit(sleep_spec(0, queue="cq"))
        d.wait_ids([other])
        eq(d.status(jid)["state"], "cancelled", "after resume")


def test_cancel_running():
    with Daemon() as d:
        jid = d.submit(sleep_spec(30000))
        d.wait_state(jid, "running")
        t0 = time.monotonic()
        v = d.ok({"op": "cancel", "id": jid})["job"]
        eq(v["state"], "cancelled", "state in cancel reply")
        check(isinstance(v["error"], dict), "error not set: %s", v)
        eq(v["error"].get("code"), "cancelled", "error code")
        check(is_int(v["finished_at"]) and is_int(v["started_at"]),
              "times: %s", v)
        check(time.monotonic() - t0 < 2, "cancel took too long")
        eq(d.status(jid)["state"], "cancelled", "status")


def test_cancel_final_unchanged():
    with Daemon() as d:
        jid = d.submit(sleep_spec(0))
        before = d.wait_ids([jid])["done"][0]
        eq(before["state"], "succeeded", "state")
        v = d.ok({"op": "cancel", "id": jid})["job"]
        eq(v["state"], "succeeded", "cancel of a final job")
        eq(v, before, "cancel's view of a final job")
        after = d.status(jid)
        for f in ("state", "finished_at", "result", "error", "attempts"):
            eq(after[f], before[f], "field %s after cancel" % f)


# -- wait ----------------------------------------------------------------------


def test_wait_all_completed():
    with Daemon() as d:
        a = d.submit(sleep_spec(100))
        b = d.submit(sleep_spec(300))
        t0 = time.monotonic()
        r = d.ok({"op": "wait", "ids": [b, a]}, timeout_ms=10000)
        eq(r["pending"], [], "pending")
        eq([v["id"] for v in r["done"]], [b, a], "done in the order of ids")
        for v, ms in zip(r["done"], (300, 100)):
            check_view(v)
            eq(v["state"], "succeeded", "state")
            check(v["result"]["slept_ms"] >= ms, "slept_ms %s < %d",
                  v["result"], ms)
        check(time.monotonic() - t0 < 5, "wait too slow")
        r = d.ok({"op": "wait", "ids": [a, b], "return_when":
                  "ALL_COMPLETED"})
        eq([v["id"] for v in r["done"]], [a, b], "done order a, b")


def test_wait_first_completed():
    with Daemon() as d:
        slow = d.submit(sleep_spec(10000))
        fast = d.submit(sleep_spec(100))
        t0 = time.monotonic()
        r = d.ok({"op": "wait", "ids": [slow, fast],
                  "return_when": "FIRST_COMPLETED"}, timeout_ms=10000)
        check(time.monotonic() - t0 < 5, "FIRST_COMPLETED waited too long")
        eq([v["id"] for v in r["done"]], [fast], "done")
        eq(r["pending"], [slow], "pending")
        eq(r["done"][0]["result"]["slept_ms"] >= 100, True, "result")
        d.ok({"op": "cancel", "id": slow})


def test_wait_first_exception():
    with Daemon() as d:
        slow = d.submit(sleep_spec(10000))
        ok = d.submit(sleep_spec(50))
        bad = d.submit(sleep_spec(5000, timeout_ms=300))
        t0 = time.monotonic()
        r = d.ok({"op": "wait", "ids": [slow, ok, bad],
                  "return_when": "FIRST_EXCEPTION"}, timeout_ms=15000)
        elapsed = time.monotonic() - t0
        check(elapsed < 5, "FIRST_EXCEPTION waited %.1f s", elapsed)
        check(elapsed >= 0.2, "FIRST_EXCEPTION returned before the failure")
        eq([v["id"] for v in r["done"]], [ok, bad], "done")
        eq(r["pending"], [slow], "pending")
        eq(r["done"][1]["state"], "failed", "failed job")
        eq(r["done"][1]["error"]["code"], "timeout", "error code")
        eq(d.status(slow)["state"], "running", "slow job still runs")
        # a cancelled job also counts as an exception
        d.ok({"op": "cancel", "id": slow})
        other = d.submit(sleep_spec(10000))
        r = d.ok({"op": "wait", "ids": [other, slow],
                  "return_when": "FIRST_EXCEPTION"}, timeout_ms=10000)
        eq([v["id"] for v in r["done"]], [slow], "cancelled counts")
        eq(r["pending"], [other], "pending")
        d.ok({"op": "cancel", "id": other})
        # none fails: returns when all are done
        a = d.submit(sleep_spec(50))
        b = d.submit(sleep_spec(250))
        r = d.ok({"op": "wait", "ids": [a, b],
                  "return_when": "FIRST_EXCEPTION"}, timeout_ms=10000)
        eq(r["pending"], [], "pending when none fails")
        eq([v["state"] for v in r["done"]], ["succeeded"] * 2, "states")


def test_wait_timeout():
    with Daemon() as d:
        jid = d.submit(sleep_spec(10000))
        t0 = time.monotonic()
        r = d.ok({"op": "wait", "ids": [jid], "timeout_ms": 300},
                 timeout_ms=10000)
        elapsed = time.monotonic() - t0
        eq(r["done"], [], "done")
        eq(r["pending"], [jid], "pending")
        check(0.25 <= elapsed < 5, "wait with timeout 300 ms took %.2f s",
              elapsed)
        r = d.ok({"op": "wait", "ids": [jid], "timeout_ms": 0},
                 timeout_ms=5000)
        eq(r["pending"], [jid], "timeout_ms 0 on a running job")
        d.ok({"op": "cancel", "id": jid})


def test_wait_already_done():
    with Daemon() as d:
        jid = d.submit(sleep_spec(0))
        d.wait_ids([jid])
        for rw in ("ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"):
            r = d.ok({"op": "wait", "ids": [jid], "return_when": rw},
                     timeout_ms=3000)
            eq(([v["id"] for v in r["done"]], r["pending"]), ([jid], []), rw)
        expect_error(d.request({"op": "wait", "ids": [jid],
                                "return_when": "SOMETIMES"}), "bad_request",
                     "return_when")


def test_many_clients_at_once():
    with Daemon() as d:
        clients = [ReqClient(d.url) for _ in range(20)]
        try:
            ids = []
            for c in clients:
                c.send_bytes(json.dumps({"op": "submit",
                                         "job": sleep_spec(10)}).encode(),
                             2000)
            for c in clients:
                r = json.loads(c.recv_bytes(5000))
                eq(r.get("ok"), True, "submit reply")
                ids.append(r["id"])
            eq(len(set(ids)), 20, "distinct ids")
            done = d.wait_ids(ids, timeout_s=20)["done"]
            eq({v["state"] for v in done}, {"succeeded"}, "states")
        finally:
            for c in clients:
                c.close()


if __name__ == "__main__":
    harness.main()
