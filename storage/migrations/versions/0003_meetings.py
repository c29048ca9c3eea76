"""meetings: one-offs and series, agenda, moved or cancelled occurrences, answers, reminders sent; what an
outbox message is for (a meeting's announcement), to find it again from a reaction to it

Revision ID: 0003_meetings
Revises: 0002_subjects_roles
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_meetings"
down_revision: str | None = "0002_subjects_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The allowed values as they were when this migration was written (storage/models.py has today's lists).
STATUSES = "'scheduled', 'cancelled'"
ANSWERS = "'yes', 'no', 'maybe'"
SOURCES = "'command', 'reaction'"
DURATION_IN_BOUNDS = "duration_minutes BETWEEN 5 AND 1440"


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_local", sa.DateTime(), nullable=False),  # wall-clock time in `timezone`
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("rrule", sa.String(length=255), nullable=True),
        sa.Column("series_end_utc", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="scheduled", nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("sequence", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(DURATION_IN_BOUNDS, name=op.f("ck_meetings_duration_minutes")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_meetings_status")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_meetings_subject_id_subjects"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        # SQLite's AUTOINCREMENT: an id is never handed out again, not even the highest one once deleted
        # (M<id> is shown to users). PostgreSQL's sequence never goes back anyway.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_meetings_subject_id_start_utc", "meetings", ["subject_id", "start_utc"])
    op.create_index(op.f("ix_meetings_series_end_utc"), "meetings", ["series_end_utc"])
    op.create_table(
        "meeting_agenda_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_agenda_items_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_agenda_items")),
        sa.UniqueConstraint("meeting_id", "position", name="uq_meeting_agenda_items_meeting_id_position"),
    )
    op.create_table(
        "meeting_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_local", sa.DateTime(), nullable=False),  # the RECURRENCE-ID, wall-clock
        sa.Column("start_local", sa.DateTime(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"duration_minutes IS NULL OR {DURATION_IN_BOUNDS}",
            name=op.f("ck_meeting_overrides_duration_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_overrides_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_overrides")),
        sa.UniqueConstraint(
            "meeting_id", "occurrence_local", name="uq_meeting_overrides_meeting_id_occurrence_local"
        ),
    )
    op.create_table(
        "rsvps",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("matrix_id", sa.String(length=255), nullable=False),
        sa.Column("answer", sa.String(length=5), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("reaction_event_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"answer IN ({ANSWERS})", name=op.f("ck_rsvps_answer")),
        sa.CheckConstraint(f"via IN ({SOURCES})", name=op.f("ck_rsvps_via")),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_rsvps_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("meeting_id", "matrix_id", name=op.f("pk_rsvps")),
    )
    op.create_index(op.f("ix_rsvps_reaction_event_id"), "rsvps", ["reaction_event_id"])
    op.create_table(
        "reminders_sent",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_reminders_sent_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "meeting_id", "occurrence_utc", "offset_minutes", name=op.f("pk_reminders_sent")
        ),
    )
    # A reaction names the event it reacts to: the bot's own messages are found by their remote event ID,
    # and what they were sent for by their purpose (e.g. "announcement:M12").
    op.add_column("outbox", sa.Column("purpose", sa.String(length=100), nullable=True))
    op.create_index(op.f("ix_outbox_purpose"), "outbox", ["purpose"])
    op.create_index(op.f("ix_outbox_remote_event_id"), "outbox", ["remote_event_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_remote_event_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_purpose"), table_name="outbox")
    with op.batch_alter_table("outbox") as batch:  # SQLite: a table copy
        batch.drop_column("purpose")
    op.drop_table("reminders_sent")
    op.drop_index(op.f("ix_rsvps_reaction_event_id"), table_name="rsvps")
    op.drop_table("rsvps")
    op.drop_table("meeting_overrides")
    op.drop_table("meeting_agenda_items")
    op.drop_index(op.f("ix_meetings_series_end_utc"), table_name="meetings")
    op.drop_index("ix_meetings_subject_id_start_utc", table_name="meetings")
    op.drop_table("meetings")
