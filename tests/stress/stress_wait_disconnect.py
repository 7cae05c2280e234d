"""Clients that go away while the daemon holds their wait (PROTOCOL.md 4:
a wait is held until its condition holds): round after round, REQ
sockets, a raw REQ socket and whole processes send `wait` on long jobs,
make sure the daemon holds it, and close or die.  Then the jobs finish
(one is cancelled, one exits) and the daemon answers the held waits into
the void.

What shows the held waits are released: the daemon holds at most 4096
requests and answers any more at once, as if timed out; the rounds
abandon more than that in all, so a wait that is still held at the end
proves the finished ones were freed.  Besides, the daemon's descriptors
and memory are the same from round to round, and under AddressSanitizer
its leak check at exit (a non-zero status fails the harness's Daemon)
finds nothing."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
import stresslib  # noqa: E402
import harness  # noqa: E402
from harness import Daemon, RawReqClient, ReqClient, check, eq  # noqa: E402

ROUNDS = 40
REQ_SOCKETS = 100           # per round, each abandons one wait
RAW_WAITS = 140             # per round, on one raw socket
PROCESSES = 2               # per round, each abandons SOCKETS_PER_PROCESS
SOCKETS_PER_PROCESS = 5
WAIT_MAX_HELD = 4096        # daemon/wait.c
PER_ROUND = REQ_SOCKETS + RAW_WAITS + PROCESSES * SOCKETS_PER_PROCESS
assert ROUNDS * PER_ROUND > WAIT_MAX_HELD + PER_ROUND

# A process that holds waits on several sockets, says "held" once the
# daemon has them (a ping on the same socket answered after the wait), then
# waits to be killed.
HOLDER = r"""
import json, sys, time
from harness import ReqClient
url, n, ids = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
socks = [ReqClient(url) for _ in range(n)]
for s in socks:
    s.send_bytes(json.dumps({"op": "wait", "ids": ids}).encode(), 5000)
    r = s.request({"op": "ping"})
    assert r["ok"] is True, r
print("held", flush=True)
time.sleep(60)
"""


def abandon_req(url, ids):
    """A REQ socket sends a wait and closes once the daemon holds it: a
    second request on the socket (REQ forgets the first) is answered after
    the daemon read the wait from the same pipe."""
    with ReqClient(url) as c:
        c.send_bytes(harness._encode({"op": "wait", "ids": ids}), 5000)
        r = c.request({"op": "ping"})
        check(r.get("ok") is True, "ping after a wait: %s", r)


def abandon_raw(url, ids, n):
    """n waits with request ids 1..n on one raw socket, then a ping (id
    n+1) whose reply shows the waits were read; nothing else may come
    back, since every wait is held."""
    with RawReqClient(url) as c:
        for i in range(1, n + 1):
            c.send_with_id({"op": "wait", "ids": ids}, i)
        c.send_with_id({"op": "ping"}, n + 1)
        r = c.recv_json(5000)
        check(r.get("ok") is True and "pid" in r,
              "a raw socket got %s, not the reply to its ping (a wait was "
              "answered early)", r)


def start_holders(url, ids):
    procs = []
    for _ in range(PROCESSES):
        procs.append(subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, str(SOCKETS_PER_PROCESS),
             json.dumps(ids)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, env=stresslib.subprocess_env()))
    return procs


def kill_holders(procs):
    for p in procs:
        line = p.stdout.readline()
        eq(line, b"held\n", "holder process said")
        p.kill()
        p.wait(timeout=10)
        p.stdout.close()


def fifo_job(fifo):
    """An exec job that runs until something opens fifo for writing and
    closes it."""
    return {"kind": "exec", "args": {"argv": ["sh", "-c", "cat < %s" % fifo]}}


def test_abandoned_waits_are_released():
    tmp = tempfile.mkdtemp(prefix="ajwait", dir="/tmp")
    try:
        # no CPU workers: they connect to the daemon when they are ready,
        # in the middle of the descriptor count
        with Daemon("--workers", 0) as d:
            _rounds(d, tmp)
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


def settled_fds(d, most):
    """The daemon's descriptor count once it is at most `most` (the
    connections of clients that just left close asynchronously), or what
    it still is after 5 s."""
    deadline = time.monotonic() + 5
    while True:
        n = stresslib.fd_count(d.pid)
        if n <= most or time.monotonic() > deadline:
            return n
        time.sleep(0.01)


def _rounds(d, tmp):
    fds = []
    rss = []
    d.ok({"op": "ping"})
    fds0 = stresslib.fd_count(d.pid)
    t0 = time.monotonic()
    for rnd in range(ROUNDS):
        fifo = os.path.join(tmp, "f%d" % rnd)
        os.mkfifo(fifo)
        long_id = d.submit_sleep(600000)
        exec_id = d.submit(fifo_job(fifo))
        d.wait_state(exec_id, "running")
        ids = [long_id, exec_id]
        procs = start_holders(d.url, ids)
        try:
            for _ in range(REQ_SOCKETS):
                abandon_req(d.url, ids)
            abandon_raw(d.url, ids, RAW_WAITS)
        finally:
            kill_holders(procs)
        # the jobs finish: one is cancelled, one ends by itself
        eq(d.ok({"op": "cancel", "id": long_id})["job"]["state"],
           "cancelled", "cancelled long job")
        with open(fifo, "w"):
            pass
        v = d.wait_ids([exec_id], timeout_s=10)["done"][0]
        eq(v["state"], "succeeded", "exec job %d (%s)" % (exec_id, v))
        os.unlink(fifo)
        d.ok({"op": "ping"})
        fds.append(settled_fds(d, fds0))
        rss.append(stresslib.rss_kib(d.pid))
    print("  %d waits abandoned in %d rounds in %.1f s; daemon fds %d, "
          "after each round %s; RSS %d -> %d KiB"
          % (ROUNDS * PER_ROUND, ROUNDS, time.monotonic() - t0, fds0, fds,
             rss[0], rss[-1]))
    # descriptors: back to where they were before the rounds, every time
    check(max(fds) <= fds0, "daemon descriptors after each round: %s "
          "(%d before)", fds, fds0)
    q = ROUNDS // 4
    harness.check_memory(rss[-1] - rss[q] < 4 * 1024, "daemon RSS grew from "
                         "%d to %d KiB over %d rounds", rss[q], rss[-1],
                         ROUNDS - q)

    # more waits than the daemon holds were abandoned: a new one is still
    # held (answered when its timeout passes, not at once)
    long_id = d.submit_sleep(600000)
    t1 = time.monotonic()
    r = d.ok({"op": "wait", "ids": [long_id], "timeout_ms": 500})
    took = time.monotonic() - t1
    eq(r["pending"], [long_id], "pending of a wait that timed out")
    check(took >= 0.45, "a wait with timeout_ms 500 was answered after "
          "%.3f s: is the daemon still holding the abandoned waits?", took)
    d.ok({"op": "cancel", "id": long_id})
    # and it still works
    jid = d.submit_sleep(10)
    eq(d.wait_ids([jid], timeout_s=10)["done"][0]["state"], "succeeded",
       "sleep job after the rounds")


if __name__ == "__main__":
    harness.main()
