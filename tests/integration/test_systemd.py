"""systemd integration: the sd_notify protocol on a fake NOTIFY_SOCKET
(READY=1 only once the endpoints answer, STATUS=, WATCHDOG=1, STOPPING=1),
systemd's variables kept from jobs and workers, and the unit files
(systemd-analyze verify and security).

The configured unit files are found in $AIOJOBS_UNIT_DIR (the build
directory of systemd/); without it the sources in ../../systemd are used."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Daemon, check, clean_env, eq, poll_until,  # noqa: E402
                     workers_of)

# The exposure systemd-analyze security gives the system unit (systemd
# 252): 2.0 "OK" since it starts each exec job as its owner (ambient
# CAP_SETUID and CAP_SETGID, readable homes, without @resources; 1.7
# before, 1.5 before it delegated its cgroup). Issue 17 set 2.0 as the
# bound: no margin, a change that loosens the unit shows here.
SECURITY_MAX = 2.0

STATUS_RE = re.compile(r"^(stopping: )?(\d+) running, (\d+) queued"
                       r"(, (\d+)/(\d+) workers busy)?$")


class Notify:
    """A fake systemd notification socket: AF_UNIX datagrams."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []        # (monotonic time, {name: value})

    def recv(self, timeout_s):
        """The next message as {name: value}, or None after timeout_s."""
        self.sock.settimeout(max(timeout_s, 0.001))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return None
        fields = {}
        for line in data.decode().split("\n"):
            if line:
                k, _, v = line.partition("=")
                fields[k] = v
        self.messages.append((time.monotonic(), fields))
        return fields

    def wait_for(self, name, timeout_s=10.0, pred=None):
        """Messages until one has name (and pred(message) holds)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %.1f s; got %s"
                                     % (name, timeout_s,
                                        [m for _, m in self.messages]))
            m = self.recv(left)
            if m is not None and name in m and (pred is None or pred(m)):
                return m

    def close(self):
        self.sock.close()


class NotifyDaemon(Daemon):
    """A Daemon started as systemd would: NOTIFY_SOCKET, maybe a watchdog.
    Readiness is READY=1 on the socket, not a ping."""

    def __init__(self, *args, watchdog_usec=None, watchdog_pid=None,
                 env=None, **kw):
        super().__init__(*args, **kw)
        self.notify = Notify(os.path.join(self.base, "notify.sock"))
        self.watchdog_usec = watchdog_usec
        self.watchdog_pid = watchdog_pid
        self.extra_env = env or {}

    def start(self):
        self._log = open(self.log_path, "ab")
        cmd = ([harness.AIOJOBSD, "--rundir", self.rundir, "-v"]
               + self.state_args() + self.args)
        env = clean_env(AIOJOBS_RUNDIR=self.rundir,
                        XDG_STATE_HOME=self.state_dir,
                        XDG_DATA_HOME=self.state_dir,
                        NOTIFY_SOCKET=self.notify.path, **self.extra_env)
        if self.watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(self.watchdog_usec)
            if self.watchdog_pid is not None:
                env["WATCHDOG_PID"] = str(self.watchdog_pid)
            else:
                # sd_watchdog_enabled wants WATCHDOG_PID == getpid(): the
                # shell's pid is the daemon's once it execs.
                cmd = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh"] + cmd
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._log, env=env, start_new_session=True)
        self.pid = self.proc.pid
        return self

    def cleanup(self):
        self.notify.close()
        super().cleanup()


def endpoint_listening(path):
    """Whether something accepts connections on the ipc socket file now."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def status_of(m):
    st = STATUS_RE.match(m.get("STATUS", ""))
    check(st is not None, "STATUS line %r not as expected", m.get("STATUS"))
    return st


def test_ready_after_bind_then_stopping():
    with NotifyDaemon("--workers", "2") as d:
        m = d.notify.wait_for("READY")
        # READY=1 means serving: the endpoint must answer right now, not
        # after a retry, and the store must be open.
        check(endpoint_listening(d.sock_path), "READY=1 before the control "
              "endpoint listens")
        check(endpoint_listening(d.events_path), "READY=1 before the event "
              "endpoint listens")
        eq(d.request({"op": "ping"}, timeout_ms=2000).get("ok"), True,
           "ping at READY=1")
        check(os.path.exists(os.path.join(d.state_dir, "jobs.db")),
              "READY=1 before the store is open")
        eq(m["READY"], "1", "READY value")
        st = status_of(m)
        eq((st.group(1), st.group(2), st.group(3)), (None, "0", "0"),
           "counts at start")
        eq((st.group(5), st.group(6)), ("0", "2"), "workers busy/total")
        before = [x for _, x in d.notify.messages[:-1]]
        check(not any("READY" in x for x in before), "READY=1 twice")
        d.signal(signal.SIGTERM)
        m = d.notify.wait_for("STOPPING")
        eq(m["STOPPING"], "1", "STOPPING value")
        eq(status_of(m).group(1), "stopping: ", "STATUS while stopping")
        eq(d.wait_exit(), 0, "exit status")


def test_status_counts():
    with NotifyDaemon("--workers", "0", "--limit", "1",
                      "--shutdown-timeout", "500ms") as d:
        d.notify.wait_for("READY")
        d.submit_sleep(60000)
        d.submit_sleep(60000)
        # the STATUS= line is refreshed every 5 s
        m = d.notify.wait_for(
            "STATUS", 12, lambda x: status_of(x).group(2, 3) == ("1", "1"))
        check("READY" not in m and "STOPPING" not in m,
              "refresh is STATUS= only: %s", m)
        check(STATUS_RE.match(m["STATUS"]).group(4) is None,
              "no workers to report: %s", m)
        d.signal(signal.SIGTERM)
        m = d.notify.wait_for("STOPPING")
        eq(status_of(m).group(1, 2, 3), ("stopping: ", "1", "1"),
           "counts at STOPPING=1")
        eq(d.wait_exit(), 0, "exit status")


def test_reload():
    d = NotifyDaemon("--workers", "0")
    conf = os.path.join(d.base, "aiojobsd.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nlimit = 3\n")
    d.args += ["--config", conf]
    with d:
        d.notify.wait_for("READY")
        with open(conf, "w") as f:
            f.write("[daemon]\nlimit = 4\n")
        d.signal(signal.SIGHUP)
        m = d.notify.wait_for("RELOADING")
        eq(m["RELOADING"], "1", "RELOADING value")
        m = d.notify.wait_for("READY")
        eq(m["READY"], "1", "READY=1 after the reload")
        status_of(m)
        # a file that does not parse: the old configuration, READY=1 again
        with open(conf, "w") as f:
            f.write("[daemon]\nlimit = many\n")
        d.signal(signal.SIGHUP)
        d.notify.wait_for("RELOADING")
        d.notify.wait_for("READY")
        eq(d.request({"op": "ping"}).get("ok"), True, "ping")


def test_watchdog():
    with NotifyDaemon("--workers", "0", watchdog_usec=200000) as d:
        d.notify.wait_for("READY")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            d.notify.recv(0.1)
        pings = [t for t, m in d.notify.messages if "WATCHDOG" in m]
        # every usec/2 = 100 ms: about 15 in 1.5 s
        check(len(pings) >= 8, "only %d WATCHDOG=1 in 1.5 s", len(pings))
        check(len(pings) <= 40, "%d WATCHDOG=1 in 1.5 s", len(pings))
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        check(max(gaps) < 0.5, "WATCHDOG=1 gap of %.2f s", max(gaps))
        eq(d.request({"op": "ping"}).get("ok"), True, "ping")


def test_watchdog_for_another_pid():
    # WATCHDOG_PID of some other process: the watchdog is not ours
    with NotifyDaemon("--workers", "0", watchdog_usec=200000,
                      watchdog_pid=os.getpid()) as d:
        d.notify.wait_for("READY")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.6:
            d.notify.recv(0.1)
        check(not any("WATCHDOG" in m for _, m in d.notify.messages),
              "WATCHDOG=1 sent for another process's watchdog")


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return [e.decode(errors="replace") for e in f.read().split(b"\0")
                if e]


PRIVATE = ("NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=")


def test_children_without_notify_socket():
    with NotifyDaemon("--workers", "1", watchdog_usec=10000000,
                      env={"AJ_MARKER": "inherited"}) as d:
        d.notify.wait_for("READY")
        jid = d.submit({"kind": "exec", "args": {"argv": ["env"]}})
        v = d.wait_ids([jid])["done"][0]
        eq(v["state"], "succeeded", "env job")
        env = v["result"]["stdout"].splitlines()
        check("AJ_MARKER=inherited" in env, "the daemon's environment is "
              "not passed on at all: %s", env)
        leaked = [e for e in env if e.startswith(PRIVATE)]
        eq(leaked, [], "systemd variables in an exec job")
        # a job may still set them itself
        jid = d.submit({"kind": "exec", "args": {
            "argv": ["sh", "-c", 'echo "$NOTIFY_SOCKET"'],
            "env": {"NOTIFY_SOCKET": "/mine"}}})
        v = d.wait_ids([jid])["done"][0]
        eq(v["result"]["stdout"], "/mine\n", "the job's own NOTIFY_SOCKET")
        workers = poll_until(lambda: workers_of(d.pid), 10,
                             what="a cpu worker")
        for w in workers:
            env = environ_of(w)
            check("AJ_MARKER=inherited" in env, "worker environment: %s",
                  env)
            eq([e for e in env if e.startswith(PRIVATE)], [],
               "systemd variables in worker %d" % w)


# -- the unit files ----------------------------------------------------------


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if path is None:
        print("  skipped: systemd-analyze not found (install systemd)")
    return path


def unit_copies(tmp):
    """Copies of the system and user units whose ExecStart= is the built
    daemon (verify checks that the binary exists). Returns their paths."""
    unit_dir = os.environ.get("AIOJOBS_UNIT_DIR")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "..", "systemd")
    if unit_dir:
        names = [("aiojobsd.service", "system"),
                 ("aiojobsd-user.service", "user")]
    else:
        unit_dir = src
        names = [("aiojobsd.service.in", "system"),
                 ("aiojobsd-user.service.in", "user")]
    out = []
    for name, kind in names:
        with open(os.path.join(unit_dir, name)) as f:
            text = f.read()
        check(re.search(r"^ExecStart=\S*/aiojobsd$", text, re.M),
              "%s: no ExecStart=.../aiojobsd", name)
        text = re.sub(r"^ExecStart=.*$", "ExecStart=" + harness.AIOJOBSD,
                      text, flags=re.M)
        os.makedirs(os.path.join(tmp, kind), exist_ok=True)
        # both are aiojobsd.service, as installed
        path = os.path.join(tmp, kind, "aiojobsd.service")
        with open(path, "w") as f:
            f.write(text)
        out.append(path)
    return out


def analyze(args, tmp, timeout=60):
    # --user needs a runtime directory to resolve RuntimeDirectory= in
    env = clean_env(XDG_RUNTIME_DIR=os.path.join(tmp, "xdg"),
                    SYSTEMD_LOG_LEVEL="notice")
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
    p = subprocess.run(args, capture_output=True, text=True, env=env,
                       errors="replace", timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout + p.stderr


def test_units_verify():
    sa = systemd_analyze()
    if sa is None:
        return
    tmp = tempfile.mkdtemp(prefix="ajunit", dir="/tmp")
    try:
        system, user = unit_copies(tmp)
        # --man=no: the man page is in docs/, not necessarily installed here
        for args in ([sa, "verify", "--man=no", system],
                     [sa, "--user", "verify", "--man=no", user]):
            rc, out = analyze(args, tmp)
            print("  %s: rc %d %r" % (" ".join(args[1:3]), rc, out.strip()))
            eq((rc, out.strip()), (0, ""), " ".join(args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_units_security():
    sa = systemd_analyze()
    if sa is None:
        return
    tmp = tempfile.mkdtemp(prefix="ajunit", dir="/tmp")
    try:
        system, user = unit_copies(tmp)
        rc, out = analyze([sa, "security", "--offline=true", system], tmp)
        m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", out)
        check(rc == 0 and m is not None, "security: rc %d\n%s", rc, out)
        score, rating = float(m.group(1)), m.group(2)
        print("  system unit: exposure %.1f %s" % (score, rating))
        check(score <= SECURITY_MAX, "exposure %.1f above %.1f\n%s", score,
              SECURITY_MAX, out)
        eq(rating, "OK", "rating of the system unit")
        rc, out = analyze([sa, "--user", "security", "--offline=true", user],
                          tmp)
        m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", out)
        check(rc == 0 and m is not None, "user security: rc %d\n%s", rc, out)
        print("  user unit: exposure %s %s" % (m.group(1), m.group(2)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unit_settings(path):
    """The unit's Key=value settings, as {key: [values]}."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.fullmatch(r"(\w+)=(.*)", line.strip())
            if m:
                out.setdefault(m.group(1), []).append(m.group(2))
    return out


def test_system_unit_switches_users_with_two_capabilities():
    """A shared daemon: its own user with CAP_SETUID and CAP_SETGID,
    ambient, to run each exec job as its owner, and no other capability;
    the store the daemon's only; homes readable, the default cwd of
    users' jobs."""
    tmp = tempfile.mkdtemp(prefix="ajunit", dir="/tmp")
    try:
        system, _ = unit_copies(tmp)
        u = unit_settings(system)
        eq(u.get("User"), ["aiojobsd"], "User")
        eq(u.get("CapabilityBoundingSet"), ["CAP_SETUID CAP_SETGID"],
           "CapabilityBoundingSet")
        eq(u.get("AmbientCapabilities"), ["CAP_SETUID CAP_SETGID"],
           "AmbientCapabilities")
        eq(u.get("StateDirectoryMode"), ["0700"], "StateDirectoryMode")
        eq(u.get("NoNewPrivileges"), ["yes"], "NoNewPrivileges")
        eq(u.get("ProtectHome"), ["read-only"], "ProtectHome")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    harness.main()
