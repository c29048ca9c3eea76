"""Every table's rows, to compare two databases; and the rest of a group's life the year's story leaves out
(a sync token, people's zones, room members, a personal feed, an agenda, a reminder, a line edited, a mail),
so that a copy is checked on every kind of row."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import JSON, select

from iscg_bot.chat.events import MembershipChange
from iscg_bot.storage import Base, Database, MinuteLineEdit, OutboxFile, UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.support.year_story import AI, MEMBER

SYNC_TOKEN = "s72594_4483_1934_53_0_1_1_1_1"
MAIL = b"From: iscg@example.org\r\nTo: coord@example.org\r\nSubject: M6\r\n\r\nBEGIN:VCALENDAR\r\n\x00\xff"


async def rows_of(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, as the models' types read them (aware UTC
    datetimes, decoded JSON, bytes); a JSON column also says whether it holds SQL NULL or JSON `null`."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            nulls = [c.is_(None) for c in table.columns if isinstance(c.type, JSON)]
            query = select(*table.columns, *nulls).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in await conn.execute(query)]
    return tables


async def personal_token(chat: Chat, who: str) -> str:
    """Ask for the calendar links; the personal feed's token, from the private message."""
    await said(chat, "!calendar", by=who)
    [token] = set(re.findall(r"/calendar/personal/([^/\s]+)\.ics", chat.dms(who)[-1]))  # https and webcal
    return token


async def the_rest_of_the_year(chat: Chat) -> str:
    """What the story leaves out, told after it; the personal feed token of COORD."""
    now = chat.clock.now()
    await said(chat, "!tz Europe/Paris", by=MEMBER)
    await said(chat, '!meeting agenda M6 add Budget <review> & "next steps"', by=ADMIN, room=AI)
    await chat.deliver(
        MembershipChange("$join1", COP, MEMBER, now, user_id=MEMBER, membership="join", previous=None,
                         display_name="Member Ü")
    )  # fmt: skip
    token = await personal_token(chat, COORD)
    async with UnitOfWork(chat.database.sessions) as uow:
        await uow.state.set("sync_token", SYNC_TOKEN, now)
        await uow.reminders.claim(6, now + timedelta(days=50), 60, at=now)
        await uow.mail.queue(
            message_id="<m6.0.request@iscg>",
            method="REQUEST",
            meeting_id=6,
            sequence=0,
            sender="iscg@example.org",
            recipients=["coord@example.org"],
            message=MAIL,
            at=now,
        )
        # an edited line: the text it had before (edits are heard only while a meeting runs)
        uow.session.add(MinuteLineEdit(line_id=1, event_id="$edit1", text="Happy new yaer", at=now))
        # JSON `null`, which an explicit None writes (the story's files hold SQL NULL: never set)
        uow.session.add(
            OutboxFile(filename="r.md", mimetype="text/markdown", data=b"", uploaded=None, created_at=now)
        )
        await uow.commit()
    return token
