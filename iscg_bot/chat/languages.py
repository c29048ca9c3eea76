"""Who reads which language: a reply in its reader's, a message to the whole room in the room's.

    languages = Languages(default="en", commits=commits)
    await languages.of_reader(uow, sender, room_id)   # their `!lang`, else the room's, else the default
    await languages.of_room(uow, room_id)             # the subject's (`!subject set language`), else default

Both are asked for every command, so both are kept in memory, per person and per room, and forgotten at
every commit that wrote people or subjects (a `!lang`, a `!subject set language`): a `!ping` pays no query.
"""

from __future__ import annotations

from iscg_bot.core.commits import CommitListeners
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.models import Person, Subject

UNSET = ""  # a room whose subject's language was set back to the default


class Languages:
    def __init__(self, default: str, *, commits: CommitListeners | None = None) -> None:
        self.default = default
        self._people: dict[str, str | None] = {}
        self._rooms: dict[str, str | None] = {}
        self._generation = 0  # raised by `forget`: a value read before a change is used once, not kept
        if commits is not None:
            commits.on_commit(self.forget, tables={Person.__tablename__, Subject.__tablename__})

    def forget(self) -> None:
        self._people.clear()
        self._rooms.clear()
        self._generation += 1

    async def of_reader(self, uow: UnitOfWork, user_id: str, room_id: str) -> str:
        if user_id in self._people:
            chosen = self._people[user_id]
        else:
            generation = self._generation
            person = await uow.people.get(user_id)
            chosen = person.language if person is not None else None
            if generation == self._generation:
                self._people[user_id] = chosen
        return chosen or await self.of_room(uow, room_id)

    async def of_room(self, uow: UnitOfWork, room_id: str) -> str:
        if room_id in self._rooms:
            chosen = self._rooms[room_id]
        else:
            generation = self._generation
            subject = await uow.subjects.by_room(room_id)
            chosen = subject.language if subject is not None else None
            if generation == self._generation:
                self._rooms[room_id] = chosen
        return chosen or self.default
