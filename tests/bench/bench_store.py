"""Benchmark: submit throughput of the durable job store, against Debian's
beanstalkd measured in the same run, and the daemon's peak memory with
many queued jobs.

* aiojobsd, --durability safe and fast, jobs on a paused queue (nothing
  runs): single submits (one request per job, sequential, one client) and
  batched submits (1,000 jobs per request). The client is Python: a ctypes
  nanomsg REQ socket (the harness binding), one socket for the whole run.
  Each job carries a random idempotency key, as the C client library adds.
* beanstalkd (Debian package; installed with apt-get when missing and run
  as root), on 127.0.0.1, with a binlog (-b DIR), with a binlog fsynced on
  every write (-b DIR -f 0) and without a binlog: pipelined puts (every put
  sent without waiting, the replies read by a second thread) and
  unpipelined puts (one put, wait for its reply), from a raw Python socket.
* VmHWM of aiojobsd after queueing PEAK_JOBS jobs on a paused queue, and
  how long a restart takes to bring them back.

Targets (the issue's): batched submits (safe) >= 5x beanstalkd's pipelined
put rate; single submits (safe) >= beanstalkd's unpipelined put rate with
the same kind of client.

usage: bench_store.py AIOJOBSD [PEAK_JOBS]   (default 1000000; exit 0
always: this is a measurement, not a test)"""

import ctypes
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402
from harness import NN  # noqa: E402

ROUNDS = 3
SINGLE = 3000           # single submits / unpipelined puts per round
BATCHES = 20            # batched submits per round (x BATCH jobs)
BATCH = 1000
PIPELINED = 20000       # pipelined puts per round
BATCH_TARGET = 5.0
SINGLE_TARGET = 1.0
BODY = b'{"kind":"sleep","args":{"ms":1000},"queue":"bench"}'
PEAK_BODY = (b'{"kind":"sleep","args":{"ms":1000},"queue":"bench",'
             b'"delay_ms":864000000}')


class FastReq:
    """A REQ socket with its options set once: request(bytes) -> bytes."""

    def __init__(self, url):
        self.lib = NN.lib()
        self.s = self.lib.nn_socket(NN.AF_SP, NN.NN_REQ)
        for level, opt, v in ((NN.NN_REQ, NN.NN_REQ_RESEND_IVL, NN.INT_MAX),
                              (NN.NN_SOL_SOCKET, NN.NN_SNDTIMEO, 60000),
                              (NN.NN_SOL_SOCKET, NN.NN_RCVTIMEO, 60000),
                              (NN.NN_SOL_SOCKET, NN.NN_RCVMAXSIZE, -1)):
            c = ctypes.c_int(v)
            self.lib.nn_setsockopt(self.s, level, opt, ctypes.byref(c),
                                   ctypes.sizeof(c))
        if self.lib.nn_connect(self.s, url.encode()) < 0:
            raise NN.error("nn_connect")
        self.ptr = ctypes.c_void_p()

    def request(self, data):
        if self.lib.nn_send(self.s, data, len(data), 0) < 0:
            raise NN.error("nn_send")
        n = self.lib.nn_recv(self.s, ctypes.byref(self.ptr), NN.NN_MSG, 0)
        if n < 0:
            raise NN.error("nn_recv")
        reply = ctypes.string_at(self.ptr, n)
        self.lib.nn_freemsg(self.ptr)
        if not reply.startswith(b'{"ok":true'):
            raise RuntimeError("not ok: %r" % reply[:300])
        return reply

    def close(self):
        self.lib.nn_close(self.s)


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
    """(single submits/s, batched jobs/s, pings/s) of one daemon."""
    singles = single_requests(SINGLE)
    batches = batch_requests(BATCHES, BATCH)
    with harness.Daemon("-q", "--durability", mode) as d:
        d.ok({"op": "queue", "name": "bench", "action": "pause"})
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


def beanstalkd_path():
    path = shutil.which("beanstalkd")
    if path is not None:
        return path
    if os.geteuid() != 0:
        print("beanstalkd is not installed: run 'apt-get install -y "
              "beanstalkd' as root for the comparison")
        return None
    print("installing beanstalkd (apt-get install -y beanstalkd)")
    cmd = ["apt-get", "install", "-y", "-q", "beanstalkd"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env,
                       capture_output=True)
        subprocess.run(cmd, env=env, capture_output=True)
    path = shutil.which("beanstalkd")
    if path is None:
        print("could not install beanstalkd; no comparison")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Beanstalkd:
    def __init__(self, exe, args):
        self.exe = exe
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="ajbs", dir="/tmp")
        self.port = free_port()

    def __enter__(self):
        args = [a.replace("DIR", self.dir) for a in self.args]
        self.proc = subprocess.Popen([self.exe, "-l", "127.0.0.1", "-p",
                                      str(self.port)] + args,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("beanstalkd did not start")
                time.sleep(0.02)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


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
    with Beanstalkd(exe, args) as bs:
        return bs_pipelined(bs, PIPELINED), bs_unpipelined(bs, SINGLE)


# ---------------------------------------------------------------------------
# peak memory
# ---------------------------------------------------------------------------


def proc_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


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


# ---------------------------------------------------------------------------


def med(xs):
    return statistics.median(xs)


def main():
    harness.AIOJOBSD = os.path.abspath(sys.argv[1])
    peak_jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    t_start = time.monotonic()
    exe = beanstalkd_path()
    configs = [("binlog -b", ["-b", "DIR"]),
               ("binlog -b -f 0 (fsync)", ["-b", "DIR", "-f", "0"]),
               ("no binlog", [])]
    ours = {"safe": ([], [], []), "fast": ([], [], [])}
    theirs = {name: ([], []) for name, _ in configs}
    for _ in range(ROUNDS):
        for mode in ours:
            for i, v in enumerate(aiojobsd_rates(mode)):
                ours[mode][i].append(v)
        if exe is None:
            continue
        for name, args in configs:
            p, u = beanstalkd_rates(exe, args)
            theirs[name][0].append(p)
            theirs[name][1].append(u)
    print("median of %d rounds; Python clients (ctypes nanomsg REQ for "
          "aiojobsd, a raw socket for beanstalkd)" % ROUNDS)
    for mode, (s, b, p) in ours.items():
        print("aiojobsd --durability %-4s ping round trips: %7.0f /s "
              "(the client's and transport's own limit)" % (mode, med(p)))
        print("aiojobsd --durability %-4s single submits:  %8.0f jobs/s"
              % (mode, med(s)))
        print("aiojobsd --durability %-4s batched (1000):  %8.0f jobs/s"
              % (mode, med(b)))
    if exe is not None:
        for name, (p, u) in theirs.items():
            print("beanstalkd %-22s pipelined puts:   %8.0f jobs/s"
                  % (name, med(p)))
            print("beanstalkd %-22s unpipelined puts: %8.0f jobs/s"
                  % (name, med(u)))
        safe_s, safe_b = med(ours["safe"][0]), med(ours["safe"][1])
        for name, (p, u) in theirs.items():
            print("vs beanstalkd %s: batched safe / pipelined = %.2fx "
                  "(target >= %.0fx: %s); single safe / unpipelined = "
                  "%.2fx (target >= %.0fx: %s)"
                  % (name, safe_b / med(p), BATCH_TARGET,
                     "met" if safe_b / med(p) >= BATCH_TARGET else "NOT met",
                     safe_s / med(u), SINGLE_TARGET,
                     "met" if safe_s / med(u) >= SINGLE_TARGET else
                     "NOT met"))
    if peak_jobs > 0:
        peak_memory(peak_jobs)
    print("bench took %.0f s" % (time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
