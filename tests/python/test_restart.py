"""The Python client across daemon restarts: a wait under which the
daemon is killed (SIGKILL) and started again resumes within its
deadline; a submit whose reply was lost is resent with the same key
and makes no second job; a submit sent while the daemon is down is
made once it is back; shutdown."""

import asyncio
import os
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
import support  # noqa: E402
from support import aiojobsd, harness  # noqa: E402


def restart(d, down_s=0.5):
    """SIGKILL the daemon, leave it dead down_s seconds, start it again
    (same run and state directories)."""
    d.kill()
    d._log.close()
    time.sleep(down_s)
    d.start()


class ReplyDropper:
    """An ipc proxy to the daemon that hangs up on the client instead of
    passing on the first reply: as if the daemon had died after it
    committed a submit and before its answer left. Later connections are
    passed through whole."""

    def __init__(self, target, path):
        self.target = target
        self.path = path
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(8)
        self.conns = 0
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns += 1
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.connect(self.target)
            drop = self.conns == 1
            for a, b, cut in ((c, up, False), (up, c, drop)):
                t = threading.Thread(target=self._pump, args=(a, b, cut),
                                     daemon=True)
                t.start()

    @staticmethod
    def _pump(src, dst, cut):
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if cut and sent + len(data) > 8:
                    dst.sendall(data[:max(0, 8 - sent)])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        src.close()

    def close(self):
        self.lsock.close()
        os.unlink(self.path)


class Restart(unittest.TestCase):
    def test_sync_wait_across_kill(self):
        with harness.Daemon() as d:
            with aiojobsd.Client(d.url, reconnect=15) as c:
                j = c.submit("sleep", ms=1500, retries=1)
                out = {}

                def waiter():
                    t0 = time.monotonic()
                    try:
                        out["r"] = j.result(timeout=20)
                    except aiojobsd.Error as e:
                        out["e"] = e
                    out["t"] = time.monotonic() - t0

                t = threading.Thread(target=waiter)
                t.start()
                time.sleep(0.3)
                restart(d)
                t.join(25)
                self.assertFalse(t.is_alive())
                self.assertLess(out["t"], 20)
                # retried after the restart, or failed as interrupted
                if "e" in out:
                    self.assertIsInstance(out["e"], aiojobsd.JobFailed)
                    self.assertEqual(out["e"].code, "interrupted")
                else:
                    self.assertGreaterEqual(out["r"]["slept_ms"], 1500)
                self.assertEqual(len(c.list()), 1)

    def test_sync_wait_deadline_with_daemon_down(self):
        with harness.Daemon() as d:
            with aiojobsd.Client(d.url, reconnect=30) as c:
                j = c.submit("sleep", ms=60000)
                d.kill()
                d._log.close()
                t0 = time.monotonic()
                with self.assertRaises(aiojobsd.Error):
                    c.wait([j], timeout=1.5)
                self.assertLess(time.monotonic() - t0, 3.0)
                d.start()

    def test_async_wait_across_kill(self):
        async def main(d):
            async with aiojobsd.AsyncClient(d.url, reconnect=15) as c:
                j = await c.submit("sleep", ms=1500, retries=1)
                t = asyncio.ensure_future(j.result(timeout=20))
                await asyncio.sleep(0.3)
                await asyncio.get_running_loop().run_in_executor(
                    None, restart, d)
                try:
                    r = await asyncio.wait_for(t, 25)
                    self.assertGreaterEqual(r["slept_ms"], 1500)
                except aiojobsd.JobFailed as e:
                    self.assertEqual(e.code, "interrupted")
                self.assertEqual(len(await c.list()), 1)

        with harness.Daemon() as d:
            asyncio.run(main(d))

    def test_lost_reply_no_second_job(self):
        with harness.Daemon() as d:
            path = os.path.join(d.rundir, "proxy.sock")
            proxy = ReplyDropper(d.sock_path, path)
            try:
                with aiojobsd.Client("ipc://" + path) as c:
                    j = c.submit("sleep", ms=1)
                    self.assertGreaterEqual(proxy.conns, 2)
                    self.assertEqual([v["id"] for v in c.list()], [j.id])
            finally:
                proxy.close()

    def test_async_lost_reply_no_second_job(self):
        async def main(url):
            async with aiojobsd.AsyncClient(url) as c:
                j = await c.submit("sleep", ms=1)
                return [v["id"] for v in await c.list()], j.id

        with harness.Daemon() as d:
            path = os.path.join(d.rundir, "proxy.sock")
            proxy = ReplyDropper(d.sock_path, path)
            try:
                ids, jid = asyncio.run(main("ipc://" + path))
                self.assertEqual(ids, [jid])
                self.assertGreaterEqual(proxy.conns, 2)
            finally:
                proxy.close()

    def test_submit_while_down(self):
        with harness.Daemon() as d:
            with aiojobsd.Client(d.url, reconnect=15) as c:
                c.ping()
                d.kill()
                d._log.close()
                out = {}
                t = threading.Thread(target=lambda: out.setdefault(
                    "j", c.submit("sleep", ms=1, call_timeout=20)))
                t.start()
                time.sleep(0.5)
                d.start()
                t.join(25)
                self.assertEqual([v["id"] for v in c.list()],
                                 [out["j"].id])

    def test_events_across_kill(self):
        with harness.Daemon() as d:
            with aiojobsd.Client(d.url, events_url=d.events_url,
                                 reconnect=15) as c:
                events = c.events("job.succeeded", timeout=15)
                restart(d)
                got = []

                def consume():
                    # the iterator reconnects to the new daemon on its own
                    for ev in events:
                        if ev.job["queue"] == "after":
                            got.append(ev)
                            return

                t = threading.Thread(target=consume)
                t.start()
                deadline = time.monotonic() + 15
                # events are best effort: submit until one comes
                while t.is_alive() and time.monotonic() < deadline:
                    c.submit("sleep", ms=0, queue="after")
                    t.join(0.2)
                t.join(20)
                self.assertEqual(got[0].topic, "job.succeeded")

    def test_shutdown(self):
        d = harness.Daemon()
        with d:
            with aiojobsd.Client(d.url) as c:
                self.assertTrue(c.shutdown(timeout_ms=1000)["ok"])
            self.assertEqual(d.wait_exit(15), 0)


if __name__ == "__main__":
    support.run()
