"""How the ISCG is organised: subjects of common interest bound to rooms, and who holds which role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import RoleAssignment, Subject


class AlreadyExists(Exception):
    """A value that must be unique is taken; `field` names it ("slug" or "room_id").

    Raised before anything is written, so the transaction can go on (e.g. to answer the user).
    """

    def __init__(self, field: str, value: str | None = None) -> None:
        super().__init__(f"{field} {value!r} is already taken" if value is not None else f"{field} is taken")
        self.field = field
        self.value = value


class Subjects:
    """Subjects of common interest. Each is bound to exactly one room; archived ones keep their room."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, subject_id: int) -> Subject | None:
        return await self._session.get(Subject, subject_id)

    async def by_slug(self, slug: str) -> Subject | None:
        return await self._session.scalar(select(Subject).filter_by(slug=slug))

    async def by_room(self, room_id: str) -> Subject | None:
        """The subject bound to the room, archived or not."""
        return await self._session.scalar(select(Subject).filter_by(room_id=room_id))

    async def create(
        self, *, slug: str, title: str, room_id: str, timezone: str, created_by: str, at: datetime
    ) -> Subject:
        """Create a subject bound to `room_id`; raise AlreadyExists if the slug or the room is taken."""
        # Look first: a failed INSERT would abort the whole transaction on PostgreSQL. The unique
        # constraints still stop a concurrent creation (as an IntegrityError the caller rolls back on).
        taken = (
            await self._session.execute(
                select(Subject.slug, Subject.room_id).where(
                    or_(Subject.slug == slug, Subject.room_id == room_id)
                )
            )
        ).all()
        if any(row.slug == slug for row in taken):
            raise AlreadyExists("slug", slug)
        if taken:
            raise AlreadyExists("room_id", room_id)
        subject = Subject(
            slug=slug,
            title=title,
            description="",
            timezone=timezone,
            archived=False,
            room_id=room_id,
            room_active=True,
            created_by=created_by,
            created_at=at,
            updated_at=at,
        )
        self._session.add(subject)
        await self._session.flush()
        return subject

    async def update(
        self,
        subject: Subject,
        *,
        at: datetime,
        title: str | None = None,
        description: str | None = None,
        timezone: str | None = None,
        archived: bool | None = None,
        language: str | None = None,
    ) -> Subject:
        """Change the fields given (None leaves a field as it is) and set updated_at."""
        changes: dict[str, Any] = {
            "title": title,
            "description": description,
            "timezone": timezone,
            "archived": archived,
            "language": language,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(subject, field, value)
        subject.updated_at = at
        await self._session.flush()
        return subject

    async def move_room(self, old_room_id: str, new_room_id: str, at: datetime) -> Subject | None:
        """Bind the subject of `old_room_id` to `new_room_id` (a room upgrade); None if no subject had it.

        Raises AlreadyExists("room_id") if another subject is bound to the new room. `room_active` is
        left as it is: the caller says when the bot is in the new room.
        """
        subject = await self.by_room(old_room_id)
        if subject is None or new_room_id == old_room_id:
            return subject
        if await self.by_room(new_room_id) is not None:
            raise AlreadyExists("room_id", new_room_id)
        subject.room_id = new_room_id
        subject.updated_at = at
        await self._session.flush()
        return subject

    async def set_room_active(self, room_id: str, active: bool, at: datetime) -> Subject | None:
        """Note whether the bot is in the subject's room (false once it was kicked or left); None if no
        subject is bound to the room."""
        subject = await self.by_room(room_id)
        if subject is None:
            return None
        subject.room_active = active
        subject.updated_at = at
        await self._session.flush()
        return subject

    # Last in the class: below this line, `list` in an annotation would name the method.
    async def list(self, *, include_archived: bool = False) -> list[Subject]:
        """Subjects by slug; archived ones only when asked."""
        query = select(Subject).order_by(Subject.slug)
        if not include_archived:
            query = query.where(Subject.archived.is_(False))
        return list(await self._session.scalars(query))


class Roles:
    """Role assignments. Removing a role ends the assignment; the history is kept for the reports."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(
        self,
        *,
        at: datetime,
        role: str | None = None,
        subject_id: int | None = None,
        matrix_id: str | None = None,
        sector: str | None = None,
        advisory_group: str | None = None,
    ) -> list[RoleAssignment]:
        """Assignments not ended whose term covers `at`, by role then assigned_at, in one query.

        Each filter given narrows the result; None means any (subject_id=None is not "group-wide only").
        """
        filters = {
            "role": role,
            "subject_id": subject_id,
            "matrix_id": matrix_id,
            "sector": sector,
            "advisory_group": advisory_group,
        }
        query = (
            select(RoleAssignment)
            .filter_by(**{column: value for column, value in filters.items() if value is not None})
            .where(
                RoleAssignment.ended_at.is_(None),
                or_(RoleAssignment.term_start.is_(None), RoleAssignment.term_start <= at),
                or_(RoleAssignment.term_end.is_(None), RoleAssignment.term_end > at),
            )
            .order_by(RoleAssignment.role, RoleAssignment.assigned_at, RoleAssignment.id)
        )
        return list(await self._session.scalars(query))

    async def add(
        self,
        matrix_id: str,
        role: str,
        *,
        by: str,
        at: datetime,
        subject_id: int | None = None,
        sector: str | None = None,
        advisory_group: str | None = None,
        term_start: datetime | None = None,
        term_end: datetime | None = None,
    ) -> RoleAssignment:
        """Record a new assignment. The database refuses (IntegrityError) an unknown role, sector or
        advisory group and a subject that does not exist; which combinations make sense is the caller's
        business."""
        assignment = RoleAssignment(
            matrix_id=matrix_id,
            role=role,
            subject_id=subject_id,
            sector=sector,
            advisory_group=advisory_group,
            term_start=term_start,
            term_end=term_end,
            assigned_by=by,
            assigned_at=at,
        )
        self._session.add(assignment)
        await self._session.flush()
        return assignment

    async def end(self, assignment: RoleAssignment, *, by: str, at: datetime) -> None:
        """End the assignment; the row stays in the history. Ending it again changes nothing."""
        if assignment.ended_at is not None:
            return
        assignment.ended_at = at
        assignment.ended_by = by
        await self._session.flush()

    async def history(
        self, *, subject_id: int | None = None, matrix_id: str | None = None
    ) -> list[RoleAssignment]:
        """Every assignment, ended ones included, by assigned_at; narrowed by the filters given."""
        filters = {"subject_id": subject_id, "matrix_id": matrix_id}
        query = (
            select(RoleAssignment)
            .filter_by(**{column: value for column, value in filters.items() if value is not None})
            .order_by(RoleAssignment.assigned_at, RoleAssignment.id)
        )
        return list(await self._session.scalars(query))
