"""Benchmark: submit throughput of the durable job store, against the
floors of the store and of the transport measured in the same run, with
Debian's beanstalkd for reference; and the daemon's peak memory with many
queued jobs.

* aiojobsd, --durability safe and fast, jobs on paused queues (nothing
  runs): single submits (one request per job, sequential, one client) and
  batched submits (1,000 jobs per request), by the C load generator
  (`aiojobs_load submit N [--batch 1000]`, the C client library: each job
  carries a random idempotency key).
* the floors, with no daemon, in every round right after the daemons:
  `store_floor` writes rows through the daemon's own store module alone,
  safe, 1,000 a transaction (as many rows as the batched submits) and one
  a transaction (as many as the single submits): the most a daemon
  keeping a row a job in this store could accept; `sp_floor N 1`, one
  client's sequential REQ/REP round trips (a request of a one-job
  submit's size) through the daemon's own transport modules and loop to a
  server that answers at once: the most sequential requests one client
  gets through the transport, before any work. A safe single submit
  needs both, one after the other, so its floor is their serial
  combination, 1 / (1/transport + 1/store one row a transaction).
* beanstalkd (Debian package; installed with apt-get when missing), on
  127.0.0.1, with a binlog (-b DIR: fsync at most every 50 ms, its
  default), with a binlog fsynced on every write (-b DIR -f 0) and
  without a binlog: pipelined puts (`aiojobs_load bs-put N --pipeline`)
  and unpipelined puts (one put, wait for its reply: `bs-put N`), so both
  sides use the same C client. Reference rows only (no target).
* VmHWM of aiojobsd after queueing PEAK_JOBS jobs on a paused queue (filled
  from Python, 1,000 per request), and how long a restart takes to bring
  them back.

When aiojobs_load is not built, Python clients stand in (a ctypes NNG
REQ socket for aiojobsd, a raw socket for beanstalkd) and the lines say so.

Targets (issue 19), medians of the rounds: batched submits (safe) >= 0.5x
store_floor's batched rows/s; single submits, fast >= 0.8x the transport
floor's requests/s, safe >= 0.8x the serial combination of the transport
floor and store_floor one row a transaction; VmHWM with 1,000,000 queued
jobs <= 512 MiB. Batched fast submits are a reference row against the
same floor as safe.

usage: bench_store.py AIOJOBSD [--quick] [PEAK_JOBS]   (default 1000000,
3 rounds; --quick: 100000, 2 rounds and fewer jobs; exit 0 always: this
is a measurement, not a test)"""

import ctypes
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness, Beanstalkd, result  # noqa: E402
from harness import NN  # noqa: E402

ROUNDS = 3
SINGLE = 3000           # single submits / unpipelined puts per round
BATCHES = 50            # batched submits per round (x BATCH jobs)
BATCH = 1000
PIPELINED = 50000       # pipelined puts per round
BATCH_TARGET = ">= 0.5x"        # of store_floor, 1,000 a transaction
SINGLE_TARGET = ">= 0.8x"       # of the transport floor (fast), of it
                                # and store_floor one a transaction (safe)
FLOOR_RTT = 10000       # sp_floor round trips a round (one client)
PEAK_TARGET_MIB = 512
PEAK_TARGET_JOBS = 1000000
USE_LOAD = True         # aiojobs_load found (else the Python clients)
BODY = b'{"kind":"sleep","args":{"ms":1000},"queue":"bench"}'
PEAK_BODY = (b'{"kind":"sleep","args":{"ms":1000},"queue":"bench",'
             b'"delay_ms":864000000}')


class FastReq:
    """A REQ socket with its options set once: request(bytes) -> bytes."""

    def __init__(self, url):
        self.lib = NN.lib()
        self.s = harness._NNGSocket()
        NN.check("nng_req0_open", self.lib.nng_req0_open(ctypes.byref(self.s)))
        for name, v in (("req:resend-time", NN.DURATION_MAX),
                        ("send-timeout", 60000), ("recv-timeout", 60000)):
            self.lib.nng_socket_set_ms(self.s, name.encode(), v)
        self.lib.nng_socket_set_size(self.s, b"recv-size-max",
                                     NN.RECV_SIZE_UNLIMITED)
        NN.check("nng_dial", self.lib.nng_dial(self.s, url.encode(), None,
                                               NN.FLAG_NONBLOCK))
        self.ptr = ctypes.c_void_p()
        self.size = ctypes.c_size_t()

    def request(self, data):
        NN.check("nng_send", self.lib.nng_send(self.s, data, len(data), 0))
        NN.check("nng_recv", self.lib.nng_recv(
            self.s, ctypes.byref(self.ptr), ctypes.byref(self.size),
            NN.FLAG_ALLOC))
        reply = ctypes.string_at(self.ptr, self.size.value)
        self.lib.nng_free(self.ptr, self.size)
        if not reply.startswith(b'{"ok":true'):
            raise RuntimeError("not ok: %r" % reply[:300])
        return reply

    def close(self):
        self.lib.nng_close(self.s)


def job(key, body=BODY):
    return body[:-1] + b',"key":"' + key.encode() + b'"}'


def single_requests(n):
    return [b'{"op":"submit","job":' + job(uuid.uuid4().hex) + b"}"
            for _ in range(n)]


def batch_requests(batches, size, body=BODY):
    return [b'{"op":"submit","jobs":[' +
            b",".join(job(uuid.uuid4().hex, body) for _ in range(size)) +
            b"]}" for _ in range(batches)]


def timed(c, reqs, jobs):
    t0 = time.monotonic()
    for r in reqs:
        c.request(r)
    return jobs / (time.monotonic() - t0)


def aiojobsd_rates(mode):
    """(single submits/s, batched jobs/s, pings/s or None) of one daemon."""
    if not USE_LOAD:
        singles = single_requests(SINGLE)
        batches = batch_requests(BATCHES, BATCH)
    with harness.Daemon("-q", "--durability", mode, "--workers", "0") as d:
        for q in ("default", "bench"):
            d.ok({"op": "queue", "name": q, "action": "pause"})
        if USE_LOAD:
            s = benchlib.run_load(["submit", SINGLE, "--keys"],
                                  daemon=d)["submit.rate"]
            b = benchlib.run_load(["submit", BATCHES * BATCH, "--batch",
                                   BATCH, "--keys"], daemon=d)["submit.rate"]
            return s, b, None
        c = FastReq(d.url)
        try:
            p = timed(c, [b'{"op":"ping"}'] * SINGLE, SINGLE)
            s = timed(c, singles, SINGLE)
            b = timed(c, batches, BATCHES * BATCH)
        finally:
            c.close()
    return s, b, p


# ---------------------------------------------------------------------------
# beanstalkd
# ---------------------------------------------------------------------------


def put_cmd():
    return b"put 0 0 60 %d\r\n%s\r\n" % (len(BODY), BODY)


def read_replies(s, n, out):
    """Read n "INSERTED id" lines."""
    buf = b""
    got = 0
    while got < n:
        data = s.recv(1 << 20)
        if not data:
            raise RuntimeError("beanstalkd closed the connection")
        buf += data
        lines = buf.split(b"\r\n")
        buf = lines.pop()
        for line in lines:
            if not line.startswith(b"INSERTED"):
                raise RuntimeError("beanstalkd: %r" % line)
        got += len(lines)
    out.append(got)


def bs_unpipelined(bs, n):
    s = bs.connect()
    cmd = put_cmd()
    try:
        t0 = time.monotonic()
        for _ in range(n):
            s.sendall(cmd)
            reply = s.recv(64)
            while not reply.endswith(b"\r\n"):
                reply += s.recv(64)
            if not reply.startswith(b"INSERTED"):
                raise RuntimeError("beanstalkd: %r" % reply)
        return n / (time.monotonic() - t0)
    finally:
        s.close()


def bs_pipelined(bs, n):
    s = bs.connect()
    data = put_cmd() * n
    done = []
    try:
        reader = threading.Thread(target=read_replies, args=(s, n, done))
        t0 = time.monotonic()
        reader.start()
        s.sendall(data)
        reader.join(120)
        if not done:
            raise RuntimeError("pipelined replies incomplete")
        return n / (time.monotonic() - t0)
    finally:
        s.close()


def beanstalkd_rates(exe, args):
    """(pipelined puts/s, unpipelined puts/s) of one beanstalkd."""
    with Beanstalkd(exe, args) as bs:
        if USE_LOAD:
            return (benchlib.run_load(["bs-put", PIPELINED, "--pipeline"],
                                      bs_port=bs.port)["bs_put.rate"],
                    benchlib.run_load(["bs-put", SINGLE],
                                      bs_port=bs.port)["bs_put.rate"])
        return bs_pipelined(bs, PIPELINED), bs_unpipelined(bs, SINGLE)


# ---------------------------------------------------------------------------
# peak memory
# ---------------------------------------------------------------------------


proc_kib = benchlib.proc_kib


def peak_memory(n):
    sd = tempfile.mkdtemp(prefix="ajpeak", dir="/tmp")
    try:
        t0 = time.monotonic()
        with harness.Daemon("-q", state_dir=sd) as d:
            d.ok({"op": "queue", "name": "bench", "action": "pause"})
            c = FastReq(d.url)
            try:
                left = n
                while left > 0:
                    k = min(BATCH, left)
                    c.request(batch_requests(1, k, PEAK_BODY)[0])
                    left -= k
            finally:
                c.close()
            fill = time.monotonic() - t0
            rss = proc_kib(d.pid, "VmRSS")
            hwm = proc_kib(d.pid, "VmHWM")
            db = os.path.getsize(os.path.join(sd, "jobs.db"))
        print("%d queued jobs on a paused queue: submitted in %.1f s "
              "(%.0f jobs/s in batches of %d), VmRSS %.0f MiB, VmHWM %.0f "
              "MiB (%.0f bytes/job), jobs.db %.0f MiB"
              % (n, fill, n / fill, BATCH, rss / 1024, hwm / 1024,
                 hwm * 1024 / n, db / 1048576))
        # (a restart does not keep the pause: the jobs' delay holds them)
        t0 = time.monotonic()
        with harness.Daemon("-q", state_dir=sd, ready_timeout=300) as d:
            ready = time.monotonic() - t0
            hwm2 = proc_kib(d.pid, "VmHWM")
            queued = d.ok({"op": "stats"})["jobs"]["queued"]
        print("restart with them: ready in %.1f s, %d queued, VmHWM %.0f MiB"
              % (ready, queued, hwm2 / 1024))
    finally:
        shutil.rmtree(sd, ignore_errors=True)
    full = n >= PEAK_TARGET_JOBS
    result("queued memory: %s jobs on a paused queue, safe"
           % benchlib.thousands(n),
           hwm / 1024, "MiB", target="<= %d MiB" % PEAK_TARGET_MIB
           if full else None,
           note="daemon VmHWM, %.0f bytes/job; restart ready in %.1f s%s"
           % (hwm * 1024 / n, ready, "" if full else
              "; the target is for %s jobs"
              % benchlib.thousands(PEAK_TARGET_JOBS)))


# ---------------------------------------------------------------------------


def floor_round():
    """{"batched": rows/s, "single": rows/s, "transport": requests/s} of
    one round of the floors, or None when they are not built."""
    nf = benchlib.tool("sp_floor")
    if benchlib.tool("store_floor") is None or nf is None:
        return None
    out = {}
    for key, n, batch in (("batched", BATCHES * BATCH, BATCH),
                          ("single", SINGLE, 1)):
        out[key] = benchlib.store_floor(n, batch, "safe")["store_floor.insert"]
    out["transport"] = benchlib.run_tool([nf, str(FLOOR_RTT), "1"])[
        "floor.clients.rate"]
    return out


def serial(*rates):
    """The rate of doing each of rates' work one after the other."""
    return 1 / sum(1 / r for r in rates)


def med(xs):
    return statistics.median(xs)


def main():
    global ROUNDS, SINGLE, BATCHES, PIPELINED, FLOOR_RTT, USE_LOAD
    quick, args = benchlib.options(
        "bench_store.py AIOJOBSD [--quick] [PEAK_JOBS]")
    peak_jobs = int(args[0]) if args else (100000 if quick else 1000000)
    if quick:
        ROUNDS, SINGLE, BATCHES, PIPELINED = 2, 1000, 10, 20000
        FLOOR_RTT = 2500
    USE_LOAD = benchlib.load_path() is not None
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    t_start = time.monotonic()
    exe = benchlib.beanstalkd_path()
    configs = [("binlog -b", ["-b", "DIR"]),
               ("binlog -b -f 0 (fsync)", ["-b", "DIR", "-f", "0"]),
               ("no binlog", [])]
    ours = {"safe": ([], [], []), "fast": ([], [], [])}
    theirs = {name: ([], []) for name, _ in configs}
    floors = []
    for _ in range(ROUNDS):
        for mode in ours:
            for i, v in enumerate(aiojobsd_rates(mode)):
                ours[mode][i].append(v)
        f = floor_round()
        if f is not None:
            floors.append(f)
        if exe is None:
            continue
        for name, args in configs:
            p, u = beanstalkd_rates(exe, args)
            theirs[name][0].append(p)
            theirs[name][1].append(u)
    client = ("the C client aiojobs_load for both" if USE_LOAD else
              "Python clients (ctypes NNG REQ for aiojobsd, a raw "
              "socket for beanstalkd): aiojobs_load is not built")
    print("median of %d rounds; %s" % (ROUNDS, client))
    for mode, (s, b, p) in ours.items():
        if p[0] is not None:
            print("aiojobsd --durability %-4s ping round trips: %7.0f /s "
                  "(the client's and transport's own limit)" % (mode, med(p)))
        print("aiojobsd --durability %-4s single submits:  %8.0f jobs/s"
              % (mode, med(s)))
        print("aiojobsd --durability %-4s batched (1000):  %8.0f jobs/s"
              % (mode, med(b)))
    fl = {k: med([f[k] for f in floors]) for k in floors[0]} if floors \
        else None
    if fl:
        fl["serial"] = serial(fl["transport"], fl["single"])
        print("store floor, safe, %d a transaction:      %8.0f rows/s"
              % (BATCH, fl["batched"]))
        print("store floor, safe, one a transaction:      %8.0f rows/s"
              % fl["single"])
        print("transport floor, one client:               %8.0f requests/s"
              % fl["transport"])
        print("the two, one after the other:              %8.0f /s"
              % fl["serial"])
    if exe is not None:
        for name, (p, u) in theirs.items():
            print("beanstalkd %-22s pipelined puts:   %8.0f jobs/s"
                  % (name, med(p)))
            print("beanstalkd %-22s unpipelined puts: %8.0f jobs/s"
                  % (name, med(u)))
    sys.stdout.flush()

    def note(*parts):
        if not USE_LOAD:
            parts += ("Python clients: aiojobs_load not built",)
        if not fl:
            parts += ("not judged: store_floor or sp_floor is not built",)
        return "; ".join(x for x in parts if x) or None

    batched_floor = ("store floor: store_floor inserts, 1,000 a "
                     "transaction, safe (no daemon)")
    single_floor = {
        "safe": "transport floor and store floor one row a transaction "
                "(safe), in series: 1 / (1/transport + 1/store)",
        "fast": "transport floor: one client's sequential REQ/REP round "
                "trips, no daemon (sp_floor N 1)"}
    for mode in ("safe", "fast"):
        s, b, _ = ours[mode]
        result("submit throughput, batched (1,000 jobs/request), "
               "--durability %s" % mode, med(b), "jobs/s", batched_floor,
               fl and fl["batched"],
               BATCH_TARGET if mode == "safe" else None,
               note("" if mode == "safe" else "reference: the weaker "
                    "durability, against the safe store floor"))
        result("submit throughput, single (1 job/request, sequential), "
               "--durability %s" % mode, med(s), "jobs/s",
               single_floor[mode],
               fl and fl["serial" if mode == "safe" else "transport"],
               SINGLE_TARGET,
               note("store floor one a transaction %.0f rows/s, transport "
                    "floor %.0f requests/s" % (fl["single"],
                                               fl["transport"])
                    if fl and mode == "safe" else ""))
    if exe is not None:
        base = theirs["binlog -b"]
        fsync = theirs["binlog -b -f 0 (fsync)"]
        result("submit throughput, batched (1,000 jobs/request), "
               "--durability safe, vs beanstalkd", med(ours["safe"][1]),
               "jobs/s", "beanstalkd -b (binlog), pipelined puts",
               med(base[0]), note="reference: beanstalkd -b fsyncs at "
               "most every 50 ms")
        result("submit throughput, single (1 job/request, sequential), "
               "--durability safe, vs beanstalkd", med(ours["safe"][0]),
               "jobs/s", "beanstalkd -b (binlog), unpipelined puts",
               med(base[1]), note="reference: the same kind of client")
        result("submit throughput, batched (1,000 jobs/request), "
               "--durability safe, vs the same durability",
               med(ours["safe"][1]), "jobs/s",
               "beanstalkd -b -f 0 (binlog fsynced every write), "
               "pipelined puts", med(fsync[0]),
               note="reference: safe fsyncs every commit, as -f 0 does")
    if fl:
        bs = theirs["binlog -b"] if exe is not None else None
        result("store floor: inserts through the job store alone (no "
               "daemon), 1,000 a transaction, safe", fl["batched"],
               "rows/s", bs and "beanstalkd -b (binlog), pipelined puts",
               bs and med(bs[0]), None,
               "reference: no daemon keeping a row a job in this store "
               "accepts more; the batched target asks %.0f jobs/s"
               % (0.5 * fl["batched"]))
        result("store floor: inserts through the job store alone (no "
               "daemon), one a transaction, safe", fl["single"], "rows/s",
               bs and "beanstalkd -b (binlog), unpipelined puts",
               bs and med(bs[1]), None, "reference: one fsync a job, as a "
               "safe single submit needs; beanstalkd -b fsyncs at most "
               "every 50 ms")
        result("transport floor: one client's sequential REQ/REP round "
               "trips, no daemon (sp_floor N 1)", fl["transport"],
               "requests/s",
               bs and "beanstalkd -b (binlog), unpipelined puts",
               bs and med(bs[1]), None, "reference: the most single "
               "submits one client gets through the SP transport, before "
               "any work; the single targets ask %.0f (fast) and %.0f "
               "(safe) jobs/s" % (0.8 * fl["transport"],
                                  0.8 * fl["serial"]))
    if peak_jobs > 0:
        peak_memory(peak_jobs)
    print("bench took %.0f s" % (time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
