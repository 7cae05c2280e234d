"""Benchmark: many clients submitting at once, against the transport's own
floor with as many clients, measured in the same run.

* aiojobsd, --durability safe and fast, jobs on a paused queue (nothing
  runs): CLIENTS clients on connections of their own, started together,
  each sending its share of single submits (one job a request, the next
  once the last is answered, each with an idempotency key), by the C load
  generator (`aiojobs_load submit N --clients 16 --keys`). In safe mode a
  reply may leave only after the fsync that made its job durable, so the
  total rate says how well the clients share commits: the daemon's own
  count of commits (`--metrics-listen`) gives the jobs a commit carried.
  One client alone, safe, for reference: group commit makes the 16
  together many times faster than one.
* the floor: `sp_floor N 16`: 16 clients' round trips through the
  daemon's own transport modules and loop, to a server that answers at
  once and does nothing else: the most requests a second 16 clients get
  through on this machine, before any work.

Target (issue 19): 16 clients of single safe submits, in all >= 0.6x the
transport floor with 16 clients. fast is held to the same (it does less).

usage: bench_clients.py AIOJOBSD [--quick]   (3 rounds of 1,000 submits a
client; --quick: 1 round of 250; exit 0 always: this is a measurement,
not a test)"""

import os
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness, median, result, say, thousands  # noqa: E402

CLIENTS = 16
ROUNDS = 3
PER_CLIENT = 1000       # submits a client a round
ALONE = 2000            # submits of the one client alone
FLOOR_N = 40000         # sp_floor round trips in all
TARGET = ">= 0.6x"
COMMITS = "aiojobsd_store_commit_duration_seconds_count"


def commits(port):
    """How many store commits the daemon has made (its metrics)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(COMMITS + " "):
                return float(line.split()[1])
    raise RuntimeError("no %s in the metrics" % COMMITS)


def aiojobsd_rate(mode, clients, n):
    """(jobs/s, jobs per commit) of n submits from clients clients."""
    port = benchlib.free_port()
    with harness.Daemon("-q", "--durability", mode, "--workers", "0",
                        "--metrics-listen", "127.0.0.1:%d" % port) as d:
        before = commits(port)
        r = benchlib.run_load(["submit", n, "--clients", clients, "--keys"],
                              daemon=d, timeout=120)
        done = commits(port) - before
    # the queue's pause is one commit of its own
    return r["submit.rate"], n / max(done - 1, 1)


def floor_rate(clients, n):
    exe = benchlib.tool("sp_floor")
    if exe is None:
        return None
    return benchlib.run_tool([exe, str(n), str(clients)],
                             timeout=120)["floor.clients.rate"]


def main():
    global ROUNDS, PER_CLIENT, ALONE, FLOOR_N
    quick, _ = benchlib.options("bench_clients.py AIOJOBSD [--quick]")
    if quick:
        ROUNDS, PER_CLIENT, ALONE, FLOOR_N = 1, 250, 500, 10000
    t0 = time.monotonic()
    n = CLIENTS * PER_CLIENT
    workload = ("submit throughput, %d clients at once, single submits "
                "(1 job/request, each client sequential), --durability %%s"
                % CLIENTS)
    floor_name = ("transport floor with %d clients: concurrent REQ/REP "
                  "round trips, no daemon (sp_floor N %d)"
                  % (CLIENTS, CLIENTS))
    if benchlib.load_path() is None or benchlib.tool("sp_floor") is None:
        for mode in ("safe", "fast"):
            benchlib.skipped(workload % mode, "jobs/s",
                             "aiojobs_load or sp_floor is not built",
                             target=TARGET)
        return 0
    runs = {"safe": [], "fast": [], "alone": [], "floor": [], "floor1": []}
    for _ in range(ROUNDS):
        runs["floor"].append(floor_rate(CLIENTS, FLOOR_N))
        runs["floor1"].append(floor_rate(1, FLOOR_N // 4))
        for mode in ("safe", "fast"):
            runs[mode].append(aiojobsd_rate(mode, CLIENTS, n))
        runs["alone"].append(aiojobsd_rate("safe", 1, ALONE))
    floor = median(runs["floor"])
    floor1 = median(runs["floor1"])
    alone = median(r[0] for r in runs["alone"])
    say("median of %d round(s), %s submits from %d clients, %s from one",
        ROUNDS, thousands(n), CLIENTS, thousands(ALONE))
    say("  sp_floor, %2d clients: %8.0f requests/s  (%s)", CLIENTS, floor,
        " ".join("%.0f" % x for x in runs["floor"]))
    say("  sp_floor,  1 client:  %8.0f requests/s  (%s)", floor1,
        " ".join("%.0f" % x for x in runs["floor1"]))
    for mode in ("safe", "fast", "alone"):
        say("  aiojobsd %-5s %s: %8.0f jobs/s, %.1f jobs a commit  (%s)",
            "safe" if mode == "alone" else mode,
            "1 client  " if mode == "alone" else "%d clients" % CLIENTS,
            median(r[0] for r in runs[mode]),
            median(r[1] for r in runs[mode]),
            " ".join("%.0f" % r[0] for r in runs[mode]))
    for mode in ("safe", "fast"):
        rate = median(r[0] for r in runs[mode])
        per_commit = median(r[1] for r in runs[mode])
        note = ("%.1f jobs a store commit; one client alone, safe: %.0f "
                "jobs/s (%.1f jobs a commit), so %d clients get %.1f times "
                "its rate" % (per_commit, alone,
                              median(r[1] for r in runs["alone"]),
                              CLIENTS, rate / alone))
        if mode == "fast":
            note = ("reference: the weaker durability, held to the safe "
                    "target; %.1f jobs a store commit" % per_commit)
        result(workload % mode, rate, "jobs/s",
               "transport floor with %d clients (sp_floor N %d)"
               % (CLIENTS, CLIENTS), floor, TARGET, note)
    result(floor_name, floor, "requests/s",
           "the same floor with one client", floor1,
           note="reference: the most requests a second %d clients get "
           "through the transport and the server's one loop; the ratio "
           "is how far the transport itself scales with clients" % CLIENTS)
    say("bench took %.0f s", time.monotonic() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
