"""Asynchronous request handling: held waits never delay other clients,
max_hold long polling, duplicate held requests (PROTOCOL.md 1, 4)."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import Daemon, RawReqClient, ReqClient, check, eq  # noqa: E402


def timed_ping(url):
    with ReqClient(url) as b:
        t0 = time.monotonic()
        r = b.request({"op": "ping"}, timeout_ms=5000)
        return time.monotonic() - t0, r


def test_held_wait_does_not_delay_ping():
    with Daemon() as d:
        jid = d.submit_sleep(30000)
        with ReqClient(d.url) as a:
            a.send_bytes(json.dumps({"op": "wait", "ids": [jid]}).encode(),
                         2000)
            # the wait is outstanding: A gets nothing yet
            try:
                a.recv_bytes(200)
                raise AssertionError("wait on a 30 s job replied at once")
            except TimeoutError:
                pass
            for _ in range(5):
                dt, r = timed_ping(d.url)
                eq(r.get("ok"), True, "ping from B")
                check(dt < 1.0, "ping took %.3f s while a wait is held", dt)
            # other operations too
            with ReqClient(d.url) as b:
                t0 = time.monotonic()
                other = b.request({"op": "submit", "job": sleep_spec(0)})
                eq(other.get("ok"), True, "submit from B")
                r = b.request({"op": "wait", "ids": [other["id"]]},
                              timeout_ms=5000)
                eq(r["done"][0]["state"], "succeeded", "B's own wait")
                check(time.monotonic() - t0 < 2.0, "B was delayed")
            # cancelling the job completes A's held wait promptly
            t0 = time.monotonic()
            d.ok({"op": "cancel", "id": jid})
            r = json.loads(a.recv_bytes(5000))
            check(time.monotonic() - t0 < 2.0, "held wait not woken")
            eq(r.get("ok"), True, "A's wait reply")
            eq(r["pending"], [], "pending")
            eq([(v["id"], v["state"]) for v in r["done"]],
               [(jid, "cancelled")], "done")


def test_many_held_waits():
    with Daemon() as d:
        jid = d.submit_sleep(30000)
        waiters = [ReqClient(d.url) for _ in range(25)]
        try:
            for w in waiters:
                w.send_bytes(json.dumps({"op": "wait", "ids": [jid]})
                             .encode(), 2000)
            # let the daemon receive them all, checking it stays responsive
            for _ in range(3):
                dt, r = timed_ping(d.url)
                eq(r.get("ok"), True, "ping")
                check(dt < 1.0, "ping took %.3f s with 25 held waits", dt)
            d.ok({"op": "cancel", "id": jid})
            for w in waiters:
                r = json.loads(w.recv_bytes(5000))
                eq([v["state"] for v in r["done"]], ["cancelled"], "reply")
        finally:
            for w in waiters:
                w.close()


def test_max_hold_long_poll():
    with Daemon("--max-hold", "1s") as d:
        jid = d.submit_sleep(5000)
        t0 = time.monotonic()
        r = d.ok({"op": "wait", "ids": [jid]}, timeout_ms=10000)
        dt = time.monotonic() - t0
        eq(r["done"], [], "done after max hold")
        eq(r["pending"], [jid], "pending after max hold")
        check(0.8 <= dt < 3.0, "held %.2f s with --max-hold 1s", dt)
        # an explicit timeout above max_hold is capped as well
        t0 = time.monotonic()
        r = d.ok({"op": "wait", "ids": [jid], "timeout_ms": 20000},
                 timeout_ms=10000)
        dt = time.monotonic() - t0
        eq(r["pending"], [jid], "pending")
        check(0.8 <= dt < 3.0, "held %.2f s with timeout 20 s", dt)
        d.ok({"op": "cancel", "id": jid})


def test_ctl_wait_across_holds():
    with Daemon("--max-hold", "1s") as d:
        jid = d.submit_sleep(3000)
        t0 = time.monotonic()
        rc, out, err = d.ctl("wait", jid, "--timeout", "10s", timeout=30)
        dt = time.monotonic() - t0
        eq(rc, 0, "aiojobctl wait exit (stdout %r stderr %r)" % (out, err))
        check(dt >= 2.0, "wait returned after %.2f s on a 3 s job", dt)
        eq(d.status(jid)["state"], "succeeded", "job state")


def test_ctl_wait_timeout_exit_1():
    with Daemon("--max-hold", "1s") as d:
        jid = d.submit_sleep(30000)
        t0 = time.monotonic()
        rc, out, err = d.ctl("wait", jid, "--timeout", "2s", timeout=30)
        dt = time.monotonic() - t0
        eq(rc, 1, "aiojobctl wait --timeout 2s exit (stdout %r stderr %r)"
           % (out, err))
        check(1.5 <= dt < 10, "wait --timeout 2s took %.2f s", dt)
        eq(d.status(jid)["state"], "running", "job still runs")
        d.ok({"op": "cancel", "id": jid})


def test_duplicate_held_request_dropped():
    with Daemon("--max-hold", "5s") as d:
        jid = d.submit_sleep(30000)
        req = {"op": "wait", "ids": [jid], "timeout_ms": 800}
        with RawReqClient(d.url) as c:
            # control: two different request ids get two replies
            c.send_with_id(req, 0x101)
            c.send_with_id(req, 0x102)
            for _ in range(2):
                r = c.recv_json(5000)
                eq(r.get("ok"), True, "reply")
                eq(r["pending"], [jid], "pending")
            try:
                r = c.recv_json(1500)
                raise AssertionError("third reply to two requests: %s" % r)
            except TimeoutError:
                pass
            # the same request id twice while held: one reply
            t0 = time.monotonic()
            c.send_with_id(req, 0x203)
            c.send_with_id(req, 0x203)
            r = c.recv_json(5000)
            eq(r.get("pending"), [jid], "reply to the held request")
            check(time.monotonic() - t0 >= 0.5, "reply came before timeout")
            try:
                r = c.recv_json(2000)
                raise AssertionError("duplicate of a held request was "
                                     "answered: %s" % r)
            except TimeoutError:
                pass
        eq(d.ok({"op": "ping"})["ok"], True, "alive")
        d.ok({"op": "cancel", "id": jid})


if __name__ == "__main__":
    harness.main()
