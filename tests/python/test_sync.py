"""The blocking Client against a real daemon: every op, every
return_when, task groups, events, a reply over 1 MiB, errors by class,
a missing daemon and aiojobctl's endpoint and token rules."""

import os
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
import support  # noqa: E402
from support import aiojobsd, harness  # noqa: E402


class Ops(support.DaemonCase):
    daemon_args = ("--max-request-bytes", "8M")

    def setUp(self):
        self.c = aiojobsd.Client(**self.kw)

    def tearDown(self):
        self.c.close()

    def test_ping(self):
        r = self.c.ping()
        self.assertTrue(r["ok"])
        self.assertIn(1, r["versions"])

    def test_submit_and_result(self):
        j = self.c.submit("exec", argv=["echo", "hi"], queue="sync",
                          timeout=600)
        self.assertIsInstance(j, aiojobsd.Job)
        self.assertEqual(j.spec["timeout_ms"], 600000)
        self.assertEqual(j.spec["queue"], "sync")
        self.assertEqual(len(j.key), 32)
        self.assertEqual(j.result(timeout=10)["stdout"], "hi\n")
        self.assertEqual(j.state, "succeeded")
        self.assertEqual(self.c.status(j)["state"], "succeeded")

    def test_same_key_same_job(self):
        a = self.c.submit("sleep", ms=1, key="k-sync-1")
        b = self.c.submit("sleep", ms=1, key="k-sync-1")
        self.assertEqual(a.id, b.id)
        with self.assertRaises(aiojobsd.Conflict):
            self.c.submit("sleep", ms=2, key="k-sync-1")

    def test_failed_and_cancelled(self):
        f = self.c.submit("exec", argv=["sh", "-c", "exit 3"])
        with self.assertRaises(aiojobsd.JobFailed) as cm:
            f.result(timeout=10)
        self.assertEqual(cm.exception.code, "exit_status")
        self.assertIn("status 3", cm.exception.message)
        s = self.c.submit("sleep", ms=60000)
        v = self.c.cancel(s)
        self.assertEqual(v["state"], "cancelled")
        with self.assertRaises(aiojobsd.JobCancelled):
            s.result(timeout=10)

    def test_submit_many(self):
        hs = self.c.submit_many([aiojobsd.spec("sleep", ms=10)
                                 for _ in range(5)])
        self.assertEqual(len({h.id for h in hs}), 5)
        self.assertTrue(all(h.key for h in hs))
        done, pending = self.c.wait(hs, timeout=10)
        self.assertEqual((len(done), pending), (5, []))

    def test_return_when(self):
        quick = self.c.submit("sleep", ms=10)
        slow = self.c.submit("sleep", ms=60000)
        bad = self.c.submit("exec", argv=["false"])
        done, pending = self.c.wait([quick, slow],
                                    return_when=aiojobsd.FIRST_COMPLETED,
                                    timeout=10)
        self.assertEqual((done, pending), ([quick], [slow]))
        done, pending = self.c.wait([slow, bad],
                                    return_when=aiojobsd.FIRST_EXCEPTION,
                                    timeout=10)
        self.assertEqual((done, pending), ([bad], [slow]))
        done, pending = self.c.wait([quick, slow], timeout=0.3)
        self.assertEqual((done, pending), ([quick], [slow]))
        self.c.cancel(slow)
        done, pending = self.c.wait([quick, slow, bad],
                                    return_when=aiojobsd.ALL_COMPLETED,
                                    timeout=10)
        self.assertEqual((len(done), pending), (3, []))

    def test_wait_longer_than_max_hold(self):
        # A daemon whose max_hold is 1 s: a 2.5 s wait is three requests.
        with harness.Daemon("--max-hold", "1s") as d:
            with aiojobsd.Client(d.url) as c:
                j = c.submit("sleep", ms=2500)
                t0 = time.monotonic()
                self.assertEqual(j.result(timeout=20)["slept_ms"] >= 2500,
                                 True)
                self.assertGreater(time.monotonic() - t0, 2.0)

    def test_as_completed(self):
        hs = [self.c.submit("sleep", ms=ms) for ms in (300, 10, 150)]
        order = [h.id for h in self.c.as_completed(hs, timeout=10)]
        self.assertEqual(order, [hs[1].id, hs[2].id, hs[0].id])

    def test_list_stats_queue_clean_output(self):
        self.c.queue("paused-sync", "pause")
        q = self.c.queue("paused-sync", "set", limit=3, rate=5)
        self.assertEqual((q["limit"], q["paused"]), (3, True))
        j = self.c.submit("sleep", ms=1, queue="paused-sync")
        views = self.c.list(queue="paused-sync")
        self.assertEqual([v["id"] for v in views], [j.id])
        self.assertEqual(self.c.stats()["queues"]["paused-sync"]["queued"],
                         1)
        self.c.queue("paused-sync", "resume")
        j.result(timeout=10)
        e = self.c.submit("exec", argv=["sh", "-c", "head -c 200000 "
                                        "/dev/zero | tr '\\0' x"])
        e.result(timeout=10)
        self.assertEqual(self.c.output(e), b"x" * 200000)
        self.assertGreaterEqual(self.c.clean(), 1)

    def test_reply_over_1mib(self):
        # a view whose args hold 3 MiB (on a paused queue): status and
        # list replies over 1 MiB
        self.c.queue("big-sync", "pause")
        data = "y" * (3 << 20)
        j = self.c.submit("cpu", fn="sha256", input={"data": data},
                          queue="big-sync")
        self.assertEqual(self.c.status(j)["args"]["input"]["data"], data)
        views = self.c.list(queue="big-sync", limit=1)
        self.assertEqual(len(views[0]["args"]["input"]["data"]), 3 << 20)
        self.c.cancel(j)

    def test_error_classes(self):
        with self.assertRaises(aiojobsd.NotFound) as cm:
            self.c.status(987654)
        self.assertEqual(cm.exception.code, "not_found")
        self.assertIsInstance(cm.exception, aiojobsd.Error)
        with self.assertRaises(aiojobsd.UnknownKind):
            self.c.submit("nosuchkind")
        with self.assertRaises(aiojobsd.BadRequest):
            self.c.submit("sleep", ms="x")
        r = self.c.request({"op": "nope"})
        self.assertFalse(r["ok"])
        self.assertIsInstance(aiojobsd.errors.from_reply(r),
                              aiojobsd.UnknownOp)

    def test_events(self):
        got = []

        def watch():
            for ev in self.c.events("job.succeeded", timeout=10):
                if ev.job.get("queue") == "ev-sync":
                    got.append(ev)
                    return

        t = threading.Thread(target=watch)
        t.start()
        deadline = time.monotonic() + 10
        while t.is_alive() and time.monotonic() < deadline:
            self.c.submit("sleep", ms=0, queue="ev-sync")
            t.join(0.2)
        t.join(10)
        self.assertEqual(got[0].topic, "job.succeeded")
        self.assertEqual(got[0].job["state"], "succeeded")

    def test_group_failure_cancels_siblings(self):
        with self.assertRaises(ExceptionGroup) as cm:
            with self.c.group(timeout=20) as g:
                a = g.submit("sleep", ms=60000)
                b = g.submit("exec", argv=["sh", "-c", "sleep 0.2; exit 1"])
        self.assertIsInstance(cm.exception.exceptions[0], aiojobsd.JobFailed)
        self.assertEqual(self.c.status(a)["state"], "cancelled")
        self.assertEqual(self.c.status(b)["state"], "failed")

    def test_group_join_after_failure(self):
        with self.assertRaises(ExceptionGroup):
            with self.c.group(timeout=20) as g:
                g.submit("sleep", ms=60000)
                b = g.submit("exec", argv=["false"])
                self.c.wait([b], timeout=10)
                time.sleep(0.1)
                g.submit("sleep", ms=1)
                self.fail("joined a failed group")

    def test_group_timeout(self):
        with self.assertRaises(aiojobsd.Timeout):
            with self.c.group(timeout=0.3) as g:
                a = g.submit("sleep", ms=60000)
        self.c.cancel(a)

    def test_join_outside_a_group(self):
        plain = self.c.submit("sleep", ms=1)
        r = self.c.request({"op": "submit", "join": plain.id,
                            "job": aiojobsd.keyed(aiojobsd.spec("sleep",
                                                                ms=1))})
        self.assertIsInstance(aiojobsd.errors.from_reply(r),
                              aiojobsd.BadRequest)

    def test_group_success(self):
        with self.c.group(timeout=20) as g:
            a = g.submit("sleep", ms=10)
            b = g.submit("sleep", ms=20)
        self.assertEqual((a.state, b.state), ("succeeded", "succeeded"))


class Endpoints(unittest.TestCase):
    def test_missing_daemon(self):
        t0 = time.monotonic()
        with aiojobsd.Client("ipc:///tmp/aiojobsd-none-%d.sock"
                             % os.getpid(), timeout=1.0) as c:
            with self.assertRaises(aiojobsd.Unavailable):
                c.ping()
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_missing_daemon_tcp(self):
        t0 = time.monotonic()
        with aiojobsd.Client("tcp://127.0.0.1:9", timeout=0.5) as c:
            with self.assertRaises(aiojobsd.Error):
                c.ping()
        self.assertLess(time.monotonic() - t0, 1.5)

    def test_url_rules(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AIOJOBS_")}
        code = ("import aiojobsd, json; c = aiojobsd.Client(); "
                "print(json.dumps([c.url, c.events_url, c.token]))")

        def run(**extra):
            e = dict(env, PYTHONPATH=os.path.join(support.ROOT, "client",
                                                  "python"), **extra)
            p = subprocess.run([sys.executable, "-c", code], env=e,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            import json
            return json.loads(p.stdout)

        self.assertEqual(run(AIOJOBS_RUNDIR="/x/y"),
                         ["ipc:///x/y/aiojobsd.sock",
                          "ipc:///x/y/events.sock", None])
        self.assertEqual(run(AIOJOBS_URL="tcp://127.0.0.1:5",
                             AIOJOBS_EVENTS_URL="tcp://127.0.0.1:6",
                             AIOJOBS_TOKEN="t1"),
                         ["tcp://127.0.0.1:5", "tcp://127.0.0.1:6", "t1"])
        tf = "/tmp/ajpy-token-%d" % os.getpid()
        with open(tf, "w") as f:
            f.write("secret\n")
        try:
            self.assertEqual(run(AIOJOBS_RUNDIR="/r",
                                 AIOJOBS_TOKEN_FILE=tf)[2], "secret")
        finally:
            os.unlink(tf)

    def test_token_endpoint(self):
        tf = "/tmp/ajpy-tok-%d" % os.getpid()
        with open(tf, "w") as f:
            f.write("s3cret\n")
        os.chmod(tf, 0o600)
        port = harness_free_port()
        conf = "/tmp/ajpy-conf-%d" % os.getpid()
        with open(conf, "w") as f:
            f.write("[listen.api]\nurl = tcp://127.0.0.1:%d\n"
                    "token_file = %s\n" % (port, tf))
        try:
            with harness.Daemon("--config", conf) as d:
                url = "tcp://127.0.0.1:%d" % port
                with aiojobsd.Client(url, token_file=tf) as c:
                    self.assertTrue(c.ping()["ok"])
                with aiojobsd.Client(url, token="wrong") as c:
                    with self.assertRaises(aiojobsd.Unauthorized):
                        c.ping()
                del d
        finally:
            os.unlink(tf)
            os.unlink(conf)


def harness_free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    support.run()
