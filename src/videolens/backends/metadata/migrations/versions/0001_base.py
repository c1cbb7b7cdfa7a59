"""Base schema: the faces capability (collections, faces). Other capabilities branch from here."""

import sqlalchemy as sa
from alembic import op

revision = "0001_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("collection_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("face_model_version", sa.String(32), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", name="pk_collections"),
    )
    op.create_table(
        "faces",
        sa.Column("face_id", sa.String(36), nullable=False),
        sa.Column("collection_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("external_image_id", sa.String(255), nullable=True),
        sa.Column("box_left", sa.Float(), nullable=False),
        sa.Column("box_top", sa.Float(), nullable=False),
        sa.Column("box_width", sa.Float(), nullable=False),
        sa.Column("box_height", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.collection_id"],
            name="fk_faces_collection_id_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("face_id", name="pk_faces"),
    )
    op.create_index("ix_faces_collection_seq", "faces", ["collection_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_faces_collection_seq", table_name="faces")
    op.drop_table("faces")
    op.drop_table("collections")
