"""Models capability: the registry of models (onnx files live in the blob store)."""

import sqlalchemy as sa
from alembic import op

revision = "0007_models"
down_revision = "0001_base"
branch_labels = ("models",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("stored", sa.JSON(), nullable=False),
        sa.Column("blob_key", sa.String(1024), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("version", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_models"),
    )


def downgrade() -> None:
    op.drop_table("models")
