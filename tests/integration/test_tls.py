"""tls+tcp:// control endpoints and the plain tcp token rule.

A CA, a server certificate for DNS:localhost (Debian's NNG uses mbedTLS,
which does not check IP addresses) and a client certificate are made at
test time with the openssl command. aiojobctl is the TLS client.

python3 test_tls.py AIOJOBSD AIOJOBCTL [TEST...]
"""
import os
import signal
import socket
import subprocess
import time

import harness
from harness import (Daemon, ReqClient, check, eq, expect_error, main,
                     poll_until, run_ctl, show)
from test_auth import TOKEN, Setup, free_port, listen_section, start_fails


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def signed_cert(d, name, subject, ext):
    """A key (mode 0600) and a certificate signed by the test CA."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
            name + ".key", "-out", name + ".csr", "-subj", subject, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
            "-extfile", name + ".ext", cwd=d)
    os.chmod(os.path.join(d, name + ".key"), 0o600)


class Certs(Setup):
    """Setup with a CA, a server certificate for localhost and a client
    certificate, all signed by the CA."""

    def __init__(self):
        super().__init__()
        d = self.dir
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
                "/CN=aiojobsd test CA", cwd=d)
        signed_cert(d, "server", "/CN=localhost",
                    "subjectAltName=DNS:localhost\n"
                    "basicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        signed_cert(d, "client", "/CN=aiojobsd test client",
                    "basicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=clientAuth\n")
        self.ca = os.path.join(d, "ca.pem")

    def path(self, name):
        return os.path.join(self.dir, name)

    def tls_section(self, url, **keys):
        return listen_section("tls", url,
                              tls_cert_file=self.path("server.pem"),
                              tls_key_file=self.path("server.key"),
                              **keys)


def tls_daemon(c, **keys):
    """A daemon with a tls+tcp://localhost endpoint: (daemon, url)."""
    url = "tls+tcp://localhost:%d" % free_port()
    path = c.conf(c.tls_section(url, **keys))
    return Daemon("--config", path), url


def ctl_timed(*args, env=None):
    t0 = time.monotonic()
    rc, out, err = run_ctl(*args, env=env, timeout=20)
    return rc, out, err, time.monotonic() - t0


def tls_error(rc, out, err, took, words):
    eq(rc, 3, "exit status of a TLS failure: " + show(rc, out, err))
    check(all(w in err for w in words), "a clear TLS error wanted (%s): %r",
          words, err)
    check("is aiojobsd running" not in err, "misleading hint: %r", err)
    check(took < 5, "the TLS failure took %.1f s", took)


# -- tls+tcp with a self-signed CA ------------------------------------------

def test_tls_with_ca_file():
    with Certs() as c:
        d, url = tls_daemon(c, insecure_no_token="true")
        with d:
            rc, out, err = run_ctl("--url", url, "--tls-ca-file", c.ca,
                                   "ping")
            eq(rc, 0, "ping over TLS: " + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "--tls-ca-file", c.ca,
                                   "--json", "submit", "sleep", "10ms")
            eq(rc, 0, "submit over TLS: " + show(rc, out, err))
            env = {"AIOJOBS_TLS_CA_FILE": c.ca}
            rc, out, err = run_ctl("--url", url, "submit", "--wait",
                                   "sleep", "10ms", env=env)
            eq(rc, 0, "submit --wait with AIOJOBS_TLS_CA_FILE: "
               + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "wait", "1", env=env)
            eq(rc, 0, "wait over TLS: " + show(rc, out, err))
            check("succeeded" in out, "wait output: %r", out)
            # the name given instead of the URL's host
            rc, out, err = run_ctl("--url", url.replace("localhost",
                                                        "127.0.0.1"),
                                   "--tls-ca-file", c.ca,
                                   "--tls-server-name", "localhost", "ping")
            eq(rc, 0, "ping by address with --tls-server-name: "
               + show(rc, out, err))


def test_tls_without_ca_file():
    with Certs() as c:
        d, url = tls_daemon(c, insecure_no_token="true")
        with d:
            rc, out, err, took = ctl_timed("--url", url, "ping")
            tls_error(rc, out, err, took,
                      ("TLS verification failed", "--tls-ca-file"))
            # the client gives up when its side fails; the daemon's side
            # of the handshake may end (and be logged) a moment later
            poll_until(lambda: "TLS handshake failed" in d.log(), 10,
                       what="the daemon logging the failed handshake")
            eq(d.ok({"op": "ping"})["ok"], True, "daemon still answers")


def test_tls_wrong_server_name():
    with Certs() as c:
        d, url = tls_daemon(c, insecure_no_token="true")
        with d:
            rc, out, err, took = ctl_timed("--url", url, "--tls-ca-file",
                                           c.ca, "--tls-server-name",
                                           "other.example", "ping")
            tls_error(rc, out, err, took, ("TLS", "--tls-server-name"))


def test_tls_client_certificates():
    with Certs() as c:
        d, url = tls_daemon(c, insecure_no_token="true",
                            tls_client_ca_file=c.ca)
        with d:
            rc, out, err, took = ctl_timed("--url", url, "--tls-ca-file",
                                           c.ca, "ping")
            tls_error(rc, out, err, took, ("TLS", "--tls-cert-file"))
            rc, out, err = run_ctl("--url", url, "--tls-ca-file", c.ca,
                                   "--tls-cert-file", c.path("client.pem"),
                                   "--tls-key-file", c.path("client.key"),
                                   "ping")
            eq(rc, 0, "ping with a client certificate: "
               + show(rc, out, err))
            env = {"AIOJOBS_TLS_CA_FILE": c.ca,
                   "AIOJOBS_TLS_CERT_FILE": c.path("client.pem"),
                   "AIOJOBS_TLS_KEY_FILE": c.path("client.key")}
            rc, out, err = run_ctl("--url", url, "ping", env=env)
            eq(rc, 0, "ping with AIOJOBS_TLS_*: " + show(rc, out, err))
            rc, out, err = run_ctl("--url", url, "--tls-ca-file", c.ca,
                                   "--tls-cert-file", c.path("client.pem"),
                                   "ping")
            eq(rc, 2, "a certificate without its key: " + show(rc, out, err))
            check("--tls-key-file" in err, "stderr: %r", err)


def test_tls_token_and_certificate():
    with Certs() as c:
        url = "tls+tcp://localhost:%d" % free_port()
        path = c.conf(c.tls_section(url, token_file=c.token_file))
        with Daemon("--config", path):
            env = {"AIOJOBS_TLS_CA_FILE": c.ca}
            rc, out, err = run_ctl("--url", url, "ping", env=env)
            eq(rc, 4, "no token over TLS: " + show(rc, out, err))
            check("unauthorized" in err, "stderr: %r", err)
            env["AIOJOBS_TOKEN"] = TOKEN
            rc, out, err = run_ctl("--url", url, "ping", env=env)
            eq(rc, 0, "token over TLS: " + show(rc, out, err))


def test_tls_garbage_and_plain_clients():
    with Certs() as c:
        d, url = tls_daemon(c, insecure_no_token="true")
        port = int(url.rsplit(":", 1)[1])
        with d:
            # bytes that are not TLS, and an SP header in clear
            for junk in (b"GET / HTTP/1.0\r\n\r\n",
                         b"\x00SP\x00\x00\x30\x00\x00", os.urandom(4096)):
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.settimeout(5)
                    s.sendall(junk)
                    try:
                        while s.recv(4096):
                            pass
                    except (ConnectionResetError, socket.timeout):
                        pass
            # a plain SP client on the TLS port gets nothing
            with ReqClient("tcp://127.0.0.1:%d" % port) as r:
                try:
                    r.request({"op": "ping"}, timeout_ms=500)
                    check(False, "a plain SP client was answered")
                except TimeoutError:
                    pass
            rc, out, err = run_ctl("--url", url, "--tls-ca-file", c.ca,
                                   "ping")
            eq(rc, 0, "ping over TLS after garbage: " + show(rc, out, err))
            eq(d.ok({"op": "ping"})["ok"], True, "daemon still answers")


def test_tls_handshake_deadline():
    with Certs() as c:
        d, url = tls_daemon(c, insecure_no_token="true")
        port = int(url.rsplit(":", 1)[1])
        with d:
            t0 = time.monotonic()
            silent = socket.create_connection(("127.0.0.1", port))
            slow = socket.create_connection(("127.0.0.1", port))
            # a TLS record header and a ClientHello, one byte every 2 s
            hello = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"
            closed = {}
            for i in range(10):
                for name, s in (("silent", silent), ("slow", slow)):
                    if name in closed:
                        continue
                    s.settimeout(0)
                    try:
                        if name == "slow" and i < len(hello):
                            s.send(hello[i:i + 1])
                        if s.recv(1) == b"":
                            closed[name] = time.monotonic() - t0
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        closed[name] = time.monotonic() - t0
                if len(closed) == 2:
                    break
                time.sleep(2)
            silent.close()
            slow.close()
            eq(sorted(closed), ["silent", "slow"], "clients hung up on "
               "(seconds after connecting: %r)" % closed)
            check(all(5 < t < 15 for t in closed.values()),
                  "closed after %r s", closed)
            eq(d.ok({"op": "ping"})["ok"], True, "daemon still answers")


def test_tls_reload_keeps_the_endpoint():
    with Certs() as c:
        url = "tls+tcp://localhost:%d" % free_port()
        path = c.conf(c.tls_section(url, insecure_no_token="true"))
        with Daemon("--config", path) as d:
            # a reload with the same files changes nothing
            d.signal(signal.SIGHUP)
            poll_until(lambda: "configuration reloaded" in d.log(), 10,
                       what="reload")
            check("endpoints changed" not in d.log(), "unchanged TLS "
                  "endpoint reported as changed:\n%s", d.log())
            # another certificate needs a restart, and says so
            c.conf(c.tls_section(url, insecure_no_token="true",
                                 tls_client_ca_file=c.ca))
            d.signal(signal.SIGHUP)
            poll_until(lambda: "listen.NAME] endpoints changed" in d.log(),
                       10, what="endpoints change reported")
            rc, out, err = run_ctl("--url", url, "--tls-ca-file", c.ca,
                                   "ping")
            eq(rc, 0, "the TLS endpoint after the reload: "
               + show(rc, out, err))


def test_tls_config_errors():
    with Certs() as c:
        tcp = "tcp://127.0.0.1:%d" % free_port()
        tls = "tls+tcp://localhost:%d" % free_port()
        out = start_fails(c, listen_section(
            "t", tcp, tls_cert_file=c.path("server.pem")))
        check("[listen.t]" in out and "tls_cert_file" in out
              and "tls+tcp" in out, "cert on tcp://: %r", out)
        out = start_fails(c, listen_section(
            "t", tls, tls_cert_file=c.path("server.pem"),
            insecure_no_token="true"))
        check("[listen.t]" in out and "tls_key_file" in out,
              "missing key: %r", out)
        out = start_fails(c, listen_section(
            "t", tls, tls_key_file=c.path("server.key"),
            insecure_no_token="true"))
        check("[listen.t]" in out and "tls_cert_file" in out,
              "missing certificate: %r", out)
        os.chmod(c.path("server.key"), 0o644)
        out = start_fails(c, c.tls_section(tls, insecure_no_token="true"))
        check("[listen.t" in out or "[listen.tls]" in out,
              "section not named: %r", out)
        check("0644" in out and "chmod 600" in out, "key mode: %r", out)
        os.chmod(c.path("server.key"), 0o600)
        out = start_fails(c, listen_section(
            "t", tls, tls_cert_file=c.path("ca.pem"),
            tls_key_file=c.path("server.key"), insecure_no_token="true"))
        check("tls_key_file" in out or "tls_cert_file" in out,
              "a key that does not match: %r", out)
        out = start_fails(c, c.tls_section(tls, insecure_no_token="true",
                                           insecure_plain_token="true"))
        check("insecure_plain_token" in out and "tcp://" in out,
              "insecure_plain_token on tls+tcp: %r", out)
        out = start_fails(c, "[endpoints]\nlisten = %s\n" % tls)
        check("[listen.NAME]" in out, "tls+tcp in listen =: %r", out)
        out = start_fails(c, c.tls_section(
            "tls+tcp://0.0.0.0:%d" % free_port()))
        check("token" in out, "TLS on the network without a token: %r", out)


# -- the plain tcp token rule ------------------------------------------------

def outside_address():
    """An address of this machine that is not loopback, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_plain_tcp_token_from_loopback():
    with Setup() as s:
        url = "tcp://127.0.0.1:%d" % free_port()
        path = s.conf(listen_section("api", url, token_file=s.token_file))
        with Daemon("--config", path):
            rc, out, err = run_ctl("--url", url, "ping",
                                   env={"AIOJOBS_TOKEN": TOKEN})
            eq(rc, 0, "token over tcp from 127.0.0.1: " + show(rc, out, err))


def test_plain_tcp_token_from_another_address():
    addr = outside_address()
    if addr is None:
        print("  (skipped: no address but loopback)")
        return
    with Setup() as s:
        port = free_port()
        path = s.conf(listen_section("api", "tcp://0.0.0.0:%d" % port,
                                     token_file=s.token_file))
        with Daemon("--config", path):
            url = "tcp://%s:%d" % (addr, port)
            rc, out, err = run_ctl("--url", url, "ping",
                                   env={"AIOJOBS_TOKEN": TOKEN})
            eq(rc, 4, "token over tcp from %s: %s" % (addr,
                                                      show(rc, out, err)))
            check("clear text" in err and "tls+tcp" in err
                  and "insecure_plain_token" in err, "stderr: %r", err)
            with ReqClient(url) as r:
                expect_error(r.request({"op": "ping", "token": "wrong"}),
                             "unauthorized", "clear text")
            # loopback on the same endpoint is still fine
            rc, out, err = run_ctl("--url", "tcp://127.0.0.1:%d" % port,
                                   "ping", env={"AIOJOBS_TOKEN": TOKEN})
            eq(rc, 0, "token from loopback: " + show(rc, out, err))
        path = s.conf(listen_section("api", "tcp://0.0.0.0:%d" % port,
                                     token_file=s.token_file,
                                     insecure_plain_token="true"))
        with Daemon("--config", path):
            rc, out, err = run_ctl("--url", url, "ping",
                                   env={"AIOJOBS_TOKEN": TOKEN})
            eq(rc, 0, "insecure_plain_token: " + show(rc, out, err))


if __name__ == "__main__":
    main()
