"""Action items (`A<n>`): who undertook to do what, by when, and where it came from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import ActionItem


class ActionChanges(TypedDict, total=False):
    """What Actions.update may change; the rest (origin, creator, creation time) is fixed."""

    owner: str
    text: str
    due: date | None
    status: str
    closed_at: datetime | None
    closed_by: str | None


UPDATABLE = ActionChanges.__optional_keys__


def _by_due() -> tuple[Any, ...]:
    """Soonest due first, those with no due date last, then by number."""
    return (ActionItem.due.asc().nulls_last(), ActionItem.id)


class Actions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        subject_id: int | None,
        room_id: str,
        owner: str,
        text: str,
        due: date | None,
        created_by: str,
        at: datetime,
        session_id: int | None = None,
        event_id: str | None = None,
    ) -> ActionItem:
        """Store a new open action item; its id (the `A<n>`) is set on return."""
        item = ActionItem(
            subject_id=subject_id,
            room_id=room_id,
            session_id=session_id,
            event_id=event_id,
            owner=owner,
            text=text,
            due=due,
            status="open",
            created_by=created_by,
            created_at=at,
            updated_at=at,
        )
        self._session.add(item)
        await self._session.flush()
        return item

    async def get(self, action_id: int) -> ActionItem | None:
        return await self._session.get(ActionItem, action_id)

    async def update(self, item: ActionItem, *, at: datetime, **fields: Unpack[ActionChanges]) -> ActionItem:
        """Set the fields given (None included: `due=None` removes the due date) and updated_at.

        Raises TypeError, changing nothing, for a field not in UPDATABLE.
        """
        unknown = sorted(set(fields) - UPDATABLE)
        if unknown:
            raise TypeError(f"Actions.update can't change {', '.join(unknown)}")
        for field, value in fields.items():
            setattr(item, field, value)
        item.updated_at = at
        await self._session.flush()
        return item

    async def of_place(
        self, *, subject_id: int | None, room_id: str, statuses: tuple[str, ...] | None = ("open",)
    ) -> list[ActionItem]:
        """The subject's action items (None: those of the room, which has no subject), by due date then
        number; `statuses` None means every status."""
        where = ActionItem.room_id == room_id if subject_id is None else ActionItem.subject_id == subject_id
        return await self._list(select(ActionItem).where(where), statuses)

    async def of_owner(self, owner: str, *, statuses: tuple[str, ...] | None = ("open",)) -> list[ActionItem]:
        """Someone's action items across subjects, by due date then number."""
        return await self._list(select(ActionItem).where(ActionItem.owner == owner), statuses)

    async def of_session(self, session_id: int) -> list[ActionItem]:
        """The action items recorded in a meeting session, by number."""
        query = select(ActionItem).where(ActionItem.session_id == session_id).order_by(ActionItem.id)
        return list(await self._session.scalars(query))

    async def _list(self, query: Select[ActionItem], statuses: tuple[str, ...] | None) -> list[ActionItem]:
        if statuses is not None:
            query = query.where(ActionItem.status.in_(statuses))
        return list(await self._session.scalars(query.order_by(*_by_due())))

    async def reminder_candidates(self, *, due_by: date, limit: int = 10_000) -> list[ActionItem]:
        """Open items due on or before `due_by` whose due day has not had its reminder (sent or skipped)."""
        query = (
            select(ActionItem)
            .where(
                ActionItem.status == "open",
                ActionItem.due.is_not(None),
                ActionItem.due <= due_by,
                or_(ActionItem.due_reminded_on.is_(None), ActionItem.due_reminded_on != ActionItem.due),
            )
            .order_by(ActionItem.due, ActionItem.id)
            .limit(limit)
        )
        return list(await self._session.scalars(query))

    async def claim_due_reminder(self, action_id: int, due: date) -> bool:
        """Record that the reminder of `due` is sent (or skipped); False if it already was, if the item is
        no longer open or no longer due that day, in which case nothing must be sent.

        One UPDATE … WHERE, so two transactions cannot both claim: the second waits for the first's row
        lock (or SQLite's write lock) and then matches nothing. Claim in the transaction that queues the
        message, so both are committed or neither.
        """
        statement = (
            update(ActionItem)
            .where(
                ActionItem.id == action_id,
                ActionItem.status == "open",
                ActionItem.due == due,
                or_(ActionItem.due_reminded_on.is_(None), ActionItem.due_reminded_on != due),
            )
            .values(due_reminded_on=due)
            .returning(ActionItem.id)
            .execution_options(synchronize_session=False)
        )
        return (await self._session.execute(statement)).first() is not None
