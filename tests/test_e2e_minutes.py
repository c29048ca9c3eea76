"""The minutes end to end (issue 6): the bot as its own process, a real Synapse, people's clients.

Every test reads the minutes the ways a person can: the summary notice in the room, the Markdown file
downloaded through Synapse's (authenticated) media API, and the HTML page from the bot's web server,
followed from the link in the summary.

Two clocks are at work and the tests keep them apart: the bot's clock (here a file the test rewrites,
`--test-clock-file`) decides when a session starts and ends and when minutes are approved; each line's time
is Synapse's own `origin_server_ts`, which no test can move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from iscg_bot.core.timeshow import day_label, span
from iscg_bot.storage import Database, MeetingSession, MinuteLine, UnitOfWork
from iscg_bot.web.site import minutes_fragment
from tests.support.conversation import say
from tests.support.deployment import (
    Room,
    answer_with_file,
    deploy,
    download,
    fetch,
    page,
    set_clock,
    settled,
    subject_room,
    tag,
    with_file,
)
from tests.support.matrix_user import body_of, is_message, is_reply_to

pytestmark = pytest.mark.e2e

ZONE = "Europe/Zurich"  # the subjects' zone (the bot's default_timezone), unless a test sets another


# ---- reading the minutes ----------------------------------------------------------------------------------


def markdown_sections(markdown: str) -> dict[str, list[str]]:
    """The non-blank lines under each `## ` heading (the preamble under "")."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:]
            sections[current] = []
        elif line.strip():
            sections[current].append(line)
    return sections


def as_read(markdown_row: str) -> str:
    """What a reader of the rendered Markdown sees of one of our rows: no emphasis marks, a link's text.
    (Only for the rows written in these tests: no escapes in them.)"""
    row = re.sub(r"\*\*(.+?)\*\*", r"\1", markdown_row)
    row = re.sub(r"\*(\(.+?\))\*", r"\1", row)
    return re.sub(r"\[(.+?)\]\(\S+?\)", r"\1", row)


PAGE_PREFIXES = {"h1": "# ", "h3": "### ", "li": "- ", "p": ""}  # how PageText writes what it reads


class PageText(HTMLParser):
    """What a reader of the page sees under each <h2>: `### <h3>`, `- <li>` and `<p>` texts, entities
    decoded and markup dropped (the preamble under "")."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[str]] = {"": []}
        self._current = ""
        self._open: tuple[str, list[str]] | None = None
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2" or tag in PAGE_PREFIXES:
            self._open = (tag, [])

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or self._open[0] != tag:
            return
        text = "".join(self._open[1])
        self._open = None
        if tag == "h2":
            self._current = text
            self.sections[text] = []
        elif tag in PAGE_PREFIXES:
            self.sections[self._current].append(PAGE_PREFIXES[tag] + text)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)


@dataclass
class Said:
    """One line the minutes' log should show: who said what, with its counting tags."""

    event_id: str
    who: str  # the display name the log shows
    text: str
    tags: tuple[str, ...] = ()  # the tag words shown, e.g. ("AGREED",)
    kind: str = "m.text"
    edited: bool = False
    markdown: str | None = None  # the text as the Markdown file must escape it, when it differs

    def shown(self, at: datetime, first_day: date, zone: str) -> tuple[str, str]:
        """(the Markdown list item, the page's plain text) of this line heard at `at`."""
        local = at.astimezone(ZoneInfo(zone))
        at_time = (
            day_label(local.date(), year=False) + " " if local.date() != first_day else ""
        ) + f"{local:%H:%M}"
        if self.kind == "m.emote":
            # The emote's "*" is text, escaped like any other: it must not start emphasis.
            return (
                f"- {at_time} \\* {self.who} {self.markdown or self.text}",
                f"- {at_time} * {self.who} {self.text}",
            )
        tags_md = "".join(f"**{word}** " for word in self.tags)
        tags_plain = "".join(f"{word} " for word in self.tags)
        markdown = f"- {at_time} {self.who}: {tags_md}{self.markdown or self.text}"
        plain = f"- {at_time} {self.who}: {tags_plain}{self.text}"
        if self.edited:
            markdown, plain = markdown + " *(edited)*", plain + " (edited)"
        return markdown, plain


@dataclass
class Transcript:
    """What is said in the room during a meeting, kept as the minutes' log should show it."""

    room: Room
    said: list[Said] = field(default_factory=list)

    async def talk(self, user: Any, body: str, *, kind: str = "m.text", markdown: str | None = None) -> str:
        """Say something (any message, a command too); its event id."""
        event_id = await user.send_text(self.room.room_id, body, msgtype=kind)
        self.said.append(Said(event_id, self.room.name(user), body, kind=kind, markdown=markdown))
        return event_id

    async def tag(self, user: Any, body: str, *words: str) -> str:
        """A tag, once the bot has acknowledged it; `words`: the tag words its log line shows."""
        event_id = await tag(user, self.room, body)
        self.said.append(Said(event_id, self.room.name(user), body, words))
        return event_id

    def edited(self, event_id: str, text: str) -> None:
        line = next(line for line in self.said if line.event_id == event_id)
        line.text, line.edited = text, True

    def redacted(self, event_id: str) -> None:
        self.said = [line for line in self.said if line.event_id != event_id]

    def log(self, reader: Any, started: datetime, zone: str = ZONE) -> tuple[list[str], list[str]]:
        """The log section as the Markdown file and as the page must show it, timed by Synapse's
        timestamps as `reader`'s client received them."""
        server_time = {
            e["event_id"]: datetime.fromtimestamp(e["origin_server_ts"] / 1000, UTC)
            for e in reader.events(self.room.room_id)
        }
        first_day = started.astimezone(ZoneInfo(zone)).date()
        shown = [line.shown(server_time[line.event_id], first_day, zone) for line in self.said]
        return [markdown for markdown, _ in shown], [plain for _, plain in shown]


def hhmm(user, room: Room, event_id: str, zone: str = ZONE) -> str:
    [event] = [e for e in user.events(room.room_id) if e.get("event_id") == event_id]
    return f"{datetime.fromtimestamp(event['origin_server_ts'] / 1000, UTC).astimezone(ZoneInfo(zone)):%H:%M}"


async def sessions_and_lines(database_url: str, room_id: str) -> tuple[int, list[str]]:
    """How many sessions the room has in the bot's database, and every stored line's text, in order."""
    database = Database(database_url)
    try:
        async with UnitOfWork(database.sessions) as uow:
            count = await uow.session.scalar(
                select(func.count()).select_from(MeetingSession).filter_by(room_id=room_id)
            )
            texts = await uow.session.scalars(
                select(MinuteLine.text)
                .join(MeetingSession, MeetingSession.id == MinuteLine.session_id)
                .where(MeetingSession.room_id == room_id)
                .order_by(MinuteLine.server_time, MinuteLine.id)
            )
            return int(count or 0), list(texts)
    finally:
        await database.dispose()


# ---- 1. a whole meeting -----------------------------------------------------------------------------------


async def test_a_whole_meeting_every_tag_edits_and_redactions_in_summary_file_and_page(
    matrix_user_factory, bot_process, synapse, tmp_path
):
    # The bot's clock stands at the current minute (so that Synapse's times of the lines fall inside the
    # session) and is moved to the end of the meeting before !endmeeting.
    clock_file = tmp_path / "now.txt"
    started = datetime.now(UTC).replace(second=0, microsecond=0)
    set_clock(clock_file, started)
    admin = await matrix_user_factory("alice")
    bot = await deploy(bot_process, synapse, admin.user_id, clock_file)
    try:
        room = await subject_room(matrix_user_factory, admin, bot.bot_id)
        carol, bob, room_id = room.coordinator, room.member, room.room_id
        server = synapse.server_name
        dana, erin = f"@dana:{server}", f"@erin:{server}"  # never registered: only named by the chair
        due = started.date() + timedelta(days=60)
        when = f"{started + timedelta(minutes=5):%Y-%m-%d %H:%M} UTC"
        scheduled = await say(
            carol, room_id, f'!meeting schedule "Coordination call" {when} for 60m', bot.bot_id
        )
        assert scheduled.startswith("Scheduled M1"), scheduled

        minutes = Transcript(room)
        start = await minutes.talk(carol, "!startmeeting")  # binds to M1, starting in 5 minutes
        reply = await carol.wait_for(is_reply_to(start, sender=bot.bot_id), room_id=room_id, timeout=30)
        assert body_of(reply) == (
            "Meeting started: Coordination call (M1). Everything said here is minuted until !endmeeting."
        )
        tags = [
            await minutes.tag(carol, "!topic Workshop planning", "TOPIC"),
            await minutes.tag(bob, "!info The report is due in January", "INFO"),
            await minutes.tag(bob, "!idea A joint workshop with ITU-D", "IDEA"),
            await minutes.tag(carol, "!agreed The workshop takes place in March", "AGREED"),
            await minutes.tag(carol, "!decision The call moves to Thursdays", "AGREED"),
            await minutes.tag(bob, "!rejected Moving the call to Fridays", "REJECTED"),
            await minutes.tag(
                carol, f"!action {bob.user_id} Draft the paper due {due.isoformat()}", "ACTION"
            ),
            await minutes.tag(carol, "!link https://www.itu.int/cop-guidelines Guidelines", "LINK"),
            await minutes.tag(carol, "!keyissue Funding for 2027 is not confirmed", "KEY ISSUE"),
            await minutes.tag(carol, f"!present {dana}", "PRESENT"),
            await minutes.tag(carol, f"!regrets {erin}", "REGRETS"),
            await minutes.tag(carol, "!agreed We meet every week"),  # …withdrawn at once: no AGREED shown
            await minutes.tag(carol, "!undo"),  # (acknowledged by ✅ too)
        ]

        typo = await minutes.talk(bob, "Thanks, I will share a draft on Fridya")
        secret = await minutes.talk(carol, "Off the record: the budget figures")
        await minutes.talk(bob, "nods", kind="m.emote")
        tricky = "Compare <b>bold</b> & <script>alert(1)</script> &amp; [this](javascript:x)"
        escaped = (  # as the Markdown file must write it: never HTML, never a link
            "Compare &lt;b&gt;bold&lt;/b&gt; & &lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; "
            "\\[this\\](javascript:x)"
        )
        await minutes.talk(bob, tricky, markdown=escaped)
        await minutes.talk(carol, "Thanks all, see you next week")
        await bob.edit(room_id, typo, "Thanks, I will share a draft on Friday")  # as Element sends it
        minutes.edited(typo, "Thanks, I will share a draft on Friday")
        await carol.redact(room_id, secret, reason="not for the minutes")  # a real redaction
        minutes.redacted(secret)

        set_clock(clock_file, started + timedelta(minutes=50))
        end = await minutes.talk(carol, "!endmeeting")
        summary = await carol.wait_for(is_reply_to(end, sender=bot.bot_id), room_id=room_id, timeout=30)
        file = await carol.wait_for(is_message(sender=bot.bot_id, msgtype="m.file"), room_id=room_id)

        # Every tag was acknowledged by one ✅ reaction on its own event, and by no message.
        reactions = [
            e for e in carol.events(room_id) if e["type"] == "m.reaction" and e["sender"] == bot.bot_id
        ]
        assert sorted(e["content"]["m.relates_to"]["event_id"] for e in reactions) == sorted(tags)
        answered = {
            e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
            for e in carol.events(room_id)
            if is_message(sender=bot.bot_id)(e) and "m.relates_to" in e["content"]
        }
        assert not answered & set(tags)

        page_url = f"{bot.web}/meetings/M1"
        ended = started + timedelta(minutes=50)
        assert summary["content"]["msgtype"] == "m.notice"
        assert body_of(summary).splitlines() == [
            "Meeting ended: Coordination call",
            span(started, ended, ZONE),
            f"{len(minutes.said)} lines minuted.",
            f"Attendance: {bob.user_id}, {carol.user_id}, {dana}",  # both speakers, and the one named present
            f"Regrets: {erin}",
            "Decisions:",
            "• The workshop takes place in March",
            "• The call moves to Thursdays",
            "Actions:",
            f"• A1 {bob.user_id}: Draft the paper",
            "Key issues:",
            "• Funding for 2027 is not confirmed",
            f"Draft minutes (M1): {page_url}",
        ]
        assert f'href="{page_url}"' in summary["content"]["formatted_body"]

        assert file["content"]["body"] == f"minutes-M1-{started.astimezone(ZoneInfo(ZONE)).date()}.md"
        assert file["content"]["info"]["mimetype"] == "text/markdown; charset=utf-8"
        markdown = await download(synapse, carol, file)
        meeting_page = await page(page_url, site=True)  # the link in the summary works: the meeting's page
        html = await page(f"{bot.web}/minutes/S1")  # the minutes alone, as the meeting's page holds them
        assert "Draft:" in meeting_page and minutes_fragment(html) in meeting_page
        md, web = markdown_sections(markdown), PageText(html).sections

        assert (md["Log"], web["Log"]) == minutes.log(carol, started)
        assert "Fridya" not in markdown and "Fridya" not in html  # the edit replaced the text everywhere
        assert "Off the record" not in markdown and "Off the record" not in html  # redacted: gone
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert 'href="javascript' not in html  # and the Markdown escapes the brackets (the log above)

        carol_label, bob_label = f"Carol Coordinator ({carol.user_id})", f"Bob Member ({bob.user_id})"
        expected = {
            "Chairs": [f"- {carol_label}"],
            "Attendance (3)": [f"- {bob_label}", f"- {carol_label}", f"- {dana}"],
            "Regrets": [f"- {erin}"],
            "Decisions": ["- The workshop takes place in March", "- The call moves to Thursdays"],
            "Actions": [f"### {bob_label}", f"- **A1** Draft the paper — due {day_label(due)} *(open)*"],
            "Key issues": ["- Funding for 2027 is not confirmed"],
            "Links": ["- [Guidelines](https://www.itu.int/cop-guidelines)"],
        }
        for section, rows in expected.items():
            assert md[section] == rows, section
            assert web[section] == [as_read(row) for row in rows], section
        assert 'href="https://www.itu.int/cop-guidelines"' in html

        # The summary by topic: the withdrawn decision is in no section, only in the log (untagged).
        at = {event_id: hhmm(carol, room, event_id) for event_id in tags}
        assert md["Summary"] == [
            "### Workshop planning",
            f"- **INFO** The report is due in January — Bob Member, {at[tags[1]]}",
            f"- **IDEA** A joint workshop with ITU-D — Bob Member, {at[tags[2]]}",
            f"- **AGREED** The workshop takes place in March — Carol Coordinator, {at[tags[3]]}",
            f"- **AGREED** The call moves to Thursdays — Carol Coordinator, {at[tags[4]]}",
            f"- **REJECTED** Moving the call to Fridays — Bob Member, {at[tags[5]]}",
            f"- **ACTION** Draft the paper — Carol Coordinator, {at[tags[6]]}",
            f"- **LINK** [Guidelines](https://www.itu.int/cop-guidelines) — Carol Coordinator, {at[tags[7]]}",
            f"- **KEY ISSUE** Funding for 2027 is not confirmed — Carol Coordinator, {at[tags[8]]}",
        ]
        assert "We meet every week" not in "\n".join(md["Summary"] + md["Decisions"])
        assert "We meet every week" not in "\n".join(web["Summary"] + web["Decisions"])
        preamble = [
            "# Coordination call",
            "Minutes M1 · Child Online Protection",
            "**Draft — not yet approved**",
            span(started, ended, ZONE),
        ]
        assert md[""] == [*preamble, f"Web copy: [{page_url}]({page_url})"]
        assert web[""] == [as_read(row) for row in preamble]  # the page does not link to itself
        assert bot.process.terminate() == 0
    except BaseException:
        print(bot.process.output()[-5000:])
        raise


# ---- 2. across midnight UTC -------------------------------------------------------------------------------


async def test_a_meeting_across_midnight_utc_stays_one_session(
    matrix_user_factory, bot_process, synapse, tmp_path
):
    """The bot's clock says 23:50 UTC at !startmeeting and 00:10 the next day at !endmeeting; talk and tags
    come on both sides of its midnight. What must hold: one session, whose minutes span both days and hold
    every line, from before the clock crossed midnight and from after it. (The lines themselves carry
    Synapse's real times, which cannot be moved: that the log labels lines of another day with that day is
    not what this test can show.)"""
    clock_file = tmp_path / "now.txt"
    today = datetime.now(UTC).date()
    before = datetime.combine(today, time(23, 50), UTC)
    after = before + timedelta(minutes=20)  # 00:10 the next day
    set_clock(clock_file, before - timedelta(minutes=5))
    admin = await matrix_user_factory("alice")
    bot = await deploy(bot_process, synapse, admin.user_id, clock_file)
    try:
        room = await subject_room(matrix_user_factory, admin, bot.bot_id)
        carol, bob, room_id = room.coordinator, room.member, room.room_id
        # The subject keeps UTC time, so that midnight UTC is its midnight too.
        assert await say(carol, room_id, "!subject set timezone UTC", bot.bot_id) == (
            "The timezone of cop is now: UTC"
        )
        set_clock(clock_file, before)
        minutes = Transcript(room)
        start = await minutes.talk(carol, "!startmeeting")
        reply = await carol.wait_for(is_reply_to(start, sender=bot.bot_id), room_id=room_id, timeout=30)
        assert body_of(reply).startswith("Meeting started: Unscheduled meeting.")
        await minutes.talk(bob, "Before midnight: the agenda")
        await minutes.tag(carol, "!info Said before midnight", "INFO")
        set_clock(clock_file, after)  # the ✅ just received: all of the above was handled before midnight
        await minutes.talk(bob, "After midnight: any other business")
        await minutes.tag(carol, "!agreed Decided after midnight", "AGREED")
        end = await minutes.talk(carol, "!endmeeting")
        summary, file = await answer_with_file(carol, room, end)

        both_days = span(before, after, "UTC")
        assert day_label(today) in both_days and day_label(today + timedelta(days=1), year=False) in both_days
        page_url = f"{bot.web}/minutes/S1"
        assert summary == [
            "Meeting ended: Unscheduled meeting",
            both_days,
            f"{len(minutes.said)} lines minuted.",
            f"Attendance: {bob.user_id}, {carol.user_id}",
            "Decisions:",
            "• Decided after midnight",
            f"Draft minutes (S1): {page_url}",
        ]
        assert file["content"]["body"] == f"minutes-S1-{today}.md"  # named after the day it started
        md = markdown_sections(await download(synapse, carol, file))
        web = PageText(await page(page_url)).sections
        assert both_days in md[""] and both_days in web[""]
        assert (md["Log"], web["Log"]) == minutes.log(carol, before, "UTC")
        assert md["Decisions"] == ["- Decided after midnight"]

        # Nothing was split off: one session in the bot's database, holding every line; none named S2.
        assert await sessions_and_lines(bot.database_url, room_id) == (
            1,
            [line.text for line in minutes.said],
        )
        assert (await fetch(f"{bot.web}/minutes/S2"))[0] == 404
        again, _ = await with_file(carol, room, "!minutes")
        assert again[0] == "Minutes of Unscheduled meeting" and again[1:] == summary[1:]
        assert bot.process.terminate() == 0
    except BaseException:
        print(bot.process.output()[-5000:])
        raise


# ---- 3. approval locks the minutes ------------------------------------------------------------------------


async def test_approved_minutes_are_locked_until_reopened(matrix_user_factory, bot_process, synapse):
    """On the bot's real clock (approval is compared with Synapse's time of a later edit)."""
    admin = await matrix_user_factory("alice")
    bot = await deploy(bot_process, synapse, admin.user_id)
    try:
        room = await subject_room(matrix_user_factory, admin, bot.bot_id)
        carol, bob, room_id = room.coordinator, room.member, room.room_id
        minutes = Transcript(room)
        start = await minutes.talk(carol, "!startmeeting")
        reply = await carol.wait_for(is_reply_to(start, sender=bot.bot_id), room_id=room_id, timeout=30)
        assert body_of(reply).startswith("Meeting started: Unscheduled meeting.")
        started = datetime.fromtimestamp(reply["origin_server_ts"] / 1000, UTC)  # near enough the bot's
        draft = await minutes.talk(bob, "The draft is on the wiki")
        thanks = await minutes.talk(carol, "Good, thanks")
        summary, _ = await answer_with_file(carol, room, await minutes.talk(carol, "!endmeeting"))
        page_url = f"{bot.web}/minutes/S1"
        assert summary[-1] == f"Draft minutes (S1): {page_url}"

        def page_log(html: str) -> list[str]:
            return PageText(html).sections["Log"]

        # Draft minutes follow a late edit.
        await bob.edit(room_id, draft, "The draft is on the shared drive")
        await settled(bob, room)
        minutes.edited(draft, "The draft is on the shared drive")
        as_approved = minutes.log(carol, started)[1]
        assert page_log(await page(page_url)) == as_approved

        # Approval: only the subject's managers; then the page is frozen, whatever happens to the log.
        assert await say(bob, room_id, "!minutes approve", bot.bot_id) == (
            "Only this subject's coordinator, the secretariat, the Chair or the management team may run "
            "!minutes approve."
        )
        assert await say(carol, room_id, "!minutes approve", bot.bot_id) == (
            "The minutes of S1 are approved and locked; !minutes reopen undoes it."
        )
        approved = await page(page_url)
        status = PageText(approved).sections[""][2]
        assert status.startswith(f"Approved by Carol Coordinator ({carol.user_id}) on "), status
        await bob.edit(room_id, draft, "The draft is in my inbox")
        await carol.redact(room_id, thanks)
        await settled(bob, room)
        assert await page(page_url) == approved  # byte for byte
        assert page_log(approved) == as_approved
        shown, file = await with_file(bob, room, "!minutes")
        assert shown[-1] == f"Approved minutes (S1): {page_url}"
        markdown = await download(synapse, bob, file)
        assert "The draft is on the shared drive" in markdown and "Good, thanks" in markdown
        assert "inbox" not in markdown

        # Reopened: a draft again, and the changes made meanwhile show.
        assert (
            await say(carol, room_id, "!minutes reopen", bot.bot_id) == "The minutes of S1 are a draft again."
        )
        reopened = PageText(await page(page_url)).sections
        assert reopened[""][2] == "Draft — not yet approved"
        minutes.edited(draft, "The draft is in my inbox")
        minutes.redacted(thanks)
        assert reopened["Log"] == minutes.log(carol, started)[1] != as_approved
        assert bot.process.terminate() == 0
    except BaseException:
        print(bot.process.output()[-5000:])
        raise
