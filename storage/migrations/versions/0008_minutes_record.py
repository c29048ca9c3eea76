"""minutes_record: tags apart from lines, redaction times, approval and the rendered minutes, outbox files

A message may carry several tag commands, so tags move from `minute_lines` to `minute_tags`; a redaction
keeps its time (approved minutes are rendered as the log stood when approved); sessions get the minutes'
status and their last rendering; the outbox can carry a file to upload.

Revision ID: 0008_minutes_record
Revises: 0007_action_items
Create Date: 2026-12-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_minutes_record"
down_revision: str | None = "0007_action_items"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGS = ("topic", "info", "idea", "agreed", "rejected", "action", "link", "keyissue", "present", "regrets")


def upgrade() -> None:
    allowed = ", ".join(repr(tag) for tag in TAGS)
    op.create_table(
        "minute_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=10), nullable=False),
        sa.Column("args", sa.JSON(), nullable=True),
        sa.Column("undone", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(f"tag IN ({allowed})", name=op.f("ck_minute_tags_tag")),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["minute_lines.id"],
            name=op.f("fk_minute_tags_line_id_minute_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minute_tags")),
    )
    op.create_index(op.f("ix_minute_tags_line_id"), "minute_tags", ["line_id"])
    op.execute(
        "INSERT INTO minute_tags (line_id, position, tag, args, undone) "
        "SELECT id, 0, tag, tag_args, undone FROM minute_lines WHERE tag IS NOT NULL"
    )
    with op.batch_alter_table("minute_lines") as batch:
        batch.add_column(sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE minute_lines SET redacted_at = server_time WHERE redacted")  # the best time known
    with op.batch_alter_table("minute_lines") as batch:
        batch.drop_constraint(op.f("ck_minute_lines_tag"), type_="check")
        batch.drop_column("tag")
        batch.drop_column("tag_args")
        batch.drop_column("undone")
        batch.drop_column("redacted")

    with op.batch_alter_table("meeting_sessions") as batch:
        batch.add_column(
            sa.Column("minutes_status", sa.String(length=10), server_default="draft", nullable=False)
        )
        batch.add_column(sa.Column("approved_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("minutes_markdown", sa.Text(), nullable=True))
        batch.add_column(sa.Column("minutes_html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            op.f("ck_meeting_sessions_minutes_status"), "minutes_status IN ('draft', 'approved')"
        )

    op.create_table(
        "outbox_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_files")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attachment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbox_attachment_id_outbox_files"),
            "outbox_files",
            ["attachment_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("fk_outbox_attachment_id_outbox_files"), type_="foreignkey")
        batch.drop_column("attachment_id")
    op.drop_table("outbox_files")
    with op.batch_alter_table("meeting_sessions") as batch:
        batch.drop_constraint(op.f("ck_meeting_sessions_minutes_status"), type_="check")
        for column in ("rendered_at", "minutes_html", "minutes_markdown", "approved_at", "approved_by"):
            batch.drop_column(column)
        batch.drop_column("minutes_status")
    allowed = ", ".join(repr(tag) for tag in TAGS)
    with op.batch_alter_table("minute_lines") as batch:
        batch.add_column(sa.Column("tag", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("tag_args", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("undone", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("redacted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_check_constraint(op.f("ck_minute_lines_tag"), f"tag IS NULL OR tag IN ({allowed})")
    # One tag per line survives a downgrade: the first.
    op.execute(
        "UPDATE minute_lines SET tag = (SELECT t.tag FROM minute_tags t WHERE t.line_id = minute_lines.id "
        "ORDER BY t.position LIMIT 1), tag_args = (SELECT t.args FROM minute_tags t "
        "WHERE t.line_id = minute_lines.id ORDER BY t.position LIMIT 1), undone = COALESCE((SELECT t.undone "
        "FROM minute_tags t WHERE t.line_id = minute_lines.id ORDER BY t.position LIMIT 1), undone), "
        "redacted = (redacted_at IS NOT NULL)"
    )
    with op.batch_alter_table("minute_lines") as batch:
        batch.drop_column("redacted_at")
    op.drop_index(op.f("ix_minute_tags_line_id"), table_name="minute_tags")
    op.drop_table("minute_tags")
