"""Feeds and e-mail invitations in their readers' language (issue 16): a subject's feed and invitations in
the subject's language (else the group's default), the group feed in the default, a personal feed in its
owner's; English as it always was, byte for byte.

The chat driver's clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

import email
import re
from collections.abc import AsyncIterator
from datetime import date
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import icalendar
import pytest

from iscg_bot.calendar.caldav import CalDavPublisher
from iscg_bot.calendar.feeds import FeedInfo, render_feed
from iscg_bot.calendar.mail import queue_invitation
from iscg_bot.core.language import PSEUDO, _, speaking
from iscg_bot.core.timeshow import day_label
from iscg_bot.storage import UnitOfWork
from iscg_bot.storage.repositories.feed_rows import FeedRows
from iscg_bot.web.feed_cache import FeedCache
from tests.chat import ADMIN, COORD, COP, Chat, said
from tests.support.caldav import caldav_settings, fetch, make_collection
from tests.support.caldav import open_chat as caldav_chat
from tests.support.every_table import personal_token
from tests.support.mail import calendar_of, mail_settings, open_chat, parts, rows
from tests.support.pseudo import untranslated

BASE = "https://iscg.example.org"
LINK = "https://meet.example.org/cop"
TITLE = "Coordination call"
AGENDA = "Budget review"
REASON = "holidays"
# The data the test itself typed, which stays as typed in every language.
TYPED = (TITLE, AGENDA, REASON, "Child Online Protection", "cop", "Retired call")


async def meetings(chat: Chat) -> None:
    """A weekly series (an agenda, a link, a cancelled occurrence) and a one-off cancelled with a reason."""
    await said(
        chat,
        f'!meeting schedule "{TITLE}" 2026-12-03 14:00 Europe/Zurich for 60m every week times 10 link {LINK}',
    )
    await said(chat, f"!meeting agenda M1 add {AGENDA}")
    await said(chat, f"!meeting cancel M1 occurrence 2026-12-17 {REASON}")
    await said(chat, '!meeting schedule "Retired call" 2026-12-04 10:00 Europe/Zurich')
    await said(chat, f"!meeting cancel M2 {REASON}")


def unfold(body: bytes) -> str:
    """The calendar's text with its folded lines joined."""
    return re.sub(rb"\r\n[ \t]", b"", body).decode()


def texts(body: bytes) -> list[str]:
    """What a reader reads of a calendar that the bot wrote: its name and description, each event's
    DESCRIPTION and its CONFERENCE's label (SUMMARY is the meeting's label and the title typed)."""
    calendar = icalendar.Calendar.from_ical(body)
    found = [
        str(calendar[key])
        for key in ("NAME", "X-WR-CALNAME", "DESCRIPTION", "X-WR-CALDESC")
        if key in calendar
    ]
    for event in calendar.walk("VEVENT"):
        if "DESCRIPTION" in event:
            found.append(str(event["DESCRIPTION"]))
    found += re.findall(r";LABEL=([^:;]+)", unfold(body))
    return found


def descriptions(body: bytes) -> list[str]:
    return [
        str(e["DESCRIPTION"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT") if "DESCRIPTION" in e
    ]


async def open_feeds(tmp_path: Path, **cache: object) -> tuple[Chat, FeedCache]:
    chat = await open_chat(tmp_path, mail_settings(25))  # mail queued, never sent
    await meetings(chat)
    return chat, FeedCache(chat.database.sessions, chat.clock, BASE, commits=chat.commits, **cache)  # type: ignore[arg-type]


# ---- feeds ------------------------------------------------------------------------------------------------


async def test_every_text_of_a_feed_is_translated(tmp_path):
    chat, cache = await open_feeds(tmp_path, default_language=PSEUDO)
    try:
        group = (await cache.group()).body
        subject = await cache.subject("cop")
        async with UnitOfWork(chat.database.sessions) as uow:
            rows_ = await FeedRows(uow.session).every_meeting()
            names = {s.id: s for s in await uow.subjects.list(include_archived=True)}
        with speaking(PSEUDO):  # the minutes' line, which the chat driver's meetings do not have
            minuted = render_feed(rows_, info=FeedInfo(name="x"), subjects=names, minutes_url=lambda m: BASE)
    finally:
        await chat.close()
    assert subject is not None
    shown = texts(group) + texts(subject.body) + descriptions(minuted)
    assert len(shown) >= 10, shown
    assert "~" in shown[0]  # the feed's name is in the pseudo-language
    for text in shown:
        assert untranslated(text, *TYPED) == [], text
    assert any(BASE in text for text in descriptions(minuted))


async def test_a_french_subject_has_its_feed_in_french_and_the_group_feed_stays_in_the_default(tmp_path):
    chat, cache = await open_feeds(tmp_path)
    try:
        english = (await cache.subject("cop")).body  # type: ignore[union-attr]
        await said(chat, "!subject set language fr", by=ADMIN, room=COP)
        french = (await cache.subject("cop")).body  # type: ignore[union-attr]
        group = (await cache.group()).body
    finally:
        await chat.close()
    with speaking("fr"):
        agenda, join, day = _("Agenda:"), _("Join: {link}", link=LINK), day_label(date(2026, 12, 17))
    assert agenda != "Agenda:" and day != "Thu 17 Dec 2026"  # the catalog has them: a real check
    [series, retired] = descriptions(french)
    assert series.startswith(f"{agenda}\n1. {AGENDA}") and join in series
    assert f"- {day}" in series and REASON in series
    assert REASON in retired
    assert descriptions(group) == descriptions(english)  # the group's default is English
    assert "Agenda:\n1. Budget review" in descriptions(english)[0]


async def test_english_feeds_are_byte_identical_whatever_language_the_caller_writes(tmp_path):
    chat, plain = await open_feeds(tmp_path)
    try:
        english = FeedCache(chat.database.sessions, chat.clock, BASE, default_language="en")
        expected = (await plain.group()).body
        with speaking("fr"):  # a command's context, say: a feed is written in its own readers' language
            assert (await english.group()).body == expected
            assert (await english.subject("cop")).body == (await plain.subject("cop")).body  # type: ignore[union-attr]
    finally:
        await chat.close()
    text = unfold(expected)
    # The English texts as they always read.
    assert "NAME:ISCG meetings\r\n" in text
    assert (
        "DESCRIPTION:Electronic meetings of the ITU Inter-Sector Coordination Group\\, all subjects\r\n"
        in text
    )
    assert (
        "DESCRIPTION:Agenda:\\n1. Budget review\\n\\nCancelled occurrences:\\n- Thu 17 Dec 2026: holidays"
        f"\\n\\nJoin: {LINK}\r\n"
    ) in text
    assert "DESCRIPTION:Cancelled: holidays\r\n" in text
    assert f";LABEL=Join:{LINK}\r\n" in text


async def test_a_personal_feed_follows_its_owner_s_language_at_once_and_blocks_are_kept_per_language(
    tmp_path,
):
    chat, cache = await open_feeds(tmp_path)
    try:
        token = await personal_token(chat, COORD)
        before = (await cache.personal(token)).body  # type: ignore[union-attr]
        await said(chat, "!lang fr", by=COORD, room=COP)  # a write to `people`: no feed is dropped for it
        after = (await cache.personal(token)).body  # type: ignore[union-attr]
        group = (await cache.group()).body
        rendered = cache.blocks.rendered
        cache.invalidate()  # the feeds again, both languages: every meeting's VEVENTs kept
        assert (await cache.personal(token)).body == after  # type: ignore[union-attr]
        assert (await cache.group()).body == group
        assert cache.blocks.rendered == rendered
    finally:
        await chat.close()
    with speaking("fr"):
        agenda = _("Agenda:")
    assert descriptions(before)[0].startswith("Agenda:")
    assert descriptions(after)[0].startswith(agenda)
    assert descriptions(group)[0].startswith("Agenda:")


# ---- invitations ------------------------------------------------------------------------------------------


async def invitation(chat: Chat, **queue: object) -> bytes:
    async with UnitOfWork(chat.database.sessions) as uow:
        meeting = await uow.meetings.get(1)
        assert meeting is not None
        await uow.meetings.touch(meeting, chat.clock.now())
        await queue_invitation(
            uow, mail_settings(25), meeting, method="REQUEST", at=chat.clock.now(), **queue
        )  # type: ignore[arg-type]
        await uow.commit()
    return (await rows(chat))[-1].message


def read(raw: bytes) -> tuple[str, str, str, list[str]]:
    """(Subject, text body, HTML body, the calendar's texts)."""
    message, by_type = parts(raw)
    _method, body, _cal = calendar_of(raw)
    return (
        message["Subject"],
        by_type["text/plain"].get_content(),
        by_type["text/html"].get_content(),
        texts(body),
    )


async def test_every_text_of_an_invitation_is_translated(tmp_path):
    chat = await open_chat(tmp_path, mail_settings(25))
    try:
        await meetings(chat)
        raw = await invitation(chat, default_language=PSEUDO)  # a subject without a language: the default
    finally:
        await chat.close()
    subject, plain, page, calendar = read(raw)
    assert "~" in subject and "~" in plain
    for text in (subject, plain, page, *calendar):
        assert untranslated(text, *TYPED) == [], text
    assert '<html lang="en-XA" dir="ltr">' in page  # the pseudo-language's BCP 47 tag, as on the pages


async def test_a_french_subject_s_invitation_is_in_french_and_english_ones_read_as_they_did(tmp_path):
    chat = await open_chat(tmp_path, mail_settings(25))
    try:
        await meetings(chat)
        english = await invitation(chat, default_language="en")
        await said(chat, "!subject set language fr", by=ADMIN, room=COP)
        french = await invitation(chat)
        queued = await rows(chat)
    finally:
        await chat.close()
    with speaking("fr"):
        agenda, day, repeats = _("Agenda:"), day_label(date(2026, 12, 3)), _("Repeats {how}", how="")
    subject, plain, page, calendar = read(french)
    assert day in subject and "Thu" not in subject
    assert agenda in plain and repeats.strip() in plain and f"1. {AGENDA}" in plain
    assert '<html lang="fr" dir="ltr">' in page
    assert calendar[0].startswith(agenda)
    subject, plain, page, _calendar = read(english)
    assert subject == f"Invitation: M1 · {TITLE} — Thu 3 Dec 2026 14:00 Europe/Zurich"
    assert plain.splitlines() == [
        f"M1 · {TITLE}",
        "When: Thu 3 Dec 2026 14:00–15:00 Europe/Zurich (UTC+01:00) · 13:00–14:00 UTC",
        "Repeats every week, 10 times",
        f"Join: {LINK}",
        "Agenda:",
        f"1. {AGENDA}",
        "",
        "Sent by the ISCG bot; the attached invitation adds it to your calendar.",
    ]
    assert "<html><head>" in page
    # The commands' own invitations (`!meeting schedule…`), for a subject without a language: English.
    first = email.message_from_bytes(queued[0].message, policy=default_policy)
    assert first["Subject"].startswith("Invitation: M1")


# ---- CalDAV ----------------------------------------------------------------------------------------------


@pytest.fixture
async def one_meeting(tmp_path, radicale) -> AsyncIterator[tuple[Any, Any]]:
    """A chat publishing to a fresh CalDAV collection, with a subject `cop` and one meeting M1 in it."""
    config = caldav_settings(await make_collection(radicale.base))
    chat = await caldav_chat(tmp_path, config)
    try:
        await chat.say("!subject create cop Child Online Protection", sender=ADMIN)
        await chat.say(
            f'!meeting schedule "{TITLE}" 2026-12-07 10:00 Europe/Zurich link {LINK}', sender=ADMIN
        )
        yield chat, config
    finally:
        await chat.close()


async def test_caldav_publishes_a_subject_s_meetings_in_its_language(one_meeting):
    chat, config = one_meeting
    await chat.say("!subject set language fr", sender=ADMIN)
    publisher = CalDavPublisher(
        chat.database.sessions, chat.clock, config.caldav, http_timeout=5, default_language=PSEUDO
    )
    assert (await publisher.sync_once()).published == 1
    status, body, _etag = await fetch(publisher.href(1))
    assert status == 200
    with speaking("fr"):
        join = _("Join: {link}", link=LINK)
    assert join != f"Join: {LINK}"
    assert descriptions(body) == [join]  # the subject's French, not the default (the pseudo-language)


async def test_a_subject_s_new_language_republishes_its_meetings_on_caldav(one_meeting):
    """Published in English; `!subject set language fr`: the next round writes the meeting again, in French,
    with the same SEQUENCE (nothing about the meeting changed); a round after that has nothing to do."""
    chat, config = one_meeting
    publisher = CalDavPublisher(chat.database.sessions, chat.clock, config.caldav, http_timeout=5)
    assert (await publisher.sync_once()).published == 1
    _status, english, _etag = await fetch(publisher.href(1))
    assert descriptions(english) == [f"Join: {LINK}"]
    assert (await publisher.sync_once()).published == 0  # nothing changed

    await chat.say("!subject set language fr", sender=ADMIN)
    assert (await publisher.sync_once()).published == 1
    _status, french, _etag = await fetch(publisher.href(1))
    assert (await publisher.sync_once()).published == 0
    with speaking("fr"):
        assert descriptions(french) == [_("Join: {link}", link=LINK)]
    assert re.findall(rb"^SEQUENCE:\d+", french, re.M) == re.findall(rb"^SEQUENCE:\d+", english, re.M)
