"""Exceptions of the aiojobsd client.

Every error the daemon answers is an Error whose class is named after
its code (protocol.md section 2): BadRequest for bad_request, NotFound
for not_found, and so on. Failures of the client itself (no daemon, a
deadline passed, a broken connection) are Unavailable and Timeout. A job
that ends badly is JobFailed or JobCancelled when its handle is awaited.
"""


class Error(Exception):
    """Base of every aiojobsd error: .code (the protocol's error code, or
    the client's own: unavailable, timeout, wire) and .message."""

    code = "error"

    def __init__(self, message, code=None, reply=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.reply = reply

    def __str__(self):
        return "%s: %s" % (self.code, self.message)


class BadRequest(Error):
    """bad_request: the request is malformed; the message names the field."""
    code = "bad_request"


class UnknownOp(Error):
    """unknown_op: the daemon has no such operation."""
    code = "unknown_op"


class UnknownKind(Error):
    """unknown_kind: the daemon has no such kind of job."""
    code = "unknown_kind"


class NotFound(Error):
    """not_found: no job has that id (or an after id)."""
    code = "not_found"


class QueueFull(Error):
    """queue_full: the daemon holds its pending_limit of jobs; retry later."""
    code = "queue_full"


class ShuttingDown(Error):
    """shutting_down: the daemon is stopping and takes no submit."""
    code = "shutting_down"


class TooLarge(Error):
    """too_large: the request is over max_request_bytes."""
    code = "too_large"


class Unauthorized(Error):
    """unauthorized: the token is missing or wrong."""
    code = "unauthorized"


class Forbidden(Error):
    """forbidden: the endpoint or the user may not do this."""
    code = "forbidden"


class Conflict(Error):
    """conflict: a key names a job with another spec, or a task group
    has already failed."""
    code = "conflict"


class Internal(Error):
    """internal: the daemon failed; the message says why."""
    code = "internal"


class NotDurable(Error):
    """not_durable: the jobs exist but the store could not write them.
    The client resends the submit with the same keys until it is ok;
    this is raised only when the call's deadline passes first.
    .jobs lists {"id", "key"} of the jobs in memory only."""
    code = "not_durable"

    @property
    def jobs(self):
        """{"id", "key"} of each job of the submit in memory only."""
        return ((self.reply or {}).get("error") or {}).get("jobs", [])


class Unavailable(Error, ConnectionError):
    """The daemon could not be reached (or kept hanging up) within the
    call's deadline."""
    code = "unavailable"


class Timeout(Error, TimeoutError):
    """The call's deadline passed before the daemon answered."""
    code = "timeout"


class WireFailure(Error):
    """The peer does not speak SP as the daemon does (a wrong header)."""
    code = "wire"


class JobFailed(Error):
    """A job ended failed: .code and .message are the job's error
    (exit_status, timeout, spawn_failed, ...), .job its final view."""

    def __init__(self, job):
        err = job.get("error") or {}
        super().__init__(err.get("message", "job %s failed" % job.get("id")),
                         err.get("code", "failed"))
        self.job = job


class JobCancelled(Error):
    """A job ended cancelled: .message says by whom, .job is its view."""

    code = "cancelled"

    def __init__(self, job):
        err = job.get("error") or {}
        super().__init__(err.get("message", "job %s cancelled"
                                 % job.get("id")), "cancelled")
        self.job = job


_BY_CODE = {cls.code: cls for cls in (
    BadRequest, UnknownOp, UnknownKind, NotFound, QueueFull, ShuttingDown,
    TooLarge, Unauthorized, Forbidden, Conflict, Internal, NotDurable)}


def from_reply(reply):
    """The exception for an error reply {"ok": false, "error": {...}}."""
    err = reply.get("error") or {}
    code = err.get("code", "internal")
    cls = _BY_CODE.get(code, Error)
    return cls(err.get("message", "(no message)"), code, reply)


def job_error(view):
    """JobFailed or JobCancelled for a final view that did not succeed,
    None for one that did."""
    if view["state"] == "failed":
        return JobFailed(view)
    if view["state"] == "cancelled":
        return JobCancelled(view)
    return None
