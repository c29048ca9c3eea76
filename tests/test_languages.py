"""Who reads which language (issue 16): a person's `!lang`, else the room's subject's (`!subject set
language`), else the group's default; replies in the sender's, room messages in the room's; and the
machinery of `iscg_bot.core.i18n` (templates filled after translation, plural forms, the pseudo-language).
"""

from __future__ import annotations

from iscg_bot.core.formatting import code
from iscg_bot.core.i18n import PSEUDO, _, fill, language_code, language_name, n_, pseudo, speaking, tr
from iscg_bot.storage import UnitOfWork
from tests.chat import ADMIN, ALICE, COP, Chat, said
from tests.support.pseudo import pseudo_chat, untranslated


def body_and_html(contents: list[dict]) -> list[str]:
    return [content.get("formatted_body", content["body"]) for content in contents]


# ---- the machinery ---------------------------------------------------------------------------------------


def test_a_template_is_filled_after_translation_and_its_values_are_escaped_not_translated():
    filled = fill("Archived {slug}; {user} asked.", {"slug": code("cop"), "user": "<b>Ann</b>"})
    assert filled.plain == "Archived cop; <b>Ann</b> asked."
    assert filled.html == "Archived <code>cop</code>; &lt;b&gt;Ann&lt;/b&gt; asked."
    with speaking(PSEUDO):
        shown = tr("Archived {slug}.", slug=code("cop"))
    assert shown.html.startswith("[Àŕčĥíṽéđ <code>cop</code>.")


def test_plural_forms_follow_the_language_and_group_digits():
    assert n_("{count} meeting", "{count} meetings", 1) == "1 meeting"
    assert n_("{count} meeting", "{count} meetings", 12_000) == "12,000 meetings"
    with speaking(PSEUDO):
        assert "{count}" not in n_("{count} meeting", "{count} meetings", 3)


def test_the_pseudo_language_accents_every_letter_and_keeps_placeholders():
    shown = pseudo("Meeting {label} moved to {when}.")
    assert "{label}" in shown and "{when}" in shown
    assert untranslated(shown.replace("{label}", "").replace("{when}", "")) == []
    assert untranslated("[Ţĥéŕé] there are M12 words left") == ["there", "are", "words", "left"]


def test_a_language_is_named_by_its_code_in_any_case_or_with_a_region():
    assert [language_code(v) for v in ("fr", "FR", "fr-CA", "zh_Hans", "ar")] == [
        "fr",
        "fr",
        "fr",
        "zh",
        "ar",
    ]
    for wrong in ("de", "qps", "", "french"):
        try:
            language_code(wrong)
        except ValueError:
            continue
        raise AssertionError(f"{wrong!r} was accepted")


def test_outside_any_language_the_source_text_is_the_message():
    assert _("{name} is here.", name="Ann") == "Ann is here."


# ---- who reads which language ----------------------------------------------------------------------------


async def test_lang_shows_the_choice_sets_it_and_goes_back_to_the_rooms(chat: Chat):
    [reply] = await chat.say("!lang")
    assert reply.startswith("You have not chosen a language, so I write to you in this room's: English.")
    assert "fr Français" in reply and "ar العربية" in reply
    [reply] = await chat.say("!lang es")
    with speaking("es"):  # said in the language just chosen, which names itself as it does in a sentence
        assert reply == tr("From now on I write to you in {language}.", language=language_name("es")).plain
        assert language_name("es") == "español"
    assert "write to you" not in reply
    [reply] = await chat.say("!lang")
    assert "Español" in reply
    [reply] = await chat.say("!lang default")
    assert "English" in reply
    [reply] = await chat.say("!lang klingon")
    assert reply.startswith('"klingon" is not one of ITU\'s languages: ar, zh, en, fr, ru, es.')
    assert "!lang" in reply  # the usage follows the error


async def test_a_room_takes_its_subjects_language_and_a_person_their_own(chat: Chat):
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    [reply] = await chat.say("!subject set language qps", sender=ADMIN, room=COP)
    assert "not one of ITU's languages" in reply  # the pseudo-language is for tests, not for people
    await chat.say("!subject set language fr", sender=ADMIN, room=COP)
    assert chat.dispatcher.languages._rooms.get(COP) is None  # forgotten at the commit: read again
    ctx_languages = chat.dispatcher.languages
    async with UnitOfWork(chat.database.sessions) as uow:
        assert await ctx_languages.of_room(uow, COP) == "fr"
        assert await ctx_languages.of_reader(uow, ALICE, COP) == "fr"  # no choice of her own: the room's
    await chat.say("!lang ru", room=COP)
    async with UnitOfWork(chat.database.sessions) as uow:
        assert await ctx_languages.of_reader(uow, ALICE, COP) == "ru"
        assert await ctx_languages.of_reader(uow, ADMIN, COP) == "fr"
    await chat.say("!subject set language default", sender=ADMIN, room=COP)
    async with UnitOfWork(chat.database.sessions) as uow:
        assert await ctx_languages.of_room(uow, COP) == "en"


async def test_in_the_pseudo_language_lang_writes_no_plain_english(chat: Chat):
    pseudo_chat(chat)
    for command in ("!lang", "!lang xx"):
        for shown in body_and_html(await chat.deliver(chat.message(command))):
            assert untranslated(shown, "xx") == [], shown
