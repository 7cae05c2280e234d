"""Benchmark of the http kind, in one invocation: N requests to a local
server (an asyncio HTTP server in a process of its own, answering every
request with the same small response and closing the connection) at
concurrency C, by

(a) aiojobsd: `--limit C`, http jobs submitted BATCH per request, timed
    from the first submit until every result is back at the client;
    peak RSS is the daemon's VmHWM;
(b) Python asyncio doing the same with raw streams (open_connection,
    write a GET, read to EOF, a semaphore of C), in a process of its own
    so that its peak RSS (ru_maxrss) is its own.

The two alternate, ROUNDS times; medians are reported.

No target: the figures are reported (RESULT lines without a target).

usage: bench_http.py AIOJOBSD [--quick] [N [C]]   (defaults 10000 and 1000,
3 rounds; --quick: 2000 and 500, 2 rounds; exit 0 always: this is a
measurement, not a test)"""

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

ROUNDS = 3
BATCH = 1000
BODY = b"hello from the bench server\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(BODY), BODY))


# ---------------------------------------------------------------------------
# the server (python3 bench_http.py --serve): prints its port, serves
# until its standard input closes
# ---------------------------------------------------------------------------


class ServerProtocol(asyncio.Protocol):
    """Reads the request head, writes the fixed response, closes."""

    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        if b"\r\n\r\n" in self.buf:
            self.transport.write(RESPONSE)
            self.transport.close()


async def serve():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(ServerProtocol, "127.0.0.1", 0,
                                      backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    eof = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: eof.done() or
                    eof.set_result(None))
    await eof
    server.close()


# ---------------------------------------------------------------------------
# the asyncio client (python3 bench_http.py --client PORT N C): prints
# {"seconds", "ok", "maxrss_kib"}
# ---------------------------------------------------------------------------


async def fetch(port, sem, request):
    async with sem:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        data = await reader.read()
        writer.close()
        return data.startswith(b"HTTP/1.1 200") and data.endswith(BODY)


async def client(port, n, conc):
    sem = asyncio.Semaphore(conc)
    request = (b"GET /bench HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               b"Connection: close\r\n\r\n" % port)
    t0 = time.monotonic()
    oks = await asyncio.gather(*(fetch(port, sem, request)
                                 for _ in range(n)))
    return time.monotonic() - t0, sum(oks)


def client_main(port, n, conc):
    seconds, ok = asyncio.run(client(port, n, conc))
    print(json.dumps({"seconds": seconds, "ok": ok, "maxrss_kib":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


# ---------------------------------------------------------------------------
# the two sides, driven from here
# ---------------------------------------------------------------------------


def asyncio_side(port, n, conc):
    p = subprocess.run([sys.executable, os.path.abspath(__file__),
                        "--client", str(port), str(n), str(conc)],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit("asyncio client failed: %s" % p.stderr[-2000:])
    r = json.loads(p.stdout)
    if r["ok"] != n:
        raise SystemExit("asyncio client: only %d of %d ok" % (r["ok"], n))
    return n / r["seconds"], r["maxrss_kib"]


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def daemon_side(port, n, conc):
    spec = {"kind": "http", "args": {
        "url": "http://127.0.0.1:%d/bench" % port}}
    with harness.Daemon("--limit", conc, "--workers", "0", "-q") as d:
        with harness.ReqClient(d.url, rcvmaxsize=-1) as c:
            t0 = time.monotonic()
            batches = []
            for b in range(0, n, BATCH):
                r = c.request({"op": "submit",
                               "jobs": [spec] * min(BATCH, n - b)},
                              timeout_ms=60000)
                if r.get("ok") is not True:
                    raise SystemExit("submit failed: %s" % r)
                batches.append(r["ids"])
            ok = 0
            for ids in batches:
                while True:
                    r = c.request({"op": "wait", "ids": ids,
                                   "timeout_ms": 60000}, timeout_ms=65000)
                    if not r["pending"]:
                        break
                ok += sum(v["state"] == "succeeded"
                          and v["result"]["body"] == BODY.decode()
                          for v in r["done"])
            elapsed = time.monotonic() - t0
        hwm = vm_hwm_kib(d.pid)
    if ok != n:
        raise SystemExit("aiojobsd: only %d of %d ok" % (ok, n))
    return n / elapsed, hwm


def main():
    global ROUNDS
    quick, args = benchlib.options(
        "bench_http.py AIOJOBSD [--quick] [N [C]]")
    n = int(args[0]) if args else (2000 if quick else 10000)
    conc = int(args[1]) if len(args) > 1 else (500 if quick else 1000)
    if quick:
        ROUNDS = 2
    srv = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                            "--serve"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline())
        asyncio_side(port, min(n, 1000), conc)         # warm up the server
        ours, base = [], []
        for _ in range(ROUNDS):
            base.append(asyncio_side(port, n, conc))
            ours.append(daemon_side(port, n, conc))
    finally:
        srv.stdin.close()
        srv.wait(10)
    print("%d requests at concurrency %d to a local asyncio server, "
          "medians of %d rounds" % (n, conc, ROUNDS))
    for name, runs in (("python asyncio streams:", base),
                       ("aiojobsd http jobs:", ours)):
        print("  %-24s %7.0f requests/s  peak RSS %6.1f MiB   (%s)" % (
            name, statistics.median(r for r, _ in runs),
            statistics.median(m for _, m in runs) / 1024,
            " ".join("%.0f" % r for r, _ in runs)))
    ratio = (statistics.median(r for r, _ in ours)
             / statistics.median(r for r, _ in base))
    print("  ratio aiojobsd / asyncio: %.2f" % ratio)
    benchlib.result("http throughput: %s GETs at concurrency %s to a local "
                    "server, submit to last result"
                    % (benchlib.thousands(n), benchlib.thousands(conc)),
                    statistics.median(r for r, _ in ours), "req/s",
                    "python asyncio streams, semaphore(%d)" % conc,
                    statistics.median(r for r, _ in base))
    benchlib.result("http peak RSS: %s GETs at concurrency %s"
                    % (benchlib.thousands(n), benchlib.thousands(conc)),
                    statistics.median(m for _, m in ours) / 1024, "MiB",
                    "python asyncio streams (ru_maxrss)",
                    statistics.median(m for _, m in base) / 1024,
                    note="lower is better; daemon VmHWM")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        asyncio.run(serve())
    elif len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
