"""Process trees of exec jobs (PROTOCOL 3.3): children die with their job,
and a job never runs twice. Cancel, exit and recovery after a crash reach
every process a job started, those that called setsid or double-forked
included. Needs a cgroup v2 hierarchy the daemon may write (root): without
one a daemon falls back to process groups, which setsid escapes, and these
tests are skipped."""

import os
import shutil
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq, live_processes, poll_until  # noqa: E402

MARK = "AJ_TREE_MARK"

# A main process, a child that leaves the session (setsid) and forks a
# sleeper of its own, and a double-forked sleeper (its parent exits).
TREE = ('setsid sh -c "sleep 300 & sleep 300" & (sleep 300 &); sleep 300')


def marked(token):
    """Live processes whose environment holds MARK=token."""
    want = ("%s=%s" % (MARK, token)).encode()
    return [p for p, _, env in live_processes("environ")
            if want in env.split(b"\0")]


def session_leaders(token):
    """Marked processes that called setsid (their session is their own)."""
    out = []
    for pid in marked(token):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == pid:       # field 6: the session id
            out.append(pid)
    return out


def kill_marked(token):
    """Leave nothing behind, whatever the test found."""
    for pid in marked(token):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def exec_spec(script, token, **fields):
    return dict({"kind": "exec", "args": {
        "argv": ["sh", "-c", script], "env": {MARK: token}}}, **fields)


def cgroups_usable():
    """Whether a daemon run by these tests may create cgroups: a cgroup2
    mount, and a directory made in this process's cgroup there."""
    mount = own = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.startswith("cgroup2 ") and left.split()[3] == "/":
                mount = left.split()[4]
                break
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::/"):
                own = line[3:].strip()
    if mount is None or own is None:
        return False
    probe = os.path.join(mount + own.rstrip("/"), "aj-probe-%d" % os.getpid())
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError:
        return False
    return True


def gone(token, what, timeout_s=10):
    poll_until(lambda: not marked(token), timeout_s,
               what="no process of %s left (left: %r)" % (what,
                                                           marked(token)))


def test_kill9_leaves_no_process_of_running_jobs():
    """kill -9 of the daemon while jobs run that setsid and double-fork:
    after the restart no process of theirs is left, and the jobs are
    interrupted (no retries)."""
    token = uuid.uuid4().hex
    sd = tempfile.mkdtemp(prefix="ajstate", dir="/tmp")
    try:
        with Daemon(state_dir=sd, expect_exit=None) as d1:
            ids = [d1.submit(exec_spec(TREE, token)) for _ in range(2)]
            for i in ids:
                d1.wait_state(i, "running")
            # two jobs of 5 processes each (sh, setsid sh, 3 sleeps)
            poll_until(lambda: len(marked(token)) >= 10, 10,
                       what="both trees started")
            poll_until(lambda: len(session_leaders(token)) >= 2, 10,
                       what="both setsid children started")
            d1.kill()
        with Daemon(state_dir=sd) as d2:
            gone(token, "the jobs of the killed daemon")
            for i in ids:
                v = d2.status(i)
                eq((v["state"], (v["error"] or {}).get("code")),
                   ("failed", "interrupted"), "job %d after the crash" % i)
    finally:
        kill_marked(token)
        shutil.rmtree(sd, ignore_errors=True)


RUN = """\
echo "start $$ $(date +%s%N)" >> "$1"
i=0
while [ $i -lt 30 ]; do
    echo "beat $$ $(date +%s%N)" >> "$1"
    sleep 0.1
    i=$((i + 1))
done
echo "end $$ $(date +%s%N)" >> "$1"
"""


def runs_of(path):
    """Each run's first and last moment (ns), by the pid that wrote it."""
    runs = {}
    with open(path) as f:
        for line in f:
            what, pid, t = line.split()
            first, last, ended = runs.get(pid, (int(t), int(t), False))
            runs[pid] = (min(first, int(t)), max(last, int(t)),
                         ended or what == "end")
    return runs


def test_kill9_retried_locked_job_never_overlaps():
    """A locked job with a retry, killed with the daemon mid-run: its run
    after the restart starts only once the first run's processes (a
    setsid'd writer) are gone; the runs never overlap."""
    token = uuid.uuid4().hex
    sd = tempfile.mkdtemp(prefix="ajstate", dir="/tmp")
    tmp = tempfile.mkdtemp(prefix="ajtree", dir="/tmp")
    log = os.path.join(tmp, "runs")
    script = os.path.join(tmp, "run.sh")
    with open(script, "w") as f:
        f.write(RUN)
    try:
        spec = exec_spec('setsid sh "$0" "$1" & wait', token, retries=1,
                         retry_backoff_ms=0, lock="L")
        spec["args"]["argv"] += [script, log]
        with Daemon(state_dir=sd, expect_exit=None) as d1:
            j = d1.submit(spec)
            d1.wait_state(j, "running")
            poll_until(lambda: os.path.exists(log) and
                       len(open(log).readlines()) >= 3, 10,
                       what="the first run beating")
            d1.kill()
        with Daemon(state_dir=sd) as d2:
            v = d2.wait_state(j, ("succeeded", "failed"), timeout_s=30)
            eq((v["state"], v["attempts"]), ("succeeded", 2),
               "the retried job")
        runs = sorted(runs_of(log).values())
        eq(len(runs), 2, "runs in %r" % runs)
        first, second = runs
        check(first[1] < second[0], "the first run wrote until %d, after "
              "the second started at %d: the runs overlap", first[1],
              second[0])
        check(not first[2] and second[2], "the first run was killed, the "
              "second ended: %r", runs)
    finally:
        kill_marked(token)
        shutil.rmtree(sd, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def test_cancel_kills_setsid_grandchild():
    """Cancel reaches a grandchild that left the job's process group and
    session (setsid)."""
    token = uuid.uuid4().hex
    try:
        with Daemon("--kill-grace", "500ms") as d:
            j = d.submit(exec_spec('setsid sh -c "sleep 300; :" & sleep 300',
                                   token))
            d.wait_state(j, "running")
            poll_until(lambda: session_leaders(token), 10,
                       what="the setsid grandchild started")
            d.ok({"op": "cancel", "id": j})
            eq(d.wait_state(j, ("cancelled", "failed", "succeeded"))
               ["state"], "cancelled", "the cancelled job")
            gone(token, "the cancelled job", timeout_s=5)
    finally:
        kill_marked(token)


def test_timeout_kills_setsid_grandchild():
    """A timeout reaches a setsid'd grandchild that ignores SIGTERM: it is
    killed after the kill grace, and only then does the job end."""
    token = uuid.uuid4().hex
    try:
        with Daemon("--kill-grace", "300ms") as d:
            j = d.submit(exec_spec('setsid sh -c \'trap "" TERM; '
                                   'sleep 300; :\' & sleep 300', token,
                                   timeout_ms=500))
            poll_until(lambda: session_leaders(token), 10,
                       what="the setsid grandchild started")
            v = d.wait_state(j, ("failed", "succeeded", "cancelled"),
                             timeout_s=10)
            eq((v["state"], (v["error"] or {}).get("code")),
               ("failed", "timeout"), "the job")
            check(not marked(token), "processes %r outlived the job's end",
                  marked(token))
    finally:
        kill_marked(token)


def test_shutdown_kills_setsid_grandchild():
    """Shutdown stops a running job's whole tree, a setsid'd grandchild
    included, before the daemon exits."""
    token = uuid.uuid4().hex
    try:
        d = Daemon("--shutdown-timeout", "100ms", "--kill-grace", "300ms")
        with d:
            j = d.submit(exec_spec('setsid sh -c "sleep 300; :" & sleep 300',
                                   token))
            d.wait_state(j, "running")
            poll_until(lambda: session_leaders(token), 10,
                       what="the setsid grandchild started")
            eq(d.stop(), 0, "the daemon's exit status")
        gone(token, "the job stopped by the shutdown", timeout_s=5)
    finally:
        kill_marked(token)


def test_exit0_daemonized_grandchild_killed_after_grace():
    """A job whose main process exits 0 leaving a daemonized grandchild
    (setsid, its output pipes closed) ends after the kill grace with the
    grandchild killed; the job still succeeds."""
    token = uuid.uuid4().hex
    try:
        with Daemon("--kill-grace", "500ms") as d:
            t0 = time.monotonic()
            j = d.submit(exec_spec('setsid sh -c "sleep 300; :" '
                                   '</dev/null >/dev/null 2>&1 & exit 0',
                                   token))
            poll_until(lambda: session_leaders(token) or
                       d.status(j)["state"] != "running", 10,
                       what="the grandchild started")
            v = d.wait_state(j, ("succeeded", "failed"), timeout_s=10)
            eq(v["state"], "succeeded", "the job")
            check(not marked(token), "the grandchild %r outlived its job",
                  marked(token))
            check(time.monotonic() - t0 >= 0.4, "the job ended before "
                  "the kill grace")
    finally:
        kill_marked(token)


def main():
    if os.geteuid() != 0 or not cgroups_usable():
        print("SKIP: no cgroup v2 the daemon may write (these tests need "
              "root and cgroup2)")
        print("0 passed, 0 failed")
        return
    harness.main()


if __name__ == "__main__":
    main()
