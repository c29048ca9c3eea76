"""A meeting's minutes as the renderers take them (`MinutesDocument`): one with something in every section
and one where nothing was recorded, built so that tests change only what their story is about
(`document(status=…)`, `bare(log=…)`), and the people and times they are made of."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from iscg_bot.domain.minutes_model import Action, Item, Link, LogLine, MinutesDocument, Person, Topic

ZONE = "Europe/Zurich"  # UTC+01:00 in November
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE = Person("@alice:example.org", "Alice")
BOB = Person("@bob:example.org", "Bob")
CAROL = Person("Carol Guest")  # not on Matrix: a free-text name
DAN = Person("@dan:example.org")


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def item(tag: str, text: str, url: str | None = None, minutes: int = 5) -> Item:
    return Item(tag, text, ALICE, at(minutes), url)


def said(minutes: int, who: Person, text: str, **kw: object) -> LogLine:
    return LogLine(at(minutes), who, text, **kw)  # type: ignore[arg-type]


def document(**changes: object) -> MinutesDocument:
    """A meeting with something in every section; tests change only what their story is about."""
    full = MinutesDocument(
        reference="M12",
        title="Coordination call",
        subject="Accessibility",
        zone=ZONE,
        started_at=START,
        ended_at=at(50),
        status="draft",
        approved_by=None,
        approved_at=None,
        chairs=(ALICE,),
        attendance=(ALICE, BOB, CAROL),
        regrets=(DAN,),
        agenda=("Welcome", "Budget 2027"),
        topics=(
            Topic(None, (item("info", "Opening remarks"),)),
            Topic(
                "Budget",
                (
                    item("agreed", "Adopt the budget"),
                    item("link", "Spreadsheet", url="https://example.org/budget"),
                    item("action", "Alice to circulate"),
                    item("keyissue", "Funding gap"),
                ),
            ),
        ),
        decisions=("Adopt the budget", "Meet monthly"),
        actions=(
            Action("A1", ALICE, "Circulate the budget", date(2026, 12, 3), "open"),
            Action("A2", BOB, "Review the figures", None, "done"),
            Action("A3", ALICE, "Book the room", None, "dropped"),
        ),
        key_issues=("Funding gap",),
        links=(Link("https://example.org/budget", "Spreadsheet"),),
        log=(
            said(0, ALICE, "Hello all"),
            said(5, BOB, "waves", kind="m.emote"),
            said(10, ALICE, "We adopt the budget", tags=("agreed",)),
            said(12, BOB, "", kind="m.undecryptable"),
            said(15, Person("@bot:example.org", "ISCG bot"), "Topic: Budget", kind="m.notice"),
            said(20, ALICE, "typo fixed", edited=True),
        ),
        page_url="https://bot.example.org/minutes/M12",
    )
    return replace(full, **changes)


def bare(**changes: object) -> MinutesDocument:
    """A meeting where nothing was recorded."""
    empty = dict(chairs=(), attendance=(), regrets=(), agenda=(), topics=(), decisions=(), actions=())
    empty |= dict(key_issues=(), links=(), log=(), page_url=None, subject=None)
    return document(**(empty | changes))
