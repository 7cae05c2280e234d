"""The Python client's SP transport: the sans-IO wire module on its
own, and the client against SP peers the project did not write:
its REQ against `nanocat --rep` and `nngcat --rep`, its SUB against
`nanocat --pub` and `nngcat --pub`, over ipc and tcp (127.0.0.1)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
import support  # noqa: E402
from support import aiojobsd  # noqa: E402
from aiojobsd import _core, _endpoint, _sync, _wire  # noqa: E402


class Wire(unittest.TestCase):
    def test_header(self):
        self.assertEqual(_wire.header(_wire.REQ), b"\x00SP\x00\x00\x30\x00\x00")
        self.assertEqual(_wire.header(_wire.SUB), b"\x00SP\x00\x00\x21\x00\x00")

    def test_frames(self):
        self.assertEqual(_wire.frame(b"ab", True),
                         b"\x01" + (2).to_bytes(8, "big") + b"ab")
        self.assertEqual(_wire.frame(b"ab", False),
                         (2).to_bytes(8, "big") + b"ab")

    def test_stream_split_anywhere(self):
        for ipc in (True, False):
            s = _wire.Stream(_wire.REQ, ipc)
            data = (_wire.header(_wire.REP) + _wire.frame(b"one", ipc)
                    + _wire.frame(b"", ipc) + _wire.frame(b"x" * 70000, ipc))
            got = []
            for i in range(0, len(data), 7):
                got += s.feed(data[i:i + 7])
            self.assertEqual(got, [b"one", b"", b"x" * 70000])

    def test_bad_peer(self):
        s = _wire.Stream(_wire.REQ, False)
        with self.assertRaises(_wire.WireError):
            s.feed(_wire.header(_wire.PUB))
        s = _wire.Stream(_wire.REQ, False)
        with self.assertRaises(_wire.WireError):
            s.feed(b"HTTP/1.1")
        s = _wire.Stream(_wire.REQ, True)
        with self.assertRaises(_wire.WireError):
            s.feed(_wire.header(_wire.REP) + b"\x02" + bytes(8))

    def test_request_ids(self):
        ids = _wire.RequestIds()
        a, b = ids.next(), ids.next()
        self.assertTrue(a & 0x80000000 and b & 0x80000000)
        self.assertNotEqual(a, b)
        body = _wire.request(a, b"{}")
        self.assertEqual(_wire.reply(body), (a, b"{}"))
        self.assertEqual(_wire.reply(b"\x00\x00\x00\x01{}")[0], None)

    def test_urls(self):
        a = _endpoint.Address("tcp://[::1]:5000")
        self.assertEqual((a.kind, a.host, a.port), ("tcp", "::1", 5000))
        with self.assertRaises(aiojobsd.Error):
            _endpoint.Address("ipc://" + "x" * 108)
        with self.assertRaises(aiojobsd.Error):
            _endpoint.Address("http://x")

    def test_spec(self):
        s = aiojobsd.spec("exec", argv=["a"], queue="q", timeout=1.5,
                          env={"A": "1"})
        self.assertEqual(s, {"kind": "exec", "queue": "q",
                             "timeout_ms": 1500,
                             "args": {"argv": ["a"], "env": {"A": "1"}}})
        self.assertNotEqual(aiojobsd.keyed(s)["key"],
                            aiojobsd.keyed(s)["key"])


class Docs(unittest.TestCase):
    def test_docstrings(self):
        # python3 -m pydoc aiojobsd is the reference: every public name
        # and every public method has a docstring
        import inspect
        missing = []
        for name in aiojobsd.__all__:
            obj = getattr(aiojobsd, name)
            if isinstance(obj, str):
                continue
            if not (obj.__doc__ or "").strip():
                missing.append(name)
            if not inspect.isclass(obj):
                continue
            for cls in obj.__mro__:
                if not cls.__module__.startswith("aiojobsd"):
                    continue
                for m, f in vars(cls).items():
                    if (not m.startswith("_")
                            and (callable(f) or isinstance(f, property))
                            and not (f.__doc__ or "").strip()):
                        missing.append("%s.%s" % (cls.__name__, m))
        self.assertEqual(missing, [])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    """A nanocat or nngcat process (killed at exit)."""

    def __init__(self, argv):
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv, stdout=self.log,
                                  stderr=subprocess.STDOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait(10)
        self.log.seek(0)
        self.out = self.log.read()
        self.log.close()


@unittest.skipUnless(shutil.which("nanocat") and shutil.which("nngcat"),
                     "nanocat or nngcat is not installed")
class Interop(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ajpywire", dir="/tmp")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def urls(self):
        return ["ipc://%s/rep.sock" % self.dir,
                "tcp://127.0.0.1:%d" % free_port()]

    def request(self, url, payload):
        t = _sync.Transport(_endpoint.Address(url), reconnect=5)
        try:
            return t.request(payload, _core.deadline(10))
        finally:
            t.close()

    def test_req_against_nanocat_rep(self):
        for url in self.urls():
            with Peer(["nanocat", "--rep", "--bind", url, "--data", "pong",
                       "--raw"]) as peer:
                self.assertEqual(self.request(url, b"ping-1"), b"pong")
                self.assertEqual(self.request(url, b"x" * 300000), b"pong")
            self.assertIn(b"ping-1", peer.out)

    def test_req_against_nngcat_rep(self):
        for url in self.urls():
            with Peer(["nngcat", "--rep", "--listen", url, "--data", "pong",
                       "--raw"]) as peer:
                self.assertEqual(self.request(url, b"hello"), b"pong")
                self.assertEqual(self.request(url, b"again"), b"pong")
            self.assertIn(b"hello", peer.out)

    def sub_first(self, url, prefix, timeout=10):
        c = aiojobsd.Client("ipc:///nonexistent", events_url=url,
                            reconnect=5)
        for ev in c.events(prefix, timeout=timeout):
            return ev

    def test_sub_against_pubs(self):
        body = b'job.succeeded {"id": 7, "state": "succeeded"}'
        # (nngcat takes whole seconds)
        for tool, every in ((["nanocat", "--pub", "--bind"], "0.05"),
                            (["nngcat", "--pub", "--listen"], "1")):
            for url in self.urls():
                with Peer(tool + [url, "--interval", every, "--data",
                                  body.decode()]):
                    ev = self.sub_first(url, "job.succ")
                    self.assertEqual(ev.topic, "job.succeeded")
                    self.assertEqual(ev.job, {"id": 7,
                                              "state": "succeeded"})
                with Peer(tool + [url, "--interval", every, "--data",
                                  "other.topic {}"]):
                    with self.assertRaises(aiojobsd.Timeout):
                        self.sub_first(url, "job.", timeout=1)

    def test_async_req_against_nngcat(self):
        import asyncio
        from aiojobsd import _async
        url = self.urls()[1]

        async def go():
            t = _async.AsyncTransport(_endpoint.Address(url), 5)
            try:
                return await asyncio.gather(*(t.request(b"r%d" % i,
                                                        _core.deadline(10))
                                              for i in range(3)))
            finally:
                t.close()

        with Peer(["nngcat", "--rep", "--listen", url, "--data", "ok",
                   "--raw"]):
            time.sleep(0.2)
            self.assertEqual(asyncio.run(go()), [b"ok"] * 3)


if __name__ == "__main__":
    support.run()
