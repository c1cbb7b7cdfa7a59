"""SNS facade (query protocol): topics, subscriptions (http/https webhooks, mqtt) and Publish."""

from __future__ import annotations

import base64
from typing import Any

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.services.errors import (
    InvalidPaginationTokenError,
    InvalidParameterError,
    NotFoundError,
)


def _events(ctx: AwsContext) -> Any:
    return ctx.container.events


def create_topic(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    topic = _events(ctx).create_topic(p["Name"], p.get("Attributes"))
    return {"TopicArn": topic.topic_arn}


def delete_topic(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    _events(ctx).delete_topic(p["TopicArn"])
    return {}


def list_topics(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    topics, token = _events(ctx).list_topics(p.get("NextToken"))
    out: dict[str, Any] = {"Topics": [{"TopicArn": t.topic_arn} for t in topics]}
    if token:
        out["NextToken"] = token
    return out


def get_topic_attributes(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    events = _events(ctx)
    topic = events.get_topic(p["TopicArn"])
    confirmed, pending = events.subscription_counts(topic.topic_arn)
    attributes = {
        **topic.attributes,
        "TopicArn": topic.topic_arn,
        "Owner": ctx.account_id,
        "DisplayName": topic.attributes.get("DisplayName", ""),
        "SubscriptionsConfirmed": str(confirmed),
        "SubscriptionsPending": str(pending),
        "SubscriptionsDeleted": "0",
    }
    return {"Attributes": attributes}


def subscribe(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    sub = _events(ctx).subscribe(
        p["TopicArn"], p["Protocol"], p.get("Endpoint", ""), p.get("Attributes"), base_url=ctx.base_url
    )
    if sub.confirmed or p.get("ReturnSubscriptionArn"):
        return {"SubscriptionArn": sub.subscription_arn}
    return {"SubscriptionArn": "pending confirmation"}


def confirm_subscription(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    sub = _events(ctx).confirm_subscription(p["TopicArn"], p["Token"])
    return {"SubscriptionArn": sub.subscription_arn}


def unsubscribe(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    _events(ctx).unsubscribe(p["SubscriptionArn"], base_url=ctx.base_url)
    return {}


def list_subscriptions_by_topic(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    subs, token = _events(ctx).list_subscriptions(p["TopicArn"], p.get("NextToken"))
    out: dict[str, Any] = {
        "Subscriptions": [
            {
                "SubscriptionArn": s.listed_arn,
                "Owner": s.owner,
                "Protocol": s.protocol,
                "Endpoint": s.endpoint,
                "TopicArn": s.topic_arn,
            }
            for s in subs
        ]
    }
    if token:
        out["NextToken"] = token
    return out


def publish(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    topic_arn = p.get("TopicArn") or p.get("TargetArn")
    if not topic_arn:
        raise InvalidParameterError("Invalid parameter: TopicArn or TargetArn is required")
    message = p["Message"]
    if p.get("MessageStructure") == "json":
        import json

        try:
            doc = json.loads(message)
            message = doc["default"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidParameterError(
                "Invalid parameter: Message Structure - JSON message body must have a 'default' key"
            ) from exc
    attributes: dict[str, dict[str, str]] = {}
    for name, value in (p.get("MessageAttributes") or {}).items():
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            raw = value["BinaryValue"]
            text = base64.b64encode(raw if isinstance(raw, bytes) else str(raw).encode()).decode()
        else:
            text = str(value.get("StringValue", ""))
        attributes[name] = {"Type": value["DataType"], "Value": text}
    message_id = _events(ctx).publish(topic_arn, message, p.get("Subject"), attributes, base_url=ctx.base_url)
    return {"MessageId": message_id}


SERVICE = AwsService(
    model_name="sns",
    handlers={
        "CreateTopic": create_topic,
        "DeleteTopic": delete_topic,
        "ListTopics": list_topics,
        "GetTopicAttributes": get_topic_attributes,
        "Subscribe": subscribe,
        "ConfirmSubscription": confirm_subscription,
        "Unsubscribe": unsubscribe,
        "ListSubscriptionsByTopic": list_subscriptions_by_topic,
        "Publish": publish,
    },
    error_map={
        NotFoundError: "NotFound",
        InvalidParameterError: "InvalidParameter",
        InvalidPaginationTokenError: "InvalidParameter",
    },
    validation_error="InvalidParameter",
    internal_error="InternalError",
)
