"""The RTMP door of every push input: security groups and stream keys checked, then spliced to a channel.

ffmpeg's own RTMP server (which the channel's runner listens with, on a loopback port) accepts any
publisher and never sees the pusher's address. So the public port is ours: we do the RTMP handshake,
read the client's `connect` (its app = the input's "app/instance" StreamName) and check the pusher's
address against the input's security groups, then open the channel's loopback listener, replay the
client's bytes to it and splice both ways, still reading the client's messages until `publish` names
the stream key (compared in constant time). A refusal closes the connection and is logged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

HANDSHAKE = 1536
#: how long the gate waits for the pusher's handshake and connect
CLIENT_TIMEOUT_S = 10.0
#: how long it keeps trying the channel's listener (between two listens of ffmpeg's server)
BACKEND_WAIT_S = 8.0


class Refused(Exception):
    pass


# -- AMF0 (just what connect / publish carry) --------------------------------------------------------


def _amf_value(data: bytes, pos: int) -> tuple[Any, int]:
    marker = data[pos]
    pos += 1
    if marker == 0x00:
        return struct.unpack(">d", data[pos : pos + 8])[0], pos + 8
    if marker == 0x01:
        return bool(data[pos]), pos + 1
    if marker == 0x02:
        (n,) = struct.unpack(">H", data[pos : pos + 2])
        return data[pos + 2 : pos + 2 + n].decode("utf-8", "replace"), pos + 2 + n
    if marker in (0x03, 0x08):
        if marker == 0x08:
            pos += 4
        obj: dict[str, Any] = {}
        while pos + 3 <= len(data):
            (n,) = struct.unpack(">H", data[pos : pos + 2])
            if n == 0 and data[pos + 2] == 0x09:
                return obj, pos + 3
            key = data[pos + 2 : pos + 2 + n].decode("utf-8", "replace")
            obj[key], pos = _amf_value(data, pos + 2 + n)
        raise ValueError("unterminated AMF object")
    if marker in (0x05, 0x06):
        return None, pos
    raise ValueError(f"AMF0 marker {marker:#x} not expected in a command")


def amf_command(payload: bytes) -> list[Any]:
    """The values of an AMF0 command message (name, transaction id, arguments...)."""
    values: list[Any] = []
    pos = 0
    while pos < len(payload) and len(values) < 6:
        value, pos = _amf_value(payload, pos)
        values.append(value)
    return values


# -- chunk stream (client to server) -----------------------------------------------------------------


@dataclass
class _ChunkStream:
    length: int = 0
    type_id: int = 0
    extended: bool = False
    body: bytearray = field(default_factory=bytearray)


class ChunkReader:
    """Incremental RTMP chunk-stream parser: `feed(bytes)` returns the completed command messages."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.chunk_size = 128
        self.streams: dict[int, _ChunkStream] = {}

    def feed(self, data: bytes) -> list[list[Any]]:
        self.buffer += data
        commands: list[list[Any]] = []
        while True:
            message = self._one_chunk()
            if message is None:
                return commands
            type_id, body = message
            if type_id == 1 and len(body) >= 4:
                self.chunk_size = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
            elif type_id in (17, 20):
                with contextlib.suppress(ValueError, IndexError, struct.error):
                    commands.append(amf_command(body[1:] if type_id == 17 else body))

    def _one_chunk(self) -> tuple[int, bytes] | None:
        buf = self.buffer
        if not buf:
            return None
        fmt, csid, pos = buf[0] >> 6, buf[0] & 0x3F, 1
        if csid == 0:
            if len(buf) < 2:
                return None
            csid, pos = 64 + buf[1], 2
        elif csid == 1:
            if len(buf) < 3:
                return None
            csid, pos = 64 + buf[1] + buf[2] * 256, 3
        header = (11, 7, 3, 0)[fmt]
        if len(buf) < pos + header:
            return None
        stream = self.streams.setdefault(csid, _ChunkStream())
        extended = stream.extended
        if fmt < 3:
            ts = int.from_bytes(buf[pos : pos + 3], "big")
            extended = ts == 0xFFFFFF
            if fmt < 2:
                stream.length = int.from_bytes(buf[pos + 3 : pos + 6], "big")
                stream.type_id = buf[pos + 6]
        pos += header
        if extended:
            pos += 4
        want = min(self.chunk_size, stream.length - len(stream.body))
        if len(buf) < pos + want:
            return None
        stream.extended = extended
        stream.body += buf[pos : pos + want]
        del buf[: pos + want]
        if len(stream.body) < stream.length:
            return self._one_chunk() if buf else None
        body = bytes(stream.body)
        stream.body.clear()
        return stream.type_id, body


# -- the gate ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushTarget:
    """Where an accepted push goes: the channel's loopback listener, and the key it must publish with."""

    backend_port: int
    key: str
    check_peer: Callable[[str], str | None]  # None: allowed, else the reason for refusing


Resolve = Callable[[str], PushTarget]  # app → target; raises Refused(reason)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Refused("connection closed during the handshake")
        data += chunk
    return bytes(data)


class RtmpGate:
    """Listens on the public RTMP port; one thread per pusher connection."""

    def __init__(
        self, host: str, port: int, resolve: Resolve, on_refused: Callable[[str, str, str], None]
    ) -> None:
        self.host = host
        self.port = port
        self.resolve = resolve
        self.on_refused = on_refused
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sock = socket.create_server((self.host, self.port), reuse_port=False)
        sock.settimeout(0.5)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="channels-rtmp-gate", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                client, address = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(client, address[0]), name="channels-rtmp-push", daemon=True
            ).start()

    def _serve(self, client: socket.socket, peer: str) -> None:
        path = ""
        try:
            client.settimeout(CLIENT_TIMEOUT_S)
            c0c1 = _read_exact(client, 1 + HANDSHAKE)
            s1 = struct.pack(">II", int(time.time()) & 0xFFFFFFFF, 0) + os.urandom(HANDSHAKE - 8)
            client.sendall(b"\x03" + s1 + c0c1[1:])  # S0, S1, S2 (= C1 echoed)
            _read_exact(client, HANDSHAKE)  # C2
            reader = ChunkReader()
            pending = bytearray()
            app = None
            while app is None:
                data = client.recv(65536)
                if not data:
                    raise Refused("closed before connect")
                pending += data
                for command in reader.feed(data):
                    if (
                        command
                        and command[0] == "connect"
                        and len(command) > 2
                        and isinstance(command[2], dict)
                    ):
                        app = str(command[2].get("app") or "").strip("/")
            path = app
            target = self.resolve(app)
            reason = target.check_peer(peer)
            if reason is not None:
                raise Refused(reason)
            backend = self._open_backend(target.backend_port)
        except Refused as exc:
            self._refuse(client, peer, path, str(exc))
            return
        except (OSError, ValueError) as exc:
            log.info("channels: RTMP pusher %s dropped before publishing: %s", peer, exc)
            client.close()
            return
        client.settimeout(None)
        backend.sendall(bytes(pending))
        self._splice(client, backend, reader, target, peer, path)

    def _refuse(self, client: socket.socket, peer: str, path: str, reason: str) -> None:
        log.warning("channels: RTMP push refused from %s for %r: %s", peer, path, reason)
        self.on_refused(peer, path, reason)
        with contextlib.suppress(OSError):
            client.close()

    @staticmethod
    def _open_backend(port: int) -> socket.socket:
        """Connect to the channel's ffmpeg listener and do the client half of the handshake with it."""
        deadline = time.monotonic() + BACKEND_WAIT_S
        while True:
            try:
                backend = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise Refused("the channel is not listening") from exc
                time.sleep(0.05)
        c1 = struct.pack(">II", 0, 0) + os.urandom(HANDSHAKE - 8)
        backend.sendall(b"\x03" + c1)
        s0s1s2 = _read_exact(backend, 1 + 2 * HANDSHAKE)
        backend.sendall(s0s1s2[1 : 1 + HANDSHAKE])  # C2 = S1 echoed
        backend.settimeout(None)
        return backend

    def _splice(
        self,
        client: socket.socket,
        backend: socket.socket,
        reader: ChunkReader | None,
        target: PushTarget,
        peer: str,
        path: str,
    ) -> None:
        import hmac

        def close_both() -> None:
            for s in (client, backend):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        def downstream() -> None:
            with contextlib.suppress(OSError):
                while data := backend.recv(65536):
                    client.sendall(data)
            close_both()

        down = threading.Thread(target=downstream, name="channels-rtmp-down", daemon=True)
        down.start()
        try:
            while data := client.recv(65536):
                if reader is not None:
                    for command in reader.feed(data):
                        if command and command[0] == "publish" and len(command) > 3:
                            key = str(command[3] or "").split("?", 1)[0]
                            if not hmac.compare_digest(key.encode(), target.key.encode()):
                                close_both()
                                self._refuse(client, peer, path, "wrong stream key")
                                backend.close()
                                return
                            reader = None  # the key is good: pass the media through untouched
                            break
                backend.sendall(data)
            # the pusher finished: half-close, so ffmpeg's server reads the last packets before its
            # answer could meet a closed socket (a reset would throw away what it had not read yet)
            with contextlib.suppress(OSError):
                backend.shutdown(socket.SHUT_WR)
            down.join(10)
        except OSError:
            pass
        finally:
            close_both()
            with contextlib.suppress(OSError):
                client.close()
                backend.close()
