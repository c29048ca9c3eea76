"""`!help` as people meet it (issue 12): a short index that fits one screen, with the few commands this person
most likely needs in this room; `!help <area>`, `!help <command>` and `!help all` for the rest. Every
command's help line is a whole sentence, and a literal word reads as itself, never as a placeholder.

Through the chat driver (real router, dispatcher and storage), the clock at Wed 25 Nov 2026 09:00 UTC.
"""

from __future__ import annotations

import itertools
import re

import pytest

from iscg_bot.chat.arguments import Choice, Kind
from iscg_bot.commands import build_router
from tests.chat import ADMIN, COORD, COP, Chat, said

GROUP = "!iscg:example.org"
LOOSE = "!loose:example.org"
MEMBER = "@member:example.org"
CHAIR = "@chair:itu.int"
MOST_LINES = 15
MOST_CHARACTERS = 1500


@pytest.fixture
async def group(chat: Chat) -> Chat:
    """Subject cop with its coordinator, a Chair, the group room bound."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, f"!role add {CHAIR} chair", by=ADMIN, room=GROUP)
    await said(chat, "!group bind", by=ADMIN, room=GROUP)
    return chat


def commands_in(reply: str) -> list[str]:
    """The commands a help reply's bullets name, as typed: `meeting schedule`, `rsvp`…"""
    found = []
    for line in reply.splitlines():
        if line.startswith("• !"):
            words = line[3:].split(" — ")[0].split()
            found.append(" ".join(itertools.takewhile(re.compile(r"[a-z][a-z-]*").fullmatch, words)))
    return found


def fits_one_screen(reply: str) -> bool:
    return len(reply.splitlines()) <= MOST_LINES and len(reply) <= MOST_CHARACTERS


# ---- the index -------------------------------------------------------------------------------------------


async def test_a_coordinator_in_the_subject_room_gets_a_short_index_with_what_they_need(group):
    reply = await said(group, "!help")
    assert fits_one_screen(reply), reply
    assert commands_in(reply) == ["meeting schedule", "meeting list", "startmeeting", "actions"]
    assert "Areas: actions, basics, calendar, meetings, minutes, reports, roles, subjects." in reply
    assert reply.splitlines()[-1] == (
        "!help <area> lists an area's commands, !help <command> explains one, "
        "!help all lists every command you can run here."
    )


async def test_a_member_gets_rsvp_calendar_and_minutes(group):
    reply = await said(group, "!help", by=MEMBER)
    assert fits_one_screen(reply), reply
    assert commands_in(reply)[:3] == ["rsvp", "calendar", "minutes"]
    assert "meeting schedule" not in reply and "Areas: " in reply


async def test_an_admin_s_index_fits_one_screen_too(group):
    """It was about 50 lines (9,900 characters) for an admin."""
    for room in (COP, GROUP, LOOSE):
        reply = await said(group, "!help", by=ADMIN, room=room)
        assert fits_one_screen(reply), (room, reply)


async def test_the_index_follows_the_room_and_the_moment(group):
    assert commands_in(await said(group, "!help", by=CHAIR, room=GROUP))[:2] == [
        "meeting schedule",
        "meeting list",
    ]
    loose = await said(group, "!help", by=ADMIN, room=LOOSE)
    assert commands_in(loose)[:2] == ["subject create", "group bind"]
    await said(group, "!startmeeting")
    assert commands_in(await said(group, "!help"))[:2] == ["agreed", "action"]


async def test_an_area_lists_its_commands_the_sender_may_run(group):
    mine = await said(group, "!help meetings", by=MEMBER)
    assert mine.splitlines()[0] == "The meetings commands you can run here:"
    assert {"meeting list", "meeting show", "rsvp"} <= set(commands_in(mine))
    assert "meeting schedule" not in commands_in(mine)
    assert "meeting schedule" in commands_in(await said(group, "!help meetings"))
    # An area named like a command lists the area; with the prefix, the command is explained.
    assert "action done" in commands_in(await said(group, "!help actions"))
    assert (await said(group, "!help !actions")).startswith("!actions [mine|all|overdue|@user]\n")


async def test_help_all_lists_everything_the_sender_may_run_here(group):
    everything = commands_in(await said(group, "!help all", by=ADMIN))
    assert len(everything) == len([c for c in build_router().commands if not c.hidden])
    members = commands_in(await said(group, "!help all", by=MEMBER))
    assert "rsvp" in members and "meeting schedule" not in members and "calendar resync" not in members


async def test_help_for_one_command_is_unchanged(group):
    assert (await said(group, "!help meeting agenda")).startswith(
        "!meeting agenda <meeting> add <item…>\nAdd an item to a meeting's agenda."
    )


# ---- every command's help line ---------------------------------------------------------------------------


def test_every_help_line_is_a_whole_sentence():
    """`!report` and `!summary` were cut mid-sentence (only the docstring's first line was used)."""
    for command in build_router().commands:
        summary = command.summary
        assert "\n" not in summary, command.name
        assert re.fullmatch(r"[A-Z`].*[.?!]", summary), (command.name, summary)
        assert not summary.endswith(("—.", ",.", ":.")), (command.name, summary)
        first_paragraph = " ".join(line.strip() for line in command.doc.split("\n\n")[0].splitlines())
        assert summary == first_paragraph, command.name


async def test_every_help_line_shows_whole_in_help_all(group):
    reply = await said(group, "!help all", by=ADMIN)
    for command in build_router().commands:
        if not command.hidden:
            assert f" — {command.summary}\n" in reply + "\n", command.name


def literals(command) -> set[str]:
    """The words a user types as they are: choices, clause keywords, flags."""
    words: set[str] = set()
    for parameter in command.parameters:
        if isinstance(parameter.type, Choice):
            words |= {c.lower() for c in parameter.type.choices}
        words |= set(parameter.keywords)
        if parameter.kind is Kind.FLAG:
            words.add(parameter.label)
    return words


def test_no_literal_shows_as_a_placeholder():
    router = build_router()
    assert router.usage(router.find(["meeting", "agenda"])) == "!meeting agenda <meeting> add <item…>"
    assert router.usage(router.find(["rsvp"])) == "!rsvp <meeting> yes|no|maybe"
    for command in router.commands:
        usage = router.usage(command)
        for placeholder in re.findall(r"<([^>]*)>", usage):
            shown = {word.strip("…") for word in placeholder.split("|")}
            assert not shown & literals(command), (command.name, usage)
        for word in literals(command):
            assert re.search(rf"(?<![<\w-]){re.escape(word)}(?![\w-]*>)", usage), (command.name, word, usage)
