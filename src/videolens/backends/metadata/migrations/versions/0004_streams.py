"""Streams capability: video streams and their fragment index."""

import sqlalchemy as sa
from alembic import op

revision = "0004_streams"
down_revision = "0001_base"
branch_labels = ("streams",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_streams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("device_name", sa.String(128), nullable=True),
        sa.Column("media_type", sa.String(128), nullable=True),
        sa.Column("kms_key_id", sa.String(2048), nullable=True),
        sa.Column("retention_hours", sa.Integer(), nullable=False),
        sa.Column("storage_tier", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("fragment_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_video_streams"),
        sa.UniqueConstraint("name", name="uq_video_streams_name"),
        sa.UniqueConstraint("arn", name="uq_video_streams_arn"),
    )
    op.create_table(
        "video_fragments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("fragment_number", sa.String(128), nullable=False),
        sa.Column("producer_ts", sa.Float(), nullable=False),
        sa.Column("server_ts", sa.Float(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("cluster_offset", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("buffer_only", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["video_streams.id"],
            name="fk_video_fragments_stream_id_video_streams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_video_fragments"),
        sa.UniqueConstraint("fragment_number", name="uq_video_fragments_fragment_number"),
    )
    op.create_index("ix_video_fragments_stream_seq", "video_fragments", ["stream_id", "seq"], unique=True)
    op.create_index("ix_video_fragments_stream_producer", "video_fragments", ["stream_id", "producer_ts"])
    op.create_index("ix_video_fragments_stream_server", "video_fragments", ["stream_id", "server_ts"])


def downgrade() -> None:
    op.drop_index("ix_video_fragments_stream_server", table_name="video_fragments")
    op.drop_index("ix_video_fragments_stream_producer", table_name="video_fragments")
    op.drop_index("ix_video_fragments_stream_seq", table_name="video_fragments")
    op.drop_table("video_fragments")
    op.drop_table("video_streams")
