"""Benchmark of the cpu kind (the worker pool), in one invocation:

(a) dispatch rate: N trivial cpu jobs (crashy.echo of an integer, or the
    built-in primes below 2 when the test plugins are not built) on a
    `--workers 2` daemon, submitted 1000 per request by the C load
    generator (`aiojobs_load cpu N`), timed until every result is back
    at the client; against concurrent.futures'
    ProcessPoolExecutor(max_workers=2) mapping an identity function over
    range(N) with chunksize=1. Target: aiojobsd >= 5x the executor.
(b) parallel efficiency: sha256 of a 64 MiB file, HEAVY times, on a
    `--workers 1` daemon (t1) and a `--workers 2` daemon (t2):
    efficiency t1 / (2 * t2), target >= 95%; the executor's efficiency
    for hashlib.sha256 of the same file, for reference.

Both pools are started and warm before the clock starts. The two sides
alternate, ROUNDS times, and medians are compared.

usage: bench_cpu.py AIOJOBSD [--quick] [N [HEAVY]]   (defaults 100000 and
50, 3 rounds; --quick: 10000 and 10, 2 rounds; exit 0 always: this is a
measurement, not a test)"""

import concurrent.futures
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

RATIO_TARGET = 5.0
EFFICIENCY_TARGET = 0.95
ROUNDS = 3
BATCH = 1000
HEAVY_BYTES = 64 << 20


def echo(x):
    return x


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def test_plugin_dir():
    """Where crashy.so is: $AIOJOBS_TEST_PLUGIN_DIR or the build tree."""
    d = os.environ.get("AIOJOBS_TEST_PLUGIN_DIR", os.path.join(
        os.path.dirname(os.path.dirname(harness.AIOJOBSD)), "tests",
        "plugins"))
    return d if os.path.exists(os.path.join(d, "crashy.so")) else None


def pool_ready(d, workers):
    """Every worker is up: as many jobs as workers run at the same time
    (which also loads the plugin in each)."""
    while True:
        ids = d.ok({"op": "submit", "jobs": [
            {"kind": "cpu", "args": {"fn": "spin", "input": {"ms": 50}}}]
            * workers})["ids"]
        done = d.wait_ids(ids)["done"]
        if (all(v["state"] == "succeeded" for v in done)
                and harness.max_overlap([(v["started_at"], v["finished_at"])
                                         for v in done]) == workers):
            return


def run_jobs(d, specs_of, n, check):
    """Submit n jobs BATCH per request, wait for all of them a batch at
    a time; check(i, view) each. Returns the seconds from the first
    submit to the last result."""
    with harness.ReqClient(d.url, rcvmaxsize=-1) as c:
        t0 = time.monotonic()
        batches = []
        for b in range(0, n, BATCH):
            r = c.request({"op": "submit",
                           "jobs": [specs_of(i) for i in
                                    range(b, min(n, b + BATCH))]},
                          timeout_ms=60000)
            if r.get("ok") is not True:
                raise SystemExit("submit failed: %s" % r)
            batches.append((b, r["ids"]))
        for b, ids in batches:
            while True:
                r = c.request({"op": "wait", "ids": ids,
                               "timeout_ms": 60000}, timeout_ms=65000)
                if not r["pending"]:
                    break
            for k, v in enumerate(r["done"]):
                check(b + k, v)
        return time.monotonic() - t0


def daemon_dispatch(n, plugins):
    """Jobs/s of n trivial jobs, driven by aiojobs_load (in C, so that
    the client's own cost stays out of the daemon's figure): it submits
    them BATCH per request, waits for every result and checks each
    echo."""
    args = ["--workers", "2", "-q"]
    if plugins is not None:
        args += ["--plugin-dir", plugins]
    load = ["cpu", n, "--batch", BATCH]
    if plugins is not None:
        load += ["--fn", "crashy.echo"]
    else:
        load += ["--fn", "primes", "--input", '{"below":2}']
    with harness.Daemon(*args) as d:
        pool_ready(d, 2)
        r = benchlib.run_load(load, daemon=d, timeout=600)
    return r["cpu.rate"]


def executor_dispatch(n):
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as ex:
        list(ex.map(echo, range(4)))           # workers started
        t0 = time.monotonic()
        out = list(ex.map(echo, range(n), chunksize=1))
        elapsed = time.monotonic() - t0
    if out != list(range(n)):
        raise SystemExit("executor results differ")
    return n / elapsed


def daemon_heavy(workers, path, jobs, hexdigest):
    with harness.Daemon("--workers", workers, "-q") as d:
        pool_ready(d, workers)
        spec = {"kind": "cpu", "args": {"fn": "sha256",
                                        "input": {"path": path}}}

        def check(i, v):
            if (v["state"] != "succeeded"
                    or v["result"] != {"hex": hexdigest,
                                       "bytes": HEAVY_BYTES}):
                raise SystemExit("sha256 job %d: %s %s %s" % (
                    i, v["state"], v["error"], v["result"]))
        return run_jobs(d, lambda i: spec, jobs, check)


def executor_heavy(workers, path, jobs, hexdigest):
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as ex:
        list(ex.map(echo, range(2 * workers)))
        t0 = time.monotonic()
        out = list(ex.map(sha256_file, [path] * jobs, chunksize=1))
        elapsed = time.monotonic() - t0
    if out != [hexdigest] * jobs:
        raise SystemExit("executor sha256 differs")
    return elapsed


def bench_dispatch(n):
    if benchlib.load_path() is None:
        benchlib.skipped("cpu dispatch: %s trivial cpu jobs, 2 workers, "
                         "submit to last result" % benchlib.thousands(n),
                         "jobs/s", "aiojobs_load is not built",
                         baseline="ProcessPoolExecutor(2).map, chunksize=1",
                         target=">= %gx" % RATIO_TARGET)
        return
    plugins = test_plugin_dir()
    what = "crashy.echo(i)" if plugins else "primes below 2"
    ours_all, base_all = [], []
    for _ in range(ROUNDS):
        base_all.append(executor_dispatch(n))
        ours_all.append(daemon_dispatch(n, plugins))
    base = statistics.median(base_all)
    ours = statistics.median(ours_all)
    print("(a) %d trivial jobs, 2 workers, medians of %d rounds" % (n, ROUNDS))
    print("    ProcessPoolExecutor map chunksize=1: %8.0f tasks/s  %s"
          % (base, " ".join("%.0f" % r for r in base_all)))
    print("    aiojobsd cpu %-22s %8.0f jobs/s   %s"
          % (what + ":", ours, " ".join("%.0f" % r for r in ours_all)))
    ratio = ours / base
    print("    ratio %.2f (target >= %.1f): %s" % (
        ratio, RATIO_TARGET, "met" if ratio >= RATIO_TARGET else "NOT met"))
    sys.stdout.flush()
    benchlib.result("cpu dispatch: %s trivial cpu jobs (%s), 2 workers, "
                    "submit to last result" % (benchlib.thousands(n), what),
                    ours, "jobs/s",
                    "ProcessPoolExecutor(2).map, chunksize=1", base,
                    ">= %gx" % RATIO_TARGET)


def bench_heavy(jobs):
    tmp = tempfile.mkdtemp(prefix="ajbench", dir="/tmp")
    try:
        path = os.path.join(tmp, "blob")
        with open(path, "wb") as f:
            for _ in range(HEAVY_BYTES >> 20):
                f.write(os.urandom(1 << 20))
        hexdigest = sha256_file(path)          # and in the page cache
        t = {k: [] for k in ("d1", "d2", "e1", "e2")}
        for _ in range(ROUNDS):
            t["d1"].append(daemon_heavy(1, path, jobs, hexdigest))
            t["d2"].append(daemon_heavy(2, path, jobs, hexdigest))
            t["e1"].append(executor_heavy(1, path, jobs, hexdigest))
            t["e2"].append(executor_heavy(2, path, jobs, hexdigest))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m = {k: statistics.median(v) for k, v in t.items()}
    ours = m["d1"] / (2 * m["d2"])
    base = m["e1"] / (2 * m["e2"])
    print("(b) sha256 of a 64 MiB file x %d, medians of %d rounds" % (
        jobs, ROUNDS))
    print("    aiojobsd 1 worker %.3f s, 2 workers %.3f s: efficiency "
          "%.1f%% (target >= %.0f%%): %s" % (
              m["d1"], m["d2"], 100 * ours, 100 * EFFICIENCY_TARGET,
              "met" if ours >= EFFICIENCY_TARGET else "NOT met"))
    print("    ProcessPoolExecutor 1 worker %.3f s, 2 workers %.3f s: "
          "efficiency %.1f%% (reference)" % (m["e1"], m["e2"], 100 * base))
    print("    rounds: %s" % "; ".join(
        "%s %s" % (k, " ".join("%.3f" % x for x in v))
        for k, v in t.items()))
    benchlib.result("cpu parallel efficiency: sha256 of 64 MiB x %d, "
                    "1 vs 2 workers" % jobs, 100 * ours, "%",
                    "ProcessPoolExecutor 1 vs 2 workers", 100 * base,
                    ">= %g%%" % (100 * EFFICIENCY_TARGET),
                    note="efficiency t1 / (2 t2) of the median times: "
                    "aiojobsd 1 worker %.3f s, 2 workers %.3f s; the "
                    "executor %.3f s, %.3f s"
                    % (m["d1"], m["d2"], m["e1"], m["e2"]))


def main():
    global ROUNDS
    quick, args = benchlib.options(
        "bench_cpu.py AIOJOBSD [--quick] [N [HEAVY]]")
    n = int(args[0]) if args else (10000 if quick else 100000)
    heavy = int(args[1]) if len(args) > 1 else (10 if quick else 50)
    if quick:
        ROUNDS = 2
    print("%d CPUs online, load average %.2f" % (
        os.cpu_count(), os.getloadavg()[0]))
    t0 = time.monotonic()
    bench_dispatch(n)
    bench_heavy(heavy)
    print("bench time %.0f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
