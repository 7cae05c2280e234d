"""The http kind (PROTOCOL 3.3): requests made on the event loop against
servers this script starts on 127.0.0.1 (ephemeral ports only): a threaded
http.server that echoes what it got and answers with statuses, redirects,
big, binary, chunked, slow and trickling bodies; a server that accepts and
never answers; a closed port; https servers with self-signed certificates
made here with `openssl req`. Results, errors (dns_failed, connect_failed,
tls_failed, timeout, http_status), cancel, file descriptors, 2000
concurrent requests, bad args, and `aiojobctl submit http`."""

import atexit
import base64
import gzip
import json
import os
import random
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Daemon, ReqClient, check, eq, expect_error,  # noqa: E402
                     poll_until)

DIGITS = b"0123456789"
BINARY = b"ok\xff\xfe\x00end\x80"


def big_body(n):
    return (DIGITS * (n // 10 + 1))[:n]


def gzip_of_random(n):
    """The gzip (no name, no time) of n fixed pseudo-random bytes."""
    data = random.Random(n).randbytes(n)
    return gzip.compress(data, mtime=0)


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """The routes of the test server; every method goes through route()."""

    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    trickles = 0        # /trickle requests begun, in this process

    def log_message(self, *args):
        pass

    def send(self, code, body, ctype="text/plain; charset=utf-8",
             extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location, code=302):
        self.send(code, b"see " + location.encode(),
                  extra=[("Location", location)])

    def echo(self, body):
        out = {"method": self.command, "path": self.path,
               "headers": [[k, v] for k, v in self.headers.items()],
               "body": body.decode("utf-8", errors="replace")}
        self.send(200, json.dumps(out).encode(), "application/json",
                  [("X-Echo", "yes"), ("X-Multi", "a"), ("X-Multi", "b")])

    def chunked(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (b"abc", b"defgh", DIGITS):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")

    def to_eof(self):
        """A body without a length: it ends when the connection does."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"until the end")
        self.close_connection = True

    def trickle(self):
        """100 bytes announced, one a second: never idle, never done."""
        with Handler.lock:
            Handler.trickles += 1
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass
        self.close_connection = True

    def stream(self, n):
        """n bytes written 64 KiB at a time, never all in memory here."""
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        block = b"s" * 65536
        try:
            while n > 0:
                self.wfile.write(block[:n])
                n -= min(n, len(block))
        except OSError:
            self.close_connection = True

    def hangup(self):
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        p = u.path
        if p == "/echo":
            self.echo(body)
        elif p.startswith("/status/"):
            code = int(p[len("/status/"):])
            self.send(code, b"status %d" % code)
        elif p == "/redirect-to":
            self.redirect(q["url"], int(q.get("status", 302)))
        elif p.startswith("/hop/") or p.startswith("/rel/"):
            k = int(p[5:])
            if k == 0:
                self.send(200, b"landed")
            elif p.startswith("/hop/"):
                self.redirect("/hop/%d" % (k - 1))     # absolute path
            else:
                self.redirect("%d" % (k - 1))          # relative path
        elif p == "/big":
            self.send(200, big_body(int(q["n"])))
        elif p == "/stream":
            self.stream(int(q["n"]))
        elif p == "/binary":
            self.send(200, BINARY, "application/octet-stream")
        elif p == "/gzip":
            self.send(200, gzip_of_random(int(q["n"])), "application/gzip")
        elif p == "/mirror":
            self.send(200, body, "application/octet-stream")
        elif p == "/chunked":
            self.chunked()
        elif p == "/eof":
            self.to_eof()
        elif p == "/slow":
            time.sleep(1)
            self.send(200, b"slow")
        elif p == "/trickle":
            self.trickle()
        elif p == "/hangup":
            self.hangup()
        else:
            self.send(404, b"no route")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = route


class Server(ThreadingHTTPServer):
    """A thread per connection; 2000 of them at once must queue, not be
    refused."""

    daemon_threads = True
    request_queue_size = 4096
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass        # failed TLS handshakes, clients that went away


class TLSServer(Server):
    """The same routes over TLS; the handshake happens in the connection's
    thread (on its first read), never in the accepting one."""

    def __init__(self, addr, handler, ctx):
        self.ctx = ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr


class HTTPServer:
    """with HTTPServer() as s: s.url("/echo") (https with a cert/key)."""

    def __init__(self, cert=None):
        if cert is None:
            self.srv = Server(("127.0.0.1", 0), Handler)
            self.scheme = "http"
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*cert)
            self.srv = TLSServer(("127.0.0.1", 0), Handler, ctx)
            self.scheme = "https"
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path, host="127.0.0.1"):
        return "%s://%s:%d%s" % (self.scheme, host, self.port, path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(5)
        return False


class ServerProcess:
    """The test server in a process of its own (this script, --serve), so
    that its threads never compete with the test's for the GIL: a slow
    answer from the test process must not pass for a slow daemon."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return False


def serve_main():
    """--serve: an HTTPServer until standard input closes."""
    with HTTPServer() as s:
        print(s.port, flush=True)
        sys.stdin.read()


class Blackhole:
    """Accepts connections, reads what comes, never answers; counts the
    connections its peers closed."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4096)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.lsock, selectors.EVENT_READ)
        while not self.stop:
            for key, _ in sel.select(0.05):
                if key.fileobj is self.lsock:
                    try:
                        c, _ = self.lsock.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                    self.accepted += 1
                    continue
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    self.closed += 1
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join(5)
        return False


def closed_port():
    """A port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_certs = None


def certs():
    """Self-signed certificates made once: 'good' for localhost and
    127.0.0.1, 'wrong' for wrong.example; 'ca' trusts both."""
    global _certs
    if _certs is not None:
        return _certs
    d = tempfile.mkdtemp(prefix="ajtls", dir="/tmp")
    atexit.register(shutil.rmtree, d, True)
    out = {}
    for name, cn, san in [("good", "localhost",
                           "DNS:localhost,IP:127.0.0.1"),
                          ("wrong", "wrong.example", "DNS:wrong.example")]:
        cert, key = os.path.join(d, name + ".pem"), os.path.join(
            d, name + ".key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-keyout", key, "-out", cert,
                        "-subj", "/CN=" + cn, "-addext",
                        "subjectAltName=" + san],
                       check=True, capture_output=True, timeout=30)
        out[name] = (cert, key)
    out["ca"] = os.path.join(d, "ca.pem")
    with open(out["ca"], "wb") as f:
        for name in ("good", "wrong"):
            with open(out[name][0], "rb") as c:
                f.write(c.read())
    _certs = out
    return out


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def spec(url, **args):
    fields = {k: args.pop(k) for k in ("timeout_ms", "retries",
                                               "retry_backoff_ms", "name")
              if k in args}
    s = {"kind": "http", "args": dict(url=url, **args)}
    s.update(fields)
    return s


def run(d, url, timeout_s=30, **args):
    """Submit an http job, wait for it, return its final view."""
    jid = d.submit(spec(url, **args))
    return d.wait_ids([jid], timeout_s=timeout_s)["done"][0]


def echoed(v):
    """What the echo server got, from a job's result."""
    eq(v["state"], "succeeded", "state (%s)" % v.get("error"))
    return json.loads(v["result"]["body"])


def header(pairs, name):
    """The values of a header among [name, value] pairs (any case)."""
    return [v for k, v in pairs if k.lower() == name.lower()]


def runtime_ms(v):
    return v["finished_at"] - v["started_at"]


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def failed(v, code, *needles):
    eq(v["state"], "failed", "state (%s)" % v.get("result"))
    eq(v["error"]["code"], code, "error code (%s)" % v["error"])
    for n in needles:
        check(n.lower() in v["error"]["message"].lower(),
              "error message %r does not mention %r", v["error"]["message"],
              n)


# ---------------------------------------------------------------------------
# requests and results
# ---------------------------------------------------------------------------


def test_get_round_trip():
    with HTTPServer() as s, Daemon() as d:
        v = run(d, s.url("/echo?x=1&y=%20z"),
                headers={"X-Header": "hello there", "Accept": "text/plain"})
        got = echoed(v)
        eq(got["method"], "GET", "method")
        eq(got["path"], "/echo?x=1&y=%20z", "path and query as given")
        eq(header(got["headers"], "X-Header"), ["hello there"], "X-Header")
        eq(header(got["headers"], "Accept"), ["text/plain"], "Accept")
        eq(header(got["headers"], "Host"), ["127.0.0.1:%d" % s.port], "Host")
        check(header(got["headers"], "User-Agent")[0].startswith("aiojobsd/"),
              "User-Agent: %s", header(got["headers"], "User-Agent"))
        eq(got["body"], "", "no body")
        r = v["result"]
        eq(r["status"], 200, "status")
        eq(r["headers"].get("X-Echo"), "yes", "response header")
        eq(r["headers"].get("Content-Type"), "application/json",
           "Content-Type")
        eq(r["headers"].get("X-Multi"), "a, b", "repeated header joined")
        eq(r["body_bytes"], len(r["body"].encode()), "body_bytes")
        eq(r["body_truncated"], False, "body_truncated")
        check("url" not in r, "url in a result without redirects: %s", r)
        eq(v["error"], None, "error")
        # a name from /etc/hosts: localhost
        got = echoed(run(d, s.url("/echo", host="localhost")))
        eq(header(got["headers"], "Host"), ["localhost:%d" % s.port],
           "Host by name")


def test_post_and_other_methods():
    text = "h\u00e9llo w\u00f6rld \u2713 \U0001f600"
    with HTTPServer() as s, Daemon() as d:
        v = run(d, s.url("/echo"), method="POST", body=text,
                headers={"Content-Type": "text/plain; charset=utf-8",
                         "X-Header": "post"})
        got = echoed(v)
        eq(got["method"], "POST", "method")
        eq(got["body"], text, "body round trip")
        eq(header(got["headers"], "Content-Length"),
           [str(len(text.encode()))], "Content-Length in bytes")
        eq(header(got["headers"], "Content-Type"),
           ["text/plain; charset=utf-8"], "Content-Type")
        eq(header(got["headers"], "X-Header"), ["post"], "X-Header")
        for m in ("put", "DELETE", "Patch", "OPTIONS"):
            got = echoed(run(d, s.url("/echo"), method=m, body="b-" + m))
            eq(got["method"], m.upper(), "method %s" % m)
            eq(got["body"], "b-" + m, "body of %s" % m)
        got = echoed(run(d, s.url("/echo"), method="POST", body=""))
        eq((got["body"], header(got["headers"], "Content-Length")),
           ("", ["0"]), "empty body")


def test_binary_body_byte_for_byte():
    want = gzip_of_random(20000)
    sent = random.Random(5).randbytes(30000) + b"\0\xff"
    with HTTPServer() as s, Daemon() as d:
        v = run(d, s.url("/gzip?n=20000"))
        eq(v["state"], "succeeded", "state")
        check(v["result"]["body"] is None, "a gzip body is not text: %.60r",
              v["result"]["body"])
        check(base64.b64decode(v["result"]["body_base64"]) == want,
              "body_base64 holds the gzip bytes")
        p = subprocess.run([harness.AIOJOBCTL, "logs", str(v["id"])],
                           capture_output=True, timeout=60,
                           env=harness.clean_env(AIOJOBS_RUNDIR=d.rundir))
        eq(p.returncode, 0, "logs of an http job (%r)" % p.stderr)
        check(p.stdout == want, "logs wrote the body byte for byte")
        with tempfile.NamedTemporaryFile(suffix=".gz") as f:
            f.write(p.stdout)
            f.flush()
            eq(subprocess.run(["gzip", "-t", f.name]).returncode, 0,
               "gzip -t accepts the body logs wrote")
        # a binary request body goes out as the bytes body_base64 holds
        v = run(d, s.url("/mirror"), method="POST",
                body_base64=base64.b64encode(sent).decode())
        check(base64.b64decode(v["result"]["body_base64"]) == sent,
              "body_base64 sent byte for byte")
        for args, field in (({"body_base64": "@@@@"}, "body_base64"),
                            ({"body": "a", "body_base64": "YQ=="},
                             "body_base64")):
            r = d.request({"op": "submit", "job": spec(s.url("/echo"),
                                                       **args)})
            expect_error(r, "bad_request", field)


def test_status_codes():
    with HTTPServer() as s, Daemon() as d:
        v = run(d, s.url("/status/404"))
        failed(v, "http_status", "404")
        eq(v["result"]["status"], 404, "result attached to the failure")
        eq(v["result"]["body"], "status 404", "body of the 404")
        v = run(d, s.url("/status/404"), fail_on_status=False)
        eq(v["state"], "succeeded", "404 without fail_on_status")
        eq((v["result"]["status"], v["error"]), (404, None), "404 result")
        v = run(d, s.url("/status/503"))
        failed(v, "http_status", "503")
        for code in (201, 204, 399):
            v = run(d, s.url("/status/%d" % code))
            eq((v["state"], v["result"]["status"]), ("succeeded", code),
               "status %d" % code)
        eq(v["result"]["body"], "status 399", "body of 399")
        v = run(d, s.url("/nowhere"), retries=1, retry_backoff_ms=10)
        failed(v, "http_status")
        eq(v["attempts"], 2, "an http_status failure is retried")


def test_redirects():
    with HTTPServer() as s, HTTPServer() as other, Daemon() as d:
        target = other.url("/echo?from=redirect")
        loc = "/redirect-to?url=" + urllib.parse.quote(target, safe="")
        # not followed by default: the 302 is the result
        v = run(d, s.url(loc))
        eq((v["state"], v["result"]["status"]), ("succeeded", 302),
           "302 not followed")
        eq(v["result"]["headers"].get("Location"), target, "Location")
        check("url" not in v["result"], "url without a hop")
        # an absolute Location, to another server
        v = run(d, s.url(loc), follow_redirects=2)
        got = echoed(v)
        eq(got["path"], "/echo?from=redirect", "landed on the target")
        eq(v["result"]["url"], target, "result url after the redirect")
        # absolute paths and relative paths, two hops each
        for base in ("/hop/", "/rel/"):
            v = run(d, s.url(base + "2"), follow_redirects=2)
            eq((v["state"], v["result"]["status"], v["result"]["body"]),
               ("succeeded", 200, "landed"), "two hops of " + base)
            eq(v["result"]["url"], s.url(base + "0"), "url after " + base)
        # too many: stops at the limit with the redirect as the result
        v = run(d, s.url("/hop/5"), follow_redirects=2)
        eq((v["state"], v["result"]["status"]), ("succeeded", 302),
           "stopped after 2 hops")
        eq(v["result"]["url"], s.url("/hop/3"), "where it stopped")
        eq(v["result"]["headers"].get("Location"), "/hop/2", "next Location")
        # 303 turns a POST into a GET; 307 keeps method and body
        for code, method, body in ((303, "GET", ""), (307, "POST", "data")):
            v = run(d, s.url("/redirect-to?status=%d&url=/echo" % code),
                    method="POST", body="data", follow_redirects=1)
            got = echoed(v)
            eq((got["method"], got["body"]), (method, body),
               "after a %d" % code)
        # a redirect to a closed port fails as that request would
        v = run(d, s.url("/redirect-to?url=http://127.0.0.1:%d/"
                         % closed_port()), follow_redirects=1)
        failed(v, "connect_failed")


def test_body_truncation_and_encodings():
    with HTTPServer() as s, Daemon() as d:
        v = run(d, s.url("/big?n=5000"), max_body=100)
        r = v["result"]
        eq(v["state"], "succeeded", "state")
        eq(r["body"], big_body(100).decode(), "first 100 bytes kept")
        eq((r["body_bytes"], r["body_truncated"]), (5000, True),
           "all 5000 bytes counted")
        r = run(d, s.url("/big?n=5000"), max_body=0)["result"]
        eq((r["body"], r["body_bytes"], r["body_truncated"]),
           ("", 5000, True), "max_body 0")
        r = run(d, s.url("/big?n=5000"), max_body=5000)["result"]
        eq((len(r["body"]), r["body_truncated"]), (5000, False),
           "exactly max_body")
        # the default: 1 MiB kept of 1.5 MB (the reply exceeds 1 MiB)
        jid = d.submit(spec(s.url("/big?n=1500000")))
        with ReqClient(d.url, rcvmaxsize=-1) as c:
            r = c.request({"op": "wait", "ids": [jid], "timeout_ms": 20000},
                          timeout_ms=25000)["done"][0]["result"]
        # the view carries the first 64 KiB; the output op all that is kept
        eq((len(r["body"]), r["body_bytes"], r["body_truncated"],
            r["body_more"]), (65536, 1500000, True, True),
           "default max_body: the view")
        eq(r["body"], big_body(65536).decode(), "the head of the body")
        got = ""
        while True:
            page = d.ok({"op": "output", "id": jid, "stream": "body",
                         "offset": len(got)})
            got += page["data"]
            if page["eof"]:
                break
        eq((len(got), page["kept"], page["total"]),
           (1 << 20, 1 << 20, 1500000), "default max_body kept")
        check(got == big_body(1 << 20).decode(), "default max_body body")
        # bytes that are not UTF-8 (or NUL) come as base64, counted as sent
        r = run(d, s.url("/binary"))["result"]
        eq((r["body"], r["body_base64"]), (None, "b2v//gBlbmSA"),
           "binary body")
        eq(r["body_bytes"], len(BINARY), "binary body_bytes")
        # a chunked body, and a body ending with the connection
        r = run(d, s.url("/chunked"))["result"]
        eq((r["body"], r["body_bytes"]), ("abcdefgh0123456789", 18),
           "chunked")
        r = run(d, s.url("/chunked"), max_body=4)["result"]
        eq((r["body"], r["body_bytes"], r["body_truncated"]),
           ("abcd", 18, True), "chunked, truncated")
        r = run(d, s.url("/eof"))["result"]
        eq((r["body"], r["body_bytes"]), ("until the end", 13),
           "body to EOF")


def test_huge_body_bounded_memory():
    with HTTPServer() as s, Daemon() as d:
        run(d, s.url("/stream?n=1000"))
        before = rss_kib(d.pid)
        n = 256 << 20
        r = run(d, s.url("/stream?n=%d" % n), max_body=1000,
                timeout_s=120)["result"]
        eq((r["body"], r["body_bytes"], r["body_truncated"]),
           ("s" * 1000, n, True), "256 MiB counted, 1000 bytes kept")
        grown = rss_kib(d.pid) - before
        harness.check_memory(grown < 32 * 1024, "daemon RSS grew by %d KiB", grown)


# ---------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------


def test_dns_and_connect_failures():
    with HTTPServer() as s, Daemon() as d:
        t0 = time.monotonic()
        v = run(d, "http://x.invalid/")
        failed(v, "dns_failed", "x.invalid")
        check(time.monotonic() - t0 < 2, ".invalid took %.1f s",
              time.monotonic() - t0)
        eq(v["result"], None, "no result")
        failed(run(d, "https://deep.name.INVALID:8443/p"), "dns_failed")
        port = closed_port()
        v = run(d, "http://127.0.0.1:%d/" % port)
        failed(v, "connect_failed", "127.0.0.1", str(port))
        eq(v["result"], None, "no result")
        v = run(d, "http://127.0.0.1:%d/" % port, retries=2,
                retry_backoff_ms=10)
        failed(v, "connect_failed")
        eq(v["attempts"], 3, "connect_failed is retried")
        # a server that hangs up without an answer
        failed(run(d, s.url("/hangup")), "connect_failed")


def test_timeouts():
    with Blackhole() as bh, HTTPServer() as s, Daemon() as d:
        # accepted, never answered: the job's timeout
        v = run(d, bh.url(), timeout_ms=500)
        failed(v, "timeout")
        check(400 <= runtime_ms(v) < 3000, "timed out after %d ms",
              runtime_ms(v))
        poll_until(lambda: bh.closed >= 1, 5,
                   what="the daemon closed the connection")
        # a body arriving a byte a second is never idle: only timeout_ms
        # (not the 30 s inactivity timeout) ends it
        v = run(d, s.url("/trickle"), timeout_ms=1500)
        failed(v, "timeout")
        check(1400 <= runtime_ms(v) < 4000, "trickle timed out after %d ms",
              runtime_ms(v))
    # the daemon's connect/inactivity timeout, without a job timeout
    with Blackhole() as bh, Daemon("--http-connect-timeout", "1s") as d:
        v = run(d, bh.url())
        failed(v, "timeout")
        check(900 <= runtime_ms(v) < 5000, "inactivity timeout after %d ms",
              runtime_ms(v))


def test_cancel_mid_request():
    with Blackhole() as bh, HTTPServer() as s, Daemon() as d:
        for url, began in ((bh.url(), lambda: bh.accepted),
                           (s.url("/trickle"), lambda: Handler.trickles)):
            before = began()
            jid = d.submit(spec(url))
            # connected, and waiting for (the rest of) the answer
            poll_until(lambda: began() > before, 5, what="request begun")
            t0 = time.monotonic()
            r = d.ok({"op": "cancel", "id": jid})
            elapsed = time.monotonic() - t0
            eq(r["job"]["state"], "cancelled", "cancel reply for %s" % url)
            eq(r["job"]["error"]["code"], "cancelled", "error code")
            check(elapsed < 0.5, "cancel took %.2f s", elapsed)
            eq(d.status(jid)["state"], "cancelled", "status after cancel")
        poll_until(lambda: bh.closed >= 1, 5,
                   what="the cancelled connection closed")
        # the daemon carries on
        eq(echoed(run(d, s.url("/echo")))["method"], "GET", "after cancels")


def test_https():
    c = certs()
    with HTTPServer(cert=c["good"]) as good, \
            HTTPServer(cert=c["wrong"]) as wrong, HTTPServer() as plain:
        with Daemon("--tls-ca-file", c["ca"]) as d:
            for host in ("localhost", "127.0.0.1"):
                v = run(d, good.url("/echo?tls=1", host=host),
                        method="POST", body="secret",
                        headers={"X-Header": "tls"})
                got = echoed(v)
                eq((got["path"], got["body"]), ("/echo?tls=1", "secret"),
                   "https to %s" % host)
                eq(header(got["headers"], "X-Header"), ["tls"], "X-Header")
            # trusted, but made out for another name
            v = run(d, wrong.url("/echo", host="localhost"))
            failed(v, "tls_failed", "certificate")
            msg = v["error"]["message"].lower()
            check("hostname" in msg or "host name" in msg,
                  "message does not name the host name problem: %s", msg)
            eq(v["result"], None, "no result")
            # https to a server that speaks plain http
            failed(run(d, plain.url("/echo").replace("http:", "https:")),
                   "tls_failed")
            # redirects between http and https
            loc = "/redirect-to?url=" + urllib.parse.quote(
                good.url("/echo", host="localhost"), safe="")
            v = run(d, plain.url(loc), follow_redirects=1)
            eq(echoed(v)["path"], "/echo", "http -> https")
        # self-signed is not in the system trust store
        with Daemon() as d:
            v = run(d, good.url("/echo", host="localhost"))
            failed(v, "tls_failed", "certificate")
            check("self" in v["error"]["message"].lower()
                  or "issuer" in v["error"]["message"].lower(),
                  "message does not say why: %s", v["error"]["message"])
        with Daemon("--no-tls-verify") as d:
            v = run(d, wrong.url("/echo", host="localhost"))
            eq(echoed(v)["method"], "GET", "--no-tls-verify")


def test_bad_args():
    cases = [({}, "url"), ({"url": 5}, "url"), ({"url": "ftp://x/"}, "url"),
             ({"url": "not a url"}, "url"), ({"url": "http://"}, "url"),
             ({"url": "/relative"}, "url"),
             ({"url": "http://a/", "method": "FETCH"}, "method"),
             ({"url": "http://a/", "method": 1}, "method"),
             ({"url": "http://a/", "headers": {"X": "a\r\nInjected: 1"}},
              "header"),
             ({"url": "http://a/", "headers": {"X\r\nY": "a"}}, "header"),
             ({"url": "http://a/", "headers": {"X": "a\nb"}}, "header"),
             ({"url": "http://a/", "headers": {"X": 1}}, "header"),
             ({"url": "http://a/", "headers": ["X: 1"]}, "headers"),
             ({"url": "http://a/", "body": 5}, "body"),
             ({"url": "http://a/", "max_body": -1}, "max_body"),
             ({"url": "http://a/", "max_body": "1"}, "max_body"),
             ({"url": "http://a/", "follow_redirects": -1},
              "follow_redirects"),
             ({"url": "http://a/", "fail_on_status": "no"},
              "fail_on_status")]
    with Daemon() as d:
        for args, field in cases:
            r = d.request({"op": "submit",
                           "job": {"kind": "http", "args": args}})
            expect_error(r, "bad_request", field)
        r = d.request({"op": "submit", "jobs": [
            spec("http://a/"), {"kind": "http", "args": {"url": "x"}}]})
        expect_error(r, "bad_request", "jobs[1]")
        eq(d.ok({"op": "list", "limit": 0})["jobs"], [], "nothing created")


# ---------------------------------------------------------------------------
# resources and concurrency
# ---------------------------------------------------------------------------


def test_no_fd_growth():
    c = certs()
    with Blackhole() as bh, HTTPServer(cert=c["wrong"]) as wrong, \
            HTTPServer() as s, \
            Daemon("--limit", "0", "--workers", "0", "--tls-ca-file",
                   c["ca"]) as d:
        port = closed_port()
        refused = spec("http://127.0.0.1:%d/" % port)
        silent = spec(bh.url(), timeout_ms=300)
        silent_tls = spec("https://127.0.0.1:%d/" % bh.port, timeout_ms=300)
        invalid = spec("http://x.invalid/")
        tls = spec(wrong.url("/", host="localhost"))
        hang = spec(bh.url())
        # warm up every path once (TLS context, resolver), then count
        warm = d.ok({"op": "submit", "jobs": [
            refused, silent, silent_tls, invalid, tls,
            spec(s.url("/echo"))]})["ids"]
        d.wait_ids(warm)
        base = fd_count(d.pid)
        specs = [refused, silent, silent_tls, invalid, tls] * 80
        ids = d.ok({"op": "submit", "jobs": specs})["ids"]
        hangs = d.ok({"op": "submit", "jobs": [hang] * 100})["ids"]
        for jid in hangs:
            d.wait_state(jid, ("running", "cancelled", "failed"))
        for jid in hangs:
            d.ok({"op": "cancel", "id": jid})
        r = d.wait_ids(ids + hangs, timeout_s=60)
        codes = {}
        for v in r["done"]:
            code = v["error"]["code"] if v["error"] else v["state"]
            codes[code] = codes.get(code, 0) + 1
        eq(codes, {"connect_failed": 80, "timeout": 160, "dns_failed": 80,
                   "tls_failed": 80, "cancelled": 100}, "outcomes")
        poll_until(lambda: fd_count(d.pid) <= base, 10, interval=0.1,
                   what="fd count back to %d (now %d)"
                   % (base, fd_count(d.pid)))
        eq(d.ok({"op": "stats"})["jobs"]["running"], 0, "nothing running")
        eq(echoed(run(d, s.url("/echo")))["method"], "GET", "still works")


def test_2000_concurrent_requests():
    n = 2000
    with ServerProcess() as s, Daemon("--limit", "0", "-q") as d:
        t0 = time.monotonic()
        ids = d.ok({"op": "submit",
                    "jobs": [spec(s.url("/slow"))] * n})["ids"]
        worst = 0.0
        pings = 0
        while True:
            p0 = time.monotonic()
            d.ok({"op": "ping"})
            worst = max(worst, time.monotonic() - p0)
            pings += 1
            st = d.ok({"op": "stats"})["jobs"]
            if st["succeeded"] + st["failed"] + st["cancelled"] >= n:
                break
            check(time.monotonic() - t0 < 30, "not done after 30 s: %s", st)
            time.sleep(0.02)
        elapsed = time.monotonic() - t0
        with ReqClient(d.url, rcvmaxsize=-1) as c:
            r = c.request({"op": "wait", "ids": ids, "timeout_ms": 10000},
                          timeout_ms=20000)
        bad = [v for v in r["done"] if v["state"] != "succeeded"]
        check(not bad, "%d of %d failed, e.g. %s", len(bad), n,
              bad[0]["error"] if bad else None)
        check(all(v["result"]["body"] == "slow" for v in r["done"]),
              "a body is not 'slow'")
        overlap = harness.max_overlap([(v["started_at"], v["finished_at"])
                                       for v in r["done"]])
        print("  %d requests to a 1 s server in %.2f s, %d ran at once, "
              "%d pings, slowest %.3f s" % (n, elapsed, overlap, pings,
                                            worst))
        check(elapsed < 10, "took %.2f s", elapsed)
        check(overlap >= n // 2, "only %d ran at once", overlap)
        check(worst < 1.0, "a ping took %.3f s", worst)


# ---------------------------------------------------------------------------
# aiojobctl submit http
# ---------------------------------------------------------------------------


def ctl_view(d, *args, input=""):
    """Run aiojobctl --json submit --wait ...; (rc, the job view)."""
    rc, out, err = d.ctl("--json", "submit", "--wait", *args, input=input)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    check(len(lines) == 2, "expected the id and the wait reply: rc %d, %r, "
          "%r", rc, out[-500:], err[-500:])
    return rc, json.loads(lines[1])["done"][0]


def test_cli_submit_http():
    with HTTPServer() as s, Daemon() as d:
        rc, v = ctl_view(d, "http", s.url("/echo?q=1"), "--header",
                         "X-Header:  from the cli ", "--header",
                         "x-other: 1", "--header", "X-OTHER: 2")
        eq(rc, 0, "rc")
        eq(v["args"], {"url": s.url("/echo?q=1"),
                       "headers": {"X-Header": "from the cli",
                                   "X-OTHER": "2"}}, "args")
        got = echoed(v)
        eq(header(got["headers"], "X-Header"), ["from the cli"], "header")
        eq(header(got["headers"], "X-Other"), ["2"], "the last one wins")
        # --data: POST by default; options before the URL
        rc, v = ctl_view(d, "http", "--data", "caf\u00e9", s.url("/echo"))
        got = echoed(v)
        eq((got["method"], got["body"]), ("POST", "caf\u00e9"), "--data")
        path = os.path.join(d.rundir, "body.txt")
        with open(path, "w") as f:
            f.write("from a file\n")
        rc, v = ctl_view(d, "http", s.url("/echo"), "--method", "PUT",
                         "--data-file", path)
        got = echoed(v)
        eq((got["method"], got["body"]), ("PUT", "from a file\n"),
           "--data-file")
        rc, v = ctl_view(d, "http", s.url("/echo"), "--data-file", "-",
                         input="from stdin")
        eq(echoed(v)["body"], "from stdin", "--data-file -")
        rc, v = ctl_view(d, "http", s.url("/big?n=50"), "--max-body", "7")
        eq((rc, v["result"]["body"], v["result"]["body_bytes"]),
           (0, "0123456", 50), "--max-body")
        rc, v = ctl_view(d, "http", s.url("/hop/2"), "--follow", "2")
        eq((rc, v["result"]["body"]), (0, "landed"), "--follow")
        rc, v = ctl_view(d, "http", s.url("/status/404"))
        eq((rc, v["error"]["code"]), (1, "http_status"), "404 fails")
        rc, v = ctl_view(d, "http", s.url("/status/404"),
                         "--no-fail-on-status")
        eq((rc, v["state"], v["args"].get("fail_on_status")),
           (0, "succeeded", False), "--no-fail-on-status")
        rc, v = ctl_view(d, "--timeout", "300ms", "http",
                         s.url("/trickle"))
        eq((rc, v["error"]["code"]), (1, "timeout"), "--timeout")
        # people's output: the status and the result
        rc, out, err = d.ctl("submit", "--wait", "http", s.url("/echo"),
                             "--header", "X-Header: shown")
        eq(rc, 0, "rc of submit --wait http (%s)" % err)
        for needle in ("succeeded", '"status": 200', "X-Header", "shown"):
            check(needle in out, "%r not in the output: %s", needle, out)
        rc, out, err = d.ctl("submit", "--wait", "http", "http://x.invalid/")
        eq(rc, 1, "rc of a failed request")
        check("dns_failed" in out, "error not shown: %s", out)


def test_cli_usage_errors():
    with Daemon() as d:
        for args in (["http"], ["http", "ftp://x/"], ["http", "http://"],
                     ["http", "example.com"],
                     ["http", "http://a/", "http://b/"],
                     ["http", "http://a/", "--header", "no colon"],
                     ["http", "http://a/", "--header", ": empty name"],
                     ["http", "http://a/", "--header", "Bad Name: v"],
                     ["http", "http://a/", "--header", "X: a\r\nY: b"],
                     ["http", "http://a/", "--data", "x", "--data-file",
                      "/etc/hostname"],
                     ["http", "http://a/", "--data-file", "/no/such/file"],
                     ["http", "http://a/", "--data-file", "/proc/self/exe"],
                     ["http", "http://a/", "--max-body", "-1"],
                     ["http", "http://a/", "--follow", "101"],
                     ["http", "http://a/", "--follow", "x"],
                     ["http", "http://a/", "--method", "G T"],
                     ["http", "http://a/", "--method"],
                     ["http", "http://a/", "--bogus"]):
            rc, out, err = d.ctl("submit", *args, input="")
            eq(rc, 2, "rc of submit %s (%r %r)" % (args, out, err))
            check(err.strip(), "no message for %s", args)
        big = "x" * (950 * 1024)
        rc, out, err = d.ctl("submit", "http", "http://a/", "--data-file",
                             "-", input=big)
        eq(rc, 2, "a body over 900 KiB (%s)" % err)
        check("larger" in err, "message: %s", err)
        # an unknown method is the daemon's to refuse
        rc, out, err = d.ctl("submit", "http", "http://a/", "--method",
                             "FETCH")
        eq(rc, 4, "unknown method (%s)" % err)
        check("method" in err, "message: %s", err)
        eq(d.ok({"op": "list", "limit": 0})["jobs"], [], "nothing created")
        rc, out, err = d.ctl("submit", "--help")
        for opt in ("http URL", "--header", "--data-file", "--max-body",
                    "--follow", "--no-fail-on-status"):
            check(opt in out, "%s not in submit --help", opt)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve_main()
    else:
        harness.main()
