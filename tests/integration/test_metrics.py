"""Prometheus metrics and the health check (--metrics-listen): the text
exposition format 0.0.4 on GET /metrics, counters and histograms that move
with jobs and store commits, gauges by state and queue, GET /healthz,
404/405, a port in use, and no listener when the option is absent."""

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import sleep_spec  # noqa: E402
from harness import (Daemon, check, eq, ok_ctl, poll_until,  # noqa: E402
                     run_daemon_expect_exit)

HOST = "127.0.0.1"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def free_port():
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def metrics_daemon(*args, **kw):
    port = free_port()
    d = Daemon("--metrics-listen", "%s:%d" % (HOST, port), *args, **kw)
    d.metrics_port = port
    return d


def http(port, path, method="GET", data=None):
    """One request; returns (status, headers, body text), errors included."""
    req = urllib.request.Request("http://%s:%d%s" % (HOST, port, path),
                                 method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        try:
            return e.code, e.headers, e.read().decode("utf-8")
        finally:
            e.close()


# ---------------------------------------------------------------------------
# a checker of the text exposition format 0.0.4
# ---------------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE_RE = re.compile(r"(%s)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$" % NAME)
LABEL_RE = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"' % LABEL_NAME)
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(text, line):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(text)
    except ValueError:
        raise AssertionError("bad sample value %r in %r" % (text, line))


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), v)


def parse_labels(text, line):
    labels = {}
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        check(m is not None, "bad labels at %d in %r", pos, line)
        check(m.group(1) not in labels, "label %s twice in %r",
              m.group(1), line)
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
        if pos < len(text):
            check(text[pos] == ",", "no comma between labels in %r", line)
            pos += 1
    return labels


def family_of(name, types):
    """The declared family a sample name belongs to, or None."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram",
                                                          "summary"):
            return base
    return None


def parse_metrics(text):
    """Check text line by line; returns {family: {"type", "help",
    "samples": [(name, labels, value)]}}."""
    check(text.endswith("\n"), "exposition does not end with a newline")
    fams = {}
    types = {}
    for line in text.split("\n")[:-1]:
        if line == "":
            continue
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if m is None:
                continue                # a plain comment
            kw, name, rest = m.groups()
            f = fams.setdefault(name, {"type": None, "help": None,
                                       "samples": []})
            if kw == "TYPE":
                check(rest in TYPES, "unknown type in %r", line)
                check(f["type"] is None, "second TYPE for %s", name)
                check(not f["samples"], "TYPE of %s after its samples", name)
                f["type"] = types[name] = rest
            else:
                check(f["help"] is None, "second HELP for %s", name)
                f["help"] = rest
            continue
        m = SAMPLE_RE.match(line)
        check(m is not None, "bad sample line %r", line)
        name, labels, value, _ = m.groups()
        fam = family_of(name, types)
        check(fam is not None, "sample %s has no TYPE before it", name)
        fams[fam]["samples"].append((name, parse_labels(labels or "", line),
                                     parse_value(value, line)))
    for name, f in fams.items():
        check(f["type"] is not None, "family %s has no TYPE", name)
        check(f["help"], "family %s has no HELP", name)
        check(name.startswith("aiojobsd_"), "%s lacks the prefix", name)
        if f["type"] == "counter":
            for _, labels, v in f["samples"]:
                check(v >= 0, "counter %s%s is negative", name, labels)
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    """Buckets ascending in le, counts monotone, +Inf last and == _count."""
    series = {}
    for sname, labels, v in samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        s = series.setdefault(rest, {"buckets": [], "sum": None,
                                     "count": None})
        if sname == name + "_bucket":
            check("le" in labels, "%s bucket without le", name)
            s["buckets"].append((parse_value(labels["le"], sname), v))
        elif sname == name + "_sum":
            s["sum"] = v
        elif sname == name + "_count":
            s["count"] = v
        else:
            raise AssertionError("%s in histogram %s" % (sname, name))
    check(series, "histogram %s has no series", name)
    for rest, s in series.items():
        b = s["buckets"]
        check(b, "%s%s has no buckets", name, rest)
        check(s["sum"] is not None and s["count"] is not None,
              "%s%s lacks _sum or _count", name, rest)
        check(math.isinf(b[-1][0]) and b[-1][0] > 0,
              "%s%s: the last bucket is not +Inf", name, rest)
        for (le0, c0), (le1, c1) in zip(b, b[1:]):
            check(le0 < le1, "%s%s: le not ascending", name, rest)
            check(c0 <= c1, "%s%s: bucket counts fall at le=%s", name, rest,
                  le1)
        eq(b[-1][1], s["count"], "%s%s +Inf bucket vs _count" % (name, rest))
        check(s["sum"] >= 0, "%s%s: negative sum", name, rest)


def scrape(port):
    status, headers, body = http(port, "/metrics")
    eq(status, 200, "GET /metrics status")
    eq(headers.get("Content-Type"), TEXT_TYPE, "GET /metrics content type")
    return parse_metrics(body)


def value(fams, name, **labels):
    """The value of one sample (0 if absent: a series not yet created)."""
    fam = family_of(name, {n: f["type"] for n, f in fams.items()})
    check(fam is not None, "no family for %s", name)
    for sname, lab, v in fams[fam]["samples"]:
        if sname == name and lab == labels:
            return v
    return 0


def hist_count(fams, name, **labels):
    return value(fams, name + "_count", **labels)


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def test_scrape_parses():
    with metrics_daemon() as d:
        fams = scrape(d.metrics_port)
        for name, typ in (("aiojobsd_jobs", "gauge"),
                          ("aiojobsd_queue_jobs", "gauge"),
                          ("aiojobsd_jobs_submitted_total", "counter"),
                          ("aiojobsd_jobs_finished_total", "counter"),
                          ("aiojobsd_job_duration_seconds", "histogram"),
                          ("aiojobsd_workers", "gauge"),
                          ("aiojobsd_workers_busy", "gauge"),
                          ("aiojobsd_store_commit_duration_seconds",
                           "histogram"),
                          ("aiojobsd_store_failing", "gauge"),
                          ("aiojobsd_uptime_seconds", "gauge"),
                          ("aiojobsd_start_time_seconds", "gauge")):
            check(name in fams, "no family %s", name)
            eq(fams[name]["type"], typ, "type of %s" % name)
        for state in ("queued", "running", "succeeded", "failed",
                      "cancelled"):
            check(any(lab == {"state": state} for _, lab, _ in
                      fams["aiojobsd_jobs"]["samples"]),
                  "aiojobsd_jobs has no state %s", state)
        start = value(fams, "aiojobsd_start_time_seconds")
        check(abs(start - time.time()) < 600, "start time %s", start)
        eq(value(fams, "aiojobsd_store_failing"), 0, "store failing")
        # a query string does not change the path
        eq(http(d.metrics_port, "/metrics?x=1")[0], 200, "with a query")


def test_counters_move():
    with metrics_daemon() as d:
        port = d.metrics_port
        before = scrape(port)
        ids = d.ok({"op": "submit", "jobs": [sleep_spec(20)
                                             for _ in range(3)]})["ids"]
        bad = d.submit({"kind": "exec", "args": {"argv": ["false"]}})
        long_ = d.submit_sleep(60000)
        d.wait_state(long_, "running")
        d.ok({"op": "cancel", "id": long_})
        done = d.wait_ids(ids + [bad, long_])["done"]
        eq(sorted(v["state"] for v in done),
           ["cancelled", "failed", "succeeded", "succeeded", "succeeded"],
           "final states")

        def delta(fams, name, **labels):
            return (value(fams, name, **labels)
                    - value(before, name, **labels))

        def moved():
            f = scrape(port)
            return f if (delta(f, "aiojobsd_store_commit_duration_seconds"
                               "_count") > 0) else None
        after = poll_until(moved, 10, 0.05, "a store commit observed")
        sub = "aiojobsd_jobs_submitted_total"
        fin = "aiojobsd_jobs_finished_total"
        dur = "aiojobsd_job_duration_seconds"
        eq(delta(after, sub, kind="sleep"), 4, "sleep jobs submitted")
        eq(delta(after, sub, kind="exec"), 1, "exec jobs submitted")
        eq(delta(after, fin, kind="sleep", outcome="succeeded"), 3,
           "sleep jobs succeeded")
        eq(delta(after, fin, kind="sleep", outcome="cancelled"), 1,
           "sleep jobs cancelled")
        eq(delta(after, fin, kind="exec", outcome="failed"), 1,
           "exec jobs failed")
        eq(delta(after, fin, kind="sleep", outcome="failed"), 0,
           "sleep jobs failed")
        # the error code is no label: kind and outcome only
        for _, labels, _ in after[fin]["samples"]:
            eq(set(labels), {"kind", "outcome"}, "labels of %s" % fin)
        eq(delta(after, dur + "_count", kind="sleep"), 4,
           "sleep run times observed (the cancelled one ran)")
        eq(delta(after, dur + "_count", kind="exec"), 1,
           "exec run times observed")
        check(delta(after, dur + "_sum", kind="sleep") >= 0.06,
              "3 sleeps of 20 ms sum to %s s",
              delta(after, dur + "_sum", kind="sleep"))
        check(value(after, dur + "_bucket", kind="sleep", le="0.005")
              <= value(after, dur + "_count", kind="sleep") - 3,
              "20 ms sleeps in the 5 ms bucket")
        eq(value(after, "aiojobsd_jobs", state="running"), 0,
           "running jobs")
        check(value(after, "aiojobsd_jobs", state="succeeded") >= 3,
              "succeeded jobs gauge")
        # an idempotent resubmit creates no job and counts nothing
        d.submit(sleep_spec(0, key="k1"))
        d.submit(sleep_spec(0, key="k1"))
        eq(delta(scrape(port), sub, kind="sleep"), 5, "keyed resubmit")


def test_paused_queue_gauge():
    with metrics_daemon() as d:
        port = d.metrics_port
        ok_ctl(d, "queue", "mq", "pause")
        jid = d.submit_sleep(0, queue="mq")
        odd = 'we"ird\\q\nx'
        d.ok({"op": "queue", "name": odd, "action": "pause"})
        d.submit_sleep(0, queue=odd)
        d.submit_sleep(0, queue=odd)
        f = scrape(port)
        eq(value(f, "aiojobsd_queue_jobs", queue="mq", state="queued"), 1,
           "queued in the paused queue")
        eq(value(f, "aiojobsd_queue_jobs", queue="mq", state="running"), 0,
           "running in the paused queue")
        eq(value(f, "aiojobsd_queue_paused", queue="mq"), 1, "mq paused")
        eq(value(f, "aiojobsd_queue_jobs", queue=odd, state="queued"), 2,
           "queued in a queue whose name needs escaping")
        eq(value(f, "aiojobsd_jobs", state="queued"), 3, "queued jobs")
        ok_ctl(d, "queue", "mq", "resume")
        d.wait_ids([jid])

        def drained():
            g = scrape(port)
            return g if value(g, "aiojobsd_queue_jobs", queue="mq",
                              state="queued") == 0 else None
        g = poll_until(drained, 10, 0.05, "mq drained")
        eq(value(g, "aiojobsd_queue_paused", queue="mq"), 0, "mq resumed")


def test_workers_gauge():
    with metrics_daemon("--workers", "2") as d:
        f = scrape(d.metrics_port)
        eq(value(f, "aiojobsd_workers"), 2, "workers")
        eq(value(f, "aiojobsd_workers_busy"), 0, "busy workers")
    with metrics_daemon("--workers", "0") as d:
        f = scrape(d.metrics_port)
        eq(value(f, "aiojobsd_workers"), 0, "no pool")


def test_healthz_and_errors():
    with metrics_daemon() as d:
        port = d.metrics_port
        status, headers, body = http(port, "/healthz")
        eq((status, body), (200, "ok\n"), "GET /healthz")
        eq(http(port, "/nope")[0], 404, "unknown path")
        eq(http(port, "/")[0], 404, "root")
        eq(http(port, "/metrics/")[0], 404, "trailing slash")
        status, headers, _ = http(port, "/metrics", method="POST", data=b"x")
        eq(status, 405, "POST /metrics")
        eq(headers.get("Allow"), "GET", "Allow header")
        eq(http(port, "/healthz", method="DELETE")[0], 405, "DELETE")
        eq(http(port, "/healthz", method="OPTIONS")[0], 405, "OPTIONS")
        eq(http(port, "/nope", method="PUT", data=b"")[0], 404, "PUT unknown")
        # the daemon still serves
        eq(http(port, "/healthz")[0], 200, "healthz after errors")
        d.ok({"op": "ping"})


def test_healthz_shutting_down():
    with metrics_daemon() as d:
        port = d.metrics_port
        jid = d.submit_sleep(3000)
        d.wait_state(jid, "running")
        d.ok({"op": "shutdown", "timeout_ms": 30000})
        # the job keeps the daemon up for up to 3 s
        status, _, body = http(port, "/healthz")
        eq(status, 503, "healthz while shutting down")
        check("shutting down" in body, "reason: %r", body)
        eq(d.wait_exit(20), 0, "exit status")


def test_port_in_use():
    base = tempfile.mkdtemp(prefix="aj", dir="/tmp")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            s.listen(1)
            port = s.getsockname()[1]
            rc, out = run_daemon_expect_exit(
                ["--rundir", base, "--state-dir", os.path.join(base, "st"),
                 "--metrics-listen", "%s:%d" % (HOST, port)], timeout=15)
        check(rc is not None and 0 < rc < 128, "exit status %s\n%s", rc, out)
        check("metrics_listen" in out and "in use" in out,
              "no clear message: %r", out)
        check("%s:%d" % (HOST, port) in out, "address not named: %r", out)
        check(not os.path.exists(os.path.join(base, "aiojobsd.sock")),
              "control socket left behind")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_bad_address():
    base = tempfile.mkdtemp(prefix="aj", dir="/tmp")
    try:
        rc, out = run_daemon_expect_exit(
            ["--rundir", base, "--state-dir", os.path.join(base, "st"),
             "--metrics-listen", "192.0.2.1:%d" % free_port()], timeout=15)
        check(rc is not None and 0 < rc < 128, "exit status %s\n%s", rc, out)
        check("metrics_listen" in out, "no clear message: %r", out)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def listening_inodes():
    """Inodes of the TCP sockets in LISTEN state on this machine."""
    inodes = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":
                        inodes.add(fields[9])
        except OSError:
            pass
    return inodes


def socket_inodes(pid):
    found = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            found.add(m.group(1))
    return found


def test_off_without_option():
    with Daemon() as d:
        eq(socket_inodes(d.pid) & listening_inodes(), set(),
           "TCP listeners of a daemon without --metrics-listen")
        # jobs run with the hooks and no metrics
        d.wait_ids([d.submit_sleep(0)])
    with metrics_daemon() as d:
        check(socket_inodes(d.pid) & listening_inodes(),
              "no TCP listener with --metrics-listen")


def test_config_file_key():
    port = free_port()
    base = tempfile.mkdtemp(prefix="ajconf", dir="/tmp")
    try:
        conf = os.path.join(base, "aiojobsd.conf")
        with open(conf, "w") as f:
            f.write("[endpoints]\nmetrics_listen = %s:%d\n" % (HOST, port))
        with Daemon("-c", conf):
            status, _, body = http(port, "/healthz")
            eq((status, body), (200, "ok\n"), "healthz")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_healthz_store_failing():
    fs = harness.small_tmpfs("test_healthz_store_failing")
    if fs is None:
        return
    top, mnt = fs
    filler = os.path.join(mnt, "filler")
    try:
        with metrics_daemon(state_dir=mnt) as d:
            port = d.metrics_port
            d.wait_ids([d.submit_sleep(0)])
            subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=64k"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)

            def failing():
                d.request({"op": "submit",
                           "job": sleep_spec(0, name="n" * 200)},
                          timeout_ms=10000)
                r = http(port, "/healthz")
                return r if r[0] == 503 else None
            status, _, body = poll_until(failing, 60, 0.01,
                                         "healthz 503 on a full disk")
            check("store" in body, "reason: %r", body)
            eq(value(scrape(port), "aiojobsd_store_failing"), 1,
               "store failing gauge")
            os.unlink(filler)

            def healthy():
                r = http(port, "/healthz")
                return r if r[0] == 200 else None
            eq(poll_until(healthy, 10, 0.05, "healthz ok again")[2], "ok\n",
               "healthz body")
    finally:
        if os.path.exists(filler):
            os.unlink(filler)
        for _ in range(50):
            if subprocess.run(["umount", mnt], capture_output=True
                              ).returncode == 0:
                break
            time.sleep(0.1)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
