"""A year of the group's work told through the chat driver: the story the reports and the web pages are
checked against (the test modules count the expected figures from it themselves).

The story (period: the year 2027; the report is compiled on 10 Jan 2028):

    cop  Child Online Protection, Europe/Zurich. Coordinator COORD, focal points FP_T (ITU-T), FP_D (ITU-D).
         M1 one-off at 23:30 UTC on 31 Dec 2026 = 00:30 on 1 Jan 2027 in Zurich: held, in 2027.
         M3 monthly series from 14 Jan 2027 until 30 Jun 2028: Jan held (approved), Feb moved to the 16th and
         held, Mar held, Apr cancelled, Feb 2028 cancelled. M4 one-off on 20 May 2027: held.
    ai   AI for Good, UTC. Coordinator COORD2, focal point FP_R (ITU-R).
         M2 one-off at 23:30 UTC on 31 Dec 2026: held, in 2026 (outside the period). M5 on 10 Jun 2027: held.
         M6 planned for 1 Mar 2028.
    emf  EMF exposure, Europe/Zurich. Coordinator COORD3; focal points FP_T2 (ITU-T, until 15 Dec 2026), FP_GS
         (GS), FP_D2 (ITU-D, from 1 Jun 2027). One unscheduled meeting on 15 Sep 2027.
    old  Archived in Dec 2026, no meetings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iscg_bot.chat.events import Redaction
from iscg_bot.domain.reports import year
from tests.chat import ADMIN, COORD, COP, Chat, said

AI = "!ai:example.org"
EMF = "!emf:example.org"
OLD = "!old:example.org"
COORD2, COORD3, COORD4 = "@coord2:example.org", "@coord3:example.org", "@coord4:example.org"
FP_T, FP_D, FP_R = "@fp-t:itu.int", "@fp-d:itu.int", "@fp-r:itu.int"
FP_T2, FP_GS, FP_D2 = "@fp-t2:itu.int", "@fp-gs:itu.int", "@fp-d2:itu.int"
MEMBER, MEMBER2, GUEST, ABSENT = (
    "@member:example.org",
    "@member2:example.org",
    "@guest:example.org",
    "@absent:example.org",
)
BASE = "https://iscg.example.org"
NOW = datetime(2028, 1, 10, 9, 0, tzinfo=UTC)  # when the report is compiled
Y2027 = year(2027)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def line(chat: Chat, body: str, *, by: str, room: str) -> str:
    """Say something in a room (a minute line, a tag); returns the event ID."""
    event = chat.message(body, sender=by, room=room)
    await chat.deliver(event)
    return event.event_id


async def meeting(
    chat: Chat, room: str, chair: str, starts: str, minutes: int, lines: list[tuple[str, str]]
) -> None:
    """Hold a meeting: the chair starts it at `starts` (UTC), the lines are said, it ends `minutes` later."""
    chat.clock.set(at(starts))
    assert (await said(chat, "!startmeeting", by=chair, room=room)).startswith("Meeting started")
    for sender, body in lines:
        await line(chat, body, by=sender, room=room)
    chat.clock.set(at(starts) + timedelta(minutes=minutes))
    await chat.deliver(chat.message("!endmeeting", sender=chair, room=room))


async def seed(chat: Chat) -> Chat:
    """Tell the story (see the module's docstring) through the chat driver; the clock ends at NOW."""
    # -- 25 Nov 2026: subjects, roles, the year's meetings
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await said(chat, "!subject create emf EMF exposure", by=ADMIN, room=EMF)
    await said(chat, "!subject create old Old subject", by=ADMIN, room=OLD)
    await said(chat, "!subject set timezone UTC", by=ADMIN, room=AI)
    await said(chat, "!subject set description Protecting children online.", by=ADMIN)
    for who, role, room in [
        (COORD, "coordinator", COP),
        (FP_T, "focal-point ITU-T", COP),
        (FP_D, "focal-point ITU-D", COP),
        (COORD2, "coordinator", AI),
        (FP_R, "focal-point ITU-R", AI),
        (COORD3, "coordinator", EMF),
        (FP_T2, "focal-point ITU-T", EMF),
        (FP_GS, "focal-point GS", EMF),
        (COORD4, "coordinator", OLD),
    ]:
        await said(chat, f"!role add {who} {role}", by=ADMIN, room=room)
    await said(chat, '!meeting schedule "Year-end check" 2026-12-31 23:30 UTC for 40m')  # M1
    await said(
        chat, '!meeting schedule "Year-end check AI" 2026-12-31 23:30 UTC for 40m', by=COORD2, room=AI
    )  # M2
    monthly = "2027-01-14 14:00 Europe/Zurich every month until 2028-06-30"
    await said(chat, f'!meeting schedule "Monthly coordination" {monthly}')  # M3
    await said(chat, "!meeting move M3 2027-02-16 10:00 occurrence 2027-02-14")
    await said(chat, "!meeting cancel M3 occurrence 2027-04-14 Easter")
    await said(chat, "!meeting cancel M3 occurrence 2028-02-14 holidays")
    await said(chat, '!meeting schedule "Workshop planning" 2027-05-20 10:00 Europe/Zurich for 90m')  # M4
    await said(
        chat, '!meeting schedule "Spectrum for AI networks" 2027-06-10 12:00 UTC', by=COORD2, room=AI
    )  # M5
    await said(chat, '!meeting schedule "Spring review" 2028-03-01 12:00 UTC', by=COORD2, room=AI)  # M6
    await said(chat, "!rsvp M4 no", by=MEMBER2)
    await said(chat, f"!action {MEMBER} Old open task")  # A1: opened in 2026, still open, no due date
    await said(chat, f"!action {MEMBER} Old task closed in 2027")  # A2
    chat.clock.set(at("2026-12-01T10:00"))
    await said(chat, "!subject archive", by=ADMIN, room=OLD)
    chat.clock.set(at("2026-12-15T10:00"))
    await said(chat, f"!role remove {FP_T2} focal-point ITU-T", by=ADMIN, room=EMF)

    # -- 31 Dec 2026, 23:30 UTC: the same instant is 2027 in Zurich and still 2026 in UTC
    await meeting(
        chat,
        COP,
        COORD,
        "2026-12-31T23:30",
        40,
        [
            (MEMBER, "Happy new year"),
            (COORD, "!agreed Publish the child online safety guidelines"),
            (COORD, "!keyissue Funding for the 2028 workshop"),
        ],
    )
    await meeting(chat, AI, COORD2, "2026-12-31T23:30", 40, [(COORD2, "!agreed Something decided in 2026")])

    # -- 14 Jan 2027 13:00 UTC (14:00 Zurich): M3's first meeting, approved
    chat.clock.set(at("2027-01-14T13:00"))
    await said(chat, "!startmeeting", by=COORD)
    await line(chat, f"!action {FP_T} Draft the guidelines due 2027-03-01", by=FP_T, room=COP)  # A3
    await line(chat, f"!action {FP_D} Book the venue due 2027-02-01", by=FP_D, room=COP)  # A4
    await line(chat, f"!action {MEMBER} Ask about translation", by=MEMBER, room=COP)  # A5
    await line(chat, "!agreed Hold a joint workshop on child online safety in March", by=COORD, room=COP)
    await line(chat, "!agreed Withdrawn decision", by=COORD, room=COP)
    await line(chat, "!undo", by=COORD, room=COP)
    redacted = await line(chat, "!agreed Redacted decision", by=MEMBER, room=COP)
    await chat.deliver(Redaction("$redaction", COP, MEMBER, chat.clock.now(), redacts=redacted))
    await line(chat, f"!regrets {ABSENT}", by=COORD, room=COP)
    chat.clock.set(at("2027-01-14T14:00"))
    await chat.deliver(chat.message("!endmeeting", sender=COORD, room=COP))
    await said(chat, "!minutes approve")
    chat.clock.set(at("2027-01-20T10:00"))
    await said(chat, "!action done A4", by=FP_D)
    chat.clock.set(at("2027-02-01T10:00"))
    await said(chat, "!action done A2", by=MEMBER)

    # -- the moved February meeting, March, (April cancelled), the May workshop planning
    await meeting(
        chat,
        COP,
        COORD,
        "2027-02-16T09:00",
        60,
        [(FP_T, "!keyissue Overlap with the ITU-D child protection programme")],
    )
    await meeting(
        chat,
        COP,
        COORD,
        "2027-03-14T13:00",
        45,
        [(MEMBER, "Nothing new"), (COORD, "!agreed Publish the child online safety guidelines in June")],
    )
    await meeting(
        chat, COP, COORD, "2027-05-20T08:00", 90, [(FP_D, "Venue is booked"), (COORD, f"!present {GUEST}")]
    )
    chat.clock.set(at("2027-06-01T10:00"))
    await said(chat, "!action drop A5")
    await said(chat, f"!role add {FP_D2} focal-point ITU-D", by=ADMIN, room=EMF)

    # -- ai in June, emf's unscheduled meeting in September
    await meeting(
        chat,
        AI,
        COORD2,
        "2027-06-10T12:00",
        60,
        [
            (FP_R, "!agreed Joint workshop on child online safety with ITU-D in May"),
            (FP_R, "!keyissue Spectrum needs of AI-driven networks"),
            (FP_R, f"!action {FP_R} Survey spectrum needs due 2027-09-30"),  # A6
        ],
    )
    chat.clock.set(at("2027-07-01T10:00"))
    await said(chat, f"!action {MEMBER} Late task due 2027-09-01")  # A7, done only in 2028
    await said(chat, f"!action {MEMBER} Year-end task due 2027-12-31")  # A8
    await meeting(
        chat,
        EMF,
        COORD3,
        "2027-09-15T08:00",
        30,
        [
            (COORD3, "!agreed Measure exposure near base stations"),
            (FP_GS, "!keyissue Public concern about EMF exposure"),
        ],
    )
    chat.clock.set(at("2028-01-05T10:00"))
    await said(chat, "!action done A7", by=MEMBER)
    chat.clock.set(NOW)
    return chat
