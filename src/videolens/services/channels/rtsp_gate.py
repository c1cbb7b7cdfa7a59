"""The RTSP door of push inputs: security groups and stream keys checked, then relayed to a channel.

A pusher (`ffmpeg -f rtsp rtsp://host:8554/<app>/<instance>/<key>`) names the input and its key in
every request URL. The first request is checked before anything is answered: an unknown stream name
or a channel that is not running → 404, an address outside the input's security groups → 403, a wrong
or missing key (compared in constant time) → 401; refusals are logged without the key and the
connection closed. An accepted session is relayed to the channel runner's loopback ffmpeg RTSP server
(`rtsp_flags=listen`): requests are rewritten to its URL (so the key never reaches it), media stay
RTP interleaved on the RTSP connection (a SETUP asking for UDP is answered 461 Unsupported Transport
here; ffmpeg then retries over TCP on its own), and CSeq numbers are renumbered both ways so the
requests answered here leave no gap in the sequence ffmpeg's server insists on.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass

from videolens.services.channels.rtmp_gate import CLIENT_TIMEOUT_S, PushTarget, Refused, RtmpGate

log = logging.getLogger(__name__)

BACKEND_WAIT_S = 8.0
#: how long a finished pusher's thread waits for the channel to read the rest (the relay goes on after)
BACKEND_DRAIN_S = 30.0
#: the path the channel's loopback RTSP listener serves
BACKEND_PATH = "/live/in"
MAX_HEADER = 64 * 1024
#: an SDP is a few hundred bytes; a larger body would be buffered before the key is checked
MAX_BODY = 64 * 1024
PUBLISH_METHODS = {"OPTIONS", "ANNOUNCE", "SETUP", "RECORD", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"}
CSEQ = re.compile(rb"^(CSeq:[ \t]*)(\d+)", re.IGNORECASE | re.MULTILINE)
CONTENT_LENGTH = re.compile(rb"^Content-Length:[ \t]*(\d+)", re.IGNORECASE | re.MULTILINE)
STATUS_TEXT = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


def backend_url(port: int) -> str:
    """What the channel runner listens on for an RTSP_PUSH input."""
    return f"rtsp://127.0.0.1:{port}{BACKEND_PATH}"


@dataclass
class Message:
    """One unit on an RTSP connection: an interleaved binary frame (`$`) or a text request/reply."""

    raw: bytes
    text: bool


class MessageReader:
    """Splits an RTSP byte stream into `$` frames and text messages (headers + Content-Length body)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self.buffer += data
        out: list[Message] = []
        while self.buffer:
            if self.buffer[0] == 0x24:  # '$' channel, 16-bit length, payload
                if len(self.buffer) < 4:
                    break
                end = 4 + int.from_bytes(self.buffer[2:4], "big")
                if len(self.buffer) < end:
                    break
                out.append(Message(bytes(self.buffer[:end]), False))
                del self.buffer[:end]
                continue
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                if len(self.buffer) > MAX_HEADER:
                    raise ValueError("RTSP header too long")
                break
            length = CONTENT_LENGTH.search(bytes(self.buffer[:head_end]))
            body = int(length.group(1)) if length else 0
            if body > MAX_BODY:
                raise ValueError("RTSP body too long")
            end = head_end + 4 + body
            if len(self.buffer) < end:
                break
            out.append(Message(bytes(self.buffer[:end]), True))
            del self.buffer[:end]
        return out


def _request_line(raw: bytes) -> tuple[str, str]:
    line = raw.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("RTSP/"):
        raise ValueError("not an RTSP request line")  # (never quoted: it may hold the key)
    return parts[0].upper(), parts[1]


def _cseq(raw: bytes) -> int | None:
    found = CSEQ.search(raw)
    return int(found.group(2)) if found else None


def _with_cseq(raw: bytes, seq: int) -> bytes:
    return CSEQ.sub(lambda m: m.group(1) + str(seq).encode(), raw, count=1)


@dataclass(frozen=True)
class PushPath:
    """`rtsp://host:port/<app>/<instance>/<key>[/<track control>]`, split."""

    stream_name: str
    key: str
    base: str  # the URL up to and including the key: what gets rewritten to the backend's URL

    @staticmethod
    def parse(uri: str) -> PushPath:
        parsed = urllib.parse.urlsplit(uri)
        parts = parsed.path.strip("/").split("/")
        stream_name = "/".join(parts[:2])
        key = parts[2] if len(parts) > 2 else ""
        prefix = "/" + "/".join(parts[:3])
        return PushPath(stream_name, key, f"{parsed.scheme}://{parsed.netloc}{prefix}")


class _Refusal(Exception):
    def __init__(self, status: int, reason: str, seq: int = 0) -> None:
        super().__init__(reason)
        self.status = status
        self.seq = seq


def _reply(status: int, text: str, seq: int) -> bytes:
    return f"RTSP/1.0 {status} {text}\r\nCSeq: {seq}\r\nServer: videolens\r\n\r\n".encode()


class _Session:
    """One accepted pusher relayed to the channel's listener."""

    def __init__(self, client: socket.socket, path: PushPath, port: int) -> None:
        self.client, self.path, self.port = client, path, port
        self.backend = socket.socket()
        self.target_base = backend_url(port)
        self.send_lock = threading.Lock()
        self.seq_map: dict[int, int] = {}  # backend CSeq → the client's
        self.next_seq = 1
        self.reader = MessageReader()
        self.thread = threading.Thread(target=self._downstream, name="channels-rtsp-down", daemon=True)

    def open(self, first: bytes, seq: int) -> None:
        """Connect, relay the first request and its answer, then relay in the background. ffmpeg's
        server listens again every few seconds, and a connection that lands as a listen times out
        is reset unanswered: that one is tried again (nothing reached the pusher yet)."""
        self.backend.close()  # (the unconnected placeholder)
        deadline = time.monotonic() + BACKEND_WAIT_S
        while True:
            try:
                self.backend = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                self.next_seq, self.seq_map, self.reader = 1, {}, MessageReader()
                self.forward(first)
                answers: list[Message] = []
                while not answers:
                    data = self.backend.recv(65536)
                    if not data:
                        raise ConnectionResetError("the channel's listener closed")
                    answers = self.reader.feed(data)
                break
            except OSError as exc:
                with contextlib.suppress(OSError):
                    self.backend.close()
                if time.monotonic() > deadline:
                    raise _Refusal(503, "the channel is not listening", seq) from exc
                time.sleep(0.05)
        self.backend.settimeout(None)
        for message in answers:
            self.to_client(self._for_client(message))
        self.thread.start()

    def to_client(self, data: bytes) -> None:
        with self.send_lock:
            self.client.sendall(data)

    def forward(self, raw: bytes) -> None:
        """A client request, rewritten for the backend (its URL, its CSeq) and sent on."""
        head, sep, body = raw.partition(b"\r\n\r\n")
        client_seq = _cseq(head)
        ours = self.next_seq
        self.next_seq += 1
        if client_seq is not None:
            self.seq_map[ours] = client_seq
        base, target = self.path.base.encode(), self.target_base.encode()
        head = head.replace(base, target)
        if body:  # an SDP may hold absolute control URLs
            body = body.replace(base, target)
            head = CONTENT_LENGTH.sub(b"Content-Length: " + str(len(body)).encode(), head, count=1)
        self.backend.sendall(_with_cseq(head, ours) + sep + body)

    def _for_client(self, message: Message) -> bytes:
        raw = message.raw
        if message.text and (seq := _cseq(raw)) is not None and seq in self.seq_map:
            raw = _with_cseq(raw, self.seq_map.pop(seq))
        return raw

    def _downstream(self) -> None:
        """Backend → pusher, until the backend closes: it is read to its end even after the pusher left,
        since closing a socket with unread data sends a reset, and a reset makes the channel's server
        throw away the media it had received but not read yet (a lagging channel loses its tail)."""
        pusher_there = True
        with contextlib.suppress(OSError, ValueError):
            while data := self.backend.recv(65536):
                for message in self.reader.feed(data) if pusher_there else []:
                    try:
                        self.to_client(self._for_client(message))
                    except OSError:
                        pusher_there = False
        for s in (self.client, self.backend):  # (wakes the pusher's reader when the channel ended first)
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.backend.close()

    def finish(self) -> None:
        """The pusher is gone: half-close, so ffmpeg's server reads everything before its end of file
        (the backend socket is closed by `_downstream` once the server closed its side)."""
        if not self.thread.is_alive():  # never opened
            return
        with contextlib.suppress(OSError):
            self.backend.shutdown(socket.SHUT_WR)
        self.thread.join(BACKEND_DRAIN_S)


class RtspGate(RtmpGate):
    """Listens on the public RTSP port, one thread per pusher (the accept loop is the RTMP door's)."""

    def _serve(self, client: socket.socket, peer: str) -> None:
        reader = MessageReader()
        path: PushPath | None = None
        session: _Session | None = None
        try:
            client.settimeout(CLIENT_TIMEOUT_S)
            while data := client.recv(65536):
                for message in reader.feed(data):
                    if not message.text:  # RTP / RTCP, interleaved
                        if session is None:
                            raise ValueError("media before the session was set up")
                        session.backend.sendall(message.raw)
                        continue
                    method, uri = _request_line(message.raw)
                    seq = _cseq(message.raw) or 0
                    here = PushPath.parse(uri) if uri != "*" else None
                    if path is None:
                        if here is None:
                            raise _Refusal(400, "the first request must name the stream", seq)
                        path = here
                        port = self._accept(peer, method, here, seq)
                        session = _Session(client, here, port)
                        session.open(message.raw, seq)
                        client.settimeout(None)
                        continue
                    elif here is not None and (here.stream_name, here.key) != (path.stream_name, path.key):
                        raise _Refusal(400, "a request named another stream in the same session", seq)
                    assert session is not None
                    if method == "SETUP" and b"RTP/AVP/TCP" not in message.raw.upper():
                        session.to_client(_reply(461, "Unsupported Transport", seq))
                        continue
                    session.forward(message.raw)
        except _Refusal as exc:
            name = path.stream_name if path else ""
            log.warning("channels: RTSP push refused from %s for %r: %s", peer, name, exc)
            self.on_refused(peer, name, str(exc))
            with contextlib.suppress(OSError):
                client.sendall(_reply(exc.status, STATUS_TEXT.get(exc.status, "Bad Request"), exc.seq))
        except (OSError, ValueError) as exc:
            log.info("channels: RTSP pusher %s dropped: %s", peer, exc)
        finally:
            if session is not None:
                session.finish()
            with contextlib.suppress(OSError):
                client.close()

    def _accept(self, peer: str, method: str, path: PushPath, seq: int) -> int:
        """What a pusher must pass before anything is answered: method, stream, address, key."""
        if method not in PUBLISH_METHODS:
            raise _Refusal(405, f"{method} is not taken here: this port only receives pushes", seq)
        try:
            target: PushTarget = self.resolve(path.stream_name)
        except Refused as exc:
            raise _Refusal(404, str(exc), seq) from exc
        reason = target.check_peer(peer)
        if reason is not None:
            raise _Refusal(403, reason, seq)
        if not path.key:
            raise _Refusal(401, "no stream key", seq)
        if not hmac.compare_digest(path.key.encode(), target.key.encode()):
            raise _Refusal(401, "wrong stream key", seq)
        return target.backend_port
