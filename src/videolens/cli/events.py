"""`videolens topics ...` and `videolens rules ...`: notification topics, subscriptions and bucket rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console

if TYPE_CHECKING:
    pass

topics_app = typer.Typer(
    help="Notification topics and their subscriptions (webhook, MQTT).", no_args_is_help=True
)
rules_app = typer.Typer(help="Bucket rules: start a job when an object is uploaded.", no_args_is_help=True)


@topics_app.command("create")
def create(name: str) -> None:
    """Create a topic (idempotent)."""
    with cli_container() as c:
        topic = c.events.create_topic(name)
    console.print(topic.topic_arn)


@topics_app.command("list")
def list_topics() -> None:
    """List topics."""
    table = Table("name", "arn")
    with cli_container() as c:
        token: str | None = None
        while True:
            topics, token = c.events.list_topics(token)
            for t in topics:
                table.add_row(t.name, t.topic_arn)
            if not token:
                break
    console.print(table)


@topics_app.command("delete")
def delete(topic: str) -> None:
    """Delete a topic and its subscriptions."""
    with cli_container() as c:
        c.events.delete_topic(c.events.resolve_topic(topic))
    console.print(f"deleted {topic}")


@topics_app.command("subscribe")
def subscribe(
    topic: str,
    endpoint: Annotated[str, typer.Argument(help="http(s)://... webhook or mqtt://host:port/topic")],
    raw: Annotated[bool, typer.Option(help="deliver the bare message instead of the SNS JSON")] = False,
) -> None:
    """Subscribe a webhook (it gets a SubscriptionConfirmation first) or an MQTT topic."""
    protocol = endpoint.split(":", 1)[0].lower()
    with cli_container() as c:
        sub = c.events.subscribe(
            c.events.resolve_topic(topic), protocol, endpoint, {"RawMessageDelivery": "true"} if raw else None
        )
    console.print_json(
        json.dumps(
            {"subscription_arn": sub.subscription_arn, "confirmed": sub.confirmed, "secret": sub.secret}
        )
    )


@topics_app.command("subscriptions")
def subscriptions(topic: str) -> None:
    """List the subscriptions of a topic."""
    table = Table("subscription", "protocol", "endpoint", "confirmed")
    with cli_container() as c:
        subs, _ = c.events.list_subscriptions(c.events.resolve_topic(topic), page=10_000)
    for s in subs:
        table.add_row(s.subscription_arn, s.protocol, s.endpoint, "yes" if s.confirmed else "pending")
    console.print(table)


@topics_app.command("unsubscribe")
def unsubscribe(subscription_arn: str) -> None:
    """Remove a subscription."""
    with cli_container() as c:
        c.events.unsubscribe(subscription_arn)
    console.print("unsubscribed")


@topics_app.command("publish")
def publish(topic: str, message: str, subject: Annotated[str | None, typer.Option()] = None) -> None:
    """Publish a message (delivered by the server's dispatcher)."""
    with cli_container() as c:
        message_id = c.events.publish(c.events.resolve_topic(topic), message, subject)
    console.print(message_id)


@topics_app.command("dead-letters")
def dead_letters() -> None:
    """Deliveries that failed every attempt."""
    table = Table("id", "endpoint", "type", "attempts", "last error")
    with cli_container() as c:
        for d in c.events.dead_letters():
            table.add_row(str(d.delivery_id), d.endpoint, d.message_type, str(d.attempts), d.last_error or "")
    console.print(table)


@rules_app.command("add")
def add_rule(
    bucket: str,
    job_type: Annotated[str, typer.Argument(help="face-detection, face-search or anonymize")],
    prefix: Annotated[str, typer.Option(help="only keys starting with this")] = "",
    suffix: Annotated[str, typer.Option(help="only keys ending with this, e.g. .mp4")] = "",
    topic: Annotated[str | None, typer.Option(help="notify this topic (name or ARN)")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="job parameter KEY=VALUE")] = None,
    rule_id: Annotated[str | None, typer.Option("--id", help="rule id (default: generated)")] = None,
) -> None:
    """When an object lands in BUCKET (prefix / suffix), start a JOB_TYPE job."""
    params: dict[str, Any] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--param needs KEY=VALUE, got {item!r}")
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    with cli_container() as c:
        rule = c.rules.create(
            bucket,
            job_type,
            prefix=prefix,
            suffix=suffix,
            params=params,
            topic_arn=c.events.resolve_topic(topic) if topic else None,
            rule_id=rule_id,
        )
    console.print(f"rule [bold]{rule.rule_id}[/]: s3://{bucket}/{prefix}*{suffix} → {job_type}")


@rules_app.command("list")
def list_rules() -> None:
    """List bucket rules."""
    table = Table("id", "bucket", "prefix", "suffix", "job", "topic")
    with cli_container() as c:
        for r in c.rules.list():
            table.add_row(r.rule_id, r.bucket, r.prefix, r.suffix, r.job_type, r.topic_arn or "")
    console.print(table)


@rules_app.command("delete")
def delete_rule(rule_id: str) -> None:
    """Delete a bucket rule."""
    with cli_container() as c:
        c.rules.delete(rule_id)
    console.print(f"deleted rule {rule_id}")
