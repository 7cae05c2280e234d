"""Configuration file, --check-config, SIGHUP reload and log format.

python3 test_config.py AIOJOBSD AIOJOBCTL [TEST...]
"""
import configparser
import os
import re
import signal
import subprocess
import tempfile
import time

import harness
from harness import (Daemon, check, clean_env, eq, expect_error, main,
                     poll_until, sleep_spec)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def conf_file(text):
    d = tempfile.mkdtemp(prefix="ajconf", dir="/tmp")
    return write(os.path.join(d, "aiojobsd.conf"), text)


def run_daemon(*args, env=None, timeout=15):
    e = clean_env()
    e.update(env or {})
    return subprocess.run([harness.AIOJOBSD] + [str(a) for a in args],
                          capture_output=True, text=True, env=e,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def effective(*args, env=None):
    """aiojobsd --check-config ARGS, parsed as INI."""
    p = run_daemon("--check-config", *args, env=env)
    eq(p.returncode, 0, "--check-config status (stderr %r)" % p.stderr)
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(p.stdout)
    return cp, p.stdout


def stats(d):
    return d.ok({"op": "stats"})


def hup(d, until, what):
    """SIGHUP the daemon, then poll until the change is visible."""
    d.signal(signal.SIGHUP)
    poll_until(until, 10, what=what)


# -- the file and the flags ------------------------------------------------

def test_check_config_shows_file_and_flags():
    path = conf_file("# comment\n[daemon]\nlimit = 7\npending_limit = 50\n"
                     "max_hold = 90s\n\n[pool]\nworkers = 3\n"
                     "worker_memory_limit = 2048M\n[store]\n"
                     "durability = fast\nretention = 2d\n"
                     "[queue.fast]\nlimit = 2\nrate = 1.5\n"
                     "[queue.slow]\npaused = yes\n")
    cp, _ = effective("--config", path, "--limit", "9")
    eq(cp["daemon"]["limit"], "9", "a flag wins over the file")
    eq(cp["daemon"]["pending_limit"], "50", "pending_limit")
    eq(cp["daemon"]["max_hold"], "90s", "max_hold")
    eq(cp["pool"]["workers"], "3", "workers")
    eq(cp["pool"]["worker_memory_limit"], "2G", "sizes are normalised")
    eq(cp["store"]["durability"], "fast", "durability")
    eq(cp["store"]["retention"], "2d", "retention")
    eq(cp["queue.fast"]["limit"], "2", "queue limit")
    eq(cp["queue.fast"]["rate"], "1.5", "queue rate")
    eq(cp["queue.slow"]["paused"], "true", "queue paused")
    check("limit" not in cp["queue.slow"], "unset queue keys stay unset")


def test_check_config_round_trips():
    _, out = effective("--config", "/dev/null", "--retention", "36h",
                       "--no-tls-verify", "-q")
    path = conf_file(out)
    _, again = effective("--config", path)
    strip = lambda s: s.split("\n", 1)[1]  # noqa: E731 (the file: line)
    eq(strip(again), strip(out), "printed configuration read back")
    cp, _ = effective("--config", path)
    eq(cp["http"]["tls_verify"], "false", "--no-tls-verify is a key")
    eq(cp["daemon"]["log_level"], "warn", "-q is log_level warn")
    eq(cp["store"]["retention"], "36h", "retention")


def test_every_flag_has_a_key():
    help_text = run_daemon("--help").stdout
    flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", help_text, re.M))
    _, out = effective("--config", "/dev/null")
    keys = set(re.findall(r"^(\w+) =", out, re.M))
    # flags that are not settings, or spell a key differently
    special = {"--config": None, "--check-config": None, "--version": None,
               "--help": None, "--verbose": "log_level",
               "--quiet": "log_level", "--no-tls-verify": "tls_verify",
               "--http-connect-timeout": "connect_timeout"}
    for f in sorted(flags):
        key = special.get(f, f[2:].replace("-", "_"))
        if key is None:
            continue
        check(key in keys, "flag %s has no key %s in the file", f, key)


def test_bad_values_stop_start_up_with_file_and_line():
    cases = [
        ("[daemon]\nlimit = 5\npending_limit = lots\n", 3, "pending_limit"),
        ("[daemon]\n\n[pool]\nworkers = 5000\n", 4, "workers"),
        ("[store]\ndurability = maybe\n", 2, "safe or fast"),
        ("[daemon]\nlimit = 1\n[pool]\nlimit = 3\n", 4, "belongs in [daemon]"),
        ("[daemon]\nnonsense = 1\n", 2, "unknown key 'nonsense'"),
        ("[daemon]\n[nosuch]\nlimit = 1\n", 2, "unknown section [nosuch]"),
        ("[daemon]\nmax_hold = 3 weeks\n", 2, "invalid duration"),
        ("[endpoints]\nmetrics_listen = localhost\n", 2, "HOST:PORT"),
        ("[queue.q]\nlimit = -1\n", 2, "limit"),
        ("[daemon]\nlimit 5\n", 2, "syntax error"),
        ("limit = 5\n", 1, "outside a section"),
    ]
    for text, line, why in cases:
        path = conf_file(text)
        p = run_daemon("--config", path)
        eq(p.returncode, 1, "exit status for %r" % text)
        want = "%s:%d: " % (path, line)
        check(want in p.stderr, "%r: stderr %r lacks %r", text, p.stderr,
              want)
        check(why in p.stderr, "%r: stderr %r lacks %r", text, p.stderr, why)
        check("listening" not in p.stderr, "the daemon must not start")


def test_config_file_sources():
    p = run_daemon("--config", "/nonexistent/aiojobsd.conf")
    eq(p.returncode, 1, "a named file that is missing")
    check("No such file" in p.stderr, "reason: %r", p.stderr)
    p = run_daemon("--check-config",
                   env={"AIOJOBS_CONFIG": "/nonexistent/x.conf"})
    eq(p.returncode, 1, "AIOJOBS_CONFIG names a missing file")
    path = conf_file("[daemon]\nlimit = 11\n")
    cp, _ = effective(env={"AIOJOBS_CONFIG": path})
    eq(cp["daemon"]["limit"], "11", "AIOJOBS_CONFIG is read")
    cp, _ = effective(env={"AIOJOBS_CONFIG": "",
                           "CONFIGURATION_DIRECTORY": os.path.dirname(path)})
    eq(cp["daemon"]["limit"], "11", "systemd's CONFIGURATION_DIRECTORY")
    cp, _ = effective(env={"AIOJOBS_CONFIG": "", "AIOJOBS_RUNDIR": "",
                           "RUNTIME_DIRECTORY": "/run/x",
                           "AIOJOBS_STATE_DIR": "",
                           "STATE_DIRECTORY": "/var/lib/x",
                           "CONFIGURATION_DIRECTORY": "/nonexistent"})
    eq(cp["endpoints"]["rundir"], "/run/x", "RUNTIME_DIRECTORY")
    eq(cp["endpoints"]["url"], "ipc:///run/x/aiojobsd.sock", "url")
    eq(cp["store"]["state_dir"], "/var/lib/x", "STATE_DIRECTORY")


def test_queue_sections_apply_at_start():
    path = conf_file("[queue.held]\npaused = true\n[queue.one]\nlimit = 1\n")
    with Daemon("--config", path) as d:
        jid = d.submit_sleep(0, queue="held")
        a = d.submit_sleep(300, queue="one")
        b = d.submit_sleep(300, queue="one")
        d.wait_state(a, "running")
        eq(d.status(b)["state"], "queued", "queue limit 1 from the file")
        eq(d.status(jid)["state"], "queued", "paused queue from the file")
        q = stats(d)["queues"]
        eq(q["held"]["paused"], True, "held is paused")
        eq(q["one"]["limit"], 1, "one's limit")
        d.wait_ids([a, b])


# -- SIGHUP ------------------------------------------------------------------

def test_reload_queue_limit_while_jobs_run():
    path = conf_file("[queue.q]\nlimit = 1\n")
    with Daemon("--config", path) as d:
        sub = d.sub()
        d.sync_sub(sub)
        ids = [d.submit_sleep(400, queue="q") for _ in range(8)]
        d.wait_state(ids[0], "running")
        eq(stats(d)["queues"]["q"]["running"], 1, "limit 1 before reload")
        c = d.client()
        eq(c.request({"op": "ping"})["ok"], True, "connection before")
        write(path, "[queue.q]\nlimit = 4\n")
        hup(d, lambda: stats(d)["queues"]["q"]["limit"] == 4,
            "queue limit 4 after SIGHUP")
        check("queue q: limit 4 (was 1)" in d.log(), "the reload's change "
              "of queue q is not logged:\n%s", d.log())
        poll_until(lambda: stats(d)["queues"]["q"]["running"] == 4, 5,
                   what="4 jobs running after the reload")
        # the connection made before the reload still works
        eq(c.request({"op": "ping"})["ok"], True, "same connection after")
        r = d.wait_ids(ids, timeout_s=30)
        eq(sorted(v["id"] for v in r["done"]), sorted(ids), "every job done")
        for jid in ids:
            eq(d.status(jid)["state"], "succeeded", "job %d" % jid)
        # the subscriber connected before the reload saw them finish
        sub.events_until(lambda evs: {v["id"] for _, v in evs
                                      if v["state"] == "succeeded"}
                         >= set(ids), 10)
        # a section taken out of the file: said, and the queue keeps limit 4
        write(path, "[queue.other]\npaused = true\n")
        hup(d, lambda: d.log().count("configuration reloaded") == 2,
            "the second reload")
        check("reload: [queue.q] is gone from the file" in d.log(),
              "the removed section is not logged:\n%s", d.log())
        check("queue other: paused (was running)" in d.log(),
              "the new section is not logged:\n%s", d.log())
        eq(stats(d)["queues"]["q"]["limit"], 4, "queue q keeps its limit")


def test_reload_global_limits_and_workers():
    path = conf_file("[daemon]\nlimit = 1\npending_limit = 5\n"
                     "[pool]\nworkers = 1\n")
    with Daemon("--config", path) as d:
        eq(stats(d)["workers"]["total"], 1, "workers at start")
        long1 = d.submit({"kind": "cpu", "args": {"fn": "spin",
                                                   "input": {"ms": 3000}}})
        d.wait_state(long1, "running")
        write(path, "[daemon]\nlimit = 3\npending_limit = 100\n"
                    "[pool]\nworkers = 2\n")
        hup(d, lambda: stats(d)["workers"]["total"] == 2, "2 workers")
        ids = [d.submit_sleep(300) for _ in range(2)]
        poll_until(lambda: stats(d)["jobs"]["running"] == 3, 5,
                   what="global limit 3 after reload")
        # shrink while the only busy worker runs: its job is not killed
        write(path, "[daemon]\nlimit = 3\n[pool]\nworkers = 0\n")
        hup(d, lambda: stats(d)["workers"]["total"] == 0, "0 workers")
        eq(d.status(long1)["state"], "running", "the busy worker's job")
        d.wait_ids(ids + [long1])
        eq(d.status(long1)["state"], "succeeded", "busy worker finished")
        r = d.request({"op": "submit", "job": {
            "kind": "cpu", "args": {"fn": "spin", "input": {"ms": 1}}}})
        expect_error(r, "bad_request", "workers")
        write(path, "[pool]\nworkers = 1\n")
        hup(d, lambda: stats(d)["workers"]["total"] == 1, "1 worker again")
        jid = d.submit({"kind": "cpu", "args": {"fn": "spin",
                                                 "input": {"ms": 1}}})
        eq(d.wait_state(jid, "succeeded")["state"], "succeeded", "cpu job")


def test_reload_pending_limit():
    path = conf_file("[daemon]\npending_limit = 2\n[queue.p]\npaused = true\n")
    with Daemon("--config", path) as d:
        d.submit_sleep(0, queue="p")
        d.submit_sleep(0, queue="p")
        r = d.request({"op": "submit", "job": sleep_spec(0, queue="p")})
        expect_error(r, "queue_full")
        write(path, "[daemon]\npending_limit = 3\n[queue.p]\npaused = true\n")
        d.signal(signal.SIGHUP)
        poll_until(lambda: d.request({"op": "submit", "job": sleep_spec(
            0, queue="p")}).get("ok") is True, 10,
            what="a third job accepted after the reload")
        eq(stats(d)["jobs"]["queued"], 3, "nothing lost")


def test_reload_keeps_running_config_on_errors():
    path = conf_file("[daemon]\nlimit = 2\n")
    with Daemon("--config", path) as d:
        write(path, "[daemon]\nlimit = 5\nbogus = 1\n")
        d.signal(signal.SIGHUP)
        poll_until(lambda: "reload failed" in d.log(), 10,
                   what="reload failure logged")
        check(":3: unknown key 'bogus'" in d.log(), "file:line in the log")
        a = [d.submit_sleep(300) for _ in range(3)]
        d.wait_state(a[0], "running")
        eq(stats(d)["jobs"]["running"], 2, "limit 2 still in force")
        # a key that needs a restart is reported, not applied
        write(path, "[daemon]\nlimit = 2\n[endpoints]\n"
                    "url = ipc:///tmp/elsewhere.sock\n")
        d.signal(signal.SIGHUP)
        poll_until(lambda: "takes effect after a restart" in d.log(), 10,
                   what="restart-only key reported")
        check("url changed to 'ipc:///tmp/elsewhere.sock'" in d.log(),
              "the log names the key")
        eq(d.ok({"op": "ping"})["ok"], True, "still on the old endpoint")
        d.wait_ids(a)


# -- logs --------------------------------------------------------------------

def log_lines(env):
    """Start a daemon with env, ping it, stop it; its stderr lines."""
    base = tempfile.mkdtemp(prefix="ajlog", dir="/tmp")
    e = clean_env(AIOJOBS_RUNDIR=base, AIOJOBS_STATE_DIR=base + "/state")
    e.update(env)
    p = subprocess.Popen([harness.AIOJOBSD, "--workers", "0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e, text=True)
    try:
        url = "ipc://%s/aiojobsd.sock" % base
        deadline = time.monotonic() + 10
        while True:
            try:
                with harness.ReqClient(url) as c:
                    if c.request({"op": "ping"}, timeout_ms=250)["ok"]:
                        break
            except TimeoutError:
                pass
            check(time.monotonic() < deadline and p.poll() is None,
                  "daemon not ready")
            time.sleep(0.02)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return [ln for ln in err.splitlines() if ln]


def test_log_lines_under_journal_and_plain():
    lines = log_lines({"JOURNAL_STREAM": "8:12345"})
    check(len(lines) >= 3, "some log lines: %r", lines)
    for ln in lines:
        check(re.match(r"^<[0-7]>\S", ln), "journal line %r", ln)
    check(any(ln.startswith("<6>") for ln in lines), "info lines are <6>")
    lines = log_lines({})
    for ln in lines:
        check(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} "
                       r"aiojobsd\[\d+\]: ", ln), "plain line %r", ln)
    lines = log_lines({"AIOJOBS_CONFIG": conf_file(
        "[daemon]\nlog_level = warn\n")})
    eq(lines, [], "log_level warn: no info lines")


if __name__ == "__main__":
    main()
