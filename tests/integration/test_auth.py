"""Extra control endpoints and their policies: tokens, allow_exec,
allow_kinds, the refusal of unauthenticated endpoints open to the network,
token file checks, socket_group, aiojobctl's token options.

python3 test_auth.py AIOJOBSD AIOJOBCTL [TEST...]
"""
import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import tempfile

import harness
from harness import (Daemon, ReqClient, check, eq, expect_error, main,
                     poll_until, run_ctl, run_daemon_expect_exit, show,
                     sleep_spec)

TOKEN = "s3cret-token-0123456789abcdef"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Setup:
    """A temporary directory with a token file and a configuration."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ajauth", dir="/tmp")
        self.token_file = self.write("token", TOKEN + "\n", 0o600)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def conf(self, text):
        return self.write("aiojobsd.conf", text)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


class TokenDaemon(Daemon):
    """A daemon whose default endpoint needs a token: ready when a ping
    with it is answered."""

    def __init__(self, *args, token, **kw):
        super().__init__(*args, **kw)
        self.token = token

    def wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise harness.DaemonError("aiojobsd exited with %s\n%s"
                                          % (self.proc.returncode,
                                             self.log()))
            try:
                with ReqClient(self.url) as c:
                    r = c.request({"op": "ping", "token": self.token},
                                  timeout_ms=250)
            except TimeoutError:
                return False
            return r.get("ok") is True
        poll_until(ready, self.ready_timeout, interval=0.02,
                   what="aiojobsd ready")


def listen_section(name, url, **keys):
    lines = ["[listen.%s]" % name, "url = %s" % url]
    lines += ["%s = %s" % (k, v) for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def tcp_request(url, msg, timeout_ms=5000):
    with ReqClient(url) as c:
        return c.request(msg, timeout_ms=timeout_ms)


def with_token(msg, token=TOKEN):
    m = dict(msg)
    m["token"] = token
    return m


def job_count(d):
    return sum(d.ok({"op": "stats"})["jobs"].values())


def start_fails(s, conf_text, *flags):
    """aiojobsd with this configuration must refuse to start: its output."""
    path = s.conf(conf_text)
    rc, out = run_daemon_expect_exit(
        ["--config", path, "--rundir", os.path.join(s.dir, "run"),
         "--state-dir", os.path.join(s.dir, "state")] + list(flags))
    eq(rc, 1, "exit status of a refused start (%r)" % out)
    check("listening on" not in out, "the daemon must not start: %r", out)
    return out


# -- tokens ------------------------------------------------------------------

def test_token_required_and_checked():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf(listen_section("api", url, token_file=s.token_file))
        with Daemon("--config", path) as d:
            r = tcp_request(url, {"op": "ping"})
            err = expect_error(r, "unauthorized", "token missing")
            check("api" in err["message"], "endpoint not named: %s", err)
            for bad in ("x" * len(TOKEN),          # same length
                        TOKEN[:-1] + "X",          # one byte off
                        TOKEN[:5],                 # shorter
                        TOKEN + "extra",           # longer
                        ""):
                r = tcp_request(url, with_token({"op": "ping"}, bad))
                err = expect_error(r, "unauthorized", "token wrong")
                check(bad == "" or bad not in err["message"],
                      "the token is echoed: %s", err)
            for bad in (5, None, {"t": TOKEN}, [TOKEN]):
                r = tcp_request(url, with_token({"op": "ping"}, bad))
                expect_error(r, "unauthorized", "token missing")
            # refused before anything else: unknown ops and bad fields too
            expect_error(tcp_request(url, {"op": "nosuch"}), "unauthorized")
            expect_error(tcp_request(url, {"op": "status", "id": "x"}),
                         "unauthorized")
            r = tcp_request(url, with_token({"op": "ping"}))
            eq(r.get("ok"), True, "ping with the right token: %s" % r)
            r = tcp_request(url, with_token(
                {"op": "submit", "job": sleep_spec(0)}))
            eq(r.get("ok"), True, "submit with the token: %s" % r)
            d.wait_ids([r["id"]])
            r = tcp_request(url, with_token({"op": "status", "id": r["id"]}))
            eq(r["job"]["state"], "succeeded", "status over tcp")
            eq(job_count(d), 1, "jobs after the refused requests")
            # the default ipc endpoint needs no token and takes exec jobs
            eq(d.request({"op": "ping"}).get("ok"), True, "ipc ping")
            jid = d.submit({"kind": "exec", "args": {"argv": ["true"]}})
            eq(d.wait_ids([jid])["done"][0]["state"], "succeeded",
               "exec on the default endpoint")


def test_token_literal_and_control_token_file():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        ctl_token = s.write("ctl-token", "ipc-secret", 0o600)
        path = s.conf("[endpoints]\ncontrol_token_file = %s\n\n%s"
                      % (ctl_token, listen_section("lit", url,
                                                   token="literal-tok")))
        with TokenDaemon("--config", path, token="ipc-secret") as d:
            expect_error(tcp_request(url, {"op": "ping"}), "unauthorized")
            r = tcp_request(url, with_token({"op": "ping"}, "literal-tok"))
            eq(r.get("ok"), True, "literal token: %s" % r)
            # the default endpoint now wants its own token
            expect_error(d.request({"op": "ping"}), "unauthorized")
            r = d.request({"op": "ping", "token": "ipc-secret"})
            eq(r.get("ok"), True, "control_token_file: %s" % r)
            expect_error(d.request({"op": "ping", "token": "literal-tok"}),
                         "unauthorized", "token wrong")
            rc, out, err = d.ctl("ping")
            eq(rc, 4, "aiojobctl without the token: " + show(rc, out, err))
            rc, out, err = d.ctl("ping", env={"AIOJOBS_TOKEN": "ipc-secret"})
            eq(rc, 0, "aiojobctl with the token: " + show(rc, out, err))


# -- policies ----------------------------------------------------------------

def test_exec_refused_on_tcp_unless_allowed():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        url2 = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf(listen_section("api", url, token_file=s.token_file)
                      + listen_section("ops", url2, token_file=s.token_file,
                                       allow_exec="true"))
        exec_job = {"kind": "exec", "args": {"argv": ["echo", "hi"]}}
        with Daemon("--config", path) as d:
            r = tcp_request(url, with_token({"op": "submit",
                                             "job": exec_job}))
            err = expect_error(r, "forbidden", "exec")
            check("api" in err["message"], "endpoint not named: %s", err)
            eq(job_count(d), 0, "jobs after a forbidden submit")
            r = tcp_request(url2, with_token({"op": "submit",
                                              "job": exec_job}))
            eq(r.get("ok"), True, "exec with allow_exec: %s" % r)
            v = d.wait_ids([r["id"]])["done"][0]
            eq(v["state"], "succeeded", "exec job state")
            eq(d.status(r["id"])["result"]["stdout"], "hi\n", "exec output")


def test_allow_kinds():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf(listen_section("sleepy", url, token_file=s.token_file,
                                     allow_kinds="sleep"))
        with Daemon("--config", path) as d:
            for spec, kind in (
                    ({"kind": "http", "args": {"url": "http://127.0.0.1:1/"}},
                     "http"),
                    ({"kind": "cpu", "args": {"fn": "primes",
                                              "input": {"below": 10}}},
                     "cpu"),
                    ({"kind": "exec", "args": {"argv": ["true"]}}, "exec")):
                r = tcp_request(url, with_token({"op": "submit",
                                                 "job": spec}))
                err = expect_error(r, "forbidden", kind)
                check("sleepy" in err["message"], "endpoint not named: %s",
                      err)
            r = tcp_request(url, with_token({"op": "submit",
                                             "job": sleep_spec(0)}))
            eq(r.get("ok"), True, "sleep allowed: %s" % r)
            d.wait_ids([r["id"]])
            # an unknown kind is still unknown_kind, not forbidden
            r = tcp_request(url, with_token({"op": "submit", "job": {
                "kind": "nosuch", "args": {}}}))
            expect_error(r, "unknown_kind")
            # a batch with one forbidden job is refused as a whole
            before = job_count(d)
            batch = [sleep_spec(0), sleep_spec(0),
                     {"kind": "cpu", "args": {"fn": "spin",
                                              "input": {"ms": 1}}},
                     sleep_spec(0)]
            for group in (False, True):
                r = tcp_request(url, with_token({"op": "submit",
                                                 "jobs": batch,
                                                 "group": group}))
                err = expect_error(r, "forbidden", "jobs[2]")
                check("cpu" in err["message"], "kind not named: %s", err)
            eq(job_count(d), before, "jobs after the refused batch")
            eq(d.ok({"op": "list", "state": "queued"})["jobs"], [],
               "queued jobs after the refused batch")
            # the same batch on the default endpoint is fine
            ids = d.ok({"op": "submit", "jobs": batch})["ids"]
            eq(len(ids), 4, "batch on the default endpoint")
            d.wait_ids(ids)


def test_listen_flag_default_policy_and_reload():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf("[daemon]\nlimit = 10\n")
        with Daemon("--config", path, "--listen", url) as d:
            r = tcp_request(url, {"op": "ping"})
            eq(r.get("ok"), True, "--listen needs no token: %s" % r)
            r = tcp_request(url, {"op": "submit", "job": {
                "kind": "exec", "args": {"argv": ["true"]}}})
            expect_error(r, "forbidden", "exec")
            r = tcp_request(url, {"op": "submit", "job": sleep_spec(0)})
            eq(r.get("ok"), True, "sleep over --listen: %s" % r)
            # SIGHUP re-applies --listen over the file: nothing to report
            with open(path, "w") as f:
                f.write("[daemon]\nlimit = 11\n")
            d.signal(signal.SIGHUP)
            poll_until(lambda: d.ok({"op": "stats"}) and
                       "configuration reloaded" in d.log(), 10,
                       what="reload")
            check("listen" not in "".join(
                ln for ln in d.log().splitlines(True) if "reload:" in ln
                and "restart" in ln), "--listen reported as changed:\n%s",
                d.log())
            eq(tcp_request(url, {"op": "ping"}).get("ok"), True,
               "--listen endpoint after the reload")
            # a changed [listen.NAME] set needs a restart, and says so
            url2 = "tcp://127.0.0.1:%d" % free_port()
            with open(path, "w") as f:
                f.write("[daemon]\nlimit = 11\n\n" + listen_section(
                    "new", url2, token_file=s.token_file))
            d.signal(signal.SIGHUP)
            poll_until(lambda: "listen.NAME] endpoints changed" in d.log(),
                       10, what="endpoints change reported")
            eq(tcp_request(url, {"op": "ping"}).get("ok"), True,
               "--listen endpoint after the second reload")


def test_too_large_on_tcp_endpoint():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf("[daemon]\nmax_request_bytes = 2000\n\n"
                      + listen_section("api", url, token_file=s.token_file))
        with Daemon("--config", path) as d:
            with ReqClient(url) as c:
                r = c.request(with_token({"op": "ping", "pad": "b" * 3000}))
                expect_error(r, "too_large")
                r = c.request({"op": "ping", "pad": "b" * 3000})
                expect_error(r, "too_large")
                r = c.request(with_token({"op": "submit", "jobs": [
                    sleep_spec(0)] * 200}))
                expect_error(r, "too_large")
                eq(c.request(with_token({"op": "ping"})).get("ok"), True,
                   "ping after too_large")
            eq(job_count(d), 0, "jobs after too_large")
            # 16 x the limit (at least 16 MiB) is dropped by the transport;
            # the endpoint keeps serving
            with ReqClient(url) as c:
                try:
                    c.request(with_token({"op": "ping",
                                          "pad": "c" * (17 << 20)}),
                              timeout_ms=1000)
                except TimeoutError:
                    pass
            eq(tcp_request(url, with_token({"op": "ping"})).get("ok"), True,
               "ping after a dropped message")


# -- refusals at start -------------------------------------------------------

def test_token_file_checks():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        os.chmod(s.token_file, 0o644)
        out = start_fails(s, listen_section("api", url,
                                            token_file=s.token_file))
        check(s.token_file in out and "0644" in out, "message: %r", out)
        os.chmod(s.token_file, 0o620)
        out = start_fails(s, listen_section("api", url,
                                            token_file=s.token_file))
        check("0620" in out, "group-writable token file: %r", out)
        empty = s.write("empty", "\n", 0o600)
        out = start_fails(s, listen_section("api", url, token_file=empty))
        check("empty" in out, "empty token file: %r", out)
        out = start_fails(s, listen_section(
            "api", url, token_file=os.path.join(s.dir, "missing")))
        check("missing" in out, "missing token file: %r", out)
        if os.geteuid() == 0:
            other = s.write("other", TOKEN, 0o600)
            os.chown(other, pwd.getpwnam("nobody").pw_uid, -1)
            out = start_fails(s, listen_section("api", url, token_file=other))
            check("owned by" in out, "token file of another user: %r", out)
        else:
            print("  (token file owner check needs root)")
        # the default endpoint's token file is checked the same way
        os.chmod(s.token_file, 0o640)
        out = start_fails(s, "[endpoints]\ncontrol_token_file = %s\n"
                          % s.token_file)
        check("0640" in out, "control_token_file: %r", out)


def test_config_errors_name_file_and_line():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        cases = [
            ("[listen.a]\nurl = %s\nallow_kinds = sleep, rm\n" % url, 3,
             "unknown kind 'rm'"),
            ("[daemon]\nlimit = 1\n\n[listen.a]\nallow_exec = true\n", 4,
             "has no url"),
            ("[listen.a]\nurl = http://x/\n", 2, "tcp://HOST:PORT"),
            ("[listen.a]\nurl = %s\ntoken = x\ntoken_file = /y\n" % url, 4,
             "token and token_file"),
            ("[listen.a]\nurl = %s\ntoken =\n" % url, 3, "empty"),
            ("[listen.a]\nurl = %s\nallow_exec = maybe\n" % url, 3,
             "true or false"),
            ("[listen.a]\nurl = %s\nsecret = x\n" % url, 3,
             "unknown key 'secret'"),
            ("[daemon]\n[listen.a b]\nurl = %s\n" % url, 2, "endpoint name"),
            ("[endpoints]\nsocket_mode = 0644\n", 2, "0600, 0660 or 0666"),
        ]
        for text, line, why in cases:
            out = start_fails(s, text)
            want = "%s:%d: " % (os.path.join(s.dir, "aiojobsd.conf"), line)
            check(want in out and why in out, "%r: %r lacks %r and %r",
                  text, out, want, why)
        out = start_fails(s, "[endpoints]\nsocket_group = no-such-group-x\n")
        check("no-such-group-x" in out, "unknown group: %r", out)
        out = start_fails(s, listen_section("a", url)
                          + listen_section("b", url))
        check("both listen on" in out, "a URL twice: %r", out)


def test_non_loopback_needs_a_token():
    with Setup() as s:
        port = free_port()
        url = "tcp://0.0.0.0:%d" % port
        out = start_fails(s, listen_section("wide", url))
        check("wide" in out and "insecure_no_token" in out, "message: %r",
              out)
        out = start_fails(s, "[daemon]\nlimit = 1\n", "--listen", url)
        check(url in out and "token" in out, "--listen message: %r", out)
        for host in ("*", "10.1.2.3", "[::]", "eth0"):
            out = start_fails(s, listen_section(
                "wide", "tcp://%s:%d" % (host, port)))
            check("insecure_no_token" in out, "%s: %r", host, out)
        # with a token it is accepted (checked without binding it)
        path = s.conf(listen_section("wide", url, token_file=s.token_file))
        rc, out = run_daemon_expect_exit(["--config", path,
                                          "--check-config"])
        eq(rc, 0, "non-loopback endpoint with a token: %r" % out)
        # loopback addresses need none
        lo = "tcp://127.0.0.2:%d" % free_port()
        path = s.conf(listen_section("lo", lo))
        with Daemon("--config", path):
            eq(tcp_request(lo, {"op": "ping"}).get("ok"), True,
               "127.0.0.2 without a token")
        # insecure_no_token = true: starts, with a warning
        path = s.conf(listen_section("wide", url, insecure_no_token="true"))
        with Daemon("--config", path) as d:
            check("insecure_no_token" in d.log() and "wide" in d.log(),
                  "no warning in the log:\n%s", d.log())
            r = tcp_request("tcp://127.0.0.1:%d" % port, {"op": "ping"})
            eq(r.get("ok"), True, "insecure endpoint: %s" % r)


# -- socket files ------------------------------------------------------------

def test_socket_group_and_mode():
    if os.geteuid() == 0:
        names = [g.gr_name for g in grp.getgrall() if g.gr_gid != 0]
        group = "daemon" if "daemon" in names else names[0]
    else:
        group = grp.getgrgid(os.getegid()).gr_name
    gid = grp.getgrnam(group).gr_gid
    with Setup() as s:
        path = s.conf("[endpoints]\nsocket_group = %s\n" % group)
        with Daemon("--config", path) as d:
            for sock in (d.sock_path, d.events_path):
                st = os.stat(sock)
                check(stat.S_ISSOCK(st.st_mode), "%s is not a socket", sock)
                eq(oct(st.st_mode & 0o777), oct(0o660), "mode of " + sock)
                eq(st.st_gid, gid, "group of " + sock)
            st = os.stat(d.rundir)
            eq(oct(st.st_mode & 0o777), oct(0o750), "mode of the run dir")
            eq(st.st_gid, gid, "group of the run dir")
            eq(d.request({"op": "ping"}).get("ok"), True, "ping")
        # socket_mode = 0600 with the group: the group owns, cannot connect
        path = s.conf("[endpoints]\nsocket_group = %s\nsocket_mode = 0600\n"
                      % group)
        with Daemon("--config", path) as d:
            st = os.stat(d.sock_path)
            eq(oct(st.st_mode & 0o777), oct(0o600), "socket_mode 0600")
            eq(st.st_gid, gid, "group with socket_mode 0600")
        # no group: 0600 in a 0700 directory
        with Daemon() as d:
            eq(oct(os.stat(d.sock_path).st_mode & 0o777), oct(0o600),
               "default socket mode")
            eq(oct(os.stat(d.rundir).st_mode & 0o777), oct(0o700),
               "default run dir mode")


# -- aiojobctl ---------------------------------------------------------------

def test_aiojobctl_token_options():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf(listen_section("api", url, token_file=s.token_file))
        with Daemon("--config", path) as d:
            rc, out, err = run_ctl("--url", url, "ping")
            eq(rc, 4, "no token: " + show(rc, out, err))
            check("unauthorized" in err, "stderr: %r", err)
            rc, out, err = run_ctl("--url", url, "ping",
                                   env={"AIOJOBS_TOKEN_FILE": s.token_file})
            eq(rc, 0, "AIOJOBS_TOKEN_FILE: " + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "--token-file",
                                   s.token_file, "ping")
            eq(rc, 0, "--token-file: " + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "ping",
                                   env={"AIOJOBS_TOKEN": TOKEN})
            eq(rc, 0, "AIOJOBS_TOKEN: " + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "ping",
                                   env={"AIOJOBS_TOKEN": "nope"})
            eq(rc, 4, "wrong AIOJOBS_TOKEN: " + show(rc, out, err))
            check("unauthorized" in err and "nope" not in err,
                  "stderr: %r", err)
            # the file beats the environment
            rc, out, err = run_ctl("--url", url, "--token-file",
                                   s.token_file, "ping",
                                   env={"AIOJOBS_TOKEN": "nope"})
            eq(rc, 0, "--token-file over AIOJOBS_TOKEN: "
               + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "--token-file",
                                   os.path.join(s.dir, "missing"), "ping")
            eq(rc, 2, "missing token file: " + show(rc, out, err))
            env = {"AIOJOBS_TOKEN_FILE": s.token_file}
            rc, out, err = run_ctl("--url", url, "submit", "--wait", "sleep",
                                   "10ms", env=env)
            eq(rc, 0, "submit --wait over tcp: " + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "submit", "exec", "true",
                                   env=env)
            eq(rc, 4, "exec over tcp: " + show(rc, out, err))
            check("forbidden" in err, "stderr: %r", err)
            rc, out, err = run_ctl("--url", url, "--json", "stats", env=env)
            eq(rc, 0, "stats over tcp: " + show(rc, out, err))
            # the default endpoint ignores a token it does not need
            rc, out, err = d.ctl("ping", env={"AIOJOBS_TOKEN": "whatever"})
            eq(rc, 0, "ipc ping with a token: " + show(rc, out, err))


if __name__ == "__main__":
    main()
