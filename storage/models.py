"""The tables. Every change here needs an Alembic migration in storage/migrations/versions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
    true,
)
from sqlalchemy.orm import (
    AttributeEventToken,
    DeclarativeBase,
    Mapped,
    QueryContext,
    mapped_column,
    relationship,
)
from sqlalchemy.orm.attributes import set_committed_value

from iscg_bot.storage.types import LocalDateTime, UTCDateTime

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


class LeaderLease(Base):
    """Who is the active bot, when several processes share one database (see iscg_bot/core/leadership.py).

    `epoch` grows by one at every change of holder: an old leader's renewal names its epoch and fails once a
    standby has taken over. `beat` grows at every renewal: a standby that sees it stand still for a whole
    lease, by its own monotonic clock, may take over (no two machines' wall clocks are compared).
    An empty `holder` is a lease given back on a clean stop: a standby takes it at once.
    """

    __tablename__ = "leader_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    epoch: Mapped[int]
    beat: Mapped[int]
    renewed_at: Mapped[datetime]  # for the operator's eye only: no decision reads it


class DataVersion(Base):
    """How far each table's committed changes have gone: raised by one in every transaction that wrote the
    table (`UnitOfWork.commit`, `storage.repositories.data_versions`). A process that serves pages from the
    database alone (a web replica, see iscg_bot/web/freshness.py) reads these rows before answering and
    drops whatever it kept of a table whose version moved: what another process committed is served at once.
    "*" stands for a commit whose tables are not known."""

    __tablename__ = "data_versions"

    table_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class OutboxMessage(Base):
    """A message to send, written in the command's transaction and sent after commit (transactional outbox).

    `txn_id` is the Matrix transaction ID: the same one on every retry, so a retried send is idempotent.
    `purpose` says what the message is for, when something must find it again once sent (its
    `remote_event_id`): "announcement:M12" is meeting 12's announcement, whose reactions are answers.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(255), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    remote_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(String(100), index=True)
    # A file to upload first, its content URI then put in `content["url"]` (an m.file message).
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_files.id", ondelete="SET NULL"))


class OutboxFile(Base):
    """The bytes of a file to send (minutes, reports); once the homeserver has them, `uploaded` holds the
    message fields naming the upload ({"url": mxc} or, in an encrypted room, {"file": {…keys…}}), so a
    retried send does not upload twice."""

    __tablename__ = "outbox_files"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    filename: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class Person(Base):
    """Someone the bot has dealt with, and their preferences."""

    __tablename__ = "people"

    matrix_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name, e.g. "Europe/Zurich"
    email: Mapped[str | None] = mapped_column(String(320))  # RFC 5321's longest address
    language: Mapped[str | None] = mapped_column(String(8))  # "fr": what the bot answers them in (`!lang`)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# The allowed values of the string columns below. The domain layer has the enums; the database only keeps
# out what no version of it ever writes. Changing a list needs a migration (the CHECK constraints are in it).
ROLES = ("chair", "management", "coordinator", "focal_point", "secretariat")
SECTORS = ("ITU-R", "ITU-T", "ITU-D", "GS")
ADVISORY_GROUPS = ("TSAG", "RAG", "TDAG")
MEMBERSHIPS = ("join", "leave", "invite", "ban", "knock")  # m.room.member's membership, Matrix spec 1.1+
MEETING_STATUSES = ("scheduled", "cancelled")
RSVP_ANSWERS = ("yes", "no", "maybe")
RSVP_SOURCES = ("command", "reaction")
SHORTEST_MEETING_MINUTES, LONGEST_MEETING_MINUTES = 5, 24 * 60
_DURATION_IN_BOUNDS = f"duration_minutes BETWEEN {SHORTEST_MEETING_MINUTES} AND {LONGEST_MEETING_MINUTES}"


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
    language: Mapped[str | None] = mapped_column(String(8))  # what the room is written in; None: the default
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


class Meeting(Base):
    """An electronic meeting, one-off or a series, shown to users as `M<id>`.

    The id is never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): an `M12` quoted in old
    minutes or mails never comes to name another meeting. A series repeats `rrule` (RFC 5545) from
    `start_local`, the wall-clock time in `timezone`, so it stays at 14:00 across daylight-saving changes.
    `start_utc` and `series_end_utc` bound every occurrence (moved ones included: whoever moves an occurrence
    outside them widens them) so that queries can find candidates without expanding series; a null
    `series_end_utc` is an open-ended series. `sequence` is the iCalendar SEQUENCE: raised on every change.
    """

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint(_DURATION_IN_BOUNDS, name="duration_minutes"),
        CheckConstraint(_one_of("status", MEETING_STATUSES), name="status"),
        Index("ix_meetings_subject_id_start_utc", "subject_id", "start_utc"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    subject_id: Mapped[int | None] = mapped_column(  # None: a group-wide meeting, in the ISCG room
        ForeignKey("subjects.id", ondelete="RESTRICT")
    )
    room_id: Mapped[str] = mapped_column(String(255))  # where it was scheduled; announcements go there
    title: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name, the zone of start_local
    start_local: Mapped[datetime] = mapped_column(LocalDateTime())  # its `fold` is kept in start_fold
    start_fold: Mapped[bool] = mapped_column(default=False, server_default=false())  # see _keep_the_pass
    start_utc: Mapped[datetime]  # the first occurrence's start
    duration_minutes: Mapped[int]
    rrule: Mapped[str | None] = mapped_column(String(255))  # e.g. FREQ=WEEKLY;UNTIL=20270630T215959Z
    series_end_utc: Mapped[datetime | None] = mapped_column(index=True)  # end of the last occurrence
    link: Mapped[str | None] = mapped_column(String(1000))  # join link
    status: Mapped[str] = mapped_column(String(12), default="scheduled", server_default="scheduled")
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # lazy="raise": a lazy load would need IO under asyncio; the repository loads both up front.
    agenda: Mapped[list[AgendaItem]] = relationship(
        order_by="AgendaItem.position", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )
    overrides: Mapped[list[MeetingOverride]] = relationship(
        order_by="MeetingOverride.occurrence_local",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class AgendaItem(Base):
    """One point of a meeting's agenda; positions run 1, 2, 3… in the order the points were added."""

    __tablename__ = "meeting_agenda_items"
    __table_args__ = (
        # Its index also serves the lookups by meeting: no separate index on meeting_id.
        UniqueConstraint("meeting_id", "position", name="uq_meeting_agenda_items_meeting_id_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime]


class MeetingOverride(Base):
    """One occurrence of a series moved or cancelled.

    `occurrence_local` is the occurrence's original wall-clock start in the meeting's zone, its iCalendar
    RECURRENCE-ID; `start_local` (None: not moved) and `duration_minutes` (None: the meeting's) say where
    it went.
    """

    __tablename__ = "meeting_overrides"
    __table_args__ = (
        UniqueConstraint(
            "meeting_id", "occurrence_local", name="uq_meeting_overrides_meeting_id_occurrence_local"
        ),
        CheckConstraint(f"duration_minutes IS NULL OR {_DURATION_IN_BOUNDS}", name="duration_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_local: Mapped[datetime] = mapped_column(LocalDateTime())  # in the series' pass: not kept
    start_local: Mapped[datetime | None] = mapped_column(LocalDateTime())  # its `fold` kept in start_fold
    start_fold: Mapped[bool] = mapped_column(default=False, server_default=false())
    duration_minutes: Mapped[int | None]
    cancelled: Mapped[bool] = mapped_column(default=False, server_default=false())
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


def _keep_the_pass(model: type[Meeting] | type[MeetingOverride]) -> None:
    """`start_local` keeps its pass through the database: on the night clocks go back a wall time happens
    twice, and a naive datetime tells the two apart only by its `fold` (PEP 495: 0 the first pass, 1 the
    second), which no database column stores. Setting `start_local` also sets `start_fold`; loading puts
    the fold back on `start_local`."""

    @event.listens_for(model.start_local, "set", retval=True)
    def remember(
        target: Meeting | MeetingOverride,
        value: datetime | None,
        old: object,
        initiator: AttributeEventToken,
    ) -> datetime | None:
        target.start_fold = bool(value is not None and value.fold)
        return value

    @event.listens_for(model, "load")
    def restore(target: Meeting | MeetingOverride, context: QueryContext) -> None:
        _restore_fold(target)

    @event.listens_for(model, "refresh")
    def restore_refreshed(
        target: Meeting | MeetingOverride, context: QueryContext, attributes: Iterable[str] | None
    ) -> None:
        _restore_fold(target)


def _restore_fold(target: Meeting | MeetingOverride) -> None:
    state = target.__dict__
    wall, fold = state.get("start_local"), state.get("start_fold")
    if wall is not None and fold is not None and wall.fold != int(fold):
        set_committed_value(target, "start_local", wall.replace(fold=int(fold)))


_keep_the_pass(Meeting)
_keep_the_pass(MeetingOverride)


class Rsvp(Base):
    """Someone's answer to a meeting invitation, by command or by reacting to the announcement.

    `reaction_event_id` is the reaction that gave the current answer (None for a command): redacting that
    reaction withdraws the answer, while a later answer clears it, so it survives the redaction.
    """

    __tablename__ = "rsvps"
    __table_args__ = (
        CheckConstraint(_one_of("answer", RSVP_ANSWERS), name="answer"),
        CheckConstraint(_one_of("via", RSVP_SOURCES), name="via"),
    )

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    answer: Mapped[str] = mapped_column(String(5))
    via: Mapped[str] = mapped_column(String(10))
    reaction_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    updated_at: Mapped[datetime]


class ReminderSent(Base):
    """A reminder claimed for one occurrence and offset: the row is what makes a reminder go out only once.

    A reminder found overdue beyond the grace period is recorded `skipped` (never sent, and never sent
    later); one sent after its time but within the grace period is `late`.
    """

    __tablename__ = "reminders_sent"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    occurrence_utc: Mapped[datetime] = mapped_column(primary_key=True)  # the occurrence's start
    offset_minutes: Mapped[int] = mapped_column(primary_key=True)  # minutes before that start
    sent_at: Mapped[datetime]
    late: Mapped[bool]
    skipped: Mapped[bool] = mapped_column(default=False, server_default=false())


class CalendarToken(Base):
    """A personal calendar feed token: only its SHA-256 is kept, so the database can't leak working links.

    One live token per person; issuing a new one revokes the previous (`revoked_at` set, row kept).
    """

    __tablename__ = "calendar_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the token
    matrix_id: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class MailMessage(Base):
    """An iMIP e-mail to send (the mail outbox), written in the transaction that changed the meeting.

    `message` is the whole rendered message (RFC 5322 bytes, CRLF), so a retry sends exactly the same bytes;
    `message_id` (its Message-ID, derived from meeting, sequence and method) is unique, so a change is
    queued at most once. `attempts` and `last_error` record failed sends; `sent_at` is set once delivered.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    method: Mapped[str] = mapped_column(String(10))  # REQUEST or CANCEL
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated addresses
    message: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)


MINUTE_TAGS = (
    "topic",
    "info",
    "idea",
    "agreed",
    "rejected",
    "action",
    "link",
    "keyissue",
    "present",
    "regrets",
)


MINUTES_STATUSES = ("draft", "approved")


class MeetingSession(Base):
    """One run of `!startmeeting` … `!endmeeting` in a room: the unit the minutes are kept for.

    Keyed by its own id, never by a date (a meeting across midnight UTC stays one session). `meeting_id` is
    the scheduled meeting it was bound to, None for an unscheduled one. At most one session per room runs
    (`ended_at` null): the domain layer checks it; the index serves that check.
    """

    __tablename__ = "meeting_sessions"
    __table_args__ = (
        Index("ix_meeting_sessions_room_id_ended_at", "room_id", "ended_at"),
        CheckConstraint(_one_of("minutes_status", MINUTES_STATUSES), name="minutes_status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    room_id: Mapped[str] = mapped_column(String(255))
    occurrence_utc: Mapped[datetime | None]  # the bound occurrence's start
    title: Mapped[str] = mapped_column(String(200))
    started_by: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The minutes: a draft until approved; approved minutes are rendered as the log stood at `approved_at`.
    minutes_status: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None]
    # The last rendering (rebuilt from the log whenever it changes; `iscg-bot minutes regenerate` redoes it).
    minutes_markdown: Mapped[str | None] = mapped_column(Text)
    minutes_html: Mapped[str | None] = mapped_column(Text)
    rendered_at: Mapped[datetime | None]

    @property
    def reference(self) -> str:
        """How people name the minutes: the meeting's M-number, or the session's own S-number."""
        return f"M{self.meeting_id}" if self.meeting_id is not None else f"S{self.id}"


class SessionChair(Base):
    """Someone who may end the session, change its topic and name other chairs."""

    __tablename__ = "session_chairs"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    matrix_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class MinuteLine(Base):
    """One message heard while a session ran, stored in the same transaction as the event's ledger row.

    `text` is the current text (an edit replaces it; `MinuteLineEdit` keeps the earlier ones); a redacted
    line stays, with the time it was redacted, and is left out of the minutes. Its tags (`MinuteTag`) say
    what a tag command made of it.
    """

    __tablename__ = "minute_lines"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("meeting_sessions.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    server_time: Mapped[datetime]
    msgtype: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    redacted_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]

    @property
    def redacted(self) -> bool:
        return self.redacted_at is not None


class MinuteTag(Base):
    """What one tag command in a line said (`!agreed …` → tag "agreed", args {"text": …}); a message with
    several tag commands has several, in `position` order. `undone` is a tag withdrawn by `!undo`."""

    __tablename__ = "minute_tags"
    __table_args__ = (CheckConstraint(_one_of("tag", MINUTE_TAGS), name="tag"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("minute_lines.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    tag: Mapped[str] = mapped_column(String(10))
    args: Mapped[dict[str, Any] | None]
    undone: Mapped[bool] = mapped_column(default=False, server_default=false())


class MinuteLineEdit(Base):
    """A line's text before an edit replaced it (one row per edit event)."""

    __tablename__ = "minute_line_edits"

    line_id: Mapped[int] = mapped_column(ForeignKey("minute_lines.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)  # the edit (m.replace) event
    text: Mapped[str] = mapped_column(Text)  # the text the edit replaced
    at: Mapped[datetime]


ACTION_STATUSES = ("open", "done", "dropped")


class ActionItem(Base):
    """Something someone undertook to do, shown to users as `A<id>` (never reused, like `M<id>`).

    `owner` is a Matrix ID (`@bob:example.org`) or, for someone not on Matrix, a name as written. `due` is a
    calendar day, read in the subject's zone (the deployment's default zone outside a subject). `session_id`
    is the meeting session it was recorded in (None: recorded outside a meeting). `due_reminded_on` is the
    due day whose one reminder went out or was skipped: changing `due` re-arms the reminder, once.
    """

    __tablename__ = "action_items"
    __table_args__ = (
        CheckConstraint(_one_of("status", ACTION_STATUSES), name="status"),
        Index("ix_action_items_subject_id_status", "subject_id", "status"),
        Index("ix_action_items_owner_status", "owner", "status"),
        Index("ix_action_items_status_due", "status", "due"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_sessions.id", ondelete="SET NULL"))
    # Not unique: one message may carry several `!action` lines (commands pasted together run in order).
    event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    due: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(255))
    due_reminded_on: Mapped[date | None]
