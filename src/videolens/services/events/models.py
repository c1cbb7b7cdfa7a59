"""Result types of the events capability (front-door neutral)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING_ARN = "PendingConfirmation"
PROTOCOLS = ("http", "https", "mqtt")


@dataclass(frozen=True)
class Topic:
    topic_arn: str
    name: str
    created_at: datetime
    attributes: dict[str, str]


@dataclass(frozen=True)
class Subscription:
    subscription_arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    confirmed: bool
    owner: str
    #: key of the X-Videolens-Signature HMAC on every delivery to this endpoint
    secret: str
    attributes: dict[str, str]

    @property
    def listed_arn(self) -> str:
        """The ARN as the SNS list APIs show it: PendingConfirmation until confirmed."""
        return self.subscription_arn if self.confirmed else PENDING_ARN


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    subscription_arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    message_type: str
    message_id: str
    status: str  # pending | delivered | dead
    attempts: int
    last_error: str | None
    body: str


@dataclass(frozen=True)
class LocalMessage:
    """What an in-process subscriber receives."""

    topic_arn: str
    message_id: str
    message: str
    subject: str | None
    attributes: dict[str, dict[str, str]]


LocalCallback = Callable[[LocalMessage], Any]
