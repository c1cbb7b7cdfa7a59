"""Leases with fencing counters: the named-lease table; job and pull lease tokens become counters."""

import sqlalchemy as sa
from alembic import op

revision = "0007_leases"
down_revision = ("0005_jobs_events", "0006_stream_pulls")
branch_labels = None
depends_on = None

_TOKENS = (("jobs", "lease_token"), ("stream_pull_sources", "lease_token"))


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("expires", sa.Float(), nullable=True),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    for table, column in _TOKENS:
        # random per-claim tokens become counters; a holder of an old token is fenced out (it restarts)
        op.execute(sa.text(f"UPDATE {table} SET {column} = NULL"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.String(36),
                type_=sa.BigInteger(),
                existing_nullable=True,
                postgresql_using=f"{column}::bigint",
            )


def downgrade() -> None:
    for table, column in _TOKENS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.BigInteger(),
                type_=sa.String(36),
                existing_nullable=True,
                postgresql_using=f"{column}::varchar",
            )
    op.drop_table("leases")
