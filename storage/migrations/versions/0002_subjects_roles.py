"""subjects and roles: subjects bound to rooms, role assignments with history, room members, people's email

Revision ID: 0002_subjects_roles
Revises: 0001_initial
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_subjects_roles"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The allowed values as they were when this migration was written (storage/models.py has today's lists).
ROLES = "'chair', 'management', 'coordinator', 'focal_point', 'secretariat'"
SECTORS = "'ITU-R', 'ITU-T', 'ITU-D', 'GS'"
ADVISORY_GROUPS = "'TSAG', 'RAG', 'TDAG'"
MEMBERSHIPS = "'join', 'leave', 'invite', 'ban', 'knock'"


def upgrade() -> None:
    with op.batch_alter_table("people") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))

    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        # sa.false()/sa.true() render as 0/1 on SQLite and false/true on PostgreSQL.
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("room_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("slug", name=op.f("uq_subjects_slug")),
        sa.UniqueConstraint("room_id", name=op.f("uq_subjects_room_id")),
    )
    op.create_table(
        "role_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("matrix_id", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=8), nullable=True),
        sa.Column("advisory_group", sa.String(length=8), nullable=True),
        sa.Column("term_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("term_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_by", sa.String(length=255), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint(f"role IN ({ROLES})", name=op.f("ck_role_assignments_role")),
        sa.CheckConstraint(
            f"sector IS NULL OR sector IN ({SECTORS})", name=op.f("ck_role_assignments_sector")
        ),
        sa.CheckConstraint(
            f"advisory_group IS NULL OR advisory_group IN ({ADVISORY_GROUPS})",
            name=op.f("ck_role_assignments_advisory_group"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_role_assignments_subject_id_subjects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignments")),
    )
    op.create_index(op.f("ix_role_assignments_matrix_id"), "role_assignments", ["matrix_id"])
    op.create_index("ix_role_assignments_role_subject_id", "role_assignments", ["role", "subject_id"])
    op.create_table(
        "room_members",
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("matrix_id", sa.String(length=255), nullable=False),
        sa.Column("membership", sa.String(length=10), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"membership IN ({MEMBERSHIPS})", name=op.f("ck_room_members_membership")),
        sa.PrimaryKeyConstraint("room_id", "matrix_id", name=op.f("pk_room_members")),
    )


def downgrade() -> None:
    op.drop_table("room_members")
    op.drop_index("ix_role_assignments_role_subject_id", table_name="role_assignments")
    op.drop_index(op.f("ix_role_assignments_matrix_id"), table_name="role_assignments")
    op.drop_table("role_assignments")
    op.drop_table("subjects")
    # SQLite: batch mode copies the table without the column (emails are lost, as on PostgreSQL).
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_column("email")
