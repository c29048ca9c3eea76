"""The chat framework in the pseudo-language (issue 16): unknown commands, usage errors, group listings,
`!help`, `!tz`, `!lang`, refusals and a reminder say nothing in plain English; dates are written in the
reader's language through CLDR (Babel), English exactly as before.

What may stay in ASCII besides code and zone names is passed to `untranslated`: command syntax the
messages show as plain text (area names, a usage placeholder, an alias), and the test's own data.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from babel.dates import format_date

from iscg_bot.chat.help_extract import command_docstrings, help_lines, messages_of, summary_of
from iscg_bot.chat.reminders import ReminderService
from iscg_bot.core.formatting import or_list
from iscg_bot.core.i18n import PSEUDO, speaking
from iscg_bot.core.timeshow import ENGLISH_DAY, day_label, span
from tests.chat import ADMIN, ALICE, COORD, Chat, said
from tests.support.pseudo import pseudo_chat, untranslated
from tests.support.reminders import CALL, sent_at, utc

# Command syntax shown outside code spans: `!help <area>`'s area names, `Missing <slug>`, `Also: !timezone`.
ROLES = ("chair", "management", "coordinator", "focal-point", "secretariat")  # typed as they are
AREAS = ("actions", "basics", "calendar", "meetings", "minutes", "roles", "subjects", "other")


def shown(contents: list[dict]) -> list[str]:
    """Each message as its reader sees it: the HTML if any, else the plain body."""
    return [content.get("formatted_body", content["body"]) for content in contents]


async def replies(chat: Chat, body: str, *, sender: str = ALICE, room: str | None = None) -> list[str]:
    message = (
        chat.message(body, sender=sender) if room is None else chat.message(body, sender=sender, room=room)
    )
    answered = shown(await chat.deliver(message))
    assert answered, f"no reply to {body!r}"
    return answered


@pytest.mark.parametrize(
    ("command", "sender", "allowed"),
    [
        ("!meetign shedule", ALICE, ()),  # unknown, with "did you mean"
        ("!frobnicate", ALICE, ()),  # unknown, no suggestion
        ("!meeting", ALICE, ()),  # a group's listing
        ("!subject create", ADMIN, ("slug",)),  # a missing argument, then the usage
        ("!role add", ADMIN, ("user",)),  # a missing Matrix ID
        ("!role add @x:example.org boss", ADMIN, ("boss", *ROLES)),  # not one of the choices
        ('!subject create cop "Child', ADMIN, ("Child",)),  # a quote never closed
        ("!subject create cop Child Online Protection", ALICE, ()),  # a standing refusal
        ("!help", ALICE, AREAS),  # the index
        ("!help basics", ALICE, AREAS),  # an area
        ("!help tz", ALICE, ("timezone",)),  # a command: its docstring, example, alias
        ("!help subject create", ADMIN, ()),  # who may run it
        ("!help all", ALICE, ()),
        ("!help meeting", ALICE, ()),  # a group, through help
        ("!help nothing here", ALICE, ()),
        ("!tz", ALICE, ()),  # none set: the default
        ("!tz Asia/Tokyo", ALICE, ()),
        ("!lang", ALICE, ()),
        ("!lang xx", ALICE, ("xx",)),
    ],
)
async def test_the_framework_writes_no_plain_english(chat: Chat, command: str, sender: str, allowed: tuple):
    pseudo_chat(chat)
    for message in await replies(chat, command, sender=sender):
        assert untranslated(message, *allowed) == [], message


async def test_a_set_zone_and_an_oversized_message_are_translated_too(chat: Chat):
    pseudo_chat(chat)
    await replies(chat, "!tz Asia/Tokyo")
    for message in await replies(chat, "!tz"):
        assert untranslated(message) == [], message
    for message in await replies(chat, "!ping " + "x" * 9000):
        assert untranslated(message) == [], message


async def test_a_reminder_is_written_in_the_rooms_language(chat: Chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, CALL)
    pseudo_chat(chat)  # the room's language (the configured default: no subject chose one)
    service = ReminderService(
        chat.database.sessions,
        chat.clock,
        chat.config.reminders,
        tick_seconds=None,
        languages=chat.dispatcher.languages,
    )
    await service.start(run_jobs=False)
    try:
        [day_before] = await sent_at(chat, "2026-12-02T13:00", service)
        [at_start] = await sent_at(chat, "2026-12-03T13:00", service)
    finally:
        await service.stop()
    for message in shown([day_before, at_start]):
        assert untranslated(message, "Coordination call") == [], message
    assert "https://meet.example.org/cop" in at_start["body"]


async def test_a_reminder_without_the_rooms_language_is_in_english_as_before(chat: Chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, CALL)
    service = ReminderService(chat.database.sessions, chat.clock, chat.config.reminders, tick_seconds=None)
    await service.start(run_jobs=False)
    try:
        chat.clock.set(utc("2026-12-03T12:45"))
        await service.run_due()
        [soon] = await chat.take_outbox()
    finally:
        await service.stop()
    assert soon["body"].startswith(
        "Reminder: M1 “Coordination call” starts in 15 minutes — Thu 3 Dec 2026 14:00"
    )


# ---- dates by locale ---------------------------------------------------------------------------------------


START = datetime.fromisoformat("2026-12-03T13:00:00+00:00")
END = datetime.fromisoformat("2026-12-03T14:30:00+00:00")


def test_english_day_names_are_cldrs_english_written_as_before():
    for day in (date(2026, 12, 3), date(2027, 1, 31), date(2026, 5, 4), date(2028, 2, 29)):
        assert day_label(day) == format_date(day, ENGLISH_DAY, locale="en")
    assert (
        span(START, END, "Europe/Zurich")
        == "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00) · 13:00–14:30 UTC"
    )


def test_day_and_month_names_follow_the_language_being_written():
    with speaking("fr"):
        assert span(START, END, "Europe/Zurich").startswith(
            "jeu. 3 déc. 2026 14:00–15:30 Europe/Zurich (UTC+01:00)"
        )
    with speaking("es"):
        assert day_label(date(2026, 12, 3), year=False) == "jue, 3 dic"
    with speaking("zh"):
        assert day_label(date(2026, 12, 3)) == "2026年12月3日周四"
    with speaking("ar"):
        assert "ديسمبر" in day_label(date(2026, 12, 3))
    with speaking(PSEUDO):  # English CLDR data, accented: still told apart from text never localized
        assert untranslated(day_label(date(2026, 12, 3))) == []


async def test_a_french_reader_sees_french_day_names_in_a_meeting_reply(chat: Chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    assert "Thu 3 Dec 2026 14:00–15:30 Europe/Zurich (UTC+01:00)" in await said(chat, CALL)
    await said(chat, "!lang fr")
    assert "jeu. 3 déc. 2026 14:00–15:30 Europe/Zurich (UTC+01:00)" in await said(chat, "!meeting show M1")


def test_or_lists_follow_the_language_english_as_before():
    assert or_list(["a", "b", "c"]) == "a, b or c"
    with speaking("fr"):
        assert or_list(["a", "b", "c"]) == "a, b ou c"
    with speaking("es"):
        assert or_list(["a", "b"]) == "a o b"


# ---- help's messages ---------------------------------------------------------------------------------------


def test_the_extractor_yields_exactly_the_lines_help_shows():
    source = '''
@router.command("tz")
async def tz(ctx, zone=None):
    """Show your time zone,
    or set it.

    Use a name such as Europe/Zurich.
    - one item

    Example: !tz Asia/Tokyo
    """

async def not_a_command(ctx):
    """Not extracted."""
'''
    [(line, doc)] = list(command_docstrings(source))
    assert line == 4
    assert summary_of(doc) == "Show your time zone, or set it."
    assert messages_of(doc) == [
        "Show your time zone, or set it.",
        "Use a name such as Europe/Zurich.",
        "- one item",
    ]
    assert "Example: !tz Asia/Tokyo" in help_lines(doc)  # shown as syntax, never a message
