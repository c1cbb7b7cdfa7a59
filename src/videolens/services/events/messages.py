"""SNS-shaped delivery documents (confirmations, notifications) and their signatures.

The JSON bodies follow what AWS SNS POSTs to HTTP endpoints. AWS signs them with an RSA key whose
certificate lives on amazonaws.com, which a self-hosted server cannot reuse; we fill `Signature` with an
HMAC-SHA256 (base64) of SNS's canonical string, keyed with the subscription's secret, and also send our own
header `X-Videolens-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` that receivers
verify with the same secret (the timestamp lets them refuse replays).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

SIGNATURE_HEADER = "X-Videolens-Signature"
USER_AGENT = "Amazon Simple Notification Service Agent"

#: the fields SNS signs, in order, per message type
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def canonical_string(doc: dict[str, Any]) -> str:
    """SNS's string to sign: `Name\\nValue\\n` for each signed field present, in SNS's order."""
    fields = _SIGNED_FIELDS.get(str(doc.get("Type")), ())
    return "".join(f"{name}\n{doc[name]}\n" for name in fields if name in doc)


def sign_document(doc: dict[str, Any], secret: str, signing_cert_url: str) -> dict[str, Any]:
    mac = hmac.new(secret.encode(), canonical_string(doc).encode(), hashlib.sha256).digest()
    doc["SignatureVersion"] = "2"
    doc["Signature"] = base64.b64encode(mac).decode()
    doc["SigningCertURL"] = signing_cert_url
    return doc


def signature_header(body: str, secret: str, now: float | None = None) -> str:
    t = int(time.time() if now is None else now)
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature_header(header: str, body: str | bytes, secret: str, tolerance_s: float = 300.0) -> bool:
    """What a receiver does with `X-Videolens-Signature` (also used by our tests)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance_s:
        return False
    text = body.decode() if isinstance(body, bytes) else body
    expected = hmac.new(secret.encode(), f"{t}.{text}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def confirmation_document(
    message_type: str, message_id: str, topic_arn: str, token: str, subscribe_url: str
) -> dict[str, Any]:
    if message_type == "SubscriptionConfirmation":
        text = (
            f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        )
    else:
        text = (
            f"You have chosen to deactivate subscription to the topic {topic_arn}.\n"
            "To cancel this operation and restore the subscription, "
            "visit the SubscribeURL included in this message."
        )
    return {
        "Type": message_type,
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": text,
        "SubscribeURL": subscribe_url,
        "Timestamp": iso_now(),
    }


def notification_document(
    message_id: str,
    topic_arn: str,
    message: str,
    subject: str | None,
    unsubscribe_url: str,
    attributes: dict[str, dict[str, str]] | None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn}
    if subject is not None:
        doc["Subject"] = subject
    doc["Message"] = message
    doc["Timestamp"] = iso_now()
    doc["UnsubscribeURL"] = unsubscribe_url
    if attributes:
        doc["MessageAttributes"] = attributes
    return doc


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))
