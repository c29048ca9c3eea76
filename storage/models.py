"""The tables. Every change here needs an Alembic migration in storage/migrations/versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

# Named constraints let Alembic's batch mode (table copies on SQLite) find and alter them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class ProcessedEvent(Base):
    """The exactly-once ledger: a command's effect is committed in the same transaction as this row."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    handled_at: Mapped[datetime]


class BotState(Base):
    """Small named values the bot keeps between runs: sync token, device ID, access token…"""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to send, written in the command's transaction and sent after commit (transactional outbox).

    `txn_id` is the Matrix transaction ID: the same one on every retry, so a retried send is idempotent.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(255), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    remote_event_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)


class Person(Base):
    """Someone the bot has dealt with, and their preferences."""

    __tablename__ = "people"

    matrix_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name, e.g. "Europe/Zurich"
    email: Mapped[str | None] = mapped_column(String(320))  # RFC 5321's longest address
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# The allowed values of the string columns below. The domain layer has the enums; the database only keeps
# out what no version of it ever writes. Changing a list needs a migration (the CHECK constraints are in it).
ROLES = ("chair", "management", "coordinator", "focal_point", "secretariat")
SECTORS = ("ITU-R", "ITU-T", "ITU-D", "GS")
ADVISORY_GROUPS = ("TSAG", "RAG", "TDAG")
MEMBERSHIPS = ("join", "leave", "invite", "ban", "knock")  # m.room.member's membership, Matrix spec 1.1+


def _one_of(column: str, values: tuple[str, ...], *, nullable: bool = False) -> str:
    allowed = f"{column} IN ({', '.join(repr(value) for value in values)})"
    return f"{column} IS NULL OR {allowed}" if nullable else allowed


class Subject(Base):
    """A subject of common interest, bound to exactly one Matrix room (a room upgrade moves it)."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)  # short name used in commands: "cop"
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name; the subject's meetings are shown in it
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())
    room_id: Mapped[str] = mapped_column(String(255), unique=True)
    room_active: Mapped[bool] = mapped_column(default=True, server_default=true())  # false: bot removed
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoleAssignment(Base):
    """Someone holding a role, group-wide (chair, management, secretariat) or in one subject.

    Removing a role ends the assignment (ended_at, ended_by) and keeps the row: the annual reports say who
    held which role when. `term_start`/`term_end` bound an appointment (the Chair's four years).
    """

    __tablename__ = "role_assignments"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        CheckConstraint(_one_of("sector", SECTORS, nullable=True), name="sector"),
        CheckConstraint(_one_of("advisory_group", ADVISORY_GROUPS, nullable=True), name="advisory_group"),
        Index("ix_role_assignments_role_subject_id", "role", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    matrix_id: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    sector: Mapped[str | None] = mapped_column(String(8))  # focal points: the Sector they come from
    advisory_group: Mapped[str | None] = mapped_column(String(8))  # management: the group they represent
    term_start: Mapped[datetime | None]
    term_end: Mapped[datetime | None]
    assigned_by: Mapped[str] = mapped_column(String(255))
    assigned_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(255))


class RoomMember(Base):
    """Who is in a room and under which per-room display name, as the membership events tell it."""

    __tablename__ = "room_members"
    __table_args__ = (CheckConstraint(_one_of("membership", MEMBERSHIPS), name="membership"),)

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    membership: Mapped[str] = mapped_column(String(10))
    display_name: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime]
