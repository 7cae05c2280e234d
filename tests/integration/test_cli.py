"""aiojobctl against a real daemon: output and exit codes
(0 ok, 1 waited job failed / wait timed out, 2 usage, 3 unreachable,
4 error reply)."""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import show, ok_ctl, submitted_id  # noqa: E402
from harness import Daemon, check, clean_env, eq, run_ctl  # noqa: E402


def test_ping():
    with Daemon() as d:
        out = ok_ctl(d, "ping")
        check(out.strip() != "", "ping printed nothing")
        rc, out, err = d.ctl("--json", "ping")
        eq(rc, 0, "--json ping")
        r = json.loads(out)
        eq((r.get("ok"), r.get("pid")), (True, d.pid), "--json ping reply")
        # --url works as well as the run directory
        rc, out, err = run_ctl("--url", d.url, "ping")
        eq(rc, 0, "ping --url (%s)" % show(rc, out, err))


def test_submit_prints_id():
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "sleep", "100ms"))
        v = d.status(jid)
        eq((v["kind"], v["args"]), ("sleep", {"ms": 100}), "submitted job")
        jid2 = submitted_id(ok_ctl(d, "submit", "--queue", "cq",
                                   "--priority", "3", "--name", "nm",
                                   "--delay", "10ms", "--timeout", "5s",
                                   "--retries", "2", "sleep", "2s"))
        check(jid2 > jid, "ids not increasing")
        v = d.status(jid2)
        eq((v["queue"], v["priority"], v["name"], v["args"]),
           ("cq", 3, "nm", {"ms": 2000}), "options of submit")
        # the same --key twice is one job
        a = submitted_id(ok_ctl(d, "submit", "--key", "kk", "sleep", "1ms"))
        b = submitted_id(ok_ctl(d, "submit", "--key", "kk", "sleep", "1ms"))
        eq(a, b, "same --key")
        d.ok({"op": "cancel", "id": jid2})


def test_submit_wait_exit_codes():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "sleep", "50ms")
        eq(rc, 0, "submit --wait sleep 50ms (%s)" % show(rc, out, err))
        t0 = time.monotonic()
        rc, out, err = d.ctl("submit", "--wait", "--timeout", "100ms",
                             "sleep", "5s")
        eq(rc, 1, "submit --wait --timeout 100ms sleep 5s (%s)"
           % show(rc, out, err))
        check(time.monotonic() - t0 < 4, "took too long")


def test_status():
    with Daemon() as d:
        jid = d.submit_sleep(0)
        d.wait_ids([jid])
        out = ok_ctl(d, "status", jid)
        check(str(jid) in out and "succeeded" in out,
              "status output lacks id/state: %r", out)
        out = ok_ctl(d, "--json", "status", jid)
        r = json.loads(out)
        eq(r.get("ok"), True, "--json status ok")
        eq((r["job"]["id"], r["job"]["state"]), (jid, "succeeded"),
           "--json status job")
        rc, out, err = d.ctl("status", 999999)
        eq(rc, 4, "status of an unknown id (%s)" % show(rc, out, err))
        check(err.strip() != "", "no message for unknown id")
        rc, out, err = d.ctl("--json", "status", 999999)
        eq(rc, 4, "--json status of an unknown id")
        r = json.loads(out or err)
        eq((r.get("ok"), r.get("error", {}).get("code")),
           (False, "not_found"), "--json error reply")


def test_list_and_stats():
    with Daemon() as d:
        d.ok({"op": "queue", "name": "lq", "action": "pause"})
        q = d.submit_sleep(0, queue="lq", name="queuedjob")
        s = d.submit_sleep(0)
        d.wait_ids([s])
        out = ok_ctl(d, "list")
        lines = out.splitlines()
        check(len(lines) >= 3, "list output too short: %r", out)
        head = lines[0].split()
        check("ID" in head and "STATE" in head, "list header: %r", lines[0])
        rows = {int(ln.split()[0]): ln for ln in lines[1:] if ln.strip()}
        check(q in rows and s in rows, "list lacks jobs %d %d: %r", q, s, out)
        check("queued" in rows[q] and "queuedjob" in rows[q], "row %r",
              rows[q])
        check("succeeded" in rows[s], "row %r", rows[s])
        out = ok_ctl(d, "list", "--state", "queued")
        ids = [int(ln.split()[0]) for ln in out.splitlines()[1:]
               if ln.strip()]
        eq(ids, [q], "list --state queued")
        out = ok_ctl(d, "list", "--queue", "lq", "--limit", "5")
        ids = [int(ln.split()[0]) for ln in out.splitlines()[1:]
               if ln.strip()]
        eq(ids, [q], "list --queue lq")
        r = json.loads(ok_ctl(d, "--json", "list"))
        eq([v["id"] for v in r["jobs"]], [s, q], "--json list")
        out = ok_ctl(d, "stats")
        for word in ("queued", "running", "succeeded", "failed",
                     "cancelled", "lq", "default"):
            check(word in out, "stats output lacks %r: %r", word, out)
        r = json.loads(ok_ctl(d, "--json", "stats"))
        eq(r["jobs"]["succeeded"], 1, "--json stats")


def test_wait_variants():
    with Daemon() as d:
        fast = d.submit_sleep(50)
        slow = d.submit_sleep(20000)
        t0 = time.monotonic()
        rc, out, err = d.ctl("wait", fast, slow, "--any", timeout=15)
        eq(rc, 0, "wait --any (%s)" % show(rc, out, err))
        check(time.monotonic() - t0 < 5, "wait --any waited for the slow job")
        bad = d.submit_sleep(5000, timeout_ms=100)
        t0 = time.monotonic()
        rc, out, err = d.ctl("wait", slow, bad, "--first-exception",
                             timeout=15)
        eq(rc, 1, "wait --first-exception with a failure (%s)"
           % show(rc, out, err))
        check(time.monotonic() - t0 < 5, "--first-exception was slow")
        rc, out, err = d.ctl("wait", fast)
        eq(rc, 0, "wait on a succeeded job (%s)" % show(rc, out, err))
        rc, out, err = d.ctl("wait", bad)
        eq(rc, 1, "wait on a failed job (%s)" % show(rc, out, err))
        rc, out, err = d.ctl("wait", fast, "--timeout", "1s")
        eq(rc, 0, "wait --timeout on a done job")
        rc, out, err = d.ctl("wait", 999999)
        eq(rc, 4, "wait on an unknown id (%s)" % show(rc, out, err))
        d.ok({"op": "cancel", "id": slow})
        rc, out, err = d.ctl("wait", slow)
        eq(rc, 1, "wait on a cancelled job (%s)" % show(rc, out, err))


def test_cancel():
    with Daemon() as d:
        jid = d.submit_sleep(30000)
        d.wait_state(jid, "running")
        out = ok_ctl(d, "cancel", jid)
        check("cancelled" in out, "cancel output: %r", out)
        eq(d.status(jid)["state"], "cancelled", "state after cancel")
        a = d.submit_sleep(30000)
        b = d.submit_sleep(30000)
        ok_ctl(d, "cancel", a, b)
        eq([d.status(i)["state"] for i in (a, b)], ["cancelled"] * 2,
           "cancel of two ids")
        rc, out, err = d.ctl("cancel", 999999)
        eq(rc, 4, "cancel of an unknown id (%s)" % show(rc, out, err))


def test_queue_commands():
    with Daemon() as d:
        ok_ctl(d, "queue", "q1", "pause")
        eq(d.ok({"op": "stats"})["queues"]["q1"]["paused"], True, "paused")
        jid = d.submit_sleep(0, queue="q1")
        ok_ctl(d, "queue", "q1", "limit", "3")
        eq(d.ok({"op": "stats"})["queues"]["q1"]["limit"], 3, "limit")
        eq(d.status(jid)["state"], "queued", "job in paused queue")
        ok_ctl(d, "queue", "q1", "resume")
        eq(d.ok({"op": "stats"})["queues"]["q1"]["paused"], False, "resumed")
        eq(d.wait_ids([jid])["done"][0]["state"], "succeeded", "job ran")
        out = ok_ctl(d, "queue", "q1", "rate", "2.5")
        r = json.loads(ok_ctl(d, "--json", "queue", "q1", "rate", "4"))
        eq((r["queue"]["rate"], r["queue"]["limit"]), (4, 3), "--json queue")
        rc, out, err = d.ctl("queue", "q1", "explode")
        eq(rc, 2, "queue with a bad action (%s)" % show(rc, out, err))
        rc, out, err = d.ctl("queue", "q1", "limit", "x")
        eq(rc, 2, "queue limit x (%s)" % show(rc, out, err))


def test_submit_file():
    with Daemon() as d:
        specs = [{"kind": "sleep", "args": {"ms": 10}},
                 {"kind": "sleep", "args": {"ms": 20}, "name": "second"}]
        path = os.path.join(d.base, "spec.json")
        with open(path, "w") as f:
            json.dump(specs, f)
        out = ok_ctl(d, "submit", "--file", path)
        ids = [int(x) for x in out.split()]
        eq(len(ids), 2, "ids printed for a 2-job file: %r" % out)
        eq(d.status(ids[1])["name"], "second", "second job")
        out = ok_ctl(d, "submit", "--wait", "--file", "-",
                     input=json.dumps(specs))
        views = d.wait_ids([ids[0], ids[1]])["done"]
        eq([v["state"] for v in views], ["succeeded"] * 2, "file jobs")
        with open(path, "w") as f:
            json.dump(specs[0], f)
        out = ok_ctl(d, "submit", "--file", path)
        submitted_id(out)
        before = sum(d.ok({"op": "stats"})["jobs"].values())
        bad = specs + [{"kind": "sleep", "args": {"ms": -1}}]
        rc, out, err = d.ctl("submit", "--file", "-", input=json.dumps(bad))
        eq(rc, 4, "file with an invalid spec (%s)" % show(rc, out, err))
        check("jobs[2]" in err or "jobs[2]" in out,
              "message does not name jobs[2]: %r", err)
        eq(sum(d.ok({"op": "stats"})["jobs"].values()), before,
           "jobs after a rejected file")
        rc, out, err = d.ctl("submit", "--file", "-", input="not json")
        check(rc in (2, 4), "file with garbage: %s" % show(rc, out, err))
        rc, out, err = d.ctl("submit", "--file", "/nonexistent/x.json")
        check(rc in (1, 2), "missing file: %s" % show(rc, out, err))
        check(err.strip() != "", "no message for a missing file")


def queued(d):
    return d.ok({"op": "stats"})["jobs"]["queued"]


def test_submit_file_at_the_limits():
    """submit --file with 10,000 jobs (the most one submit takes) goes in
    one request under the default max_request_bytes: each spec carries only
    the fields that differ from the defaults, and its key. 12,000 exec jobs
    with long argvs (about 2.5 MB) go in parts; a part refused after others
    were accepted is named, and the jobs that exist are the ids printed."""
    with Daemon("--pending-limit", "28000") as d:
        d.ok({"op": "queue", "name": "held", "action": "pause"})
        path = os.path.join(d.base, "many.json")
        sleep = {"kind": "sleep", "args": {"ms": 0}, "queue": "held"}
        with open(path, "w") as f:
            json.dump([sleep] * 10000, f)
        out = ok_ctl(d, "submit", "--file", path, timeout=120)
        eq(len(set(out.split())), 10000, "ids printed for 10,000 jobs")
        eq(queued(d), 10000, "jobs queued")
        # 12,000 specs of ~210 bytes: over 1 MiB and over 10,000 jobs
        exe = {"kind": "exec", "queue": "held",
               "args": {"argv": ["echo"] + ["x" * 30] * 5}}
        with open(path, "w") as f:
            json.dump([exe] * 12000, f)
        out = ok_ctl(d, "submit", "--file", path, timeout=120)
        eq(len(set(out.split())), 12000, "ids printed for 12,000 exec jobs")
        eq(queued(d), 22000, "jobs queued")
        # again: the pending limit lets the first part in, not the second
        rc, out, err = d.ctl("submit", "--file", path, timeout=120)
        eq(rc, 4, "a part refused (%s)" % show(rc, "", err))
        n = len(out.split())
        check(0 < n < 6000, "%d ids printed before the refused part", n)
        check("queue_full" in err, "the refusal is not shown: %r", err)
        check("jobs %d to 11999 of 12000 were not submitted; jobs 0 to %d "
              "were" % (n, n - 1) in err, "which jobs went in is not "
              "said: %r", err)
        eq(queued(d), 22000 + n, "the jobs that exist are the ids printed")


def test_usage_errors():
    with Daemon() as d:
        before = d.ok({"op": "stats"})["jobs"]
        for args in (("frobnicate",), ("submit", "sleep", "5x"),
                     ("submit", "sleep"), ("submit", "sleep", "-1s"),
                     ("status",), ("status", "abc"), ("wait",),
                     ("--nosuchflag", "ping"), ("list", "--limit", "x"),
                     ("submit", "--priority", "x", "sleep", "1s")):
            rc, out, err = d.ctl(*args)
            eq(rc, 2, "aiojobctl %s (%s)" % (" ".join(args),
                                            show(rc, out, err)))
            check(err.strip() != "", "no message for %s" % (args,))
        eq(d.ok({"op": "stats"})["jobs"], before, "no job from usage errors")
        rc, out, err = run_ctl()
        eq(rc, 2, "no subcommand (%s)" % show(rc, out, err))


def test_help_and_version():
    rc, out, err = run_ctl("--help")
    eq(rc, 0, "--help")
    for word in ("submit", "status", "wait", "cancel", "list", "stats",
                 "queue", "watch", "shutdown"):
        check(word in out, "--help lacks %s: %r", word, out)
    for sub in ("submit", "wait", "queue", "list"):
        rc, out, err = run_ctl(sub, "--help")
        eq(rc, 0, "%s --help (%s)" % (sub, show(rc, out, err)))
        check(sub in out, "%s --help output: %r", sub, out)
    rc, out, err = run_ctl("--version")
    eq(rc, 0, "--version")
    check(re.search(r"\d+\.\d+\.\d+", out), "--version output: %r", out)


def test_no_daemon_exit_3():
    empty = tempfile.mkdtemp(prefix="aj", dir="/tmp")
    try:
        t0 = time.monotonic()
        rc, out, err = run_ctl("ping", rundir=empty, timeout=20)
        dt = time.monotonic() - t0
        eq(rc, 3, "ping with no daemon (%s)" % show(rc, out, err))
        check(dt < 3, "took %.1f s to report an absent daemon", dt)
        url = "ipc://%s/aiojobsd.sock" % empty
        check(url in err, "message lacks the URL %s: %r", url, err)
        t0 = time.monotonic()
        rc, out, err = run_ctl("submit", "sleep", "1s", rundir=empty,
                               timeout=20)
        eq(rc, 3, "submit with no daemon (%s)" % show(rc, out, err))
        check(time.monotonic() - t0 < 3, "submit took too long")
        rc, out, err = run_ctl("--url", "ipc://%s/other.sock" % empty,
                               "stats", timeout=20)
        eq(rc, 3, "stats --url with no daemon")
        check("other.sock" in err, "message lacks the --url: %r", err)
    finally:
        shutil.rmtree(empty, ignore_errors=True)


def test_shutdown():
    with Daemon() as d:
        rc, out, err = d.ctl("shutdown")
        eq(rc, 0, "shutdown (%s)" % show(rc, out, err))
        eq(d.wait_exit(15), 0, "daemon exit status after shutdown")
        for p in (d.sock_path, d.events_path):
            check(not os.path.exists(p), "%s left after shutdown", p)
        rc, out, err = d.ctl("ping", timeout=20)
        eq(rc, 3, "ping after shutdown")


def test_shutdown_timeout_flag():
    with Daemon() as d:
        jid = d.submit_sleep(30000)
        d.wait_state(jid, "running")
        t0 = time.monotonic()
        rc, out, err = d.ctl("shutdown", "--timeout", "200ms")
        eq(rc, 0, "shutdown --timeout (%s)" % show(rc, out, err))
        eq(d.wait_exit(15), 0, "exit status")
        check(time.monotonic() - t0 < 10, "shutdown --timeout 200ms slow")


def read_lines_until(proc, pred, timeout_s):
    """Read stdout lines of proc until pred(line); bounded in time."""
    lines = []
    buf = b""
    deadline = time.monotonic() + timeout_s
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode(errors="replace"))
            if pred(lines[-1]):
                return lines
    raise AssertionError("no matching line within %.0f s; got %r"
                         % (timeout_s, lines[-20:]))


def test_watch():
    with Daemon() as d:
        env = clean_env(AIOJOBS_RUNDIR=d.rundir)
        proc = subprocess.Popen([harness.AIOJOBCTL, "watch"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=env)
        try:
            ids = set()
            found = None
            deadline = time.monotonic() + 15
            while found is None and time.monotonic() < deadline:
                ids.add(d.submit_sleep(0, name="watched"))
                try:
                    lines = read_lines_until(
                        proc, lambda ln: any(str(i) in ln for i in ids)
                        and "succeeded" in ln, 0.5)
                    found = lines[-1]
                except AssertionError:
                    check(proc.poll() is None, "watch exited with %s"
                          % proc.returncode)
            check(found is not None, "watch printed no line for jobs %s"
                  % sorted(ids))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
                raise AssertionError("watch ignored SIGTERM")
            proc.stdout.close()
            proc.stderr.close()


if __name__ == "__main__":
    harness.main()
