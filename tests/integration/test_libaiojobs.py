"""libaiojobs as its users get it: meson install into a temporary DESTDIR,
then tests/libaiojobs/example.c built with cc and the flags of
pkg-config --cflags --libs aiojobs from the installed aiojobs.pc, nothing
else, run against a real aiojobsd: a job submitted and waited for (the
wait asked again under a short max_hold), an error code from the daemon,
no daemon, a resend after a lost reply that makes no second job, cancel,
events. Also docs/examples/c_submit.c, and what the installed .so
exports.

Needs MESON_BUILD_ROOT and MESON_SOURCE_ROOT (set by meson.build)."""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, check, eq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("MESON_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(HERE)))
EXAMPLE = os.path.join(SOURCE_ROOT, "tests", "libaiojobs", "example.c")
SLEEP = '{"kind":"sleep","args":{"ms":%d}}'

_built = {}


def run(argv, timeout=120, env=None, ok=True, stdin=subprocess.DEVNULL):
    try:
        p = subprocess.run([str(a) for a in argv], capture_output=True,
                           text=True, errors="replace", timeout=timeout,
                           env=env, stdin=stdin)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish in %s s"
                             % (" ".join(map(str, argv)), timeout))
    if ok and p.returncode != 0:
        raise AssertionError("%s: exit status %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, argv)), p.returncode,
                                p.stdout[-3000:], p.stderr[-3000:]))
    return p.returncode, p.stdout, p.stderr


def find(top, name):
    for d, _, names in os.walk(top):
        if name in names:
            return os.path.join(d, name)
    raise AssertionError("%s not installed under %s" % (name, top))


def sanitize_flags(builddir):
    """A sanitized libaiojobs.so needs its runtime in the program too."""
    _, out, _ = run(["meson", "introspect", "--buildoptions", builddir])
    opts = {o["name"]: o["value"] for o in json.loads(out)}
    s = opts.get("b_sanitize", "none")
    return [] if s == "none" else ["-fsanitize=" + s]


def example():
    """Install the build, build example.c against it; (program, env)."""
    if _built:
        return _built["prog"], _built["env"]
    builddir = os.environ.get("MESON_BUILD_ROOT")
    check(builddir and os.path.isfile(os.path.join(builddir, "build.ninja")),
          "MESON_BUILD_ROOT (%r) is not a configured build directory",
          builddir)
    tmp = tempfile.mkdtemp(prefix="aj-lib-")
    harness.atexit.register(shutil.rmtree, tmp, True)
    dest = os.path.join(tmp, "dest")
    run(["meson", "install", "-C", builddir, "--destdir", dest,
         "--no-rebuild", "--quiet"], timeout=300)
    pc = find(dest, "aiojobs.pc")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc),
               PKG_CONFIG_SYSROOT_DIR=dest)
    _, flags, _ = run(["pkg-config", "--cflags", "--libs", "aiojobs"],
                      env=env)
    prog = os.path.join(tmp, "example")
    run(["cc", "-Wall", "-Wextra", "-Werror", "-o", prog, EXAMPLE] +
        flags.split() + sanitize_flags(builddir), env=env)
    lib = find(dest, "libaiojobs.so.0")
    _built["flags"] = flags.split() + sanitize_flags(builddir)
    _built["prog"] = prog
    _built["lib"] = lib
    _built["env"] = harness.clean_env(LD_LIBRARY_PATH=os.path.dirname(lib))
    return prog, _built["env"]


def parse(out):
    """The "name value" lines of the example's output."""
    got = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        got[name] = value
    return got


def example_run(*args, ok=True, timeout=60):
    prog, env = example()
    rc, out, err = run([prog] + list(args), env=env, ok=ok,
                       timeout=timeout)
    return rc, parse(out), out + err


def test_submit_and_wait():
    """A sleep of 1 s waited for under a max_hold of 300 ms: the library
    asks again until the job is done, within its own timeout."""
    with Daemon("--max-hold", "300ms") as d:
        _, got, out = example_run("run", d.url, SLEEP % 1000)
        eq(got.get("connect"), "ok 0", "connect\n" + out)
        eq(got.get("submit"), "ok 0", "submit\n" + out)
        eq(len(got.get("key", "")), 32, "a 128-bit key in hex\n" + out)
        reply = json.loads(got["reply"])
        eq(reply["pending"], [], "pending after the wait")
        eq([j["state"] for j in reply["done"]], ["succeeded"], "done")
        eq(reply["done"][0]["id"], int(got["id"]), "the job waited for")
        r = d.client().request({"op": "status", "id": int(got["id"])})
        eq(r["job"]["state"], "succeeded", "job state")


def test_error_code():
    """An error reply is its code (not_found) and the daemon's message."""
    with Daemon() as d:
        rc, got, out = example_run("status", d.url, "4242", ok=False)
        eq(rc, 1, "exit status\n" + out)
        eq(got.get("status"), "not_found 4", "code\n" + out)
        check("4242" in got.get("status_message", ""), "message: %s", out)
        eq(json.loads(got["reply"])["error"]["code"], "not_found", "reply")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_daemon():
    """No daemon: an ipc URL fails at once, a tcp one within the timeout."""
    tmp = tempfile.mkdtemp(prefix="aj-none-")
    try:
        t0 = time.monotonic()
        rc, got, out = example_run("connect",
                                   "ipc://%s/aiojobsd.sock" % tmp, "5000",
                                   ok=False)
        check(time.monotonic() - t0 < 3, "ipc: took %.1f s",
              time.monotonic() - t0)
        eq(rc, 1, "exit status\n" + out)
        eq(got.get("connect"), "unreachable 100", "ipc\n" + out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.monotonic()
    rc, got, out = example_run("connect", "tcp://127.0.0.1:%d" % free_port(),
                               "700", ok=False)
    took = time.monotonic() - t0
    eq(rc, 1, "exit status\n" + out)
    check(got.get("connect") in ("timeout 101", "unreachable 100"),
          "tcp: %s", out)
    check(int(got["elapsed_ms"]) < 1500 and took < 5,
          "tcp: an error after %s ms (timeout 700)", got["elapsed_ms"])


def test_resend_same_key():
    """A submit whose reply is lost (the daemon stopped) times out; the
    same spec submitted again reuses the key the library made, and the
    daemon answers with the first job: one job, not two."""
    prog, env = example()
    with Daemon() as d:
        c = d.client()
        spec = '{"kind":"sleep","name":"once","args":{"ms":10}}'
        p = subprocess.Popen([prog, "resend", d.url, spec], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        try:
            lines = {}

            def read_until(name, buf=[b""]):
                """Lines up to one that starts with name (20 s)."""
                deadline = time.monotonic() + 20
                while name not in lines:
                    if b"\n" in buf[0]:
                        line, _, buf[0] = buf[0].partition(b"\n")
                        lines.update(parse(line.decode()))
                        continue
                    left = deadline - time.monotonic()
                    check(left > 0 and select.select([p.stdout], [], [],
                                                     left)[0],
                          "no '%s' line from the example in 20 s: %r",
                          name, lines)
                    data = os.read(p.stdout.fileno(), 4096)
                    check(data, "example ended early: %r", lines)
                    buf[0] += data

            read_until("connect")
            eq(lines["connect"], "ok 0", "connect")
            d.signal(signal.SIGSTOP)
            p.stdin.write(b"go\n")
            p.stdin.flush()
            read_until("first_key")
            eq(lines.get("first"), "timeout 101", "first submit")
            d.signal(signal.SIGCONT)
            # the daemon takes the first request and makes the job
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                jobs = c.request({"op": "list"})["jobs"]
                if jobs:
                    break
                time.sleep(0.05)
            eq(len(jobs), 1, "jobs after the lost reply")
            p.stdin.write(b"go\n")
            p.stdin.close()
            read_until("id")
            p.wait(timeout=30)
        finally:
            d.signal(signal.SIGCONT)
            if p.poll() is None:
                p.kill()
                p.wait()
        eq(p.returncode, 0, "exit status: %r" % lines)
        eq(lines.get("second"), "ok 0", "second submit")
        eq(lines.get("second_key"), lines["first_key"], "the key reused")
        jobs = c.request({"op": "list"})["jobs"]
        eq([j["id"] for j in jobs], [int(lines["id"])], "one job")


def test_cancel():
    with Daemon() as d:
        _, got, out = example_run("cancel", d.url, SLEEP % 60000)
        eq(got.get("cancel"), "ok 0", "cancel\n" + out)
        eq(json.loads(got["reply"])["job"]["state"], "cancelled", "state")


def test_events():
    """A subscription to job.succeeded hears the job the program ran (a
    job of 500 ms: the subscription connects in the background)."""
    with Daemon() as d:
        _, got, out = example_run("events", d.url, d.events_url,
                                  SLEEP % 500)
        eq(got.get("topic"), "job.succeeded", "topic\n" + out)
        eq(json.loads(got["event"])["id"], int(got["id"]), "event's job")


def test_docs_example():
    """docs/examples/c_submit.c builds the same way and finds the daemon
    through $AIOJOBS_URL."""
    example()
    prog = os.path.join(os.path.dirname(_built["prog"]), "c_submit")
    run(["cc", "-Wall", "-Wextra", "-Werror", "-o", prog,
         os.path.join(SOURCE_ROOT, "docs", "examples", "c_submit.c")] +
        _built["flags"])
    with Daemon() as d:
        env = dict(_built["env"], AIOJOBS_URL=d.url)
        _, out, _ = run([prog, SLEEP % 10], env=env)
        check(out.startswith("job 1: "), "c_submit printed %r", out)
        eq(json.loads(out[len("job 1: "):])["done"][0]["state"],
           "succeeded", "state")


def test_exports():
    """The .so exports the API of aiojobs.h and nothing of common/."""
    example()
    _, out, _ = run(["nm", "-D", "--defined-only", _built["lib"]])
    names = {ln.split()[-1].split("@")[0] for ln in out.splitlines()
             if ln.split() and ln.split()[1] in "TDBR"}
    other = sorted(n for n in names if not n.startswith("aiojobs_"))
    eq(other, [], "exported symbols outside the API")
    check("aiojobs_submit" in names, "aiojobs_submit not exported")


if __name__ == "__main__":
    harness.main()
