"""The blocking face: Client, Job, Group, over sockets with timeouts."""

import json
import socket
import ssl
import threading
import time
from collections import namedtuple

from . import _core, _endpoint, _wire, errors

Event = namedtuple("Event", "topic job")
Event.__doc__ = """One event: .topic (job.queued, job.running, ...) and
.job, the job's view without args and result."""

_LOST = (ConnectionError, EOFError, FileNotFoundError, _wire.WireError,
         OSError)
_RECV = 256 * 1024


class _Conn:
    """One SP connection (REQ or SUB), reconnected on demand."""

    def __init__(self, addr, proto, reconnect):
        self.addr = addr
        self.proto = proto
        self.reconnect = reconnect
        self.sock = None
        self.stream = None
        self.early = []

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def _open(self, dl):
        a = self.addr
        t = _core.left(dl)
        if a.kind == "ipc":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(t)
                s.connect(a.path)
            except BaseException:
                s.close()
                raise
        else:
            s = socket.create_connection((a.host, a.port), timeout=t)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if a.kind == "tls":
                try:
                    s = a.ssl_context.wrap_socket(
                        s, server_hostname=a.server_name)
                except BaseException:
                    s.close()
                    raise
        self.sock = s
        self.stream = _wire.Stream(self.proto, a.kind == "ipc")
        self.sock.sendall(self.stream.hello())

    def connect(self, dl):
        """Connect, retrying for up to reconnect seconds within dl."""
        if self.sock is not None:
            return
        end = time.monotonic() + self.reconnect
        if dl is not None:
            end = min(end, dl)
        pause = 0.02
        while True:
            try:
                self._open(end)
                return
            except ssl_errors() as e:
                raise errors.Unavailable("%s: TLS: %s" % (self.addr.url, e))
            except (OSError, socket.timeout) as e:
                self.close()
                if time.monotonic() + pause >= end:
                    raise errors.Unavailable("%s: %s" % (self.addr.url, e))
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def handshake(self, dl):
        """Wait for the peer's SP header (messages after it are kept)."""
        self.early = []
        while not self.stream.ready:
            self.early += self.recv(dl, header_only=True)

    def send(self, body, dl):
        self.sock.settimeout(_core.left(dl))
        self.sock.sendall(self.stream.send(body))

    def recv(self, dl, header_only=False):
        """The messages of the next bytes; [] never (raises instead),
        unless header_only and the peer's header came."""
        early, self.early = self.early, []
        if early:
            return early
        while True:
            t = _core.left(dl)
            if t is not None and t <= 0:
                raise socket.timeout()
            self.sock.settimeout(t)
            data = self.sock.recv(_RECV)
            if not data:
                raise EOFError("the daemon closed the connection")
            msgs = self.stream.feed(data)
            if msgs or (header_only and self.stream.ready):
                return msgs


def ssl_errors():
    """The errors of a TLS handshake that retrying cannot mend."""
    return (ssl.SSLCertVerificationError,)


class Transport:
    """Requests over one REQ connection: a request id each, the reply
    with that id, resends on a new connection after a lost one."""

    def __init__(self, addr, reconnect):
        self.conn = _Conn(addr, _wire.REQ, reconnect)
        self.ids = _wire.RequestIds()
        self.lock = threading.Lock()

    def request(self, payload, dl):
        with self.lock:
            while True:
                self.conn.connect(dl)
                rid = self.ids.next()
                try:
                    self.conn.send(_wire.request(rid, payload), dl)
                    while True:
                        for m in self.conn.recv(dl):
                            got, body = _wire.reply(m)
                            if got == rid:
                                return body
                except socket.timeout:
                    raise errors.Timeout("no reply from %s in time"
                                         % self.conn.addr.url)
                except _wire.WireError as e:
                    self.conn.close()
                    raise errors.WireFailure("%s: %s"
                                             % (self.conn.addr.url, e))
                except _LOST:
                    # The daemon went away: resend on a new connection.
                    self.conn.close()
                    if dl is not None and time.monotonic() >= dl:
                        raise errors.Unavailable("%s: connection lost"
                                                 % self.conn.addr.url)
                    time.sleep(0.02)

    def close(self):
        self.conn.close()


class Client(_core.Ops):
    """A blocking client of aiojobsd.

    with aiojobsd.Client() as jobs:
        job = jobs.submit("exec", argv=["echo", "hi"])
        print(job.result(timeout=60)["stdout"])

    url / events_url: the endpoints (default: aiojobctl's rules, see
    aiojobsd._endpoint); token / token_file: the token sent in every
    request (default: $AIOJOBS_TOKEN, $AIOJOBS_TOKEN_FILE); ca_file,
    server_name, cert_file, key_file: TLS for tls+tcp:// URLs. timeout:
    the default deadline of a call in seconds (waits default to none);
    reconnect: how long a call keeps trying to reach a daemon that is
    missing or restarting (within its deadline). Safe to share between
    threads (one request at a time)."""

    def __init__(self, url=None, *, events_url=None, token=None,
                 token_file=None, timeout=30.0, reconnect=10.0,
                 ca_file=None, server_name=None, cert_file=None,
                 key_file=None):
        super().__init__(url, events_url, token, token_file, timeout,
                         reconnect)
        self._tls = dict(ca_file=ca_file, server_name=server_name,
                         cert_file=cert_file, key_file=key_file)
        self._transport = Transport(
            _endpoint.Address(self.url, **self._tls), reconnect)

    def close(self):
        """Close the connection (a later call opens another)."""
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _job(self, jid, s):
        return Job(self, jid, s)

    def _send(self, msg, dl):
        if self.token is not None:
            msg = dict(msg, token=self.token)
        body = json.dumps(msg, separators=(",", ":")).encode()
        return json.loads(self._transport.request(body, dl))

    def _drive(self, gen):
        try:
            step = next(gen)
            while True:
                if step[0] == "sleep":
                    time.sleep(step[1])
                    step = gen.send(None)
                else:
                    step = gen.send(self._send(step[1], step[2]))
        except StopIteration as stop:
            return stop.value

    def wait(self, jobs, return_when=_core.ALL_COMPLETED, timeout=None):
        """(done, pending): lists of the handles, as asyncio.wait.

        return_when: ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION (the
        daemon's: a job ended failed or cancelled; asyncio does not count
        a cancelled task as an exception). timeout in seconds, None for
        none: waits longer than the daemon's max_hold are split into
        several requests."""
        jobs = list(jobs)
        return self._drive(self._g_wait_jobs(jobs, return_when,
                                             _core.deadline(timeout)))

    def as_completed(self, jobs, timeout=None):
        """Yield the handles as their jobs end (Timeout after timeout
        seconds in all)."""
        pending = list(jobs)
        dl = _core.deadline(timeout)
        while pending:
            done, pending = self._drive(self._g_wait_jobs(
                pending, _core.FIRST_COMPLETED, dl))
            if not done:
                raise errors.Timeout("%d jobs not done in time"
                                     % len(pending))
            yield from done

    def group(self, timeout=None):
        """A task group: with jobs.group() as g: g.submit(...). See Group."""
        return Group(self, timeout)

    def events(self, prefix="job.", timeout=None):
        """An iterator of the Events whose topic starts with prefix,
        forever (Timeout when no such event comes for timeout seconds).
        It subscribes before it returns, so the events of jobs submitted
        after the call come. Reconnects after a daemon restart; events
        are best effort."""
        conn = _Conn(_endpoint.Address(self.events_url), _wire.SUB,
                     self.reconnect)
        dl = _core.deadline(timeout)
        try:
            conn.connect(dl)
            conn.handshake(dl)
        except (socket.timeout, _wire.WireError, _LOST) as e:
            conn.close()
            raise errors.Unavailable("%s: %s" % (self.events_url, e))
        return self._events(conn, prefix, timeout, dl)

    def _events(self, conn, prefix, timeout, dl):
        try:
            while True:
                try:
                    conn.connect(dl)
                    for m in conn.recv(dl):
                        ev = parse_event(m, prefix)
                        if ev is not None:
                            yield ev
                            dl = _core.deadline(timeout)
                except socket.timeout:
                    raise errors.Timeout("no event in %s s" % timeout)
                except _wire.WireError as e:
                    raise errors.WireFailure(str(e))
                except _LOST:
                    conn.close()
                    if dl is not None and time.monotonic() >= dl:
                        raise errors.Timeout("no event in %s s" % timeout)
                    time.sleep(0.05)
        finally:
            conn.close()


def parse_event(msg, prefix):
    """Event of a PUB message "TOPIC JSON", or None if prefix does not
    match (the client filters: PUB sends everything)."""
    p = prefix.encode() if isinstance(prefix, str) else prefix
    if not msg.startswith(p):
        return None
    topic, _, body = msg.partition(b" ")
    return Event(topic.decode(), json.loads(body))


class Job(_core.JobBase):
    """A job submitted through a Client: .id, .spec, .key, .view."""

    def result(self, timeout=None):
        """Wait for the job to end; its result, or raise JobFailed or
        JobCancelled (Timeout after timeout seconds)."""
        done, _ = self.client.wait([self], timeout=timeout)
        if not done:
            raise errors.Timeout("job %d not done in %s s" % (self.id,
                                                               timeout))
        return self.outcome()

    def status(self):
        """The job's current view."""
        return self.client.status(self)

    def cancel(self):
        """Cancel the job; its view once stopped."""
        return self.client.cancel(self)


class GroupBase:
    """What both faces' task groups share: the submit messages."""

    def __init__(self, client, timeout):
        self.client = client
        self.timeout = timeout
        self.jobs = []
        self.failed = None

    def _msg(self, s):
        msg = {"op": "submit", "job": s}
        if self.jobs:
            msg["join"] = self.jobs[0].id
        else:
            msg["group"] = True
        return msg

    def _outcome(self, done, pending):
        """What leaving the group raises: the ExceptionGroup of the
        members that failed; Timeout if members are still running at the
        group's timeout; else a Conflict that is not raised (a submit
        refused because the group failed raises it)."""
        errs = [errors.JobFailed(j.view) for j in self.jobs
                if j in done and j.view["state"] == "failed"]
        if errs:
            return ExceptionGroup("task group: %d member(s) failed"
                                  % len(errs), errs)
        if pending:
            return errors.Timeout("task group: %d member(s) still running"
                                  % len(pending))
        return errors.Conflict("the task group failed")


class Group(GroupBase):
    """A task group (asyncio.TaskGroup) of the blocking Client.

    with jobs.group() as g:
        a = g.submit("exec", argv=["make", "a"])
        b = g.submit("exec", argv=["make", "b"])

    Each submit starts its job at once. A member that fails makes the
    daemon cancel the others; leaving the block waits for every member
    and raises an ExceptionGroup of JobFailed. A submit after a member
    failed raises that ExceptionGroup. An exception in the block cancels
    the members."""

    def __enter__(self):
        return self

    def submit(self, kind, args=None, **fields):
        """Submit a member; its handle."""
        s = _core.keyed(_core.spec(kind, args, **fields))
        try:
            r = self.client._drive(_core.g_submit(
                self._msg(s), _core.deadline(self.client.timeout)))
        except errors.Conflict:
            self.failed = self._collect()
            raise self.failed
        job = Job(self.client, r["id"], s)
        self.jobs.append(job)
        return job

    def _collect(self):
        done, pending = self.client.wait(self.jobs, timeout=self.timeout)
        return self._outcome(done, pending)

    def __exit__(self, etype, exc, tb):
        if exc is not None and exc is self.failed:
            return False
        if etype is not None:
            for j in self.jobs:
                self.client.cancel(j)
            return False
        if self.jobs:
            err = self._collect()
            if not isinstance(err, errors.Conflict):
                raise err
        return False
