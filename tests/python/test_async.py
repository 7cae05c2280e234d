"""The AsyncClient against a real daemon: every op, awaitable handles,
every return_when, as_completed, task groups, events, a reply over
1 MiB, many requests in flight on one connection, a missing daemon."""

import asyncio
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
import support  # noqa: E402
from support import aiojobsd, harness  # noqa: E402


class Ops(support.DaemonCase, unittest.IsolatedAsyncioTestCase):
    daemon_args = ("--max-request-bytes", "8M")

    async def asyncSetUp(self):
        self.c = aiojobsd.AsyncClient(**self.kw)

    async def asyncTearDown(self):
        await self.c.close()

    async def test_ping_stats(self):
        self.assertTrue((await self.c.ping())["ok"])
        self.assertIn("jobs", await self.c.stats())

    async def test_submit_await(self):
        job = await self.c.submit("exec", argv=["echo", "hi"], queue="aq",
                                  timeout=600)
        self.assertIsInstance(job, aiojobsd.AsyncJob)
        self.assertEqual((job.spec["queue"], job.spec["timeout_ms"]),
                         ("aq", 600000))
        self.assertEqual((await job)["stdout"], "hi\n")
        self.assertEqual((await job)["exit_code"], 0)   # twice: same
        self.assertEqual((await self.c.status(job))["state"], "succeeded")

    async def test_failed_cancelled(self):
        bad = await self.c.submit("exec", argv=["sh", "-c", "exit 4"])
        with self.assertRaises(aiojobsd.JobFailed) as cm:
            await bad
        self.assertEqual(cm.exception.code, "exit_status")
        long = await self.c.submit("sleep", ms=60000)
        self.assertEqual((await self.c.cancel(long))["state"], "cancelled")
        with self.assertRaises(aiojobsd.JobCancelled):
            await long

    async def test_gather_many(self):
        hs = await self.c.submit_many([aiojobsd.spec("sleep", ms=i % 50)
                                       for i in range(300)])
        res = await asyncio.wait_for(asyncio.gather(*hs), 30)
        self.assertEqual(len(res), 300)
        self.assertTrue(all(r["slept_ms"] >= 0 for r in res))

    async def test_concurrent_requests(self):
        # many requests in flight on one connection, answered in any order
        held = await self.c.submit("sleep", ms=500)
        t = asyncio.ensure_future(held)
        pings = await asyncio.gather(*(self.c.ping() for _ in range(50)))
        self.assertTrue(all(p["ok"] for p in pings))
        self.assertFalse(t.done())
        await asyncio.wait_for(t, 10)

    async def test_return_when(self):
        quick = await self.c.submit("sleep", ms=10)
        slow = await self.c.submit("sleep", ms=60000)
        bad = await self.c.submit("exec", argv=["false"])
        done, pending = await self.c.wait(
            [quick, slow], return_when=asyncio.FIRST_COMPLETED, timeout=10)
        self.assertEqual((done, pending), ({quick}, {slow}))
        done, pending = await self.c.wait(
            [slow, bad], return_when=asyncio.FIRST_EXCEPTION, timeout=10)
        self.assertEqual((done, pending), ({bad}, {slow}))
        done, pending = await self.c.wait([quick, slow], timeout=0.3)
        self.assertEqual((done, pending), ({quick}, {slow}))
        # the daemon counts a cancelled job as an exception
        await slow.cancel()
        other = await self.c.submit("sleep", ms=60000)
        done, pending = await self.c.wait(
            [slow, other], return_when=asyncio.FIRST_EXCEPTION, timeout=10)
        self.assertEqual((done, pending), ({slow}, {other}))
        await other.cancel()
        done, pending = await self.c.wait(
            [quick, slow, bad, other], return_when=asyncio.ALL_COMPLETED,
            timeout=10)
        self.assertEqual((len(done), pending), (4, set()))

    async def test_as_completed(self):
        hs = [await self.c.submit("sleep", ms=ms) for ms in (300, 10, 150)]
        order = [h.id async for h in self.c.as_completed(hs, timeout=10)]
        self.assertEqual(order, [hs[1].id, hs[2].id, hs[0].id])

    async def test_list_queue_output_clean(self):
        await self.c.queue("aq-paused", "pause")
        j = await self.c.submit("sleep", ms=1, queue="aq-paused")
        self.assertEqual([v["id"] for v in
                          await self.c.list(queue="aq-paused")], [j.id])
        await self.c.queue("aq-paused", "resume")
        await asyncio.wait_for(j, 10)
        e = await self.c.submit("exec", argv=["sh", "-c", "head -c 300000 "
                                              "/dev/zero | tr '\\0' z"])
        await e
        self.assertEqual(await self.c.output(e), b"z" * 300000)
        self.assertGreaterEqual(await self.c.clean(), 1)

    async def test_reply_over_1mib(self):
        await self.c.queue("aq-big", "pause")
        data = "w" * (3 << 20)
        j = await self.c.submit("cpu", fn="sha256", input={"data": data},
                                queue="aq-big")
        v = await self.c.status(j)
        self.assertEqual(v["args"]["input"]["data"], data)
        await self.c.cancel(j)

    async def test_errors(self):
        with self.assertRaises(aiojobsd.NotFound):
            await self.c.status(99999999)
        with self.assertRaises(aiojobsd.UnknownKind):
            await self.c.submit("nope")
        with self.assertRaises(aiojobsd.BadRequest) as cm:
            await self.c.submit("sleep")
        self.assertEqual(cm.exception.code, "bad_request")

    async def test_events(self):
        async def first():
            async for ev in self.c.events("job.succeeded", timeout=10):
                if ev.job.get("queue") == "aq-ev":
                    return ev

        t = asyncio.ensure_future(first())
        deadline = time.monotonic() + 10
        while not t.done() and time.monotonic() < deadline:
            await self.c.submit("sleep", ms=0, queue="aq-ev")
            await asyncio.wait([t], timeout=0.2)
        ev = await asyncio.wait_for(t, 10)
        self.assertEqual((ev.topic, ev.job["state"]),
                         ("job.succeeded", "succeeded"))

    async def test_group_failure_cancels_siblings(self):
        with self.assertRaises(ExceptionGroup) as cm:
            async with self.c.group(timeout=20) as g:
                a = await g.submit("sleep", ms=60000)
                b = await g.submit("exec",
                                   argv=["sh", "-c", "sleep 0.2; exit 1"])
        self.assertIsInstance(cm.exception.exceptions[0], aiojobsd.JobFailed)
        self.assertEqual((await self.c.status(a))["state"], "cancelled")
        self.assertEqual((await self.c.status(b))["state"], "failed")
        with self.assertRaises(aiojobsd.JobCancelled):
            await a

    async def test_group_join_after_failure(self):
        with self.assertRaises(ExceptionGroup) as cm:
            async with self.c.group(timeout=20) as g:
                a = await g.submit("sleep", ms=60000)
                b = await g.submit("exec", argv=["false"])
                with self.assertRaises(aiojobsd.JobFailed):
                    await b
                await asyncio.sleep(0.1)
                await g.submit("sleep", ms=1)
                self.fail("joined a failed group")
        self.assertEqual(len(cm.exception.exceptions), 1)
        self.assertEqual((await self.c.status(a))["state"], "cancelled")

    async def test_group_body_raises(self):
        with self.assertRaises(KeyError):
            async with self.c.group() as g:
                a = await g.submit("sleep", ms=60000)
                raise KeyError("x")
        self.assertEqual((await self.c.status(a))["state"], "cancelled")

    async def test_group_success(self):
        async with self.c.group(timeout=20) as g:
            a = await g.submit("sleep", ms=10)
            b = await g.submit("sleep", ms=30)
        self.assertEqual((a.state, b.state), ("succeeded", "succeeded"))


class Missing(unittest.IsolatedAsyncioTestCase):
    async def test_many_calls_one_deadline_each(self):
        # many calls at once to a missing daemon: each fails within its
        # own deadline, none waits behind the others' attempts
        async with aiojobsd.AsyncClient("ipc:///tmp/aiojobsd-none-%d.sock"
                                        % os.getpid(), reconnect=5) as c:
            t0 = time.monotonic()
            rs = await asyncio.gather(*(c.ping(timeout=0.5 + i * 0.1)
                                        for i in range(5)),
                                      return_exceptions=True)
            self.assertTrue(all(isinstance(r, aiojobsd.Unavailable)
                                for r in rs), rs)
            self.assertLess(time.monotonic() - t0, 1.5)

    async def test_missing_daemon(self):
        t0 = time.monotonic()
        async with aiojobsd.AsyncClient("ipc:///tmp/aiojobsd-none-%d.sock"
                                        % os.getpid(), timeout=1.0) as c:
            with self.assertRaises(aiojobsd.Unavailable):
                await c.ping()
        self.assertLess(time.monotonic() - t0, 2.0)


if __name__ == "__main__":
    support.run()
