"""Data streams capability: streams, shards, enhanced fan-out consumers, the iterator signing key."""

import sqlalchemy as sa
from alembic import op

revision = "0007_datastreams"
down_revision = "0001_base"
branch_labels = ("datastreams",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datastreams",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("retention_hours", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("encryption_type", sa.String(8), nullable=False),
        sa.Column("key_id", sa.String(2048), nullable=True),
        sa.Column("max_record_kib", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("enhanced_metrics", sa.JSON(), nullable=False),
        sa.Column("next_shard", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datastreams"),
        sa.UniqueConstraint("name", name="uq_datastreams_name"),
    )
    op.create_table(
        "datastream_shards",
        sa.Column("stream_id", sa.String(24), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("parent", sa.Integer(), nullable=True),
        sa.Column("adjacent_parent", sa.Integer(), nullable=True),
        sa.Column("start_hash", sa.String(40), nullable=False),
        sa.Column("end_hash", sa.String(40), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.Column("end_ms", sa.BigInteger(), nullable=True),
        sa.Column("end_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["datastreams.id"],
            name="fk_datastream_shards_stream_id_datastreams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", "shard", name="pk_datastream_shards"),
    )
    op.create_table(
        "datastream_consumers",
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("stream_id", sa.String(24), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["datastreams.id"],
            name="fk_datastream_consumers_stream_id_datastreams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("arn", name="pk_datastream_consumers"),
    )
    op.create_index(
        "ix_datastream_consumers_stream_name", "datastream_consumers", ["stream_id", "name"], unique=True
    )
    op.create_table(
        "datastream_secrets",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_datastream_secrets"),
    )


def downgrade() -> None:
    op.drop_table("datastream_secrets")
    op.drop_index("ix_datastream_consumers_stream_name", "datastream_consumers")
    op.drop_table("datastream_consumers")
    op.drop_table("datastream_shards")
    op.drop_table("datastreams")
