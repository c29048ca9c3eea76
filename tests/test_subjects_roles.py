"""Subjects, the group room, appointments and room life, through the chat driver (fast)."""

from __future__ import annotations

import functools
from datetime import timedelta

from iscg_bot.chat.events import MembershipChange, Tombstone
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, BOT, COP, Chat
from tests.chat import said as said_by

AI = "!ai:example.org"
GROUP = "!iscg:example.org"
CHAIR = "@chair:example.org"


said = functools.partial(said_by, by=ADMIN)  # here the admin speaks unless told


def membership(
    chat: Chat, user: str, membership: str, *, room: str = COP, name: str | None = None, n: int = 0
):
    return MembershipChange(
        event_id=f"$member-{user}-{membership}-{n}",
        room_id=room,
        sender=user if membership == "join" else ADMIN,
        server_time=chat.clock.now(),
        user_id=user,
        membership=membership,
        previous=None,
        display_name=name,
    )


async def test_a_subject_is_created_in_and_bound_to_this_room(chat):
    created = await said(chat, "!subject create cop Child Online Protection")
    assert created.startswith("Created the subject Child Online Protection (cop), bound to this room")
    assert (await said(chat, "!subject")).splitlines()[0] == "Child Online Protection (cop)"


async def test_a_bound_room_and_a_used_slug_are_refused(chat):
    await said(chat, "!subject create cop Child Online Protection")
    again = await said(chat, "!subject create other Something else")
    assert again.startswith("This room is already bound to the subject cop (Child Online Protection).")
    taken = await said(chat, "!subject create cop Another room, same slug", room=AI)
    assert taken.startswith("The slug cop is already used by the subject Child Online Protection.")
    bad = await said(chat, "!subject create Cop! Title", room=AI)
    assert bad.splitlines() == [
        '"cop!" cannot be a slug: use 2 to 32 lowercase letters, digits or dashes, starting with a letter.',
        "Usage: !subject create <slug> <title…>",
    ]


async def test_the_group_room_is_not_a_subject_room(chat):
    assert await said(chat, "!group bind", room=GROUP) == "This room is now the ISCG group room."
    refused = await said(chat, "!subject create iscg The group", room=GROUP)
    assert refused.startswith("This is the group's room; a subject needs a room of its own.")
    await said(chat, "!subject create cop Child Online Protection")
    assert (await said(chat, "!group bind")).startswith("This room belongs to the subject cop")


async def test_a_room_without_a_subject_says_how_to_get_one(chat):
    assert await said(chat, "!subject", room=AI) == (
        "This room has no subject yet; the Chair, the management team or the secretariat can bind it with "
        "!subject create <slug> <title>."
    )


async def test_subject_shows_coordinator_and_focal_points_by_sector_with_their_names(chat):
    await said(chat, "!subject create cop Child Online Protection")
    await chat.deliver(membership(chat, "@amina:itu.int", "join", name="Amina Diallo"))
    await said(chat, "!role add @coord:example.org coordinator")
    await said(chat, "!role add @amina:itu.int focal-point ITU-D")
    await said(chat, "!role add @ravi:itu.int focal-point gs")
    await said(chat, "!role add @lena:itu.int focal-point ITU-R")
    await said(chat, "!role add @tom:itu.int focal-point ITU-R")
    await said(chat, "!subject set description Protecting children online.")
    assert await said(chat, "!subject") == "\n".join(
        [
            "Child Online Protection (cop)",
            "Protecting children online.",
            "Coordinator: @coord:example.org",
            "Focal points:",
            "• ITU-R: @lena:itu.int, @tom:itu.int",
            "• ITU-D: Amina Diallo (@amina:itu.int)",
            "• GS: @ravi:itu.int",
            "Time zone: Europe/Zurich",
        ]
    )


async def test_listings_name_people_without_pinging_them(chat):
    await said(chat, "!subject create cop Child Online Protection")
    await said(chat, "!role add @coord:example.org coordinator")
    [content] = await chat.deliver(chat.message("!subject", sender="@reader:example.org", room=COP))
    assert content["m.mentions"] == {"user_ids": ["@reader:example.org"]}  # the asker, not the coordinator
    assert 'href="https://matrix.to/#/@coord:example.org"' in content["formatted_body"]


async def test_subject_settings_change_and_are_validated(chat):
    await said(chat, "!subject create cop Child Online Protection")
    assert (
        await said(chat, "!subject set title COP coordination") == "The title of cop is now: COP coordination"
    )
    assert await said(chat, "!subject set timezone america/new_york") == (
        "The timezone of cop is now: America/New_York"
    )
    assert (await said(chat, "!subject set timezone IST")).startswith('"IST" is an abbreviation shared by')
    too_long = await said(chat, "!subject set title " + "x" * 201)
    assert too_long.startswith("A subject's title holds at most 200")


async def test_archiving_hides_a_subject_from_the_list_until_restored(chat):
    await said(chat, "!subject create cop Child Online Protection")
    await said(chat, "!subject create ai AI for Good", room=AI)
    await said(chat, "!subject archive")
    assert await said(chat, "!subject list") == "Subjects (1):\n• ai — AI for Good — coordinator: none"
    assert "cop — Child Online Protection — coordinator: none (archived)" in await said(
        chat, "!subject list all"
    )
    assert await said(chat, "!subject archive") == "cop is already archived."
    assert await said(chat, "!subject restore") == "Restored cop."
    assert (await said(chat, "!subject list")).startswith("Subjects (2):")


async def test_the_chair_is_one_at_a_time_for_four_years_or_until_a_date(chat):
    assert await said(chat, f"!role add {CHAIR} chair") == f"{CHAIR} is now the Chair until 2030-11-25."
    assert await said(chat, "!role add @next:example.org chair") == (
        f"{CHAIR} is the Chair until 2030-11-25; remove them first with !role remove {CHAIR} chair."
    )
    assert await said(chat, f"!role remove {CHAIR} chair", by=CHAIR) == f"{CHAIR} is no longer the Chair."
    assert await said(chat, "!role add @next:example.org chair until 2027-06-30") == (
        "@next:example.org is now the Chair until 2027-06-30."
    )
    assert (await said(chat, "!roles")).splitlines()[1] == "Chair: @next:example.org until 2027-06-30"


async def test_a_chair_whose_term_ended_holds_no_rights(chat):
    await said(chat, f"!role add {CHAIR} chair until 2026-12-31")
    assert await said(chat, "!group bind", by=CHAIR, room=GROUP) == "This room is now the ISCG group room."
    chat.clock.advance(timedelta(days=40))
    assert await said(chat, "!group bind", by=CHAIR, room=AI) == "Only the Chair may run !group bind."
    assert "Chair: vacant" in await said(chat, "!roles")


async def test_a_chair_term_must_end_in_the_future(chat):
    assert await said(chat, f"!role add {CHAIR} chair until 2020-01-01") == (
        "The end of the Chair's term must be in the future."
    )
    assert (await said(chat, "!role add @x:example.org secretariat until 2030-01-01")).startswith(
        "Only the Chair's appointment has an end date."
    )


async def test_each_advisory_group_has_two_management_seats(chat):
    await said(chat, "!role add @a:example.org management TSAG")
    await said(chat, "!role add @b:example.org management tsag")
    assert await said(chat, "!role add @c:example.org management TSAG") == (
        "TSAG already has its two representatives: @a:example.org and @b:example.org."
    )
    assert await said(chat, "!role add @c:example.org management RAG") == (
        "@c:example.org is now in the management team for RAG."
    )
    assert (await said(chat, "!role add @d:example.org management")).startswith(
        "The management team needs the advisory group: TSAG, RAG, TDAG."
    )


async def test_one_coordinator_per_subject_and_focal_points_per_sector(chat):
    await said(chat, "!subject create cop Child Online Protection")
    await said(chat, "!role add @coord:example.org coordinator")
    assert await said(chat, "!role add @other:example.org coordinator") == (
        "@coord:example.org coordinates cop; remove them first (one coordinator per subject)."
    )
    await said(chat, "!role add @a:itu.int focal-point ITU-T")
    assert await said(chat, "!role add @b:itu.int focal-point ITU-T") == (
        "@b:itu.int is now an ITU-T focal point for cop."
    )
    assert await said(chat, "!role add @a:itu.int focal-point ITU-T") == (
        "@a:itu.int is already an ITU-T focal point for cop."
    )
    assert (await said(chat, "!role add @c:itu.int coordinator", room=AI)).startswith(
        "A coordinator belongs to a subject: run this in the subject's room."
    )


async def test_removal_ends_the_role_and_keeps_the_history(chat):
    await said(chat, "!subject create cop Child Online Protection")
    await said(chat, "!role add @coord:example.org coordinator")
    assert await said(chat, "!role remove @coord:example.org coordinator") == (
        "@coord:example.org is no longer the coordinator of cop."
    )
    assert await said(chat, "!role remove @coord:example.org coordinator") == (
        "@coord:example.org is not the coordinator of cop."
    )
    async with UnitOfWork(chat.database.sessions) as uow:
        [ended] = await uow.roles.history(matrix_id="@coord:example.org")
    assert ended.ended_by == ADMIN and ended.ended_at == chat.clock.now()


async def test_a_mention_pill_stands_for_the_user(chat):
    await said(chat, "!subject create cop Child Online Protection")
    pill = '<a href="https://matrix.to/#/@amina:itu.int">Amina Diallo</a>'
    message = chat.message(
        "!role add Amina Diallo focal-point ITU-D",
        sender=ADMIN,
        room=COP,
        formatted_body=f"!role add {pill} focal-point ITU-D",
        mentions=("@amina:itu.int",),
    )
    [reply] = await chat.deliver(message)
    assert reply["body"] == "@amina:itu.int is now an ITU-D focal point for cop."


async def test_a_subject_outlives_the_bot_leaving_its_room(chat):
    await said(chat, "!subject create cop Child Online Protection")
    await chat.deliver(membership(chat, BOT, "leave"))
    assert "The bot was removed from this subject's room" in await said(chat, "!subject")
    await chat.deliver(membership(chat, BOT, "join", n=1))  # invited back: greeted, and active again
    assert "removed" not in await said(chat, "!subject")


async def test_a_subject_follows_its_room_upgrade(chat):
    await said(chat, "!subject create cop Child Online Protection")
    upgrade = Tombstone(
        event_id="$tombstone", room_id=COP, sender=ADMIN, server_time=chat.clock.now(), replacement_room=AI
    )
    assert await chat.deliver(upgrade) == []
    assert (await said(chat, "!subject", room=AI)).startswith("Child Online Protection (cop)")
    assert (await said(chat, "!subject", room=COP)).startswith("This room has no subject yet")


async def test_display_names_are_tracked_from_membership(chat):
    await chat.deliver(membership(chat, "@amina:itu.int", "join", name="Amina"))
    await chat.deliver(membership(chat, "@amina:itu.int", "join", name="Amina Diallo", n=1))
    async with UnitOfWork(chat.database.sessions) as uow:
        assert await uow.members.display_name(COP, "@amina:itu.int") == "Amina Diallo"
        assert (await uow.people.get("@amina:itu.int")).display_name == "Amina Diallo"
        assert [m.matrix_id for m in await uow.members.joined(COP)] == ["@amina:itu.int"]
