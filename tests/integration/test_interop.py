"""Clients the project did not write talk to the daemon with their stock
settings (PROTOCOL.md section 1): nanocat (Debian nanomsg-utils), nngcat
(nng-utils) and Perl's NanoMsg::Raw (libnanomsg-raw-perl), each as a REQ
client and as a SUB client, over ipc and over tcp.

Each client runs in a subprocess bounded by a timeout."""

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq  # noqa: E402

TRANSPORTS = ("ipc", "tcp")


def free_ports(n):
    """n different TCP ports on 127.0.0.1 that nothing listens on right
    now (all bound at once, so that no two are the same)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM)
             for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class InteropDaemon(Daemon):
    """A daemon whose clients here use one transport: "ipc" (its default
    endpoints) or "tcp" (a --listen control endpoint and the event
    endpoint on 127.0.0.1).  req_url and events_url are the URLs the
    clients use."""

    def __init__(self, transport):
        if transport == "tcp":
            req_port, events_port = free_ports(2)
            req_url = "tcp://127.0.0.1:%d" % req_port
            events_url = "tcp://127.0.0.1:%d" % events_port
            super().__init__("--listen", req_url, "--events-url", events_url)
            self.req_url = req_url
            # Daemon.sub() and sync_sub() use this one too.
            self.events_url = events_url
        else:
            super().__init__()
            self.req_url = self.url


# -- the clients ----------------------------------------------------------------


def tool(name, package):
    path = shutil.which(name) or (
        "/usr/bin/" + name if os.path.exists("/usr/bin/" + name) else None)
    check(path is not None, "%s not installed (Debian package %s; the "
          "setup script installs it)", name, package)
    return path


# The Perl clients: a REQ client sends its second argument to the URL in
# its first and prints the reply; a SUB client subscribes to "job." at the
# URL and prints the first message it gets.  Both give up after 10 s.
PERL_REQ = r"""
use strict;
use warnings;
use NanoMsg::Raw;
my ($url, $request) = @ARGV;
sub fail { die "$_[0]: " . nn_strerror(nn_errno()) . "\n" }
my $s = nn_socket(AF_SP, NN_REQ);
defined $s or fail("nn_socket");
nn_setsockopt($s, NN_SOL_SOCKET, NN_SNDTIMEO, 10000) or fail("NN_SNDTIMEO");
nn_setsockopt($s, NN_SOL_SOCKET, NN_RCVTIMEO, 10000) or fail("NN_RCVTIMEO");
defined nn_connect($s, $url) or fail("nn_connect");
defined nn_send($s, $request) or fail("nn_send");
defined nn_recv($s, my $reply) or fail("nn_recv");
binmode STDOUT;
print $reply;
nn_close($s);
"""

PERL_SUB = r"""
use strict;
use warnings;
use NanoMsg::Raw;
my ($url) = @ARGV;
sub fail { die "$_[0]: " . nn_strerror(nn_errno()) . "\n" }
my $s = nn_socket(AF_SP, NN_SUB);
defined $s or fail("nn_socket");
nn_setsockopt($s, NN_SUB, NN_SUB_SUBSCRIBE, "job.") or fail("subscribe");
nn_setsockopt($s, NN_SOL_SOCKET, NN_RCVTIMEO, 10000) or fail("NN_RCVTIMEO");
defined nn_connect($s, $url) or fail("nn_connect");
defined nn_recv($s, my $event) or fail("nn_recv");
binmode STDOUT;
$| = 1;
print "$event\n";
nn_close($s);
"""


def perl():
    path = tool("perl", "perl")
    p = subprocess.run([path, "-MNanoMsg::Raw", "-e", "1"],
                       capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0, "Perl's NanoMsg::Raw missing (Debian package "
          "libnanomsg-raw-perl): %r", p.stderr[-300:])
    return path


def req_command(client, url, data):
    """The command line of client sending one request, data, to url and
    printing the reply as it is."""
    if client == "nanocat":
        return [tool("nanocat", "nanomsg-utils"), "--req", "--connect", url,
                "--data", data, "--raw", "--recv-timeout", "5"]
    if client == "nngcat":
        return [tool("nngcat", "nng-utils"), "--req", "--dial", url,
                "--data", data, "--raw", "--recv-timeout", "5"]
    return [perl(), "-MNanoMsg::Raw", "-e", PERL_REQ, url, data]


def sub_command(client, url):
    """The command line of client subscribing to "job." at url: it prints
    each event (or just the first) on a line of its own."""
    if client == "nanocat":
        return [tool("nanocat", "nanomsg-utils"), "--sub", "--connect", url,
                "--subscribe", "job.", "--ascii"]
    if client == "nngcat":
        # nngcat ends an --ascii message with no newline: it prints one
        # event and exits (--count 1), and the output is that event.
        return [tool("nngcat", "nng-utils"), "--sub", "--dial", url,
                "--subscribe", "job.", "--raw", "--count", "1"]
    return [perl(), "-MNanoMsg::Raw", "-e", PERL_SUB, url]


def request(client, url, data, timeout=20):
    """Send data with client; return the parsed JSON reply."""
    cmd = req_command(client, url, data)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish in %d s" % (client, timeout))
    eq(p.returncode, 0, "%s exit (stderr %r)" % (client, p.stderr[-500:]))
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        raise AssertionError("%s printed no JSON reply: %r"
                             % (client, p.stdout[:300]))


def first_event(d, client, timeout_s=20):
    """Start client as a subscriber to d's events; submit a short job
    every 200 ms (events sent before the subscriber is connected are
    lost) until it prints a job event or timeout_s passes.  Returns
    (topic, view dict, the ids submitted)."""
    proc = subprocess.Popen(sub_command(client, d.events_url),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out = b""
    ids = []
    try:
        poller = select.poll()
        poller.register(proc.stdout, select.POLLIN)
        deadline = time.monotonic() + timeout_s
        finished = False     # the client closed its output (exited)
        while b"\n" not in out and not finished:
            check(time.monotonic() < deadline, "%s printed no event within "
                  "%d s (output %r)", client, timeout_s, out[:300])
            ids.append(d.submit_sleep(0))
            # read what the client prints in the next 200 ms
            end = min(deadline, time.monotonic() + 0.2)
            while b"\n" not in out and not finished:
                left = end - time.monotonic()
                if left <= 0:
                    break
                if poller.poll(max(1, int(left * 1000))):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    out += chunk
                    finished = not chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            err = b"(no exit after SIGKILL)"
    line = out.split(b"\n")[0]
    topic, _, text = line.partition(b" ")
    try:
        view = json.loads(text.decode())
    except ValueError:
        raise AssertionError("%s printed no 'TOPIC JSON' event: %r "
                             "(stderr %r)" % (client, out[:300], err[-300:]))
    return topic.decode(), view, ids


# -- the checks, for each client and transport --------------------------------


def check_requests(client, transport):
    """ping, submit (twice, with a key), wait, status and garbage."""
    with InteropDaemon(transport) as d:
        what = "%s over %s" % (client, transport)
        url = d.req_url
        r = request(client, url, '{"op":"ping"}')
        eq(r.get("ok"), True, "ping via %s: %s" % (what, r))
        eq(r.get("pid"), d.pid, "pid via %s" % what)
        spec = {"op": "submit", "job": {"kind": "sleep", "args": {"ms": 50},
                                        "key": client + "-1"}}
        r = request(client, url, json.dumps(spec))
        eq(r.get("ok"), True, "submit via %s: %s" % (what, r))
        jid = r["id"]
        # a resent submit (same key) is the same job
        r = request(client, url, json.dumps(spec))
        eq(r.get("id"), jid, "resent submit via %s" % what)
        t0 = time.monotonic()
        r = request(client, url, json.dumps({"op": "wait", "ids": [jid]}))
        check(time.monotonic() - t0 < 5, "wait via %s slow", what)
        eq([(v["id"], v["state"]) for v in r["done"]], [(jid, "succeeded")],
           "wait via %s" % what)
        r = request(client, url, '{"op":"status","id":%d}\n' % jid)
        eq(r["job"]["result"]["slept_ms"] >= 50, True,
           "status via %s" % what)
        r = request(client, url, "garbage")
        eq((r.get("ok"), r.get("error", {}).get("code")),
           (False, "bad_request"), "garbage via %s" % what)


def check_sub(client, transport):
    """The subscriber gets an event of a job submitted after it started."""
    with InteropDaemon(transport) as d:
        what = "%s over %s" % (client, transport)
        topic, view, ids = first_event(d, client)
        check(view.get("id") in ids, "event via %s is not of a submitted "
              "job (%s; submitted %s)", what, view, ids)
        eq(topic, "job." + str(view.get("state")), "topic via %s" % what)


def test_nanocat_reads_large_output_views():
    """status, wait and list of a job with 1 MiB of binary output fit in
    nanocat's default receive limit (1 MiB): the view carries the head of
    the output, and says how much there is."""
    with InteropDaemon("ipc") as d:
        jid = d.submit({"kind": "exec", "args": {
            "argv": ["head", "-c", str(1 << 20), "/dev/urandom"]}})
        eq(d.wait_ids([jid])["done"][0]["state"], "succeeded", "state")
        for what, msg in (("status", {"op": "status", "id": jid}),
                          ("wait", {"op": "wait", "ids": [jid]}),
                          ("list", {"op": "list"})):
            p = subprocess.run(req_command("nanocat", d.req_url,
                                           json.dumps(msg)),
                               capture_output=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            eq(p.returncode, 0, "nanocat %s exit (stderr %r)"
               % (what, p.stderr[-300:]))
            check(0 < len(p.stdout) <= 1 << 20, "nanocat %s reply of %d "
                  "bytes", what, len(p.stdout))
            r = json.loads(p.stdout.decode())
            eq(r.get("ok"), True, "nanocat %s" % what)
            if what == "list":
                continue
            res = (r["job"] if what == "status" else r["done"][0])["result"]
            eq((res["stdout_bytes"], res["stdout_more"]), (1 << 20, True),
               "%s: total bytes and the flag that more exists" % what)
            eq(len(res["stdout_base64"]), 4 * (65536 // 3 + 1),
               "%s: the first 64 KiB inline" % what)


def test_nanocat_requests():
    for transport in TRANSPORTS:
        check_requests("nanocat", transport)


def test_nanocat_sub():
    for transport in TRANSPORTS:
        check_sub("nanocat", transport)


def test_nngcat_requests():
    for transport in TRANSPORTS:
        check_requests("nngcat", transport)


def test_nngcat_sub():
    for transport in TRANSPORTS:
        check_sub("nngcat", transport)


def test_perl_requests():
    for transport in TRANSPORTS:
        check_requests("perl", transport)


def test_perl_sub():
    for transport in TRANSPORTS:
        check_sub("perl", transport)


if __name__ == "__main__":
    harness.main()
