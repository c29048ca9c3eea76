"""minutes: meeting sessions, their chairs, the logged lines and their edit history

Revision ID: 0006_minutes
Revises: 0005_mail_outbox
Create Date: 2026-12-17
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_minutes"
down_revision: str | None = "0005_mail_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGS = ("topic", "info", "idea", "agreed", "rejected", "action", "link", "keyissue", "present", "regrets")


def upgrade() -> None:
    op.create_table(
        "meeting_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("occurrence_utc", sa.DateTime(timezone=True), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("started_by", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_sessions_meeting_id_meetings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_sessions")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_meeting_sessions_room_id_ended_at", "meeting_sessions", ["room_id", "ended_at"])
    op.create_table(
        "session_chairs",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("matrix_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["meeting_sessions.id"],
            name=op.f("fk_session_chairs_session_id_meeting_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "matrix_id", name=op.f("pk_session_chairs")),
    )
    allowed = ", ".join(repr(tag) for tag in TAGS)
    op.create_table(
        "minute_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("server_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("msgtype", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=10), nullable=True),
        sa.Column("tag_args", sa.JSON(), nullable=True),
        sa.Column("redacted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(f"tag IS NULL OR tag IN ({allowed})", name=op.f("ck_minute_lines_tag")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["meeting_sessions.id"],
            name=op.f("fk_minute_lines_session_id_meeting_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minute_lines")),
        sa.UniqueConstraint("event_id", name=op.f("uq_minute_lines_event_id")),
    )
    op.create_index(op.f("ix_minute_lines_session_id"), "minute_lines", ["session_id"])
    op.create_table(
        "minute_line_edits",
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["minute_lines.id"],
            name=op.f("fk_minute_line_edits_line_id_minute_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("line_id", "event_id", name=op.f("pk_minute_line_edits")),
    )


def downgrade() -> None:
    op.drop_table("minute_line_edits")
    op.drop_index(op.f("ix_minute_lines_session_id"), table_name="minute_lines")
    op.drop_table("minute_lines")
    op.drop_table("session_chairs")
    op.drop_index("ix_meeting_sessions_room_id_ended_at", table_name="meeting_sessions")
    op.drop_table("meeting_sessions")
