"""Topics, subscriptions (webhooks, MQTT, in-process) and publishing into the durable delivery outbox."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.events import DeliveryRow, SubscriptionRow, TopicRow
from videolens.runtime.settings import Settings
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.events import messages
from videolens.services.events.models import (
    PROTOCOLS,
    Delivery,
    LocalCallback,
    LocalMessage,
    Subscription,
    Topic,
)
from videolens.services.events.records import check_endpoint, delivery_record, now, topic_record
from videolens.services.pagination import decode_token, encode_token

log = logging.getLogger(__name__)

TOPIC_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PAGE = 100
MAX_MESSAGE_BYTES = 256 * 1024
MAX_DELIVERY_PAGE = 1000


class EventsService:
    """Owns topics and subscriptions; `publish` writes one outbox row per confirmed subscription.

    A `DeliveryDispatcher` (background) sends the outbox rows; `wake` is set whenever new rows appear.
    """

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.wake = threading.Event()
        self._local: dict[str, dict[int, LocalCallback]] = {}
        self._local_lock = threading.Lock()
        self._local_seq = 0

    # ---------------------------------------------------------------- arns
    def topic_arn(self, name: str) -> str:
        return f"arn:aws:sns:{self.settings.region}:{self.settings.account_id}:{name}"

    def resolve_topic(self, name_or_arn: str) -> str:
        """The ARN of a topic given by ARN or by name (the native API and CLI accept both)."""
        return name_or_arn if name_or_arn.startswith("arn:") else self.topic_arn(name_or_arn)

    # ---------------------------------------------------------------- topics
    def create_topic(self, name: str, attributes: dict[str, str] | None = None) -> Topic:
        """Idempotent like SNS: the same name returns the existing topic."""
        if not TOPIC_NAME_RE.match(name or ""):
            raise InvalidParameterError(
                "Invalid parameter: Topic Name must be 1-256 letters, digits, hyphens or underscores"
            )
        arn = self.topic_arn(name)
        with self.db.session() as s:
            row = s.get(TopicRow, arn)
            if row is None:
                row = TopicRow(topic_arn=arn, name=name, attributes=dict(attributes or {}), created_at=now())
                s.add(row)
            return topic_record(row)

    def get_topic(self, topic_arn: str) -> Topic:
        with self.db.session() as s:
            return topic_record(self._topic_row(s, topic_arn))

    def topic_exists(self, topic_arn: str) -> bool:
        with self.db.session() as s:
            return s.get(TopicRow, topic_arn) is not None

    def delete_topic(self, topic_arn: str) -> None:
        """Deleting a topic that does not exist succeeds (as on SNS)."""
        with self.db.session() as s:
            s.execute(delete(SubscriptionRow).where(SubscriptionRow.topic_arn == topic_arn))
            s.execute(delete(TopicRow).where(TopicRow.topic_arn == topic_arn))

    def list_topics(self, next_token: str | None = None, page: int = PAGE) -> tuple[list[Topic], str | None]:
        offset = int(decode_token("topics", next_token)["o"]) if next_token else 0
        with self.db.session() as s:
            rows = s.scalars(
                select(TopicRow).order_by(TopicRow.topic_arn).offset(offset).limit(page + 1)
            ).all()
        more = len(rows) > page
        token = encode_token("topics", {"o": offset + page}) if more else None
        return [topic_record(r) for r in rows[:page]], token

    # ---------------------------------------------------------------- subscriptions
    def subscribe(
        self,
        topic_arn: str,
        protocol: str,
        endpoint: str,
        attributes: dict[str, str] | None = None,
        base_url: str | None = None,
    ) -> Subscription:
        """HTTP(S) subscriptions start pending (a SubscriptionConfirmation is sent); MQTT ones are live."""
        protocol = (protocol or "").lower()
        if protocol not in PROTOCOLS:
            raise InvalidParameterError(
                f"Invalid parameter: Protocol {protocol!r} is not supported ({PROTOCOLS})"
            )
        check_endpoint(protocol, endpoint)
        base = (base_url or self.settings.base_url).rstrip("/")
        with self.db.session() as s:
            self._topic_row(s, topic_arn)
            existing = s.scalar(
                select(SubscriptionRow).where(
                    SubscriptionRow.topic_arn == topic_arn,
                    SubscriptionRow.protocol == protocol,
                    SubscriptionRow.endpoint == endpoint,
                )
            )
            if existing is not None:  # SNS returns the same subscription for the same endpoint
                return self._subscription(existing)
            row = SubscriptionRow(
                subscription_arn=f"{topic_arn}:{uuid.uuid4()}",
                topic_arn=topic_arn,
                protocol=protocol,
                endpoint=endpoint,
                confirmed=protocol == "mqtt",
                token=secrets.token_hex(64),
                secret=secrets.token_hex(32),
                attributes=dict(attributes or {}),
                created_at=now(),
            )
            s.add(row)
            s.flush()
            if not row.confirmed:
                url = f"{base}/v1/events/confirm?" + urllib.parse.urlencode(
                    {"TopicArn": topic_arn, "Token": row.token}
                )
                doc = messages.confirmation_document(
                    "SubscriptionConfirmation", str(uuid.uuid4()), topic_arn, row.token, url
                )
                self._enqueue(s, row, doc, base)
            sub = self._subscription(row)
        self.wake.set()
        return sub

    def confirm_subscription(self, topic_arn: str, token: str) -> Subscription:
        with self.db.session() as s:
            row = s.scalar(select(SubscriptionRow).where(SubscriptionRow.token == token))
            if row is None or row.topic_arn != topic_arn:
                raise NotFoundError("Subscription not found for this topic and token")
            row.confirmed = True
            return self._subscription(row)

    def get_subscription(self, subscription_arn: str) -> Subscription:
        with self.db.session() as s:
            row = s.get(SubscriptionRow, subscription_arn)
            if row is None:
                raise NotFoundError(f"Subscription does not exist: {subscription_arn}")
            return self._subscription(row)

    def unsubscribe(self, subscription_arn: str, base_url: str | None = None) -> None:
        base = (base_url or self.settings.base_url).rstrip("/")
        with self.db.session() as s:
            row = s.get(SubscriptionRow, subscription_arn)
            if row is None:
                raise NotFoundError(f"Subscription does not exist: {subscription_arn}")
            if row.confirmed and row.protocol in ("http", "https"):
                url = f"{base}/v1/events/confirm?" + urllib.parse.urlencode(
                    {"TopicArn": row.topic_arn, "Token": row.token}
                )
                doc = messages.confirmation_document(
                    "UnsubscribeConfirmation", str(uuid.uuid4()), row.topic_arn, row.token, url
                )
                self._enqueue(s, row, doc, base)
            s.delete(row)
        self.wake.set()

    def list_subscriptions(
        self, topic_arn: str, next_token: str | None = None, page: int = PAGE
    ) -> tuple[list[Subscription], str | None]:
        offset = int(decode_token("subscriptions", next_token)["o"]) if next_token else 0
        with self.db.session() as s:
            self._topic_row(s, topic_arn)
            rows = s.scalars(
                select(SubscriptionRow)
                .where(SubscriptionRow.topic_arn == topic_arn)
                .order_by(SubscriptionRow.created_at, SubscriptionRow.subscription_arn)
                .offset(offset)
                .limit(page + 1)
            ).all()
            subs = [self._subscription(r) for r in rows[:page]]
        more = len(rows) > page
        return subs, (encode_token("subscriptions", {"o": offset + page}) if more else None)

    def subscription_counts(self, topic_arn: str) -> tuple[int, int]:
        """(confirmed, pending) subscriptions of a topic, counted by the database."""
        with self.db.session() as s:
            self._topic_row(s, topic_arn)
            counts = dict(
                s.execute(
                    select(SubscriptionRow.confirmed, func.count())
                    .where(SubscriptionRow.topic_arn == topic_arn)
                    .group_by(SubscriptionRow.confirmed)
                ).all()
            )
        return int(counts.get(True, 0)), int(counts.get(False, 0))

    # ---------------------------------------------------------------- in-process subscribers
    def subscribe_local(self, topic_arn: str, callback: LocalCallback) -> Any:
        """Call `callback(LocalMessage)` for every message published to the topic; returns unsubscribe()."""
        with self._local_lock:
            self._local_seq += 1
            key = self._local_seq
            self._local.setdefault(topic_arn, {})[key] = callback

        def unsubscribe() -> None:
            with self._local_lock:
                self._local.get(topic_arn, {}).pop(key, None)

        return unsubscribe

    # ---------------------------------------------------------------- publish
    def publish(
        self,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        attributes: dict[str, dict[str, str]] | None = None,
        base_url: str | None = None,
    ) -> str:
        """Queue the message for every confirmed subscription (durably, in one transaction)."""
        with self.db.session() as s:
            local = self.publish_in(s, topic_arn, message, subject, attributes, base_url)
        self.announce(local)
        return local.message_id

    def publish_in(
        self,
        s: Session,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        attributes: dict[str, dict[str, str]] | None = None,
        base_url: str | None = None,
    ) -> LocalMessage:
        """`publish` inside the caller's transaction (a job's result and its notification commit together);
        call `announce` with the answer once that transaction committed."""
        if not message:
            raise InvalidParameterError("Invalid parameter: Empty message")
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise InvalidParameterError("Invalid parameter: Message too long")
        base = (base_url or self.settings.base_url).rstrip("/")
        message_id = str(uuid.uuid4())
        self._topic_row(s, topic_arn)
        subs = s.scalars(
            select(SubscriptionRow).where(SubscriptionRow.topic_arn == topic_arn, SubscriptionRow.confirmed)
        ).all()
        for row in subs:
            unsubscribe_url = f"{base}/v1/events/unsubscribe?" + urllib.parse.urlencode(
                {"SubscriptionArn": row.subscription_arn}
            )
            doc = messages.notification_document(
                message_id, topic_arn, message, subject, unsubscribe_url, attributes
            )
            self._enqueue(s, row, doc, base, raw_message=message)
        return LocalMessage(topic_arn, message_id, message, subject, dict(attributes or {}))

    def announce(self, msg: LocalMessage) -> None:
        """After the commit of a publish: wake the dispatcher and call the in-process subscribers."""
        self.wake.set()
        self._call_local(msg)

    def _call_local(self, msg: LocalMessage) -> None:
        with self._local_lock:
            callbacks = list(self._local.get(msg.topic_arn, {}).values())
        for cb in callbacks:
            try:
                cb(msg)
            except Exception:  # a broken in-process subscriber must not fail the publisher
                log.exception("in-process subscriber of %s failed", msg.topic_arn)

    def _enqueue(
        self,
        s: Session,
        row: SubscriptionRow,
        doc: dict[str, Any],
        base: str,
        raw_message: str | None = None,
    ) -> None:
        messages.sign_document(doc, row.secret, f"{base}/v1/events/signing-info")
        raw = raw_message is not None and row.attributes.get("RawMessageDelivery", "").lower() == "true"
        body = raw_message if raw and raw_message is not None else messages.dumps(doc)
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": messages.USER_AGENT,
            "x-amz-sns-message-type": str(doc["Type"]),
            "x-amz-sns-message-id": str(doc["MessageId"]),
            "x-amz-sns-topic-arn": row.topic_arn,
            messages.SIGNATURE_HEADER: messages.signature_header(body, row.secret),
        }
        if doc["Type"] != "SubscriptionConfirmation":
            headers["x-amz-sns-subscription-arn"] = row.subscription_arn
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        now = time.time()
        s.add(
            DeliveryRow(
                subscription_arn=row.subscription_arn,
                topic_arn=row.topic_arn,
                protocol=row.protocol,
                endpoint=row.endpoint,
                message_type=str(doc["Type"]),
                message_id=str(doc["MessageId"]),
                body=body,
                headers=headers,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    # ---------------------------------------------------------------- outbox views
    def deliveries(self, status: str | None = None, limit: int = 100) -> list[Delivery]:
        if not 1 <= limit <= MAX_DELIVERY_PAGE:  # a negative LIMIT would mean "everything" to SQLite
            raise InvalidParameterError(f"limit must be between 1 and {MAX_DELIVERY_PAGE}")
        with self.db.session() as s:
            q = select(DeliveryRow).order_by(DeliveryRow.delivery_id.desc()).limit(limit)
            if status is not None:
                q = q.where(DeliveryRow.status == status)
            return [delivery_record(r) for r in s.scalars(q)]

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        return self.deliveries("dead", limit)

    def redrive(self, delivery_id: int) -> None:
        """Put a dead letter back in the queue for a fresh round of attempts."""
        with self.db.session() as s:
            # an id past the 64-bit range would overflow the database driver: it cannot exist anyway
            row = s.get(DeliveryRow, delivery_id) if 0 < delivery_id < 2**63 else None
            if row is None or row.status != "dead":
                raise NotFoundError(f"no dead letter {delivery_id}")
            row.status, row.attempts, row.next_attempt_at, row.claimed_until = "pending", 0, time.time(), None
        self.wake.set()

    def pending_count(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).where(DeliveryRow.status == "pending")) or 0)

    # ---------------------------------------------------------------- helpers
    def _topic_row(self, s: Session, topic_arn: str) -> TopicRow:
        row = s.get(TopicRow, topic_arn)
        if row is None:
            raise NotFoundError(f"Topic does not exist: {topic_arn}")
        return row

    def _subscription(self, row: SubscriptionRow) -> Subscription:
        return Subscription(
            subscription_arn=row.subscription_arn,
            topic_arn=row.topic_arn,
            protocol=row.protocol,
            endpoint=row.endpoint,
            confirmed=bool(row.confirmed),
            owner=str(self.settings.account_id),
            secret=row.secret,
            attributes=dict(row.attributes or {}),
        )
