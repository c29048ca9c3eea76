"""Shared rendering for command replies: people shown by name, never pinged by a listing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from iscg_bot.core.formatting import Rich, italic, join, person
from iscg_bot.core.i18n import _, lazy, ntr

if TYPE_CHECKING:
    from iscg_bot.storage import UnitOfWork
    from iscg_bot.storage.models import RoleAssignment


async def display_names(uow: UnitOfWork, user_ids: Iterable[str], room_id: str) -> dict[str, str | None]:
    """The name each person goes by in this room, else the name we last saw them use anywhere."""
    ids = list(dict.fromkeys(user_ids))
    known = await uow.people.many(ids)
    names: dict[str, str | None] = {}
    for user_id in ids:
        here = await uow.members.display_name(room_id, user_id)
        anywhere = known[user_id].display_name if user_id in known else None
        names[user_id] = here or anywhere
    return names


NOBODY_YET = lazy("nobody yet")


def people(
    assignments: Iterable[RoleAssignment], names: dict[str, str | None], empty: str = NOBODY_YET
) -> Rich:
    """The people, named; `empty` (English, marked with `lazy()` by the caller) when there are none."""
    shown = [person(a.matrix_id, names.get(a.matrix_id)) for a in assignments]
    return join(shown, ", ") if shown else italic(_(empty))


NONE_APPOINTED = lazy("none appointed")


def coordinators_line(coordinators: Sequence[RoleAssignment], names: dict[str, str | None]) -> Rich:
    """`Coordinator: Fatima`, `Coordinators: Fatima, Daniel`, `Coordinator: none appointed`."""
    return ntr(
        "Coordinator: {who}",
        "Coordinators: {who}",
        max(1, len(coordinators)),
        who=people(coordinators, names, NONE_APPOINTED),
    )
