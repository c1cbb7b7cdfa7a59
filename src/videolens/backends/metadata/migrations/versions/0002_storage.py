"""Storage capability: buckets, objects, multipart uploads and parts."""

import sqlalchemy as sa
from alembic import op

revision = "0002_storage"
down_revision = "0001_base"
branch_labels = ("storage",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buckets",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_buckets"),
    )
    op.create_table(
        "objects",
        sa.Column("bucket", sa.String(63), nullable=False),
        # byte-order keys on PostgreSQL too (S3 lists in UTF-8 byte order)
        sa.Column(
            "key",
            sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("content_encoding", sa.String(255), nullable=True),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("checksums", sa.JSON(), nullable=False),
        sa.Column("blob_key", sa.String(255), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket"], ["buckets.name"], name="fk_objects_bucket_buckets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bucket", "key", name="pk_objects"),
    )
    op.create_table(
        "multipart_uploads",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.String(1024), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket"], ["buckets.name"], name="fk_multipart_uploads_bucket_buckets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("upload_id", name="pk_multipart_uploads"),
    )
    op.create_table(
        "multipart_parts",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("blob_key", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["multipart_uploads.upload_id"],
            name="fk_multipart_parts_upload_id_multipart_uploads",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "part_number", name="pk_multipart_parts"),
    )


def downgrade() -> None:
    op.drop_table("multipart_parts")
    op.drop_table("multipart_uploads")
    op.drop_table("objects")
    op.drop_table("buckets")
