"""Faces: the version that added each face, and tombstones of deleted ones (incremental vector reload)."""

import sqlalchemy as sa
from alembic import op

revision = "0010_face_versions"
down_revision = "0001_base"
branch_labels = ("face_versions",)
depends_on = None


def upgrade() -> None:
    # existing faces get version 0: nodes load them in their first full load (after the upgrade every
    # node starts with an empty cache), and an incremental read only asks for versions above its own
    with op.batch_alter_table("faces") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("collections") as batch:
        batch.add_column(sa.Column("tombstones_from", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_faces_collection_version", "faces", ["collection_id", "version"])
    op.create_table(
        "face_tombstones",
        sa.Column("collection_id", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("face_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.collection_id"],
            name="fk_face_tombstones_collection_id_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", "version", "face_id", name="pk_face_tombstones"),
    )


def downgrade() -> None:
    op.drop_table("face_tombstones")
    op.drop_index("ix_faces_collection_version", table_name="faces")
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("tombstones_from")
    with op.batch_alter_table("faces") as batch:
        batch.drop_column("version")
