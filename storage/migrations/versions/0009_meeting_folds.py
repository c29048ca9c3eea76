"""meeting_folds: which pass of a repeated hour a meeting's (or a moved occurrence's) wall-clock start is

On the night clocks go back a wall time happens twice; `start_local` alone cannot tell the two apart, so the
pass is kept beside it (PEP 495's fold: false the first, true the second). Existing rows are the first pass,
which is what the bot read them as until now.

Revision ID: 0009_meeting_folds
Revises: 0008_minutes_record
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_meeting_folds"
down_revision: str | None = "0008_minutes_record"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("meetings", "meeting_overrides")
# What a batch copy of the table must keep: meeting IDs are never reused (AUTOINCREMENT on SQLite).
TABLE_KWARGS = {"meetings": {"sqlite_autoincrement": True}, "meeting_overrides": {}}


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table), which SQLite and PostgreSQL both do in place.
    for table in TABLES:
        op.add_column(table, sa.Column("start_fold", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, table_kwargs=TABLE_KWARGS[table]) as batch:
            batch.drop_column("start_fold")
