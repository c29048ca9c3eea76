"""Minutes through the chat driver: sessions, tags acknowledged by reactions, the passive log.

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from iscg_bot.chat.events import Message, Redaction, Undecryptable
from iscg_bot.storage import MeetingSession, MinuteLine, OutboxFile, UnitOfWork
from tests.chat import ADMIN, AI, BOT, COORD, COP, Chat, run_cli, said, two_subjects_with_a_meeting_each

MEMBER = "@member:example.org"
OTHER = "@other:example.org"


async def acked(chat: Chat, body: str, *, by: str = MEMBER, room: str = COP) -> None:
    """The bot answers with one ✅ reaction on the message, and no message."""
    event = chat.message(body, sender=by, room=room)
    [content] = await chat.deliver(event)
    assert content == {"m.relates_to": {"rel_type": "m.annotation", "event_id": event.event_id, "key": "✅"}}


async def ended(chat: Chat, *, by: str = COORD) -> tuple[str, dict]:
    """`!endmeeting`: the summary's text and the minutes file posted after it."""
    summary, file = await chat.deliver(chat.message("!endmeeting", sender=by, room=COP))
    assert file["msgtype"] == "m.file", file
    return summary["body"], file


async def tagged(chat: Chat, room: str = COP) -> list[tuple[str, list[tuple[str, bool]]]]:
    """Each line's text with its tags (tag, undone), in the order heard."""
    lines = await minute_lines(chat, room)
    async with UnitOfWork(chat.database.sessions) as uow:
        tags: dict = {}
        for session_id in {line.session_id for line in lines}:
            tags |= await uow.minutes.tags(session_id)
    return [(line.text, [(t.tag, t.undone) for t in tags.get(line.id, [])]) for line in lines]


async def minute_lines(chat: Chat, room: str = COP) -> list[MinuteLine]:
    """Every line stored for the room's sessions, in the order heard."""
    async with UnitOfWork(chat.database.sessions) as uow:
        sessions = list(await uow.session.scalars(select(MeetingSession.id).filter_by(room_id=room)))
        found: list[MinuteLine] = []
        for session_id in sessions:
            found += await uow.minutes.lines(session_id)
        return found


@pytest.fixture
async def cop(chat):
    """Subject cop (coordinator @coord) and subject ai; M1 in cop at 09:15 UTC, M2 in ai at 09:10 UTC."""
    return await two_subjects_with_a_meeting_each(chat)


async def test_start_binds_to_the_meeting_starting_within_30_minutes(cop):
    reply = await said(cop, "!startmeeting", by=MEMBER)
    assert reply.startswith("Meeting started: Coordination call (M1).")
    async with UnitOfWork(cop.database.sessions) as uow:
        session = await uow.minutes.running(COP)
        assert (session.meeting_id, session.occurrence_utc.hour, session.occurrence_utc.minute) == (1, 9, 15)
        assert await uow.minutes.chairs(session.id) == [COORD, MEMBER]  # starter and coordinator


async def test_start_far_from_any_meeting_is_unscheduled(cop):
    cop.clock.advance(timedelta(hours=2))
    assert (await said(cop, "!startmeeting", by=MEMBER)).startswith("Meeting started: Unscheduled meeting.")


async def test_explicit_meeting_must_be_this_rooms(cop):
    assert await said(cop, "!startmeeting M2") == "M2 is not this room's meeting; start it in its own room."
    assert (await said(cop, "!startmeeting M1")).startswith("Meeting started: Coordination call (M1).")


async def test_one_running_session_per_room(cop):
    await said(cop, "!startmeeting")
    assert (await said(cop, "!startmeeting", by=MEMBER)).startswith("A meeting is already running here")
    assert (await said(cop, "!startmeeting", room=AI, by=ADMIN)).startswith("Meeting started: AI call (M2).")


async def test_tags_need_a_running_session(cop):
    assert await said(cop, "!info hello", by=MEMBER) == (
        "No meeting is running in this room; start one with !startmeeting."
    )


async def test_every_tag_is_recorded_and_acknowledged_by_a_reaction(cop):
    await said(cop, "!startmeeting")
    await acked(cop, "!topic Q3 outputs", by=COORD)
    await acked(cop, "!info The report is due in January")
    await acked(cop, "!idea A joint workshop")
    await acked(cop, "!agreed Workshop in March")
    await acked(cop, "!decision Call moves to Thursdays")
    await acked(cop, "!rejected Fridays")
    await acked(cop, f"!action {MEMBER} Draft the agenda")
    await acked(cop, "!link https://www.itu.int/cop Guidelines")
    await acked(cop, "!keyissue Funding for 2027")
    await acked(cop, f"!present {OTHER}")
    await acked(cop, "!regrets @absent:example.org")
    await acked(cop, "!idea Withdrawn idea")
    await acked(cop, "!undo")
    assert await cop.say("plain talk", sender=OTHER, room=COP) == []
    assert await tagged(cop) == [
        ("!startmeeting", []),
        ("!topic Q3 outputs", [("topic", False)]),
        ("!info The report is due in January", [("info", False)]),
        ("!idea A joint workshop", [("idea", False)]),
        ("!agreed Workshop in March", [("agreed", False)]),
        ("!decision Call moves to Thursdays", [("agreed", False)]),
        ("!rejected Fridays", [("rejected", False)]),
        (f"!action {MEMBER} Draft the agenda", [("action", False)]),
        ("!link https://www.itu.int/cop Guidelines", [("link", False)]),
        ("!keyissue Funding for 2027", [("keyissue", False)]),
        (f"!present {OTHER}", [("present", False)]),
        ("!regrets @absent:example.org", [("regrets", False)]),
        ("!idea Withdrawn idea", [("idea", True)]),
        ("!undo", []),
        ("plain talk", []),
    ]
    cop.clock.advance(timedelta(minutes=50))
    summary, file = await ended(cop)
    assert summary.splitlines() == [
        "Meeting ended: Coordination call",
        "Wed 25 Nov 2026 10:00–10:50 Europe/Zurich (UTC+01:00) · 09:00–09:50 UTC",
        "16 lines minuted.",
        f"Attendance: {COORD}, {MEMBER}, {OTHER}",
        "Regrets: @absent:example.org",
        "Decisions:",
        "• Workshop in March",
        "• Call moves to Thursdays",
        "Actions:",
        f"• A1 {MEMBER}: Draft the agenda",
        "Key issues:",
        "• Funding for 2027",
        "Draft minutes (M1): http://localhost:8080/meetings/M1",
    ]
    assert file["body"] == "minutes-M1-2026-11-25.md"
    assert file["info"]["mimetype"].startswith("text/markdown")


async def test_only_chairs_end_the_meeting_or_change_the_topic(cop):
    await said(cop, "!startmeeting")
    assert await said(cop, "!topic Mine", by=OTHER) == "Only the meeting's chairs may change the topic."
    assert await said(cop, "!endmeeting", by=OTHER) == "Only the meeting's chairs may end the meeting."
    await acked(cop, f"!chair {OTHER}", by=COORD)
    await acked(cop, "!topic Mine", by=OTHER)
    assert (await ended(cop, by=OTHER))[0].startswith("Meeting ended:")


async def test_edits_and_redactions_are_honoured(cop):
    await said(cop, "!startmeeting")
    agreed = cop.message("!agreed Workshop in March", sender=MEMBER, room=COP)
    await cop.deliver(agreed)
    chatter = cop.message("first words", sender=OTHER, room=COP)
    await cop.deliver(chatter)
    edit = cop.message("better words", sender=OTHER, room=COP, replaces=chatter.event_id)
    assert await cop.deliver(edit) == []
    await cop.deliver(
        Redaction(f"$r{agreed.event_id}", COP, MEMBER, cop.clock.now(), redacts=agreed.event_id)
    )
    lines = {line.event_id: line for line in await minute_lines(cop)}
    assert lines[chatter.event_id].text == "better words"
    assert lines[chatter.event_id].edited_at is not None
    assert lines[agreed.event_id].redacted
    async with UnitOfWork(cop.database.sessions) as uow:
        [old] = await uow.minutes.edits(lines[chatter.event_id].id)
        assert old.text == "first words"
    summary, _ = await ended(cop)
    assert "Decisions:" not in summary
    assert f"Attendance: {COORD}, {OTHER}" in summary  # the redacted line no longer counts


async def test_a_session_across_midnight_utc_stays_one(cop):
    cop.clock.set(cop.clock.now().replace(hour=23, minute=40))
    await said(cop, "!startmeeting")
    await cop.say("before midnight", sender=MEMBER, room=COP)
    cop.clock.advance(timedelta(minutes=40))
    await cop.say("after midnight", sender=MEMBER, room=COP)
    summary = (await ended(cop))[0].splitlines()
    assert summary[1] == (
        "Thu 26 Nov 2026 00:40–01:20 Europe/Zurich (UTC+01:00) · Wed 25 Nov 23:40–Thu 26 Nov 00:20 UTC"
    )
    assert summary[2] == "4 lines minuted."
    assert len({line.session_id for line in await minute_lines(cop)}) == 1


async def test_nothing_is_logged_outside_a_session(cop):
    await cop.say("before", sender=MEMBER, room=COP)
    await said(cop, "!startmeeting")
    await cop.say("during", sender=MEMBER, room=COP)
    await ended(cop)
    await cop.say("after", sender=MEMBER, room=COP)
    assert [line.text for line in await minute_lines(cop)] == ["!startmeeting", "during", "!endmeeting"]


async def test_an_event_delivered_twice_is_one_line(cop):
    await said(cop, "!startmeeting")
    plain = cop.message("once", sender=MEMBER, room=COP)
    tag = cop.message("!info once too", sender=MEMBER, room=COP)
    for event in (plain, plain, tag, tag):
        await cop.deliver(event)
    texts = [line.text for line in await minute_lines(cop)]
    assert texts == ["!startmeeting", "once", "!info once too"]


async def test_notices_and_emotes_are_logged(cop):
    await said(cop, "!startmeeting")
    await cop.deliver(Message("$n", COP, OTHER, cop.clock.now(), "a notice", msgtype="m.notice"))
    await cop.deliver(Message("$e", COP, OTHER, cop.clock.now(), "waves", msgtype="m.emote"))
    assert [line.msgtype for line in await minute_lines(cop)][1:] == ["m.notice", "m.emote"]


async def test_the_bots_own_messages_are_not_logged(cop):
    await said(cop, "!startmeeting")
    assert await cop.say("I am the bot", sender=BOT, room=COP) == []
    assert [line.text for line in await minute_lines(cop)] == ["!startmeeting"]


async def test_a_message_the_bot_could_not_decrypt_is_recorded_as_such(cop):
    await said(cop, "!startmeeting")
    secret = Undecryptable(event_id="$secret", room_id=COP, sender=OTHER, server_time=cop.clock.now())
    [sorry] = await cop.deliver(secret)
    assert "could not decrypt" in sorry["body"]
    assert [line.text for line in await minute_lines(cop)][1:] == ["(a message the bot could not decrypt)"]


async def test_every_message_is_on_the_record_even_a_refused_or_unrelated_command(cop):
    await said(cop, "!startmeeting")
    assert await said(cop, "!topic Mine", by=OTHER) == "Only the meeting's chairs may change the topic."
    await said(cop, "!ping", by=OTHER)
    await said(cop, "!frobnicate", by=OTHER)
    assert await tagged(cop) == [
        ("!startmeeting", []),
        ("!topic Mine", []),  # refused: on the record, but no topic
        ("!ping", []),
        ("!frobnicate", []),
    ]


async def test_a_tag_line_is_stored_verbatim_with_the_servers_time(cop):
    await said(cop, "!startmeeting")
    sent = cop.clock.now() - timedelta(seconds=40)  # the homeserver's time, not the bot's
    event = Message("$late", COP, MEMBER, sent, "!agreed   Workshop   in March  ")
    await cop.deliver(event)
    [line] = [line for line in await minute_lines(cop) if line.event_id == "$late"]
    assert (line.text, line.server_time) == ("!agreed   Workshop   in March  ", sent)


async def test_two_tags_in_one_message_are_one_line_with_two_tags(cop):
    await said(cop, "!startmeeting")
    await cop.deliver(cop.message("!info Budget is tight\n!agreed Ask for more", sender=MEMBER, room=COP))
    assert (await tagged(cop))[1:] == [
        ("!info Budget is tight\n!agreed Ask for more", [("info", False), ("agreed", False)])
    ]
    await acked(cop, "!undo")  # withdraws the later of the two
    assert (await tagged(cop))[1][1] == [("info", False), ("agreed", True)]


async def minutes_markdown(chat: Chat, reference: str = "M1") -> str:
    async with UnitOfWork(chat.database.sessions) as uow:
        session = await uow.minutes.sessions_of_meeting(int(reference[1:]))
        return session[0].minutes_markdown


async def test_draft_then_approved_minutes_are_locked_until_reopened(cop):
    await said(cop, "!startmeeting")
    chatter = cop.message("We meet in Geneva", sender=MEMBER, room=COP)
    await cop.deliver(chatter)
    await ended(cop)
    assert "Draft" in await minutes_markdown(cop)
    # a late edit changes the draft
    await cop.deliver(cop.message("We meet in Bern", sender=MEMBER, room=COP, replaces=chatter.event_id))
    assert "Bern" in await minutes_markdown(cop)
    assert await said(cop, "!minutes approve M1", by=MEMBER) == (
        "Only this subject's coordinator, the secretariat, the Chair or the management team may run "
        "!minutes approve."
    )
    cop.clock.advance(timedelta(minutes=5))
    assert await said(cop, "!minutes approve M1") == (
        "The minutes of M1 are approved and locked; !minutes reopen undoes it."
    )
    approved = await minutes_markdown(cop)
    assert "**Approved** by @coord:example.org" in approved and "Bern" in approved
    assert await said(cop, "!minutes approve M1") == "The minutes of M1 are already approved."
    # after approval, an edit and a redaction are kept in the raw log but change nothing
    cop.clock.advance(timedelta(minutes=5))
    await cop.deliver(cop.message("We meet in Lausanne", sender=MEMBER, room=COP, replaces=chatter.event_id))
    await cop.deliver(Redaction("$gone", COP, MEMBER, cop.clock.now(), redacts=chatter.event_id))
    assert await minutes_markdown(cop) == approved
    assert await said(cop, "!minutes reopen M1", by=OTHER) == (
        "Only the meeting's chairs, the coordinator or the officers may reopen its minutes."
    )
    assert await said(cop, "!minutes reopen M1") == "The minutes of M1 are a draft again."
    reopened = await minutes_markdown(cop)
    assert "Bern" not in reopened and "Lausanne" not in reopened  # the redaction now counts


async def test_approving_a_running_meeting_is_refused(cop):
    await said(cop, "!startmeeting")
    assert await said(cop, "!minutes approve") == (
        "The meeting is still running; end it with !endmeeting before approving its minutes."
    )


async def test_minutes_command_shows_the_summary_and_posts_the_file(cop):
    assert await said(cop, "!minutes") == "No meeting has been minuted in this room yet."
    await said(cop, "!startmeeting")
    await cop.say("hello", sender=MEMBER, room=COP)
    await ended(cop)
    for reference in ("", " M1", " S1", " m1"):
        summary, file = await cop.deliver(cop.message(f"!minutes{reference}", sender=OTHER, room=COP))
        assert summary["body"].startswith("Minutes of Coordination call\n")
        assert summary["body"].endswith("Draft minutes (M1): http://localhost:8080/meetings/M1")
        assert file["body"] == "minutes-M1-2026-11-25.md"
    assert await said(cop, "!minutes M9") == "M9 has no minutes yet."
    assert await said(cop, "!minutes S9") == "There are no minutes S9."
    assert await said(cop, "!minutes tomorrow") == (
        '"tomorrow" names no minutes: use a meeting ID like M12 or a session like S7.'
    )


async def test_an_unscheduled_meeting_has_its_own_reference_and_page(cop):
    cop.clock.advance(timedelta(hours=3))
    await said(cop, "!startmeeting")
    summary, file = await ended(cop)
    assert summary.endswith("Draft minutes (S1): http://localhost:8080/minutes/S1")
    assert file["body"] == "minutes-S1-2026-11-25.md"


async def test_the_markdown_file_carries_the_whole_log(cop):
    await said(cop, "!startmeeting")
    await cop.say("*not bold* <script>alert(1)</script>", sender=MEMBER, room=COP)
    await ended(cop)
    async with UnitOfWork(cop.database.sessions) as uow:
        [stored] = await uow.session.scalars(select(OutboxFile))
    text = stored.data.decode("utf-8")
    assert "alert" in text and "<script>" not in text
    assert text == await minutes_markdown(cop)


async def test_regenerate_rebuilds_the_stored_minutes_from_the_log(cop, tmp_path):
    await said(cop, "!startmeeting")
    await cop.say("Budget is tight", sender=MEMBER, room=COP)
    await ended(cop)
    rendered = await minutes_markdown(cop)
    async with UnitOfWork(cop.database.sessions) as uow:
        [session] = await uow.minutes.sessions_of_meeting(1)
        session.minutes_markdown = session.minutes_html = "damaged"
        await uow.commit()
    done = await run_cli(tmp_path, "minutes", "regenerate", "M1")
    assert (done.returncode, done.stdout) == (0, "S1 (M1, draft): 3 lines\n"), done.stderr
    assert await minutes_markdown(cop) == rendered
    refused = await run_cli(tmp_path, "minutes", "regenerate", "M7")
    assert (refused.returncode, refused.stderr.strip()) == (1, "error: M7 has no minutes yet.")


async def test_open_actions_are_listed_when_the_next_meeting_starts(cop):
    await said(cop, "!startmeeting")
    await acked(cop, f"!action {MEMBER} Draft the agenda due 2026-12-01")
    await acked(cop, '!action "Jane Doe" Book the room')
    await acked(cop, f"!action {OTHER} Already done")
    await ended(cop)
    await said(cop, "!action done A3", by=OTHER)
    cop.clock.advance(timedelta(days=7))
    started = (await said(cop, "!startmeeting")).splitlines()
    assert started[0].startswith("Meeting started: Unscheduled meeting.")
    assert started[1] == "Open actions:"
    assert started[2:] == [
        f"• A1 · {MEMBER} · Draft the agenda · due Tue 1 Dec 2026 · open, overdue (from M1 on 25 Nov)",
        "• A2 · Jane Doe · Book the room · open (from M1 on 25 Nov)",
    ]  # A3 is done


async def test_an_edited_tag_says_what_its_line_now_says(cop):
    await said(cop, "!startmeeting")
    agreed = cop.message("!agreed Workshop in March\n!info Room booked", sender=MEMBER, room=COP)
    await cop.deliver(agreed)
    edit = "!agreed Workshop in April\n!info Room booked for 30"
    await cop.deliver(cop.message(edit, sender=MEMBER, room=COP, replaces=agreed.event_id))
    summary, _ = await ended(cop)
    assert "• Workshop in April" in summary.splitlines()
    markdown = await minutes_markdown(cop)
    assert "Workshop in April" in markdown and "Room booked for 30" in markdown
    assert "March" not in markdown


async def test_undo_is_for_the_chairs_or_the_tags_author(cop):
    await said(cop, "!startmeeting")
    await acked(cop, "!agreed Budget approved", by=COORD)
    refusal = "Only the meeting's chairs may undo someone else's tagged line."
    assert await said(cop, "!undo", by=MEMBER) == refusal
    await acked(cop, "!idea Mine", by=MEMBER)
    await acked(cop, "!undo", by=MEMBER)  # their own
    await acked(cop, "!undo", by=COORD)  # a chair's: anyone's
    assert [tags for _, tags in await tagged(cop) if tags] == [[("agreed", True)], [("idea", True)]]


async def test_an_action_withdrawn_or_redacted_is_dropped(cop):
    await said(cop, "!startmeeting")
    await acked(cop, f"!action {MEMBER} Write the report")
    await acked(cop, "!undo")
    call = cop.message(f"!action {MEMBER} Call ITU-D", sender=MEMBER, room=COP)
    await cop.deliver(call)
    await cop.deliver(Redaction("$unsaid", COP, MEMBER, cop.clock.now(), redacts=call.event_id))
    await acked(cop, f"!action {MEMBER} Book the room")
    async with UnitOfWork(cop.database.sessions) as uow:
        assert [(a.id, a.status) for a in await uow.actions.of_session(1)] == [
            (1, "dropped"),
            (2, "dropped"),
            (3, "open"),
        ]


async def test_minutes_are_approved_in_their_own_room_unless_by_an_officer(cop):
    await said(cop, f"!role add {OTHER} coordinator", by=ADMIN, room=AI)  # AI's coordinator
    await said(cop, "!startmeeting")
    await ended(cop)
    assert await said(cop, "!minutes approve M1", by=OTHER, room=AI) == (
        "The minutes of M1 are approved or reopened in their own room."
    )
    assert await said(cop, "!minutes approve M1", by=ADMIN, room=AI) == (
        "The minutes of M1 are approved and locked; !minutes reopen undoes it."
    )


async def test_start_in_the_group_room_binds_to_its_group_wide_meeting(chat):
    group = "!group:example.org"
    await said(chat, "!group bind", by=ADMIN, room=group)
    await said(chat, '!meeting schedule "Management team" 2026-11-25 09:20 UTC for 60m', by=ADMIN, room=group)
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, '!meeting schedule "Coordination call" 2026-11-25 09:10 UTC for 60m', by=ADMIN)
    # The subject's meeting starts nearer, but it is not the group room's.
    reply = await said(chat, "!startmeeting", by=ADMIN, room=group)
    assert reply.startswith("Meeting started: Management team (M1)."), reply
