"""One daemon for every user: owners, who sees and controls which jobs,
per-owner keys, locks and dependencies, [access] rules, [user.NAME]
tokens over tcp. The daemon runs as root; the clients run as users this
test makes (needs root: skipped otherwise).

python3 test_users.py AIOJOBSD AIOJOBCTL [TEST...]
"""
import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile

import harness

from harness import (Daemon, ReqClient, TestUsers, as_user_cmd, check,
                     clean_env, eq, expect_error, main, poll_until,
                     request_as, run_ctl, run_ctl_as, run_daemon_expect_exit,
                     show, sleep_spec, workers_of)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conf:
    """A configuration file (and token files) in a directory of its own."""

    def __init__(self, text=""):
        self.dir = tempfile.mkdtemp(prefix="ajusers", dir="/tmp")
        self.path = self.write("aiojobsd.conf",
                               "[endpoints]\nsocket_mode = 0666\n" + text)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def table_ids(out):
    """The ids of aiojobctl list's table: the first column of its rows."""
    return [int(line.split()[0]) for line in out.splitlines()[1:]
            if line.strip()]


def skip_unless_root(test):
    if os.geteuid() != 0:
        print("SKIP: %s: needs root to make users" % test)
        return True
    return False


def as_ok(user, d, msg):
    r = request_as(user, d.url, msg)
    check(r.get("ok") is True, "%s as %s: %s", msg.get("op"), user, r)
    return r


def submit_as(user, d, spec):
    return as_ok(user, d, {"op": "submit", "job": spec})["id"]


def test_each_user_sees_and_controls_only_their_own_jobs():
    if skip_unless_root("owners"):
        return
    with TestUsers() as u, Conf() as c:
        a, b = u.user("a"), u.user("b")
        with Daemon("--config", c.path) as d:
            mode = stat.S_IMODE(os.stat(d.rundir).st_mode)
            check(mode & 0o001, "run directory not traversable: %o", mode)
            # ping says whom the daemon takes the sender for
            r = as_ok(a, d, {"op": "ping"})
            eq((r["user"], r["admin"]), (a, False), "A's ping")
            r = d.ok({"op": "ping"})
            eq((r["user"], r["admin"]), ("root", True), "root's ping")
            rc, out, err = run_ctl_as(a, d, "ping")
            check(rc == 0 and "you are %s\n" % a in out, "ping as A: %s",
                  show(rc, out, err))
            ja = submit_as(a, d, sleep_spec(60000))
            jb = submit_as(b, d, sleep_spec(60000))
            # a view names its owner
            eq(as_ok(a, d, {"op": "status", "id": ja})["job"]["owner"], a,
               "owner of A's job")
            for msg in ({"op": "status", "id": ja},
                        {"op": "wait", "ids": [ja], "timeout_ms": 0},
                        {"op": "wait", "ids": [jb, ja], "timeout_ms": 0},
                        {"op": "cancel", "id": ja},
                        {"op": "output", "id": ja}):
                expect_error(request_as(b, d.url, msg), "forbidden", a)
            rc, out, err = run_ctl_as(b, d, "logs", str(ja))
            check(rc != 0 and "forbidden" in err, "logs of A's job as B: %s",
                  show(rc, out, err))
            rc, out, err = run_ctl_as(b, d, "cancel", str(ja))
            check(rc != 0 and "forbidden" in err, "cancel as B: %s",
                  show(rc, out, err))
            # A's job was not touched
            eq(d.status(ja)["state"], "running", "A's job after B's cancel")
            # lists: each their own, root all, owner= only for admins
            ids = [j["id"] for j in as_ok(b, d, {"op": "list"})["jobs"]]
            eq(ids, [jb], "B's list")
            expect_error(request_as(b, d.url, {"op": "list", "owner": a}),
                         "forbidden")
            ids = [j["id"] for j in d.ok({"op": "list"})["jobs"]]
            eq(sorted(ids), sorted([ja, jb]), "root's list")
            r = d.ok({"op": "list", "owner": a})
            eq([j["id"] for j in r["jobs"]], [ja], "root's list of A's")
            rc, out, err = d.ctl("list", "--owner", a)
            eq(rc, 0, "list --owner: " + show(rc, out, err))
            eq(table_ids(out), [ja], "list --owner: " + out)
            # with several owners in sight, the table shows whose
            rc, out, err = d.ctl("list")
            check(rc == 0 and a in out and b in out and "OWNER" in out,
                  "root's list has an owner column: %s", show(rc, out, err))
            rc, out, err = run_ctl_as(b, d, "list")
            check(rc == 0 and "OWNER" not in out, "B's list: %s",
                  show(rc, out, err))
            # root controls both; A its own
            as_ok(a, d, {"op": "cancel", "id": ja})
            d.ok({"op": "cancel", "id": jb})
            eq(d.status(jb)["state"], "cancelled", "B's job cancelled by root")
            check("submitted by %s" % a in d.log(), "submit log names A")


def test_keys_locks_and_after_are_per_owner():
    if skip_unless_root("namespaces"):
        return
    with TestUsers() as u, Conf() as c:
        a, b = u.user("a"), u.user("b")
        with Daemon("--config", c.path) as d:
            # the same key: two jobs, neither a conflict nor a dedupe
            ka = submit_as(a, d, sleep_spec(0, key="k1"))
            kb = submit_as(b, d, sleep_spec(0, key="k1"))
            check(ka != kb, "same key of two users gave one job")
            eq(submit_as(a, d, sleep_spec(0, key="k1")), ka, "A's dedupe")
            r = request_as(b, d.url, {"op": "submit", "job": sleep_spec(
                5, key="k1")})
            expect_error(r, "conflict")
            # the same lock name: A holding it does not hold B back
            la = submit_as(a, d, sleep_spec(60000, lock="L"))
            d.wait_state(la, ("running",))
            lb = submit_as(b, d, sleep_spec(0, lock="L"))
            r = d.wait_ids([lb], timeout_s=10)
            eq(r["done"][0]["state"], "succeeded", "B's locked job")
            # after: only one's own jobs
            r = request_as(b, d.url, {"op": "submit", "job": sleep_spec(
                0, after=[la])})
            expect_error(r, "forbidden")
            mine = submit_as(a, d, sleep_spec(0, after=[ka]))
            eq(d.wait_ids([mine])["done"][0]["state"], "succeeded",
               "A's job after A's")
            d.ok({"op": "cancel", "id": la})


def test_access_rules():
    if skip_unless_root("access"):
        return
    with TestUsers() as u:
        a, b, adm = u.user("a"), u.user("b"), u.user("m")
        g = u.group("x", [a])
        admins = u.group("y", [adm])
        with Conf("\n[access]\nexec = @%s\nadmins = @%s\nqueue = %s\n"
                  % (g, admins, b)) as c, Daemon("--config", c.path) as d:
            spec = {"kind": "exec", "args": {"argv": ["true"]}}
            r = request_as(b, d.url, {"op": "submit", "job": spec})
            expect_error(r, "forbidden", "exec")
            ja = submit_as(a, d, spec)
            eq(d.wait_ids([ja])["done"][0]["state"], "succeeded", "A's exec")
            # daemon-wide ops: admins, and whom their key names
            for msg in ({"op": "shutdown"}, {"op": "clean"}):
                expect_error(request_as(a, d.url, msg), "forbidden")
                expect_error(request_as(b, d.url, msg), "forbidden")
            q = {"op": "queue", "name": "q1", "action": "pause"}
            expect_error(request_as(a, d.url, q), "forbidden")
            as_ok(b, d, q)
            as_ok(adm, d, {"op": "clean"})
            # an admin sees and controls every job
            js = submit_as(a, d, sleep_spec(60000))
            eq(as_ok(adm, d, {"op": "status", "id": js})["job"]["owner"], a,
               "admin's view")
            as_ok(adm, d, {"op": "cancel", "id": js})
            eq(d.status(js)["state"], "cancelled", "cancelled by an admin")
            # reload: an op like the others; it brings new rules in
            rc, out, err = run_ctl_as(b, d, "reload")
            check(rc == 4 and "forbidden" in err, "reload as B: %s",
                  show(rc, out, err))
            with open(c.path, "a") as f:
                f.write("reload = %s\n" % b)
            rc, out, err = d.ctl("reload")
            eq(rc, 0, "reload as root: " + show(rc, out, err))
            rc, out, err = run_ctl_as(b, d, "reload")
            eq(rc, 0, "reload as B, now named: " + show(rc, out, err))
            with open(c.path, "a") as f:
                f.write("exec = nobody-such-user-q\n")
            rc, out, err = d.ctl("reload")
            check(rc == 4 and "nobody-such-user-q" in err,
                  "a reload with an unknown user: %s", show(rc, out, err))
            rc, out, err = run_ctl_as(b, d, "reload")
            check(rc == 4 and "nobody-such-user-q" in err,
                  "the rules stay as they were: %s", show(rc, out, err))
        # a rule naming nobody known stops the start with a clear message
        with Conf("\n[access]\nexec = no-such-user-xyz\n") as c:
            rc, out = run_daemon_expect_exit([
                "--config", c.path, "--rundir", os.path.join(c.dir, "run"),
                "--state-dir", os.path.join(c.dir, "state")])
            check(rc != 0 and "no-such-user-xyz" in out,
                  "unknown user in [access]: %d %s", rc, out)


def test_tokens_act_as_their_user_over_tcp():
    if skip_unless_root("tokens"):
        return
    with TestUsers() as u, Conf() as c:
        a, b = u.user("a"), u.user("b")
        url = "tcp://127.0.0.1:%d" % free_port()
        ta = c.write("a.token", "token-of-a-0123456789\n")
        tb = c.write("b.token", "token-of-b-0123456789\n")
        with open(c.path, "a") as f:
            f.write("\n[listen.net]\nurl = %s\n\n[user.%s]\ntoken_file = %s"
                    "\n\n[user.%s]\ntoken_file = %s\n" % (url, a, ta, b, tb))
        with Daemon("--config", c.path) as d:
            with ReqClient(url) as cl:
                r = cl.request({"op": "submit", "token":
                                "token-of-a-0123456789",
                                "job": sleep_spec(60000)})
                check(r.get("ok"), "submit with A's token: %s", r)
                ja = r["id"]
                r = cl.request({"op": "status", "token":
                                "token-of-a-0123456789", "id": ja})
                eq(r["job"]["owner"], a, "owner by token")
                r = cl.request({"op": "cancel", "token":
                                "token-of-b-0123456789", "id": ja})
                expect_error(r, "forbidden")
                r = cl.request({"op": "ping", "token": "not-a-token"})
                expect_error(r, "unauthorized")
                # with [user.NAME] tokens, none at all is not the daemon's
                r = cl.request({"op": "ping"})
                expect_error(r, "unauthorized", "token missing")
            # over ipc the kernel says who it is, whatever the token
            r = request_as(b, d.url, {"op": "status", "id": ja,
                                      "token": "token-of-a-0123456789"})
            expect_error(r, "forbidden")
            d.ok({"op": "cancel", "id": ja})


def test_events_carry_the_owner():
    if skip_unless_root("events"):
        return
    with TestUsers() as u:
        a = u.user("a")
        g = u.group("e")
        with Conf("events_socket_group = %s\n" % g) as c, \
                Daemon("--config", c.path) as d:
            # the control socket is every user's, the events its group's
            st = os.stat(d.events_path)
            eq(oct(stat.S_IMODE(st.st_mode)), oct(0o660), "events mode")
            eq(st.st_gid, grp.getgrnam(g).gr_gid, "events group")
            eq(oct(stat.S_IMODE(os.stat(d.sock_path).st_mode)), oct(0o666),
               "control mode")
            sub = d.sub()
            d.sync_sub(sub)
            ja = submit_as(a, d, sleep_spec(0))
            evs = sub.events_until(
                lambda evs: any(v.get("id") == ja and
                                v.get("state") == "succeeded"
                                for _, v in evs), 10)
            owners = {v.get("owner") for _, v in evs if v.get("id") == ja}
            eq(owners, {a}, "owner in A's events")


def test_workers_run_as_worker_user():
    """cpu jobs of a root daemon run in workers of worker_user: a
    function given a path reads only what that user may."""
    if skip_unless_root("workers"):
        return
    with TestUsers() as u, Conf() as c:
        a = u.user("a")
        secret = c.write("secret", "root only\n", 0o600)
        public = c.write("public", "anyone\n", 0o644)
        os.chmod(c.dir, 0o755)
        with Daemon("--config", c.path, "--workers", "1", "--worker-user",
                    "nobody") as d:
            def sha(path):
                jid = submit_as(a, d, {"kind": "cpu", "args": {
                    "fn": "sha256", "input": {"path": path}}})
                return d.wait_ids([jid])["done"][0]
            v = sha(secret)
            eq(v["state"], "failed", "sha256 of a root-only file: %s" % v)
            check("Permission denied" in v["error"]["message"],
                  "error: %s", v["error"])
            eq(sha(public)["state"], "succeeded", "sha256 of a public file")
    rc, out = run_daemon_expect_exit(["--worker-user", "no-such-user-wq",
                                      "--rundir", "/tmp/ajnorun-%d"
                                      % os.getpid()])
    check(rc != 0 and "worker_user: no user 'no-such-user-wq'" in out,
          "unknown worker_user: %d %s", rc, out)


def test_workers_hold_no_capabilities():
    """A root daemon's workers keep none of its capabilities."""
    if skip_unless_root("worker capabilities"):
        return
    with Daemon("--workers", "1") as d:
        pids = poll_until(lambda: workers_of(d.pid), 10, what="a worker")

        def caps(pid):
            with open("/proc/%d/status" % pid) as f:
                return {k: v.strip() for k, v in
                        (line.split(":", 1) for line in f)
                        if k.startswith("Cap")}

        c = poll_until(lambda: caps(pids[0]) if caps(pids[0])["CapEff"]
                       == "0000000000000000" else None, 10,
                       what="a worker without capabilities")
        for k in ("CapPrm", "CapEff", "CapAmb"):
            eq(c[k], "0000000000000000", "worker's " + k)
        check(caps(d.pid)["CapEff"] != "0000000000000000",
              "the daemon itself keeps root's")


def test_a_user_without_a_daemon_reaches_the_system_one():
    """aiojobctl of a user who runs no daemon and sets nothing talks to
    /run/aiojobsd, the system daemon's run directory."""
    if skip_unless_root("system rundir"):
        return
    if os.path.exists("/run/aiojobsd"):
        print("SKIP: /run/aiojobsd exists: a system daemon may be there")
        return
    os.mkdir("/run/aiojobsd", 0o700)
    try:
        with TestUsers() as u, Conf() as c:
            a = u.user("a")
            with Daemon("--config", c.path, rundir="/run/aiojobsd",
                        state_dir=os.path.join(c.dir, "state")) as d:
                env = clean_env()
                env.pop("XDG_RUNTIME_DIR", None)
                p = subprocess.run(
                    as_user_cmd(a, [harness.AIOJOBCTL, "submit", "--wait",
                                    "sleep", "1ms"]),
                    capture_output=True, text=True, env=env, timeout=30,
                    cwd="/")
                eq(p.returncode, 0, "submit as A with nothing set: %s %s"
                   % (p.stdout, p.stderr))
                jobs = d.ok({"op": "list", "owner": a})["jobs"]
                eq(len(jobs), 1, "A's job in the system daemon")
    finally:
        shutil.rmtree("/run/aiojobsd", ignore_errors=True)


if __name__ == "__main__":
    main()
