"""The feeds after a change: each kind of change is in the next GET, and only the changed meeting is rendered.

A feed is assembled from each meeting's VEVENTs, kept while what they were rendered from is unchanged
(`iscg_bot.calendar.feed_blocks`). The chat driver's clock does not move: every change below happens at the
same instant as the scheduling, so nothing here passes because a timestamp moved.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete

from iscg_bot.calendar.feed_blocks import FeedBlocks
from iscg_bot.calendar.feeds import FeedInfo, render_feed
from iscg_bot.core.health import SyncHealth
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.models import Meeting
from iscg_bot.storage.repositories.feed_rows import FeedRows, MeetingRow
from iscg_bot.web.feed_cache import FeedCache
from iscg_bot.web.server import build_application
from tests.chat import ADMIN, ALICE, COORD, Chat
from tests.chat import said as said_by
from tests.feed_checks import check_feed, expand_recurring, unfold

GROUP = "!iscg:example.org"
said = functools.partial(said_by, by=COORD)


@dataclasses.dataclass
class Feeds:
    chat: Chat
    cache: FeedCache
    client: TestClient

    async def get(self, path: str = "/calendar/iscg.ics") -> bytes:
        response = await self.client.get(path)
        assert response.status == 200
        body = await response.read()
        check_feed(body)  # valid after every change
        return body


@pytest.fixture
async def feeds(chat: Chat) -> AsyncIterator[Feeds]:
    """Subject cop with a one-off (M1) and a weekly series (M2), a group-wide meeting (M3); the web
    application on top, hearing every committed change as in the app."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, "!group bind", by=ADMIN, room=GROUP)
    await said(chat, '!meeting schedule "COP call" 2026-12-03 14:00 Europe/Zurich')
    await said(
        chat, '!meeting schedule "COP weekly" 2026-12-07 10:00 Europe/Zurich every week until 2027-03-01'
    )
    await said(chat, '!meeting schedule "Plenary" 2026-12-09 12:00 Europe/Zurich', by=ADMIN, room=GROUP)
    cache = FeedCache(chat.database.sessions, chat.clock, "https://iscg.example.org", commits=chat.commits)
    app = build_application(cache, SyncHealth(chat.gateway, chat.clock, sync_timeout_seconds=30))
    async with TestClient(TestServer(app)) as client:
        yield Feeds(chat, cache, client)


def events(body: bytes) -> dict[str, list[str]]:
    """Each VEVENT's content lines (unfolded), by its UID and RECURRENCE-ID if any."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in unfold(body):
        if line == "BEGIN:VEVENT":
            current = []
        elif line == "END:VEVENT":
            uid = next(v for v in current if v.startswith("UID:")).split("@")[0].removeprefix("UID:")
            recurrence = [v.split(":", 1)[1] for v in current if v.startswith("RECURRENCE-ID")]
            found[uid + (f" {recurrence[0]}" if recurrence else "")] = current
        else:
            current.append(line)
    return found


def value(lines: list[str], name: str) -> str:
    """The value of the first `name` property (with its parameters, if any, dropped)."""
    return next(
        re.split(r"(?<!\\):", line, maxsplit=1)[1] for line in lines if re.match(rf"{name}[;:]", line)
    )


async def test_moving_a_meeting_is_in_the_next_get_and_only_it_is_rendered_again(feeds):
    before = events(await feeds.get())
    rendered = feeds.cache.blocks.rendered
    await said(feeds.chat, "!meeting move M1 2026-12-03 16:30")
    after = events(await feeds.get())
    assert value(after["meeting-1"], "DTSTART") == "20261203T163000"
    assert value(before["meeting-1"], "DTSTART") == "20261203T140000"
    assert feeds.cache.blocks.rendered == rendered + 1  # M1 only: M2 and M3 were kept as they were
    assert after["meeting-2"] == before["meeting-2"] and after["meeting-3"] == before["meeting-3"]


async def test_moving_one_occurrence_is_in_the_next_get(feeds):
    await feeds.get()
    await said(feeds.chat, "!meeting move M2 2026-12-15 16:00 occurrence 2026-12-14")
    body = await feeds.get()
    moved = events(body)["meeting-2 20261214T100000"]
    assert value(moved, "DTSTART") == "20261215T160000"
    starts = {start for start, _end, summary in expand_recurring(body, *_DECEMBER) if "COP weekly" in summary}
    assert datetime(2026, 12, 15, 15, 0, tzinfo=UTC) in starts  # 16:00 in Zurich
    assert datetime(2026, 12, 14, 9, 0, tzinfo=UTC) not in starts


async def test_cancelling_one_occurrence_is_in_the_next_get(feeds):
    await feeds.get()
    await said(feeds.chat, "!meeting cancel M2 occurrence 2026-12-21 holidays")
    body = await feeds.get()
    series = events(body)["meeting-2"]
    assert value(series, "EXDATE") == "20261221T100000"
    assert "holidays" in value(series, "DESCRIPTION")
    starts = {start for start, _end, summary in expand_recurring(body, *_DECEMBER) if "COP weekly" in summary}
    assert datetime(2026, 12, 21, 9, 0, tzinfo=UTC) not in starts
    assert datetime(2026, 12, 28, 9, 0, tzinfo=UTC) in starts


async def test_cancelling_a_meeting_and_adding_to_its_agenda_are_in_the_next_get(feeds):
    await feeds.get()
    await said(feeds.chat, "!meeting agenda M1 add Budget review")
    assert "1. Budget review" in value(events(await feeds.get())["meeting-1"], "DESCRIPTION")
    await said(feeds.chat, "!meeting cancel M1 no quorum")
    cancelled = events(await feeds.get())["meeting-1"]
    assert value(cancelled, "STATUS") == "CANCELLED"
    assert "no quorum" in value(cancelled, "DESCRIPTION")


async def test_a_renamed_subject_is_in_the_next_get_of_every_feed(feeds):
    group, subject = await feeds.get(), await feeds.get("/calendar/cop.ics")
    assert value(events(group)["meeting-1"], "CATEGORIES") == "cop,Child Online Protection"
    await said(feeds.chat, "!subject set title Child Safety Online")
    for body in (await feeds.get(), await feeds.get("/calendar/cop.ics")):
        found = events(body)
        assert value(found["meeting-1"], "CATEGORIES") == "cop,Child Safety Online"
        assert value(found["meeting-2"], "CATEGORIES") == "cop,Child Safety Online"
    assert value(events(await feeds.get())["meeting-3"], "CATEGORIES") == "ISCG"  # group-wide: unchanged
    assert subject != await feeds.get("/calendar/cop.ics")


async def test_a_deleted_meeting_leaves_the_next_get(feeds):
    await feeds.get()
    async with UnitOfWork(feeds.chat.database.sessions) as uow:
        await uow.session.execute(delete(Meeting).where(Meeting.id == 1))
        await uow.commit()
    feeds.chat.commits.committed()
    assert sorted(events(await feeds.get())) == ["meeting-2", "meeting-3"]
    assert "meeting-1" not in events(await feeds.get("/calendar/cop.ics"))


async def test_a_change_the_feed_does_not_show_renders_nothing_again(feeds):
    body = await feeds.get()
    renders, rendered = feeds.cache.renders, feeds.cache.blocks.rendered
    await said(feeds.chat, "!rsvp M1 yes")  # wrote RSVPs only: no feed is made of them, none is read again
    assert await feeds.get() == body and feeds.cache.renders == renders
    feeds.chat.commits.committed()  # a commit whose tables are not known: read again, from kept blocks
    assert await feeds.get() == body
    assert feeds.cache.renders == renders + 1 and feeds.cache.blocks.rendered == rendered


async def test_a_new_role_is_in_the_next_get_of_the_persons_feed(feeds):
    async with UnitOfWork(feeds.chat.database.sessions) as uow:
        token = await uow.calendar_tokens.issue(ALICE, feeds.chat.clock.now())
        await uow.commit()
    path = f"/calendar/personal/{token}.ics"
    assert sorted(events(await feeds.get(path))) == ["meeting-3"]  # the group-wide one only
    await said(feeds.chat, f"!role add {ALICE} focal-point ITU-D", by=ADMIN)
    assert sorted(events(await feeds.get(path))) == ["meeting-1", "meeting-2", "meeting-3"]


# --- the kept blocks themselves --------------------------------------------------------------------------

_DECEMBER = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
INFO = FeedInfo(name="ISCG", url="https://iscg.example.org/calendar/iscg.ics")


async def test_kept_blocks_give_the_bytes_of_a_full_render_through_changes_and_back(feeds):
    await said(feeds.chat, "!meeting cancel M2 occurrence 2026-12-21 holidays")
    async with UnitOfWork(feeds.chat.database.sessions) as uow:
        rows = await FeedRows(uow.session).meetings([None, 1])
        subjects = {s.id: s for s in await uow.subjects.list(include_archived=True)}
        stored = [await uow.meetings.get(row.id) for row in rows]
    assert render_feed(rows, info=INFO, subjects=subjects) == render_feed(
        [m for m in stored if m is not None], info=INFO, subjects=subjects
    )  # the plain rows render as the stored meetings do
    blocks = FeedBlocks()
    renamed = [rows[0]._replace(title="Renamed"), *rows[1:]]
    for version in (rows, renamed, rows, rows):  # a change, then back: each rendered as it is
        assert blocks.render(version, info=INFO, subjects=subjects) == render_feed(
            version, info=INFO, subjects=subjects
        )
    assert blocks.rendered == 3 + 1 + 1  # all three, the renamed one, and back; nothing for the last


async def test_a_block_is_kept_per_pass_of_a_repeated_hour():
    # Equal datetimes in the two passes of 02:30 on 25 Oct 2026 in Zurich: the rows must still differ.
    def row(fold: int) -> MeetingRow:
        return NIGHT_CALL._replace(
            start_local=datetime(2026, 10, 25, 2, 30, fold=fold), start_fold=bool(fold)
        )

    blocks = FeedBlocks()
    first = blocks.render([row(0)], info=INFO, subjects={})
    second = blocks.render([row(1)], info=INFO, subjects={})
    assert first != second and blocks.rendered == 2
    assert "DTSTART:20261025T003000Z" in unfold(first) and "DTSTART:20261025T013000Z" in unfold(second)


def test_rendering_leaves_the_garbage_collector_as_it_found_it():
    blocks = FeedBlocks()  # it pauses collections while it renders (see feed_rows.no_collection)
    blocks.render([NIGHT_CALL], info=INFO, subjects={})
    assert gc.isenabled()
    gc.disable()
    try:
        blocks.render([NIGHT_CALL._replace(title="Renamed")], info=INFO, subjects={})
        assert not gc.isenabled() and blocks.rendered == 2
    finally:
        gc.enable()


STAMP = datetime(2026, 10, 1, tzinfo=UTC)
NIGHT_CALL = MeetingRow(
    id=7,
    subject_id=None,
    title="Night call",
    timezone="Europe/Zurich",
    start_local=datetime(2026, 10, 25, 2, 30),
    start_fold=False,
    duration_minutes=20,
    rrule=None,
    series_end_utc=None,
    link=None,
    status="scheduled",
    cancel_reason=None,
    sequence=0,
    created_at=STAMP,
    updated_at=STAMP,
    agenda=(),
    overrides=(),
)
