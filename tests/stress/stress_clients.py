"""Many clients at once (PROTOCOL.md 2, 6: "no request, however malformed
or large, crashes the daemon or loses a job"): 100 REQ clients, one thread
each (ctypes releases the GIL around nn_send / nn_recv), for 30 s mix valid
submits (single, keyed, batches, task groups) with garbage, invalid UTF-8,
deeply nested JSON, oversized and truncated requests.  Every reply must be
the one its request calls for; afterwards every acknowledged job exists and
ends succeeded, no other job exists, the daemon still answers, its memory
stayed bounded and SIGTERM stops it with status 0."""

import collections
import json
import random
import sys
import threading
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
import stresslib  # noqa: E402
import harness  # noqa: E402
from harness import Daemon, ReqClient, check, eq  # noqa: E402

CLIENTS = 100
DURATION_S = 30.0
MAX_REQUEST = 65536
# cJSON's nesting limit: deeper requests are not JSON to the daemon.
NESTING_LIMIT = 1000
FINAL = ("succeeded", "failed", "cancelled")
STATES = ("queued", "running") + FINAL


class Tally:
    """What the clients saw, merged under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids = set()          # acknowledged job ids
        self.counts = {}          # request kind -> number sent
        self.errors = []          # first problems, for the failure message
        self.nerrors = 0

    def add(self, ids, counts):
        with self.lock:
            self.ids.update(ids)
            for k, v in counts.items():
                self.counts[k] = self.counts.get(k, 0) + v

    def error(self, text):
        with self.lock:
            self.nerrors += 1
            if len(self.errors) < 20:
                self.errors.append(text)


def sleep_job(rng, **fields):
    spec = {"kind": "sleep", "args": {"ms": rng.randint(0, 10)}}
    spec.update(fields)
    return spec


class Client:
    """One REQ client of the mix; run() until the deadline."""

    def __init__(self, idx, url, deadline, tally):
        self.idx = idx
        self.url = url
        self.deadline = deadline
        self.tally = tally
        self.rng = random.Random(1000 + idx)
        self.ids = set()
        self.recent = collections.deque(maxlen=64)
        self.counts = {}
        self.keys = {}            # key -> (spec, id) submitted by this client

    # -- the requests: each returns (bytes, check(reply) -> problem|None) --

    def req_submit(self):
        rng = self.rng
        fields = {}
        if rng.random() < 0.3:
            fields["name"] = "c%d" % self.idx
        if rng.random() < 0.3:
            fields["queue"] = rng.choice(("default", "a", "b"))
        spec = sleep_job(rng, **fields)
        return {"op": "submit", "job": spec}, self.want_id

    def req_keyed(self):
        rng = self.rng
        if self.keys and rng.random() < 0.5:
            key = rng.choice(sorted(self.keys))
            spec, jid = self.keys[key]
            if rng.random() < 0.3:
                other = dict(spec, args={"ms": spec["args"]["ms"] + 1})
                return ({"op": "submit", "job": other},
                        self.want_error("conflict"))

            def same_id(r):
                return self.want_id(r, expect=jid)
            return {"op": "submit", "job": spec}, same_id
        key = "k-%d-%d" % (self.idx, len(self.keys))
        spec = sleep_job(rng, key=key)

        def first(r):
            problem = self.want_id(r)
            if problem is None:
                self.keys[key] = (spec, r["id"])
            return problem
        return {"op": "submit", "job": spec}, first

    def req_batch(self):
        rng = self.rng
        n = rng.randint(1, 20)
        msg = {"op": "submit", "jobs": [sleep_job(rng) for _ in range(n)]}
        if rng.random() < 0.3:
            msg["group"] = True

        def ids(r):
            if r.get("ok") is not True or not isinstance(r.get("ids"), list):
                return "batch of %d not ok: %s" % (n, r)
            if len(r["ids"]) != n or len(set(r["ids"])) != n:
                return "batch of %d got ids %s" % (n, r["ids"])
            self.ids.update(r["ids"])
            return None
        return msg, ids

    def req_read(self):
        rng = self.rng
        if self.recent and rng.random() < 0.5:
            jid = rng.choice(self.recent)

            def view(r):
                if r.get("ok") is not True or r["job"].get("id") != jid:
                    return "status %d: %s" % (jid, r)
                if r["job"].get("state") not in STATES:
                    return "status %d: state %r" % (jid, r["job"]["state"])
                return None
            return {"op": "status", "id": jid}, view
        return {"op": rng.choice(("ping", "stats"))}, self.want_ok

    def req_garbage(self):
        rng = self.rng
        n = rng.randint(0, 512)
        data = bytes(rng.getrandbits(8) for _ in range(n))
        # a random string that happens to be a JSON object is not garbage
        if data[:1] in (b"{", b" ", b"\t", b"\n", b"\r"):
            data = b"\x01" + data
        return data, self.want_error("bad_request")

    def req_bad_utf8(self):
        rng = self.rng
        bad = rng.choice((b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80",
                          b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"))
        where = rng.randint(0, 2)
        if where == 0:
            data = b'{"op":"submit","job":{"kind":"sleep","args":{"ms":1},' \
                   b'"name":"x' + bad + b'"}}'
        elif where == 1:
            data = b'{"op":"pi' + bad + b'ng"}'
        else:
            data = b'{"op":"ping","k' + bad + b'":1}'
        return data, self.want_error("bad_request")

    def req_nested(self):
        rng = self.rng
        depth = rng.choice((rng.randint(2, NESTING_LIMIT - 2),
                            rng.randint(NESTING_LIMIT, 30000)))
        inner = rng.choice((b"[", b'{"a":'))
        close = b"]" if inner == b"[" else b"}"
        data = (b'{"op":"ping","x":' + inner * depth + b"1" * (inner != b"[")
                + close * depth + b"}")
        if len(data) > MAX_REQUEST:
            return data, self.want_error("too_large")
        # with the outer object: NESTING_LIMIT levels parse, one more not;
        # what parses is then refused for its unknown field "x"
        if depth >= NESTING_LIMIT:
            return data, self.want_error("bad_request")
        return data, self.want_message("unknown field 'x'")

    def req_oversized(self):
        rng = self.rng
        n = rng.randint(MAX_REQUEST + 1, 4 * MAX_REQUEST)
        head = b'{"op":"submit","job":{"kind":"sleep","args":{"ms":1},' \
               b'"name":"'
        data = head + b"x" * (n - len(head) - 3) + b'"}}'
        return data, self.want_error("too_large")

    def req_truncated(self):
        rng = self.rng
        full = json.dumps({"op": "submit", "jobs": [
            sleep_job(rng, name="t") for _ in range(rng.randint(1, 3))]},
            separators=(",", ":")).encode()
        cut = rng.randint(1, len(full) - 1)
        return full[:cut], self.want_error("bad_request")

    MIX = (("submit", 25), ("keyed", 10), ("batch", 10), ("read", 10),
           ("garbage", 10), ("bad_utf8", 8), ("nested", 8),
           ("oversized", 4), ("truncated", 15))

    # -- reply checks ------------------------------------------------------

    def want_ok(self, r):
        return None if r.get("ok") is True else "not ok: %s" % r

    def want_id(self, r, expect=None):
        if r.get("ok") is not True or not isinstance(r.get("id"), int):
            return "submit not ok: %s" % r
        if expect is not None and r["id"] != expect:
            return "keyed resubmit got id %d, first was %d" % (r["id"],
                                                               expect)
        self.ids.add(r["id"])
        self.recent.append(r["id"])
        return None

    def want_message(self, text):
        """A bad_request whose message holds text."""
        def check_message(r):
            wrong = self.want_error("bad_request")(r)
            if wrong is None and text not in r["error"]["message"]:
                wrong = "expected %r in %s" % (text, json.dumps(r)[:300])
            return wrong
        return check_message

    def want_error(self, code):
        def check_error(r):
            err = r.get("error")
            if (r.get("ok") is not False or not isinstance(err, dict)
                    or err.get("code") != code
                    or not isinstance(err.get("message"), str)
                    or not err["message"]):
                return "expected error %s, got %s" % (code,
                                                      json.dumps(r)[:300])
            return None
        return check_error

    # -- the loop ----------------------------------------------------------

    def run(self):
        names = [n for n, _ in self.MIX]
        weights = [w for _, w in self.MIX]
        c = ReqClient(self.url)
        try:
            while time.monotonic() < self.deadline:
                what = self.rng.choices(names, weights)[0]
                msg, verify = getattr(self, "req_" + what)()
                self.counts[what] = self.counts.get(what, 0) + 1
                try:
                    raw = c.request(msg, timeout_ms=15000, raw=True)
                except TimeoutError:
                    self.tally.error("client %d: no reply to %s within 15 s"
                                     % (self.idx, what))
                    c.close()
                    c = ReqClient(self.url)
                    continue
                try:
                    r = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    self.tally.error("client %d: %s: reply not JSON: %r"
                                     % (self.idx, what, raw[:200]))
                    continue
                problem = (verify(r) if isinstance(r, dict)
                           else "reply not an object")
                if problem is not None:
                    self.tally.error("client %d: %s: %s"
                                     % (self.idx, what, problem))
        except Exception as e:   # reported, not lost with the thread
            self.tally.error("client %d: %r" % (self.idx, e))
        finally:
            c.close()
            self.tally.add(self.ids, self.counts)


def list_all(d, page=5000):
    """Every job the daemon knows, id -> view, a page at a time (newest
    first, before_id the oldest id seen so far)."""
    jobs = {}
    msg = {"op": "list", "limit": page}
    with ReqClient(d.url, rcvmaxsize=-1) as c:
        while True:
            r = c.request(msg, timeout_ms=30000)
            check(r.get("ok") is True, "list not ok: %s", r)
            for v in r["jobs"]:
                jobs[v["id"]] = v
            # a page ends at the limit, or sooner at 1 MiB with a cursor
            if r.get("next_before_id") is not None:
                msg["before_id"] = r["next_before_id"]
            elif len(r["jobs"]) < page:
                return jobs
            else:
                msg["before_id"] = min(v["id"] for v in r["jobs"])


def no_jobs_left(d):
    jobs = d.ok({"op": "stats"})["jobs"]
    return jobs["queued"] + jobs["running"] == 0


def test_many_clients_mixed_requests():
    with Daemon("--max-request-bytes", MAX_REQUEST, "--limit", 1000) as d:
        tally = Tally()
        deadline = time.monotonic() + DURATION_S
        clients = [Client(i, d.url, deadline, tally) for i in range(CLIENTS)]
        threads = [threading.Thread(target=cl.run, daemon=True)
                   for cl in clients]
        rss0 = stresslib.rss_kib(d.pid)
        peak = rss0
        for t in threads:
            t.start()
        samples = []
        while any(t.is_alive() for t in threads):
            check(d.proc.poll() is None, "aiojobsd died (status %s)\n%s",
                  d.proc.returncode, d.log())
            rss = stresslib.rss_kib(d.pid)
            samples.append(rss)
            peak = max(peak, rss)
            threads[0].join(0.25)
            if time.monotonic() > deadline + 30:
                break
        for t in threads:
            t.join(max(0.1, deadline + 30 - time.monotonic()))
            check(not t.is_alive(), "a client thread is stuck")
        total = sum(tally.counts.values())
        print("  %d requests (%s), %d jobs acknowledged; RSS %d -> peak %d "
              "KiB" % (total, ", ".join("%s %d" % kv for kv in
                                        sorted(tally.counts.items())),
                       len(tally.ids), rss0, peak))
        check(not tally.errors, "%d bad replies, first ones:\n  %s",
              tally.nerrors, "\n  ".join(tally.errors))
        for kind, _ in Client.MIX:
            check(tally.counts.get(kind, 0) > 0, "no %s request was sent",
                  kind)

        # the daemon still answers, quickly
        t0 = time.monotonic()
        d.ok({"op": "ping"})
        check(time.monotonic() - t0 < 1.0, "ping after the load took %.2f s",
              time.monotonic() - t0)

        # every acknowledged job exists and ends succeeded; nothing else
        ids = sorted(tally.ids)
        harness.poll_until(lambda: no_jobs_left(d), 30, interval=0.05,
                           what="no queued or running jobs")
        jobs = list_all(d)
        missing = [i for i in ids if i not in jobs]
        check(not missing, "%d acknowledged jobs are missing: %s",
              len(missing), missing[:20])
        extra = sorted(set(jobs) - tally.ids)
        check(not extra, "%d jobs nobody got an id for: %s", len(extra),
              extra[:20])
        bad = [(i, jobs[i]["state"], jobs[i].get("error")) for i in ids
               if jobs[i]["state"] != "succeeded"]
        check(not bad, "%d jobs did not succeed: %s", len(bad), bad[:10])
        rng = random.Random(7)
        for jid in rng.sample(ids, min(100, len(ids))):
            v = d.status(jid)
            eq((v["id"], v["kind"], v["state"]), (jid, "sleep", "succeeded"),
               "status %d" % jid)
            check(isinstance(v["result"], dict) and "slept_ms" in v["result"],
                  "job %d has no result: %s", jid, v)
        st = d.ok({"op": "stats"})["jobs"]
        eq(st, {"queued": 0, "running": 0, "succeeded": len(ids),
                "failed": 0, "cancelled": 0}, "stats after the load")

        # memory: bounded while the load ran, and not growing at its end
        # (finished jobs live in the store, not in memory)
        rss1 = stresslib.rss_kib(d.pid)
        print("  RSS after the checks %d KiB" % rss1)
        harness.check_memory(peak - rss0 < 256 * 1024,
                             "daemon RSS grew by %d KiB under the load",
                             peak - rss0)
        if len(samples) >= 8:
            mid = max(samples[len(samples) // 2:3 * len(samples) // 4])
            end = max(samples[3 * len(samples) // 4:])
            harness.check_memory(end - mid < 64 * 1024,
                                 "daemon RSS still growing at the end of the "
                                 "load: %d KiB -> %d KiB", mid, end)


def test_beyond_the_transport_limit():
    # larger than even the transport takes (16 times max_request_bytes, at
    # least 16 MiB): the daemon throws it away as it arrives and answers
    # too_large; it goes on
    with Daemon("--max-request-bytes", MAX_REQUEST) as d:
        data = b'{"op":"ping","x":"' + b"x" * (17 << 20) + b'"}'
        with ReqClient(d.url) as c:
            r = c.request(data, timeout_ms=30000)
            check((r.get("error") or {}).get("code") == "too_large",
                  "reply to 17 MiB: %s", r)
        cpu0 = stresslib.cpu_seconds(d.pid)
        for _ in range(20):
            d.ok({"op": "ping"})
        check(stresslib.cpu_seconds(d.pid) - cpu0 < 1.0, "20 pings after a "
              "17 MiB request cost %.2f s of CPU",
              stresslib.cpu_seconds(d.pid) - cpu0)


if __name__ == "__main__":
    harness.main()
