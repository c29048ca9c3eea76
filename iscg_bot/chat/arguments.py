"""How the words a user types become a command handler's typed arguments.

A handler's signature is the whole declaration; this module reads it (`read_parameters`) and has the types
that convert words to values; `iscg_bot.chat.binding` puts the words of a line or a form in their places:

    async def schedule(ctx, title: str, when: When, duration: Annotated[Duration, Keyword("for")] = HOUR,
                       force: Flag = False, agenda: list[str] | None = None) -> None

- `str` one word (or one "quoted text"), `int`, `bool` (yes/no), `Literal["a", "b"]` (a choice, any case);
  `X | None = None` or any default makes a parameter optional.
- `Rest` the rest of the text as typed (spacing and newlines kept); `list[X]` every remaining word as an X.
- `Annotated[X, Keyword("for")]` an optional `for <value>` clause, `Flag` a bare word (the parameter's name).
  Clauses and flags may appear anywhere among the positional words; they end a multi-word value.
- Any object with `name` and `parse(words, ctx) -> (value, consumed)` is an argument type (`ArgumentType`);
  put it in `Annotated[T, the_type]` (how `UserId` below is made) or use it as the annotation.
- Time has its own types in `iscg_bot.chat.time_arguments` (`TimeZone`, `WhenArg`, `DurationArg`, `DateArg`),
  which build on this module; the `Context` the types are given is `iscg_bot.chat.context`'s.

Nothing a user types may make this module raise anything but `UsageError`.
"""

from __future__ import annotations

import enum
import inspect
import itertools
import re
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, TypeGuard, runtime_checkable

from iscg_bot.core.formatting import Rich, or_list, quote
from iscg_bot.core.i18n import _, lazy

if TYPE_CHECKING:
    from iscg_bot.chat.context import Context


class Refusal(Exception):
    """The command will not do what was asked: `message` (a string or `Rich`) says why, and what instead.

    The one way a command says no — missing permission, a conflict, anything the domain refuses — so the
    reply, the rollback of what it wrote and the `refused` count on /metrics all follow from raising it:
    `raise Refusal(lines([...]))`.
    """

    def __init__(self, message: Rich | str) -> None:
        super().__init__(str(getattr(message, "plain", message)))
        self.message = message


class UsageError(Refusal):
    """What the user typed cannot be used. The message is one sentence; the router adds the command's usage.

    Handlers raise it too, at any point: `raise UsageError("M99 does not exist.")`; the caller undoes what
    the command wrote before it.
    `show_usage=False` leaves the usage line out where it would not help. The sentence may be rich text
    (`tr(...)`), so words to type as they are can be shown as code.
    """

    def __init__(self, sentence: Rich | str, *, show_usage: bool = True) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.show_usage = show_usage


# ---- tokens ----------------------------------------------------------------------------------------------

# Element and phone keyboards turn " into typographic quotes; accept them all.
OPENING_QUOTES = '"“„«'
CLOSING_QUOTES = '"”“»'


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # without the quotes
    start: int  # offsets of the token (quotes included) in the text it was read from
    end: int
    quoted: bool = False
    unterminated: bool = False  # an opening quote never closed: the token runs to the end of the text


def tokenize(text: str) -> list[Token]:
    """Whitespace-separated words; a quote at the start of a word runs to the next closing quote."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text[i] in OPENING_QUOTES:
            j = i + 1
            while j < n and text[j] not in CLOSING_QUOTES:
                j += 1
            if j == n:
                tokens.append(Token(text[i + 1 :], i, n, quoted=True, unterminated=True))
                break
            tokens.append(Token(text[i + 1 : j], i, j + 1, quoted=True))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            tokens.append(Token(text[i:j], i, j))
            i = j
    return tokens


def unterminated_error(token: Token) -> UsageError:
    return UsageError(_("The quote opened before {text} is never closed.", text=quote(token.text, 20)))


# ---- argument types --------------------------------------------------------------------------------------


@runtime_checkable
class ArgumentType(Protocol):
    """Reads a value from the first words of what is left.

    `name` says what the value is in a sentence ("a time zone"). `parse` gets at least one word and returns
    the value and how many words it used (1 or more); it may be async (e.g. to look something up through
    `ctx.uow`). It raises `UsageError` with one sentence when the words are not a value.

    `name` is English, marked with `lazy()`; it is shown translated (`type_name`).
    Optional: `usage` (str) is shown in the usage line instead of `<name>`, as is: words typed as they are
    stand bare, what stands for a value in brackets (`yes|no` for choices, `<date>|none`);
    `parse_text(text, ctx)` converts a whole form value (default: the words of the value, all of them used).
    """

    name: str

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[Any, int] | Awaitable[tuple[Any, int]]: ...


def type_name(argument_type: object) -> str:
    """What a value of this type is, in the language being written: the type's `shown_name()` if it has one
    (a name built from parts), else its `name` translated."""
    shown = getattr(argument_type, "shown_name", None)
    if callable(shown):
        return str(shown())
    return _(str(getattr(argument_type, "name", "")))


def is_argument_type(obj: object) -> TypeGuard[ArgumentType]:
    return isinstance(getattr(obj, "name", None), str) and callable(getattr(obj, "parse", None))


class WordType:
    """Base for types read from exactly one word: implement `convert(word, ctx)`."""

    name = lazy("a word")

    def convert(self, word: str, ctx: Context) -> object:
        return word

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[Any, int]:
        return self.convert(words[0], ctx), 1

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class AsyncWordType:
    """Base for types read from exactly one word through an await (e.g. a look-up in `ctx.uow`): implement
    `async convert(word, ctx)`, or an async `parse`. The router awaits what `parse` returns."""

    name = lazy("a word")

    async def convert(self, word: str, ctx: Context) -> object:
        return word

    async def parse(self, words: Sequence[str], ctx: Context) -> tuple[Any, int]:
        return await self.convert(words[0], ctx), 1

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class Word(WordType):
    """`str`: one word, or one "quoted text"; a form value is taken whole."""

    name = lazy('a word or "quoted text"')

    def parse_text(self, text: str, ctx: Context) -> str:
        tokens = tokenize(text)
        if len(tokens) == 1 and tokens[0].quoted and not tokens[0].unterminated:
            return tokens[0].text
        return text.strip()


class Integer(WordType):
    name = lazy("a whole number")
    _digits = re.compile(r"[+-]?[0-9]{1,15}")

    def convert(self, word: str, ctx: Context) -> int:
        if not self._digits.fullmatch(word):
            raise UsageError(_("{word} is not a whole number.", word=quote(word)))
        return int(word)


class YesNo(WordType):
    name = lazy("yes or no")
    usage = "yes|no"
    _values: typing.ClassVar[dict[str, bool]] = {
        **dict.fromkeys(("yes", "y", "true", "on"), True),
        **dict.fromkeys(("no", "n", "false", "off"), False),
    }

    def convert(self, word: str, ctx: Context) -> bool:
        try:
            return self._values[word.lower()]
        except KeyError:
            raise UsageError(_("{word} is not yes or no.", word=quote(word))) from None


class Choice(WordType):
    """`Literal["past", "all"]`: one of fixed words, case-insensitive; the declared spelling is returned."""

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)
        # One choice is a keyword (`add`); several, a choice of words (`yes|no|maybe`): both typed as shown.
        self.name = (
            f"the word {self.choices[0]}" if len(self.choices) == 1 else f"one of {or_list(self.choices)}"
        )
        self.usage = "|".join(self.choices)
        self._by_lower = {c.lower(): c for c in self.choices}

    def shown_name(self) -> str:
        """`name` in the language being written."""
        if len(self.choices) == 1:
            return _("the word {word}", word=self.choices[0])
        return _("one of {choices}", choices=or_list(self.choices))

    def convert(self, word: str, ctx: Context) -> str:
        try:
            return self._by_lower[word.lower()]
        except KeyError:
            if len(self.choices) == 1:
                message = _("{typed} is not the word {word}.", typed=quote(word), word=self.choices[0])
            else:
                message = _(
                    "{typed} is not one of {choices}.", typed=quote(word), choices=or_list(self.choices)
                )
            raise UsageError(message) from None

    def __repr__(self) -> str:
        return f"Choice({self.choices!r})"


MATRIX_TO = "https://matrix.to/#/"
_USER_ID = re.compile(
    r"@[\x21-\x39\x3b-\x7e]+"  # localpart: printable ASCII except ":" (historical IDs included)
    r":(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.\-]+)(?::[0-9]{1,5})?"  # server name: host or [IPv6], port
)


class UserIdType(WordType):
    """A Matrix user ID, `@local:server`; a matrix.to link to a user is accepted too."""

    name = lazy("a Matrix user ID like @alice:example.org")

    def convert(self, word: str, ctx: Context) -> str:
        user_id = word.removeprefix(MATRIX_TO)
        if len(user_id) > 255 or not _USER_ID.fullmatch(user_id):
            raise UsageError(
                _(
                    "{word} is not a Matrix user ID like {example}.",
                    word=quote(word),
                    example="@alice:example.org",
                )
            )
        return user_id


# ---- markers used in annotations -------------------------------------------------------------------------


class _Marker:
    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


REST_MARKER = _Marker("REST")
FLAG_MARKER = _Marker("FLAG")


@dataclass(frozen=True)
class Keyword:
    """`Annotated[Duration, Keyword("for")] = HOUR`: an optional `for <duration>` clause."""

    words: tuple[str, ...]

    def __init__(self, *words: str) -> None:
        if not words or any(not re.fullmatch(r"[a-z][a-z0-9-]*", w) for w in words):
            raise TypeError(f"Keyword needs lower-case words, got {words!r}")
        object.__setattr__(self, "words", tuple(words))


Rest = Annotated[str, REST_MARKER]
"""The rest of the text as typed (newlines kept); one "quoted text" alone is unquoted."""
Flag = Annotated[bool, FLAG_MARKER]
"""A bare word, the parameter's name (`force: Flag = False` → `force`), that sets True."""
UserId = Annotated[str, UserIdType()]


# ---- parameters: read from a handler's signature ---------------------------------------------------------


class Kind(enum.Enum):
    POSITIONAL = "positional"  # one value of its type, in order
    LIST = "list"  # every remaining word, each a value of its type (last positional)
    REST = "rest"  # the remaining text, raw (last positional)
    KEYWORD = "keyword"  # `for <value>` anywhere
    FLAG = "flag"  # a bare word anywhere


POSITIONAL_KINDS = (Kind.POSITIONAL, Kind.LIST, Kind.REST)


@dataclass(frozen=True)
class Parameter:
    name: str  # the handler's parameter name
    kind: Kind
    type: ArgumentType | None  # for LIST: of one item; None for REST and FLAG
    required: bool
    default: object = None
    keywords: tuple[str, ...] = ()  # KEYWORD: the words that open the clause

    @property
    def reader(self) -> ArgumentType:
        """The type that reads the value: every kind but REST and FLAG has one."""
        assert self.type is not None, f"{self.name} ({self.kind.value}) reads no value"
        return self.type

    @property
    def label(self) -> str:
        """The name users see: `subject_slug` → `subject-slug`."""
        return self.name.strip("_").replace("_", "-")

    @property
    def placeholder(self) -> str:
        """What the usage line shows for the value: `<label>`, or the type's own `usage`, where words to type
        as they are stand bare and only what stands for something is in brackets (`yes|no`, `<date>|none`)."""
        shown = getattr(self.type, "usage", None) if self.kind in (Kind.POSITIONAL, Kind.KEYWORD) else None
        if self.kind is Kind.FLAG:
            return self.label
        if self.kind in (Kind.LIST, Kind.REST):
            return f"<{self.label}…>"
        return shown or f"<{self.label}>"

    @property
    def stop_words(self) -> tuple[str, ...]:
        if self.kind is Kind.FLAG:
            return (self.label,)
        return self.keywords

    @property
    def form_keys(self) -> tuple[str, ...]:
        return (form_key(self.name), *(form_key(w) for w in self.stop_words))

    def usage(self) -> str:
        if self.kind is Kind.FLAG:
            return f"[{self.label}]"
        if self.kind is Kind.KEYWORD:
            clause = f"{'|'.join(self.keywords)} {self.placeholder}"
            return clause if self.required else f"[{clause}]"
        if self.required:
            return self.placeholder
        shown = self.placeholder
        if re.fullmatch(r"<[^<>]*>", shown):
            shown = shown[1:-1]  # `[zone]`, not `[<zone>]`
        return f"[{shown}]"

    def missing(self) -> UsageError:
        name = getattr(self.type, "name", None)
        if self.kind is Kind.POSITIONAL and getattr(self.type, "usage", None) and name:
            return UsageError(
                _("Missing {what}.", what=type_name(self.type))
            )  # `Missing one of yes, no or maybe.`
        what = None if getattr(self.type, "usage", None) else name
        shown = self.usage() if self.kind is Kind.KEYWORD else self.placeholder
        if (
            what
        ):  # `Missing <title> (a word or "quoted text").`: the usage's own words, then what they stand for
            return UsageError(_("Missing {usage} ({what}).", usage=shown, what=type_name(self.type)))
        return UsageError(_("Missing {usage}.", usage=shown))


def form_key(key: str) -> str:
    """`Due-Date`, `due date` and `due_date` are the same form key."""
    return re.sub(r"[\s_\-]+", "_", key.strip().lower()).strip("_")


def read_parameters(handler: Callable[..., object]) -> tuple[Parameter, ...]:
    """The parameters after the Context, read from the handler's annotations; TypeError if one is bad."""
    try:
        hints = typing.get_type_hints(handler, include_extras=True)
    except Exception as error:
        raise TypeError(f"cannot read the annotations of {handler.__qualname__}: {error}") from error
    signature = inspect.signature(handler)
    params = list(signature.parameters.values())
    if not params:
        raise TypeError(f"{handler.__qualname__} must take the Context as its first parameter")
    result = []
    for p in params[1:]:
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise TypeError(f"{handler.__qualname__}: parameter {p.name} cannot be filled from a command")
        if p.name not in hints:
            raise TypeError(f"{handler.__qualname__}: parameter {p.name} needs a type annotation")
        result.append(_read_parameter(p.name, hints[p.name], p.default))
    _check_order(handler.__qualname__, result)
    return tuple(result)


def _strip(hint: object) -> tuple[object, bool, list[object]]:
    """Unwrap `X | None` and `Annotated[...]`, collecting the metadata, outermost last."""
    optional = False
    metadata: list[object] = []
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            args = typing.get_args(hint)
            hint, metadata = args[0], [*args[1:], *metadata]
        elif origin in (typing.Union, _UnionType):
            members = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(members) != 1:
                raise TypeError(f"cannot read a value of type {hint!r}")
            hint, optional = members[0], True
        else:
            return hint, optional, metadata


_UnionType = type(int | None)


def _type_for(hint: object) -> ArgumentType:
    hint, _optional, metadata = _strip(hint)
    declared = [m for m in metadata if is_argument_type(m)]
    if declared:
        return declared[-1]
    if hint is str:
        return Word()
    if hint is int:
        return Integer()
    if hint is bool:
        return YesNo()
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if not all(isinstance(c, str) for c in choices):
            raise TypeError(f"Literal choices must be strings: {hint!r}")
        return Choice(choices)
    if is_argument_type(hint):
        return hint
    raise TypeError(f"no argument type for {hint!r}: use an ArgumentType in Annotated[...]")


def _read_parameter(name: str, hint: object, default: object) -> Parameter:
    has_default = default is not inspect.Parameter.empty
    base, optional, metadata = _strip(hint)
    required = not (has_default or optional)
    value = default if has_default else None
    keywords = [m for m in metadata if isinstance(m, Keyword)]
    if REST_MARKER in metadata:
        return Parameter(name, Kind.REST, None, required, value)
    if FLAG_MARKER in metadata:
        return Parameter(name, Kind.FLAG, None, False, value if has_default else False)
    if keywords:
        return Parameter(name, Kind.KEYWORD, _type_for(hint), required, value, keywords[-1].words)
    if typing.get_origin(base) is list and not any(is_argument_type(m) for m in metadata):
        (item,) = typing.get_args(base) or (str,)
        return Parameter(name, Kind.LIST, _type_for(item), required, value)
    return Parameter(name, Kind.POSITIONAL, _type_for(hint), required, value)


def _check_order(where: str, params: list[Parameter]) -> None:
    positionals = [p for p in params if p.kind in POSITIONAL_KINDS]
    for before, after in itertools.pairwise(positionals):
        if before.kind in (Kind.LIST, Kind.REST):
            raise TypeError(f"{where}: {before.name} takes the rest: it must be the last positional")
        if not before.required and after.required:
            raise TypeError(f"{where}: required {after.name} cannot follow optional {before.name}")
    seen: dict[str, str] = {}
    for p in params:
        for word in (*p.stop_words, *p.form_keys):
            if seen.setdefault(word, p.name) != p.name:
                raise TypeError(f"{where}: {word!r} is used by both {seen[word]} and {p.name}")


def usage_of(params: Sequence[Parameter]) -> str:
    return " ".join(p.usage() for p in params)
