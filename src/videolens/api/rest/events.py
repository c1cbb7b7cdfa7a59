"""Native REST routes of the events capability: topics, subscriptions, publishing, deliveries, bucket rules.

Also serves the URLs put into SNS-shaped messages: `SubscribeURL` (/v1/events/confirm) and
`UnsubscribeURL` (/v1/events/unsubscribe) answer like SNS does (XML), so a webhook that confirms by
GETting SubscribeURL works unchanged.
"""

from __future__ import annotations

from typing import Any, Literal
from xml.sax.saxutils import escape

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from videolens.api.auth import require_role, token_in_query
from videolens.api.deps import ContainerDep
from videolens.api.rest.jobs import JobTypeName
from videolens.services.auth.models import Role
from videolens.services.events.models import Delivery, Subscription, Topic
from videolens.services.rules.service import Rule

router = APIRouter(prefix="/v1", tags=["events"])
SNS_NS = "http://sns.amazonaws.com/doc/2010-03-31/"


class CreateTopicRequest(BaseModel):
    name: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
    attributes: dict[str, str] = Field(default_factory=dict)


class TopicPage(BaseModel):
    topics: list[Topic]
    next_token: str | None = None


class SubscribeRequest(BaseModel):
    protocol: Literal["http", "https", "mqtt"]
    endpoint: str = Field(min_length=1, max_length=2048)
    attributes: dict[str, str] = Field(default_factory=dict)


class SubscriptionPage(BaseModel):
    subscriptions: list[Subscription]
    next_token: str | None = None


class PublishRequest(BaseModel):
    message: str = Field(min_length=1)
    subject: str | None = None


class PublishResult(BaseModel):
    message_id: str


class CreateRuleRequest(BaseModel):
    bucket: str = Field(min_length=1, max_length=255)
    job_type: JobTypeName
    prefix: str = ""
    suffix: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    topic_arn: str | None = None
    rule_id: str | None = None


# ---------------------------------------------------------------- topics
@router.post(
    "/topics",
    status_code=201,
    response_model=Topic,
    tags=["events"],
    dependencies=[require_role(Role.OPERATOR)],
)
async def create_topic(body: CreateTopicRequest, container: ContainerDep) -> Topic:
    topic: Topic = await run_in_threadpool(container.events.create_topic, body.name, body.attributes)
    return topic


@router.get("/topics", response_model=TopicPage, dependencies=[require_role(Role.VIEWER)])
async def list_topics(container: ContainerDep, next_token: str | None = None) -> TopicPage:
    topics, token = await run_in_threadpool(container.events.list_topics, next_token)
    return TopicPage(topics=topics, next_token=token)


@router.get("/topics/{topic}", response_model=Topic, dependencies=[require_role(Role.VIEWER)])
async def get_topic(topic: str, container: ContainerDep) -> Topic:
    found: Topic = await run_in_threadpool(container.events.get_topic, container.events.resolve_topic(topic))
    return found


@router.delete("/topics/{topic}", status_code=204, dependencies=[require_role(Role.OPERATOR)])
async def delete_topic(topic: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.events.delete_topic, container.events.resolve_topic(topic))
    return Response(status_code=204)


@router.post(
    "/topics/{topic}/subscriptions",
    status_code=201,
    response_model=Subscription,
    dependencies=[require_role(Role.OPERATOR)],
)
async def subscribe(topic: str, body: SubscribeRequest, container: ContainerDep) -> Subscription:
    sub: Subscription = await run_in_threadpool(
        container.events.subscribe,
        container.events.resolve_topic(topic),
        body.protocol,
        body.endpoint,
        body.attributes,
    )
    return sub


@router.get(
    "/topics/{topic}/subscriptions",
    response_model=SubscriptionPage,
    dependencies=[require_role(Role.OPERATOR)],
)
async def list_subscriptions(
    topic: str, container: ContainerDep, next_token: str | None = None
) -> SubscriptionPage:
    subs, token = await run_in_threadpool(
        container.events.list_subscriptions, container.events.resolve_topic(topic), next_token
    )
    return SubscriptionPage(subscriptions=subs, next_token=token)


@router.post(
    "/topics/{topic}/publish", response_model=PublishResult, dependencies=[require_role(Role.OPERATOR)]
)
async def publish(topic: str, body: PublishRequest, container: ContainerDep) -> PublishResult:
    message_id = await run_in_threadpool(
        container.events.publish, container.events.resolve_topic(topic), body.message, body.subject
    )
    return PublishResult(message_id=message_id)


@router.get(
    "/subscriptions/{subscription_arn}",
    response_model=Subscription,
    dependencies=[require_role(Role.OPERATOR)],
)
async def get_subscription(subscription_arn: str, container: ContainerDep) -> Subscription:
    sub: Subscription = await run_in_threadpool(container.events.get_subscription, subscription_arn)
    return sub


@router.delete(
    "/subscriptions/{subscription_arn}", status_code=204, dependencies=[require_role(Role.OPERATOR)]
)
async def delete_subscription(subscription_arn: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.events.unsubscribe, subscription_arn)
    return Response(status_code=204)


# ---------------------------------------------------------------- SNS-style confirmation links
def _sns_xml(
    operation: str, result: str, request_id: str = "00000000-0000-0000-0000-000000000000"
) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><{operation}Response xmlns="{SNS_NS}">{result}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    )
    return Response(body, media_type="text/xml")


#: the SNS-style links answer with SNS's XML document; an unknown ARN or token is a 404 problem
SNS_LINK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {"schema": {"type": "string"}}}},
    404: {"description": "No such subscription (or the token does not match)"},
}


@router.get(
    "/events/confirm",
    response_class=Response,
    responses=SNS_LINK_RESPONSES,
    dependencies=[token_in_query("Token")],
)
async def confirm(TopicArn: str, Token: str, container: ContainerDep) -> Response:  # noqa: N803 - SNS names
    sub: Subscription = await run_in_threadpool(container.events.confirm_subscription, TopicArn, Token)
    result = (
        "<ConfirmSubscriptionResult><SubscriptionArn>"
        f"{escape(sub.subscription_arn)}</SubscriptionArn></ConfirmSubscriptionResult>"
    )
    return _sns_xml("ConfirmSubscription", result)


@router.get(
    "/events/unsubscribe",
    response_class=Response,
    responses=SNS_LINK_RESPONSES,
    dependencies=[require_role(Role.OPERATOR)],
)
async def unsubscribe_link(SubscriptionArn: str, container: ContainerDep) -> Response:  # noqa: N803
    await run_in_threadpool(container.events.unsubscribe, SubscriptionArn)
    return _sns_xml("Unsubscribe", "")


@router.get("/events/signing-info", dependencies=[require_role(Role.VIEWER)])
async def signing_info() -> dict[str, str]:
    return {
        "scheme": "HMAC-SHA256",
        "header": "X-Videolens-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<body>')>",
        "sns_signature": "base64 HMAC-SHA256(secret, SNS canonical string), SignatureVersion 2",
        "secret": "the subscription's `secret` (GET /v1/subscriptions/{arn})",
    }


# ---------------------------------------------------------------- deliveries
@router.get("/events/deliveries", response_model=list[Delivery], dependencies=[require_role(Role.VIEWER)])
async def deliveries(
    container: ContainerDep, status: Literal["pending", "delivered", "dead"] | None = None, limit: int = 100
) -> list[Delivery]:
    found: list[Delivery] = await run_in_threadpool(container.events.deliveries, status, limit)
    return found


@router.get("/events/dead-letters", response_model=list[Delivery], dependencies=[require_role(Role.VIEWER)])
async def dead_letters(container: ContainerDep, limit: int = 100) -> list[Delivery]:
    found: list[Delivery] = await run_in_threadpool(container.events.dead_letters, limit)
    return found


@router.post(
    "/events/dead-letters/{delivery_id}/redrive", status_code=204, dependencies=[require_role(Role.OPERATOR)]
)
async def redrive(delivery_id: int, container: ContainerDep) -> Response:
    await run_in_threadpool(container.events.redrive, delivery_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- bucket rules
@router.post(
    "/rules", status_code=201, response_model=Rule, tags=["rules"], dependencies=[require_role(Role.OPERATOR)]
)
async def create_rule(body: CreateRuleRequest, container: ContainerDep) -> Rule:
    rule: Rule = await run_in_threadpool(
        lambda: container.rules.create(
            body.bucket,
            body.job_type,
            prefix=body.prefix,
            suffix=body.suffix,
            params=body.params,
            topic_arn=body.topic_arn,
            rule_id=body.rule_id,
        )
    )
    return rule


@router.get("/rules", response_model=list[Rule], tags=["rules"], dependencies=[require_role(Role.VIEWER)])
async def list_rules(container: ContainerDep, bucket: str | None = None) -> list[Rule]:
    rules: list[Rule] = await run_in_threadpool(container.rules.list, bucket)
    return rules


@router.get("/rules/{rule_id}", response_model=Rule, tags=["rules"], dependencies=[require_role(Role.VIEWER)])
async def get_rule(rule_id: str, container: ContainerDep) -> Rule:
    rule: Rule = await run_in_threadpool(container.rules.get, rule_id)
    return rule


@router.delete(
    "/rules/{rule_id}", status_code=204, tags=["rules"], dependencies=[require_role(Role.OPERATOR)]
)
async def delete_rule(rule_id: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.rules.delete, rule_id)
    return Response(status_code=204)
