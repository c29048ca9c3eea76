"""languages: the language a person reads the bot in (`!lang`), and a subject's room

Revision ID: 0012_languages
Revises: 0011_data_versions
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_languages"
down_revision: str | None = "0011_data_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("people", "subjects")


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table), which SQLite and PostgreSQL both do in place.
    for table in TABLES:
        op.add_column(table, sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("language")
