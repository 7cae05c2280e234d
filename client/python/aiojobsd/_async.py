"""The asyncio face: AsyncClient, AsyncJob, AsyncGroup, over asyncio
streams. Requests share one connection: each carries its own request id
and the daemon (a raw REP) answers them in any order."""

import asyncio
import json
import socket
import time

from . import _core, _endpoint, _sync, _wire, errors

_RECV = 256 * 1024


class _Lost(Exception):
    """The connection broke while a request waited for its reply."""


class _AsyncConn:
    """One SP connection over asyncio streams."""

    def __init__(self, addr, proto):
        self.addr = addr
        self.proto = proto
        self.reader = self.writer = self.stream = None

    async def open(self):
        a = self.addr
        if a.kind == "ipc":
            r, w = await asyncio.open_unix_connection(a.path, limit=_RECV)
        else:
            r, w = await asyncio.open_connection(
                a.host, a.port, ssl=a.ssl_context, limit=_RECV,
                server_hostname=a.server_name if a.ssl_context else None)
            s = w.get_extra_info("socket")
            if s is not None:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader, self.writer = r, w
        self.stream = _wire.Stream(self.proto, a.kind == "ipc")
        w.write(self.stream.hello())

    async def messages(self):
        """The next messages (raises EOFError at the end)."""
        while True:
            data = await self.reader.read(_RECV)
            if not data:
                raise EOFError("the daemon closed the connection")
            msgs = self.stream.feed(data)
            if msgs:
                return msgs

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.writer = None


async def _connect(addr, proto, reconnect, dl):
    """An open _AsyncConn, retrying for reconnect seconds within dl."""
    end = time.monotonic() + reconnect
    if dl is not None:
        end = min(end, dl)
    pause = 0.02
    while True:
        c = _AsyncConn(addr, proto)
        try:
            await asyncio.wait_for(c.open(), _core.left(end))
            return c
        except (OSError, asyncio.TimeoutError) as e:
            c.close()
            if isinstance(e, _sync.ssl_errors()):
                raise errors.Unavailable("%s: TLS: %s" % (addr.url, e))
            if time.monotonic() + pause >= end:
                raise errors.Unavailable("%s: %s" % (addr.url, e or
                                                     "connect timed out"))
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)


class AsyncTransport:
    """Many requests in flight on one REQ connection, matched to their
    replies by request id; a request whose connection broke is resent on
    a new one."""

    def __init__(self, addr, reconnect):
        self.addr = addr
        self.reconnect = reconnect
        self.ids = _wire.RequestIds()
        self.conn = None
        self.reader_task = None
        self.waiting = {}
        self.lock = None

    async def _ensure(self, dl):
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:
            if self.conn is None:
                self.conn = await _connect(self.addr, _wire.REQ,
                                           self.reconnect, dl)
                self.reader_task = asyncio.ensure_future(
                    self._read(self.conn))
            return self.conn

    async def _read(self, conn):
        try:
            while True:
                for m in await conn.messages():
                    rid, body = _wire.reply(m)
                    fut = self.waiting.pop(rid, None)
                    if fut is not None and not fut.done():
                        fut.set_result(body)
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            self._lose(conn, e)

    def _lose(self, conn, e):
        if self.conn is conn:
            self.conn = None
        conn.close()
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(_Lost(e))
        self.waiting.clear()

    async def request(self, payload, dl):
        while True:
            # Others may hold the lock while they connect: wait for it
            # no longer than this request's own deadline.
            try:
                conn = await asyncio.wait_for(self._ensure(dl),
                                              _core.left(dl))
            except asyncio.TimeoutError:
                raise errors.Unavailable("%s: not connected in time"
                                         % self.addr.url)
            rid = self.ids.next()
            fut = asyncio.get_running_loop().create_future()
            self.waiting[rid] = fut
            try:
                conn.writer.write(conn.stream.send(_wire.request(rid,
                                                                 payload)))
                return await asyncio.wait_for(fut, _core.left(dl))
            except asyncio.TimeoutError:
                raise errors.Timeout("no reply from %s in time"
                                     % self.addr.url)
            except _Lost as e:
                if isinstance(e.args[0], _wire.WireError):
                    raise errors.WireFailure("%s: %s" % (self.addr.url,
                                                         e.args[0]))
                if dl is not None and time.monotonic() >= dl:
                    raise errors.Unavailable("%s: connection lost"
                                             % self.addr.url)
                await asyncio.sleep(0.02)
            finally:
                self.waiting.pop(rid, None)

    def close(self):
        if self.reader_task is not None:
            self.reader_task.cancel()
        if self.conn is not None:
            self.conn.close()
        self.conn = None


class _Watcher:
    """Awaited handles share held waits: the ids awaited in one turn of
    the loop go into one wait request (FIRST_COMPLETED), asked again for
    those still running."""

    def __init__(self, client):
        self.client = client
        self.futures = {}
        self.fresh = []
        self.scheduled = False
        self.tasks = set()

    def watch(self, jid):
        futs = self.futures.setdefault(jid, [])
        fut = asyncio.get_running_loop().create_future()
        if not futs:
            self.fresh.append(jid)
            if not self.scheduled:
                self.scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
        futs.append(fut)
        return fut

    def _flush(self):
        self.scheduled = False
        ids, self.fresh = self.fresh, []
        for i in range(0, len(ids), 10000):
            t = asyncio.ensure_future(self._run(ids[i:i + 10000]))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    async def _run(self, ids):
        while ids:
            ids = [i for i in ids if any(not f.done()
                                         for f in self.futures.get(i, ()))]
            if not ids:
                break
            try:
                done, ids = await self.client._drive(_core.g_wait(
                    ids, _core.FIRST_COMPLETED, None))
            except BaseException as e:
                for i in ids:
                    for f in self.futures.pop(i, ()):
                        if not f.done():
                            f.set_exception(e)
                if isinstance(e, asyncio.CancelledError):
                    raise
                return
            for jid, v in done.items():
                for f in self.futures.pop(jid, ()):
                    if not f.done():
                        f.set_result(v)


class AsyncClient(_core.Ops):
    """An asyncio client of aiojobsd; every operation is a coroutine.

    async with aiojobsd.AsyncClient() as jobs:
        job = await jobs.submit("exec", argv=["echo", "hi"], timeout=600)
        print((await job)["stdout"])

    The arguments are the blocking Client's. Requests from many tasks
    share one connection and run at the same time."""

    def __init__(self, url=None, *, events_url=None, token=None,
                 token_file=None, timeout=30.0, reconnect=10.0,
                 ca_file=None, server_name=None, cert_file=None,
                 key_file=None):
        super().__init__(url, events_url, token, token_file, timeout,
                         reconnect)
        self._transport = AsyncTransport(
            _endpoint.Address(self.url, ca_file=ca_file,
                              server_name=server_name, cert_file=cert_file,
                              key_file=key_file), reconnect)
        self._watcher = _Watcher(self)

    async def close(self):
        """Close the connection."""
        for t in list(self._watcher.tasks):
            t.cancel()
        self._transport.close()
        await asyncio.sleep(0)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def _job(self, jid, s):
        return AsyncJob(self, jid, s)

    async def _send(self, msg, dl):
        if self.token is not None:
            msg = dict(msg, token=self.token)
        body = json.dumps(msg, separators=(",", ":")).encode()
        return json.loads(await self._transport.request(body, dl))

    async def _drive(self, gen):
        try:
            step = next(gen)
            while True:
                if step[0] == "sleep":
                    await asyncio.sleep(step[1])
                    step = gen.send(None)
                else:
                    step = gen.send(await self._send(step[1], step[2]))
        except StopIteration as stop:
            return stop.value

    async def wait(self, jobs, return_when=asyncio.ALL_COMPLETED,
                   timeout=None):
        """(done, pending): sets of handles, as asyncio.wait.

        return_when: asyncio.FIRST_COMPLETED, FIRST_EXCEPTION or
        ALL_COMPLETED. FIRST_EXCEPTION is the daemon's: it returns when a
        job ended failed or cancelled, where asyncio.wait does not count
        a cancelled task as an exception. timeout in seconds (None: no
        limit; waits beyond the daemon's max_hold are asked again)."""
        jobs = list(jobs)
        d, p = await self._drive(self._g_wait_jobs(
            jobs, return_when, _core.deadline(timeout)))
        return set(d), set(p)

    async def as_completed(self, jobs, timeout=None):
        """Yield the handles (already final: awaiting one returns or
        raises at once) as their jobs end; Timeout after timeout s."""
        pending = list(jobs)
        dl = _core.deadline(timeout)
        while pending:
            done, pending = await self._drive(self._g_wait_jobs(
                pending, _core.FIRST_COMPLETED, dl))
            if not done:
                raise errors.Timeout("%d jobs not done in time"
                                     % len(pending))
            for j in done:
                yield j

    def group(self, timeout=None):
        """A task group: async with jobs.group() as g: await g.submit()."""
        return AsyncGroup(self, timeout)

    async def events(self, prefix="job.", timeout=None):
        """Yield Events (topic, job view) whose topic starts with prefix;
        Timeout when no such event comes for timeout seconds. Reconnects after a
        daemon restart; events are best effort."""
        addr = _endpoint.Address(self.events_url)
        conn = None
        dl = _core.deadline(timeout)
        try:
            while True:
                if conn is None:
                    conn = await _connect(addr, _wire.SUB, self.reconnect,
                                          dl)
                try:
                    msgs = await asyncio.wait_for(conn.messages(),
                                                  _core.left(dl))
                except asyncio.TimeoutError:
                    raise errors.Timeout("no event in %s s" % timeout)
                except _wire.WireError as e:
                    raise errors.WireFailure(str(e))
                except (OSError, EOFError):
                    conn.close()
                    conn = None
                    if dl is not None and time.monotonic() >= dl:
                        raise errors.Timeout("no event in %s s" % timeout)
                    await asyncio.sleep(0.05)
                    continue
                for m in msgs:
                    ev = _sync.parse_event(m, prefix)
                    if ev is not None:
                        yield ev
                        dl = _core.deadline(timeout)
        finally:
            if conn is not None:
                conn.close()


class AsyncJob(_core.JobBase):
    """A job submitted through an AsyncClient: .id, .spec, .key, .view.
    Awaiting it gives its result or raises JobFailed / JobCancelled."""

    def __await__(self):
        return self._result().__await__()

    async def _result(self):
        if not self.done():
            self.view = await self.client._watcher.watch(self.id)
        return self.outcome()

    async def result(self, timeout=None):
        """Its result as await job does, raising Timeout after timeout s."""
        return await asyncio.wait_for(self._result(), timeout)

    async def status(self):
        """The job's current view."""
        return await self.client.status(self)

    async def cancel(self):
        """Cancel the job; its view once stopped."""
        return await self.client.cancel(self)


class AsyncGroup(_sync.GroupBase):
    """A task group (asyncio.TaskGroup) of jobs.

    async with jobs.group() as g:
        a = await g.submit("exec", argv=["make", "a"])
        b = await g.submit("exec", argv=["make", "b"])

    Each submit starts its job at once. A member that fails makes the
    daemon cancel the others (as TaskGroup cancels the siblings of a
    failed task); leaving the block waits for every member and raises an
    ExceptionGroup of the JobFailed errors (cancelled members are not
    errors). A submit after a member failed raises that ExceptionGroup
    at once. An exception inside the block cancels the members. Unlike
    TaskGroup, the block itself is not interrupted by a failure."""

    async def __aenter__(self):
        return self

    async def submit(self, kind, args=None, **fields):
        """Submit a member; its handle."""
        s = _core.keyed(_core.spec(kind, args, **fields))
        try:
            r = await self.client._drive(_core.g_submit(
                self._msg(s), _core.deadline(self.client.timeout)))
        except errors.Conflict:
            self.failed = await self._collect()
            raise self.failed
        job = AsyncJob(self.client, r["id"], s)
        self.jobs.append(job)
        return job

    async def _collect(self):
        done, pending = await self.client.wait(self.jobs,
                                               timeout=self.timeout)
        return self._outcome(done, pending)

    async def __aexit__(self, etype, exc, tb):
        if exc is not None and exc is self.failed:
            return False
        if etype is not None:
            await asyncio.gather(*(self.client.cancel(j)
                                   for j in self.jobs),
                                 return_exceptions=True)
            return False
        if self.jobs:
            err = await self._collect()
            if not isinstance(err, errors.Conflict):
                raise err
        return False
