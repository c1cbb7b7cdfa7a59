"""Tables of the events capability: topics, subscriptions, the delivery outbox (+ dead letters), rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from videolens.backends.metadata.base import Base


class TopicRow(Base):
    __tablename__ = "topics"

    topic_arn: Mapped[str] = mapped_column(String(512), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    subscription_arn: Mapped[str] = mapped_column(String(600), primary_key=True)
    topic_arn: Mapped[str] = mapped_column(String(512), ForeignKey("topics.topic_arn", ondelete="CASCADE"))
    protocol: Mapped[str] = mapped_column(String(16))  # http | https | mqtt
    endpoint: Mapped[str] = mapped_column(String(2048))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the confirmation token sent in SubscriptionConfirmation (SubscribeURL carries it)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    #: key of our HMAC-SHA256 signature header on every delivery to this subscription
    secret: Mapped[str] = mapped_column(String(128))
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_subscriptions_topic", "topic_arn"),)


class DeliveryRow(Base):
    """One message to one subscription; pending → delivered, or dead after the last failed attempt."""

    __tablename__ = "deliveries"

    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_arn: Mapped[str] = mapped_column(String(600))
    topic_arn: Mapped[str] = mapped_column(String(512))
    protocol: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(2048))
    message_type: Mapped[str] = mapped_column(String(32))  # Notification | SubscriptionConfirmation | ...
    message_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    #: a dispatcher holds a claimed delivery until then (several processes may dispatch)
    claimed_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)


class RuleRow(Base):
    """When an object lands in `bucket` (prefix / suffix filter), start a job of `job_type`."""

    __tablename__ = "bucket_rules"

    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(1024), default="")
    suffix: Mapped[str] = mapped_column(String(1024), default="")
    job_type: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    topic_arn: Mapped[str | None] = mapped_column(String(512), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_bucket_rules_bucket", "bucket"),)
