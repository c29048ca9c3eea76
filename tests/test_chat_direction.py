"""Chat messages laid out by their own script, and what `core.formatting` writes by locale (issue 16):
every message's HTML is a `dir="auto"` block, so an Arabic reply reads right to left in an English client
and an English one left to right in an Arabic client; quotation marks and lists as each language writes
them; the Sectors and advisory groups as ITU names them in each language (`domain.roles.shown_body`).
"""

from __future__ import annotations

import re

import pytest

from iscg_bot.core.formatting import and_list, enumeration, mention, or_list, quote
from iscg_bot.core.language import PSEUDO, speaking
from iscg_bot.domain.roles import AdvisoryGroup, Sector, shown_body
from tests.chat import ADMIN, ALICE, COP, Chat, said

BLOCK = re.compile(r'^<div dir="auto">.*</div>$', re.DOTALL)


# ---- direction --------------------------------------------------------------------------------------------


async def test_a_reply_is_one_block_laid_out_by_its_own_script(chat: Chat):
    [content] = await chat.deliver(chat.message("!ping"))
    assert content["formatted_body"] == '<div dir="auto">pong</div>'
    assert content["body"] == "pong"  # the plain body as it was


async def test_replies_room_messages_and_private_messages_are_all_blocks_in_every_language(chat: Chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    contents = []
    for language in ("ar", "en", "zh"):
        await chat.say(f"!lang {language}", sender=ALICE, room=COP)
        contents += await chat.deliver(chat.message("!help", sender=ALICE, room=COP))
        contents += await chat.deliver(chat.message("!calendar", sender=ALICE, room=COP))  # links by DM
        contents += await chat.deliver(chat.message("!tz Nowhere/Land", sender=ALICE, room=COP))  # a refusal
    contents += [content for _user, content in chat.gateway.direct]
    html = [c["formatted_body"] for c in contents if "formatted_body" in c]
    assert len(html) >= 9 and chat.gateway.direct
    for formatted in html:
        assert BLOCK.fullmatch(formatted), formatted
        assert formatted.count('dir="auto"') == 1  # one block, not nested
    assert any(re.search("[\u0600-\u06ff]", formatted) for formatted in html)  # the Arabic replies are there


# ---- quotation marks and lists ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "quoted"),
    [
        ("en", '"Nowhere"'),
        ("fr", "«\u00a0Nowhere\u00a0»"),
        ("ru", "«Nowhere»"),
        ("ar", "«Nowhere»"),
        ("es", "\u201cNowhere\u201d"),
        ("zh", "\u201cNowhere\u201d"),
        (PSEUDO, '"Nowhere"'),
    ],
)
def test_user_input_is_quoted_with_the_reader_s_quotation_marks(language, quoted):
    with speaking(language):
        assert quote("Nowhere") == quoted
        assert quote("x" * 60, limit=10).count("x") == 9  # still one short line


async def test_a_french_reader_sees_french_quotation_marks_in_a_refusal(chat: Chat):
    await chat.say("!lang fr")
    [refusal] = await chat.say("!tz Nowhere/Land")
    assert "«\u00a0Nowhere/Land\u00a0»" in refusal
    await chat.say("!lang en")
    [refusal] = await chat.say("!tz Nowhere/Land")
    assert '"Nowhere/Land"' in refusal


def test_lists_in_a_sentence_follow_the_language():
    items = ["ITU-R", "ITU-T", "ITU-D"]
    assert (or_list(items), and_list(items), and_list(items[:2])) == (
        "ITU-R, ITU-T or ITU-D",  # English as it always read: no comma before "or"
        "ITU-R, ITU-T and ITU-D",
        "ITU-R and ITU-T",
    )
    expected = {
        "fr": ("ITU-R, ITU-T ou ITU-D", "ITU-R, ITU-T et ITU-D"),
        "es": ("ITU-R, ITU-T o ITU-D", "ITU-R, ITU-T y ITU-D"),
        "ru": ("ITU-R, ITU-T или ITU-D", "ITU-R, ITU-T и ITU-D"),
        "zh": ("ITU-R、ITU-T或ITU-D", "ITU-R、ITU-T和ITU-D"),
    }
    for language, (either, every) in expected.items():
        with speaking(language):
            assert (or_list(items), and_list(items)) == (either, every), language
    with speaking("ar"):
        assert "و" in and_list(items) and "أو" in or_list(items)
    with speaking(PSEUDO):
        assert and_list(items) == "ITU-R, ITU-T, àñđ ITU-D"  # CLDR's English words, accented


def test_an_enumeration_keeps_its_mentions_and_takes_the_script_s_comma():
    people = [mention("@ann:example.org", "Ann"), mention("@bo:example.org", "Bo"), "Cy"]
    assert enumeration(people).plain == "Ann, Bo, Cy"
    with speaking("zh"):
        shown = enumeration(people)
    assert shown.plain == "Ann、Bo、Cy"
    assert shown.mentions == ("@ann:example.org", "@bo:example.org")
    assert shown.html.startswith('<a href="https://matrix.to/#/@ann:example.org">Ann</a>、')
    with speaking("ar"):
        assert enumeration(people).plain == "Ann، Bo، Cy"


# ---- the Sectors and advisory groups as shown --------------------------------------------------------


def test_sectors_and_advisory_groups_are_shown_as_itu_names_them_in_each_language():
    codes = [*Sector, *AdvisoryGroup]
    shown = {}
    for language in ("en", "fr", "ru", "es", "ar", "zh"):
        with speaking(language):
            shown[language] = [shown_body(c) for c in codes]
    assert shown["en"] == ["ITU-R", "ITU-T", "ITU-D", "GS", "TSAG", "RAG", "TDAG"]
    assert shown["fr"] == ["UIT-R", "UIT-T", "UIT-D", "SG", "GCNT", "GCR", "GCDT"]
    assert shown["es"] == ["UIT-R", "UIT-T", "UIT-D", "SG", "GANT", "GAR", "GADT"]
    assert shown["ru"] == ["МСЭ-R", "МСЭ-\u0422", "МСЭ-D", "ГС", "КГСЭ", "КГР", "КГРЭ"]  # a Cyrillic Т
    assert shown["ar"][:3] == shown["zh"][:3] == ["ITU-R", "ITU-T", "ITU-D"]  # Latin, as ITU writes them
    assert shown["zh"][3] == "总秘书处" and shown["ar"][4:] == ["TSAG", "RAG", "TDAG"]
    with speaking(PSEUDO):
        assert shown_body("ITU-T") != "ITU-T"  # told apart from the typed code in the pseudo-language runs
    assert shown_body("ISC-TF") == "ISC-TF"  # anything else as it is
