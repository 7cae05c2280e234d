"""aiojobsd: a Python client of the aiojobsd job daemon.

Standard library only. Two faces over one core, speaking the daemon's
JSON protocol (docs/protocol.md) over its own SP transport (ipc://,
tcp://, tls+tcp://):

* Client: blocking calls with deadlines;
* AsyncClient: the same operations as coroutines, job handles that are
  awaitable, wait / as_completed / group in the manner of asyncio.

    import aiojobsd
    with aiojobsd.Client() as jobs:
        job = jobs.submit("exec", argv=["uname", "-a"], timeout=60)
        print(job.result()["stdout"])

    async with aiojobsd.AsyncClient() as jobs:
        jobs_ = [await jobs.submit("sleep", ms=100) for _ in range(3)]
        done, pending = await jobs.wait(jobs_, timeout=10)

Endpoints and the token follow aiojobctl's rules (--url, AIOJOBS_URL,
AIOJOBS_RUNDIR, ..., AIOJOBS_TOKEN, AIOJOBS_TOKEN_FILE). Every submitted
job carries an idempotency key, kept in its handle, so a request resent
after a lost reply or a daemon restart never makes a second job. Every
call has one deadline; a missing daemon is Unavailable within it.
Errors the daemon answers raise a subclass of Error named after their
code (BadRequest, NotFound, Conflict, ...).
"""

from ._async import AsyncClient, AsyncGroup, AsyncJob
from ._core import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, keyed,
                    spec)
from ._sync import Client, Event, Group, Job
from .errors import (BadRequest, Conflict, Error, Forbidden, Internal,
                     JobCancelled, JobFailed, NotDurable, NotFound,
                     QueueFull, ShuttingDown, Timeout, TooLarge,
                     Unauthorized, Unavailable, UnknownKind, UnknownOp,
                     WireFailure)

__version__ = "0.1.0"

__all__ = [
    "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION",
    "AsyncClient", "AsyncGroup", "AsyncJob", "BadRequest", "Client",
    "Conflict", "Error", "Event", "Forbidden", "Group", "Internal", "Job",
    "JobCancelled", "JobFailed", "NotDurable", "NotFound", "QueueFull",
    "ShuttingDown", "Timeout", "TooLarge", "Unauthorized", "Unavailable",
    "UnknownKind", "UnknownOp", "WireFailure", "keyed", "spec",
]
