"""calendar_tokens: personal feed tokens, kept as SHA-256 hashes, revocable

Revision ID: 0004_calendar_tokens
Revises: 0003_meetings
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_calendar_tokens"
down_revision: str | None = "0003_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("matrix_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_calendar_tokens")),
    )
    op.create_index(op.f("ix_calendar_tokens_matrix_id"), "calendar_tokens", ["matrix_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_tokens_matrix_id"), table_name="calendar_tokens")
    op.drop_table("calendar_tokens")
