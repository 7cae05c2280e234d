"""Process trees without cgroups: a daemon that may not create one (here
run as nobody) tracks each exec job by its process group, and its child
dies with the daemon (a parent-death signal). What leaves the group, a
grandchild that calls setsid, escapes, as docs/protocol.md says; these
tests show both halves. Needs root (to start the daemon as nobody)."""

import os
import shutil
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq, poll_until  # noqa: E402
from test_trees import (exec_spec, gone, kill_marked, marked,  # noqa: E402
                        session_leaders)

USER = "nobody"

# A main process and a sleeper it leaves in its process group, forked
# twice so that its parent is gone.
GROUP_TREE = "(sleep 300 &); sleep 300"


def fallback_daemon(*args, **kw):
    return Daemon(*args, run_as=USER, **kw)


def main_processes(token):
    """Marked processes that lead their process group: the job's child."""
    out = []
    for pid in marked(token):
        try:
            if os.getpgid(pid) == pid:
                out.append(pid)
        except OSError:
            pass
    return out


def outside_session(token, pid):
    """Marked processes in a session other than that of process pid."""
    out = []
    for p in marked(token):
        try:
            if os.getsid(p) != os.getsid(pid):
                out.append(p)
        except OSError:
            pass            # gone meanwhile
    return out


def test_fallback_said_at_start():
    """The log says exec jobs run in process groups."""
    with fallback_daemon() as d:
        poll_until(lambda: "process groups" in d.log(), 5,
                   what="the fallback named in the log")


def test_fallback_cancel_kills_the_group_not_what_left_it():
    """Cancel kills the job's process group, a double-forked sleeper in it
    included; a grandchild that called setsid is outside the group and
    outlives the job (the documented escape)."""
    token = uuid.uuid4().hex
    try:
        with fallback_daemon("--kill-grace", "300ms") as d:
            j = d.submit(exec_spec('setsid sh -c "sleep 300; :" & '
                                   + GROUP_TREE, token))
            d.wait_state(j, "running")
            # the setsid'd grandchild and its sleeper: a session of their
            # own, the job's other processes are in the daemon's. Wait for
            # both: the sleeper is forked a moment after its parent called
            # setsid, and one taken for the group would be left behind
            poll_until(lambda: session_leaders(token) and
                       len(outside_session(token, d.pid)) >= 2 and
                       len(marked(token)) >= 4, 10,
                       what="the job's processes started")
            escaped = set(outside_session(token, d.pid))
            d.ok({"op": "cancel", "id": j})
            eq(d.wait_state(j, ("cancelled", "failed", "succeeded"))
               ["state"], "cancelled", "the cancelled job")
            poll_until(lambda: set(marked(token)) <= escaped, 5,
                       what="the job's process group gone (left: %r)"
                       % marked(token))
            check(set(marked(token)) == escaped, "the setsid'd grandchild "
                  "%r did not outlive the job: the docs say it escapes "
                  "process groups", escaped)
    finally:
        kill_marked(token)


def test_fallback_kill9_child_dies_and_recovery_kills_its_group():
    """kill -9 of the daemon: the job's child dies with it (its death
    signal); what it left in its process group is killed at the next
    start, before the job is settled as interrupted."""
    token = uuid.uuid4().hex
    sd = tempfile.mkdtemp(prefix="ajstate", dir="/tmp")
    try:
        with fallback_daemon(state_dir=sd, expect_exit=None) as d1:
            j = d1.submit(exec_spec(GROUP_TREE, token))
            d1.wait_state(j, "running")
            poll_until(lambda: len(marked(token)) >= 2, 10,
                       what="the job's processes started")
            # a submit is answered after a commit, which writes every
            # change before it: the row now names the job's group
            d1.submit_sleep(1)
            leader = main_processes(token)
            eq(len(leader), 1, "the job's child")
            d1.kill()
            poll_until(lambda: not main_processes(token), 5,
                       what="the child killed by its death signal")
            check(marked(token), "the sleeper left in the group is gone "
                  "before the restart; the test shows nothing")
        with fallback_daemon(state_dir=sd) as d2:
            gone(token, "the killed daemon's job", timeout_s=5)
            v = d2.status(j)
            eq((v["state"], (v["error"] or {}).get("code")),
               ("failed", "interrupted"), "the job after the crash")
    finally:
        kill_marked(token)
        shutil.rmtree(sd, ignore_errors=True)


def main():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("SKIP: starting a daemon as %s needs root and setpriv" % USER)
        print("0 passed, 0 failed")
        return
    harness.main()


if __name__ == "__main__":
    main()
