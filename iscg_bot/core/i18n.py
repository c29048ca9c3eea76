"""The six official languages of ITU: which language a text is being written in, and its translations.

    with speaking("fr"):                        # whatever is written inside is in French
        _("There are no subjects yet.")         # a sentence: str
        _("{slug} is already archived.", slug=subject.slug)
        tr("Archived {slug}.", slug=code(subject.slug))      # rich text: markup in the placeholders only
        n_("{count} meeting", "{count} meetings", count)      # plural forms, as the language has them

Every sentence is one message with named placeholders, never fragments glued together: a translation may
put the placeholders in any order, and its plural forms are the language's own (Arabic has six, Chinese
one). `tr` translates the template first and only then fills it, each value escaped or kept as rich text,
so no user-written value can become markup and no markup is translated.

The languages, the catalogs, `speaking` and the plain-text messages are `iscg_bot.core.language`'s (see
there: the pseudo-language, how the catalogs are made); this module adds rich text and is what code imports.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from iscg_bot.core.formatting import Rich, as_rich, text
from iscg_bot.core.language import (
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    PSEUDO,
    RIGHT_TO_LEFT,
    SOURCE,
    UnknownLanguage,
    _,
    accented,
    babel_locale,
    count_text,
    current,
    html_language,
    is_right_to_left,
    language_code,
    language_name,
    lazy,
    n_,
    pseudo,
    speaking,
)
from iscg_bot.core.language import _catalog as _catalog

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "PSEUDO",
    "RIGHT_TO_LEFT",
    "SOURCE",
    "UnknownLanguage",
    "_",
    "accented",
    "babel_locale",
    "count_text",
    "current",
    "fill",
    "html_language",
    "is_right_to_left",
    "language_code",
    "language_name",
    "lazy",
    "n_",
    "ntr",
    "pseudo",
    "speaking",
    "tr",
]


def tr(message: str, /, **values: Rich | str | int) -> Rich:
    """`message` in the current language as rich text: the translated template's own words escaped, each
    placeholder filled with its value as it is (rich text stays rich, anything else is escaped text)."""
    return fill(_catalog(current()).gettext(message), values)


def ntr(singular: str, plural: str, number: int, /, **values: Rich | str | int) -> Rich:
    """`n_` as rich text (see `tr`)."""
    template = _catalog(current()).ngettext(singular, plural, number)
    return fill(template, {"count": count_text(number), **values})


def fill(template: str, values: Mapping[str, Rich | str | int]) -> Rich:
    """`template`'s `{name}` fields replaced by `values`; `{{` and `}}` are braces."""
    result = Rich("", "")
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        if literal:
            result += text(literal)
        if field is not None:
            value = values[field]
            result += as_rich(value if isinstance(value, Rich | str) else str(value))
    return result
