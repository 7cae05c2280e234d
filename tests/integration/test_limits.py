"""Limits on what a request can make the daemon hold (docs/protocol.md,
"Limits"): for each one, a request at the limit is accepted and one just
over it is refused with bad_request naming the field and the limit; a
refused batch queues nothing and the daemon keeps answering."""

import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq, expect_error, sleep_spec  # noqa: E402

KiB = 1024
MiB = 1024 * 1024

# common/msg.h
KIND_MAX = 64
NAME_MAX = 256
QUEUE_MAX = 128
LOCK_MAX = 128
KEY_MAX = 256
TOKEN_MAX = 4096
AFTER_MAX = 10000
ARGS_MAX = 16 * MiB
ARGS_DEPTH_MAX = 100
JOBS_MAX = 10000
IDS_MAX = 10000
DEPTH_MAX = 1000
# daemon/exec_args.c
ARGV_MAX = 4096
ARGV_BYTES_MAX = 1 * MiB
ENV_MAX = 1024
ENV_BYTES_MAX = 256 * KiB
CWD_MAX = 4096
STDIN_MAX = 8 * MiB
MAX_OUTPUT_MAX = 64 * MiB
# daemon/http_args.c
URL_MAX = 8192
HEADERS_MAX = 100
HEADERS_BYTES_MAX = 64 * KiB
BODY_MAX = 8 * MiB
MAX_BODY_MAX = 64 * MiB
REDIRECTS_MAX = 100

# Room for the largest requests here (the args limit and a bit more).
BIG = ["--max-request-bytes", str(48 * MiB), "--workers", "0"]
HELD = "held"    # a paused queue: what is accepted here never runs


def queued(d):
    return d.ok({"op": "stats"})["jobs"]["queued"]


def held_daemon(*args):
    """A daemon taking requests up to 48 MiB, without CPU workers."""
    return Daemon(*(BIG + list(args)))


def pause_held(d):
    d.ok({"op": "queue", "name": HELD, "action": "pause"})


def accepted(d, req, what):
    r = d.request(req, timeout_ms=60000)
    if r.get("ok") is not True:
        raise AssertionError("%s refused: %s" % (what, r))
    return r


def refused(d, req, *needles):
    """req must be bad_request with every needle in the message; nothing
    may be queued by it."""
    before = queued(d)
    r = d.request(req, timeout_ms=60000)
    err = expect_error(r, "bad_request")
    for n in needles:
        check(n in err["message"], "message %r does not mention %r",
              err["message"], n)
    eq(queued(d), before, "jobs queued by a refused request")
    return err


def submit(spec):
    return {"op": "submit", "job": spec}


def held(spec):
    spec = dict(spec)
    spec["queue"] = HELD
    return spec


def exec_spec(**args):
    a = {"argv": ["true"]}
    a.update(args)
    return held({"kind": "exec", "args": a})


def http_spec(**args):
    a = {"url": "http://127.0.0.1:9/"}
    a.update(args)
    return held({"kind": "http", "args": a})


def alive(d):
    eq(d.ok({"op": "ping"})["pid"], d.pid, "ping after the refusals")


# -- spec strings ---------------------------------------------------------------


def test_spec_strings():
    with held_daemon() as d:
        pause_held(d)
        for field, limit in (("name", NAME_MAX), ("queue", QUEUE_MAX),
                             ("lock", LOCK_MAX), ("key", KEY_MAX)):
            ok = held(sleep_spec(0))
            ok[field] = "a" * limit
            if field == "queue":
                d.ok({"op": "queue", "name": ok["queue"],
                      "action": "pause"})
            accepted(d, submit(ok), "%s of %d bytes" % (field, limit))
            bad = held(sleep_spec(0))
            bad[field] = "b" * (limit + 1)
            refused(d, submit(bad), "'%s'" % field, str(limit),
                    str(limit + 1))
            refused(d, {"op": "submit", "jobs": [held(sleep_spec(0))] * 3
                        + [bad]}, "'%s'" % field, str(limit), "jobs[3]")
        # kind: at the limit it is only an unknown kind
        expect_error(d.request(submit({"kind": "k" * KIND_MAX})),
                     "unknown_kind")
        refused(d, submit({"kind": "k" * (KIND_MAX + 1)}), "'kind'",
                str(KIND_MAX))
        alive(d)


def test_queue_names_in_ops():
    with held_daemon() as d:
        d.ok({"op": "queue", "name": "q" * QUEUE_MAX, "action": "pause"})
        d.ok({"op": "list", "queue": "q" * QUEUE_MAX})
        refused(d, {"op": "queue", "name": "q" * (QUEUE_MAX + 1),
                    "action": "pause"}, "'name'", str(QUEUE_MAX))
        refused(d, {"op": "list", "queue": "q" * (QUEUE_MAX + 1)},
                "'queue'", str(QUEUE_MAX))
        alive(d)


def test_queue_count():
    """Queues live until the daemon stops: at most 10,000 at once."""
    with Daemon("--pending-limit", "0") as d:
        held = {"op": "queue", "name": "q0", "action": "pause"}
        d.ok(held)
        for b in range(10):
            jobs = [sleep_spec(0, queue="q%d" % (b * 1000 + i))
                    for i in range(1000)]
            d.ok({"op": "submit", "jobs": jobs})
        eq(len(d.ok({"op": "stats"})["queues"]), 10000, "queues")
        r = d.request({"op": "submit", "job": sleep_spec(0, queue="new")})
        expect_error(r, "bad_request", "at most 10000 queues")
        r = d.request({"op": "queue", "name": "new", "action": "pause"})
        expect_error(r, "bad_request", "at most 10000 queues")
        # an existing queue still takes jobs
        d.submit_sleep(0, queue="q9999")
        eq(d.ok({"op": "ping"})["ok"], True, "daemon up")


def test_list_page():
    """A list reply is built in memory: at most 10,000 jobs a page."""
    with Daemon() as d:
        ids = [d.submit_sleep(0) for _ in range(3)]
        d.wait_ids(ids)
        r = d.request({"op": "list", "limit": 10001})
        expect_error(r, "bad_request", "at most 10000 jobs per page")
        eq(len(d.ok({"op": "list", "limit": 0})["jobs"]), 3, "limit 0")
        eq(len(d.ok({"op": "list", "limit": 10000})["jobs"]), 3, "max")


def test_token():
    with held_daemon() as d:
        d.ok({"op": "ping", "token": "t" * TOKEN_MAX})
        refused(d, {"op": "ping", "token": "t" * (TOKEN_MAX + 1)},
                "'token'", str(TOKEN_MAX))
        alive(d)


def test_nesting():
    def deep(levels):
        return b"[" * levels + b"]" * levels
    # a cpu function's input is the one free-form place to nest in
    with Daemon("--max-request-bytes", str(48 * MiB), "--workers", "1") as d:
        pause_held(d)
        # {"op", "x": [[...]]}: 1 + levels deep; parsed, then refused for
        # the unknown field, not for its depth
        refused(d, b'{"op":"ping","x":' + deep(DEPTH_MAX - 1) + b"}",
                "unknown field 'x'")
        refused(d, b'{"op":"ping","x":' + deep(DEPTH_MAX) + b"}", "nest",
                str(DEPTH_MAX))
        # args {"fn", "input": [[...]]}: 1 + levels deep
        def nested_args(levels):
            return submit(held({"kind": "cpu", "args": {
                "fn": "spin", "input": json.loads(deep(levels))}}))
        accepted(d, nested_args(ARGS_DEPTH_MAX - 1),
                 "args %d levels deep" % ARGS_DEPTH_MAX)
        refused(d, nested_args(ARGS_DEPTH_MAX), "'args'",
                str(ARGS_DEPTH_MAX))
        alive(d)


# -- counts: jobs per batch, ids per wait, after ----------------------------------


def test_batch_wait_after_counts():
    with held_daemon() as d:
        pause_held(d)
        spec = held(sleep_spec(0))
        refused(d, {"op": "submit", "jobs": [spec] * (JOBS_MAX + 1)},
                "'jobs'", str(JOBS_MAX), str(JOBS_MAX + 1))
        eq(queued(d), 0, "queued after a refused batch")
        ids = accepted(d, {"op": "submit", "jobs": [spec] * JOBS_MAX},
                       "a batch of %d" % JOBS_MAX)["ids"]
        eq(len(set(ids)), JOBS_MAX, "distinct ids")
        eq(queued(d), JOBS_MAX, "queued")

        r = accepted(d, {"op": "wait", "ids": ids[:IDS_MAX],
                         "timeout_ms": 0}, "wait on %d ids" % IDS_MAX)
        eq(len(r["pending"]), IDS_MAX, "pending")
        refused(d, {"op": "wait", "ids": ids[:IDS_MAX] + [ids[0]],
                    "timeout_ms": 0}, "'ids'", str(IDS_MAX),
                str(IDS_MAX + 1))

        join = held(sleep_spec(0, after=ids[:AFTER_MAX]))
        accepted(d, submit(join), "after with %d ids" % AFTER_MAX)
        over = held(sleep_spec(0, after=ids[:AFTER_MAX] + [ids[0]]))
        refused(d, submit(over), "'after'", str(AFTER_MAX))
        refused(d, {"op": "submit", "jobs": [spec, over]}, "'after'",
                str(AFTER_MAX), "jobs[1]")
        eq(queued(d), JOBS_MAX + 1, "queued at the end")
        alive(d)


def test_args_size():
    with Daemon("--max-request-bytes", str(48 * MiB), "--workers", "1") as d:
        pause_held(d)
        # {"fn":"spin","input":"..."}: 24 bytes around the input, the one
        # free-form field of args
        ok = held({"kind": "cpu",
                   "args": {"fn": "spin", "input": "p" * (ARGS_MAX - 24)}})
        eq(len(json.dumps(ok["args"], separators=(",", ":"))), ARGS_MAX,
           "args size")
        accepted(d, submit(ok), "args of %d bytes" % ARGS_MAX)
        bad = held({"kind": "cpu", "args": {"fn": "sha256", "input": {
            "data": "d" * ARGS_MAX}}})
        refused(d, submit(bad), "'args'", str(ARGS_MAX))
        alive(d)


# -- exec ---------------------------------------------------------------------------


def test_exec_argv_env():
    with held_daemon() as d:
        pause_held(d)
        argv = ["true"] + ["x"] * (ARGV_MAX - 1)
        accepted(d, submit(exec_spec(argv=argv)), "argv of %d" % ARGV_MAX)
        refused(d, submit(exec_spec(argv=argv + ["y"])), "'argv'",
                str(ARGV_MAX))
        big = ["true", "a" * (ARGV_BYTES_MAX - 4)]
        accepted(d, submit(exec_spec(argv=big)), "argv of 1 MiB")
        refused(d, submit(exec_spec(argv=big + ["b"])), "'argv'",
                str(ARGV_BYTES_MAX))

        env = {"V%d" % i: "" for i in range(ENV_MAX)}
        accepted(d, submit(exec_spec(env=env)), "env of %d" % ENV_MAX)
        env["ONE_MORE"] = ""
        refused(d, submit(exec_spec(env=env)), "'env'", str(ENV_MAX))
        # "BIG=" + value
        env = {"BIG": "v" * (ENV_BYTES_MAX - 4)}
        accepted(d, submit(exec_spec(env=env)), "env of 256 KiB")
        env["B"] = ""
        refused(d, {"op": "submit", "jobs": [exec_spec()] * 5
                    + [exec_spec(env=env)]},
                "'env'", str(ENV_BYTES_MAX), "jobs[5]")
        alive(d)


def test_exec_cwd_stdin_output():
    with held_daemon() as d:
        pause_held(d)
        cwd = "/" + "c" * (CWD_MAX - 1)
        accepted(d, submit(exec_spec(cwd=cwd)), "cwd of %d" % CWD_MAX)
        refused(d, submit(exec_spec(cwd=cwd + "c")), "'cwd'", str(CWD_MAX))
        accepted(d, submit(exec_spec(stdin="s" * STDIN_MAX)),
                 "stdin of 8 MiB")
        refused(d, submit(exec_spec(stdin="s" * (STDIN_MAX + 1))),
                "'stdin'", str(STDIN_MAX))
        accepted(d, submit(exec_spec(max_output=MAX_OUTPUT_MAX)),
                 "max_output of 64 MiB")
        refused(d, submit(exec_spec(max_output=MAX_OUTPUT_MAX + 1)),
                "'max_output'", str(MAX_OUTPUT_MAX))
        alive(d)


# -- http ---------------------------------------------------------------------------


def test_http_limits():
    with held_daemon() as d:
        pause_held(d)
        url = "http://127.0.0.1:9/"
        url += "u" * (URL_MAX - len(url))
        accepted(d, submit(http_spec(url=url)), "url of 8 KiB")
        refused(d, submit(http_spec(url=url + "u")), "'url'", str(URL_MAX))

        hdrs = {"X-H%d" % i: "v" for i in range(HEADERS_MAX)}
        accepted(d, submit(http_spec(headers=hdrs)), "100 headers")
        hdrs["X-More"] = "v"
        refused(d, submit(http_spec(headers=hdrs)), "'headers'",
                str(HEADERS_MAX))
        hdrs = {"X-Big": "v" * (HEADERS_BYTES_MAX - 5)}
        accepted(d, submit(http_spec(headers=hdrs)), "64 KiB of headers")
        hdrs["X"] = ""
        refused(d, submit(http_spec(headers=hdrs)), "'headers'",
                str(HEADERS_BYTES_MAX))

        accepted(d, submit(http_spec(method="POST", body="b" * BODY_MAX)),
                 "body of 8 MiB")
        refused(d, submit(http_spec(method="POST",
                                    body="b" * (BODY_MAX + 1))),
                "'body'", str(BODY_MAX))
        accepted(d, submit(http_spec(max_body=MAX_BODY_MAX)),
                 "max_body of 64 MiB")
        refused(d, submit(http_spec(max_body=MAX_BODY_MAX + 1)),
                "'max_body'", str(MAX_BODY_MAX))
        accepted(d, submit(http_spec(follow_redirects=REDIRECTS_MAX)),
                 "follow_redirects 100")
        refused(d, submit(http_spec(follow_redirects=REDIRECTS_MAX + 1)),
                "'follow_redirects'", str(REDIRECTS_MAX))
        alive(d)


# -- max_request_bytes ----------------------------------------------------------------


def test_too_large_queues_nothing():
    """A batch over max_request_bytes is too_large (test_protocol covers
    the limit itself); the jobs in it are not queued."""
    with Daemon("--max-request-bytes", "4096", "--workers", "0") as d:
        pause_held(d)
        r = d.request({"op": "submit", "jobs": [held(sleep_spec(0))] * 200})
        expect_error(r, "too_large", "4096")
        eq(queued(d), 0, "queued after too_large")
        alive(d)


def test_cli_refuses_what_the_transport_drops():
    """aiojobctl sends nothing over the transport's least receive limit
    (16 MiB), which the daemon would answer by dropping the connection:
    it says so and exits 2, and the daemon never sees the request. (A
    plain array goes in parts; a group is never split.)"""
    tmp = tempfile.mkdtemp(prefix="ajl", dir="/tmp")
    try:
        path = os.path.join(tmp, "jobs.json")
        # an 8 MB file; the request, with a key a job, is over 16 MiB
        with open(path, "w") as f:
            json.dump([{"kind": "sleep", "args": {"ms": 0}}] * 250000, f)
        with Daemon("--workers", "0") as d:
            rc, out, err = d.ctl("submit", "--group", "--file", path,
                                 timeout=60)
            eq(rc, 2, "aiojobctl exit (stdout %r, stderr %r)" % (out, err))
            check("16777216" in err, "the limit is not named: %r", err)
            eq(d.ok({"op": "list"})["jobs"], [], "jobs after the refusal")
            alive(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_extra_endpoint():
    """An endpoint added by configuration (--listen) has the same limits:
    they are checked when a request is decoded, whatever the endpoint."""
    if "--listen" not in harness.daemon_help_flags():
        print("  (aiojobsd has no --listen: only the default endpoint)")
        return
    tmp = tempfile.mkdtemp(prefix="ajx", dir="/tmp")
    extra = "ipc://%s/extra.sock" % tmp
    try:
        extra_endpoint(extra)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extra_endpoint(extra):
    with Daemon("--max-request-bytes", str(2 * MiB), "--workers", "0",
                "--listen", extra) as d:
        with harness.ReqClient(extra) as c:
            eq(c.request({"op": "ping"})["pid"], d.pid, "extra endpoint")
            before = queued(d)
            expect_error(c.request({"op": "ping", "pad": "p" * (2 * MiB)},
                                   timeout_ms=10000), "too_large",
                         str(2 * MiB))
            err = expect_error(c.request(
                {"op": "submit", "jobs": [sleep_spec(0)] * (JOBS_MAX + 1)},
                timeout_ms=10000), "bad_request", "'jobs'")
            check(str(JOBS_MAX) in err["message"], "limit not named: %s",
                  err)
            expect_error(c.request(submit(exec_spec(
                argv=["true"] * (ARGV_MAX + 1)))), "bad_request",
                str(ARGV_MAX))
            eq(queued(d), before, "queued by refused requests")
            eq(c.request({"op": "ping"})["pid"], d.pid, "ping after")


if __name__ == "__main__":
    harness.main()
