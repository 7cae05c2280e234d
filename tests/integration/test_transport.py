"""No bytes from a client can stop the daemon: plain sockets speak the SP
wire format (the framing of the nanomsg family, PROTOCOL.md section 1)
badly to the control endpoint, over ipc (the Unix socket behind the
default ipc:// URL) and over tcp (a --listen endpoint on 127.0.0.1); the
daemon must stay up and keep answering.

The wire format, for reference:

* each side first sends an 8-byte header: 0x00 'S' 'P' 0x00, the 16-bit
  big-endian id of its protocol, then two zero bytes.  REQ is 48 (0x30),
  REP (the daemon's control socket) 49, PUB 32, SUB 33;
* then messages, as frames: over ipc a type byte (1 = message), then the
  payload length as 8 bytes big-endian, then the payload; over tcp the
  same without the type byte;
* a REQ message's payload starts with the 4-byte request id, top bit set.

Requests larger than max_request_bytes but within the transport's limit
get a too_large reply: test_protocol.py (test_too_large_request,
test_max_request_bytes_flag) and test_limits.py cover that. Requests over
the transport's limit get one too, here."""

import ctypes
import errno
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, ReqClient, check, eq  # noqa: E402

REQ, REP, PUB, SUB = 0x30, 0x31, 0x20, 0x21
MSG_TYPE = 1               # the ipc frame type of a message
FRAMES = 200               # random frames per endpoint
HANGUPS = 100              # hang-ups during a large reply per endpoint
SEED = 20240611            # the random frames are the same every run
IO_TIMEOUT = 5.0           # bound on every socket operation (s)
MiB = 1024 * 1024


def sp_header(proto):
    return b"\x00SP\x00" + struct.pack(">H", proto) + b"\x00\x00"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TransportDaemon(Daemon):
    """A daemon with a tcp control endpoint besides its ipc one.
    endpoint("ipc") / endpoint("tcp") is where a plain socket connects."""

    def __init__(self, *args):
        self.port = free_port()
        self.tcp_url = "tcp://127.0.0.1:%d" % self.port
        super().__init__("--listen", self.tcp_url, *args)

    def endpoint(self, transport):
        if transport == "ipc":
            # the path of the control URL, ipc://PATH
            eq(self.url, "ipc://" + self.sock_path, "control URL")
            return socket.AF_UNIX, self.sock_path
        return socket.AF_INET, ("127.0.0.1", self.port)


def recv_exact(sock, n):
    """n bytes from sock, or fewer if it is closed first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def connect(d, transport, proto=REQ):
    """A plain socket connected to d's control endpoint that has sent a
    valid SP header for proto and read the daemon's (REP's) header."""
    family, address = d.endpoint(transport)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    try:
        s.connect(address)
        s.sendall(sp_header(proto))
        eq(recv_exact(s, 8), sp_header(REP), "the daemon's SP header over %s"
           % transport)
    except BaseException:
        s.close()
        raise
    return s


def frame(transport, payload, length=None, ftype=MSG_TYPE):
    """A frame carrying payload; length and ftype (ipc only) as given,
    else the right ones."""
    if length is None:
        length = len(payload)
    head = struct.pack(">Q", length)
    if transport == "ipc":
        head = bytes([ftype]) + head
    return head + payload


def send_quietly(s, data):
    """Send data; the daemon may close the connection first, which is fine
    (it refused what it got so far)."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def closed_by_daemon(s, timeout_s):
    """True if the daemon closes the connection within timeout_s (what it
    sends before that is read and dropped)."""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            s.settimeout(left)
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def assert_serving(d, what):
    """The daemon process is alive and answers a ping on both endpoints."""
    for url in (d.url, d.tcp_url):
        try:
            with ReqClient(url) as c:
                r = c.request({"op": "ping"}, timeout_ms=5000)
        except TimeoutError:
            r = None
        status = d.proc.poll()
        check(status is None, "aiojobsd exited (status %s%s) after %s", status,
              ", signal %d" % -status if status is not None and status < 0
              else "", what)
        check(r is not None and r.get("ok") is True and r.get("pid") == d.pid,
              "no ping reply on %s after %s: %s", url, what, r)


def test_ipc_bad_frame_type():
    """An ipc frame whose type byte is not 1 (a message) ends at most that
    connection.  (nanomsg's ipc transport asserted on it and aborted.)"""
    with TransportDaemon() as d:
        for ftype in (0x02, 0x00, 0xFF):
            with connect(d, "ipc") as s:
                send_quietly(s, frame("ipc", b"\x80\x00\x00\x01{}",
                                      ftype=ftype))
                closed_by_daemon(s, 1.0)
            assert_serving(d, "an ipc frame of type 0x%02x" % ftype)


# Requests that random frames carry pieces of, so that some reach the
# daemon's JSON decoder.
REQUESTS = (b'{"op":"ping"}', b'{"op":"submit","job":{"kind":"sleep",'
            b'"args":{"ms":0}}}', b'{"op":"wait","ids":[1,2,3]}',
            b'{"op":"status","id":1}')


def random_frame(rng, transport):
    """A frame from rng: random payload bytes or a piece of a request,
    often (so that some frames get past each layer) with a consistent
    length, a valid type byte and a request id in front; else a random
    type, a length shorter than the payload (the rest reads as the next
    frame), a longer one (the frame never completes) or any 64-bit
    number."""
    if rng.random() < 0.2:
        text = rng.choice(REQUESTS)
        payload = text[:rng.randrange(0, len(text) + 1)]
    else:
        payload = rng.randbytes(rng.randrange(0, 300))
    if rng.random() < 0.4:
        payload = struct.pack(">I", rng.getrandbits(31) | 0x80000000) + payload
    kind = rng.randrange(4)
    if kind == 0:
        length = len(payload)
    elif kind == 1:
        length = rng.randrange(0, len(payload) + 1)
    elif kind == 2:
        length = len(payload) + rng.randrange(1, 1 << 16)
    else:
        length = rng.getrandbits(64)
    ftype = MSG_TYPE if rng.random() < 0.5 else rng.getrandbits(8)
    return frame(transport, payload, length, ftype)


def random_frames(transport):
    """FRAMES random frames, each on a fresh connection after a valid
    header."""
    with TransportDaemon() as d:
        rng = random.Random("%d-%s" % (SEED, transport))
        sent = None
        for i in range(FRAMES):
            data = random_frame(rng, transport)
            try:
                with connect(d, transport) as s:
                    send_quietly(s, data)
            except (OSError, AssertionError):
                # refused or cut off: if the daemon is exiting, say when
                # that was noticed (it may have died on an earlier frame)
                try:
                    status = d.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    raise
                raise AssertionError(
                    "aiojobsd exited (status %s) during the random %s "
                    "frames, noticed at frame %d (frame %d began %s)"
                    % (status, transport, i, i - 1, sent)) from None
            sent = data[:64].hex()
        assert_serving(d, "%d random %s frames" % (FRAMES, transport))


def test_random_frames_ipc():
    random_frames("ipc")


def test_random_frames_tcp():
    random_frames("tcp")


def test_enormous_lengths():
    """Frames declaring 2^63 and 2^64 - 1 bytes."""
    with TransportDaemon() as d:
        for transport in ("ipc", "tcp"):
            for length in (1 << 63, (1 << 64) - 1):
                with connect(d, transport) as s:
                    send_quietly(s, frame(transport, b"\x80\x00\x00\x01{}",
                                          length))
                    # the daemon keeps serving while the connection is
                    # open, and after
                    assert_serving(d, "a %s frame of %d bytes (open)"
                                   % (transport, length))
                assert_serving(d, "a %s frame of %d bytes" % (transport,
                                                               length))


def transport_limit(max_request_bytes):
    """The largest message the daemon's transport takes: 16 x
    max_request_bytes, at least 16 MiB, at most 1 GiB (control_rcvmax in
    daemon/control.c)."""
    return min(max(16 * max_request_bytes, 16 * MiB), 1024 * MiB)


def test_just_over_the_receive_limit():
    """A frame one byte over the transport's limit, 64 KiB of it sent."""
    with TransportDaemon("--max-request-bytes", "4096") as d:
        length = transport_limit(4096) + 1
        for transport in ("ipc", "tcp"):
            with connect(d, transport) as s:
                send_quietly(s, frame(transport, b"\x80\x00\x00\x01"
                                      + b" " * (64 * 1024), length))
                assert_serving(d, "a %s frame of %d bytes (open)"
                               % (transport, length))
            assert_serving(d, "a %s frame of %d bytes" % (transport, length))


def read_reply(s, transport):
    """One reply frame's payload from a plain socket."""
    head = recv_exact(s, 9 if transport == "ipc" else 8)
    check(len(head) in (8, 9), "no reply frame over %s (closed)", transport)
    (length,) = struct.unpack(">Q", head[-8:])
    check(length < MiB, "a reply of %d bytes", length)
    return recv_exact(s, length)


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/%d/status" % pid)


def test_over_the_receive_limit_answered():
    """A request over the transport's limit is read and thrown away as it
    arrives (the daemon's peak memory does not grow by its size) and
    answered too_large, naming the limit, with its request id; the
    connection stays usable. An NNG client gets the same reply."""
    with TransportDaemon("--max-request-bytes", "4096") as d:
        limit = transport_limit(4096)
        length = 6 * limit
        chunk = b" " * MiB
        for n, transport in enumerate(("ipc", "tcp")):
            rid = struct.pack(">I", 0x80000100 + n)
            before = peak_rss_kib(d.pid)
            with connect(d, transport) as s:
                s.settimeout(60)
                s.sendall(frame(transport, rid, length))
                left = length - len(rid)
                while left > 0:
                    s.sendall(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
                reply = read_reply(s, transport)
                eq(reply[:4], rid, "request id of the too_large reply")
                r = json.loads(reply[4:].decode())
                eq((r.get("ok"), r.get("error", {}).get("code")),
                   (False, "too_large"), "reply over %s: %s"
                   % (transport, r))
                check(str(limit) in r["error"]["message"] and
                      str(length) in r["error"]["message"],
                      "the message names the size and the limit: %s", r)
                grown = peak_rss_kib(d.pid) - before
                if not harness.SANITIZED:   # its allocator keeps freed memory
                    check(grown < limit // 1024, "peak memory grew by %d KiB "
                          "for a request of %d bytes", grown, length)
                ping = struct.pack(">I", 0x80000200 + n) + b'{"op":"ping"}'
                s.sendall(frame(transport, ping))
                reply = read_reply(s, transport)
                eq(reply[:4], ping[:4], "request id of the ping after it")
                eq(json.loads(reply[4:].decode()).get("ok"), True,
                   "ping on the same connection over %s" % transport)
        for url in (d.url, d.tcp_url):
            with ReqClient(url) as c:
                big = b'{"op":"ping","pad":"' + b" " * (limit + 1) + b'"}'
                r = c.request(big, timeout_ms=30000)
                eq(r.get("error", {}).get("code"), "too_large",
                   "an NNG client's request over the limit on %s" % url)
                eq(c.request({"op": "ping"})["ok"], True, "ping after it")
        assert_serving(d, "requests over the transport's limit")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def recv_up_to(s, n):
    """Read up to n bytes, less if the daemon closes first."""
    got = 0
    try:
        while got < n:
            chunk = s.recv(min(n - got, 65536))
            if not chunk:
                break
            got += len(chunk)
    except OSError:
        pass
    return got


def test_hang_up_during_a_large_reply():
    """Clients that hang up while the daemon writes a large reply to them
    (a page of output of an exec job whose output is 1 MiB of NUL bytes:
    512 KiB as base64, about 700 KB of JSON) cost those connections only:
    the daemon closes them, keeps serving and stops on SIGTERM (Daemon
    checks that: 15 s).

    An NNG 1.5.2 server fails this about one run in four: a reply whose
    connection closes between two partial writes is never finished, and
    NNG's one reaper thread waits on it for ever, so neither that
    connection nor any that closes after it is freed."""
    with TransportDaemon() as d:
        jid = d.submit({"kind": "exec", "args": {
            "argv": ["head", "-c", str(MiB), "/dev/zero"]}})
        d.wait_ids([jid])
        msg = {"op": "output", "id": jid, "length": MiB // 2}
        request = (struct.pack(">I", 0x80000001) + json.dumps(msg).encode())
        before = open_fds(d.pid)
        rng = random.Random(SEED)
        for transport in ("ipc", "tcp"):
            for _ in range(HANGUPS):
                with connect(d, transport) as s:
                    s.sendall(frame(transport, request))
                    # read a part of the reply, then hang up (on tcp half
                    # the time with a reset)
                    recv_up_to(s, rng.randrange(0, 600000))
                    if transport == "tcp" and rng.random() < 0.5:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
        harness.poll_until(
            lambda: open_fds(d.pid) <= before + 2, 10,
            what="the daemon closing the connections of %d clients that "
            "hung up (descriptors: %d before, %d now)"
            % (2 * HANGUPS, before, open_fds(d.pid)))
        assert_serving(d, "%d hang-ups during large replies" % (2 * HANGUPS))


SYS_PIDFD_GETFD = 438      # x86-64 and arm64 alike


def peer_socket_in(pid, peer):
    """A duplicate of the descriptor process pid holds for the TCP
    connection whose far end is peer (pidfd_getfd), or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith(
                        "socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                check(ctypes.get_errno() != errno.EPERM, "pidfd_getfd: "
                      "not allowed to look at the daemon's descriptors")
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.family == socket.AF_INET and s.getpeername() == peer:
                    return s
            except OSError:
                pass
            s.close()
    finally:
        os.close(pidfd)
    return None


def test_tcp_nodelay():
    """The daemon's end of a tcp connection, control and events alike, has
    Nagle's algorithm off: an event or a reply written right after another
    would otherwise wait for the first one's ACK (nanomsg left it on: 20 ms
    tails on tcp events). Read off the daemon's own descriptors."""
    events_port = free_port()
    with TransportDaemon("--events-url",
                         "tcp://127.0.0.1:%d" % events_port) as d:
        for what, port, proto in (("control", d.port, REQ),
                                  ("events", events_port, SUB)):
            with socket.create_connection(("127.0.0.1", port),
                                          IO_TIMEOUT) as c:
                c.sendall(sp_header(proto))
                eq(len(recv_exact(c, 8)), 8, "%s: the daemon's header" % what)
                s = peer_socket_in(d.pid, c.getsockname())
                check(s is not None, "%s: no daemon descriptor for the "
                      "connection from %s", what, c.getsockname())
                with s:
                    check(s.getsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY) != 0,
                          "%s: TCP_NODELAY is off on the daemon's end", what)


def test_bad_headers():
    """Headers that are not SP, or name a protocol that is not REQ, or
    stop half way."""
    with TransportDaemon() as d:
        for transport in ("ipc", "tcp"):
            for head in (b"GET / HTTP/1.0\r\n\r\n", b"\x00SP\x01\x00\x30\x00\x00",
                         sp_header(PUB), sp_header(SUB), sp_header(REP),
                         b"\x00SP\x00", b"\xff" * 8 + b"\x01" + b"\x00" * 8):
                family, address = d.endpoint(transport)
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(IO_TIMEOUT)
                    s.connect(address)
                    send_quietly(s, head)
                    closed_by_daemon(s, 0.2)
            assert_serving(d, "bad headers over %s" % transport)


if __name__ == "__main__":
    harness.main()
