"""Jobs run as their owner: on a daemon running as root, an exec job of
user A runs with A's uid, gid and groups, in A's home unless it names a
directory, with A's HOME, USER and LOGNAME, and cannot read the store; a
job of root runs as root; an owner the system no longer knows fails the
job. Needs root (it makes users): skipped otherwise.

python3 test_runas.py AIOJOBSD AIOJOBCTL [TEST...]
"""
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from harness import (Daemon, TestUsers, as_user_cmd, check, eq, main,
                     poll_until, request_as)


class Conf:
    """A configuration that lets every user reach the socket."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ajrunas", dir="/tmp")
        self.path = os.path.join(self.dir, "aiojobsd.conf")
        with open(self.path, "w") as f:
            f.write("[endpoints]\nsocket_mode = 0666\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def skip_unless_root(test):
    if os.geteuid() != 0:
        print("SKIP: %s: needs root to make users and switch to them" % test)
        return True
    return False


def exec_spec(argv, **args):
    a = {"argv": argv}
    a.update(args)
    return {"kind": "exec", "args": a}


def submit_as(user, d, spec):
    r = request_as(user, d.url, {"op": "submit", "job": spec})
    check(r.get("ok") is True, "submit as %s: %s", user, r)
    return r["id"]


def run_as(user, d, argv, **args):
    """A's exec job, waited for: its view."""
    return d.wait_ids([submit_as(user, d, exec_spec(argv, **args))])[
        "done"][0]


def stdout_of(v, what):
    check(v["state"] == "succeeded", "%s: %s", what, v)
    return v["result"]["stdout"]


def id_as(user):
    """What id prints for user, run through setpriv as that user."""
    return subprocess.run(as_user_cmd(user, ["id"]), capture_output=True,
                          text=True, check=True, cwd="/").stdout


def test_job_runs_with_its_owners_ids_and_groups():
    if skip_unless_root("ids"):
        return
    with TestUsers() as u, Conf() as c:
        a, b = u.user("a"), u.user("b")
        u.group("g", [a])       # a supplementary group, A's only
        with Daemon("--config", c.path) as d:
            eq(stdout_of(run_as(a, d, ["id"]), "A's id"), id_as(a), "A's id")
            eq(stdout_of(run_as(b, d, ["id"]), "B's id"), id_as(b), "B's id")
            # a job of root runs as root, with root's groups
            v = d.wait_ids([d.submit(exec_spec(["id", "-u"]))])["done"][0]
            eq(stdout_of(v, "root's id"), "0\n", "root's job")
            # no way back: real, effective and saved ids are all A's
            v = run_as(a, d, ["sh", "-c", "grep -E '^(Uid|Gid|CapEff):' "
                              "/proc/self/status"])
            lines = stdout_of(v, "status").split("\n")
            pw = pwd.getpwnam(a)
            eq(lines[0].split()[1:], [str(pw.pw_uid)] * 4, "Uid line")
            eq(lines[1].split()[1:], [str(pw.pw_gid)] * 4, "Gid line")
            eq(lines[2].split()[1], "0000000000000000", "CapEff")


def test_job_cannot_read_the_store():
    if skip_unless_root("store"):
        return
    with TestUsers() as u, Conf() as c:
        a = u.user("a")
        # a state directory others could enter, with a readable store:
        # the daemon closes both before a job can look
        top = tempfile.mkdtemp(prefix="ajstate", dir="/tmp")
        os.chmod(top, 0o755)
        state = os.path.join(top, "state")
        os.mkdir(state, 0o755)
        os.chmod(state, 0o755)
        db = os.path.join(state, "jobs.db")
        open(db, "w").close()
        os.chmod(db, 0o644)
        try:
            with Daemon("--config", c.path, state_dir=state) as d:
                eq(stat.S_IMODE(os.stat(state).st_mode), 0o700,
                   "state directory mode")
                for name in os.listdir(state):
                    mode = stat.S_IMODE(os.stat(os.path.join(state,
                                                             name)).st_mode)
                    check(mode & 0o077 == 0, "%s is mode %o", name, mode)
                v = run_as(a, d, ["cat", db])
                eq(v["state"], "failed", "cat of the store as A")
                check("Permission denied" in v["result"]["stderr"],
                      "cat said: %r", v["result"]["stderr"])
                # root's own job still can: it is the daemon's user
                v = d.wait_ids([d.submit(exec_spec(["test", "-r", db]))])
                eq(v["done"][0]["state"], "succeeded", "root reads it")
        finally:
            shutil.rmtree(top, ignore_errors=True)


def test_home_is_the_default_cwd_and_env_says_who():
    if skip_unless_root("home"):
        return
    with TestUsers() as u, Conf() as c:
        a = u.user("a")
        pw = pwd.getpwnam(a)
        show = 'pwd; echo "$HOME|$USER|$LOGNAME"'
        with Daemon("--config", c.path) as d:
            # the home is 0700 (TestUsers): entered as A
            eq(stdout_of(run_as(a, d, ["sh", "-c", show]), "home"),
               "%s\n%s|%s|%s\n" % (pw.pw_dir, pw.pw_dir, a, a), "in home")
            eq(stdout_of(run_as(a, d, ["pwd"], cwd="/usr"), "cwd"), "/usr\n",
               "a cwd of its own")
            # the job's env wins; clear_env leaves only the job's
            eq(stdout_of(run_as(a, d, ["sh", "-c", "echo $HOME"],
                                env={"HOME": "/x"}), "env"), "/x\n",
               "HOME of the job's env")
            eq(stdout_of(run_as(a, d, ["/usr/bin/env"], clear_env=True,
                                env={"ONLY": "1"}), "clear"), "ONLY=1\n",
               "clear_env")
            # a cwd A may not enter fails the job, saying where
            v = run_as(a, d, ["pwd"], cwd="/root")
            eq(v["state"], "failed", "cwd /root as A")
            check("/root" in v["error"]["message"] and
                  "Permission denied" in v["error"]["message"],
                  "error: %s", v["error"])
            # a home A cannot enter (or that is gone): "/"
            os.chmod(pw.pw_dir, 0o000)
            eq(stdout_of(run_as(a, d, ["pwd"]), "no home"), "/\n",
               "home closed")
            os.rmdir(pw.pw_dir)
            eq(stdout_of(run_as(a, d, ["sh", "-c", show]), "no home"),
               "/\n%s|%s|%s\n" % (pw.pw_dir, a, a), "home gone")


def test_owner_the_system_no_longer_knows():
    if skip_unless_root("unknown owner"):
        return
    with TestUsers() as u, Conf() as c:
        # a uid useradd never hands out: a user made by a test running
        # beside this one must not take it over once it is gone
        a = u.user("a", outside_range=True)
        uid = pwd.getpwnam(a).pw_uid
        with Daemon("--config", c.path) as d:
            j = submit_as(a, d, dict(exec_spec(["id"]), delay_ms=1500))
            subprocess.run(["userdel", a], check=True, capture_output=True)
            u.users.remove(a)
            d.signal(signal.SIGHUP)     # a reload forgets cached users
            v = d.wait_ids([j])["done"][0]
            eq(v["state"], "failed", "job of a removed user")
            eq(v["error"]["code"], "spawn_failed", "error code")
            check("uid %d is not a user" % uid in v["error"]["message"],
                  "error: %s", v["error"])


def test_cancel_reaches_a_job_of_another_user():
    if skip_unless_root("cancel"):
        return
    with TestUsers() as u, Conf() as c:
        a = u.user("a")
        with Daemon("--config", c.path) as d:
            j = submit_as(a, d, exec_spec(["sh", "-c", "sleep 60 & wait"]))
            d.wait_state(j, ("running",))
            r = request_as(a, d.url, {"op": "cancel", "id": j})
            check(r.get("ok") is True, "cancel as A: %s", r)
            v = d.wait_ids([j], timeout_s=15)["done"][0]
            eq(v["state"], "cancelled", "A's job cancelled")


def test_non_root_daemon_fails_a_job_of_another_owner():
    if skip_unless_root("non-root daemon"):
        return
    with TestUsers() as u, Conf() as c:
        a, b = u.user("a"), u.user("b")
        state = tempfile.mkdtemp(prefix="ajstate", dir="/tmp")
        try:
            # stored by a root daemon, recovered by one running as B
            with Daemon("--config", c.path, state_dir=state) as d:
                j = submit_as(a, d, dict(exec_spec(["id"]), delay_ms=2000))
            with Daemon(state_dir=state, run_as=b) as d:
                v = d.wait_ids([j])["done"][0]
                eq(v["state"], "failed", "A's job on B's daemon")
                eq(v["error"]["code"], "spawn_failed", "error code")
                check("runs as %s without the privilege" % b
                      in v["error"]["message"], "error: %s", v["error"])
        finally:
            shutil.rmtree(state, ignore_errors=True)


class CapsDaemon(Daemon):
    """A daemon run as a user of its own with CAP_SETUID and CAP_SETGID,
    ambient, and no other capability: what the system unit does. With
    hide_proc, in a /proc that shows it only its own processes, as
    ProtectProc=invisible does."""

    def __init__(self, *args, hide_proc=False, **kw):
        self.hide_proc = hide_proc
        Daemon.__init__(self, *args, **kw)

    def as_user(self, cmd):
        cmd = Daemon.as_user(self, cmd)
        i = cmd.index("--clear-groups") + 1
        cmd = cmd[:i] + ["--inh-caps", "-all,+setuid,+setgid",
                         "--ambient-caps", "+setuid,+setgid",
                         "--bounding-set", "-all,+setuid,+setgid"] + cmd[i:]
        if self.hide_proc:
            cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                   'mount -t proc -o hidepid=invisible proc /proc && '
                   'exec "$@"', "sh"] + cmd
        return cmd


def caps_of(v, what):
    """The capability lines of /proc/self/status a job printed."""
    out = stdout_of(v, what)
    return dict(line.split(":\t") for line in out.splitlines())


CAPS = "grep -E '^Cap(Prm|Eff|Amb|Inh)' /proc/self/status"
NO_CAPS = {k: "0000000000000000" for k in ("CapInh", "CapPrm", "CapEff",
                                            "CapAmb")}


def test_daemon_with_ambient_capabilities_as_the_system_unit():
    if skip_unless_root("ambient capabilities"):
        return
    with TestUsers() as u, Conf() as c:
        a, svc = u.user("a"), u.user("s")
        os.chmod(c.dir, 0o755)
        os.chmod(c.path, 0o644)
        with CapsDaemon("--config", c.path, run_as=svc) as d:
            eq(stdout_of(run_as(a, d, ["id"]), "A's id"), id_as(a), "A's id")
            # nothing the daemon holds reaches a job, its own user's neither
            eq(caps_of(run_as(a, d, ["sh", "-c", CAPS]), "A's caps"), NO_CAPS,
               "capabilities of A's job")
            eq(caps_of(run_as(svc, d, ["sh", "-c", CAPS]), "own caps"),
               NO_CAPS, "capabilities of a job of the daemon's user")
            eq(stdout_of(run_as(a, d, ["sh", "-c", "pwd; echo $USER"]),
                         "home"),
               "%s\n%s\n" % (pwd.getpwnam(a).pw_dir, a), "A's home, USER")
            v = run_as(a, d, ["cat", os.path.join(d.state_dir, "jobs.db")])
            eq(v["state"], "failed", "cat of the store as A")
            check("Permission denied" in v["result"]["stderr"],
                  "cat said: %r", v["result"]["stderr"])
            # cancel: the daemon signals A's processes as A
            j = submit_as(a, d, exec_spec(["sleep", "60"]))
            d.wait_state(j, ("running",))
            d.ok({"op": "cancel", "id": j}, timeout_ms=15000)
            v = d.wait_ids([j], timeout_s=15)["done"][0]
            eq(v["state"], "cancelled", "A's job cancelled")


def test_cancel_sends_sigterm_as_the_owner_behind_protect_proc():
    """The daemon cannot see a user's processes in /proc (the unit's
    ProtectProc=invisible) nor signal them (no CAP_KILL): it signals
    them as their owner, whom it knows from the job."""
    if skip_unless_root("ProtectProc"):
        return
    with TestUsers() as u, Conf() as c:
        a, svc = u.user("a"), u.user("s")
        os.chmod(c.dir, 0o755)
        os.chmod(c.path, 0o644)
        with CapsDaemon("--config", c.path, "--kill-grace", "20s",
                        run_as=svc, hide_proc=True) as d:
            j = submit_as(a, d, exec_spec(
                ["sh", "-c", "trap 'echo term; exit 3' TERM; echo up; "
                 "while :; do sleep 0.05; done"]))
            poll_until(lambda: "up" in (d.ok({"op": "output", "id": j,
                                              "stream": "stdout"})
                                        .get("data") or ""), 10,
                       what="A's job up")
            t0 = time.monotonic()
            d.ok({"op": "cancel", "id": j}, timeout_ms=30000)
            v = d.wait_ids([j], timeout_s=30)["done"][0]
            eq(v["state"], "cancelled", "A's job cancelled")
            check(time.monotonic() - t0 < 10, "cancel took %.1f s: SIGTERM "
                  "did not reach A's job", time.monotonic() - t0)
            check("term" in (v["result"] or {}).get("stdout", ""),
                  "the job saw no SIGTERM: %s", v["result"])


if __name__ == "__main__":
    main()
