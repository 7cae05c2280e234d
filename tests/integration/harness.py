"""Integration test harness for aiojobsd.

Python 3 standard library only.  Provides:

* ``NN`` and the ``ReqClient`` / ``SubClient`` / ``RawReqClient`` classes:
  a ctypes binding to libnanomsg.so.5;
* ``Daemon``: starts a real aiojobsd in the foreground on a fresh temporary
  run directory, waits for readiness by retrying ``ping`` and stops it with
  SIGTERM + wait;
* a tiny test runner: ``main()`` runs the ``test_*`` functions of the calling
  script and prints ``N passed, N failed``.

Every test script is invoked as ``python3 test_x.py AIOJOBSD AIOJOBCTL [TEST...]``.
"""

import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback

# Paths of the binaries under test, set by main().
AIOJOBSD = None
AIOJOBCTL = None

# Set by scripts/test for the AddressSanitizer build: its allocator keeps
# freed memory in quarantine and needs terabytes of address space, so
# memory bounds and address-space limits mean nothing there (they are
# checked in the normal build).
SANITIZED = os.environ.get("AIOJOBS_SANITIZED") == "1"


def check_memory(cond, msg="memory bound", *fmt):
    """check() for a memory bound; skipped (said so) under a sanitizer."""
    if SANITIZED:
        print("  (memory bound not checked in the sanitizer build)")
        return
    check(cond, msg, *fmt)

# ---------------------------------------------------------------------------
# nanomsg binding
# ---------------------------------------------------------------------------


class NN:
    """Constants of <nanomsg/nn.h>, reqrep.h and pubsub.h (nanomsg 1.1.5)."""

    AF_SP = 1
    AF_SP_RAW = 2
    NN_PROTO_PUBSUB = 2
    NN_PROTO_REQREP = 3
    NN_PUB = NN_PROTO_PUBSUB * 16 + 0      # 32
    NN_SUB = NN_PROTO_PUBSUB * 16 + 1      # 33
    NN_REQ = NN_PROTO_REQREP * 16 + 0      # 48
    NN_REP = NN_PROTO_REQREP * 16 + 1      # 49
    NN_SOL_SOCKET = 0
    NN_LINGER = 1
    NN_SNDTIMEO = 4
    NN_RCVTIMEO = 5
    NN_RECONNECT_IVL = 6
    NN_RCVMAXSIZE = 16
    NN_SUB_SUBSCRIBE = 1                   # level NN_SUB
    NN_REQ_RESEND_IVL = 1                  # level NN_REQ
    NN_DONTWAIT = 1
    NN_MSG = ctypes.c_size_t(-1).value
    PROTO_SP = 1
    SP_HDR = 1
    NN_STAT_CURRENT_CONNECTIONS = 201
    INT_MAX = 2 ** 31 - 1

    _lib = None

    @classmethod
    def lib(cls):
        if cls._lib is None:
            name = "libnanomsg.so.5"
            try:
                lib = ctypes.CDLL(name, use_errno=True)
            except OSError:
                found = ctypes.util.find_library("nanomsg")
                if not found:
                    raise
                lib = ctypes.CDLL(found, use_errno=True)
            lib.nn_socket.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.nn_socket.restype = ctypes.c_int
            lib.nn_close.argtypes = [ctypes.c_int]
            lib.nn_close.restype = ctypes.c_int
            lib.nn_setsockopt.argtypes = [ctypes.c_int, ctypes.c_int,
                                          ctypes.c_int, ctypes.c_void_p,
                                          ctypes.c_size_t]
            lib.nn_setsockopt.restype = ctypes.c_int
            lib.nn_connect.argtypes = [ctypes.c_int, ctypes.c_char_p]
            lib.nn_connect.restype = ctypes.c_int
            lib.nn_bind.argtypes = [ctypes.c_int, ctypes.c_char_p]
            lib.nn_bind.restype = ctypes.c_int
            lib.nn_send.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                    ctypes.c_size_t, ctypes.c_int]
            lib.nn_send.restype = ctypes.c_int
            lib.nn_recv.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                    ctypes.c_size_t, ctypes.c_int]
            lib.nn_recv.restype = ctypes.c_int
            lib.nn_sendmsg.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                       ctypes.c_int]
            lib.nn_sendmsg.restype = ctypes.c_int
            lib.nn_freemsg.argtypes = [ctypes.c_void_p]
            lib.nn_freemsg.restype = ctypes.c_int
            lib.nn_errno.argtypes = []
            lib.nn_errno.restype = ctypes.c_int
            lib.nn_strerror.argtypes = [ctypes.c_int]
            lib.nn_strerror.restype = ctypes.c_char_p
            lib.nn_get_statistic.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.nn_get_statistic.restype = ctypes.c_uint64
            cls._lib = lib
        return cls._lib

    @classmethod
    def error(cls, what):
        err = cls.lib().nn_errno()
        msg = cls.lib().nn_strerror(err).decode(errors="replace")
        if err in (errno.ETIMEDOUT, errno.EAGAIN):
            return TimeoutError("%s: %s" % (what, msg))
        return OSError(err, "%s: %s" % (what, msg))


class _NNIovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _NNMsghdr(ctypes.Structure):
    _fields_ = [("msg_iov", ctypes.POINTER(_NNIovec)),
                ("msg_iovlen", ctypes.c_int),
                ("msg_control", ctypes.c_void_p),
                ("msg_controllen", ctypes.c_size_t)]


class _Socket:
    """A nanomsg socket, closed by close() or as a context manager."""

    def __init__(self, domain, protocol):
        self.lib = NN.lib()
        self.s = self.lib.nn_socket(domain, protocol)
        if self.s < 0:
            raise NN.error("nn_socket")

    def setopt_int(self, level, option, value):
        v = ctypes.c_int(value)
        if self.lib.nn_setsockopt(self.s, level, option, ctypes.byref(v),
                                  ctypes.sizeof(v)) < 0:
            raise NN.error("nn_setsockopt(%d, %d)" % (level, option))

    def setopt_bytes(self, level, option, value):
        buf = ctypes.create_string_buffer(value, len(value))
        if self.lib.nn_setsockopt(self.s, level, option, buf, len(value)) < 0:
            raise NN.error("nn_setsockopt(%d, %d)" % (level, option))

    def connect(self, url):
        if self.lib.nn_connect(self.s, url.encode()) < 0:
            raise NN.error("nn_connect(%s)" % url)

    def connections(self):
        return self.lib.nn_get_statistic(self.s,
                                         NN.NN_STAT_CURRENT_CONNECTIONS)

    def send_bytes(self, data, timeout_ms):
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_SNDTIMEO, int(timeout_ms))
        buf = ctypes.create_string_buffer(data, len(data))
        if self.lib.nn_send(self.s, buf, len(data), 0) < 0:
            raise NN.error("nn_send")

    def recv_bytes(self, timeout_ms):
        """Receive one message; raise TimeoutError after timeout_ms."""
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_RCVTIMEO, int(timeout_ms))
        ptr = ctypes.c_void_p()
        n = self.lib.nn_recv(self.s, ctypes.byref(ptr), NN.NN_MSG, 0)
        if n < 0:
            raise NN.error("nn_recv")
        try:
            return ctypes.string_at(ptr, n)
        finally:
            self.lib.nn_freemsg(ptr)

    def close(self):
        if self.s >= 0:
            self.lib.nn_close(self.s)
            self.s = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _encode(msg):
    if isinstance(msg, (bytes, bytearray)):
        return bytes(msg)
    if isinstance(msg, str):
        return msg.encode()
    return json.dumps(msg).encode()


class ReqClient(_Socket):
    """A cooked REQ socket: request(msg) -> parsed reply."""

    def __init__(self, url, rcvmaxsize=None):
        super().__init__(NN.AF_SP, NN.NN_REQ)
        # Never resend on our own (INT_MAX, never -1: -1 aborts nanomsg).
        self.setopt_int(NN.NN_REQ, NN.NN_REQ_RESEND_IVL, NN.INT_MAX)
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_RECONNECT_IVL, 20)
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_LINGER, 0)
        if rcvmaxsize is not None:
            self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_RCVMAXSIZE, rcvmaxsize)
        self.url = url
        self.connect(url)

    def request(self, msg, timeout_ms=5000, raw=False):
        """Send msg (dict, str or bytes) and return the parsed reply dict
        (or the raw reply bytes with raw=True).  TimeoutError on timeout."""
        self.send_bytes(_encode(msg), timeout_ms)
        data = self.recv_bytes(timeout_ms)
        if raw:
            return data
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("reply is not JSON (%s): %r" % (e, data[:200]))


class RawReqClient(_Socket):
    """An AF_SP_RAW REQ socket: send with an explicit request id header,
    receive whatever replies come back."""

    def __init__(self, url):
        super().__init__(NN.AF_SP_RAW, NN.NN_REQ)
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_RECONNECT_IVL, 20)
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_LINGER, 0)
        self.connect(url)

    def send_with_id(self, msg, req_id, timeout_ms=2000):
        body = _encode(msg)
        sphdr = struct.pack(">I", req_id | 0x80000000)
        # struct nn_cmsghdr {size_t len; int level; int type;} + data where
        # data = size_t length of the SP header, then the header bytes.
        hdrlen = struct.calcsize("@Nii")
        data = struct.pack("@N", len(sphdr)) + sphdr
        cmsg_len = hdrlen + len(data)
        align = ctypes.sizeof(ctypes.c_size_t)
        space = hdrlen + ((len(data) + align - 1) // align) * align
        ctrl = struct.pack("@Nii", cmsg_len, NN.PROTO_SP, NN.SP_HDR) + data
        ctrl += b"\0" * (space - len(ctrl))
        ctrl_buf = ctypes.create_string_buffer(ctrl, len(ctrl))
        body_buf = ctypes.create_string_buffer(body, len(body))
        iov = _NNIovec(ctypes.cast(body_buf, ctypes.c_void_p), len(body))
        hdr = _NNMsghdr(ctypes.pointer(iov), 1,
                        ctypes.cast(ctrl_buf, ctypes.c_void_p), len(ctrl))
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_SNDTIMEO, int(timeout_ms))
        if self.lib.nn_sendmsg(self.s, ctypes.byref(hdr), 0) < 0:
            raise NN.error("nn_sendmsg")

    def recv_json(self, timeout_ms):
        return json.loads(self.recv_bytes(timeout_ms).decode())


class SubClient(_Socket):
    """A SUB socket subscribed to the given topic prefixes."""

    def __init__(self, url, prefixes=("",)):
        super().__init__(NN.AF_SP, NN.NN_SUB)
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_RECONNECT_IVL, 20)
        self.setopt_int(NN.NN_SOL_SOCKET, NN.NN_LINGER, 0)
        for p in prefixes:
            self.setopt_bytes(NN.NN_SUB, NN.NN_SUB_SUBSCRIBE, _encode(p))
        self.url = url
        self.connect(url)

    def wait_connected(self, timeout_s=5.0):
        deadline = time.monotonic() + timeout_s
        while self.connections() < 1:
            if time.monotonic() > deadline:
                raise TimeoutError("SUB did not connect to %s" % self.url)
            time.sleep(0.01)

    def recv_event(self, timeout_ms):
        """Return (topic, view dict, raw bytes) or raise TimeoutError."""
        data = self.recv_bytes(max(1, int(timeout_ms)))
        sp = data.find(b" ")
        if sp <= 0:
            raise AssertionError("event without 'TOPIC SPACE JSON': %r"
                                 % data[:200])
        topic = data[:sp].decode()
        try:
            view = json.loads(data[sp + 1:].decode())
        except ValueError as e:
            raise AssertionError("event JSON invalid (%s): %r" % (e, data[:200]))
        return topic, view, data

    def events_until(self, pred, timeout_s, limit=100000):
        """Collect events until pred(events) is true; bounded in time and
        count.  Returns the list of (topic, view)."""
        events = []
        deadline = time.monotonic() + timeout_s
        while not pred(events):
            left = deadline - time.monotonic()
            if left <= 0 or len(events) >= limit:
                raise AssertionError(
                    "timed out collecting events; got %d: %s"
                    % (len(events), [(t, v.get("id")) for t, v in events[-20:]]))
            try:
                topic, view, _ = self.recv_event(min(left, 0.5) * 1000)
            except TimeoutError:
                continue
            events.append((topic, view))
        return events


# ---------------------------------------------------------------------------
# Daemon
# ---------------------------------------------------------------------------


def clean_env(**extra):
    env = dict(os.environ)
    for k in ("AIOJOBS_URL", "AIOJOBS_EVENTS_URL", "AIOJOBS_RUNDIR",
              "AIOJOBS_TOKEN", "AIOJOBS_TOKEN_FILE", "AIOJOBS_CONFIG"):
        env.pop(k, None)
    # A configuration file installed on this machine must not leak in.
    env["AIOJOBS_CONFIG"] = "/dev/null"
    env.update({k: str(v) for k, v in extra.items()})
    return env


class DaemonError(AssertionError):
    pass


class Daemon:
    """A real aiojobsd on a fresh temporary run directory.

    with Daemon("--limit", "1") as d:
        d.request({"op": "ping"})
        rc, out, err = d.ctl("ping")
    """

    def __init__(self, *args, create_rundir=True, expect_exit=0,
                 ready_timeout=10.0, rundir=None, state_dir=None):
        self.args = [str(a) for a in args]
        if rundir is not None:
            # Reuse another daemon's run directory (its owner cleans up).
            self.base = None
            self.rundir = rundir
        else:
            self.base = tempfile.mkdtemp(prefix="aj", dir="/tmp")
            if create_rundir:
                self.rundir = self.base
            else:
                self.rundir = os.path.join(self.base, "run")
        self.url = "ipc://%s/aiojobsd.sock" % self.rundir
        self.events_url = "ipc://%s/events.sock" % self.rundir
        self.sock_path = os.path.join(self.rundir, "aiojobsd.sock")
        self.events_path = os.path.join(self.rundir, "events.sock")
        self.log_path = os.path.join(
            self.base if self.base else tempfile.gettempdir(),
            "aj-daemon-%d-%d.log" % (os.getpid(), id(self)))
        # Where the job store goes, when the daemon has a flag for it
        # (see state_args): private to this daemon unless a test shares it.
        self.state_dir = state_dir or os.path.join(self.base or self.rundir,
                                                   "state")
        self.expect_exit = expect_exit
        self.ready_timeout = ready_timeout
        self.proc = None
        self.pid = None
        self._clients = []
        self._log = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        self._log = open(self.log_path, "ab")
        # -v: every job state change in the log dumped on failure
        cmd = ([AIOJOBSD, "--rundir", self.rundir, "-v"]
               + self.state_args() + self.args)
        env = clean_env(AIOJOBS_RUNDIR=self.rundir,
                        XDG_STATE_HOME=self.state_dir,
                        XDG_DATA_HOME=self.state_dir)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._log, env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.wait_ready()
        return self

    def state_args(self):
        """Keep every test daemon's job store private: if aiojobsd --help
        offers a flag for the store's directory or file, point it into
        this daemon's temporary directory (unless the test passed one)."""
        flags = daemon_help_flags()
        for f in ("--state-dir", "--statedir", "--data-dir", "--datadir",
                  "--store-dir"):
            if f in flags and f not in self.args:
                os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
                return [f, self.state_dir]
        for f in ("--db", "--store", "--database", "--db-path"):
            if f in flags and f not in self.args:
                os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
                return [f, os.path.join(self.state_dir, "jobs.db")]
        return []

    def wait_ready(self):
        """Retry a ping every 20 ms for up to ready_timeout seconds."""
        deadline = time.monotonic() + self.ready_timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DaemonError("aiojobsd exited with %s before it was "
                                  "ready\n%s" % (self.proc.returncode,
                                                 self.log()))
            try:
                with ReqClient(self.url) as c:
                    r = c.request({"op": "ping"}, timeout_ms=250)
                if r.get("ok") is True:
                    return
                last = r
            except TimeoutError as e:
                last = e
            time.sleep(0.02)
        raise DaemonError("aiojobsd not ready after %.0f s (last: %r)\n%s"
                          % (self.ready_timeout, last, self.log()))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        text = data.decode(errors="replace")
        if len(text) > 20000:
            text = "...\n" + text[-20000:]
        return "---- aiojobsd log (%s) ----\n%s\n---- end of log ----" % (
            self.log_path, text)

    def wait_exit(self, timeout=15.0):
        """Wait for the daemon to exit on its own; return its status."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DaemonError("aiojobsd (pid %d) did not exit within %.0f s"
                              % (self.pid, timeout))

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def kill(self):
        """SIGKILL the daemon and its process group (workers)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass

    def stop(self):
        """SIGTERM + wait (15 s), then SIGKILL and fail.  Returns the
        exit status."""
        for c in self._clients:
            c.close()
        self._clients = []
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
                raise DaemonError("aiojobsd did not exit within 15 s of "
                                  "SIGTERM\n%s" % self.log())
        # Reap leftovers of the session (workers, exec children).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.proc.returncode

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.kill()
            self.cleanup()
            raise

    def __exit__(self, etype, exc, tb):
        try:
            rc = self.stop()
        except DaemonError:
            if etype is None:
                raise
            rc = None
        if etype is not None:
            sys.stdout.write(self.log() + "\n")
        elif (self.expect_exit is not None and rc is not None
              and rc != self.expect_exit):
            msg = ("aiojobsd exit status %s (expected %s)%s\n%s"
                   % (rc, self.expect_exit,
                      " [signal %s]" % -rc if rc < 0 else "", self.log()))
            self.cleanup()
            raise DaemonError(msg)
        self.cleanup()
        return False

    def cleanup(self):
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass

    # -- clients -----------------------------------------------------------

    def client(self):
        """A REQ client closed at teardown."""
        c = ReqClient(self.url)
        self._clients.append(c)
        return c

    def sub(self, prefixes=("job.",)):
        c = SubClient(self.events_url, prefixes)
        self._clients.append(c)
        return c

    def sync_sub(self, sub, queue="probe"):
        """Return once the SUB socket provably receives events: submit
        probe jobs (sleep 0 in queue `queue`) until one of their events
        arrives, then drain the probe's events.  Bounded in time."""
        sub.wait_connected()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = self.submit_sleep(0, queue=queue)
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                try:
                    _, view, _ = sub.recv_event(100)
                except TimeoutError:
                    continue
                if view.get("queue") == queue:
                    self.wait_ids([probe])
                    for _ in range(1000):
                        try:
                            sub.recv_event(200)
                        except TimeoutError:
                            return
                    raise AssertionError("events keep coming after probe")
        raise AssertionError("subscriber never received an event")

    def request(self, msg, timeout_ms=5000, raw=False):
        """One request on a fresh REQ socket."""
        with ReqClient(self.url) as c:
            return c.request(msg, timeout_ms=timeout_ms, raw=raw)

    def ok(self, msg, timeout_ms=5000):
        """A request whose reply must be ok: true; returns the reply."""
        r = self.request(msg, timeout_ms=timeout_ms)
        if r.get("ok") is not True:
            raise AssertionError("request %s -> not ok: %s"
                                 % (json.dumps(msg)[:300], r))
        return r

    def ctl(self, *args, input=None, timeout=30, env=None):
        """Run aiojobctl with AIOJOBS_RUNDIR pointing at this daemon."""
        return run_ctl(*args, rundir=self.rundir, input=input,
                       timeout=timeout, env=env)

    # -- job helpers ---------------------------------------------------------

    def submit(self, spec=None, **fields):
        job = dict(spec or {})
        job.update(fields)
        return self.ok({"op": "submit", "job": job})["id"]

    def submit_sleep(self, ms, **fields):
        return self.ok({"op": "submit", "job": sleep_spec(ms, **fields)})["id"]

    def status(self, job_id):
        return self.ok({"op": "status", "id": job_id})["job"]

    def wait_ids(self, ids, timeout_s=30.0, return_when="ALL_COMPLETED"):
        """Long-poll wait until the condition holds; returns the reply."""
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                raise AssertionError("jobs %s not done within %.1f s"
                                     % (list(ids)[:20], timeout_s))
            r = self.ok({"op": "wait", "ids": list(ids),
                         "return_when": return_when,
                         "timeout_ms": left_ms},
                        timeout_ms=left_ms + 5000)
            if return_when == "ALL_COMPLETED" and not r["pending"]:
                return r
            if return_when != "ALL_COMPLETED" and r["done"]:
                return r
            if not r["pending"]:
                return r

    def wait_state(self, job_id, states, timeout_s=10.0):
        """Poll status until the job is in one of states."""
        if isinstance(states, str):
            states = (states,)
        deadline = time.monotonic() + timeout_s
        while True:
            v = self.status(job_id)
            if v["state"] in states:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("job %d in state %s, not %s after %.1f s"
                                     % (job_id, v["state"], states, timeout_s))
            time.sleep(0.01)


_help_flags = None


def daemon_help_flags():
    """The long options that aiojobsd --help lists (cached)."""
    global _help_flags
    if _help_flags is None:
        try:
            p = subprocess.run([AIOJOBSD, "--help"], capture_output=True,
                               text=True, timeout=10, errors="replace",
                               stdin=subprocess.DEVNULL)
            text = p.stdout + p.stderr
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        _help_flags = set(re.findall(r"(--[a-z][a-z0-9-]*)", text))
    return _help_flags


def run_ctl(*args, rundir=None, input=None, timeout=30, env=None):
    """Run aiojobctl; return (returncode, stdout, stderr) as text."""
    e = clean_env()
    if rundir is not None:
        e["AIOJOBS_RUNDIR"] = rundir
    if env:
        e.update(env)
    try:
        p = subprocess.run([AIOJOBCTL] + [str(a) for a in args],
                           input=input, capture_output=True, env=e,
                           timeout=timeout, text=True,
                           errors="replace")
    except subprocess.TimeoutExpired:
        raise AssertionError("aiojobctl %s did not finish in %s s"
                             % (" ".join(map(str, args)), timeout))
    return p.returncode, p.stdout, p.stderr


def run_daemon_expect_exit(args, timeout=15, env=None):
    """Run aiojobsd expecting it to exit by itself (a refused start).
    Returns (returncode, output text)."""
    e = clean_env()
    if env:
        e.update(env)
    try:
        p = subprocess.run([AIOJOBSD] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           env=e, timeout=timeout, text=True,
                           errors="replace")
    except subprocess.TimeoutExpired:
        raise AssertionError("aiojobsd %s did not exit within %s s"
                             % (" ".join(map(str, args)), timeout))
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------------------
# assertions
# ---------------------------------------------------------------------------


def check(cond, msg="check failed", *fmt):
    if not cond:
        raise AssertionError(msg % fmt if fmt else msg)


def eq(actual, expected, what="value"):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r"
                             % (what, expected, actual))


def expect_error(reply, code, contains=None):
    """Assert reply is {"ok": false, "error": {"code": code, ...}}."""
    if reply.get("ok") is not False:
        raise AssertionError("expected error %s, got %s" % (code, reply))
    err = reply.get("error")
    if not isinstance(err, dict):
        raise AssertionError("error reply without error object: %s" % reply)
    if err.get("code") != code:
        raise AssertionError("expected error code %r, got %r (%s)"
                             % (code, err.get("code"), reply))
    if not isinstance(err.get("message"), str) or not err["message"]:
        raise AssertionError("error without a message: %s" % reply)
    if contains is not None:
        needles = [contains] if isinstance(contains, str) else contains
        if not any(n in err["message"] for n in needles):
            raise AssertionError("error message %r does not mention %r"
                                 % (err["message"], contains))
    return err


def sleep_spec(ms, **fields):
    """A sleep job spec with extra spec fields."""
    spec = {"kind": "sleep", "args": {"ms": ms}}
    spec.update(fields)
    return spec


def show(rc, out, err):
    """An aiojobctl run, for failure messages."""
    return "rc %s, stdout %r, stderr %r" % (rc, out[-2000:], err[-2000:])


def ok_ctl(d, *args, **kw):
    """Run aiojobctl against d; it must exit 0. Returns stdout."""
    rc, out, err = d.ctl(*args, **kw)
    eq(rc, 0, "aiojobctl %s (%s)" % (" ".join(map(str, args)),
                                     show(rc, out, err)))
    return out


def submitted_id(out):
    """The id that aiojobctl submit printed, and nothing else."""
    m = re.fullmatch(r"\s*(\d+)\s*", out)
    check(m is not None, "submit did not print just an id: %r", out)
    return int(m.group(1))


def workers_of(pid):
    """The live CPU workers of a daemon: its children run with --worker."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if (int(fields[1]) == pid and b"--worker" in cmdline
                and fields[0] not in ("Z", "X")):
            out.append(int(name))
    return sorted(out)


def small_tmpfs(test, size="2m"):
    """Mount a small tmpfs for a disk-full test: (top dir, mount point),
    or None with a SKIP line where mounting is not permitted."""
    top = tempfile.mkdtemp(prefix="ajfull", dir="/tmp")
    mnt = os.path.join(top, "state")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%s,mode=0700" % size, "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: %s: cannot mount a tmpfs (%s)"
              % (test, p.stderr.strip() or "exit %d" % p.returncode))
        shutil.rmtree(top, ignore_errors=True)
        return None
    return top, mnt


def poll_until(fn, timeout_s, interval=0.01, what="condition"):
    """Call fn() until it returns a true value; bounded in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("%s not met within %.1f s" % (what, timeout_s))
        time.sleep(interval)


def max_overlap(intervals):
    """Largest number of [start, end) intervals that overlap."""
    points = []
    for s, e in intervals:
        points.append((s, 1))
        points.append((e, -1))
    points.sort(key=lambda p: (p[0], p[1]))   # ends before starts at a tie
    cur = best = 0
    for _, d in points:
        cur += d
        best = max(best, cur)
    return best


# ---------------------------------------------------------------------------
# runner
# ---------------------------------------------------------------------------


def main():
    global AIOJOBSD, AIOJOBCTL
    if len(sys.argv) < 3:
        sys.stderr.write("usage: %s AIOJOBSD AIOJOBCTL [TEST...]\n"
                         % sys.argv[0])
        sys.exit(2)
    AIOJOBSD = os.path.abspath(sys.argv[1])
    AIOJOBCTL = os.path.abspath(sys.argv[2])
    wanted = sys.argv[3:]
    mod = sys.modules["__main__"]
    tests = [(name, fn) for name, fn in vars(mod).items()
             if name.startswith("test_") and callable(fn)]
    if wanted:
        known = {n for n, _ in tests}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            sys.stderr.write("unknown tests: %s\n" % ", ".join(unknown))
            sys.exit(2)
        tests = [(n, f) for n, f in tests if n in wanted]
    passed = failed = 0
    failures = []
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            failed += 1
            failures.append(name)
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - t0))
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("ok %s (%.2fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    if failures:
        print("failed: %s" % " ".join(failures))
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
