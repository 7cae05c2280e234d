"""No silent change to any request (docs/protocol.md, section 2): a NUL
in any string, a duplicate key in any object and a field the daemon does
not know are bad_request naming the field, instead of a request cut short,
a member skipped or a typo ignored; and a request may say which protocol
version it is written in."""

import json
import os
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq, expect_error, sleep_spec  # noqa: E402

HELD = "held"    # a paused queue: what is accepted here never runs


def held(spec):
    spec = dict(spec)
    spec["queue"] = HELD
    return spec


def submit(spec):
    return {"op": "submit", "job": spec}


def exec_spec(**args):
    return {"kind": "exec", "args": args}


def http_spec(**args):
    args.setdefault("url", "http://127.0.0.1:9/")
    return {"kind": "http", "args": args}


def cpu_spec(**args):
    return {"kind": "cpu", "args": args}


def queued(d):
    return d.ok({"op": "stats"})["jobs"]["queued"]


def refused(d, req, *needles):
    """req (a dict, or JSON text for what a dict cannot hold) must be
    bad_request with every needle in the message, and queue nothing."""
    before = queued(d)
    err = expect_error(d.request(req), "bad_request")
    for n in needles:
        check(n in err["message"], "message %r lacks %r", err["message"], n)
    eq(queued(d), before, "jobs queued by a refused request")
    return err


def accepted(d, req):
    r = d.request(req)
    check(r.get("ok") is True, "%s refused: %s", json.dumps(req)[:200], r)
    return r


# -- NUL ----------------------------------------------------------------------


def test_nul_refused_where_it_would_cut():
    """Each string below was cut at the NUL before: "a\\u0000b" ran
    "echo a"."""
    with Daemon() as d:
        d.ok({"op": "queue", "name": HELD, "action": "pause"})
        refused(d, submit(held(exec_spec(argv=["echo", "a\0b"]))),
                "'job.args.argv[1]'", "U+0000")
        refused(d, submit(held(exec_spec(argv=["true"],
                                         env={"A": "1\0rest"}))),
                "'job.args.env.A'", "U+0000")
        refused(d, submit(held(exec_spec(argv=["true"], env={"A\0B": "1"}))),
                "the name of field 'job.args.env.A'", "U+0000")
        refused(d, submit(held(sleep_spec(0, name="x\0y"))),
                "'job.name'", "U+0000")
        refused(d, {"op": "ping\0not"}, "'op'", "U+0000")
        refused(d, {"op": "submit", "jobs": [held(sleep_spec(0)), held(
            cpu_spec(fn="sha256", input={"data": "\0"}))]},
            "'jobs[1].args.input.data'", "U+0000")
        refused(d, submit(held(http_spec(headers={"X-A": "v\0w"}))),
                "'job.args.headers.X-A'", "U+0000")
        eq(queued(d), 0, "queued")


def test_escaped_backslash_before_u0000_is_text():
    r"""In JSON "\\u0000" is a backslash and the text u0000: no NUL."""
    with Daemon() as d:
        jid = d.submit(exec_spec(argv=["printf", "%s", "\\u0000\\\\"]))
        v = d.wait_ids([jid])["done"][0]
        eq(v["state"], "succeeded", "state")
        eq(v["result"]["stdout"], "\\u0000\\\\", "stdout, byte for byte")
        refused(d, b'{"op":"submit","job":{"kind":"exec","args":'
                b'{"argv":["echo","\\\\\\u0000"]}}}', "'job.args.argv[1]'")


# -- duplicate keys -----------------------------------------------------------


def test_duplicate_keys_refused():
    with Daemon() as d:
        refused(d, b'{"op":"ping","op":"stats"}', "'op'", "twice")
        refused(d, b'{"op":"submit","job":{"kind":"sleep","args":{"ms":0},'
                b'"queue":"a","queue":"b"}}', "'job.queue'", "twice")
        refused(d, b'{"op":"submit","job":{"kind":"sleep",'
                b'"args":{"ms":0,"ms":5000}}}', "'job.args.ms'", "twice")
        refused(d, b'{"op":"submit","jobs":[{"kind":"exec","args":'
                b'{"argv":["true"],"env":{"A":"1","B":"2","A":"3"}}}]}',
                "'jobs[0].args.env.A'", "twice")
        eq(queued(d), 0, "queued")


# -- unknown fields -----------------------------------------------------------


def test_unknown_request_fields_refused():
    with Daemon() as d:
        refused(d, {"op": "ping", "zzz": 1}, "unknown field 'zzz'",
                "op 'ping'")
        jid = d.submit_sleep(0)
        # timeout_ms misspelt: the wait would have been held 30 s
        refused(d, {"op": "wait", "ids": [jid], "timout_ms": 0},
                "unknown field 'timout_ms'", "timeout_ms")
        # a field of another op is unknown to this one
        refused(d, {"op": "status", "id": jid, "ids": [jid]},
                "unknown field 'ids'", "op 'status'")
        refused(d, submit(sleep_spec(0)) | {"hint": "x"},
                "unknown field 'hint'")


def test_unknown_spec_and_args_fields_refused_free_form_not():
    with Daemon() as d:
        d.ok({"op": "queue", "name": HELD, "action": "pause"})
        refused(d, submit(held(sleep_spec(0, timout_ms=10))),
                "unknown field 'timout_ms'", "(in 'job')")
        refused(d, {"op": "submit", "jobs": [
            held(sleep_spec(0)), held(sleep_spec(0, colour="red"))]},
            "unknown field 'colour'", "jobs[1]")
        refused(d, submit(held({"kind": "sleep", "args": {"ms": 0,
                                                          "x": 1}})),
                "sleep", "unknown field 'x' of 'args'")
        refused(d, submit(held(exec_spec(argv=["true"], cwdd="/"))),
                "exec", "unknown field 'cwdd' of 'args'")
        refused(d, submit(held(http_spec(methd="POST"))),
                "http", "unknown field 'methd' of 'args'")
        refused(d, submit(held(cpu_spec(fn="spin", inputs={"ms": 0}))),
                "cpu", "unknown field 'inputs' of 'args'")
        eq(queued(d), 0, "queued")
        # env, headers and a cpu function's input name their own members
        accepted(d, submit(held(exec_spec(argv=["true"],
                                          env={"timout_ms": "1"}))))
        accepted(d, submit(held(http_spec(headers={"X-Anything": "1"}))))
        accepted(d, submit(held(cpu_spec(fn="example.upper", input={
            "whatever": [1, {"nested": True}]}))))
        eq(queued(d), 3, "queued")


def test_cli_held_to_the_same_rules():
    """aiojobctl submit --file (and --input) decodes the text and sends it
    again: what it skipped or cut would never reach the daemon to be
    refused."""
    files = [
        ('{"kind":"sleep","args":{"ms":0},"timout_ms":5}', "'timout_ms'"),
        ('[{"kind":"sleep","args":{"ms":0}},{"kind":"sleep","queue":"a",'
         '"queue":"b"}]', "'[1].queue'"),
        ('{"jobs":[{"kind":"sleep","args":{"ms":0}}],"grup":true}',
         "'grup'"),
        ('{"jobs":[{"kind":"exec","args":{"argv":["echo","a\\u0000"]}}]}',
         "'jobs[0].args.argv[1]'"),
    ]
    with Daemon() as d:
        for i, (text, needle) in enumerate(files):
            path = os.path.join(d.rundir, "spec%d.json" % i)
            with open(path, "w") as f:
                f.write(text)
            rc, out, err = d.ctl("submit", "--file", path)
            check(rc != 0, "%s accepted: %r", text, out)
            check(needle in err, "%s: %r lacks %s", text, err, needle)
        # --input is parsed and printed again by aiojobctl
        for text, needle in (('{"data":"a\\u0000b"}', "'data'"),
                             ('{"data":"a","data":"b"}', "twice")):
            rc, out, err = d.ctl("submit", "cpu", "sha256", "--input", text)
            check(rc != 0, "--input %s accepted: %r", text, out)
            check(needle in err, "--input %s: %r lacks %s", text, err,
                  needle)
        eq(queued(d), 0, "queued")


# -- protocol version ---------------------------------------------------------


def test_ping_lists_versions():
    with Daemon() as d:
        eq(d.ok({"op": "ping"}).get("versions"), [1], "versions")


def test_version_field():
    with Daemon() as d:
        accepted(d, {"op": "ping", "v": 1})
        jid = d.ok(submit(sleep_spec(0)) | {"v": 1})["id"]
        eq(d.wait_ids([jid])["done"][0]["state"], "succeeded", "state")
        refused(d, {"op": "ping", "v": 2}, "'v'", "version 2",
                "speaks version 1")
        # the version is checked before the op: op names depend on it
        refused(d, {"op": "output", "v": 99}, "version 99")
        refused(d, {"op": "ping", "v": "1"}, "'v'", "integer")
        refused(d, {"op": "ping", "v": 1.5}, "'v'", "integer")


if __name__ == "__main__":
    harness.main()
