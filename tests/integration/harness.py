"""Integration test harness for aiojobsd.

Python 3 standard library only.  Provides:

* ``ReqClient`` / ``SubClient`` / ``RawReqClient``: SP clients (REQ, SUB,
  raw REQ) through a ctypes binding to NNG's native API in libnng.so.1
  (Debian package libnng1); ``NNG`` (also called ``NN``, its old name)
  holds the library and its constants;
* ``Daemon``: starts a real aiojobsd in the foreground on a fresh temporary
  run directory, waits for readiness by retrying ``ping`` and stops it with
  SIGTERM + wait;
* a tiny test runner: ``main()`` runs the ``test_*`` functions of the calling
  script and prints ``N passed, N failed``.

Every test script is invoked as ``python3 test_x.py AIOJOBSD AIOJOBCTL [TEST...]``.
"""

import atexit
import ctypes
import ctypes.util
import json
import os
import pwd
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import weakref

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
# NNG binding
# ---------------------------------------------------------------------------


class NNG:
    """Constants of <nng/nng.h> (NNG 1.5.2) and the loaded libnng.so.1.

    NNG's functions return 0 or an NNG error number (not an errno);
    error() turns one into a Python exception."""

    FLAG_ALLOC = 1          # nng_recv allocates the buffer (nng_free it)
    FLAG_NONBLOCK = 2       # nng_dial: dial in the background, retrying;
                            # nng_send/nng_recv: NNG_EAGAIN instead of waiting
    ETIMEDOUT = 5
    ECLOSED = 7
    EAGAIN = 8
    ESTATE = 11
    PIPE_EV_ADD_POST = 1    # a connection was added to the socket
    PIPE_EV_REM_POST = 2    # a connection was removed from the socket
    DURATION_MAX = 2 ** 31 - 1      # nng_duration is an int32_t (ms)
    # nanomsg's "-1 = no receive limit" is NNG's 0.
    RECV_SIZE_UNLIMITED = 0

    _lib = None

    @classmethod
    def lib(cls):
        if cls._lib is None:
            try:
                lib = ctypes.CDLL("libnng.so.1")
            except OSError:
                found = ctypes.util.find_library("nng")
                if not found:
                    raise
                lib = ctypes.CDLL(found)
            sock, sockp = _NNGSocket, ctypes.POINTER(_NNGSocket)
            vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
            i = ctypes.c_int
            # name: (argument types, result type)
            for name, args, res in (
                    ("nng_req0_open", [sockp], i),
                    ("nng_req0_open_raw", [sockp], i),
                    ("nng_sub0_open", [sockp], i),
                    ("nng_close", [sock], i),
                    ("nng_dial", [sock, cp, vp, i], i),
                    ("nng_socket_set", [sock, cp, vp, sz], i),
                    ("nng_socket_set_ms", [sock, cp, ctypes.c_int32], i),
                    ("nng_socket_set_size", [sock, cp, sz], i),
                    ("nng_socket_get_int", [sock, cp, ctypes.POINTER(i)], i),
                    ("nng_pipe_notify", [sock, i, _PIPE_CB, vp], i),
                    ("nng_send", [sock, vp, sz, i], i),
                    ("nng_recv", [sock, vp, ctypes.POINTER(sz), i], i),
                    ("nng_free", [vp, sz], None),
                    ("nng_sendmsg", [sock, vp, i], i),
                    ("nng_recvmsg", [sock, ctypes.POINTER(vp), i], i),
                    ("nng_msg_alloc", [ctypes.POINTER(vp), sz], i),
                    ("nng_msg_free", [vp], None),
                    ("nng_msg_append", [vp, vp, sz], i),
                    ("nng_msg_header_append_u32", [vp, ctypes.c_uint32], i),
                    ("nng_msg_body", [vp], vp),
                    ("nng_msg_len", [vp], sz),
                    ("nng_msg_header", [vp], vp),
                    ("nng_msg_header_len", [vp], sz),
                    ("nng_strerror", [i], cp)):
                fn = getattr(lib, name)
                fn.argtypes = args
                fn.restype = res
            cls._lib = lib
        return cls._lib

    @classmethod
    def error(cls, what, rv):
        """The exception for NNG error number rv returned by `what`:
        TimeoutError for a timeout or "would block", else NNGError."""
        msg = "%s: %s" % (what, cls.lib().nng_strerror(rv).decode(
            errors="replace"))
        if rv in (cls.ETIMEDOUT, cls.EAGAIN):
            return TimeoutError(msg)
        return NNGError(rv, msg)

    @classmethod
    def check(cls, what, rv):
        if rv != 0:
            raise cls.error(what, rv)


# The old name of the binding, kept for scripts that import it.
NN = NNG


class NNGError(OSError):
    """An NNG failure other than a timeout; nng_errno is NNG's number
    (NNG numbers are not errno values, so errno is left unset)."""

    def __init__(self, nng_errno, message):
        super().__init__(message)
        self.nng_errno = nng_errno


class _NNGSocket(ctypes.Structure):
    """nng_socket: a struct holding the socket id, passed by value."""
    _fields_ = [("id", ctypes.c_uint32)]


# void (*nng_pipe_cb)(nng_pipe, nng_pipe_ev, void *).  nng_pipe is a
# struct holding a uint32_t id, passed by value; the C calling conventions
# of x86-64 and arm64 pass such a struct exactly as the uint32_t itself,
# and an int argument spares the callback a ctypes object (see _Socket).
_PIPE_CB = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_int,
                            ctypes.c_void_p)

# Every socket not closed yet, closed at exit: NNG calls a socket's pipe
# callback (Python code) from its own threads, which must not happen while
# the interpreter shuts down.
_open_sockets = weakref.WeakSet()


@atexit.register
def _close_open_sockets():
    for s in list(_open_sockets):
        s.close()


class _Socket:
    """An NNG socket, closed by close() or as a context manager.

    open_fn is the name of the NNG function that opens it
    (nng_req0_open, ...)."""

    def __init__(self, open_fn):
        self.lib = NNG.lib()
        self.s = _NNGSocket()
        NNG.check(open_fn, getattr(self.lib, open_fn)(ctypes.byref(self.s)))
        self.closed = False
        _open_sockets.add(self)
        # connections(): the ids of the pipes (connections) the socket has
        # now, kept by a callback that NNG calls from its own threads.
        # A pipe refused before it is added is only reported as removed,
        # so the callback keeps ids rather than counts events.
        #
        # The callback object must live until nng_close has returned (it
        # waits for the callbacks of the socket's pipes): ctypes frees the
        # C trampoline with the Python object.  It refers to the set, not
        # to self, so that a socket dropped without close() is closed at
        # once by __del__ rather than whenever the cycle collector runs;
        # and it allocates no object that could start the collector on an
        # NNG thread (which could then call nng_close there and wait on
        # itself).
        pipes = self._pipes = set()
        added, removed = NNG.PIPE_EV_ADD_POST, NNG.PIPE_EV_REM_POST

        def on_pipe(pipe_id, ev, arg):
            if ev == added:
                pipes.add(pipe_id)
            elif ev == removed:
                pipes.discard(pipe_id)

        self._pipe_cb = _PIPE_CB(on_pipe)
        for ev in (NNG.PIPE_EV_ADD_POST, NNG.PIPE_EV_REM_POST):
            NNG.check("nng_pipe_notify",
                      self.lib.nng_pipe_notify(self.s, ev, self._pipe_cb,
                                               None))
        # recv_bytes waits for this descriptor to become readable, then
        # receives without blocking (see there why).
        fd = ctypes.c_int()
        NNG.check("nng_socket_get_int(recv-fd)",
                  self.lib.nng_socket_get_int(self.s, b"recv-fd",
                                              ctypes.byref(fd)))
        self._recv_fd = fd.value

    def set_ms(self, name, ms):
        """A duration option (milliseconds), e.g. "recv-timeout"."""
        NNG.check("nng_socket_set_ms(%s)" % name,
                  self.lib.nng_socket_set_ms(self.s, name.encode(), int(ms)))

    def set_size(self, name, value):
        """A size option, e.g. "recv-size-max" (0 = no limit)."""
        NNG.check("nng_socket_set_size(%s)" % name,
                  self.lib.nng_socket_set_size(self.s, name.encode(), value))

    def set_bytes(self, name, value):
        """An option whose value is bytes, e.g. "sub:subscribe"."""
        buf = ctypes.create_string_buffer(value, len(value))
        NNG.check("nng_socket_set(%s)" % name,
                  self.lib.nng_socket_set(self.s, name.encode(), buf,
                                          len(value)))

    def connect(self, url):
        """Dial url in the background: NNG keeps redialling until it
        connects (reconnect-time-min apart), so the peer may come up
        later and comes back by itself after a restart."""
        NNG.check("nng_dial(%s)" % url,
                  self.lib.nng_dial(self.s, url.encode(), None,
                                    NNG.FLAG_NONBLOCK))

    def connections(self):
        """How many connections the socket has now."""
        return len(self._pipes)

    def send_bytes(self, data, timeout_ms):
        """Send one message; TimeoutError if no connection took it within
        timeout_ms.  NNG copies the data."""
        self.set_ms("send-timeout", timeout_ms)
        buf = ctypes.create_string_buffer(data, len(data))
        rv = self.lib.nng_send(self.s, buf, len(data), 0)
        NNG.check("nng_send", rv)

    def _wait_readable(self, deadline):
        """Wait until the recv-fd is readable or the deadline passes;
        True if readable.  poll(), not select(): descriptors may exceed
        FD_SETSIZE in the descriptor stress tests."""
        p = select.poll()
        p.register(self._recv_fd, select.POLLIN)
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        return bool(p.poll(max(1, int(left * 1000))))

    def recv_bytes(self, timeout_ms):
        """Receive one message; raise TimeoutError after timeout_ms.

        A blocking nng_recv that times out on a REQ socket abandons the
        outstanding request (NNG cancels the whole exchange), while the
        tests expect to wait again for the same reply, as nanomsg allowed.
        So this waits on the socket's recv-fd and only then receives with
        NNG_FLAG_NONBLOCK, which never cancels anything."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            ptr = ctypes.c_void_p()
            size = ctypes.c_size_t()
            rv = self.lib.nng_recv(self.s, ctypes.byref(ptr),
                                   ctypes.byref(size),
                                   NNG.FLAG_ALLOC | NNG.FLAG_NONBLOCK)
            if rv == 0:
                try:
                    return ctypes.string_at(ptr, size.value)
                finally:
                    self.lib.nng_free(ptr, size)
            if rv != NNG.EAGAIN:
                raise NNG.error("nng_recv", rv)
            if not self._wait_readable(deadline):
                raise NNG.error("nng_recv", NNG.ETIMEDOUT)

    def close(self):
        if not self.closed:
            self.closed = True
            self.lib.nng_close(self.s)
            _open_sockets.discard(self)

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


def _reconnect_options(sock):
    # Redial 20 ms after a lost connection, and after each failed dial twice
    # as long as before, up to 1 s.  Without that bound (nanomsg's way)
    # clients that cannot connect, e.g. to a daemon out of descriptors,
    # each dial 50 times a second; NNG 1.5.2 then frees the descriptors of
    # failed dials more slowly than it makes them (about 1,000 a second
    # here), until the test process has none left and nng_close hangs.
    sock.set_ms("reconnect-time-min", 20)
    sock.set_ms("reconnect-time-max", 1000)


# NNG 1.5.2 can hang a whole process when a peer closes a connection while
# a large message is being written to it: a partly written message whose
# pipe closes before the rest is written is never finished, so stopping
# that pipe waits forever, and with it NNG's only reaper thread; every later
# nng_close of a socket that had a connection hangs.  The daemon closes the
# connection of a message above its transport's receive limit, which is 16
# MiB at least, so ReqClient.request() sends a request larger than that
# from a child process, which exits without closing anything.
ISOLATE_ABOVE = 16 * 1024 * 1024 - 64      # less room for the SP header

# The child: argv[1] the harness directory, then url, receive limit ("" for
# the default) and timeout (ms); the request on stdin, the reply on stdout.
# Exit 0 with a reply, 3 on a timeout, 4 on another error (on stderr).
_ISOLATED_CHILD = r"""
import os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import harness
url, rcvmax, timeout_ms = sys.argv[2], sys.argv[3], int(sys.argv[4])
request = sys.stdin.buffer.read()
try:
    # send_bytes and recv_bytes, not request(), which would start a child
    c = harness.ReqClient(url, int(rcvmax) if rcvmax else None)
    c.send_bytes(request, timeout_ms)
    reply = c.recv_bytes(timeout_ms)
except TimeoutError as e:
    sys.stderr.write(str(e))
    sys.stderr.flush()
    os._exit(3)
except Exception as e:
    sys.stderr.write("%s: %s" % (type(e).__name__, e))
    sys.stderr.flush()
    os._exit(4)
sys.stdout.buffer.write(reply)
sys.stdout.flush()
os._exit(0)
"""


def _isolated_request(url, rcvmaxsize, data, timeout_ms):
    """One request from a child process (see ISOLATE_ABOVE); returns the
    reply bytes.  TimeoutError on a timeout, as in the parent."""
    cmd = [sys.executable, "-c", _ISOLATED_CHILD,
           os.path.dirname(os.path.abspath(__file__)), url,
           "" if rcvmaxsize is None else str(rcvmaxsize), str(int(timeout_ms))]
    try:
        p = subprocess.run(cmd, input=data, capture_output=True,
                           timeout=timeout_ms / 1000.0 + 30)
    except subprocess.TimeoutExpired:
        raise TimeoutError("request of %d bytes: the child process did not "
                           "finish" % len(data))
    err = p.stderr.decode(errors="replace")[-2000:]
    if p.returncode == 3:
        raise TimeoutError(err)
    if p.returncode != 0:
        raise OSError("request of %d bytes from a child process: exit %d: %s"
                      % (len(data), p.returncode, err))
    return p.stdout


class ReqClient(_Socket):
    """A cooked REQ socket: request(msg) -> parsed reply.

    rcvmaxsize: the largest reply accepted (NNG's default is 1 MiB, as
    nanomsg's was); -1 or 0 for no limit."""

    def __init__(self, url, rcvmaxsize=None):
        super().__init__("nng_req0_open")
        # Never resend on a timer, but do resend a request whose connection
        # was lost, once connected again, as nanomsg did: NNG 1.5.2 does
        # that only while the resend time is positive (with the resend
        # timer disabled it fails the request with "Connection reset"),
        # so the resend time is the largest duration, about 24.8 days.
        self.set_ms("req:resend-time", NNG.DURATION_MAX)
        _reconnect_options(self)
        if rcvmaxsize is not None:
            self.set_size("recv-size-max",
                          NNG.RECV_SIZE_UNLIMITED if rcvmaxsize < 0
                          else rcvmaxsize)
        self.rcvmaxsize = rcvmaxsize
        self.url = url
        self.connect(url)

    def request(self, msg, timeout_ms=5000, raw=False):
        """Send msg (dict, str or bytes) and return the parsed reply dict
        (or the raw reply bytes with raw=True).  TimeoutError on timeout.

        A request larger than ISOLATE_ABOVE is sent from a child process
        (see _isolated_request)."""
        data = _encode(msg)
        if len(data) > ISOLATE_ABOVE:
            data = _isolated_request(self.url, self.rcvmaxsize, data,
                                     timeout_ms)
        else:
            self.send_bytes(data, timeout_ms)
            data = self.recv_bytes(timeout_ms)
        if raw:
            return data
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("reply is not JSON (%s): %r" % (e, data[:200]))


class RawReqClient(_Socket):
    """A raw REQ socket: send with an explicit request id, receive
    whatever replies come back."""

    def __init__(self, url):
        super().__init__("nng_req0_open_raw")
        _reconnect_options(self)
        self.connect(url)

    def send_with_id(self, msg, req_id, timeout_ms=2000):
        """Send msg with request id req_id: NNG puts a raw socket's message
        header on the wire before the body; a REQ header is the id as 4
        bytes big-endian with the top bit set."""
        body = _encode(msg)
        m = ctypes.c_void_p()
        NNG.check("nng_msg_alloc", self.lib.nng_msg_alloc(ctypes.byref(m), 0))
        try:
            NNG.check("nng_msg_append",
                      self.lib.nng_msg_append(m, body, len(body)))
            NNG.check("nng_msg_header_append_u32",
                      self.lib.nng_msg_header_append_u32(
                          m, (req_id | 0x80000000) & 0xFFFFFFFF))
            self.set_ms("send-timeout", timeout_ms)
            NNG.check("nng_sendmsg", self.lib.nng_sendmsg(self.s, m, 0))
        except BaseException:
            # nng_sendmsg owns the message only when it succeeds.
            self.lib.nng_msg_free(m)
            raise

    def recv_msg(self, timeout_ms):
        """Receive one reply: (request id, body bytes).  The id is the
        header's 4 bytes without the top bit."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            m = ctypes.c_void_p()
            rv = self.lib.nng_recvmsg(self.s, ctypes.byref(m),
                                      NNG.FLAG_NONBLOCK)
            if rv == 0:
                break
            if rv != NNG.EAGAIN:
                raise NNG.error("nng_recvmsg", rv)
            if not self._wait_readable(deadline):
                raise NNG.error("nng_recvmsg", NNG.ETIMEDOUT)
        try:
            header = ctypes.string_at(self.lib.nng_msg_header(m),
                                      self.lib.nng_msg_header_len(m))
            body = ctypes.string_at(self.lib.nng_msg_body(m),
                                    self.lib.nng_msg_len(m))
        finally:
            self.lib.nng_msg_free(m)
        req_id = (struct.unpack(">I", header[-4:])[0] & 0x7FFFFFFF
                  if len(header) >= 4 else None)
        return req_id, body

    def recv_bytes(self, timeout_ms):
        return self.recv_msg(timeout_ms)[1]

    def recv_json(self, timeout_ms):
        return json.loads(self.recv_bytes(timeout_ms).decode())


class SubClient(_Socket):
    """A SUB socket subscribed to the given topic prefixes."""

    def __init__(self, url, prefixes=("",)):
        super().__init__("nng_sub0_open")
        _reconnect_options(self)
        for p in prefixes:
            self.set_bytes("sub:subscribe", _encode(p))
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
                 ready_timeout=10.0, rundir=None, state_dir=None,
                 run_as=None):
        self.args = [str(a) for a in args]
        # A user name: the daemon runs as that user (setpriv), its
        # directories made theirs; a root client still reaches it.
        self.run_as = run_as
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
        if self.run_as is not None:
            cmd = self.as_user(cmd)
        env = clean_env(AIOJOBS_RUNDIR=self.rundir,
                        XDG_STATE_HOME=self.state_dir,
                        XDG_DATA_HOME=self.state_dir)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._log, env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.wait_ready()
        return self

    def as_user(self, cmd):
        """cmd run as self.run_as, owning this daemon's directories."""
        pw = pwd.getpwnam(self.run_as)
        for top in {self.base or self.rundir, self.state_dir}:
            os.makedirs(top, mode=0o700, exist_ok=True)
            for root, dirs, files in os.walk(top):
                for name in [root] + [os.path.join(root, n)
                                      for n in dirs + files]:
                    os.chown(name, pw.pw_uid, pw.pw_gid)
        return (["setpriv", "--reuid", str(pw.pw_uid), "--regid",
                 str(pw.pw_gid), "--clear-groups"] + cmd)

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
        client = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DaemonError("aiojobsd exited with %s before it was "
                                  "ready\n%s" % (self.proc.returncode,
                                                 self.log()))
            # One client for the whole wait: it redials on its own, and a
            # client closed in the middle of its handshake would make NNG
            # 1.5.2 stop taking connections (the daemon recovers in ~3 s).
            if client is None:
                client = ReqClient(self.url)
            try:
                r = client.request({"op": "ping"}, timeout_ms=250)
                if r.get("ok") is True:
                    client.close()
                    return
                last = r
            except TimeoutError as e:
                last = e
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
                return self._whole_done(r, ids)
            if return_when != "ALL_COMPLETED" and r["done"]:
                return self._whole_done(r, ids)
            if not r["pending"]:
                return self._whole_done(r, ids)

    def _whole_done(self, r, ids):
        """A wait reply with the views the daemon left out to stay within
        1 MiB (more_done) fetched and put in done, in the order of ids."""
        while r.get("more_done"):
            more = self.ok({"op": "wait", "ids": r.pop("more_done"),
                            "timeout_ms": 0})
            r["done"] += more["done"]
            if more.get("more_done"):
                r["more_done"] = more["more_done"]
        pos = {jid: i for i, jid in enumerate(ids)}
        r["done"].sort(key=lambda v: pos.get(v["id"], -1))
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


def live_processes(extra):
    """(pid, stat fields after the command name, contents of
    /proc/PID/<extra>) of every live process (neither zombie nor dead)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            with open("/proc/%s/%s" % (name, extra), "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] not in ("Z", "X"):
            out.append((int(name), fields, data))
    return out


def workers_of(pid):
    """The live CPU workers of a daemon: its children run with --worker."""
    return sorted(p for p, fields, cmdline in live_processes("cmdline")
                  if int(fields[1]) == pid
                  and b"--worker" in cmdline.split(b"\0"))


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


# ---------------------------------------------------------------------------
# users: tests of a daemon shared by several users (run as root)
# ---------------------------------------------------------------------------


class TestUsers:
    """Users (and groups) made for one test and removed after it.

    with TestUsers() as u:
        alice = u.user("a")            # a new user, home under /tmp
        ops = u.group("ops", [alice])  # a new group alice is in
        run_ctl_as(alice, d, "list")

    Names carry the test's pid, so tests running side by side never share
    a user. Needs root (useradd); skip the test otherwise."""

    def __init__(self):
        self.users = []
        self.groups = []
        self.top = None

    def __enter__(self):
        self.top = tempfile.mkdtemp(prefix="ajusers", dir="/tmp")
        os.chmod(self.top, 0o755)
        return self

    def user(self, tag, groups=(), outside_range=False):
        """A new user. outside_range: a uid above useradd's range, which
        no test running beside this one can get once this user is gone."""
        name = "aj%d%s" % (os.getpid(), tag)
        home = os.path.join(self.top, name)
        cmd = ["useradd", "-M", "-U", "-d", home, "-s", "/bin/sh"]
        if groups:
            cmd += ["-G", ",".join(groups)]
        if outside_range:
            cmd += ["-K", "UID_MAX=70000", "-K", "GID_MAX=70000", "-u",
                    str(self._free_uid())]
        subprocess.run(cmd + [name], check=True, capture_output=True)
        self.users.append(name)
        pw = pwd.getpwnam(name)
        os.mkdir(home, 0o700)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        return name

    @staticmethod
    def _free_uid():
        uid = 61000 + os.getpid() % 8000
        while True:
            try:
                pwd.getpwuid(uid)
            except KeyError:
                return uid
            uid += 1

    def group(self, tag, members=()):
        name = "aj%d%s" % (os.getpid(), tag)
        subprocess.run(["groupadd", name], check=True, capture_output=True)
        self.groups.append(name)
        for m in members:
            subprocess.run(["usermod", "-a", "-G", name, m], check=True,
                           capture_output=True)
        return name

    def __exit__(self, *exc):
        for name in self.users:
            subprocess.run(["userdel", name], capture_output=True)
        for name in self.groups:
            subprocess.run(["groupdel", name], capture_output=True)
        shutil.rmtree(self.top, ignore_errors=True)


def as_user_cmd(user, cmd):
    """cmd run as user with its groups (setpriv --init-groups)."""
    pw = pwd.getpwnam(user)
    return (["setpriv", "--reuid", str(pw.pw_uid), "--regid",
             str(pw.pw_gid), "--init-groups", "--"] + [str(c) for c in cmd])


def run_ctl_as(user, d, *args, input=None, timeout=30, env=None):
    """aiojobctl run as user against daemon d: (rc, stdout, stderr)."""
    e = clean_env(AIOJOBS_RUNDIR=d.rundir, **(env or {}))
    try:
        p = subprocess.run(as_user_cmd(user, [AIOJOBCTL] + list(args)),
                           input=input, capture_output=True, env=e,
                           timeout=timeout, text=True, errors="replace",
                           cwd="/")
    except subprocess.TimeoutExpired:
        raise AssertionError("aiojobctl %s as %s did not finish in %s s"
                             % (" ".join(map(str, args)), user, timeout))
    return p.returncode, p.stdout, p.stderr


_REQUEST_AS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import harness
with harness.ReqClient(sys.argv[2]) as c:
    print(json.dumps(c.request(json.loads(sys.stdin.read()),
                               timeout_ms=int(sys.argv[3]))))
"""


def request_as(user, url, msg, timeout_ms=5000):
    """One protocol request sent by a process of user; the reply."""
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(
        as_user_cmd(user, [sys.executable, "-c", _REQUEST_AS, here, url,
                           str(timeout_ms)]),
        input=json.dumps(msg), capture_output=True, text=True,
        timeout=timeout_ms / 1000 + 30, cwd="/", env=clean_env())
    if p.returncode != 0:
        raise AssertionError("request as %s failed: %s" % (user, p.stderr))
    return json.loads(p.stdout)
