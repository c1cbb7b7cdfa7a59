"""Analyzers capability: analyzer definitions and their (analyzer, stream) units; leases are named leases."""

import sqlalchemy as sa
from alembic import op

revision = "0010_analyzers"
down_revision = "0001_base"
branch_labels = ("analyzers",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analyzers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_analyzers"),
    )
    op.create_table(
        "analyzer_streams",
        sa.Column("analyzer", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(256), nullable=False),
        sa.Column("stream_arn", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("start_after", sa.String(128), nullable=True),
        sa.Column("fragments_done", sa.BigInteger(), nullable=False),
        sa.Column("fragments_skipped", sa.BigInteger(), nullable=False),
        sa.Column("records_out", sa.BigInteger(), nullable=False),
        sa.Column("lag_fragments", sa.BigInteger(), nullable=False),
        sa.Column("frames_analysed", sa.BigInteger(), nullable=False),
        sa.Column("frames_skipped", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lag_ms", sa.Float(), nullable=False),
        sa.Column("last_fragment", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["analyzer"],
            ["analyzers.name"],
            name="fk_analyzer_streams_analyzer_analyzers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("analyzer", "stream", name="pk_analyzer_streams"),
    )


def downgrade() -> None:
    op.drop_table("analyzer_streams")
    op.drop_table("analyzers")
