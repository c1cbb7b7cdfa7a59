"""Sightings capability: face tracks seen in streams and stored videos (descriptors, times, thumbnail)."""

import sqlalchemy as sa
from alembic import op

revision = "0009_sightings"
down_revision = "0001_base"
branch_labels = ("sightings",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_sightings",
        sa.Column("sighting_id", sa.String(36), primary_key=True),
        sa.Column("source_kind", sa.String(8), nullable=False),
        sa.Column("source", sa.String(1100), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("fragments", sa.JSON(), nullable=False),
        sa.Column("descriptors", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_face_sightings_source", "face_sightings", ["source_kind", "source"])


def downgrade() -> None:
    op.drop_index("ix_face_sightings_source", "face_sightings")
    op.drop_table("face_sightings")
