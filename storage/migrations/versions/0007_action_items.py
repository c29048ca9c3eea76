"""action_items: the A<n> action items, their origin meeting session and due-day reminder

Revision ID: 0007_action_items
Revises: 0006_minutes
Create Date: 2026-12-18
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_action_items"
down_revision: str | None = "0006_minutes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The allowed values as they were when this migration was written (storage/models.py has today's list).
STATUSES = "'open', 'done', 'dropped'"


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),  # a calendar day in the subject's zone
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("due_reminded_on", sa.Date(), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_action_items_status")),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_action_items_subject_id_subjects"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["meeting_sessions.id"],
            name=op.f("fk_action_items_session_id_meeting_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        # A<id> is shown to users: SQLite's AUTOINCREMENT never hands an id out twice (see 0003_meetings).
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_action_items_room_id"), "action_items", ["room_id"])
    op.create_index(op.f("ix_action_items_event_id"), "action_items", ["event_id"])
    op.create_index("ix_action_items_subject_id_status", "action_items", ["subject_id", "status"])
    op.create_index("ix_action_items_owner_status", "action_items", ["owner", "status"])
    op.create_index("ix_action_items_status_due", "action_items", ["status", "due"])


def downgrade() -> None:
    op.drop_index("ix_action_items_status_due", table_name="action_items")
    op.drop_index("ix_action_items_owner_status", table_name="action_items")
    op.drop_index("ix_action_items_subject_id_status", table_name="action_items")
    op.drop_index(op.f("ix_action_items_event_id"), table_name="action_items")
    op.drop_index(op.f("ix_action_items_room_id"), table_name="action_items")
    op.drop_table("action_items")
