"""SNS facade with boto3 + delivery: signatures, retries with back-off, dead letters, in-process."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.conftest import RunningServer
from tests.jobs.conftest import aws_client
from tests.jobs.webhook import WebhookReceiver
from videolens.services.events.messages import canonical_string, verify_signature_header
from videolens.services.events.models import LocalMessage


def test_sns_topics_and_subscriptions(server: RunningServer, webhook: WebhookReceiver) -> None:
    sns = aws_client("sns", server.url)
    arn = sns.create_topic(Name="alpha")["TopicArn"]
    assert sns.create_topic(Name="alpha")["TopicArn"] == arn  # idempotent
    sns.create_topic(Name="beta")
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]] == ["alpha", "beta"]
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.create_topic(Name="bad name!")
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.subscribe(TopicArn=arn + "-missing", Protocol="http", Endpoint=webhook.url)
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=arn, Protocol="sms", Endpoint="+15555550100")

    webhook.confirm = False  # confirm through the API this time, with the token from the message
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=webhook.url)
    confirmation = webhook.wait_for("SubscriptionConfirmation")[0].doc
    assert confirmation["TopicArn"] == arn and confirmation["SignatureVersion"] == "2"
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert listed[0]["SubscriptionArn"] == "PendingConfirmation" and listed[0]["Protocol"] == "http"
    assert listed[0]["Owner"] == "000000000000"
    # nothing is sent to an unconfirmed endpoint
    sns.publish(TopicArn=arn, Message="early")
    sub_arn = sns.confirm_subscription(TopicArn=arn, Token=confirmation["Token"])["SubscriptionArn"]
    assert sub_arn.startswith(arn + ":")
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["SubscriptionsConfirmed"] == "1" and attrs["TopicArn"] == arn

    message_id = sns.publish(
        TopicArn=arn,
        Message="hello",
        Subject="greeting",
        MessageAttributes={"camera": {"DataType": "String", "StringValue": "lobby"}},
    )["MessageId"]
    note = webhook.wait_for("Notification")[0]
    doc = note.doc
    assert doc["Message"] == "hello" and doc["MessageId"] == message_id and doc["Subject"] == "greeting"
    assert doc["MessageAttributes"] == {"camera": {"Type": "String", "Value": "lobby"}}
    assert note.headers["x-amz-sns-subscription-arn"] == sub_arn
    assert note.headers["x-amz-sns-message-id"] == message_id
    secret = server.container.events.get_subscription(sub_arn).secret
    assert verify_signature_header(note.headers["x-videolens-signature"], note.body, secret)
    assert not verify_signature_header(note.headers["x-videolens-signature"], note.body + b" ", secret)
    assert canonical_string(doc).startswith("Message\nhello\nMessageId\n")
    assert len(webhook.wait_for("Notification")) == 1  # "early" was never delivered

    # the UnsubscribeURL works like SNS's
    r = httpx.get(doc["UnsubscribeURL"], timeout=10)
    assert r.status_code == 200 and "UnsubscribeResponse" in r.text
    webhook.wait_for("UnsubscribeConfirmation")
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # deleting a missing topic succeeds
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]] == ["beta"]


def test_failed_deliveries_are_retried_then_dead_lettered(server: RunningServer) -> None:
    events = server.container.events
    flaky = WebhookReceiver(fail_first=2)  # succeeds on the third attempt (the last one in tests)
    broken = WebhookReceiver(fail_first=100)
    local: list[LocalMessage] = []
    got_local = threading.Event()
    try:
        topic = events.create_topic("retries")
        for hook in (flaky, broken):
            events.subscribe(topic.topic_arn, "http", hook.url)
            assert hook.confirmed.wait(30)
        stop_local = events.subscribe_local(topic.topic_arn, lambda m: (local.append(m), got_local.set()))
        started = time.monotonic()
        message_id = events.publish(topic.topic_arn, json.dumps({"n": 1}))
        assert got_local.wait(5) and local[0].message_id == message_id  # in-process: at once
        attempts = flaky.wait_for("Notification", count=3, timeout=30)
        assert [a.doc["MessageId"] for a in attempts] == [message_id] * 3
        gaps = [b.at - a.at for a, b in zip(attempts, attempts[1:], strict=False)]
        assert gaps[0] >= 0.15 and gaps[1] >= 0.35  # 0.2 s, then 0.4 s back-off
        deadline = time.monotonic() + 30
        while not events.dead_letters():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        dead = events.dead_letters()
        assert len(dead) == 1 and dead[0].endpoint == broken.url and dead[0].attempts == 3
        assert dead[0].last_error == f"HTTP 500 from {broken.url}"
        assert time.monotonic() - started < 30
        listed = httpx.get(f"{server.url}/v1/events/dead-letters", timeout=10).json()
        assert [d["delivery_id"] for d in listed] == [dead[0].delivery_id]
        # redrive once the endpoint works again
        broken.fail_first = 0
        r = httpx.post(f"{server.url}/v1/events/dead-letters/{dead[0].delivery_id}/redrive", timeout=10)
        assert r.status_code == 204
        oks = broken.wait_for("Notification", count=4, timeout=30)
        assert oks[-1].doc["MessageId"] == message_id
        stop_local()
        events.publish(topic.topic_arn, "second")
        flaky.wait_for("Notification", count=4, timeout=30)
        assert len(local) == 1
    finally:
        flaky.close()
        broken.close()
