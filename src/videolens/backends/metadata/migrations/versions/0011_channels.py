"""Channels capability: security groups, inputs, channels with their runner lease, the segment log."""

import sqlalchemy as sa
from alembic import op

revision = "0011_channels"
down_revision = "0001_base"
branch_labels = ("channels",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_security_groups",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("cidrs", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_security_groups"),
    )
    op.create_table(
        "channel_inputs",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("destinations", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("security_groups", sa.JSON(), nullable=False),
        sa.Column("attached_channel", sa.String(16), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_inputs"),
    )
    op.create_table(
        "channel_push_names",
        sa.Column("stream_name", sa.String(256), nullable=False),
        sa.Column("input_id", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["channel_inputs.id"],
            name="fk_channel_push_names_input_id_channel_inputs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_name", name="pk_channel_push_names"),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("lease_token", sa.BigInteger(), nullable=True),
        sa.Column("lease_expires_at", sa.Float(), nullable=True),
        sa.Column("runner_endpoint", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_channels"),
    )
    op.create_index("ix_channels_desired", "channels", ["desired"])
    op.create_table(
        "channel_segments",
        sa.Column("channel_id", sa.String(16), nullable=False),
        sa.Column("rendition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("uri", sa.String(512), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("discontinuity", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_channel_segments_channel_id_channels",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "rendition", "sequence", name="pk_channel_segments"),
    )


def downgrade() -> None:
    op.drop_table("channel_segments")
    op.drop_index("ix_channels_desired", table_name="channels")
    op.drop_table("channels")
    op.drop_table("channel_push_names")
    op.drop_table("channel_inputs")
    op.drop_table("channel_security_groups")
