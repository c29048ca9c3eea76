"""How a command's text becomes its handler's keyword arguments, given the parameters its signature declares.

The parameters and the types that read each value are `iscg_bot.chat.arguments`'s; this module puts the words
typed in their places. A command is given in one of two ways, both bound to the same parameters:

- on its line (lines under it continue the text): `bind_line` fills the positionals in order, clauses
  (`for 90m`) and flags (`force`) wherever they appear;
- as a form, when the command line is bare and the next line reads `key: value` (`is_form_start`):
  `read_form` reads the `key: value` lines (and `- item` lines under a key), `bind_form` converts them.

Either way a parameter left out takes its default, or is reported missing. Nothing a user types may make this
module raise anything but `UsageError`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iscg_bot.chat.arguments import (
    POSITIONAL_KINDS,
    ArgumentType,
    Kind,
    Parameter,
    Token,
    UsageError,
    Word,
    YesNo,
    form_key,
    tokenize,
    type_name,
    unterminated_error,
)
from iscg_bot.core.formatting import code, or_list, quote
from iscg_bot.core.i18n import _, tr

if TYPE_CHECKING:
    from iscg_bot.chat.context import Context


# ---- a command line: words → handler arguments -----------------------------------------------------------


async def _parse(argtype: ArgumentType, tokens: Sequence[Token], ctx: Context) -> tuple[Any, int]:
    """Let the type read the first words. An unclosed quote (always the last token) is offered to no type: a
    later `Rest` may take it as typed; if this type needed it, the unclosed quote is the error to report."""
    readable = tokens[:-1] if tokens and tokens[-1].unterminated else tokens
    if not readable:
        raise (
            unterminated_error(tokens[-1])
            if tokens
            else UsageError(_("An empty value is not {what}.", what=type_name(argtype)))
        )
    words = [t.text for t in readable]
    try:
        result = argtype.parse(words, ctx)
        if inspect.isawaitable(result):
            result = await result
    except UsageError:
        if len(readable) < len(tokens):
            raise unterminated_error(tokens[-1]) from None
        raise
    value, consumed = result
    if not 1 <= consumed <= len(words):
        raise RuntimeError(f"{argtype!r}.parse used {consumed} of {len(words)} words")
    return value, consumed


async def parse_text(argtype: ArgumentType, text: str, ctx: Context) -> object:
    """A whole form value → one value of the type (every word must be used)."""
    whole = getattr(argtype, "parse_text", None)
    if whole is not None:
        result = whole(text, ctx)
        return await result if inspect.isawaitable(result) else result
    tokens = tokenize(text)
    value, consumed = await _parse(argtype, tokens, ctx)
    if consumed < len(tokens):
        raise UsageError(_("I did not expect {word}.", word=quote(tokens[consumed].text)))
    return value


def _rest(text: str, tokens: Sequence[Token], index: int) -> str:
    if index == len(tokens) - 1 and tokens[index].quoted and not tokens[index].unterminated:
        return tokens[index].text
    return text[tokens[index].start :].rstrip()


def _fill_defaults(params: Sequence[Parameter], values: dict[str, Any]) -> dict[str, Any]:
    for p in params:
        if p.name not in values:
            if p.required:
                raise p.missing()
            values[p.name] = copy(p.default)
        elif p.kind is Kind.LIST and p.required and not values[p.name]:
            raise p.missing()
    return values


class _LineBinder:
    """One-line (and continued) arguments: positionals in order; clauses and flags wherever they appear."""

    def __init__(self, params: Sequence[Parameter], text: str, ctx: Context) -> None:
        self.params, self.text, self.ctx = params, text, ctx
        self.tokens = tokenize(text)
        self.stops = {word: p for p in params for word in p.stop_words}
        self.positionals = [p for p in params if p.kind in POSITIONAL_KINDS]
        self.values: dict[str, Any] = {}

    def _is_stop(self, token: Token) -> bool:
        return not token.quoted and token.text.lower() in self.stops

    def _segment_end(self, start: int) -> int:
        end = start
        while end < len(self.tokens) and not self._is_stop(self.tokens[end]):
            end += 1
        return end

    async def bind(self) -> dict[str, Any]:
        i, next_positional = 0, 0
        while i < len(self.tokens):
            token = self.tokens[i]
            if self._is_stop(token):
                i = await self._clause(i)
                continue
            if next_positional >= len(self.positionals):
                if token.unterminated:
                    raise unterminated_error(token)
                raise UsageError(_("I did not expect {word}.", word=quote(token.text)))
            i, next_positional = await self._positional(i, next_positional)
        return _fill_defaults(self.params, self.values)

    async def _clause(self, i: int) -> int:
        token = self.tokens[i]
        param = self.stops[token.text.lower()]
        if param.name in self.values:
            raise UsageError(_("{word} is given twice.", word=quote(token.text)))
        if param.kind is Kind.FLAG:
            self.values[param.name] = True
            return i + 1
        end = self._segment_end(i + 1)
        if end == i + 1:
            raise UsageError(
                tr("{word} needs {value} after it.", word=quote(token.text), value=code(param.placeholder))
            )
        value, consumed = await _parse(param.reader, self.tokens[i + 1 : end], self.ctx)
        self.values[param.name] = value
        return i + 1 + consumed

    async def _positional(self, i: int, first: int) -> tuple[int, int]:
        """Fill the next positional; an optional one that cannot read the words is skipped for the next."""
        error: UsageError | None = None
        for index in range(first, len(self.positionals)):
            if index > first and self.positionals[index - 1].required:
                break
            param = self.positionals[index]
            try:
                end = await self._take(param, i)
            except UsageError as problem:
                error = error or problem
                continue
            return end, index if param.kind is Kind.LIST else index + 1
        assert error is not None
        raise error

    async def _take(self, param: Parameter, i: int) -> int:
        if param.kind is Kind.REST:
            self.values[param.name] = _rest(self.text, self.tokens, i)
            return len(self.tokens)
        end = self._segment_end(i)
        if param.kind is Kind.LIST:
            items = []
            while i < end:
                value, consumed = await _parse(param.reader, self.tokens[i:end], self.ctx)
                items.append(value)
                i += consumed
            self.values.setdefault(param.name, []).extend(items)
            return end
        value, consumed = await _parse(param.reader, self.tokens[i:end], self.ctx)
        self.values[param.name] = value
        return i + consumed


async def bind_line(params: Sequence[Parameter], text: str, ctx: Context) -> dict[str, Any]:
    return await _LineBinder(params, text, ctx).bind()


# ---- forms -----------------------------------------------------------------------------------------------

FORM_KEY = re.compile(r"\s*([A-Za-z][A-Za-z0-9_\- ]{0,40}?)\s*:(?:\s+(.*)|\s*)$")
FORM_ITEM = re.compile(r"\s*[-*•](?:\s+(.*)|\s*)$")


@dataclass(frozen=True)
class FormField:
    key: str  # as typed
    value: str  # the text after `key:` plus continuation lines
    items: tuple[str, ...] = ()  # `- item` lines under the key


def read_form(lines: Sequence[str]) -> tuple[tuple[FormField, ...], str | None]:
    """`key: value` lines, `- item` lines under a key, other lines continue the value above.

    Returns the fields and, when a line cannot be read, that line (`unreadable_form_line` says so in the
    reader's language, once it is known: the message is read before).
    """
    fields: list[tuple[str, list[str], list[str]]] = []
    for line in lines:
        if not line.strip():
            continue
        item = FORM_ITEM.match(line)
        key = FORM_KEY.match(line)
        if item and fields:
            fields[-1][2].append((item.group(1) or "").strip())
        elif key:
            fields.append((key.group(1), [key.group(2) or ""], []))
        elif fields:
            field = fields[-1]
            if field[2]:
                field[2][-1] += "\n" + line.strip()
            else:
                field[1].append(line.rstrip())
        else:
            return (), line.strip()
    return tuple(FormField(k, "\n".join(v).strip(), tuple(i)) for k, v, i in fields), None


def unreadable_form_line(line: str) -> UsageError:
    return UsageError(
        tr("I cannot read the form line {line}; write {syntax}.", line=quote(line), syntax=code("key: value"))
    )


def is_form_start(params: Sequence[Parameter], line: str) -> bool:
    """Whether a line under a bare command line starts a form (rather than continuing a text argument)."""
    match = FORM_KEY.match(line)
    if not match:
        return False
    positionals = [p for p in params if p.kind in POSITIONAL_KINDS]
    rest_first = bool(positionals) and positionals[0].kind is Kind.REST
    known = {k for p in params for k in p.form_keys}
    return form_key(match.group(1)) in known or not rest_first


async def _form_value(param: Parameter, field: FormField, ctx: Context) -> object:
    value = field.value
    if param.kind is Kind.FLAG:
        return YesNo().convert(value, ctx) if value else True
    if param.kind is Kind.REST:
        text = "\n".join([value, *(f"- {item}" for item in field.items)]).strip()
        if not text:
            return _default(param)
        return Word().parse_text(text, ctx)
    if param.kind is Kind.LIST:
        raw = [item for item in (value, *field.items) if item]  # an empty `- ` line is no item
        if not raw:
            return _default(param)
        return [await parse_text(param.reader, item, ctx) for item in raw]
    if field.items:
        raise UsageError(_("The key {key} takes one value, not a list.", key=quote(field.key)))
    if not value:
        return _default(param)
    return await parse_text(param.reader, value, ctx)


def _default(param: Parameter) -> object:
    if param.required:
        raise param.missing()
    return copy(param.default)


async def bind_form(params: Sequence[Parameter], fields: Sequence[FormField], ctx: Context) -> dict[str, Any]:
    by_key = {key: p for p in params for key in p.form_keys}
    values: dict[str, Any] = {}
    for field in fields:
        param = by_key.get(form_key(field.key))
        if param is None:
            keys = [p.label for p in params]
            if keys:
                message = _(
                    "The form has no key {key}; use {keys}.", key=quote(field.key), keys=or_list(keys)
                )
            else:
                message = _("The form has no key {key}.", key=quote(field.key))
            raise UsageError(message)
        if param.name in values:
            raise UsageError(_("The key {key} is given twice.", key=quote(field.key)))
        values[param.name] = await _form_value(param, field, ctx)
    return _fill_defaults(params, values)
