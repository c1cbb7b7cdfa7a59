"""Streams capability: pull sources attached to streams, each held by one process through a lease."""

import sqlalchemy as sa
from alembic import op

revision = "0006_stream_pulls"
down_revision = "0004_streams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_pull_sources",
        sa.Column("stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("listen", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("lease_token", sa.String(36), nullable=True),
        sa.Column("lease_expires_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["video_streams.id"],
            name="fk_stream_pull_sources_stream_id_video_streams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", name="pk_stream_pull_sources"),
    )
    op.create_index("ix_stream_pull_sources_lease", "stream_pull_sources", ["lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_stream_pull_sources_lease", table_name="stream_pull_sources")
    op.drop_table("stream_pull_sources")
