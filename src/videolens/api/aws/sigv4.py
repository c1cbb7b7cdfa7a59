"""AWS Signature Version 4 verification (header and presigned-query forms) for every facade.

The canonical request is rebuilt from the request exactly as received (raw path, raw query,
signed headers) following the AWS spec; key derivation and HMACs mirror `botocore.auth.SigV4Auth`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import urllib.parse
from dataclasses import dataclass

from botocore.auth import HmacV1Auth

from videolens.api.aws.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<sh>[^,\s]+),\s*"
    r"Signature=(?P<sig>[0-9a-fA-F]+)"
)
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class SignedRequest:
    """What the client claims: who signed, for which scope, over which headers."""

    access_key: str
    date: str  # YYYYMMDD of the scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    presigned: bool
    #: seconds of validity (SigV4) or absolute epoch expiry (SigV2 presigned S3 URLs)
    expires: int | None = None
    #: 4, or 2 for the legacy `AWSAccessKeyId=&Signature=&Expires=` S3 URLs boto3 presigns by default
    version: int = 4

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


class MalformedAuth(AwsError):
    def __init__(self, message: str) -> None:
        super().__init__("IncompleteSignature", message, 400)


def _split_credential(cred: str) -> tuple[str, str, str, str]:
    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise MalformedAuth(f"Invalid credential scope: {cred}")
    return parts[0], parts[1], parts[2], parts[3]


def parse_signed_request(headers: dict[str, str], query: list[tuple[str, str]]) -> SignedRequest | None:
    """The SigV4 claims of a request, or None when it is not SigV4-signed at all."""
    auth = headers.get("authorization", "")
    if auth.startswith(ALGORITHM):
        m = _AUTH_RE.match(auth)
        if m is None:
            raise MalformedAuth("Authorization header requires Credential, SignedHeaders and Signature.")
        key, date, region, service = _split_credential(m["cred"])
        amz_date = headers.get("x-amz-date") or _from_http_date(headers.get("date", ""))
        return SignedRequest(
            key, date, region, service, tuple(m["sh"].lower().split(";")), m["sig"].lower(), amz_date, False
        )
    q = dict(query)
    if "AWSAccessKeyId" in q and "Signature" in q and "Expires" in q:
        try:
            expires_at = int(q["Expires"])
        except ValueError as exc:
            raise MalformedAuth("Expires must be a number") from exc
        return SignedRequest(q["AWSAccessKeyId"], "", "", "s3", (), q["Signature"], "", True, expires_at, 2)
    if "X-Amz-Credential" in q:
        if q.get("X-Amz-Algorithm") != ALGORITHM:
            raise MalformedAuth("X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        key, date, region, service = _split_credential(q["X-Amz-Credential"])
        try:
            expires = int(q.get("X-Amz-Expires", "604800"))
        except ValueError as exc:
            raise MalformedAuth("X-Amz-Expires must be a number") from exc
        return SignedRequest(
            key,
            date,
            region,
            service,
            tuple(q.get("X-Amz-SignedHeaders", "host").lower().split(";")),
            q.get("X-Amz-Signature", "").lower(),
            q.get("X-Amz-Date", ""),
            True,
            expires,
        )
    return None


def _from_http_date(value: str) -> str:
    try:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(value).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError):
        return ""


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def canonical_query(raw_query: str, drop_signature: bool) -> str:
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        k, v = urllib.parse.unquote(k), urllib.parse.unquote(v)
        if drop_signature and k == "X-Amz-Signature":
            continue
        pairs.append((_quote(k), _quote(v)))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    signed: SignedRequest,
    payload_hash: str,
    s3: bool,
) -> str:
    # S3 signs the path as sent; every other service signs it percent-encoded once more.
    path = raw_path or "/"
    uri = path if s3 else urllib.parse.quote(path, safe="/~")
    lines = []
    for name in signed.signed_headers:
        value = headers.get(name)
        if value is None:
            raise AwsError("SignatureDoesNotMatch", f"Signed header {name} is missing", 403)
        lines.append(f"{name}:{_WS_RE.sub(' ', value.strip())}\n")
    return "\n".join(
        [
            method,
            uri,
            canonical_query(raw_query, signed.presigned),
            "".join(lines),
            ";".join(signed.signed_headers),
            payload_hash,
        ]
    )


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def string_to_sign(signed: SignedRequest, creq: str) -> str:
    digest = hashlib.sha256(creq.encode()).hexdigest()
    return f"{ALGORITHM}\n{signed.amz_date}\n{signed.scope}\n{digest}"


def signature_matches(signed: SignedRequest, secret: str, creq: str) -> bool:
    key = signing_key(secret, signed.date, signed.region, signed.service)
    expected = hmac.new(key, string_to_sign(signed, creq).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signed.signature)


def parse_amz_date(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def check_time(signed: SignedRequest, now: dt.datetime, skew_seconds: int) -> str | None:
    """'expired' (presign past its lifetime), 'skewed' (clock too far off), or None when fine."""
    if signed.version == 2:
        return "expired" if now.timestamp() > (signed.expires or 0) else None
    when = parse_amz_date(signed.amz_date)
    if when is None:
        return "skewed"
    if signed.presigned:
        if now > when + dt.timedelta(seconds=signed.expires or 0):
            return "expired"
        if when - now > dt.timedelta(seconds=skew_seconds):
            return "skewed"
        return None
    if abs((now - when).total_seconds()) > skew_seconds:
        return "skewed"
    return None


def auth_error(protocol: str, kind: str, signed: SignedRequest | None, now: dt.datetime) -> AwsError:
    """The error AWS itself answers with, per protocol family, for one kind of auth failure.

    kind: 'unknown_key' | 'bad_signature' | 'skewed' | 'expired' | 'missing' | 'forbidden' (the key's
    role is too weak) | 'throttled' (too many failed authentications from the address).
    """
    stamp = signed.amz_date if signed else ""
    now_s = now.strftime("%Y%m%dT%H%M%SZ")
    if protocol == "rest-xml":  # S3
        table = {
            "unknown_key": (
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
            "bad_signature": (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            ),
            "skewed": (
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            ),
            "expired": ("AccessDenied", "Request has expired"),
            "missing": ("AccessDenied", "Access Denied"),
            "forbidden": ("AccessDenied", "Access Denied"),
            "throttled": ("SlowDown", "Please reduce your request rate."),
        }
        code, message = table[kind]
        return AwsError(code, message, 503 if kind == "throttled" else 403)
    if protocol == "query":  # SNS
        table = {
            "unknown_key": ("InvalidClientTokenId", "The security token included in the request is invalid."),
            "bad_signature": (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ),
            "skewed": ("SignatureDoesNotMatch", f"Signature expired: {stamp} is now earlier than {now_s}"),
            "expired": ("SignatureDoesNotMatch", f"Signature expired: {stamp} is now earlier than {now_s}"),
            "missing": ("MissingAuthenticationToken", "Request is missing Authentication Token"),
            "forbidden": ("AuthorizationError", "The access key's role does not allow this action."),
            "throttled": ("Throttling", "Rate exceeded"),
        }
        code, message = table[kind]
        return AwsError(code, message, 400 if kind == "throttled" else 403)
    # json (Rekognition, Kinesis: 400) and rest-json (KVS: 403)
    status = 403 if protocol == "rest-json" else 400
    table = {
        "unknown_key": (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        "bad_signature": (
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        ),
        "skewed": ("InvalidSignatureException", f"Signature expired: {stamp} is now earlier than {now_s}"),
        "expired": ("InvalidSignatureException", f"Signature expired: {stamp} is now earlier than {now_s}"),
        "missing": ("MissingAuthenticationTokenException", "Missing Authentication Token"),
        "forbidden": (
            "AccessDeniedException" if protocol == "json" else "NotAuthorizedException",
            "The access key's role does not allow this action.",
        ),
        "throttled": (
            "ThrottlingException" if protocol == "json" else "ClientLimitExceededException",
            "Too many failed authentications from this address; slow down.",
        ),
    }
    code, message = table[kind]
    if kind in ("missing", "forbidden"):
        status = 403 if kind == "missing" or protocol == "json" else 401
    elif kind == "throttled":
        status = 400
    return AwsError(code, message, status)


def sigv2_signature_matches(
    method: str, raw_path: str, raw_query: str, headers: dict[str, str], signed: SignedRequest, secret: str
) -> bool:
    """Legacy S3 query-string auth (HMAC-SHA1), as `botocore.auth.HmacV1QueryAuth` signs it."""
    interesting = set(HmacV1Auth.QSAOfInterest)
    sub = []
    for part in raw_query.split("&"):
        k, eq, v = part.partition("=")
        if k in interesting:
            sub.append((k, urllib.parse.unquote(v)) if eq else (k,))
    resource = raw_path or "/"
    if sub:
        resource += "?" + "&".join("=".join(a) for a in sorted(sub, key=lambda a: a[0]))
    amz = sorted((k, v.strip()) for k, v in headers.items() if k.startswith("x-amz-"))
    lines = [
        method.upper(),
        headers.get("content-md5", ""),
        headers.get("content-type", ""),
        str(signed.expires),
    ]
    lines += [f"{k}:{v}" for k, v in amz]
    to_sign = "\n".join(lines) + "\n" + resource
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, signed.signature)
