"""The SP wire, without any I/O: headers, framing and request ids.

Both faces of the client (the blocking Client and the AsyncClient) and
the events subscriber feed the bytes they read into a Stream and write
the bytes it gives them. Written from the SP RFCs (sp-tcp-mapping-01,
sp-ipc-mapping-01, sp-request-reply-01):

* each side first sends an 8-byte header: 0x00 'S' 'P' 0x00, the 16-bit
  protocol id of its socket type (big-endian), two zero bytes;
* then every message is its length as a 64-bit big-endian integer and
  the body; on ipc each message is preceded by the type byte 0x01;
* a REQ body starts with a 4-byte big-endian request id whose top bit
  is set; the reply carries the same id first.
"""

import os
import struct

REQ = 0x30
REP = 0x31
PUB = 0x20
SUB = 0x21

# The socket type each of ours talks to.
PEER = {REQ: REP, SUB: PUB}

HEADER_LEN = 8
_IPC_MSG = 0x01
_LEN = struct.Struct(">Q")
_ID = struct.Struct(">I")


class WireError(Exception):
    """The peer broke the SP wire: a wrong header, type byte or size."""


def header(proto):
    """The 8-byte SP header of a socket of protocol proto."""
    return b"\x00SP\x00" + struct.pack(">H", proto) + b"\x00\x00"


def frame(body, ipc):
    """One message as it goes on the wire (ipc: with its type byte)."""
    head = _LEN.pack(len(body))
    return (b"\x01" + head + body) if ipc else head + body


class RequestIds:
    """Request ids for one REQ socket: 31 bits, top bit set, starting at
    a random value and increasing, as nanomsg and NNG pick them."""

    def __init__(self):
        self._next = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF

    def next(self):
        """A fresh request id (top bit set)."""
        self._next = (self._next + 1) & 0x7FFFFFFF
        return self._next | 0x80000000


def request(req_id, payload):
    """A REQ message body: the request id, then the payload."""
    return _ID.pack(req_id) + payload


def reply(body):
    """(request id, payload) of a reply body; (None, body) when it does
    not start with a request id (ignored by the caller)."""
    if len(body) < 4:
        return None, body
    rid = _ID.unpack_from(body)[0]
    if not rid & 0x80000000:
        return None, body
    return rid, body[4:]


class Stream:
    """One SP connection's bytes, seen from our side.

    s = Stream(REQ, ipc=True); sock.sendall(s.hello())
    for msg in s.feed(sock.recv(65536)): ...

    feed() checks the peer's header first, then cuts messages out of the
    byte stream (any size up to max_size; None for no limit)."""

    def __init__(self, proto, ipc, max_size=None):
        self.proto = proto
        self.ipc = ipc
        self.max_size = max_size
        self._buf = bytearray()
        self._header_ok = False

    @property
    def ready(self):
        """Whether the peer's header has come and checked out."""
        return self._header_ok

    def hello(self):
        """The bytes to send first: our SP header."""
        return header(self.proto)

    def send(self, body):
        """The bytes that carry one message."""
        return frame(body, self.ipc)

    def feed(self, data):
        """Take received bytes; return the complete messages in them.
        Raises WireError when the peer does not speak SP as it should."""
        self._buf += data
        out = []
        if not self._header_ok:
            if len(self._buf) < HEADER_LEN:
                return out
            self._check_header(bytes(self._buf[:HEADER_LEN]))
            del self._buf[:HEADER_LEN]
            self._header_ok = True
        while True:
            msg = self._next_message()
            if msg is None:
                return out
            out.append(msg)

    def _check_header(self, got):
        want = header(PEER[self.proto])
        if got[:4] != want[:4] or got[6:] != want[6:]:
            raise WireError("the peer did not send an SP header (got %r)"
                            % got)
        if got != want:
            raise WireError("the peer speaks SP protocol %d, not %d"
                            % (struct.unpack(">H", got[4:6])[0],
                               PEER[self.proto]))

    def _next_message(self):
        skip = 1 if self.ipc else 0
        if len(self._buf) < skip + 8:
            return None
        if self.ipc and self._buf[0] != _IPC_MSG:
            raise WireError("unknown ipc message type %d" % self._buf[0])
        size = _LEN.unpack_from(self._buf, skip)[0]
        if self.max_size is not None and size > self.max_size:
            raise WireError("a message of %d bytes is over the limit of %d"
                            % (size, self.max_size))
        end = skip + 8 + size
        if len(self._buf) < end:
            return None
        msg = bytes(self._buf[skip + 8:end])
        del self._buf[:end]
        return msg
