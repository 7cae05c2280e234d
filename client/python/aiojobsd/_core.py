"""What both faces share: job specs, handles, and every operation as a
generator that yields what it needs done and gets the answer back.

An operation yields ("req", REQUEST, DEADLINE) and is sent the reply (a
dict, ok or error), or yields ("sleep", SECONDS) and is sent None; it
returns its result. The blocking Client runs these generators with
sockets, the AsyncClient with asyncio streams, so the rules (keys,
resends, long waits split under max_hold) are written once.
"""

import time
import uuid

from . import _endpoint, errors

# The longest a wait is held in one request; the daemon's own max_hold
# (30 s by default) may end it sooner, and the client then asks again.
HOLD_S = 25.0
# How long past a held request's timeout_ms its reply may take.
HOLD_SLACK_S = 5.0
# Pauses between resends of a submit answered not_durable.
NOT_DURABLE_PAUSE_S = 0.25

ALL_COMPLETED = "ALL_COMPLETED"
FIRST_COMPLETED = "FIRST_COMPLETED"
FIRST_EXCEPTION = "FIRST_EXCEPTION"
FINAL = ("succeeded", "failed", "cancelled")

# Fields of a job spec (protocol.md 3.1); other keyword arguments of
# submit() go into the kind's args.
SPEC_FIELDS = ("name", "queue", "priority", "delay_ms", "timeout_ms",
               "retries", "retry_backoff_ms", "after", "lock", "shield",
               "key")
# Spec fields in seconds, for convenience: timeout=600 is timeout_ms.
SECONDS_FIELDS = {"timeout": "timeout_ms", "delay": "delay_ms",
                  "retry_backoff": "retry_backoff_ms"}


def spec(kind, args=None, **fields):
    """A job spec: spec("exec", argv=["true"], queue="q", timeout=600).

    Keyword arguments that are spec fields (name, queue, priority,
    delay_ms, timeout_ms, retries, retry_backoff_ms, after, lock, shield,
    key) go into the spec; timeout, delay and retry_backoff are the same
    in seconds; after may hold job handles; every other keyword goes into
    args (merged over the args dict)."""
    out = {"kind": kind}
    a = dict(args or {})
    for k, v in fields.items():
        if k in SECONDS_FIELDS:
            out[SECONDS_FIELDS[k]] = None if v is None else int(v * 1000)
        elif k == "after":
            out[k] = [job_id(x) for x in v]
        elif k in SPEC_FIELDS:
            out[k] = v
        else:
            a[k] = v
    out["args"] = a
    return out


def keyed(s):
    """A copy of spec s with an idempotency key (a fresh uuid4) unless it
    has one: a resend after a lost reply then names the same job."""
    s = dict(s)
    if not s.get("key"):
        s["key"] = uuid.uuid4().hex
    return s


def job_id(x):
    """The id of a job handle, a view or an id."""
    if isinstance(x, JobBase):
        return x.id
    if isinstance(x, dict):
        return x["id"]
    return int(x)


def deadline(timeout):
    """The monotonic time a call of timeout seconds ends (None: never)."""
    return None if timeout is None else time.monotonic() + timeout


def left(dl):
    """Seconds left before deadline dl (None: no deadline)."""
    return None if dl is None else max(0.0, dl - time.monotonic())


class JobBase:
    """A submitted job: .id, .spec (with its .key), and .view, the last
    view the client saw (None until then)."""

    def __init__(self, client, jid, job_spec):
        self.client = client
        self.id = jid
        self.spec = job_spec
        self.view = None

    @property
    def key(self):
        """The idempotency key the job was submitted with."""
        return self.spec.get("key")

    @property
    def state(self):
        """The state of the last view seen (None before any)."""
        return None if self.view is None else self.view["state"]

    def done(self):
        """Whether the last view seen is final."""
        return self.state in FINAL

    def outcome(self):
        """The result of a final view, or raise JobFailed/JobCancelled."""
        err = errors.job_error(self.view)
        if err is not None:
            raise err
        return self.view.get("result")

    def __repr__(self):
        return "<%s %s %s%s>" % (type(self).__name__, self.id,
                                 self.spec.get("kind"),
                                 "" if self.view is None
                                 else " " + self.view["state"])

    def __hash__(self):
        return hash((id(self.client), self.id))

    def __eq__(self, other):
        return (isinstance(other, JobBase) and other.client is self.client
                and other.id == self.id)


def check(reply):
    """reply itself when ok, else raise its Error."""
    if reply.get("ok") is True:
        return reply
    raise errors.from_reply(reply)


def req(msg, dl):
    return ("req", msg, dl)


def g_simple(msg, dl):
    """One request; its ok reply."""
    return check((yield req(msg, dl)))


def g_submit(msg, dl):
    """A submit, resent with the same keys while the store cannot write
    (not_durable) and the deadline allows."""
    while True:
        r = yield req(msg, dl)
        if r.get("ok") is True:
            return r
        code = (r.get("error") or {}).get("code")
        if code != "not_durable" or (dl is not None and
                                     time.monotonic() + NOT_DURABLE_PAUSE_S
                                     >= dl):
            raise errors.from_reply(r)
        yield ("sleep", NOT_DURABLE_PAUSE_S)


def _met(return_when, done, pending):
    if not pending:
        return True
    if return_when == FIRST_COMPLETED:
        return bool(done)
    if return_when == FIRST_EXCEPTION:
        return any(v["state"] in ("failed", "cancelled")
                   for v in done.values())
    return False


def _held_deadline(hold, dl):
    """When the reply to a request held hold seconds is overdue: a
    little after the call's own deadline, or HOLD_SLACK_S after the hold
    for a call without one."""
    if dl is not None:
        return dl + 0.5
    return time.monotonic() + hold + HOLD_SLACK_S


def g_wait(ids, return_when, dl):
    """wait until return_when holds or deadline dl passes, asking again
    each time the daemon's max_hold ends a held request. Returns
    ({id: final view}, [pending ids]) in the order of ids."""
    if return_when not in (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION):
        raise ValueError("return_when: %r" % (return_when,))
    ids = list(dict.fromkeys(ids))
    done = {}
    pending = list(ids)
    while pending:
        hold = HOLD_S if dl is None else min(HOLD_S, left(dl))
        r = check((yield req({"op": "wait", "ids": pending,
                              "return_when": return_when,
                              "timeout_ms": int(hold * 1000)},
                             _held_deadline(hold, dl))))
        for v in r["done"]:
            done[v["id"]] = v
        for jid in r.get("more_done") or ():
            done[jid] = check((yield req({"op": "status", "id": jid},
                                         _held_deadline(0, dl))))["job"]
        pending = [i for i in ids if i not in done]
        if _met(return_when, done, pending) or (dl is not None
                                                and left(dl) <= 0):
            break
    return {i: done[i] for i in ids if i in done}, pending


def g_list(dl, limit=100, **filters):
    """Views of the newest jobs (up to limit; 0: 10,000), following the
    pages the daemon ends early to keep replies within 1 MiB."""
    want = limit or 10000
    out = []
    msg = {"op": "list", "limit": want}
    msg.update({k: v for k, v in filters.items() if v is not None})
    while len(out) < want:
        msg["limit"] = want - len(out)
        r = check((yield req(dict(msg), dl)))
        out += r["jobs"]
        if not r.get("next_before_id") or not r["jobs"]:
            break
        msg["before_id"] = r["next_before_id"]
    return out


def g_output(jid, stream, dl):
    """All the bytes of a job's output stream, page by page."""
    import base64
    data = bytearray()
    while True:
        r = check((yield req({"op": "output", "id": jid, "stream": stream,
                              "offset": len(data)}, dl)))
        if r.get("data_base64") is not None:
            data += base64.b64decode(r["data_base64"])
        elif r.get("data") is not None:
            data += r["data"].encode()
        if r.get("eof") or (r["length"] == 0 and r.get("final")):
            return bytes(data)
        if r["length"] == 0:
            yield ("sleep", 0.05)


class Ops:
    """The operations of both faces. Each method builds an operation and
    hands it to self._drive: the blocking Client runs it and returns its
    result, the AsyncClient returns a coroutine to await."""

    def __init__(self, url, events_url, token, token_file, timeout,
                 reconnect):
        # both faces find the daemon and the token as aiojobctl does
        self.url = _endpoint.control_url(url)
        self.events_url = _endpoint.events_url(events_url)
        self.token = _endpoint.token(token, token_file)
        self.timeout = timeout
        self.reconnect = reconnect

    def _dl(self, timeout):
        return deadline(self.timeout if timeout is ... else timeout)

    def ping(self, timeout=...):
        """The daemon's ping reply: version, versions, pid, uptime_ms,
        user, admin."""
        return self._drive(g_simple({"op": "ping"}, self._dl(timeout)))

    def submit(self, kind, args=None, *, call_timeout=..., **fields):
        """Submit one job; returns its handle (.id, .spec, .key).

        submit("exec", argv=["make"], queue="build", timeout=600): see
        spec() for how keyword arguments split into spec fields and args.
        A fresh idempotency key is put on the job unless given, so the
        resend after a lost reply or a restart makes no second job.
        call_timeout bounds the call (default: the client's timeout)."""
        s = keyed(spec(kind, args, **fields))
        return self._drive(self._g_submit_one(s, {}, self._dl(call_timeout)))

    def _g_submit_one(self, s, extra, dl):
        msg = {"op": "submit", "job": s}
        msg.update(extra)
        r = yield from g_submit(msg, dl)
        return self._job(r["id"], s)

    def submit_many(self, specs, *, group=False, timeout=...):
        """Submit a batch (all or nothing); returns their handles.

        specs are dicts (see spec()); each gets a key unless it has one.
        group=True makes the batch a task group: a member that fails
        cancels the others."""
        specs = [keyed(s) for s in specs]
        msg = {"op": "submit", "jobs": specs}
        if group:
            msg["group"] = True
        return self._drive(self._g_batch(msg, specs, self._dl(timeout)))

    def _g_batch(self, msg, specs, dl):
        r = yield from g_submit(msg, dl)
        return [self._job(i, s) for i, s in zip(r["ids"], specs)]

    def status(self, job, timeout=...):
        """The job's view (with args and result); updates handle.view."""
        return self._drive(self._g_status(job, self._dl(timeout)))

    def _g_status(self, job, dl):
        v = (yield from g_simple({"op": "status", "id": job_id(job)},
                                 dl))["job"]
        if isinstance(job, JobBase):
            job.view = v
        return v

    def cancel(self, job, timeout=...):
        """Cancel a job; its view once stopped (a final job unchanged)."""
        return self._drive(self._g_cancel(job, self._dl(timeout)))

    def _g_cancel(self, job, dl):
        v = (yield from g_simple({"op": "cancel", "id": job_id(job)},
                                 dl))["job"]
        if isinstance(job, JobBase):
            job.view = v
        return v

    def list(self, state=None, queue=None, owner=None, limit=100,
             before_id=None, timeout=...):
        """Views of the newest jobs (newest first, without results),
        paging on by itself up to limit (0: 10,000)."""
        return self._drive(g_list(self._dl(timeout), limit, state=state,
                                  queue=queue, owner=owner,
                                  before_id=before_id))

    def stats(self, timeout=...):
        """The daemon's counters: jobs by state, queues, workers."""
        return self._drive(g_simple({"op": "stats"}, self._dl(timeout)))

    def queue(self, name, action, limit=None, rate=None, timeout=...):
        """Pause, resume or set (limit, rate) a queue; its state."""
        msg = {"op": "queue", "name": name, "action": action}
        if limit is not None:
            msg["limit"] = limit
        if rate is not None:
            msg["rate"] = rate
        return self._drive(self._g_field(msg, "queue", self._dl(timeout)))

    def _g_field(self, msg, field, dl):
        return (yield from g_simple(msg, dl))[field]

    def output(self, job, stream="stdout", timeout=...):
        """All the bytes of a job's output stream (stdout, stderr, body),
        read page by page; waits for a running job to end."""
        return self._drive(g_output(job_id(job), stream, self._dl(timeout)))

    def clean(self, older_than_ms=0, state=None, timeout=...):
        """Delete finished jobs from the store; how many."""
        msg = {"op": "clean", "older_than_ms": older_than_ms}
        if state is not None:
            msg["state"] = state
        return self._drive(self._g_field(msg, "deleted", self._dl(timeout)))

    def shutdown(self, timeout_ms=None, timeout=...):
        """Ask the daemon to stop gracefully (timeout_ms for running
        jobs)."""
        msg = {"op": "shutdown"}
        if timeout_ms is not None:
            msg["timeout_ms"] = timeout_ms
        return self._drive(g_simple(msg, self._dl(timeout)))

    def request(self, msg, timeout=...):
        """Send one raw request (a dict; the token is added); the reply
        as a dict, error replies included (nothing is raised for them)."""
        return self._drive(self._g_raw(msg, self._dl(timeout)))

    def _g_raw(self, msg, dl):
        return (yield req(msg, dl))

    def _g_wait_jobs(self, jobs, return_when, dl):
        by_id = {}
        for j in jobs:
            by_id.setdefault(j.id, []).append(j)
        done, pending = yield from g_wait(list(by_id), return_when, dl)
        for jid, v in done.items():
            for j in by_id[jid]:
                j.view = v
        d = [j for j in jobs if j.id in done]
        p = [j for j in jobs if j.id not in done]
        return d, p
