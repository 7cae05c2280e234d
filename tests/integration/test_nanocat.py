"""A client the project did not write: nanocat (Debian nanomsg-utils)
talks to the daemon with stock settings (PROTOCOL.md section 1)."""

import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq  # noqa: E402


def nanocat():
    path = shutil.which("nanocat") or (
        "/usr/bin/nanocat" if os.path.exists("/usr/bin/nanocat") else None)
    check(path is not None, "nanocat not installed (Debian package "
          "nanomsg-utils; the setup script installs it)")
    return path


def nc_request(url, data, timeout=10):
    cmd = [nanocat(), "--req", "--connect", url, "--data", data, "--raw",
           "--recv-timeout", "5"]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("nanocat did not finish in %d s" % timeout)
    eq(p.returncode, 0, "nanocat exit (stderr %r)" % p.stderr[-500:])
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        raise AssertionError("nanocat printed no JSON reply: %r"
                             % p.stdout[:300])


def test_nanocat_ping():
    with Daemon() as d:
        r = nc_request(d.url, '{"op":"ping"}')
        eq(r.get("ok"), True, "ping via nanocat: %s" % r)
        eq(r.get("pid"), d.pid, "pid")


def test_nanocat_submit_and_wait():
    with Daemon() as d:
        spec = {"op": "submit", "job": {"kind": "sleep", "args": {"ms": 50},
                                        "key": "nanocat-1"}}
        r = nc_request(d.url, json.dumps(spec))
        eq(r.get("ok"), True, "submit via nanocat: %s" % r)
        jid = r["id"]
        # a resent submit (same key) is the same job
        r = nc_request(d.url, json.dumps(spec))
        eq(r.get("id"), jid, "resent submit")
        t0 = time.monotonic()
        r = nc_request(d.url, json.dumps({"op": "wait", "ids": [jid]}))
        check(time.monotonic() - t0 < 5, "wait via nanocat slow")
        eq([(v["id"], v["state"]) for v in r["done"]], [(jid, "succeeded")],
           "wait via nanocat")
        r = nc_request(d.url, '{"op":"status","id":%d}\n' % jid)
        eq(r["job"]["result"]["slept_ms"] >= 50, True, "status via nanocat")
        r = nc_request(d.url, "garbage")
        eq((r.get("ok"), r.get("error", {}).get("code")),
           (False, "bad_request"), "garbage via nanocat")


if __name__ == "__main__":
    harness.main()
