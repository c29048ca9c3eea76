"""The glossary translators follow (issue 16, `iscg_bot/locale/GLOSSARY.md`): a table that parses, each term
given in all six languages in the right script, ITU's official abbreviations (GCNT, КГСЭ, МСЭ-Т …), and every
translated message in the catalogs using the glossary's abbreviation where the English one uses it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from iscg_bot.core.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE

GLOSSARY = LOCALE_DIR / "GLOSSARY.md"
TRANSLATED = [language for language in LANGUAGES if language != SOURCE]
HEADER = ["English", *(f"{name} ({code})" for code, name in LANGUAGES.items() if code != SOURCE), "note"]

# The abbreviations the issue names, and the full name each one stands for (a translation may use either).
FULL_NAMES = {
    "ISCG": "Inter-Sector Coordination Group on issues of mutual interest",
    "ITU": "International Telecommunication Union",
    "ITU-R": "ITU Radiocommunication Sector",
    "ITU-T": "ITU Telecommunication Standardization Sector",
    "ITU-D": "ITU Telecommunication Development Sector",
    "GS": "General Secretariat",
    "RAG": "Radiocommunication Advisory Group",
    "TSAG": "Telecommunication Standardization Advisory Group",
    "TDAG": "Telecommunication Development Advisory Group",
    "ISC-TF": "Inter-Sectoral Coordination Task Force",
}


@dataclass(frozen=True)
class Term:
    english: str
    translations: dict[str, str]  # language code → the term in that language
    note: str


def parse(markdown: str) -> list[Term]:
    """Every row of every table whose header is the glossary's (English, the five languages, note)."""
    terms: list[Term] = []
    in_table = False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells == HEADER:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            assert len(cells) == len(HEADER), f"{len(cells)} cells, not {len(HEADER)}: {line}"
            english, *languages, note = cells
            terms.append(Term(english, dict(zip(TRANSLATED, languages, strict=True)), note))
    return terms


@pytest.fixture(scope="module")
def terms() -> list[Term]:
    return parse(GLOSSARY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_english(terms: list[Term]) -> dict[str, Term]:
    return {term.english: term for term in terms}


def scripts(text: str) -> set[str]:
    """The scripts of `text`'s letters: LATIN, CYRILLIC, ARABIC, CJK."""
    found = set()
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            found.add("CJK" if name.startswith("CJK") else name.split(" ", 1)[0])
    return found


SCRIPT = {"ar": "ARABIC", "zh": "CJK", "fr": "LATIN", "ru": "CYRILLIC", "es": "LATIN"}


def test_the_glossary_is_a_table_of_terms_in_all_six_languages(terms):
    assert len(terms) >= 60
    empty = [(term.english, code) for term in terms for code, text in term.translations.items() if not text]
    assert empty == [], "terms missing a language"
    assert all(term.english for term in terms)


def test_each_term_is_listed_once(terms):
    counts = Counter(term.english.casefold() for term in terms)
    assert [english for english, count in counts.items() if count > 1] == []


def test_each_translation_is_in_its_language_s_script_or_kept_as_in_english(terms):
    """A term in the wrong column (Russian under Spanish) shows as a script that is not the language's."""
    wrong = []
    for term in terms:
        for code, text in term.translations.items():
            if text == term.english:  # kept as ITU keeps it (TSAG in Chinese, ITU-T in Arabic)
                continue
            if SCRIPT[code] not in scripts(text) or scripts(text) - {SCRIPT[code], "LATIN"}:
                wrong.append((term.english, code, text))
    assert wrong == []


def test_the_terms_the_issue_names_are_there(by_english):
    named = [
        *FULL_NAMES,
        *FULL_NAMES.values(),
        "Chair",
        "coordinator",
        "focal point",
        "secretariat",
        "management team",
        "subject of common interest",
        "meeting",
        "electronic meeting",
        "agenda",
        "minutes",
        "draft minutes",
        "approved minutes",
        "action item",
        "agreed",
        "key issue",
        "report",
        "Chair's summary",
        "time zone",
        "calendar",
        "feed",
        "reminder",
        "yes",
        "no",
        "maybe",
        "room",
        "invitation",
        "recurring meeting",
        "cancelled",
        "moved",
    ]
    assert [english for english in named if english not in by_english] == []


def test_the_advisory_groups_and_sectors_have_itu_s_own_abbreviations(by_english):
    def row(english: str) -> list[str]:
        return [by_english[english].translations[code] for code in TRANSLATED]

    #                  ar        zh        fr        ru        es
    assert row("TSAG") == ["TSAG", "TSAG", "GCNT", "КГСЭ", "GANT"]
    assert row("RAG") == ["RAG", "RAG", "GCR", "КГР", "GAR"]
    assert row("TDAG") == ["TDAG", "TDAG", "GCDT", "КГРЭ", "GADT"]
    assert row("ITU-T") == ["ITU-T", "ITU-T", "UIT-T", "МСЭ-Т", "UIT-T"]
    assert row("ITU")[1:] == ["国际电联", "UIT", "МСЭ", "UIT"]
    # МСЭ-R and МСЭ-D keep ITU's Latin letter; МСЭ-Т's is Cyrillic (a Latin T would look the same and differ).
    assert scripts(by_english["ITU-R"].translations["ru"][-1]) == {"LATIN"}
    assert scripts(by_english["ITU-D"].translations["ru"][-1]) == {"LATIN"}
    assert scripts(by_english["ITU-T"].translations["ru"][-1]) == {"CYRILLIC"}
    assert "ISCG" in by_english["ISCG"].translations.values()


def test_the_preface_says_commands_are_never_translated_and_gives_each_language_s_style():
    preface = GLOSSARY.read_text(encoding="utf-8").split("\n| English |", 1)[0]
    assert "`!meeting schedule`" in preface and "never translated" in preface
    for code, name in LANGUAGES.items():
        assert f"**{name} ({code})**" in preface or code == SOURCE
    for mark in ("،", "؟", "«", "¿", "¡", "。", "U+00A0"):
        assert mark in preface


# ---- the catalogs use the glossary ------------------------------------------------------------------------


def used(term: str, text: str) -> bool:
    """`term` appears in `text`; an Arabic term also after a prefixed preposition (الاتحاد → للاتحاد)."""
    if term.startswith("ال"):
        term = term[len("ال") :]
    return term in text


def catalogs() -> list[Path]:
    return [LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po" for code in TRANSLATED]


@pytest.mark.parametrize("path", catalogs(), ids=TRANSLATED)
def test_every_translation_writes_the_abbreviations_as_the_glossary_does(path, by_english):
    """An English message naming TSAG is translated with GCNT in French, КГСЭ in Russian … (or the full
    name); untranslated messages are `test_catalogs`' business."""
    language = path.parent.parent.name
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    problems = []
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        english = " ".join(message.id) if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for abbreviation, full_name in FULL_NAMES.items():
            if not re.search(rf"(?<![\w-]){re.escape(abbreviation)}(?![\w-])", english):
                continue
            expected = (
                by_english[abbreviation].translations[language],
                by_english[full_name].translations[language],
            )
            for form in forms:
                if form and not any(used(term, form) for term in expected):
                    problems.append(f"{abbreviation} → {expected[0]}: {form!r}")
    assert problems == []
