"""The same conversation in French and in Arabic through Synapse (issue 16): the room's subject speaks the
language, a coordinator chose it too, a member chose English — replies go in each sender's language, what
the bot says to the whole room (the announcement) in the room's.

The expected texts are the catalogs' own (the bot runs the same catalogs in this process), so the test
follows a corrected translation without being edited; what it proves is who gets which language.
"""

from __future__ import annotations

import pytest

from iscg_bot.core.formatting import code
from iscg_bot.core.i18n import language_name, speaking, tr
from tests.support.conversation import ask, invite_in, room_with_bot, say
from tests.support.matrix_user import body_of

pytestmark = pytest.mark.e2e


def written(in_language: str, message: str, /, **values: object) -> str:
    with speaking(in_language):
        return tr(message, **values).plain  # type: ignore[arg-type]


def named(language: str) -> str:
    """The language's name as it writes it in a sentence ("français")."""
    with speaking(language):
        return language_name(language)


@pytest.mark.parametrize("language", ["fr", "ar"])
async def test_replies_follow_the_sender_and_room_messages_the_subject(
    matrix_user_factory, bot_factory, language
):
    admin = await matrix_user_factory("alice")
    carol = await matrix_user_factory("carol", displayname="Carol")
    bob = await matrix_user_factory("bob", displayname="Bob")
    bot = await bot_factory(admins=[admin.user_id])
    room_id = await room_with_bot(admin, bot.user_id)
    await invite_in(admin, room_id, carol, bob)
    await say(admin, room_id, "!subject create cop Child Online Protection", bot.user_id)
    await say(admin, room_id, f"!role add {carol.user_id} coordinator", bot.user_id)

    name = named(language)
    switched = await ask(admin, room_id, f"!subject set language {language}", bot.user_id)
    assert body_of(switched) == written(
        language, "From now on I write to this room in {language}.", language=name
    )
    chosen = await ask(bob, room_id, "!lang en", bot.user_id)
    assert body_of(chosen) == "From now on I write to you in English."

    # The coordinator chose nothing: the room's language is hers; the announcement is the room's anyway.
    announcement = await ask(carol, room_id, '!meeting schedule "Budget" 2027-12-02 14:00 UTC', bot.user_id)
    first_line = body_of(announcement).splitlines()[0]
    assert first_line == written(language, "Scheduled {label}: {title}", label=code("M1"), title="Budget")
    assert "Scheduled" not in body_of(announcement) and "Will you come" not in body_of(announcement)

    # A refusal to the member who chose English is in English; the same refusal to the room's reader is not.
    english = body_of(await ask(bob, room_id, "!meeting cancel M1", bot.user_id))
    assert english.startswith("Only "), english
    await say(admin, room_id, f"!lang {language}", bot.user_id)
    translated = body_of(await ask(admin, room_id, "!lang", bot.user_id))
    assert name in translated and "write to you" not in translated, translated
