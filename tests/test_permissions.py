"""The permissions matrix: every role × every privileged command, allowed or refused as the policy says.

The expectations are written out here, independently of `iscg_bot.chat.policy`, so a change to the policy
table that PRODUCT.md does not back shows up as a failing test. A refusal must name the role needed and change
nothing.
"""

from __future__ import annotations

import itertools
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from iscg_bot.chat.router import ANYONE, Command, Requirement
from iscg_bot.commands import build_router
from iscg_bot.domain.roles import RoleKind
from iscg_bot.storage import Database, UnitOfWork
from tests.chat import ADMIN, START, Chat, settings

COP_ROOM = "!cop:example.org"  # subject cop: coordinator @coord, ITU-T focal point @fp; meeting M1
AI_ROOM = "!ai:example.org"  # subject ai: coordinator @coord2
SPARE_ROOM = "!spare:example.org"  # subject spare: nobody appointed
ARCHIVED_ROOM = "!old:example.org"  # subject old, archived
FREE_ROOM = "!free:example.org"  # bound to nothing

PERSONAS = {
    "none": "@stranger:elsewhere.org",
    "member": "@member:example.org",
    "focal point": "@fp:example.org",
    "coordinator of this subject": "@coord:example.org",
    "coordinator of another subject": "@coord2:example.org",
    "secretariat": "@sec:itu.int",
    "management": "@mgmt:example.org",
    "Chair": "@chair:example.org",
    "admin": ADMIN,
}
OFFICERS = {"secretariat", "management", "Chair", "admin"}
CHAIR_ONLY = {"Chair", "admin"}
BY_OFFICERS = "Only the Chair, the management team or the secretariat may run !{}."
BY_SUBJECT_MANAGERS = (
    "Only this subject's coordinator, the secretariat, the Chair or the management team may run !{}."
)
SUBJECT_MANAGERS = OFFICERS | {"coordinator of this subject"}

# command, room, who may run it, the refusal everyone else gets
MATRIX = [
    ("!group bind", FREE_ROOM, CHAIR_ONLY, "Only the Chair may run !group bind."),
    ("!subject create newsub A new subject", FREE_ROOM, OFFICERS, BY_OFFICERS.format("subject create")),
    (
        "!subject set title A better title",
        COP_ROOM,
        SUBJECT_MANAGERS,
        BY_SUBJECT_MANAGERS.format("subject set"),
    ),
    ("!subject archive", COP_ROOM, OFFICERS, BY_OFFICERS.format("subject archive")),
    ("!subject restore", ARCHIVED_ROOM, OFFICERS, BY_OFFICERS.format("subject restore")),
    ("!role add @new:example.org coordinator", SPARE_ROOM, OFFICERS, BY_OFFICERS.format("role add")),
    ("!role add @new:example.org focal-point ITU-R", COP_ROOM, OFFICERS, BY_OFFICERS.format("role add")),
    ("!role remove @fp:example.org focal-point ITU-T", COP_ROOM, OFFICERS, BY_OFFICERS.format("role remove")),
    ("!role add @new:example.org secretariat", COP_ROOM, OFFICERS, BY_OFFICERS.format("role add")),
    (
        "!role add @new:example.org management TDAG",
        COP_ROOM,
        CHAIR_ONLY,
        {
            "officer": "Only the Chair may appoint or remove the management team.",
            "other": BY_OFFICERS.format("role add"),
        },
    ),
    (
        "!role remove @mgmt:example.org management TSAG",
        COP_ROOM,
        CHAIR_ONLY,
        {
            "officer": "Only the Chair may appoint or remove the management team.",
            "other": BY_OFFICERS.format("role remove"),
        },
    ),
    (
        "!role remove @chair:example.org chair",
        COP_ROOM,
        CHAIR_ONLY,
        {
            "officer": "Only the Chair may appoint or remove the Chair.",
            "other": BY_OFFICERS.format("role remove"),
        },
    ),
    (
        '!meeting schedule "Planning" 2026-12-10 14:00 Europe/Zurich',
        COP_ROOM,
        SUBJECT_MANAGERS,
        BY_SUBJECT_MANAGERS.format("meeting schedule"),
    ),
    (
        "!meeting move M1 2026-12-04 09:00 Europe/Zurich",
        COP_ROOM,
        SUBJECT_MANAGERS,
        BY_SUBJECT_MANAGERS.format("meeting move"),
    ),
    ("!meeting cancel M1", COP_ROOM, SUBJECT_MANAGERS, BY_SUBJECT_MANAGERS.format("meeting cancel")),
    (
        "!meeting agenda M1 add Review of the Q3 outputs",
        COP_ROOM,
        SUBJECT_MANAGERS,
        BY_SUBJECT_MANAGERS.format("meeting agenda"),
    ),
    ("!meeting suggest 60m", COP_ROOM, SUBJECT_MANAGERS, BY_SUBJECT_MANAGERS.format("meeting suggest")),
    ("!calendar resync", COP_ROOM, {"admin"}, "Only a bot administrator may run !calendar resync."),
    ("!minutes approve M1", COP_ROOM, SUBJECT_MANAGERS, BY_SUBJECT_MANAGERS.format("minutes approve")),
    ("!summary", COP_ROOM, OFFICERS, BY_OFFICERS.format("summary")),
]
# privileged, yet only answer (CalDAV is off in these tests, and its state is not in the snapshot)
READ_ONLY = {"!meeting suggest 60m", "!calendar resync", "!summary"}
OPEN_TO_ALL = [
    "!subject",
    "!subject list",
    "!roles",
    "!tz",
    "!help",
    "!ping",
    "!meeting list",
    "!meeting show M1",
    "!rsvp M1 yes",
    "!minutes M1",
    "!actions",
]


async def seed(chat: Chat) -> None:
    async with UnitOfWork(chat.database.sessions) as uow:
        subjects = {}
        for slug, room in (("cop", COP_ROOM), ("ai", AI_ROOM), ("spare", SPARE_ROOM), ("old", ARCHIVED_ROOM)):
            subjects[slug] = await uow.subjects.create(
                slug=slug,
                title=slug.upper(),
                room_id=room,
                timezone="Europe/Zurich",
                created_by=ADMIN,
                at=START,
            )
        await uow.subjects.update(subjects["old"], at=START, archived=True)
        appoint = uow.roles.add
        await appoint(
            PERSONAS["focal point"],
            RoleKind.FOCAL_POINT,
            by=ADMIN,
            at=START,
            subject_id=subjects["cop"].id,
            sector="ITU-T",
        )
        await appoint(
            PERSONAS["coordinator of this subject"],
            RoleKind.COORDINATOR,
            by=ADMIN,
            at=START,
            subject_id=subjects["cop"].id,
        )
        await appoint(
            PERSONAS["coordinator of another subject"],
            RoleKind.COORDINATOR,
            by=ADMIN,
            at=START,
            subject_id=subjects["ai"].id,
        )
        await appoint(PERSONAS["secretariat"], RoleKind.SECRETARIAT, by=ADMIN, at=START)
        await appoint(PERSONAS["management"], RoleKind.MANAGEMENT, by=ADMIN, at=START, advisory_group="TSAG")
        await appoint(PERSONAS["Chair"], RoleKind.CHAIR, by=ADMIN, at=START, term_start=START)
        await uow.members.record(COP_ROOM, PERSONAS["member"], "join", "Member", START)
        await uow.meetings.create(  # M1: Thu 3 Dec 2026 14:00–15:00 Europe/Zurich
            subject_id=subjects["cop"].id,
            room_id=COP_ROOM,
            title="Coordination call",
            timezone="Europe/Zurich",
            start_local=datetime(2026, 12, 3, 14, 0),
            start_utc=datetime(2026, 12, 3, 13, 0, tzinfo=UTC),
            duration_minutes=60,
            rrule=None,
            series_end_utc=datetime(2026, 12, 3, 14, 0, tzinfo=UTC),
            link=None,
            created_by=PERSONAS["coordinator of this subject"],
            at=START,
        )
        # M1's minutes (S1): held early, started by the member, who chairs it; a draft.
        minuted = await uow.minutes.start(
            room_id=COP_ROOM,
            meeting_id=1,
            occurrence_utc=None,
            title="Coordination call",
            by=PERSONAS["member"],
            at=START,
        )
        await uow.minutes.add_chair(minuted.id, PERSONAS["member"])
        await uow.minutes.end(minuted, START)
        await uow.commit()


async def snapshot(chat: Chat) -> tuple:
    async with UnitOfWork(chat.database.sessions) as uow:
        subjects = [
            (s.slug, s.title, s.description, s.timezone, s.archived, s.room_id)
            for s in await uow.subjects.list(include_archived=True)
        ]
        roles = [
            (a.matrix_id, a.role, a.subject_id, a.sector, a.advisory_group)
            for a in await uow.roles.active(at=chat.clock.now())
        ]
        meetings = []
        for subject in await uow.subjects.list(include_archived=True):
            for m in await uow.meetings.for_subject(subject.id, include_cancelled=True):
                agenda = [item.text for item in m.agenda]
                overrides = [(o.occurrence_local, o.start_local, o.cancelled) for o in m.overrides]
                meetings.append((m.id, m.title, m.start_utc, m.duration_minutes, m.status, agenda, overrides))
        minutes = [(s.id, s.minutes_status, s.approved_by) for s in await uow.minutes.sessions_of_meeting(1)]
        return subjects, roles, meetings, minutes, await uow.state.get("group.room_id")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded_db(tmp_path_factory) -> Path:
    """One seeded database file, copied for each case: every case starts from the same state."""
    path = tmp_path_factory.mktemp("matrix") / "seed.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.migrate()
    await seed(Chat(database, build_router(), settings()))
    await database.dispose()
    return path


async def chat_on(seed_file: Path, tmp_path: Path) -> Chat:
    copy = tmp_path / "case.db"
    shutil.copy(seed_file, copy)
    return Chat(Database(f"sqlite+aiosqlite:///{copy}"), build_router(), settings())


CASES = [
    pytest.param(command, room, allowed, refusal, persona, id=f"{command.split(' @')[0]} [{persona}]")
    for command, room, allowed, refusal in MATRIX
    for persona in PERSONAS
]


@pytest.mark.parametrize(("command", "room", "allowed", "refusal", "persona"), CASES)
async def test_privileged_commands(seeded_db, tmp_path, command, room, allowed, refusal, persona):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        before = await snapshot(chat)
        [reply] = await chat.say(command, sender=PERSONAS[persona], room=room)
        after = await snapshot(chat)
        if persona in allowed:
            assert not reply.startswith("Only"), reply
            changed = after != before or command in READ_ONLY
            assert changed, f"{persona} was allowed but nothing changed: {reply}"
        else:
            if isinstance(refusal, dict):
                refusal = refusal["officer" if persona in OFFICERS else "other"]
            assert reply == refusal
            assert after == before, "a refused command changed something"
    finally:
        await chat.close()


# An action item is changed by its owner, its subject's coordinator and the officers: the router checks the
# rule on the item named (`policy.ACTION_CHANGERS`). A1 (in cop) belongs to the member.
ACTION_CHANGERS = OFFICERS | {"member", "coordinator of this subject"}
ACTION_REFUSAL = (
    "Only A1's owner, its subject's coordinator, the secretariat, the Chair or the management team may "
    "run !{}."
)
ACTION_COMMANDS = [
    "!action done A1",
    "!action drop A1",
    "!action reopen A1",
    "!action assign A1 @new:example.org",
    "!action due A1 2026-12-15",
]


async def action_state(chat: Chat) -> tuple:
    async with UnitOfWork(chat.database.sessions) as uow:
        item = await uow.actions.get(1)
        return item.owner, item.status, item.due, item.closed_by, item.updated_at


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("command", ACTION_COMMANDS)
async def test_action_items_are_changed_by_their_owner_coordinator_and_officers(
    seeded_db, tmp_path, command, persona
):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        async with UnitOfWork(chat.database.sessions) as uow:
            subject = await uow.subjects.by_room(COP_ROOM)
            item = await uow.actions.create(
                subject_id=subject.id,
                room_id=COP_ROOM,
                owner=PERSONAS["member"],
                text="Draft the agenda",
                due=None,
                created_by=ADMIN,
                at=START,
            )
            if "reopen" in command:
                await uow.actions.update(item, at=START, status="done", closed_at=START, closed_by=ADMIN)
            await uow.commit()
        chat.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
        before = await action_state(chat)
        [reply] = await chat.say(command, sender=PERSONAS[persona], room=COP_ROOM)
        after = await action_state(chat)
        if persona in ACTION_CHANGERS:
            assert not reply.startswith("Only"), reply
            assert after != before, f"{persona} was allowed but nothing changed: {reply}"
        else:
            assert reply == ACTION_REFUSAL.format(command.split(" A1")[0].removeprefix("!"))
            assert after == before, "a refused command changed something"
    finally:
        await chat.close()


@pytest.mark.parametrize("persona", PERSONAS)
async def test_minutes_are_reopened_by_the_meetings_chairs_the_coordinator_and_officers(
    seeded_db, tmp_path, persona
):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        async with UnitOfWork(chat.database.sessions) as uow:
            session = await uow.minutes.get(1)
            session.minutes_status, session.approved_by, session.approved_at = "approved", ADMIN, START
            await uow.commit()
        before = await snapshot(chat)
        [reply] = await chat.say("!minutes reopen M1", sender=PERSONAS[persona], room=COP_ROOM)
        if persona in SUBJECT_MANAGERS | {"member"}:  # the member chaired M1
            assert reply == "The minutes of M1 are a draft again."
        else:
            assert (
                reply == "Only the meeting's chairs, the coordinator or the officers may reopen its minutes."
            )
            assert await snapshot(chat) == before
    finally:
        await chat.close()


# A report on one subject is for its coordinator too; on everything, for the officers only (the rule sees
# the subject named: `policy.reporters`).
REPORTS = [("!report cop", SUBJECT_MANAGERS), ("!report all", OFFICERS), ("!report TSAG", OFFICERS)]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("command", "allowed"), REPORTS)
async def test_reports_are_for_the_officers_and_a_coordinator_on_their_subject(
    seeded_db, tmp_path, command, allowed, persona
):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        reply, *file = await chat.say(command, sender=PERSONAS[persona], room=COP_ROOM)
        if persona in allowed:
            assert reply.startswith("ISCG report") and len(file) == 1, reply
        else:
            assert reply == (
                "Only the Chair, the management team or the secretariat may run !report; a coordinator, "
                "for their own subject."
            )
            assert file == []
    finally:
        await chat.close()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("command", OPEN_TO_ALL)
async def test_reading_is_open_to_everyone(seeded_db, tmp_path, command, persona):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        reply, *_files = await chat.say(command, sender=PERSONAS[persona], room=COP_ROOM)  # !minutes adds one
        assert not reply.startswith("Only"), reply
    finally:
        await chat.close()


async def listed_by_help(chat: Chat, persona: str, room: str) -> set[str]:
    """The commands `!help all` lists to the persona in the room, as typed: `!meeting move`, `!rsvp`…"""
    [listing] = await chat.say("!help all", sender=PERSONAS[persona], room=room)
    return {
        " ".join(itertools.takewhile(re.compile(r"!?[a-z][a-z-]*").fullmatch, line[2:].split()))
        for line in listing.splitlines()
        if line.startswith("• ")
    }


@pytest.mark.parametrize("persona", PERSONAS)
async def test_help_lists_exactly_what_each_person_may_run(seeded_db, tmp_path, persona):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        listed = await listed_by_help(chat, persona, COP_ROOM)
        listing = sorted(listed)
        privileged_here = {
            f"!{command.name}" for command in build_router().commands if command.allow.standing != ANYONE
        }
        may = {
            "!group bind": persona in CHAIR_ONLY,
            "!subject create": persona in OFFICERS,
            "!subject archive": persona in OFFICERS,
            "!subject restore": persona in OFFICERS,
            "!subject set": persona in OFFICERS | {"coordinator of this subject"},
            "!role add": persona in OFFICERS,
            "!role remove": persona in OFFICERS,
            "!meeting schedule": persona in SUBJECT_MANAGERS,
            "!meeting move": persona in SUBJECT_MANAGERS,
            "!meeting cancel": persona in SUBJECT_MANAGERS,
            "!meeting agenda": persona in SUBJECT_MANAGERS,
            "!meeting suggest": persona in SUBJECT_MANAGERS,
            "!calendar resync": persona == "admin",
            "!minutes approve": persona in SUBJECT_MANAGERS,
            "!summary": persona in OFFICERS,
        }
        for command, expected in may.items():
            assert (command in listed) == expected, (command, persona, listing)
        assert privileged_here - set(may) == set()
        assert {"!subject", "!subject list", "!roles", "!tz", "!help", "!ping"} <= listed
        assert {"!meeting list", "!meeting show", "!rsvp"} <= listed
    finally:
        await chat.close()


def test_every_privileged_command_is_in_the_matrix():
    in_matrix = {command for command, *_ in MATRIX}
    for command in build_router().commands:
        if command.allow.standing != ANYONE:
            typed = f"!{command.name}"
            assert any(c == typed or c.startswith(typed + " ") for c in in_matrix), typed


def _command(line: str) -> Command:
    """The command the router finds in a command line (`!meeting move M1 …` → meeting move)."""
    command = build_router().parse(line)[0].command
    assert command is not None, line
    return command


def _command_name(line: str) -> str:
    return f"!{_command(line).name}"


@pytest.mark.parametrize(("command", "room", "allowed", "refusal", "persona"), CASES)
async def test_what_help_lists_is_accepted_and_what_it_hides_is_refused(
    seeded_db, tmp_path, command, room, allowed, refusal, persona
):
    """The same declaration decides both: a command `!help` hides is refused; one it lists is not refused
    for who asks — a rule on the object (`!role add … management`) may still refuse that object."""
    chat = await chat_on(seeded_db, tmp_path)
    try:
        declared = _command(command)
        listed = f"!{declared.name}" in await listed_by_help(chat, persona, room)
        [reply] = await chat.say(command, sender=PERSONAS[persona], room=room)
        if not listed:
            assert reply.startswith("Only "), reply
        elif isinstance(declared.allow, Requirement):
            assert not reply.startswith("Only "), reply
        else:
            assert reply != f"Only {declared.allow.standing.name} may run !{declared.name}.", reply
    finally:
        await chat.close()


# While M1's meeting runs in cop, started by the member: its chairs are the member and cop's coordinator.
MEETING_CHAIRS = {"member", "coordinator of this subject"}
CHAIRS_ONLY = [
    ("!endmeeting", "end the meeting"),
    ("!topic Budget", "change the topic"),
    ("!chair @new:example.org", "name chairs"),
    ("!unchair @member:example.org", "remove chairs"),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("command", "what"), CHAIRS_ONLY)
async def test_a_running_meetings_commands_are_listed_for_and_run_by_its_chairs_only(
    seeded_db, tmp_path, command, what, persona
):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        await chat.say("!startmeeting", sender=PERSONAS["member"], room=COP_ROOM)
        listed = _command_name(command) in await listed_by_help(chat, persona, COP_ROOM)
        sent = await chat.deliver(chat.message(command, sender=PERSONAS[persona], room=COP_ROOM))
        refused = [content.get("body") for content in sent] == [f"Only the meeting's chairs may {what}."]
        assert listed == (persona in MEETING_CHAIRS), listed
        assert refused == (persona not in MEETING_CHAIRS), sent
        assert sent, "a chair's command is answered (a reply or a ✅)"
    finally:
        await chat.close()


@pytest.mark.parametrize("persona", ["member", "admin"])
async def test_with_no_meeting_running_the_chairs_commands_say_so_to_anyone(seeded_db, tmp_path, persona):
    chat = await chat_on(seeded_db, tmp_path)
    try:
        assert "!endmeeting" in await listed_by_help(chat, persona, COP_ROOM)
        assert await chat.say("!endmeeting", sender=PERSONAS[persona], room=COP_ROOM) == [
            "No meeting is running in this room; start one with !startmeeting."
        ]
    finally:
        await chat.close()
