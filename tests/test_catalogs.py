"""The message catalogs (issue 16): every marked message in the template, every language complete, each
translation keeping its placeholders and the language's plural forms, and what the bot reads (the compiled
`.mo`) made from what translators edit (the `.po`). A missing or broken translation fails here; `make
translations` brings the catalogs up to date and prints each language's statistics.
"""

from __future__ import annotations

import io
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from iscg_bot.core.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in LANGUAGES if language != SOURCE]
KEYWORDS = ["-k", "_", "-k", "n_:1,2", "-k", "tr", "-k", "ntr:1,2", "-k", "lazy", "--no-default-keywords"]


def catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def ids(messages: Catalog) -> set[str | tuple[str, ...]]:
    return {message.id for message in messages if message.id}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_template_holds_every_message_marked_in_the_code(tmp_path):
    """A message marked in the code but not extracted into the template would never be translated."""
    fresh = tmp_path / "fresh.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg", *KEYWORDS]
    command += ["--no-location", "--sort-output", "-o", str(fresh), "iscg_bot", "commands"]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    committed = ids(catalog(LOCALE_DIR / f"{DOMAIN}.pot"))
    extracted = ids(catalog(fresh))
    assert extracted - committed == set(), "marked but not in the template: run `make translations`"
    assert committed - extracted == set(), "in the template but marked nowhere: run `make translations`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_keeping_its_placeholders_and_plural_forms(language):
    template = catalog(LOCALE_DIR / f"{DOMAIN}.pot")
    translated = catalog(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", locale=language)
    problems: list[str] = []
    for message in template:
        if not message.id:
            continue
        found: Message | None = translated.get(message.id)
        if found is None or not found.string or (isinstance(found.string, tuple) and not all(found.string)):
            problems.append(f"missing: {message.id!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        problems += _placeholder_problems(message, found, translated.num_plurals)
    assert problems == [], f"{language}: {len(problems)} problems\n" + "\n".join(problems[:40])


def _placeholder_problems(message: Message, found: Message, num_plurals: int) -> list[str]:
    if isinstance(message.id, tuple):  # plural: every form of the language, each with the plural's fields
        forms = found.string if isinstance(found.string, tuple) else (found.string,)
        if len(forms) != num_plurals:
            return [f"{len(forms)} plural forms, not {num_plurals}: {message.id[0]!r}"]
        wanted = fields(message.id[1])
        # A form may say the number in words ("one meeting", Arabic's dual): {count} may go, nothing else.
        return [
            f"placeholders {sorted(fields(form))} not {sorted(wanted)}: {message.id[0]!r}"
            for form in forms
            if not (wanted - {"count"} <= fields(form) <= wanted)
        ]
    assert isinstance(found.string, str)
    if fields(found.string) != fields(message.id):
        return [
            f"placeholders {sorted(fields(found.string))} not {sorted(fields(message.id))}: {message.id!r}"
        ]
    return []


@pytest.mark.parametrize("language", TRANSLATED)
def test_what_the_bot_reads_is_compiled_from_what_translators_edit(language):
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    compiled = io.BytesIO()
    write_mo(compiled, catalog(source, locale=language))
    assert (source.with_suffix(".mo")).read_bytes() == compiled.getvalue(), "run `make translations`"
