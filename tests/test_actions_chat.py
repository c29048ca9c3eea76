"""Action items through the chat driver: `!action` in and out of meetings, its subcommands, `!actions`.

The clock stands at Wed 25 Nov 2026 09:00 UTC (tests.chat.START), 10:00 in Europe/Zurich, the zone of the
subject cop (coordinator @coord) that these tests build in !cop.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, COORD, COP, Chat, said

AI = "!ai:example.org"
FREE = "!free:example.org"  # a room bound to no subject
MEMBER = "@member:example.org"
OTHER = "@other:example.org"
COORD2 = "@coord2:example.org"  # coordinator of subject ai
USAGE = "Usage: !action <who> <what…> [due <date>]"
REFUSED = (
    "Only A1's owner, its subject's coordinator, the secretariat, the Chair or the management team may run "
    "!action {}."
)


@pytest.fixture
async def cop(chat):
    """Subjects cop (coordinator @coord; M1 at 09:15 UTC today) and ai (coordinator @coord2)."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!role add {COORD2} coordinator", by=ADMIN, room=AI)
    await said(chat, '!meeting schedule "Coordination call" 2026-11-25 09:15 UTC for 60m')
    return chat


async def stored(chat: Chat, action_id: int = 1):
    async with UnitOfWork(chat.database.sessions) as uow:
        return await uow.actions.get(action_id)


async def test_the_tag_during_a_meeting_records_the_action_with_its_origin_and_a_reaction(cop):
    await said(cop, "!startmeeting")
    tag = cop.message(f"!action {MEMBER} Draft the agenda due 2026-12-01", sender=OTHER, room=COP)
    [content] = await cop.deliver(tag)  # no message: a ✅ on the line says enough
    assert content == {"m.relates_to": {"rel_type": "m.annotation", "event_id": tag.event_id, "key": "✅"}}
    item = await stored(cop)
    async with UnitOfWork(cop.database.sessions) as uow:
        session = await uow.minutes.running(COP)
    assert (item.owner, item.text, item.due.isoformat(), item.status) == (
        MEMBER,
        "Draft the agenda",
        "2026-12-01",
        "open",
    )
    assert (item.session_id, item.created_by, item.event_id) == (session.id, OTHER, tag.event_id)
    assert await said(cop, "!actions") == (
        f"Open actions:\n• A1 · {MEMBER} · Draft the agenda · due Tue 1 Dec 2026 · open (from M1 on 25 Nov)"
    )
    summary = await cop.say("!endmeeting", sender=COORD, room=COP)
    assert f"{MEMBER}: Draft the agenda" in summary[0]


async def test_outside_a_meeting_the_tag_answers_with_the_new_number(cop):
    [content] = await cop.deliver(cop.message(f"!action {MEMBER} Write the report", sender=COORD, room=COP))
    assert content["body"] == f"A1 for {MEMBER}: Write the report"
    assert MEMBER in content["m.mentions"]["user_ids"]  # the new owner hears of it
    assert await said(cop, "!action @bob:example.org Book rooms due 3 Dec 2026") == (
        "A2 for @bob:example.org: Book rooms (due Thu 3 Dec 2026)"
    )
    assert (await stored(cop)).session_id is None


async def test_an_owner_not_on_matrix_is_a_name_in_one_word_or_in_quotes(cop):
    assert await said(cop, '!action "Jane Doe" Call the venue due 2026-12-03') == (
        "A1 for Jane Doe: Call the venue (due Thu 3 Dec 2026)"
    )
    assert await said(cop, "!action Ahmed: Send the slides") == "A2 for Ahmed: Send the slides"
    assert await said(cop, '!action "done" Ask the secretariat') == "A3 for done: Ask the secretariat"


async def test_a_mention_pill_names_the_owner_by_matrix_id(cop):
    pill = '<a href="https://matrix.to/#/@bob:example.org">Bob Smith</a>'
    body, html = "!action Bob Smith: Draft the terms", f"!action {pill}: Draft the terms"
    message = cop.message(body, sender=COORD, room=COP, formatted_body=html)
    [content] = await cop.deliver(message)
    assert content["body"] == "A1 for @bob:example.org: Draft the terms"


async def test_due_in_the_text_stays_text_unless_a_date_follows(cop):
    assert await said(cop, f"!action {MEMBER} Check the due diligence") == (
        f"A1 for {MEMBER}: Check the due diligence"
    )
    assert await said(cop, f"!action {MEMBER} Pay what is due by Friday due 2026-12-04") == (
        f"A2 for {MEMBER}: Pay what is due by Friday (due Fri 4 Dec 2026)"
    )
    assert await said(cop, f"!action {MEMBER} Pay due 2026-13-01") == (
        f'"2026-13-01" is not a date on the calendar.\n{USAGE}'
    )


async def test_a_due_date_in_the_past_is_refused(cop):
    assert await said(cop, f"!action {MEMBER} Late work due 2026-11-24") == (
        "Tue 24 Nov 2026 is in the past: today is Wed 25 Nov 2026 in Europe/Zurich."
    )
    assert await said(cop, f"!action {MEMBER} Today's work due 2026-11-25") == (
        f"A1 for {MEMBER}: Today's work (due Wed 25 Nov 2026)"
    )


async def test_bad_input_gets_one_sentence_and_the_usage(cop):
    assert (await said(cop, "!action")).splitlines() == [
        'Missing <who> (a Matrix ID like @alice:example.org or a name, "Jane Doe" in quotes).',
        USAGE,
    ]
    assert (await said(cop, f"!action {MEMBER}")).splitlines() == ["Missing <what…>.", USAGE]
    assert (await said(cop, "!action @bob Draft")).splitlines() == [
        '"@bob" is not a Matrix user ID like @alice:example.org.',
        USAGE,
    ]
    assert (await said(cop, "!action done X1")).splitlines() == [
        '"X1" is not an action item ID like A3.',
        "Usage: !action done <action>",
    ]
    assert (await said(cop, f"!action {MEMBER} due 2026-12-01 Draft due 2026-12-02")).splitlines() == [
        '"due" is given twice.',
        USAGE,
    ]
    assert await said(cop, "!action done A99") == "There is no action item A99."
    assert (await said(cop, "!actions later")).splitlines() == [
        '"later" is not mine, all, overdue or a Matrix ID.',
        "Usage: !actions [mine|all|overdue|@user]",
    ]
    async with UnitOfWork(cop.database.sessions) as uow:
        assert await uow.actions.of_place(subject_id=None, room_id=COP, statuses=None) == []


async def test_done_reopen_and_drop_are_for_the_owner_the_coordinator_and_the_officers(cop):
    await said(cop, f"!action {MEMBER} Draft the agenda")
    assert await said(cop, "!action done A1", by=OTHER) == REFUSED.format("done")
    assert await said(cop, "!action done A1", by=COORD2, room=AI) == REFUSED.format("done")
    assert (await stored(cop)).status == "open"
    cop.clock.advance(timedelta(hours=1))
    assert await said(cop, "!action done A1", by=MEMBER) == "A1 is done: Draft the agenda"
    item = await stored(cop)
    assert (item.status, item.closed_by, item.closed_at, item.updated_at) == (
        "done",
        MEMBER,
        cop.clock.now(),
        cop.clock.now(),
    )
    assert await said(cop, "!action done A1", by=MEMBER) == "A1 is already done."
    assert await said(cop, "!action reopen A1", by=OTHER) == REFUSED.format("reopen")
    assert await said(cop, "!action reopen A1", by=COORD, room=AI) == "A1 is open again: Draft the agenda"
    assert ((await stored(cop)).closed_at, (await stored(cop)).closed_by) == (None, None)
    assert await said(cop, "!action drop A1", by=ADMIN) == "A1 is dropped: Draft the agenda"
    assert (await stored(cop)).status == "dropped"


async def test_assign_hands_the_action_and_the_right_to_change_it_over(cop):
    await said(cop, f"!action {MEMBER} Draft the agenda")
    assert await said(cop, f"!action assign A1 {OTHER}", by=OTHER) == REFUSED.format("assign")
    [content] = await cop.deliver(cop.message(f"!action assign A1 {OTHER}", sender=MEMBER, room=COP))
    assert content["body"] == f"A1 now belongs to {OTHER}: Draft the agenda"
    assert OTHER in content["m.mentions"]["user_ids"]
    assert await said(cop, f"!action assign A1 {OTHER}", by=OTHER) == f"A1 is already {OTHER}'s."
    assert await said(cop, "!action done A1", by=MEMBER) == REFUSED.format("done")
    assert (
        await said(cop, '!action assign A1 "Jane Doe"', by=OTHER)
        == "A1 now belongs to Jane Doe: Draft the agenda"
    )


async def test_due_sets_moves_or_removes_the_due_date(cop):
    await said(cop, f"!action {MEMBER} Draft the agenda")
    assert await said(cop, "!action due A1 2026-12-15", by=OTHER) == REFUSED.format("due")
    assert await said(cop, "!action due A1 15 Dec 2026", by=MEMBER) == (
        "A1 is now due Tue 15 Dec 2026: Draft the agenda"
    )
    assert (await stored(cop)).due.isoformat() == "2026-12-15"
    assert await said(cop, "!action due A1 2026-11-01", by=MEMBER) == (
        "Sun 1 Nov 2026 is in the past: today is Wed 25 Nov 2026 in Europe/Zurich."
    )
    assert await said(cop, "!action due A1 none", by=COORD) == "A1 has no due date now: Draft the agenda"
    assert (await stored(cop)).due is None
    assert (await said(cop, "!action due A1", by=COORD)).splitlines() == [
        "Missing a date like 2026-12-15, or none.",
        "Usage: !action due <action> <date>|none",
    ]


async def test_actions_lists_open_mine_all_overdue_and_someones(cop):
    await said(cop, f"!action {MEMBER} Undated")
    await said(cop, f"!action {OTHER} Later due 2026-12-09")
    await said(cop, f"!action {MEMBER} Sooner due 2026-11-26")
    await said(cop, f"!action {MEMBER} Elsewhere due 2026-11-30", room=AI, by=COORD2)
    await said(cop, "!action done A2", by=OTHER)
    assert (await said(cop, "!actions", by=OTHER)).splitlines() == [
        "Open actions:",
        f"• A3 · {MEMBER} · Sooner · due Thu 26 Nov 2026 · open",
        f"• A1 · {MEMBER} · Undated · open",
    ]
    assert (await said(cop, "!actions mine", by=MEMBER, room=FREE)).splitlines() == [
        "Your open actions:",
        f"• A3 · {MEMBER} · Sooner · due Thu 26 Nov 2026 · open",
        f"• A4 · {MEMBER} · Elsewhere · due Mon 30 Nov 2026 · open",
        f"• A1 · {MEMBER} · Undated · open",
    ]
    assert (await said(cop, "!actions all")).splitlines() == [
        "All actions here:",
        f"• A3 · {MEMBER} · Sooner · due Thu 26 Nov 2026 · open",
        f"• A2 · {OTHER} · Later · due Wed 9 Dec 2026 · done",
        f"• A1 · {MEMBER} · Undated · open",
    ]
    assert await said(cop, f"!actions {OTHER}") == f"{OTHER} has no open actions."
    assert await said(cop, "!actions overdue") == "No overdue actions here."
    cop.clock.advance(timedelta(days=1, hours=14))  # Thu 26 Nov 23:00 UTC: Fri 00:00 in Zurich
    assert (await said(cop, "!actions overdue")).splitlines() == [
        "Overdue actions:",
        f"• A3 · {MEMBER} · Sooner · due Thu 26 Nov 2026 · open, overdue",
    ]
    assert (await said(cop, f"!actions {MEMBER}", room=AI)).splitlines() == [
        f"Open actions of {MEMBER}:",
        f"• A3 · {MEMBER} · Sooner · due Thu 26 Nov 2026 · open, overdue",
        f"• A4 · {MEMBER} · Elsewhere · due Mon 30 Nov 2026 · open",
        f"• A1 · {MEMBER} · Undated · open",
    ]


async def test_empty_lists_say_so(cop):
    assert await said(cop, "!actions") == "No open actions here."
    assert await said(cop, "!actions mine") == "You have no open actions."
    assert await said(cop, "!actions all") == "No actions here yet."


async def test_a_room_without_a_subject_keeps_its_own_actions(cop):
    assert await said(cop, f"!action {MEMBER} Group-wide task due 2026-12-01", room=FREE) == (
        f"A1 for {MEMBER}: Group-wide task (due Tue 1 Dec 2026)"
    )
    assert await said(cop, "!actions") == "No open actions here."
    assert (await said(cop, "!actions", room=FREE)).splitlines() == [
        "Open actions:",
        f"• A1 · {MEMBER} · Group-wide task · due Tue 1 Dec 2026 · open",
    ]
    assert await said(cop, "!action done A1", by=COORD) == REFUSED.format("done")  # no subject: officers
    assert await said(cop, "!action done A1", by=ADMIN) == "A1 is done: Group-wide task"
