"""Jobs and events capability: job queue + results, topics, subscriptions, deliveries, bucket rules."""

import sqlalchemy as sa
from alembic import op

revision = "0005_jobs_events"
down_revision = "0001_base"
branch_labels = ("jobs_events",)
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("input_bucket", sa.String(255), nullable=False),
        sa.Column("input_key", sa.String(1024), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("api", sa.String(64), nullable=False),
        sa.Column("client_request_token", sa.String(64), nullable=True),
        sa.Column("job_tag", sa.String(1024), nullable=True),
        sa.Column("topic_arn", sa.String(1024), nullable=True),
        sa.Column("role_arn", sa.String(1024), nullable=True),
        sa.Column("video_metadata", sa.JSON(), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("completed_at", TZ, nullable=True),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_token", sa.String(36), nullable=True),
        sa.Column("lease_expires", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at"])
    op.create_index("ix_jobs_api_token", "jobs", ["api", "client_request_token"], unique=True)
    op.create_table(
        "job_results",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp_ms", sa.Integer(), nullable=False),
        sa.Column("person_index", sa.Integer(), nullable=True),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name="fk_job_results_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name="pk_job_results"),
    )
    op.create_index("ix_job_results_time", "job_results", ["job_id", "timestamp_ms", "seq"])
    op.create_index("ix_job_results_index", "job_results", ["job_id", "person_index", "timestamp_ms"])

    op.create_table(
        "topics",
        sa.Column("topic_arn", sa.String(512), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("topic_arn", name="pk_topics"),
        sa.UniqueConstraint("name", name="uq_topics_name"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscription_arn", sa.String(600), nullable=False),
        sa.Column("topic_arn", sa.String(512), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(2048), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(128), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_arn"], ["topics.topic_arn"], name="fk_subscriptions_topic_arn_topics", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subscription_arn", name="pk_subscriptions"),
        sa.UniqueConstraint("token", name="uq_subscriptions_token"),
    )
    op.create_index("ix_subscriptions_topic", "subscriptions", ["topic_arn"])
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_arn", sa.String(600), nullable=False),
        sa.Column("topic_arn", sa.String(512), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(2048), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("claimed_until", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "bucket_rules",
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("prefix", sa.String(1024), nullable=False),
        sa.Column("suffix", sa.String(1024), nullable=False),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("topic_arn", sa.String(512), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name="pk_bucket_rules"),
    )
    op.create_index("ix_bucket_rules_bucket", "bucket_rules", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_bucket_rules_bucket", table_name="bucket_rules")
    op.drop_table("bucket_rules")
    op.drop_index("ix_deliveries_status_next", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_subscriptions_topic", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("topics")
    op.drop_index("ix_job_results_index", table_name="job_results")
    op.drop_index("ix_job_results_time", table_name="job_results")
    op.drop_table("job_results")
    op.drop_index("ix_jobs_api_token", table_name="jobs")
    op.drop_index("ix_jobs_status_created", table_name="jobs")
    op.drop_table("jobs")
