"""Live capability: stream processors (definition, status, counters); their leases are named leases."""

import sqlalchemy as sa
from alembic import op

revision = "0008_processors"
down_revision = "0001_base"
branch_labels = ("processors",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_processors",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("input_arn", sa.String(1024), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("lag_policy", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("start_after", sa.String(128), nullable=True),
        sa.Column("fragments_done", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("fragments_skipped", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("records_out", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("lag_fragments", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_stream_processors"),
    )


def downgrade() -> None:
    op.drop_table("stream_processors")
