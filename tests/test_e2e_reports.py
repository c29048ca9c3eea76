"""Reports end to end (issue 7): the bot as its own process on a real Synapse. `!report` uploads a Word
file that opens and carries what the meeting recorded, and links a web copy that serves the same; `!summary`
answers the Chair and refuses a plain member.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.conversation import say
from tests.support.deployment import deploy, download_bytes, fetch, subject_room, tag, with_file
from tests.support.documents import docx_text
from tests.support.matrix_user import body_of, is_reply_to

pytestmark = pytest.mark.e2e


async def test_report_uploads_a_word_file_and_summary_answers_the_chair_only(
    matrix_user_factory, bot_process, synapse
):
    admin = await matrix_user_factory("alice")
    bot = await deploy(bot_process, synapse, admin.user_id)
    try:
        room = await subject_room(matrix_user_factory, admin, bot.bot_id)
        carol, bob, room_id = room.coordinator, room.member, room.room_id
        chair = await matrix_user_factory("chair", displayname="Cheng Chair")
        await admin.invite(room_id, chair.user_id)
        await chair.join(room_id)
        appointed = await say(admin, room_id, f"!role add {chair.user_id} chair", bot.bot_id)
        assert chair.user_id in appointed, appointed

        started = await say(carol, room_id, "!startmeeting", bot.bot_id)
        assert started.startswith("Meeting started"), started
        await tag(carol, room, "!agreed Publish the guidelines in March")
        await tag(carol, room, "!keyissue Funding for 2027 is not confirmed")
        ended, _ = await with_file(carol, room, "!endmeeting")
        assert ended[0].startswith("Meeting ended"), ended

        year = datetime.now(UTC).year  # the bot runs on the real clock here
        lines, file = await with_file(carol, room, "!report docx")  # a coordinator, on their own subject
        assert lines[0].startswith(
            f"ISCG report — Child Online Protection — {year}: 1 subject, 1 meeting held"
        )
        web_copy = lines[1].removeprefix("Web copy: ")
        assert web_copy == f"{bot.web}/reports/{year}/cop"
        assert file["content"]["body"].endswith(".docx")
        report = docx_text(await download_bytes(synapse, carol, file))
        for fact in ("Child Online Protection", "Publish the guidelines in March", "Funding for 2027"):
            assert fact in report, fact
        status, headers, page = await fetch(web_copy)
        assert status == 200 and "Publish the guidelines in March" in page
        assert "default-src 'none'" in headers["Content-Security-Policy"]

        assert await say(bob, room_id, "!report all", bot.bot_id) == (
            "Only the Chair, the management team or the secretariat may run !report; a coordinator, for "
            "their own subject."
        )
        asked = await chair.send_text(room_id, "!summary 30")
        digest = body_of(await chair.wait_for(is_reply_to(asked, sender=bot.bot_id), room_id=room_id))
        assert digest.splitlines()[1].startswith("1 meeting held")
        assert "Child Online Protection: Publish the guidelines in March" in digest
        assert await say(bob, room_id, "!summary", bot.bot_id) == (
            "Only the Chair, the management team or the secretariat may run !summary."
        )
        assert bot.process.terminate() == 0
    except BaseException:
        print(bot.process.output()[-5000:])
        raise
