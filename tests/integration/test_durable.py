"""Durable jobs (PROTOCOL.md 6): the SQLite store under --state-dir, crash
recovery after kill -9, finished jobs read back from the store, a store
that cannot write (disk full), damaged and newer databases, memory with
many queued jobs, retention and the clean op, --durability safe|fast.

A test that needs something the machine may not allow (mounting a tmpfs)
prints "SKIP: ..." and passes."""

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, expect_error,  # noqa: E402
                     poll_until, run_daemon_expect_exit)
from test_metrics import hist_count, metrics_daemon, scrape  # noqa: E402

LONG = 10 * 60 * 1000       # a delay that never passes during a test


def exec_spec(script, **fields):
    spec = {"kind": "exec", "args": {"argv": ["sh", "-c", script]}}
    spec.update(fields)
    return spec


def new_state_dir():
    return tempfile.mkdtemp(prefix="ajstate", dir="/tmp")


def submit_batch(d, specs, group=False, client=None):
    msg = {"op": "submit", "jobs": specs}
    if group:
        msg["group"] = True
    r = (client.request(msg, timeout_ms=30000) if client is not None
         else d.request(msg, timeout_ms=30000))
    check(r.get("ok") is True, "batch submit not ok: %s", r)
    eq(len(r["ids"]), len(specs), "ids of a batch")
    return r["ids"]


def submit_many(d, specs, per=200):
    ids = []
    with ReqClient(d.url) as c:
        for i in range(0, len(specs), per):
            ids += submit_batch(d, specs[i:i + per], client=c)
    return ids


def list_all(d, **filters):
    """Every job the daemon knows, by id (pages of list)."""
    out = {}
    msg = {"op": "list", "limit": 10000}
    msg.update(filters)
    with ReqClient(d.url, rcvmaxsize=-1) as c:
        while True:
            r = c.request(msg, timeout_ms=60000)
            check(r.get("ok") is True, "list not ok: %s", r)
            out.update((v["id"], v) for v in r["jobs"])
            # a page ends at the limit, or sooner at 1 MiB with a cursor
            if r.get("next_before_id") is not None:
                msg["before_id"] = r["next_before_id"]
            elif len(r["jobs"]) < 10000:
                return out
            else:
                msg["before_id"] = min(v["id"] for v in r["jobs"])


def wait_done(d, ids, timeout_s=30.0):
    """Final views (with results) of ids, by id."""
    out = {}
    with ReqClient(d.url, rcvmaxsize=-1) as c:
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            deadline = time.monotonic() + timeout_s
            while True:
                left = int((deadline - time.monotonic()) * 1000)
                check(left > 0, "jobs %s not done in %.0f s", part[:10],
                      timeout_s)
                r = c.request({"op": "wait", "ids": part,
                               "timeout_ms": left}, timeout_ms=left + 5000)
                check(r.get("ok") is True, "wait not ok: %s", r)
                if not r["pending"]:
                    break
            for v in r["done"]:
                out[v["id"]] = v
    return out


def stats(d):
    return d.ok({"op": "stats"})["jobs"]


def proc_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def expect_not_found(d, job_id):
    expect_error(d.request({"op": "status", "id": job_id}), "not_found")


# ---------------------------------------------------------------------------
# kill -9 with 1,000 jobs of every sort
# ---------------------------------------------------------------------------


class Mix:
    """1,000 jobs in known states, and what each should be after a crash."""

    def __init__(self):
        self.ids = {}            # category -> [ids]
        self.specs = {}          # id -> spec as submitted
        self.keyed = []          # ids submitted with a key

    def add(self, cat, ids, specs):
        self.ids.setdefault(cat, []).extend(ids)
        for i, s in zip(ids, specs):
            self.specs[i] = s
            if "key" in s:
                self.keyed.append(i)

    def all(self):
        return sorted(self.specs)


def build_mix(d, rng):
    m = Mix()
    d.ok({"op": "queue", "name": "held", "action": "pause"})
    gate_specs = [sleep_spec(0, delay_ms=60000, name="gate%d" % i)
                  for i in range(3)]
    gates = submit_batch(d, gate_specs)
    m.add("delayed", gates, gate_specs)
    g_held, g_chain, g_group = gates
    # queued: a paused queue, and a dependency on a delayed gate so they
    # stay queued after the restart too
    held = []
    for i in range(600):
        s = sleep_spec(60000, queue="held", priority=rng.randint(-5, 5),
                       after=[g_held], name="held-%d" % i)
        if i % 6 == 0:
            s["key"] = "held-key-%d" % i
        held.append(s)
    m.add("held", submit_many(d, held), held)
    delayed = []
    for i in range(97):
        s = sleep_spec(1000, delay_ms=60000 + i, priority=i % 3)
        if i % 5 == 0:
            s["key"] = "delayed-key-%d" % i
        delayed.append(s)
    m.add("delayed", submit_many(d, delayed), delayed)
    # a dependency chain behind a gate
    prev = g_chain
    for i in range(5):
        s = sleep_spec(0, queue="chain", after=[prev], name="chain-%d" % i)
        prev = d.submit(s)
        m.add("chain", [prev], [s])
    # a task group: m0 fails once its gate is cancelled, which must cancel
    # the two others
    grp = [sleep_spec(0, queue="grp", after=[g_group]),
           sleep_spec(60000, queue="grp", delay_ms=60000),
           sleep_spec(60000, queue="grp", delay_ms=60000)]
    m.add("group", submit_batch(d, grp, group=True), grp)
    # running: 10 without retries, 10 with one retry
    for i in range(20):
        s = sleep_spec(60000, queue="run", name="run-%d" % i)
        if i % 2:
            s["retries"] = 1
            s["retry_backoff_ms"] = 100
        if i % 4 == 0:
            s["key"] = "run-key-%d" % i
        m.add("retry" if i % 2 else "interrupted", [d.submit(s)], [s])
    # finished: sleep 0 and exec with output
    fin = []
    for i in range(1000 - len(m.specs) - 20):
        s = sleep_spec(0, queue="fast", name="fast-%d" % i)
        if i % 10 == 0:
            s["key"] = "fast-key-%d" % i
        fin.append(s)
    m.add("finished", submit_many(d, fin), fin)
    ex = [exec_spec("echo out-%d; echo err-%d >&2" % (i, i), queue="fast")
          for i in range(20)]
    m.add("exec", submit_batch(d, ex), ex)
    eq(len(m.specs), 1000, "jobs in the mix")
    return m


def check_mix_before(d, m):
    wait_done(d, m.ids["finished"] + m.ids["exec"])
    running = m.ids["interrupted"] + m.ids["retry"]
    poll_until(lambda: all(d.status(i)["state"] == "running"
                           for i in running), 10, 0.05,
               "the 20 long jobs running")
    views = list_all(d)
    for i in m.all():
        check(i in views, "job %d missing before the crash", i)
    for i in m.ids["held"] + m.ids["delayed"] + m.ids["chain"]:
        eq(views[i]["state"], "queued", "job %d before the crash" % i)
    return views


def check_mix_after(d, m, before, results):
    views = list_all(d)
    for i in m.all():
        check(i in views, "acknowledged job %d lost in the crash", i)
        v, b = views[i], before[i]
        for f in ("kind", "name", "queue", "priority", "submitted_at",
                  "args"):
            eq(v[f], b[f], "job %d field %s after restart" % (i, f))
    for i in m.ids["held"] + m.ids["chain"]:
        eq(views[i]["state"], "queued", "job %d (held) after restart" % i)
        check(views[i]["waiting_for"] in ("dependency", "paused"),
              "job %d waits for %r", i, views[i]["waiting_for"])
    for i in m.ids["delayed"]:
        eq(views[i]["state"], "queued", "delayed job %d after restart" % i)
        eq(views[i]["waiting_for"], "delay", "delayed job %d waits for" % i)
    for i in m.ids["group"][1:]:
        eq(views[i]["waiting_for"], "delay", "group job %d waits for" % i)
    for i in m.ids["interrupted"]:
        v = d.status(i)
        eq(v["state"], "failed", "job %d running at the crash" % i)
        eq((v["error"] or {}).get("code"), "interrupted",
           "error of job %d running at the crash" % i)
        eq(v["attempts"], 1, "attempts of interrupted job %d" % i)
        check(v["finished_at"] is not None, "interrupted job without end")
    for i in m.ids["retry"]:
        v = d.wait_state(i, "running", timeout_s=10)
        eq(v["attempts"], 2, "attempts of job %d retried after the crash" % i)
    done = wait_done(d, m.ids["finished"] + m.ids["exec"])
    for i, v in done.items():
        for f in ("state", "result", "error", "attempts", "started_at",
                  "finished_at"):
            eq(v[f], results[i][f], "finished job %d field %s" % (i, f))
    return views


def check_mix_keys(d, m, max_old):
    for i in m.keyed:
        spec = m.specs[i]
        eq(d.submit(spec), i, "same key and spec after restart (job %d)" % i)
        other = dict(spec, priority=spec.get("priority", 0) + 100)
        expect_error(d.request({"op": "submit", "job": other}), "conflict")
    fresh = submit_batch(d, [sleep_spec(0, delay_ms=LONG)] * 3)
    fresh.append(d.submit_sleep(0, delay_ms=LONG))
    check(min(fresh) > max_old, "new ids %s not above the old ones (max %d)",
          fresh, max_old)


def check_mix_deps(d, m):
    gates = m.ids["delayed"][:3]
    # the chain fails down from its gate; the group cancels its members
    d.ok({"op": "cancel", "id": gates[1]})
    for i in m.ids["chain"]:
        v = d.wait_state(i, "failed")
        eq(v["error"]["code"], "dependency_failed", "chain job %d" % i)
        eq(v["attempts"], 0, "attempts of chain job %d" % i)
    d.ok({"op": "cancel", "id": gates[2]})
    g = m.ids["group"]
    eq(d.wait_state(g[0], "failed")["error"]["code"], "dependency_failed",
       "group member behind the gate")
    for i in g[1:]:
        v = d.wait_state(i, "cancelled")
        check("group member" in v["error"]["message"],
              "group member %d cancelled by %r", i, v["error"]["message"])


def test_kill9_restart_keeps_every_job():
    rng = random.Random(1)
    sd = new_state_dir()
    try:
        d1 = Daemon(state_dir=sd, expect_exit=None)
        with d1:
            m = build_mix(d1, rng)
            before = check_mix_before(d1, m)
            results = wait_done(d1, m.ids["finished"] + m.ids["exec"])
            counts = stats(d1)
            d1.kill()
        with Daemon("--shutdown-timeout", "100ms", state_dir=sd) as d2:
            check_mix_after(d2, m, before, results)
            c = stats(d2)
            nfin = len(m.ids["finished"]) + len(m.ids["exec"])
            eq(c["succeeded"], counts["succeeded"], "succeeded after restart")
            eq(c["succeeded"], nfin, "succeeded jobs")
            eq(c["failed"], len(m.ids["interrupted"]), "failed (interrupted)")
            eq(c["running"], len(m.ids["retry"]), "running (retried)")
            eq(c["queued"], len(m.ids["held"]) + len(m.ids["delayed"]) +
               len(m.ids["chain"]) + len(m.ids["group"]), "queued")
            eq(c["cancelled"], 0, "cancelled")
            print("  after kill -9: %s" % json.dumps(c, sort_keys=True))
            check_mix_keys(d2, m, max(m.all()))
            rc, out, err = d2.ctl("logs", m.ids["exec"][7])
            eq((rc, out, err), (0, "out-7\n", "err-7\n"),
               "aiojobctl logs of an exec job after the crash")
            check_mix_deps(d2, m)
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def test_kill9_interrupted_job_fails_its_dependents_and_group():
    """A job failed as interrupted at restart is a failure like any other:
    jobs after it fail with dependency_failed, and the other members of
    its task group are cancelled."""
    sd = new_state_dir()
    try:
        d1 = Daemon(state_dir=sd, expect_exit=None)
        with d1:
            g = submit_batch(d1, [sleep_spec(60000),
                                  sleep_spec(60000, delay_ms=60000),
                                  sleep_spec(0, delay_ms=60000)], group=True)
            a = d1.submit_sleep(60000)
            b = d1.submit_sleep(0, after=[a])
            d1.wait_state(g[0], "running")
            d1.wait_state(a, "running")
            d1.kill()
        with Daemon("--shutdown-timeout", "100ms", state_dir=sd) as d2:
            for i in (g[0], a):
                eq(d2.status(i)["error"]["code"], "interrupted",
                   "job %d running at the crash" % i)
            eq(d2.wait_state(b, "failed")["error"]["code"],
               "dependency_failed", "job after an interrupted one")
            for i in g[1:]:
                v = d2.wait_state(i, ("cancelled", "failed"), timeout_s=3)
                eq(v["state"], "cancelled", "group member %d" % i)
                check("group member %d" % g[0] in v["error"]["message"],
                      "group member %d cancelled by %r", i,
                      v["error"]["message"])
    finally:
        shutil.rmtree(sd, ignore_errors=True)


# ---------------------------------------------------------------------------
# kill -9 at a random moment while a client submits
# ---------------------------------------------------------------------------


class Submitter(threading.Thread):
    """Submits in a loop (singles and batches of 10) until the daemon
    stops answering; keeps the ids it got an ok for."""

    def __init__(self, url, tag):
        super().__init__(daemon=True)
        self.url = url
        self.tag = tag
        self.acked = []
        self.errors = []
        self.requests = 0

    def run(self):
        c = ReqClient(self.url)
        try:
            i = 0
            while True:
                spec = sleep_spec(0, queue="rk", delay_ms=LONG)
                if i % 4 == 3:
                    specs = [dict(spec, key="%s-%d-%d" % (self.tag, i, k))
                             for k in range(10)]
                    msg = {"op": "submit", "jobs": specs}
                elif i % 4 == 1:
                    msg = {"op": "submit",
                           "job": dict(spec, key="%s-%d" % (self.tag, i))}
                else:
                    msg = {"op": "submit", "job": spec}
                i += 1
                try:
                    r = c.request(msg, timeout_ms=1500)
                except (TimeoutError, OSError):
                    return
                self.requests += 1
                if r.get("ok") is not True:
                    self.errors.append(r)
                    return
                self.acked += r["ids"] if "ids" in r else [r["id"]]
        finally:
            c.close()


def test_kill9_at_random_moments():
    rng = random.Random()
    sd = new_state_dir()
    acked = set()
    max_seen = 0
    try:
        for rnd in range(20):
            t0 = time.monotonic()
            d = Daemon(state_dir=sd, expect_exit=None)
            with d:
                views = list_all(d, queue="rk")
                missing = acked - set(views)
                check(not missing, "round %d: %d acknowledged jobs lost, "
                      "e.g. %s", rnd, len(missing), sorted(missing)[:10])
                eq(stats(d)["queued"], len(views), "queued after restart")
                if views:
                    max_seen = max(max_seen, max(views))
                sub = Submitter(d.url, "r%d-%d" % (rnd, os.getpid()))
                sub.start()
                delay = rng.uniform(0.05, 0.5)
                time.sleep(delay)
                d.kill()
                sub.join(10)
                check(not sub.is_alive(), "round %d: submitter stuck", rnd)
                check(not sub.errors, "round %d: submit errors: %s", rnd,
                      sub.errors[:3])
                check(sub.requests > 0 or delay < 0.1,
                      "round %d: no submit answered in %.0f ms", rnd,
                      delay * 1000)
                if sub.acked:
                    check(min(sub.acked) > max_seen, "round %d: id %d not "
                          "above the ids before the crash (%d)", rnd,
                          min(sub.acked), max_seen)
                acked.update(sub.acked)
            check(time.monotonic() - t0 < 30, "round %d took %.0f s", rnd,
                  time.monotonic() - t0)
        with Daemon(state_dir=sd) as d:
            views = list_all(d, queue="rk")
            missing = acked - set(views)
            check(not missing, "%d acknowledged jobs lost, e.g. %s",
                  len(missing), sorted(missing)[:10])
            print("  %d jobs acknowledged over 20 crashes, all kept"
                  % len(acked))
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def test_kill9_while_many_clients_submit():
    """16 clients submit at once, so their submits share commits; a kill -9
    soon after the first replies loses none of the jobs any client was
    told of, whichever commit carried it."""
    sd = new_state_dir()
    acked = set()
    try:
        for rnd in range(3):
            d = Daemon(state_dir=sd, expect_exit=None)
            with d:
                views = list_all(d, queue="rk")
                missing = acked - set(views)
                check(not missing, "round %d: %d acknowledged jobs lost, "
                      "e.g. %s", rnd, len(missing), sorted(missing)[:10])
                subs = [Submitter(d.url, "c%d-%d-%d" % (rnd, i, os.getpid()))
                        for i in range(16)]
                for sub in subs:
                    sub.start()
                poll_until(lambda: sum(len(s.acked) for s in subs) >= 300
                           or any(s.errors for s in subs), 30, 0.001,
                           "300 jobs acknowledged")
                d.kill()
                for sub in subs:
                    sub.join(10)
                    check(not sub.is_alive(), "round %d: submitter stuck",
                          rnd)
                    check(not sub.errors, "round %d: submit errors: %s", rnd,
                          sub.errors[:3])
                    acked.update(sub.acked)
        with Daemon(state_dir=sd) as d:
            missing = acked - set(list_all(d, queue="rk"))
            check(not missing, "%d acknowledged jobs lost, e.g. %s",
                  len(missing), sorted(missing)[:10])
            print("  %d jobs acknowledged to 16 clients over 3 crashes, all "
                  "kept" % len(acked))
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def raw_request(s, rid, msg):
    """Send msg over a plain ipc socket speaking REQ: one frame."""
    body = struct.pack(">I", 0x80000000 | rid) + json.dumps(msg).encode()
    s.sendall(b"\x01" + struct.pack(">Q", len(body)) + body)


def raw_reply(s):
    """The next reply on a plain ipc socket: (request id, decoded body)."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            check(chunk, "the daemon closed a connection")
            data += chunk
        return data
    head = exact(9)
    eq(head[0], 1, "frame type")
    body = exact(struct.unpack(">Q", head[1:])[0])
    return struct.unpack(">I", body[:4])[0] & 0x7fffffff, json.loads(body[4:])


def raw_connect(path):
    """A plain socket on the control endpoint that has done the SP
    handshake as a REQ peer, and one ping, so the daemon has read it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"\x00SP\x00\x00\x30\x00\x00")
    raw_request(s, 1, {"op": "ping"})
    s.recv(8)      # the daemon's header, then the pong
    eq(raw_reply(s)[1].get("ok"), True, "ping")
    return s


def stopped(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def test_submits_read_together_share_one_commit():
    """Submits that wait in the daemon's sockets together are answered
    after one commit for all of them, not one commit each: 16 clients'
    submits, sent while the daemon is stopped (SIGSTOP), are all there
    when it goes on; every one is answered ok after at most two commits
    (a retention sweep may commit once in between), where a commit a
    submit would make 16."""
    commits = "aiojobsd_store_commit_duration_seconds"
    with metrics_daemon() as d:
        socks = [raw_connect(d.sock_path) for _ in range(16)]
        try:
            before = hist_count(scrape(d.metrics_port), commits)
            d.signal(signal.SIGSTOP)
            try:
                poll_until(lambda: stopped(d.pid), 10, 0.001, "stopped")
                for i, s in enumerate(socks):
                    raw_request(s, 2, {"op": "submit", "job": sleep_spec(
                        0, queue="gc", delay_ms=LONG, key="gc-%d" % i)})
            finally:
                d.signal(signal.SIGCONT)
            ids = set()
            for s in socks:
                rid, r = raw_reply(s)
                eq((rid, r.get("ok")), (2, True), "submit reply %s" % r)
                ids.add(r["id"])
            eq(len(ids), 16, "distinct jobs")
            after = hist_count(scrape(d.metrics_port), commits)
            check(1 <= after - before <= 2, "16 submits read together took "
                  "%d commits", after - before)
        finally:
            for s in socks:
                s.close()


# ---------------------------------------------------------------------------
# finished jobs: out of memory, still queryable
# ---------------------------------------------------------------------------


def check_finished_views(d, ids, exec_id, what):
    done = wait_done(d, ids + [exec_id])
    for i in ids:
        eq(done[i]["state"], "succeeded", "%s: state of job %d" % (what, i))
        check(done[i]["result"]["slept_ms"] >= 5, "%s: result of job %d: %s",
              what, i, done[i]["result"])
    r = done[exec_id]["result"]
    eq((r["stdout"], r["stderr"], r["exit_code"]), ("hello\n", "oops\n", 0),
       "%s: exec result" % what)
    eq(d.status(ids[3])["result"], done[ids[3]]["result"],
       "%s: status result" % what)
    views = list_all(d, state="succeeded")
    for i in ids + [exec_id]:
        check(i in views, "%s: job %d not listed", what, i)
        check("result" not in views[i], "%s: list carries results", what)
    rc, out, err = d.ctl("logs", exec_id)
    eq((rc, out, err), (0, "hello\n", "oops\n"), "%s: aiojobctl logs" % what)
    rc, out, err = d.ctl("wait", *ids[:5])
    eq(rc, 0, "%s: aiojobctl wait on finished jobs (%s)" % (what, err))
    # a wait mixing finished jobs and a pending one
    q = d.submit_sleep(0, delay_ms=LONG)
    r = d.ok({"op": "wait", "ids": ids[:3] + [q], "timeout_ms": 0})
    eq([v["id"] for v in r["done"]], ids[:3], "%s: done of a mixed wait" % what)
    eq(r["pending"], [q], "%s: pending of a mixed wait" % what)
    eq(r["done"][0]["result"], done[ids[0]]["result"], "%s: wait result" % what)


def test_finished_jobs_read_back_from_store():
    sd = new_state_dir()
    try:
        with Daemon(state_dir=sd) as d:
            ids = submit_batch(d, [sleep_spec(5, name="f%d" % i)
                                   for i in range(20)])
            x = d.submit(exec_spec("echo hello; echo oops >&2"))
            check_finished_views(d, ids, x, "same daemon")
            # many finished jobs do not pile up in memory
            pad = "p" * 250
            with ReqClient(d.url) as c:
                submit_batch(d, [sleep_spec(0, name=pad)] * 1000, client=c)
                time.sleep(0.5)
                rss0 = proc_kib(d.pid, "VmRSS")
                last = []
                for _ in range(30):
                    last = submit_batch(d, [sleep_spec(0, name=pad)] * 1000,
                                        client=c)
                wait_done(d, last)
            rss1 = proc_kib(d.pid, "VmRSS")
            print("  VmRSS %d KiB -> %d KiB over 30,000 finished jobs"
                  % (rss0, rss1))
            harness.check_memory(rss1 - rss0 < 12 * 1024, "RSS grew by %d KiB over 30,000 "
                  "finished jobs: are they kept in memory?", rss1 - rss0)
            eq(stats(d)["succeeded"], 31021, "succeeded count")
        with Daemon(state_dir=sd) as d:
            check_finished_views(d, ids, x, "after restart")
            eq(stats(d)["succeeded"], 31021, "succeeded count after restart")
    finally:
        shutil.rmtree(sd, ignore_errors=True)


# ---------------------------------------------------------------------------
# a full disk
# ---------------------------------------------------------------------------


def fill(path):
    """Write zeros to path until the file system is full."""
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=64k"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)


def submit_until_refused(d, keys):
    """Submit keyed jobs until one is not answered ok; returns (acked ids,
    the refused spec, the error)."""
    acked = []
    deadline = time.monotonic() + 60
    with ReqClient(d.url) as c:
        while time.monotonic() < deadline:
            spec = sleep_spec(0, delay_ms=LONG, name="n" * 200,
                              key="full-%d" % next(keys))
            r = c.request({"op": "submit", "job": spec}, timeout_ms=10000)
            if r.get("ok") is True:
                acked.append(r["id"])
                continue
            return acked, spec, r
    raise AssertionError("submits kept succeeding on a full disk")


def test_disk_full():
    fs = harness.small_tmpfs("test_disk_full")
    if fs is None:
        return
    top, mnt = fs
    keys = iter(range(10 ** 9))
    try:
        with Daemon(state_dir=mnt, expect_exit=None) as d:
            early = submit_batch(d, [sleep_spec(0, delay_ms=LONG)] * 20)
            done = d.submit_sleep(0)
            d.wait_ids([done])
            fill(os.path.join(mnt, "filler"))
            acked, refused, r = submit_until_refused(d, keys)
            expect_error(r, "not_durable", ["store", "jobs.db"])
            eq(r["error"]["jobs"], [{"id": r["id"], "key": refused["key"]}],
               "the job of a not_durable reply")
            print("  disk full after %d more submits: %s"
                  % (len(acked), r["error"]["message"]))
            for i in early + acked[-5:]:
                eq(d.status(i)["state"], "queued", "job %d on a full disk" % i)
            eq(d.status(done)["state"], "succeeded", "finished job")
            r2 = d.request({"op": "submit", "job": sleep_spec(0)},
                           timeout_ms=10000)
            expect_error(r2, "not_durable")
            eq(r2["error"]["jobs"], [{"id": r2["id"], "key": None}],
               "a job without a key in a not_durable reply")
            dup = sleep_spec(0, delay_ms=LONG, key="twice")
            r4 = d.request({"op": "submit", "jobs": [dup, dup]},
                           timeout_ms=10000)
            expect_error(r4, "not_durable")
            eq(len(set(r4["ids"])), 1, "one job for a key given twice")
            eq(r4["error"]["jobs"], [{"id": r4["ids"][0], "key": "twice"}],
               "a key given twice in a batch, in a not_durable reply")
            os.unlink(os.path.join(mnt, "filler"))
            t0 = time.monotonic()

            def ok_again():
                r = d.request({"op": "submit", "job": refused},
                              timeout_ms=10000)
                return r if r.get("ok") is True else None
            r3 = poll_until(ok_again, 10, 0.2, "submits ok after freeing")
            print("  submits ok again %.1f s after freeing the disk"
                  % (time.monotonic() - t0))
            acked.append(r3["id"])
            acked.append(d.submit_sleep(0, delay_ms=LONG))
            eq(r3["id"], r["id"], "the refused key, resubmitted")
            eq(d.submit(refused), r3["id"], "the refused key, resubmitted")
            d.kill()
        with Daemon(state_dir=mnt) as d:
            for i in early + acked:
                eq(d.status(i)["state"], "queued",
                   "acknowledged job %d after the full disk and a crash" % i)
            check(d.status(r2["id"]) is not None, "the keyless job exists")
            eq(d.status(done)["state"], "succeeded", "finished job")
    finally:
        release_tmpfs(top, mnt)


def release_tmpfs(top, mnt):
    """Unmount a small_tmpfs (a daemon just gone may still hold it)."""
    for _ in range(50):
        if subprocess.run(["umount", mnt], capture_output=True
                          ).returncode == 0:
            break
        time.sleep(0.1)
    else:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    shutil.rmtree(top, ignore_errors=True)


def store_fails(d, tag):
    """Submit keyed jobs until the store cannot write; returns the ids of
    every job submitted (each reply, ok or not_durable, names its id)."""
    told = []
    keys = iter(range(10 ** 9))
    deadline = time.monotonic() + 60
    with ReqClient(d.url) as c:
        while time.monotonic() < deadline:
            spec = sleep_spec(0, delay_ms=LONG, name=tag + "n" * 200,
                              key="%s-%d" % (tag, next(keys)))
            r = c.request({"op": "submit", "job": spec}, timeout_ms=10000)
            if r.get("ok") is not True:
                expect_error(r, "not_durable", ["store"])
            told.append(r["id"])
            if r.get("ok") is not True:
                return told
    raise AssertionError("submits kept succeeding on a full disk")


def ctl_submit(d, args, stdin=None):
    """One aiojobctl submit: (exit status, ids it printed, {id: key} of
    the jobs it could not confirm on disk)."""
    rc, out, err = d.ctl("submit", "--durable-wait", "1500ms", *args,
                         input=stdin, timeout=60)
    check(rc in (0, 5), "aiojobctl submit %s: exit %d\n%s%s", args, rc,
          out, err)
    ids = [int(x) for x in out.split()]
    unconfirmed = {}
    for line in err.splitlines():
        if "could not be confirmed on disk" in line:
            w = line.split()
            unconfirmed[int(w[w.index("job") + 1])] = \
                w[w.index("(key") + 1].rstrip(")")
    eq(rc == 5, len(unconfirmed) > 0, "exit 5 names unconfirmed jobs:\n" +
       err)
    check(set(unconfirmed) <= set(ids), "unconfirmed jobs %s not among "
          "the ids printed %s", sorted(unconfirmed), ids)
    return rc, ids, unconfirmed


def test_disk_full_cli_jobs_are_the_jobs_told():
    """On a full disk, 200 jobs submitted by concurrent aiojobctl runs
    (single jobs and batches) that resend for a short while: the jobs that
    exist after the disk is freed and the daemon restarted are exactly
    those aiojobctl printed, no copy from a resend, none missing."""
    fs = harness.small_tmpfs("test_disk_full_cli_jobs_are_the_jobs_told")
    if fs is None:
        return
    top, mnt = fs
    tag = "cli"
    try:
        with Daemon(state_dir=mnt, expect_exit=None) as d:
            fill(os.path.join(mnt, "filler"))
            told = store_fails(d, tag)
            runs = [["--delay", "10m", "--name", tag, "sleep", "0"]] * 40
            batch = json.dumps([sleep_spec(0, delay_ms=LONG, name=tag)] * 10)
            runs += [["--file", "-"]] * 16
            results = [None] * len(runs)

            def run(i):
                stdin = batch if runs[i][0] == "--file" else None
                results[i] = ctl_submit(d, runs[i], stdin)
            threads = [threading.Thread(target=run, args=(i,))
                       for i in range(len(runs))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            check(all(r is not None for r in results), "an aiojobctl run "
                  "did not finish")
            printed = [i for r in results for i in r[1]]
            eq(len(printed), 200, "ids printed by aiojobctl")
            eq(len(set(printed)), 200, "distinct ids printed")
            check(any(r[0] == 5 for r in results), "no aiojobctl run met "
                  "the full disk: %s", [r[0] for r in results])
            unconfirmed = {}
            for r in results:
                unconfirmed.update(r[2])
            print("  %d of %d aiojobctl runs exited 5, %d jobs unconfirmed"
                  % (sum(r[0] == 5 for r in results), len(runs),
                     len(unconfirmed)))
            told += printed
            # one more run resends until the disk is freed under it: then
            # it is answered ok, and its resends made no second job
            late = []
            t = threading.Thread(target=lambda: late.append(ctl_submit(
                d, ["--durable-wait", "60s", "--delay", "10m", "--name",
                    tag + "-late", "sleep", "0"])))
            t.start()
            poll_until(lambda: any(v.get("name") == tag + "-late"
                                   for v in list_all(d).values()),
                       20, 0.1, "the late job in memory")
            os.unlink(os.path.join(mnt, "filler"))
            t.join(90)
            check(len(late) == 1, "the late aiojobctl run did not finish")
            eq((late[0][0], len(late[0][1])), (0, 1), "exit status and ids "
               "of the late run, once the disk was freed")
            told += late[0][1]

            def submit_ok():
                rc, ids, _ = ctl_submit(d, ["--delay", "10m", "--name", tag,
                                            "sleep", "0"])
                told.extend(ids)    # exit 5: the job exists all the same
                return rc == 0
            poll_until(submit_ok, 20, 0.2, "aiojobctl submit ok after "
                       "freeing the disk")
            d.kill()
        with Daemon(state_dir=mnt) as d:
            jobs = list_all(d)
            exist = sorted(i for i, v in jobs.items()
                           if (v.get("name") or "").startswith(tag))
            eq(exist, sorted(told), "jobs that exist after a restart vs the "
               "jobs the clients were told of")
        db = sqlite3.connect(os.path.join(mnt, "jobs.db"))
        try:
            keys = dict(db.execute("SELECT id, key FROM jobs"))
        finally:
            db.close()
        for i, k in unconfirmed.items():
            eq(keys.get(i), k, "key of unconfirmed job %d" % i)
    finally:
        release_tmpfs(top, mnt)


def test_disk_full_safe_job_waits_for_its_commit():
    """durability safe: a job whose submit could not be committed does
    not start (waiting_for "store") until the store writes it."""
    fs = harness.small_tmpfs("test_disk_full_safe_job_waits_for_its_commit")
    if fs is None:
        return
    top, mnt = fs
    try:
        with Daemon(state_dir=mnt, expect_exit=None) as d:
            fill(os.path.join(mnt, "filler"))
            store_fails(d, "safe")
            r = d.request({"op": "submit", "job": sleep_spec(0,
                                                             key="hold")},
                          timeout_ms=10000)
            expect_error(r, "not_durable")
            v = d.status(r["id"])
            eq((v["state"], v["waiting_for"]), ("queued", "store"),
               "a job not on disk yet")
            os.unlink(os.path.join(mnt, "filler"))
            d.wait_ids([r["id"]])
            eq(d.status(r["id"])["state"], "succeeded", "the job, once "
               "written")
    finally:
        release_tmpfs(top, mnt)


# ---------------------------------------------------------------------------
# damaged and newer databases
# ---------------------------------------------------------------------------


def refused_start(sd):
    run = tempfile.mkdtemp(prefix="ajrun", dir="/tmp")
    try:
        return run_daemon_expect_exit(["--rundir", run, "--state-dir", sd])
    finally:
        shutil.rmtree(run, ignore_errors=True)


def check_refused(rc, out, what):
    check(rc is not None and 0 < rc < 128,
          "%s: exit status %s (want a normal non-zero exit)\n%s", what, rc,
          out)


def test_corrupt_database_refused():
    sd = new_state_dir()
    try:
        db = os.path.join(sd, "jobs.db")
        with open(db, "wb") as f:
            f.write(random.Random(7).randbytes(64 * 1024))
        rc, out = refused_start(sd)
        check_refused(rc, out, "garbage jobs.db")
        check(db in out, "message does not name %s: %r", db, out)
        check("move" in out, "message does not say what to do: %r", out)
        # a real store whose first pages were overwritten
        os.unlink(db)
        with Daemon(state_dir=sd) as d:
            submit_batch(d, [sleep_spec(0, delay_ms=LONG, name="x" * 200)]
                         * 500)
        with open(db, "r+b") as f:
            f.write(b"\xa5" * 8192)
        rc, out = refused_start(sd)
        check_refused(rc, out, "overwritten jobs.db")
        check(db in out and "move" in out, "message: %r", out)
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def test_store_in_use_refused():
    """A second daemon on the same state directory is refused, and the
    first keeps its jobs."""
    with Daemon() as d:
        jid = d.submit_sleep(0)
        d.wait_ids([jid])
        other = tempfile.mkdtemp(prefix="aj", dir="/tmp")
        try:
            rc, out = harness.run_daemon_expect_exit(
                ["--rundir", other, "--state-dir", d.state_dir,
                 "--workers", "0"])
        finally:
            shutil.rmtree(other, ignore_errors=True)
        check(rc != 0, "second daemon started on the same store")
        check("another aiojobsd (pid %d) is already running with state "
              "directory" % d.pid in out, "message: %r", out)
        eq(d.status(jid)["state"], "succeeded", "first daemon's job")


def test_newer_database_refused():
    sd = new_state_dir()
    try:
        db = os.path.join(sd, "jobs.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY)")
        con.execute("PRAGMA user_version = 99")
        con.commit()
        con.close()
        rc, out = refused_start(sd)
        check_refused(rc, out, "user_version 99")
        check("newer" in out, "message does not say 'newer': %r", out)
        check(db in out, "message does not name %s: %r", db, out)
        con = sqlite3.connect(db)
        eq(con.execute("PRAGMA user_version").fetchone()[0], 99,
           "user_version left alone")
        con.close()
    finally:
        shutil.rmtree(sd, ignore_errors=True)


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------


def test_memory_100k_queued():
    with Daemon("-q") as d:
        d.ok({"op": "queue", "name": "big", "action": "pause"})
        t0 = time.monotonic()
        with ReqClient(d.url) as c:
            for b in range(100):
                submit_batch(d, [sleep_spec(1000, queue="big",
                                            priority=b % 7)] * 1000,
                             client=c)
        dt = time.monotonic() - t0
        rss = proc_kib(d.pid, "VmRSS")
        hwm = proc_kib(d.pid, "VmHWM")
        print("  100,000 queued jobs in %.1f s: VmRSS %.1f MiB, VmHWM %.1f "
              "MiB" % (dt, rss / 1024, hwm / 1024))
        harness.check_memory(rss < 400 * 1024, "VmRSS %d KiB with 100,000 queued jobs", rss)
        eq(stats(d)["queued"], 100000, "queued")


# ---------------------------------------------------------------------------
# retention and clean
# ---------------------------------------------------------------------------


def test_retention_removes_old_finished_jobs():
    with Daemon("--retention", "1s") as d:
        q = submit_batch(d, [sleep_spec(0, delay_ms=LONG)] * 5)
        fin = submit_batch(d, [sleep_spec(0)] * 20)
        bad = d.submit(exec_spec("exit 3"))
        wait_done(d, fin + [bad])
        t0 = time.monotonic()

        def gone():
            return all(d.request({"op": "status", "id": i}).get("ok") is False
                       for i in fin + [bad])
        poll_until(gone, 8, 0.1, "finished jobs removed by --retention 1s")
        print("  removed %.1f s after they finished" % (time.monotonic() - t0))
        for i in fin + [bad]:
            expect_not_found(d, i)
        for i in q:
            eq(d.status(i)["state"], "queued", "queued job %d kept" % i)
        c = stats(d)
        eq((c["succeeded"], c["failed"], c["queued"]), (0, 0, 5),
           "stats after retention")


def finished_mix(d):
    ok = submit_batch(d, [sleep_spec(0)] * 6)
    bad = submit_batch(d, [exec_spec("exit 1")] * 4)
    can = submit_batch(d, [sleep_spec(0, delay_ms=LONG)] * 3)
    for i in can:
        d.ok({"op": "cancel", "id": i})
    wait_done(d, ok + bad + can)
    time.sleep(0.01)     # finished_at strictly in the past
    return ok, bad, can


def test_clean_op():
    with Daemon() as d:
        q = d.submit_sleep(0, delay_ms=LONG)
        ok, bad, can = finished_mix(d)
        expect_error(d.request({"op": "clean", "state": "queued"}),
                     "bad_request", "state")
        expect_error(d.request({"op": "clean", "older_than_ms": -1}),
                     "bad_request", "older_than_ms")
        expect_error(d.request({"op": "clean", "state": 3}), "bad_request",
                     "state")
        eq(d.ok({"op": "clean", "older_than_ms": 3600000})["deleted"], 0,
           "clean older than an hour")
        eq(d.ok({"op": "clean", "state": "failed"})["deleted"], 4,
           "clean failed")
        for i in bad:
            expect_not_found(d, i)
        for i in ok + can:
            d.status(i)
        eq(stats(d)["failed"], 0, "failed count after clean")
        eq(d.ok({"op": "clean", "state": "cancelled",
                 "older_than_ms": 0})["deleted"], 3, "clean cancelled")
        eq(d.ok({"op": "clean"})["deleted"], 6, "clean the rest")
        for i in ok + can:
            expect_not_found(d, i)
        eq(d.status(q)["state"], "queued", "queued job after clean")
        c = stats(d)
        eq((c["queued"], c["succeeded"], c["failed"], c["cancelled"]),
           (1, 0, 0, 0), "stats after clean")
        eq(list(list_all(d)), [q], "jobs listed after clean")
        eq(d.ok({"op": "clean"})["deleted"], 0, "clean nothing")
        rc, out, err = d.ctl("clean")
        eq((rc, out.strip()), (0, "0 jobs removed"), "aiojobctl clean")


def test_ids_not_reused_after_clean_and_restart():
    """Ids keep increasing even when the newest jobs were cleaned before a
    restart: an old id never names a new job."""
    sd = new_state_dir()
    try:
        with Daemon(state_dir=sd) as d:
            ids = submit_batch(d, [sleep_spec(0)] * 3)
            wait_done(d, ids)
            time.sleep(0.01)
            eq(d.ok({"op": "clean"})["deleted"], 3, "clean")
        with Daemon(state_dir=sd) as d:
            n = d.submit_sleep(0)
            check(n > max(ids), "new job got id %d, an id used before "
                  "(%s)", n, ids)
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def test_keys_of_rows_stored_in_the_long_form():
    """The store keeps a spec without the fields at their defaults; a
    key whose row an earlier version wrote with every field spelt out
    still finds its job for the same spec and refuses a different one."""
    sd = new_state_dir()
    spec = sleep_spec(0, key="old-1")
    try:
        with Daemon(state_dir=sd) as d:
            a = d.ok({"op": "submit", "job": spec})["id"]
            wait_done(d, [a])
        con = sqlite3.connect(os.path.join(sd, "jobs.db"))
        stored = con.execute("SELECT spec FROM jobs WHERE id = ?",
                             (a,)).fetchone()[0]
        eq(json.loads(stored), {"kind": "sleep", "args": spec["args"]},
           "the stored spec, defaults left out")
        long_form = dict(json.loads(stored), name=None, queue="default",
                         priority=0, delay_ms=0, timeout_ms=0, retries=0,
                         retry_backoff_ms=1000, after=[], lock=None,
                         shield=False)
        con.execute("UPDATE jobs SET spec = ? WHERE id = ?",
                    (json.dumps(long_form, separators=(",", ":")), a))
        con.commit()
        con.close()
        with Daemon(state_dir=sd) as d:
            eq(d.ok({"op": "submit", "job": dict(spec)})["id"], a,
               "same key and spec as the long-form row")
            r = d.request({"op": "submit",
                           "job": sleep_spec(5, key="old-1")})
            expect_error(r, "conflict")
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def test_clean_cli():
    with Daemon() as d:
        ok, bad, can = finished_mix(d)
        rc, out, err = d.ctl("clean", "--state", "failed")
        eq((rc, out, err), (0, "4 jobs removed\n", ""),
           "aiojobctl clean --state failed")
        rc, out, err = d.ctl("clean", "--older-than", "1h")
        eq((rc, out), (0, "0 jobs removed\n"), "clean --older-than 1h")
        rc, out, err = d.ctl("--json", "clean", "--state", "cancelled")
        eq(rc, 0, "clean --json exit status")
        eq(json.loads(out), {"ok": True, "deleted": 3}, "clean --json")
        rc, out, err = d.ctl("clean", "--state", "queued")
        eq(rc, 2, "clean --state queued exit status")
        check("queued" in err, "message: %r", err)
        rc, out, err = d.ctl("clean", "--older-than", "soon")
        eq(rc, 2, "clean --older-than soon exit status")
        rc, out, err = d.ctl("clean", "extra")
        eq(rc, 2, "clean with an argument")
        rc, out, err = d.ctl("clean", "--help")
        check(rc == 0 and "--older-than" in out and "--state" in out,
              "clean --help: %s %r", rc, out)
        rc, out, err = d.ctl("--help")
        check("clean" in out, "aiojobctl --help does not list clean")
        rc, out, err = d.ctl("clean")
        eq((rc, out), (0, "6 jobs removed\n"), "aiojobctl clean")
        for i in ok + bad + can:
            expect_not_found(d, i)


# ---------------------------------------------------------------------------
# --durability
# ---------------------------------------------------------------------------


def test_durability_modes_survive_sigterm():
    for mode in ("safe", "fast"):
        sd = new_state_dir()
        try:
            with Daemon("--durability", mode, state_dir=sd) as d:
                q = submit_batch(d, [sleep_spec(0, delay_ms=LONG,
                                                priority=i)
                                     for i in range(50)])
                f = d.submit(exec_spec("echo %s" % mode))
                d.wait_ids([f])
            with Daemon("--durability", mode, state_dir=sd) as d:
                for n, i in enumerate(q):
                    v = d.status(i)
                    eq((v["state"], v["priority"], v["waiting_for"]),
                       ("queued", n, "delay"), "%s: job %d" % (mode, i))
                v = d.status(f)
                eq((v["state"], v["result"]["stdout"]),
                   ("succeeded", mode + "\n"), "%s: finished job" % mode)
                check(d.submit_sleep(0) > f, "%s: ids go on" % mode)
        finally:
            shutil.rmtree(sd, ignore_errors=True)
    run = tempfile.mkdtemp(prefix="ajrun", dir="/tmp")
    try:
        rc, out = run_daemon_expect_exit(["--rundir", run, "--durability",
                                          "sometimes"])
        check(rc != 0 and "durability" in out, "--durability sometimes: "
              "%s %r", rc, out)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def test_queue_pause_survives_restart():
    """A paused queue stays paused across a restart: queued jobs in it
    must not start when the daemon comes back."""
    sd = new_state_dir()
    try:
        with Daemon(state_dir=sd) as d:
            d.ok({"op": "queue", "name": "p", "action": "pause"})
            j = d.submit_sleep(0, queue="p")
        with Daemon(state_dir=sd) as d:
            time.sleep(0.3)
            v = d.status(j)
            eq((v["state"], v["waiting_for"]), ("queued", "paused"),
               "job on a paused queue after a restart")
    finally:
        shutil.rmtree(sd, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
