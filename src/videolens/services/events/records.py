"""Records and checks of the events capability: rows → records, endpoint checks."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime

from videolens.backends.metadata.tables.events import DeliveryRow, TopicRow
from videolens.services.errors import InvalidParameterError
from videolens.services.events.models import Delivery, Topic


def check_endpoint(protocol: str, endpoint: str) -> None:
    try:
        parsed = urllib.parse.urlsplit(endpoint or "")
        parsed.port  # noqa: B018 - raises on a port that is not a number within 0..65535
    except ValueError as exc:  # e.g. "http://[::1/x" (unbalanced IPv6 bracket)
        raise InvalidParameterError(f"Invalid parameter: Endpoint is not a valid URL: {exc}") from None
    if protocol in ("http", "https"):
        if parsed.scheme != protocol or not parsed.netloc:
            raise InvalidParameterError(f"Invalid parameter: Endpoint must be a {protocol}:// URL")
    elif protocol == "mqtt" and (
        parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname or not parsed.path.strip("/")
    ):
        raise InvalidParameterError(
            "Invalid parameter: Endpoint must look like mqtt://host[:port]/topic/name"
        )


def now() -> datetime:
    return datetime.now(UTC)


def topic_record(row: TopicRow) -> Topic:
    return Topic(row.topic_arn, row.name, row.created_at, dict(row.attributes or {}))


def delivery_record(row: DeliveryRow) -> Delivery:
    return Delivery(
        delivery_id=row.delivery_id,
        subscription_arn=row.subscription_arn,
        topic_arn=row.topic_arn,
        protocol=row.protocol,
        endpoint=row.endpoint,
        message_type=row.message_type,
        message_id=row.message_id,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        body=row.body,
    )
