"""Signed (presigned) URLs for browsers and players: a GET that carries its own short-lived credential.

A `<video src>` or hls.js cannot add an Authorization header, so a caller with a credential asks for
a URL instead. The URL gets three query parameters: `vl-credential` (the issuing token or access key
id, never a secret), `vl-expires` (unix seconds) and `vl-signature`: hex HMAC-SHA256 over
"GET\\n<path>\\n<every other query parameter, sorted and percent-encoded>". The key is derived from
the data directory's master key, so every process of one deployment verifies the others' URLs and
no extra secret has to be distributed. A URL grants exactly that one path and query, only while it
has not expired and its issuing credential is still active (a revoked token kills its URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Sequence

from videolens.services.errors import UnauthenticatedError

CREDENTIAL = "vl-credential"
EXPIRES = "vl-expires"
SIGNATURE = "vl-signature"


class SignedUrlError(UnauthenticatedError):
    code = "invalid-signed-url"


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def _string_to_sign(path: str, query: Sequence[tuple[str, str]]) -> bytes:
    pairs = sorted((_quote(k), _quote(v)) for k, v in query if k != SIGNATURE)
    canonical = "&".join(f"{k}={v}" for k, v in pairs)
    return f"GET\n{path}\n{canonical}".encode()


def is_signed(query: Sequence[tuple[str, str]]) -> bool:
    return any(k == SIGNATURE for k, _ in query)


class UrlSigner:
    def __init__(self, master_key: bytes) -> None:
        self._key = hmac.new(master_key, b"videolens signed urls v1", hashlib.sha256).digest()

    def _mac(self, path: str, query: Sequence[tuple[str, str]]) -> str:
        return hmac.new(self._key, _string_to_sign(path, query), hashlib.sha256).hexdigest()

    def sign(self, target: str, credential_id: str, expires_at: int) -> str:
        """`target` ("/path?query", percent-encoded as a client sends it) with the signature added."""
        parts = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(parts.path)
        query = [
            (k, v)
            for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            if k not in (CREDENTIAL, EXPIRES, SIGNATURE)
        ]
        query += [(CREDENTIAL, credential_id), (EXPIRES, str(expires_at))]
        query.append((SIGNATURE, self._mac(path, query)))
        return urllib.parse.quote(path) + "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)

    def verify(self, path: str, query: Sequence[tuple[str, str]], now: float | None = None) -> str:
        """The issuing credential id of a valid, unexpired signed URL; SignedUrlError otherwise."""
        values = dict(query)
        signature = values.get(SIGNATURE, "")
        credential = values.get(CREDENTIAL)
        if not credential or not values.get(EXPIRES, "").isdigit():
            raise SignedUrlError("signed URL lacks vl-credential or vl-expires")
        if not hmac.compare_digest(self._mac(path, query), signature.lower()):
            raise SignedUrlError("signed URL signature does not match")
        if int(values[EXPIRES]) < (time.time() if now is None else now):
            raise SignedUrlError("signed URL has expired")
        return credential
