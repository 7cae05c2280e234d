"""Where the daemon listens and how to reach it, by aiojobctl's rules.

Control URL: the url argument, else $AIOJOBS_URL, else
ipc://RUNDIR/aiojobsd.sock. Events URL: the events_url argument, else
$AIOJOBS_EVENTS_URL, else ipc://RUNDIR/events.sock. RUNDIR:
$AIOJOBS_RUNDIR, else /run/aiojobsd for root, else
$XDG_RUNTIME_DIR/aiojobsd, else /tmp/aiojobsd-$UID; and, as aiojobctl
does, /run/aiojobsd for a user who sets neither AIOJOBS_RUNDIR nor
AIOJOBS_URL and runs no daemon of their own (no socket where theirs
would be) when the system's daemon has a socket there.

Token: the token argument, else the token_file argument, else
$AIOJOBS_TOKEN, else the file $AIOJOBS_TOKEN_FILE (one trailing newline
dropped). TLS: the arguments, else $AIOJOBS_TLS_CA_FILE,
$AIOJOBS_TLS_SERVER_NAME, $AIOJOBS_TLS_CERT_FILE, $AIOJOBS_TLS_KEY_FILE.
"""

import os
import ssl
import stat

from .errors import Error

SYSTEM_RUNDIR = "/run/aiojobsd"
IPC_MAX = 107


def _env(name):
    v = os.environ.get(name)
    return v if v else None


def rundir():
    """The run directory by protocol.md section 1 (no fallback)."""
    if _env("AIOJOBS_RUNDIR"):
        return os.environ["AIOJOBS_RUNDIR"]
    if os.geteuid() == 0:
        return SYSTEM_RUNDIR
    if _env("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "aiojobsd")
    return "/tmp/aiojobsd-%d" % os.geteuid()


def _is_socket(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def client_rundir():
    """The run directory as aiojobctl picks it, with its fallback to the
    system's daemon for users who run none of their own."""
    d = rundir()
    if (os.geteuid() == 0 or "AIOJOBS_RUNDIR" in os.environ
            or "AIOJOBS_URL" in os.environ):
        return d
    if (not os.path.lexists(os.path.join(d, "aiojobsd.sock"))
            and _is_socket(os.path.join(SYSTEM_RUNDIR, "aiojobsd.sock"))):
        return SYSTEM_RUNDIR
    return d


def control_url(url=None):
    """The control endpoint: url, else $AIOJOBS_URL, else the run
    directory's aiojobsd.sock."""
    if url:
        return url
    return _env("AIOJOBS_URL") or "ipc://%s/aiojobsd.sock" % client_rundir()


def events_url(url=None):
    """The event endpoint: url, else $AIOJOBS_EVENTS_URL, else the run
    directory's events.sock."""
    if url:
        return url
    return (_env("AIOJOBS_EVENTS_URL")
            or "ipc://%s/events.sock" % client_rundir())


def _read_token_file(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Error("token file %s: %s" % (path, e.strerror), "usage")
    if data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise Error("token file %s is empty" % path, "usage")
    return data.decode()


def token(tok=None, token_file=None):
    """The token to send, or None: as aiojobctl's --token/--token-file,
    $AIOJOBS_TOKEN, $AIOJOBS_TOKEN_FILE."""
    if tok is not None and token_file is not None:
        raise Error("token and token_file: give one of them", "usage")
    if tok is not None:
        return tok
    if token_file is not None:
        return _read_token_file(token_file)
    if _env("AIOJOBS_TOKEN"):
        return os.environ["AIOJOBS_TOKEN"]
    if _env("AIOJOBS_TOKEN_FILE"):
        return _read_token_file(os.environ["AIOJOBS_TOKEN_FILE"])
    return None


class Address:
    """A parsed URL: .kind ("ipc", "tcp", "tls"), .path or .host/.port,
    .server_name and .ssl_context for tls."""

    def __init__(self, url, ca_file=None, server_name=None, cert_file=None,
                 key_file=None):
        self.url = url
        self.ssl_context = None
        self.server_name = None
        if url.startswith("ipc://"):
            self.kind = "ipc"
            self.path = url[6:]
            if not self.path:
                raise Error("%s: empty ipc path" % url, "usage")
            if len(self.path.encode()) > IPC_MAX:
                raise Error("%s: ipc path is %d bytes, the limit is %d"
                            % (url, len(self.path.encode()), IPC_MAX),
                            "usage")
            return
        if url.startswith("tcp://"):
            self.kind = "tcp"
            rest = url[6:]
        elif url.startswith("tls+tcp://"):
            self.kind = "tls"
            rest = url[10:]
        else:
            raise Error("%s: unsupported URL (use ipc://PATH, "
                        "tcp://HOST:PORT or tls+tcp://HOST:PORT)" % url,
                        "usage")
        self.host, self.port = _host_port(url, rest)
        if self.kind == "tls":
            self._tls(ca_file, server_name, cert_file, key_file)

    def _tls(self, ca_file, server_name, cert_file, key_file):
        ca_file = ca_file or _env("AIOJOBS_TLS_CA_FILE")
        self.server_name = (server_name or _env("AIOJOBS_TLS_SERVER_NAME")
                            or self.host)
        cert_file = cert_file or _env("AIOJOBS_TLS_CERT_FILE")
        key_file = key_file or _env("AIOJOBS_TLS_KEY_FILE")
        if (cert_file is None) != (key_file is None):
            raise Error("a client certificate needs both cert_file and "
                        "key_file", "usage")
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert_file:
            ctx.load_cert_chain(cert_file, key_file)
        self.ssl_context = ctx


def _host_port(url, rest):
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]:")
    else:
        host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise Error("%s: expected HOST:PORT" % url, "usage")
    return host, int(port)
