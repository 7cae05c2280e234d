"""aiojobctl and the exec kind: submit exec, submit --wait exec (the
command's output and exit status become aiojobctl's) and logs."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import show, ok_ctl, submitted_id  # noqa: E402
from harness import Daemon, check, clean_env, eq  # noqa: E402

PY = sys.executable or "python3"
# Prints its arguments as a JSON array on stdout.
PRINT_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


def status_json(d, jid):
    """The job view as aiojobctl --json status prints it."""
    return json.loads(ok_ctl(d, "--json", "status", jid))["job"]


def ended(d, jid):
    d.wait_ids([jid])
    return status_json(d, jid)


def ctl_bytes(d, *args, cwd=None, input=None, timeout=60):
    """Run aiojobctl with bytes in and out, in directory cwd."""
    e = clean_env(AIOJOBS_RUNDIR=d.rundir)
    argv = [a if isinstance(a, bytes) else str(a) for a in args]
    p = subprocess.run([harness.AIOJOBCTL] + argv,
                       input=input, capture_output=True, env=e, cwd=cwd,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def no_jobs(d, what):
    eq(d.ok({"op": "list", "limit": 0})["jobs"], [], "jobs after %s" % what)


def test_submit_exec_prints_id():
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--", "true"))
        v = ended(d, jid)
        eq((v["kind"], v["state"], v["args"]["argv"]),
           ("exec", "succeeded", ["true"]), "submit exec -- true")
        eq(v["result"]["exit_code"], 0, "exit_code")
        # without "--" the command starts at the first non-option
        jid = submitted_id(ok_ctl(d, "submit", "exec", "echo", "hi"))
        v = ended(d, jid)
        eq((v["state"], v["result"]["stdout"]), ("succeeded", "hi\n"),
           "submit exec echo hi")
        # a failing command is still just submitted: exit 0, an id
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--", "false"))
        eq(ended(d, jid)["state"], "failed", "exec false")


def test_argv_unchanged():
    args = ["a b", '"double"', "'single'", "", "  ", "-x", "--", "--env",
            "$HOME", "*", "back\\slash", "tab\there", "line\nbreak",
            "\u00fc\u20ac\U0001f600"]
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--", PY, "-c",
                                  PRINT_ARGV, *args))
        v = ended(d, jid)
        eq(v["state"], "succeeded", "state (%s)" % v)
        eq(v["args"]["argv"], [PY, "-c", PRINT_ARGV] + args, "args.argv")
        eq(json.loads(v["result"]["stdout"]), args, "argv the child saw")


def test_common_options_with_exec():
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "--queue", "eq", "--priority",
                                  "5", "--name", "build", "--key", "k1",
                                  "--delay", "10ms", "--timeout", "20s",
                                  "--retries", "2", "exec", "--", "true"))
        v = ended(d, jid)
        eq((v["queue"], v["priority"], v["name"], v["state"]),
           ("eq", 5, "build", "succeeded"), "options of submit with exec")
        again = submitted_id(ok_ctl(d, "submit", "--queue", "eq",
                                    "--priority", "5", "--name", "build",
                                    "--key", "k1", "--delay", "10ms",
                                    "--timeout", "20s", "--retries", "2",
                                    "exec", "--", "true"))
        eq(again, jid, "the same --key is the same job")
        # --retries: the last attempt's status is the exit status
        rc, out, err = d.ctl("submit", "--retries", "1", "--wait", "exec",
                             "--", "sh", "-c", "echo try; exit 2")
        eq((rc, out), (2, "try\n"), "retried exec (%s)" % show(rc, out, err))
        v = d.ok({"op": "list", "limit": 1})["jobs"][0]
        eq(v["attempts"], 2, "attempts")


def test_env_and_clear_env():
    envprog = shutil.which("env") or "/usr/bin/env"
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--env", "A=1",
                                  "--env", "B=x y=z", "--env", "A=2",
                                  "--env", "EMPTY=", "--", "sh", "-c",
                                  'printf "%s|%s|%s|%s" "$A" "$B" '
                                  '"${EMPTY-unset}" "${PATH:+path}"'))
        v = ended(d, jid)
        eq(v["args"]["env"], {"A": "2", "B": "x y=z", "EMPTY": ""},
           "args.env (the last --env of a name wins)")
        eq(v["result"]["stdout"], "2|x y=z||path", "environment seen")
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--clear-env",
                                  "--env", "ONLY=1", "--", envprog))
        v = ended(d, jid)
        eq(v["args"].get("clear_env"), True, "args.clear_env")
        eq(v["result"]["stdout"], "ONLY=1\n", "a cleared environment")


def test_cwd():
    with Daemon() as d:
        base = tempfile.mkdtemp(prefix="ajcwd", dir="/tmp")
        try:
            sub = os.path.join(base, "sub dir")
            os.mkdir(sub)
            real = os.path.realpath(sub)
            jid = submitted_id(ok_ctl(d, "submit", "exec", "--cwd", sub,
                                      "--", "pwd", "-P"))
            v = ended(d, jid)
            eq(v["args"]["cwd"], sub, "args.cwd")
            eq(v["result"]["stdout"], real + "\n", "absolute --cwd")
            # a relative --cwd is taken from aiojobctl's directory
            for rel, want in (("sub dir", real), (".", os.path.realpath(base))):
                rc, out, err = ctl_bytes(d, "submit", "--wait", "exec",
                                         "--cwd", rel, "--", "pwd", "-P",
                                         cwd=base)
                eq((rc, out.decode()), (0, want + "\n"),
                   "--cwd %r (%r)" % (rel, err))
            # no --cwd: aiojobctl's directory, as if the command ran here
            rc, out, err = ctl_bytes(d, "submit", "--wait", "exec", "--",
                                     "pwd", "-P", cwd=sub)
            eq((rc, out.decode()), (0, real + "\n"), "default cwd (%r)" % err)
            rc, out, err = d.ctl("submit", "--wait", "exec", "--cwd",
                                 os.path.join(base, "missing"), "--", "pwd")
            eq(rc, 127, "--cwd of a missing directory (%s)"
               % show(rc, out, err))
            check("missing" in err, "the directory in the message: %r", err)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def test_stdin_file():
    text = "line one\nline \u00fc two\n\ttab \"q\" \\ end"
    with Daemon() as d:
        fd, path = tempfile.mkstemp(prefix="ajin", dir="/tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            jid = submitted_id(ok_ctl(d, "submit", "exec", "--stdin-file",
                                      path, "--", "cat"))
            v = ended(d, jid)
            eq(v["args"]["stdin"], text, "args.stdin from a file")
            eq(v["result"]["stdout"], text, "cat of --stdin-file")
        finally:
            os.unlink(path)
        rc, out, err = d.ctl("submit", "--wait", "exec", "--stdin-file", "-",
                             "--", "cat", input="from our stdin\n")
        eq((rc, out), (0, "from our stdin\n"), "--stdin-file - (%s)"
           % show(rc, out, err))
        rc, out, err = d.ctl("submit", "--wait", "exec", "--stdin-file", "-",
                             "--", "wc", "-c", input="")
        eq((rc, out.strip()), (0, "0"), "an empty --stdin-file -")
        # without --stdin-file the command reads /dev/null
        rc, out, err = d.ctl("submit", "--wait", "exec", "--", "cat",
                             input="not for the job\n")
        eq((rc, out), (0, ""), "no --stdin-file (%s)" % show(rc, out, err))


def test_stdin_file_refused():
    with Daemon() as d:
        base = tempfile.mkdtemp(prefix="ajin", dir="/tmp")
        try:
            big = os.path.join(base, "big")
            with open(big, "w") as f:
                f.write("x" * (950 * 1024))
            binary = os.path.join(base, "binary")
            with open(binary, "wb") as f:
                f.write(b"\xff" * (700 * 1024))
            for path, what in ((big, "larger than"), (binary, "base64"),
                               (os.path.join(base, "missing"),
                                "No such file")):
                rc, out, err = d.ctl("submit", "exec", "--stdin-file", path,
                                     "--", "cat")
                eq(rc, 2, "--stdin-file %s (%s)" % (path, show(rc, out, err)))
                check(what in err, "message for %s: %r", path, err)
                eq(out, "", "stdout of a refused submit")
            no_jobs(d, "refused --stdin-file")
            # bytes that are not text go as base64 and arrive as they were
            for data in (b"abc\0def", b"caf\xe9\n", b"\xff\xfe" * 1000):
                rc, out, err = ctl_bytes(d, "submit", "--wait", "exec",
                                         "--stdin-file", "-", "--", "cat",
                                         input=data)
                eq((rc, out), (0, data), "--stdin-file - with bytes that "
                   "are not UTF-8 (%r)" % err)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def test_wait_output_and_exit_status():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "exec", "--", "sh", "-c",
                             "echo out; echo err >&2; exit 3")
        eq(rc, 3, "exit 3 (%s)" % show(rc, out, err))
        eq(out, "out\n", "stdout: the command's output only, no id")
        check("err" in err, "stderr of the command: %r", err)
        rc, out, err = d.ctl("submit", "--wait", "exec", "--", "sh", "-c",
                             "printf 'no newline'")
        eq((rc, out, err), (0, "no newline", ""), "raw output, exit 0")
        rc, out, err = d.ctl("submit", "--wait", "exec", "--", "sh", "-c",
                             "exit 255")
        eq(rc, 255, "exit 255 (%s)" % show(rc, out, err))


def test_wait_signal():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "exec", "--", "sh", "-c",
                             "echo before; kill -TERM $$")
        eq((rc, out), (143, "before\n"), "killed by SIGTERM (%s)"
           % show(rc, out, err))
        rc, out, err = d.ctl("submit", "--wait", "exec", "--", "sh", "-c",
                             "kill -KILL $$")
        eq(rc, 137, "killed by SIGKILL (%s)" % show(rc, out, err))


def test_wait_spawn_failed():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "exec", "--",
                             "no-such-cmd-aiojobs")
        eq(rc, 127, "a command that cannot run (%s)" % show(rc, out, err))
        eq(out, "", "stdout")
        # the command runs in our directory, which the message names
        check("aiojobctl: cannot run 'no-such-cmd-aiojobs'" in err and
              "No such file or directory" in err,
              "shell-like message: %r", err)


def test_wait_timeout_and_cancel():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "--timeout", "200ms",
                             "exec", "--", "sleep", "10", timeout=20)
        eq(rc, 1, "timed out (%s)" % show(rc, out, err))
        eq(out, "", "stdout of a timed-out job")
        check("timed out" in err, "the timeout is said: %r", err)
        p = subprocess.Popen([harness.AIOJOBCTL, "submit", "--wait", "exec",
                              "--", "sleep", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=clean_env(AIOJOBS_RUNDIR=d.rundir),
                             text=True)
        try:
            jid = harness.poll_until(
                lambda: [j["id"] for j in d.ok({"op": "list"})["jobs"]
                         if j["state"] == "running" and
                         j["args"]["argv"] == ["sleep", "10"]],
                10, what="the job running")[0]
            d.ok({"op": "cancel", "id": jid})
            out, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        eq(p.returncode, 1, "cancelled (%s)" % show(p.returncode, out, err))
        check("cancelled" in err, "the cancel is said: %r", err)


def test_wait_json():
    with Daemon() as d:
        rc, out, err = d.ctl("--json", "submit", "--wait", "exec", "--",
                             "sh", "-c", "echo hi; exit 4")
        eq(rc, 4, "--json keeps the exit status (%s)" % show(rc, out, err))
        lines = [json.loads(l) for l in out.splitlines()]
        eq(len(lines), 2, "two replies: submit and wait")
        check("id" in lines[0], "submit reply: %s", lines[0])
        job = lines[1]["done"][0]
        eq((job["result"]["stdout"], job["result"]["exit_code"]),
           ("hi\n", 4), "the wait reply")
        rc, out, err = d.ctl("--json", "submit", "--wait", "exec", "--",
                             "no-such-cmd-aiojobs")
        eq(rc, 127, "--json spawn failure (%s)" % show(rc, out, err))


def test_wait_large_output():
    # 1 MiB per stream of bytes that are not UTF-8: they travel as base64,
    # so the wait reply is over 2.5 MiB, and come out as they were.
    prog = ("import sys; b = b'\\xff' * (1 << 20); "
            "sys.stdout.buffer.write(b); sys.stderr.buffer.write(b)")
    with Daemon() as d:
        rc, out, err = ctl_bytes(d, "submit", "--wait", "exec", "--", PY,
                                 "-c", prog)
        eq(rc, 0, "large output (%r)" % err[-300:])
        want = b"\xff" * (1 << 20)
        eq(len(out), len(want), "stdout bytes")
        check(out == want, "stdout is the bytes written")
        check(err == want, "stderr is the bytes written (no note)")
        jid = d.ok({"op": "list", "limit": 1})["jobs"][0]["id"]
        rc, out2, err2 = ctl_bytes(d, "logs", jid)
        check(rc == 0 and out2 == want and err2 == want,
              "logs of the large output (rc %s)" % rc)


def test_wait_truncated_note():
    with Daemon() as d:
        rc, out, err = d.ctl("submit", "--wait", "exec", "--max-output", "3",
                             "--", "sh", "-c", "echo abcdef; echo 12 >&2")
        eq(rc, 0, "truncated output (%s)" % show(rc, out, err))
        eq(out, "abc", "stdout: the first 3 bytes")
        check(err.startswith("12\n"), "stderr: kept whole: %r", err)
        check("aiojobctl: stdout truncated: 3 of 7 bytes kept" in err,
              "the note: %r", err)
        check("stderr truncated" not in err, "no note for stderr: %r", err)
        v = d.ok({"op": "list", "limit": 1})["jobs"][0]
        eq(v["args"]["max_output"], 3, "args.max_output")


def test_logs():
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--", "sh", "-c",
                                  "echo out1; echo err1 >&2; echo out2"))
        ended(d, jid)
        rc, out, err = d.ctl("logs", jid)
        eq((rc, out, err), (0, "out1\nout2\n", "err1\n"), "logs ID")
        rc, out, err = d.ctl("logs", "--stdout", jid)
        eq((rc, out, err), (0, "out1\nout2\n", ""), "logs --stdout")
        rc, out, err = d.ctl("logs", "--stderr", jid)
        eq((rc, out, err), (0, "", "err1\n"), "logs --stderr")
        rc, out, err = d.ctl("logs", "--stdout", "--stderr", jid)
        eq((rc, out, err), (0, "out1\nout2\n", "err1\n"), "both")
        # a failed job keeps its output
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--", "sh", "-c",
                                  "echo partial; exit 9"))
        ended(d, jid)
        rc, out, err = d.ctl("logs", jid)
        eq((rc, out), (0, "partial\n"), "logs of a failed job")
        rc, out, err = d.ctl("--json", "logs", jid)
        eq(rc, 0, "--json logs")
        eq(json.loads(out)["job"]["result"]["stdout"], "partial\n",
           "--json logs prints the status reply")


def test_logs_without_output():
    with Daemon() as d:
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--", "sleep", "10"))
        d.wait_state(jid, "running")
        rc, out, err = d.ctl("logs", jid)
        eq((rc, out), (1, ""), "logs of a running job (%s)"
           % show(rc, out, err))
        check("not finished" in err, "message: %r", err)
        d.ok({"op": "cancel", "id": jid})
        rc, out, err = d.ctl("logs", 99999)
        eq(rc, 4, "logs of an unknown id (%s)" % show(rc, out, err))
        check("not_found" in err, "message: %r", err)
        jid = submitted_id(ok_ctl(d, "submit", "sleep", "1ms"))
        ended(d, jid)
        rc, out, err = d.ctl("logs", jid)
        eq((rc, out), (1, ""), "logs of a sleep job (%s)"
           % show(rc, out, err))
        check("no output" in err, "message: %r", err)
        jid = submitted_id(ok_ctl(d, "submit", "exec", "--",
                                  "no-such-cmd-aiojobs"))
        ended(d, jid)
        rc, out, err = d.ctl("logs", jid)
        eq((rc, out), (1, ""), "logs of a spawn failure (%s)"
           % show(rc, out, err))
        check("cannot run" in err, "message: %r", err)
        for args in (["logs"], ["logs", "x"], ["logs", "1", "2"],
                     ["logs", "--bogus", "1"]):
            rc, out, err = d.ctl(*args)
            eq(rc, 2, "%s (%s)" % (args, show(rc, out, err)))


def test_usage_errors():
    with Daemon() as d:
        for args, what in (
                (["exec", "--env", "NOEQUALS", "--", "true"], "NAME=VALUE"),
                (["exec", "--env", "=v", "--", "true"], "NAME=VALUE"),
                (["exec"], "no command"),
                (["exec", "--"], "no command"),
                (["exec", "--env", "A=1"], "no command"),
                (["exec", "--", ""], "empty"),
                (["exec", "--bogus", "--", "true"], "--bogus"),
                (["exec", "--cwd"], "needs a value"),
                (["exec", "--max-output", "-1", "--", "true"], "max-output"),
                (["exec", "--max-output", "lots", "--", "true"],
                 "max-output"),
                (["--wait", "exec"], "no command"),
        ):
            rc, out, err = d.ctl("submit", *args)
            eq(rc, 2, "submit %s (%s)" % (args, show(rc, out, err)))
            check(what in err, "message of submit %s: %r", args, err)
            eq(out, "", "stdout of submit %s" % args)
        rc, out, err = ctl_bytes(d, "submit", "exec", "--", "echo",
                                 b"caf\xe9")
        eq(rc, 2, "an argument that is not UTF-8 (%r)" % err)
        check(b"UTF-8" in err, "message: %r", err)
        no_jobs(d, "usage errors")


def test_help():
    for args in (["submit", "exec", "--help"], ["submit", "--help"]):
        rc, out, err = harness.run_ctl(*args)
        eq(rc, 0, "%s (%s)" % (args, show(rc, out, err)))
        for word in ("exec", "--env", "--clear-env", "--cwd", "--stdin-file",
                     "--max-output", "127"):
            check(word in out, "%s mentions %s", args, word)
    rc, out, err = harness.run_ctl("logs", "--help")
    eq(rc, 0, "logs --help")
    check("--stdout" in out and "--stderr" in out, "logs --help: %r", out)
    rc, out, err = harness.run_ctl("--help")
    eq(rc, 0, "--help")
    check(re.search(r"^\s+logs ", out, re.M), "--help lists logs: %r", out)


if __name__ == "__main__":
    harness.main()
