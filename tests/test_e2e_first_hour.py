"""End to end through Synapse, issue 12's chat items as a coordinator meets them: the short `!help`, a room
with no subject refusing to schedule, refusals counted `refused` on /metrics, the group room's list naming
each meeting's subject, and `!meeting suggest` counting members without a zone in the subject's zone."""

from __future__ import annotations

import pytest

from tests.support.conversation import invite_in, room_with_bot, say
from tests.support.metrics import scraped

pytestmark = pytest.mark.e2e

CALL = '!meeting schedule "Coordination call" 2027-12-06 09:00 Europe/Zurich for 60m'


async def commands_counted(base_url: str, command: str) -> dict[str, float]:
    """The bot's /metrics page, read with Prometheus's parser: outcome → count for one command."""
    counted = {}
    for (name, label_items), value in (await scraped(base_url)).items():
        labels = dict(label_items)
        if name == "iscg_commands_total" and labels.get("command") == command:
            counted[labels["outcome"]] = value
    return counted


async def test_the_first_hour_of_a_coordinator(matrix_user_factory, bot_factory):
    admin = await matrix_user_factory("alice")
    carol = await matrix_user_factory("carol", displayname="Carol Coordinator")
    tomoko = await matrix_user_factory("tomoko", displayname="Tomoko")
    bot = await bot_factory(admins=[admin.user_id])
    room_id = await room_with_bot(admin, bot.user_id)
    await invite_in(admin, room_id, carol, tomoko)
    await say(admin, room_id, "!subject create cop Child Online Protection", bot.user_id)
    await say(admin, room_id, f"!role add {carol.user_id} coordinator", bot.user_id)
    group_room = await room_with_bot(admin, bot.user_id)
    await say(admin, group_room, "!group bind", bot.user_id)
    await admin.invite(group_room, tomoko.user_id)
    await tomoko.join(group_room)
    loose_room = await room_with_bot(admin, bot.user_id)

    # The bare `!help` is a short index with what a coordinator needs here.
    index = await say(carol, room_id, "!help", bot.user_id)
    assert len(index.splitlines()) <= 15, index
    for needed in ("!meeting schedule", "!meeting list", "!startmeeting", "!actions", "Areas: "):
        assert needed in index, (needed, index)
    assert "!meeting agenda <meeting> add <item…>" in await say(carol, room_id, "!help meetings", bot.user_id)

    # A room with no subject is not the group room: scheduling there is refused, with the way out.
    refused = await say(admin, loose_room, CALL, bot.user_id)
    assert refused.startswith("This room has no subject yet: ") and "!subject create" in refused
    assert refused.endswith("Group-wide meetings are scheduled in the group room.")

    # Scheduled in its subject's room; an overlap refused — and counted refused, like the other refusals.
    assert (await say(carol, room_id, CALL, bot.user_id)).startswith("Scheduled M1")
    overlap = await say(carol, room_id, CALL.replace("Coordination", "Other"), bot.user_id)
    assert overlap.startswith("Scheduling not done: it overlaps")
    assert await commands_counted(bot.app.web.base_url, "meeting schedule") == {"ok": 1, "refused": 2}

    # The group room's list says whose each meeting is.
    plenary = CALL.replace("Coordination call", "Plenary").replace("09:00", "15:00")
    assert (await say(admin, group_room, plenary, bot.user_id)).startswith("Scheduled M2")
    listing = (await say(tomoko, group_room, "!meeting list", bot.user_id)).splitlines()
    assert listing[1].startswith("• M1 ") and listing[1].endswith("— cop: Coordination call")
    assert listing[2].startswith("• M2 ") and listing[2].endswith("— ISCG-wide: Plenary")

    # One member in Tokyo; the others set no zone and count in the subject's (Europe/Zurich by default).
    await say(tomoko, room_id, "!tz Asia/Tokyo", bot.user_id)
    proposals = await say(
        carol, room_id, "!meeting suggest 60m between 2027-12-07 and 2027-12-07", bot.user_id
    )
    rows = proposals.splitlines()
    assert rows[0].endswith("(3 people: 1 with a time zone, 2 counted in the subject's, Europe/Zurich):")
    assert rows[1].startswith("1. Tue 7 Dec 2027 08:00–09:00 Europe/Zurich"), proposals
    assert rows[2] == "   Everyone within working hours (08:00–20:00)."
