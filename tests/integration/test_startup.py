"""Start-up and shutdown: run directory and socket modes, single instance,
stale sockets, refused paths, signals and the shutdown op
(PROTOCOL.md 1 and 4, DESIGN.md "ipc paths")."""

import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, expect_error,  # noqa: E402
                     run_ctl, run_daemon_expect_exit)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def check_refused(rc, out, what):
    check(rc is not None and rc > 0,
          "%s: exit status %s (want a normal non-zero exit, not a signal)"
          "\n%s", what, rc, out)
    check(rc < 128, "%s: exit status %s looks like a signal\n%s", what, rc,
          out)
    check(out.strip() != "", "%s: no message", what)


def test_rundir_and_socket_modes():
    old = os.umask(0o022)
    try:
        d = Daemon(create_rundir=False)
        with d:
            check(os.path.isdir(d.rundir), "run dir not created")
            eq(oct(mode(d.rundir)), oct(0o700), "run dir mode")
            for p in (d.sock_path, d.events_path):
                st = os.lstat(p)
                check(stat.S_ISSOCK(st.st_mode), "%s is not a socket", p)
                eq(oct(stat.S_IMODE(st.st_mode)), oct(0o600),
                   "mode of %s" % p)
    finally:
        os.umask(old)


def test_second_daemon_refused():
    with Daemon() as d:
        t0 = time.monotonic()
        rc, out = run_daemon_expect_exit(["--rundir", d.rundir], timeout=15)
        check_refused(rc, out, "second daemon")
        check("in use" in out.lower() or "already running" in out.lower(),
              "message does not say the address is in use: %r", out)
        check(time.monotonic() - t0 < 10, "second daemon slow to give up")
        check(os.path.exists(d.sock_path), "socket of the first daemon gone")
        with ReqClient(d.url) as c:
            r = c.request({"op": "ping"}, timeout_ms=3000)
        eq((r.get("ok"), r.get("pid")), (True, d.pid), "first still serves")
        # a second daemon on an explicit --url of the first
        rc, out = run_daemon_expect_exit(
            ["--rundir", os.path.join(d.base, "other"), "--url", d.url],
            timeout=15)
        check_refused(rc, out, "second daemon with --url")
        eq(d.ok({"op": "ping"})["pid"], d.pid, "first still serves")
        with ReqClient(d.url) as c:
            r = c.request({"op": "ping"}, timeout_ms=3000)
        eq(r.get("pid"), d.pid, "first serves a new client after --url")


def new_clients_served(d, what, n=5):
    """n clients that connect afresh, one after the other, are answered by
    d: NNG 1.5.2 broke the listener of a live ipc path when a second
    process tried to listen there."""
    for i in range(n):
        with ReqClient(d.url) as c:
            r = c.request({"op": "ping"}, timeout_ms=3000)
        eq(r.get("pid"), d.pid, "%s: new client %d answered" % (what, i))


def test_second_daemon_on_run_dir_names_the_first():
    with Daemon() as d:
        rc, out = run_daemon_expect_exit(
            ["--rundir", d.rundir, "--state-dir",
             os.path.join(d.base, "other-state")], timeout=15)
        check_refused(rc, out, "second daemon on the run directory")
        check("another aiojobsd (pid %d) is already running with run "
              "directory %s" % (d.pid, d.rundir) in out,
              "message does not name the first daemon: %r", out)
        with open(os.path.join(d.rundir, "aiojobsd.pid")) as f:
            eq(f.read().strip(), str(d.pid), "pid file")
        new_clients_served(d, "after a second daemon on the run directory")


def test_second_daemon_on_state_dir_refused():
    with Daemon() as d:
        other = os.path.join(d.base, "other-run")
        rc, out = run_daemon_expect_exit(
            ["--rundir", other, "--state-dir", d.state_dir], timeout=15)
        check_refused(rc, out, "second daemon on the state directory")
        check("another aiojobsd (pid %d) is already running with state "
              "directory %s" % (d.pid, d.state_dir) in out,
              "message does not name the first daemon: %r", out)
        check(not os.path.exists(os.path.join(other, "aiojobsd.sock")),
              "the second daemon listened before it was refused")
        new_clients_served(d, "after a second daemon on the state directory")
        jid = d.submit_sleep(0)
        eq(d.wait_ids([jid])["done"][0]["state"], "succeeded", "job runs")


def test_clients_hanging_up_mid_handshake():
    """Clients that connect to the ipc socket and hang up at once (or after
    a part of the SP header) cost their own connections only: the next
    client is served at once, with no pause. (NNG 1.5.2's listener stopped
    taking connections for good after one such client.)"""
    import socket
    with Daemon() as d:
        for i in range(30):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.sock_path)
            if i % 2:
                s.send(b"\x00SP")
            s.close()
        with ReqClient(d.url) as c:
            r = c.request({"op": "ping"}, timeout_ms=2000)
        eq(r.get("pid"), d.pid, "ping after hang-ups")
        new_clients_served(d, "after hang-ups")
        eq(oct(mode(d.sock_path)), oct(0o600), "socket mode after hang-ups")


def test_stale_socket_replaced():
    first = Daemon()
    with first:
        jid = first.submit_sleep(0)
        first.wait_ids([jid])
        first.kill()
        first.expect_exit = None
        eq(first.proc.returncode, -signal.SIGKILL, "killed")
        check(os.path.exists(first.sock_path), "no stale socket to test")
        with Daemon(rundir=first.rundir) as second:
            r = second.ok({"op": "ping"})
            eq(r["pid"], second.pid, "ping answered by the new daemon")
            check(stat.S_ISSOCK(os.lstat(second.sock_path).st_mode),
                  "socket replaced")


def test_regular_file_not_deleted():
    base = tempfile.mkdtemp(prefix="aj", dir="/tmp")
    try:
        path = os.path.join(base, "aiojobsd.sock")
        with open(path, "w") as f:
            f.write("precious data\n")
        rc, out = run_daemon_expect_exit(["--rundir", base], timeout=15)
        check_refused(rc, out, "regular file at the socket path")
        check("not a socket" in out.lower(),
              "message does not say 'not a socket': %r", out)
        with open(path) as f:
            eq(f.read(), "precious data\n", "file content")
        # same for the event socket path
        os.unlink(path)
        epath = os.path.join(base, "events.sock")
        with open(epath, "w") as f:
            f.write("events data\n")
        rc, out = run_daemon_expect_exit(["--rundir", base], timeout=15)
        check_refused(rc, out, "regular file at the event socket path")
        with open(epath) as f:
            eq(f.read(), "events data\n", "event file content")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_long_ipc_path_refused():
    base = tempfile.mkdtemp(prefix="aj", dir="/tmp")
    try:
        path = base + "/" + "x" * (120 - len(base) - 1)
        eq(len(path), 120, "path length")
        url = "ipc://" + path
        rc, out = run_daemon_expect_exit(["--rundir", base, "--url", url],
                                         timeout=15)
        check_refused(rc, out, "daemon with a 120-byte ipc path")
        check(not os.path.exists(path), "a file was created at the path")
        rc, out, err = run_ctl("--url", url, "ping", rundir=base, timeout=15)
        check(rc in (2, 3), "aiojobctl with a 120-byte ipc path: rc %s, "
              "stderr %r", rc, err)
        check(err.strip() != "", "aiojobctl printed no message")
        # a 120-byte event path too
        rc, out = run_daemon_expect_exit(["--rundir", base,
                                          "--events-url", url], timeout=15)
        check_refused(rc, out, "daemon with a 120-byte event ipc path")
        # a rundir whose socket path is too long
        deep = base + "/" + "d" * (110 - len(base) - 1)
        rc, out = run_daemon_expect_exit(["--rundir", deep], timeout=15)
        check_refused(rc, out, "daemon with a too long run directory")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def check_signal_exit(sig):
    d = Daemon()
    with d:
        jid = d.submit_sleep(0)
        d.wait_ids([jid])
        d.signal(sig)
        eq(d.wait_exit(15), 0, "exit status after %s" % sig.name)
        for p in (d.sock_path, d.events_path):
            check(not os.path.exists(p), "%s left after %s", p, sig.name)


def test_sigterm_graceful():
    check_signal_exit(signal.SIGTERM)


def test_sigint_graceful():
    check_signal_exit(signal.SIGINT)


def test_shutdown_lets_running_job_finish():
    with Daemon() as d:
        jid = d.submit_sleep(500)
        d.wait_state(jid, "running")
        with ReqClient(d.url) as waiter:
            waiter.send_bytes(json.dumps({"op": "wait", "ids": [jid]})
                              .encode(), 2000)
            r = d.ok({"op": "shutdown", "timeout_ms": 5000})
            eq(r, {"ok": True}, "shutdown reply")
            r = json.loads(waiter.recv_bytes(10000))
        eq(r.get("ok"), True, "held wait answered")
        eq([(v["id"], v["state"]) for v in r["done"]], [(jid, "succeeded")],
           "job finished during shutdown")
        eq(d.wait_exit(15), 0, "exit status")
        for p in (d.sock_path, d.events_path):
            check(not os.path.exists(p), "%s left after shutdown", p)


def test_shutdown_cancels_long_job():
    with Daemon() as d:
        jid = d.submit_sleep(30000)
        d.wait_state(jid, "running")
        with ReqClient(d.url) as waiter:
            waiter.send_bytes(json.dumps({"op": "wait", "ids": [jid]})
                              .encode(), 2000)
            t0 = time.monotonic()
            d.ok({"op": "shutdown", "timeout_ms": 300})
            r = json.loads(waiter.recv_bytes(10000))
            eq([(v["id"], v["state"]) for v in r["done"]],
               [(jid, "cancelled")], "long job after shutdown timeout")
        eq(d.wait_exit(15), 0, "exit status")
        dt = time.monotonic() - t0
        check(dt < 5, "daemon took %.1f s to exit with timeout 300 ms", dt)


def test_submit_after_shutdown():
    with Daemon() as d:
        jid = d.submit_sleep(1000)
        d.wait_state(jid, "running")
        with ReqClient(d.url) as c:
            eq(c.request({"op": "shutdown", "timeout_ms": 5000}),
               {"ok": True}, "shutdown reply")
            try:
                r = c.request({"op": "submit", "job": {
                    "kind": "sleep", "args": {"ms": 0}}}, timeout_ms=3000)
            except TimeoutError:
                r = None        # the daemon is already gone: acceptable
            if r is not None:
                expect_error(r, "shutting_down")
        eq(d.wait_exit(15), 0, "exit status")


def test_daemon_usage_errors():
    base = tempfile.mkdtemp(prefix="aj", dir="/tmp")
    try:
        for args in (["--limit", "x"], ["--bogus"], ["--max-hold", "5x"],
                     ["--limit", "-1"], ["extra-arg"]):
            rc, out = run_daemon_expect_exit(["--rundir", base] + args,
                                             timeout=10)
            check_refused(rc, out, "aiojobsd %s" % " ".join(args))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rc, out = run_daemon_expect_exit(["--help"], timeout=10)
    eq(rc, 0, "aiojobsd --help")
    check("--rundir" in out, "help lacks --rundir")
    rc, out = run_daemon_expect_exit(["--version"], timeout=10)
    eq(rc, 0, "aiojobsd --version")


if __name__ == "__main__":
    harness.main()
