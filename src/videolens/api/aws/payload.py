"""Streaming request bodies: pull from the ASGI channel, strip aws-chunked framing, check hashes.

S3 PutObject/UploadPart bodies can be gigabytes; they are never held in memory. The decoded bytes
flow through `RequestBody` into the blob store while the SHA-256 / CRC checks run alongside; a
mismatch raises at the end of the body, before the service commits anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from videolens.api.aws.errors import AwsError
from videolens.api.aws.sigv4 import EMPTY_SHA256

Pull = Callable[[], bytes]  # next raw chunk of the HTTP body, b"" at the end
MAX_TRAILERS = 32


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes, /) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


def _checksum_hasher(algorithm: str) -> _Hasher | None:
    """Hashers for the flexible-checksum algorithms we can compute without awscrt."""
    if algorithm == "crc32":
        return _Crc32()
    if algorithm == "sha1":
        return hashlib.sha1(usedforsecurity=False)
    if algorithm == "sha256":
        return hashlib.sha256()
    return None  # crc32c / crc64nvme need awscrt: accepted and stored, not verified


@dataclass(frozen=True)
class ChunkSigning:
    """Everything needed to check STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunk signatures."""

    key: bytes
    amz_date: str
    scope: str
    seed_signature: str

    def sign(self, previous: str, data_hash: str) -> str:
        sts = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, previous, EMPTY_SHA256, data_hash]
        )
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()


class _Buffered:
    def __init__(self, pull: Pull) -> None:
        self._pull = pull
        self._buf = bytearray()
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self._pull()
        if not data:
            self.eof = True
            return False
        self._buf += data
        return True

    def readline(self, limit: int = 8192) -> bytes:
        while True:
            idx = self._buf.find(b"\r\n")
            if idx >= 0:
                line = bytes(self._buf[:idx])
                del self._buf[: idx + 2]
                return line
            if len(self._buf) > limit or not self._fill():
                raise AwsError("IncompleteBody", "Malformed aws-chunked body")

    def read_upto(self, n: int) -> bytes:
        if not self._buf and not self._fill():
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly")
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def decode_aws_chunked(
    pull: Pull, trailers: dict[str, str], signing: ChunkSigning | None = None
) -> Iterator[bytes]:
    """Yield the payload of an aws-chunked body; fills `trailers` when the final chunk is read."""
    src = _Buffered(pull)
    previous = signing.seed_signature if signing else ""
    while True:
        header = src.readline().decode("latin-1")
        size_text, _, ext = header.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError as exc:
            raise AwsError("IncompleteBody", "Malformed aws-chunked chunk header") from exc
        if size < 0:  # int() takes "-1": a negative size would spin read_upto forever
            raise AwsError("IncompleteBody", "Malformed aws-chunked chunk header")
        chunk_sig = ext.partition("chunk-signature=")[2].strip() if ext else ""
        digest = hashlib.sha256() if signing else None
        left = size
        while left:
            data = src.read_upto(left)
            left -= len(data)
            if digest is not None:
                digest.update(data)
            yield data
        if signing is not None and digest is not None:
            expected = signing.sign(previous, digest.hexdigest())
            if not hmac.compare_digest(expected, chunk_sig.lower()):
                raise AwsError("SignatureDoesNotMatch", "The chunk signature does not match", 403)
            previous = expected
        if size == 0:
            while True:
                line = src.readline().decode("latin-1")
                if not line:
                    return
                name, _, value = line.partition(":")
                trailers[name.strip().lower()] = value.strip()
                if len(trailers) > MAX_TRAILERS:  # trailer bytes count against no size limit
                    raise AwsError("IncompleteBody", "Too many trailing headers in aws-chunked body")
        if src.readline() != b"":
            raise AwsError("IncompleteBody", "Malformed aws-chunked chunk terminator")


class RequestBody:
    """The decoded body of an operation with a streaming input payload; iterate it once.

    After the last chunk, `checksums` maps `x-amz-checksum-<alg>` to the base64 value (verified
    when we can compute the algorithm) so the handler can store and echo it.
    """

    def __init__(
        self,
        pull: Pull,
        headers: dict[str, str],
        max_bytes: int,
        signing: ChunkSigning | None = None,
    ) -> None:
        self._headers = headers
        self._max = max_bytes
        self.trailers: dict[str, str] = {}
        self.checksums: dict[str, str] = {}
        self.size = 0
        encoding = [e.strip() for e in headers.get("content-encoding", "").split(",")]
        self.aws_chunked = "aws-chunked" in encoding or headers.get("x-amz-content-sha256", "").startswith(
            "STREAMING-"
        )
        if self.aws_chunked:
            self._chunks: Iterator[bytes] = decode_aws_chunked(pull, self.trailers, signing)
        else:
            self._chunks = iter(pull, b"")
        self._consumed = False
        declared = headers.get("x-amz-decoded-content-length") or (
            None if self.aws_chunked else headers.get("content-length")
        )
        self.declared_length = int(declared) if declared and declared.isdigit() else None

    @property
    def content_encoding(self) -> str | None:
        """Content-Encoding to store: the header minus the transport-only aws-chunked token."""
        parts = [e.strip() for e in self._headers.get("content-encoding", "").split(",")]
        kept = [p for p in parts if p and p != "aws-chunked"]
        return ",".join(kept) or None

    def __iter__(self) -> Iterator[bytes]:
        if self._consumed:
            raise RuntimeError("request body already consumed")
        self._consumed = True
        payload_hash = self._headers.get("x-amz-content-sha256", "")
        sha = hashlib.sha256() if len(payload_hash) == 64 and not self.aws_chunked else None
        algorithm = self._algorithm()
        hasher = _checksum_hasher(algorithm) if algorithm else None
        for chunk in self._chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._max:
                raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if sha is not None:
                sha.update(chunk)
            if hasher is not None:
                hasher.update(chunk)
            yield chunk
        if self.declared_length is not None and self.size != self.declared_length:
            raise AwsError("IncompleteBody", "The request body does not match its declared length")
        if sha is not None and sha.hexdigest() != payload_hash.lower():
            raise AwsError(
                "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match"
            )
        if algorithm:
            name = f"x-amz-checksum-{algorithm}"
            claimed = self.trailers.get(name) or self._headers.get(name)
            if hasher is not None:
                actual = base64.b64encode(hasher.digest()).decode()
                if claimed is not None and claimed != actual:
                    raise AwsError(
                        "BadDigest",
                        f"The {algorithm.upper()} you specified did not match the calculated checksum.",
                    )
                self.checksums[name] = actual
            elif claimed:
                self.checksums[name] = claimed

    def read(self) -> bytes:
        """The whole body (only for bodies known to be small)."""
        return b"".join(self)

    def _algorithm(self) -> str | None:
        for source in (self._headers.get("x-amz-trailer", ""), *self._headers):
            if source.startswith("x-amz-checksum-") and source != "x-amz-checksum-mode":
                alg = source[len("x-amz-checksum-") :].lower()
                if alg in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256"):
                    return alg
        alg = self._headers.get("x-amz-sdk-checksum-algorithm", "").lower()
        return alg or None
