"""The cpu kind (PROTOCOL 3.3): functions run in a pool of worker processes
(ProcessPoolExecutor). Built-ins and plugins, parallelism bounded by the
pool, crash isolation and replacement, cancel and timeout, jobs a busy
worker holds (sent ahead, still queued), the event loop
staying free while workers compute, the scheduler holding jobs until a
worker is idle, the back-off for workers that die at start, workers that
end with the dispatcher, and `aiojobctl submit cpu`.

The plugins come from the build tree: example.so next to the daemon
(daemon/plugins), crashy.so and badabi.so in tests/plugins; meson passes
their directories as AIOJOBS_EXAMPLE_PLUGIN_DIR and AIOJOBS_TEST_PLUGIN_DIR.
The daemon takes one --plugin-dir, so the tests link them into one."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import show, workers_of  # noqa: E402
from harness import (Daemon, check, eq, expect_error, max_overlap,  # noqa: E402
                     poll_until)

_plugin_dir = None


# A worker's segfault; AddressSanitizer's own handler turns it into abort.
SEGV_PATTERN = (r"signal (11|6)\b" if harness.SANITIZED else
                r"signal 11\b.*(Segmentation|SIGSEGV)|SIGSEGV")


def plugin_dir():
    """One directory holding example.so, crashy.so and badabi.so (links
    into the build tree), made once per run and removed at exit."""
    global _plugin_dir
    if _plugin_dir is not None:
        return _plugin_dir
    daemon_dir = os.path.dirname(harness.AIOJOBSD)
    example = os.environ.get("AIOJOBS_EXAMPLE_PLUGIN_DIR",
                             os.path.join(daemon_dir, "plugins"))
    tests = os.environ.get("AIOJOBS_TEST_PLUGIN_DIR",
                           os.path.join(os.path.dirname(daemon_dir),
                                        "tests", "plugins"))
    d = tempfile.mkdtemp(prefix="ajplug", dir="/tmp")
    for src in (os.path.join(example, "example.so"),
                os.path.join(tests, "crashy.so"),
                os.path.join(tests, "badabi.so")):
        check(os.path.exists(src), "plugin %s not built", src)
        os.symlink(os.path.abspath(src),
                   os.path.join(d, os.path.basename(src)))
    _plugin_dir = d
    return d


def cpu_daemon(workers=2, *args, **kw):
    return Daemon("--workers", workers, "--plugin-dir", plugin_dir(),
                  *args, **kw)


def cpu_spec(fn, inp=None, **fields):
    args = {"fn": fn}
    if inp is not None:
        args["input"] = inp
    spec = {"kind": "cpu", "args": args}
    spec.update(fields)
    return spec


def run(d, fn, inp=None, timeout_s=30, **fields):
    """Submit one cpu job, wait for it, return its final view."""
    jid = d.submit(cpu_spec(fn, inp, **fields))
    return d.wait_ids([jid], timeout_s=timeout_s)["done"][0]


def submit_many(d, specs):
    return d.ok({"op": "submit", "jobs": specs})["ids"]


def succeeded(v, what):
    eq(v["state"], "succeeded", "%s state (error %s)" % (what, v["error"]))
    eq(v["error"], None, "%s error" % what)
    return v["result"]


def failed(v, code, what, pattern=None):
    eq(v["state"], "failed", "%s state" % what)
    eq(v["error"]["code"], code, "%s error code (%s)" % (what, v["error"]))
    if pattern is not None:
        check(re.search(pattern, v["error"]["message"]) is not None,
              "%s: error message %r does not match %r", what,
              v["error"]["message"], pattern)
    return v["error"]["message"]


def intervals(views):
    return [(v["started_at"], v["finished_at"]) for v in views]


def proc_state(pid):
    """The state letter of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


def alive(pid):
    return proc_state(pid) not in (None, "Z", "X")


def wait_pool_idle(d, total, timeout_s=10.0):
    """Poll stats until the pool has total workers and none busy."""
    def idle():
        w = d.ok({"op": "stats"})["workers"]
        return w if (w["total"], w["busy"]) == (total, 0) else None
    poll_until(idle, timeout_s, what="workers total %d, busy 0" % total)


def check_full_strength(d, what):
    """Two spin 300 ms jobs run at the same time: both workers are there."""
    wait_pool_idle(d, 2)
    ids = submit_many(d, [cpu_spec("spin", {"ms": 300})] * 2)
    done = d.wait_ids(ids, timeout_s=20)["done"]
    for v in done:
        succeeded(v, "%s: spin" % what)
    eq(max_overlap(intervals(done)), 2, "%s: spin jobs running at once "
       "(%s)" % (what, intervals(done)))


def kill_wait(pids, sig=signal.SIGKILL):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


# -- built-ins -------------------------------------------------------------


def test_sha256_data_and_file():
    with cpu_daemon() as d:
        for data in ("abc", "", "h\u00e9llo \u2603 w\u00f6rld"):
            r = succeeded(run(d, "sha256", {"data": data}), "sha256 data")
            raw = data.encode()
            eq(r, {"hex": hashlib.sha256(raw).hexdigest(),
                   "bytes": len(raw)}, "sha256 of %r" % data)
        tmp = tempfile.mkdtemp(prefix="ajsha", dir="/tmp")
        try:
            # empty, within one window of the mapping, across windows
            for size in (0, 3 * 1024 * 1024 + 17, 16 * 1024 * 1024 + 17):
                path = os.path.join(tmp, "blob%d" % size)
                with open(path, "wb") as f:
                    f.write(os.urandom(size))
                if shutil.which("sha256sum"):
                    ref = subprocess.run(["sha256sum", path], check=True,
                                         capture_output=True,
                                         text=True).stdout.split()[0]
                else:
                    with open(path, "rb") as f:
                        ref = hashlib.sha256(f.read()).hexdigest()
                r = succeeded(run(d, "sha256", {"path": path}),
                              "sha256 path")
                eq(r, {"hex": ref, "bytes": size},
                   "sha256 of a file of %d bytes" % size)
            # not a regular file: read, not mapped
            r = succeeded(run(d, "sha256", {"path": "/dev/null"}),
                          "sha256 of /dev/null")
            eq(r, {"hex": hashlib.sha256(b"").hexdigest(), "bytes": 0},
               "sha256 of /dev/null")
            failed(run(d, "sha256", {"path": tmp}), "fn_error",
                   "sha256 of a directory", r"Is a directory")
            v = run(d, "sha256", {"path": os.path.join(tmp, "missing")})
            failed(v, "fn_error", "sha256 of a missing file",
                   r"No such file")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        failed(run(d, "sha256", {}), "fn_error", "sha256 without input")
        failed(run(d, "sha256", {"data": "a", "path": "/etc/passwd"}),
               "fn_error", "sha256 with data and path")


def test_primes_and_spin():
    with cpu_daemon() as d:
        eq(succeeded(run(d, "primes", {"below": 10 ** 6}), "primes"),
           {"count": 78498}, "primes below 10^6")
        eq(succeeded(run(d, "primes", {"below": 10}), "primes"),
           {"count": 4}, "primes below 10")
        t0 = time.monotonic()
        r = succeeded(run(d, "spin", {"ms": 200}), "spin")
        check(time.monotonic() - t0 >= 0.19, "spin 200 returned early")
        check(isinstance(r.get("spun_ms"), int) and r["spun_ms"] >= 200,
              "spin result: %s", r)
        failed(run(d, "spin", {"ms": -1}), "fn_error", "spin -1")


# -- parallelism -------------------------------------------------------------


def test_two_workers_run_two_at_a_time():
    with cpu_daemon(2) as d:
        wait_pool_idle(d, 2)
        sub = d.sub()
        d.sync_sub(sub)
        t0 = time.time()
        ids = submit_many(d, [cpu_spec("spin", {"ms": 500})] * 4)
        done = d.wait_ids(ids, timeout_s=20)["done"]
        for v in done:
            succeeded(v, "spin 500")
        elapsed = max(v["finished_at"] for v in done) / 1000.0 - t0
        check(0.9 <= elapsed < 1.9, "4 spin 500 ms jobs on 2 workers took "
              "%.3f s (want 0.9 to 1.9 s): %s", elapsed, intervals(done))
        eq(max_overlap(intervals(done)), 2, "jobs running at once (%s)"
           % intervals(done))
        # the events say the same: never more than 2 running
        events = sub.events_until(
            lambda evs: sum(t == "job.succeeded" and v["id"] in ids
                            for t, v in evs) == 4, 10)
        running = peak = 0
        for topic, v in events:
            if v["id"] not in ids:
                continue
            if topic == "job.running":
                running += 1
            elif topic in ("job.succeeded", "job.failed"):
                running -= 1
            peak = max(peak, running)
        eq(peak, 2, "running jobs at once by the events")


# -- crashes, timeouts, cancel -----------------------------------------------


def test_crashes_fail_the_job_and_the_pool_recovers():
    with cpu_daemon(2, "--worker-memory-limit", "256M") as d:
        wait_pool_idle(d, 2)
        before = workers_of(d.pid)
        eq(len(before), 2, "worker processes at start (%s)" % before)
        msg = failed(run(d, "crashy.segv"), "worker_crashed", "crashy.segv",
                     SEGV_PATTERN)
        m = re.search(r"\(pid (\d+)\)", msg)
        check(m is not None, "the message names no pid: %r", msg)
        crashed = int(m.group(1))
        check(crashed in before, "pid %d is not a worker %s", crashed, before)
        check_full_strength(d, "after segv")
        check(not alive(crashed), "crashed worker %d still there", crashed)
        eq(len(workers_of(d.pid)), 2, "workers after the segv")
        failed(run(d, "crashy.abort"), "worker_crashed", "crashy.abort",
               r"signal 6\b")
        check_full_strength(d, "after abort")
        failed(run(d, "crashy.exit"), "worker_crashed", "crashy.exit",
               r"exited with status 7\b")
        check_full_strength(d, "after exit")
        # RLIMIT_AS: malloc fails, the function reports it, the worker lives
        # (a sanitizer build has no address-space limit: no hog there)
        if not harness.SANITIZED:
            failed(run(d, "crashy.hog"), "fn_error", "crashy.hog under 256M",
                   r"^out of memory after \d+ MiB$")
            check_full_strength(d, "after hog")
        t0 = time.monotonic()
        failed(run(d, "crashy.loop", timeout_ms=300), "timeout",
               "crashy.loop with timeout_ms 300", r"300 ms")
        check(time.monotonic() - t0 < 3.0, "timeout took %.1f s",
              time.monotonic() - t0)
        check_full_strength(d, "after loop")
        # a crash with retries left is retried, on a fresh worker
        v = run(d, "crashy.segv", retries=1, retry_backoff_ms=10)
        failed(v, "worker_crashed", "crashy.segv retried", SEGV_PATTERN)
        eq(v["attempts"], 2, "attempts of a retried crash")
        after = workers_of(d.pid)
        eq(len(after), 2, "worker processes at the end (%s)" % after)
        eq(succeeded(run(d, "crashy.echo", {"k": [1, "x"]}), "echo"),
           {"k": [1, "x"]}, "echo after the crashes")
        eq(succeeded(run(d, "primes", {"below": 1000}), "primes"),
           {"count": 168}, "primes after the crashes")


def test_cancel_and_kill_a_running_job():
    # -q: warnings only, so that the log line below is a warning
    with cpu_daemon(1, "-q") as d:
        wait_pool_idle(d, 1)
        jid = d.submit(cpu_spec("spin", {"ms": 10000}))
        d.wait_state(jid, "running")
        t0 = time.monotonic()
        r = d.ok({"op": "cancel", "id": jid})
        took = time.monotonic() - t0
        eq(r["job"]["state"], "cancelled", "cancel reply state")
        eq(r["job"]["error"]["code"], "cancelled", "cancel error code")
        check(took < 1.0, "cancel of a running cpu job took %.2f s", took)
        # its worker slot is free again: the next job runs, and soon
        t0 = time.monotonic()
        succeeded(run(d, "spin", {"ms": 10}, timeout_s=5), "after cancel")
        check(time.monotonic() - t0 < 2.0, "next job after cancel took "
              "%.2f s", time.monotonic() - t0)
        eq(d.status(jid)["state"], "cancelled", "cancelled stays cancelled")
        check("killed by signal" not in d.log(), "the daemon's own kill of "
              "a cancelled job's worker is logged as a fault:\n%s", d.log())
        # a worker killed from outside fails its job, naming the signal, and
        # the operator is warned with the worker's pid and the job
        jid = d.submit(cpu_spec("spin", {"ms": 10000}))
        d.wait_state(jid, "running")
        pids = workers_of(d.pid)
        eq(len(pids), 1, "workers of a 1-worker pool (%s)" % pids)
        kill_wait(pids)
        v = d.wait_ids([jid], timeout_s=5)["done"][0]
        failed(v, "worker_crashed", "job of a killed worker", r"signal 9\b")
        check(re.search(r"worker \d+ \(pid %d\) killed by signal 9 .* while "
                        r"running job %d$" % (pids[0], jid), d.log(), re.M),
              "no warning naming the killed worker and its job:\n%s", d.log())
        succeeded(run(d, "spin", {"ms": 10}, timeout_s=5),
                  "after a killed worker")


# -- jobs a busy worker holds -------------------------------------------------


def _held_setup(d):
    """One worker that last ran a short call, then a spin of ms and three
    echo jobs behind it: the worker holds the echo jobs (sent to it, still
    queued). Returns (spin id, echo ids, worker pid)."""
    wait_pool_idle(d, 1)
    for i in range(2):          # the first call loads the plugin: slow
        eq(succeeded(run(d, "crashy.echo", i), "warm-up echo"), i, "echo")
    pids = workers_of(d.pid)
    eq(len(pids), 1, "workers of a 1-worker pool (%s)" % pids)
    return pids[0]


def test_held_jobs_wait_queued_and_survive_cancel():
    with cpu_daemon(1) as d:
        pid = _held_setup(d)
        ids = submit_many(d, [cpu_spec("spin", {"ms": 600})] +
                          [cpu_spec("crashy.echo", {"n": i})
                           for i in range(3)])
        d.wait_state(ids[0], "running")
        # held or not, they are queued jobs waiting for a worker
        st = d.ok({"op": "stats"})
        eq((st["jobs"]["running"], st["jobs"]["queued"]), (1, 3),
           "stats running, queued")
        eq(st["workers"], {"total": 1, "busy": 1}, "stats workers")
        for jid in ids[1:]:
            v = d.status(jid)
            eq((v["state"], v["waiting_for"]), ("queued", "worker"),
               "job %d behind the spin" % jid)
        # cancelling one the worker holds cancels it, and only it
        r = d.ok({"op": "cancel", "id": ids[2]})
        eq(r["job"]["state"], "cancelled", "cancel of a held job")
        done = {v["id"]: v for v in d.wait_ids(ids, timeout_s=20)["done"]}
        succeeded(done[ids[0]], "spin")
        eq(succeeded(done[ids[1]], "echo 0"), {"n": 0}, "echo 0")
        eq(done[ids[2]]["state"], "cancelled", "cancelled echo 1")
        eq(succeeded(done[ids[3]], "echo 2"), {"n": 2}, "echo 2")
        for jid in (ids[1], ids[3]):
            eq(done[jid]["attempts"], 1, "attempts of job %d" % jid)
        # one at a time on one worker, in the events' sense too
        eq(max_overlap(intervals([done[j] for j in ids if j != ids[2]])),
           1, "jobs at once on 1 worker")
        # the worker reached the cancelled job: it was replaced, not used
        poll_until(lambda: (lambda p: p if len(p) == 1 and p[0] != pid
                            else None)(workers_of(d.pid)), 5,
                   what="a new worker in place of %d" % pid)
        check("unexpected" not in d.log(), "unexpected messages:\n%s",
              d.log())


def test_held_jobs_go_back_when_their_worker_dies():
    with cpu_daemon(1) as d:
        pid = _held_setup(d)
        ids = submit_many(d, [cpu_spec("spin", {"ms": 10000})] +
                          [cpu_spec("crashy.echo", i) for i in range(3)])
        d.wait_state(ids[0], "running")
        kill_wait([pid])
        done = {v["id"]: v for v in d.wait_ids(ids, timeout_s=20)["done"]}
        failed(done[ids[0]], "worker_crashed", "spin of a killed worker",
               r"signal 9\b")
        for k, jid in enumerate(ids[1:]):
            eq(succeeded(done[jid], "held echo %d" % k), k, "echo %d" % k)
            eq(done[jid]["attempts"], 1, "attempts of held echo %d" % k)
        # and a cancel, which kills the worker, gives them back as well
        pid = _held_setup(d)
        ids = submit_many(d, [cpu_spec("spin", {"ms": 10000})] +
                          [cpu_spec("crashy.echo", i) for i in range(3)])
        d.wait_state(ids[0], "running")
        eq(d.ok({"op": "cancel", "id": ids[0]})["job"]["state"],
           "cancelled", "cancel of the spin")
        done = {v["id"]: v for v in d.wait_ids(ids, timeout_s=20)["done"]}
        for k, jid in enumerate(ids[1:]):
            eq(succeeded(done[jid], "held echo %d" % k), k, "echo %d" % k)


def test_many_short_jobs():
    # many short jobs through 2 workers that hold some: each result is
    # its job's, and a cancel storm leaves every job cancelled or done
    with cpu_daemon(2) as d:
        wait_pool_idle(d, 2)
        n = 3000
        ids = submit_many(d, [cpu_spec("crashy.echo", i) for i in range(n)])
        cancelled = set()
        for jid in ids[n // 3::5]:
            r = d.request({"op": "cancel", "id": jid})
            if r.get("ok") and r["job"]["state"] == "cancelled":
                cancelled.add(jid)
        done = d.wait_ids(ids, timeout_s=60)["done"]
        eq(len(done), n, "jobs done")
        for i, v in enumerate(done):
            if v["id"] in cancelled:
                eq(v["state"], "cancelled", "job %d" % v["id"])
            else:
                eq(succeeded(v, "echo %d" % i), i, "echo %d" % i)
        st = d.ok({"op": "stats"})
        eq((st["jobs"]["queued"], st["jobs"]["running"]), (0, 0),
           "queued and running jobs")
        wait_pool_idle(d, 2)
        eq(len(workers_of(d.pid)), 2, "live workers")


def test_resize_while_workers_hold_jobs():
    # SIGHUP shrinks the pool while its workers hold short jobs, then
    # grows it: the retired worker's held jobs run elsewhere, none fails
    conf = os.path.join(tempfile.mkdtemp(prefix="ajconf", dir="/tmp"),
                        "aiojobsd.conf")

    def workers(n, what):
        with open(conf, "w") as f:
            f.write("[pool]\nworkers = %d\n" % n)
        d.signal(signal.SIGHUP)
        poll_until(lambda: d.ok({"op": "stats"})["workers"]["total"] == n,
                   10, what=what)

    try:
        with open(conf, "w") as f:
            f.write("[pool]\nworkers = 2\n")
        with Daemon("--config", conf, "--plugin-dir", plugin_dir()) as d:
            wait_pool_idle(d, 2)
            ids = submit_many(d, [cpu_spec("spin", {"ms": 1})] * 3000)
            poll_until(lambda: d.ok({"op": "stats"})["jobs"]["succeeded"]
                       >= 100, 10, what="100 jobs done")
            workers(1, "1 worker after SIGHUP")
            st = d.ok({"op": "stats"})["jobs"]
            check(st["queued"] + st["running"] > 0, "the jobs were done "
                  "before the pool shrank: %s", st)
            workers(2, "2 workers after SIGHUP")
            done = d.wait_ids(ids, timeout_s=60)["done"]
            for v in done:
                succeeded(v, "spin 1 job %d" % v["id"])
            check(d.ok({"op": "stats"})["jobs"]["running"] == 0,
                  "jobs still running")
            wait_pool_idle(d, 2)
    finally:
        shutil.rmtree(os.path.dirname(conf), ignore_errors=True)


# -- names and plugins -------------------------------------------------------


def test_function_names_and_plugins():
    with cpu_daemon() as d:
        for fn in ("a/b", "../x", "..", "crashy/../crashy.echo",
                   "crashy..echo", "crashy.a/b", "crashy.x.y", ".echo",
                   "crashy.", "/etc/passwd", "", "x" * 65):
            r = d.request({"op": "submit", "job": cpu_spec(fn)})
            expect_error(r, "bad_request")
        for args in ({}, {"fn": 3}, {"fn": None}):
            r = d.request({"op": "submit",
                           "job": {"kind": "cpu", "args": args}})
            expect_error(r, "bad_request", "fn")
        failed(run(d, "nosuch"), "unknown_fn", "unknown built-in", "nosuch")
        failed(run(d, "nope.fn"), "unknown_fn", "missing plugin", "nope")
        failed(run(d, "crashy.nosuch"), "unknown_fn", "missing plugin fn",
               "nosuch")
        failed(run(d, "badabi.anything"), "unknown_fn", "badabi",
               r"(?i)\babi\b")
        eq(succeeded(run(d, "example.upper", "hello"), "upper"), "HELLO",
           "example.upper")
        eq(succeeded(run(d, "example.sum", [1, 2, 3.5]), "sum"), 6.5,
           "example.sum")
        failed(run(d, "example.upper", 42), "fn_error", "upper of 42",
               "example.upper")
        failed(run(d, "crashy.fail"), "fn_error", "crashy.fail",
               r"^crashy\.fail: failed on purpose$")
        inp = {"s": "\u00e9\u2603", "n": [1, 2.5, None, True], "o": {}}
        eq(succeeded(run(d, "crashy.echo", inp), "echo"), inp, "echo")
        eq(succeeded(run(d, "crashy.echo"), "echo"), None,
           "echo without input")


# -- the event loop stays free -----------------------------------------------


def test_loop_free_while_workers_compute():
    with cpu_daemon(2) as d:
        wait_pool_idle(d, 2)
        busy = submit_many(d, [cpu_spec("spin", {"ms": 4000})] * 3)
        poll_until(lambda: d.ok({"op": "stats"})["workers"]["busy"] == 2,
                   5, what="2 workers busy")
        for _ in range(5):
            t0 = time.monotonic()
            d.ok({"op": "ping"}, timeout_ms=2000)
            took = time.monotonic() - t0
            check(took < 0.5, "ping took %.3f s while workers spin", took)
        # behind a cpu job waiting for a worker, in the same queue
        eq(d.status(busy[2])["state"], "queued", "third spin job")
        t0 = time.monotonic()
        sid = d.submit_sleep(100)
        v = d.wait_ids([sid], timeout_s=5)["done"][0]
        took = time.monotonic() - t0
        eq(v["state"], "succeeded", "sleep job")
        check(took < 1.0, "sleep 100ms took %.3f s while workers spin", took)
        for jid in busy:
            d.ok({"op": "cancel", "id": jid})


# -- the scheduler holds cpu jobs until a worker is idle ---------------------


def test_jobs_wait_for_a_worker():
    with cpu_daemon(1) as d:
        wait_pool_idle(d, 1)
        ids = submit_many(d, [cpu_spec("spin", {"ms": 300})] * 3)
        def one_running_two_queued():
            st = d.ok({"op": "stats"})
            return st if (st["jobs"]["running"],
                          st["jobs"]["queued"]) == (1, 2) else None
        r = poll_until(one_running_two_queued, 2,
                       what="stats running 1, queued 2")
        eq((r["workers"]["total"], r["workers"]["busy"]), (1, 1), "workers")
        eq((r["queues"]["default"]["running"],
            r["queues"]["default"]["queued"]), (1, 2), "queue default")
        done = d.wait_ids(ids, timeout_s=10)["done"]
        for v in done:
            succeeded(v, "spin 300")
        eq(max_overlap(intervals(done)), 1, "jobs at once on 1 worker (%s)"
           % intervals(done))


def test_cpu_jobs_count_against_limits():
    # a queue limit holds cpu jobs even when workers are idle
    with cpu_daemon(2) as d:
        wait_pool_idle(d, 2)
        d.ok({"op": "queue", "name": "one", "action": "set", "limit": 1})
        ids = submit_many(d, [cpu_spec("spin", {"ms": 300}, queue="one")] * 2)
        done = d.wait_ids(ids, timeout_s=10)["done"]
        for v in done:
            succeeded(v, "spin in queue 'one'")
        eq(max_overlap(intervals(done)), 1, "queue limit 1 (%s)"
           % intervals(done))
    # cpu jobs waiting for a worker are queued jobs for --pending-limit
    with cpu_daemon(1, "--pending-limit", "2") as d:
        wait_pool_idle(d, 1)
        first = d.submit(cpu_spec("spin", {"ms": 3000}))
        d.wait_state(first, "running")
        more = [d.submit(cpu_spec("spin", {"ms": 10})) for _ in range(2)]
        r = d.request({"op": "submit", "job": cpu_spec("spin", {"ms": 10})})
        expect_error(r, "queue_full")
        d.ok({"op": "cancel", "id": first})
        for v in d.wait_ids(more, timeout_s=10)["done"]:
            succeeded(v, "queued spin")


# -- workers that die at start -----------------------------------------------


def test_workers_dying_at_start_back_off():
    # 1 MiB of address space: the worker cannot allocate its buffer (it
    # exits) before it says hello, every time
    if harness.SANITIZED:
        print("  (needs an address-space limit: not in the sanitizer build)")
        return
    t0 = time.monotonic()
    with cpu_daemon(2, "--worker-memory-limit", "1M") as d:
        poll_until(lambda: "keep dying" in d.log(), 2.0,
                   what="'keep dying' in the log")
        jid = d.submit(cpu_spec("spin", {"ms": 1}))
        left = 2.0 - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)    # the window the spawns are counted in
        log = d.log()
        deaths = re.findall(r"worker \d+ \(pid (\d+)\) "
                            r"(?:killed by signal|exited with status)", log)
        delays = [int(ms) for ms in
                  re.findall(r"keep dying.*next start in (\d+) ms", log)]
        check(2 <= len(set(deaths)) <= 8, "%d worker processes died in 2 s "
              "(want 2 to 8: no hot loop)\n%s", len(set(deaths)), log)
        check(len(delays) >= 2 and all(a < b for a, b in zip(delays,
                                                              delays[1:])),
              "back-off does not grow: %s\n%s", delays, log)
        check(re.search(r"worker \d+ \(pid \d+\) ready", log) is None,
              "a worker got ready under a 1M limit\n%s", log)
        for _ in range(3):
            t1 = time.monotonic()
            d.ok({"op": "ping"}, timeout_ms=2000)
            check(time.monotonic() - t1 < 0.5, "ping slow")
        w = d.ok({"op": "stats"})["workers"]
        eq((w["total"], w["busy"]), (2, 0), "stats workers")
        eq(d.status(jid)["state"], "queued", "cpu job without workers")


# -- workers end with the dispatcher -----------------------------------------


def _kill_daemon_check_workers(busy_fn):
    with cpu_daemon(2, expect_exit=None) as d:
        wait_pool_idle(d, 2)
        if busy_fn is not None:
            jid = d.submit(cpu_spec(busy_fn))
            d.wait_state(jid, "running")
        # stats count the workers asked for; a worker just started may
        # not have run its program yet (its command line is the daemon's)
        pids = poll_until(lambda: (lambda p: p if len(p) == 2 else None)(
            workers_of(d.pid)), 5.0, what="two workers running")
        os.kill(d.pid, signal.SIGKILL)      # the daemon only: not its group
        d.proc.wait(timeout=10)
        try:
            poll_until(lambda: not any(alive(p) for p in pids), 5.0,
                       interval=0.05,
                       what="workers %s gone after kill -9 of the daemon "
                       "(%s)" % (pids, "one busy in %s" % busy_fn
                                 if busy_fn else "idle"))
        finally:
            kill_wait([p for p in pids if alive(p)])


def test_idle_workers_exit_when_the_daemon_dies():
    _kill_daemon_check_workers(None)


def test_busy_worker_exits_when_the_daemon_dies():
    # a worker in a function that never returns cannot poll its pipe
    _kill_daemon_check_workers("crashy.loop")


# -- aiojobctl submit cpu ----------------------------------------------------


def test_cpu_limit_is_per_job():
    # one worker, 1 s of CPU per call: four 400 ms spins must all pass
    # (the limit does not add up over calls), a loop is stopped by it
    with cpu_daemon(1, "--worker-cpu-limit", "1") as d:
        ids = submit_many(d, [cpu_spec("spin", {"ms": 400})] * 4)
        for v in d.wait_ids(ids, timeout_s=30)["done"]:
            succeeded(v, "spin under a per-call CPU limit")
        v = run(d, "crashy.loop", timeout_s=30)
        failed(v, "worker_crashed", "loop past the CPU limit",
               r"signal 24|CPU time")
        succeeded(run(d, "spin", {"ms": 100}), "spin on the new worker")


def test_no_workers_refuses_cpu_jobs():
    with Daemon("--workers", "0") as d:
        expect_error(d.request({"op": "submit", "job": cpu_spec("spin", {
            "ms": 1})}), "bad_request", "--workers 0")
        eq(d.ok({"op": "stats"})["workers"], {"total": 0, "busy": 0},
           "workers")


def test_cli_submit_cpu():
    with cpu_daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "cpu", "sha256",
                             "--input", '{"data":"abc"}')
        eq(rc, 0, "submit --wait cpu sha256 (%s)" % show(rc, out, err))
        check(hashlib.sha256(b"abc").hexdigest() in out,
              "the hex is not printed: %s", show(rc, out, err))
        check(re.search(r"(?m)^state:\s+succeeded$", out) is not None,
              "no state line: %r", out)
        # --input before FN; --json prints the reply with the result
        rc, out, err = d.ctl("--json", "submit", "--wait", "cpu", "--input",
                             '{"below": 100}', "primes")
        eq(rc, 0, "--json submit --wait cpu primes (%s)"
           % show(rc, out, err))
        done = json.loads(out.strip().splitlines()[-1])["done"][0]
        eq((done["args"], done["result"]),
           ({"fn": "primes", "input": {"below": 100}}, {"count": 25}),
           "args and result")
        # without --input, no input; with --wait, a failed function exits 1
        rc, out, err = d.ctl("submit", "cpu", "crashy.echo")
        eq(rc, 0, "submit cpu crashy.echo (%s)" % show(rc, out, err))
        v = d.wait_ids([int(out.strip())])["done"][0]
        eq(v["args"], {"fn": "crashy.echo"}, "args without --input")
        rc, out, err = d.ctl("submit", "--wait", "cpu", "crashy.fail")
        eq(rc, 1, "submit --wait of a failing function (%s)"
           % show(rc, out, err))
        check("fn_error" in out and "failed on purpose" in out,
              "error not printed: %s", show(rc, out, err))
        # the common options go before cpu
        rc, out, err = d.ctl("submit", "--queue", "cq", "--timeout", "300ms",
                             "--wait", "cpu", "crashy.loop")
        eq(rc, 1, "timed out cpu job (%s)" % show(rc, out, err))
        check("timeout" in out, "timeout not printed: %r", out)
        # usage errors: exit 2, nothing submitted
        n = d.ok({"op": "stats"})["jobs"]
        for args in (["cpu"], ["cpu", "sha256", "--input", "{bad"],
                     ["cpu", "sha256", "--input", ""],
                     ["cpu", "sha256", "--input", '{"a":1} x'],
                     ["cpu", "sha256", "--input"],
                     ["cpu", "sha256", "extra"],
                     ["cpu", "sha256", "--nosuch"],
                     ["cpu", "--input", "1"]):
            rc, out, err = d.ctl("submit", *args)
            eq(rc, 2, "submit %s (%s)" % (" ".join(args),
                                          show(rc, out, err)))
            check("usage" in err or "aiojobctl:" in err,
                  "no message for %s: %r", args, err)
        eq(d.ok({"op": "stats"})["jobs"], n, "jobs after usage errors")
        # a name the daemon refuses: its error reply, exit 4
        rc, out, err = d.ctl("submit", "cpu", "../x")
        eq(rc, 4, "submit cpu ../x (%s)" % show(rc, out, err))
        check("bad_request" in err, "error code not printed: %r", err)
        rc, out, err = d.ctl("submit", "--help")
        eq(rc, 0, "submit --help")
        check("cpu FN" in out and "--input JSON" in out,
              "submit --help does not mention cpu: %r", out)


if __name__ == "__main__":
    try:
        harness.main()
    finally:
        if _plugin_dir is not None:
            shutil.rmtree(_plugin_dir, ignore_errors=True)
