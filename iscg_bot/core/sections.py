"""Typed, frozen configuration sections: fields declared by annotations and `setting(...)`, validated on
construction with the coercions a TOML file and `ISCG_*` strings need, every problem collected with its key.

The configuration used pydantic for this. For the dozen types it declares, this base keeps its rules and
messages ("Input should be greater than 0", "Input should be 'text' or 'json'") and the calls the code
and the tests make (`model_validate`, `model_dump`, `model_copy`, `model_fields`) — without pydantic-core's
library and schema builder, which held ~8 MB of the bot's memory for nothing else (issue 14).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, dataclass_transform

Loc = tuple[str | int, ...]
_REQUIRED: Any = object()  # a field's default when it has none
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


class SecretStr:
    """A secret that reads as asterisks wherever it is printed; its value only from `get_secret_value()`."""

    __slots__ = ("_secret",)

    def __init__(self, value: str) -> None:
        self._secret = value

    def get_secret_value(self) -> str:
        return self._secret

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._secret == self._secret

    def __hash__(self) -> int:
        return hash(self._secret)

    def __str__(self) -> str:
        return "**********" if self._secret else ""

    def __repr__(self) -> str:
        return f"SecretStr('{self}')"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong: where (section, key, list index), what kind ("missing", "extra_forbidden", …), why."""

    loc: Loc
    type: str
    msg: str


class ValidationError(ValueError):
    """Every problem found in one validation, in the order of the fields."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(f"{'.'.join(map(str, p.loc)) or 'config'}: {p.msg}" for p in problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """A field as declared: its type, its default (or factory), its bounds and its own check."""

    annotation: object = None
    default: object = _REQUIRED
    default_factory: Callable[[], Any] | None = None
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    check: Callable[[Any], Any] | None = None  # raises ValueError(why); returns the value as kept
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED and self.default_factory is None

    def make_default(self) -> object:
        return self.default_factory() if self.default_factory is not None else self.default


def setting(
    default: object = _REQUIRED,
    *,
    default_factory: Callable[[], Any] | None = None,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    check: Callable[[Any], Any] | None = None,
    description: str | None = None,
) -> Any:  # noqa: ANN401 — as pydantic's Field: the declared type is what an instance holds
    return FieldInfo(None, default, default_factory, gt, ge, le, check, description)


class _Invalid(Exception):
    def __init__(self, kind: str, msg: str) -> None:
        self.kind, self.msg = kind, msg


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(setting,))
class Section:
    """A configuration section: construct it with keywords, or `model_validate` a mapping."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        for name, annotation in typing.get_type_hints(cls).items():
            if typing.get_origin(annotation) is ClassVar:
                continue
            if name not in cls.__dict__ and name in cls.model_fields:  # inherited, as declared there
                fields[name] = cls.model_fields[name]
                continue
            declared = cls.__dict__.get(name, _REQUIRED)
            if isinstance(declared, FieldInfo):
                fields[name] = dataclasses.replace(declared, annotation=annotation)
            else:  # a plain default: `level: str = "INFO"`
                fields[name] = FieldInfo(annotation, declared)
            if name in cls.__dict__:
                delattr(cls, name)  # the instance holds the value; no class attribute to shadow
        cls.model_fields = fields

    def __init__(self, **values: object) -> None:
        problems: list[Problem] = []
        self._fill(values, (), problems)
        if problems:
            raise ValidationError(problems)

    @classmethod
    def model_validate(cls, data: Mapping[str, object] | Section) -> Self:
        """The section from a mapping (a TOML table, say), validated; a section of this class as it is."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise ValidationError([Problem((), "model_type", _not_a_mapping(cls))])
        return cls(**data)

    def model_dump(self) -> dict[str, Any]:
        """The values as plain data (nested sections as dicts); secrets stay wrapped."""
        return {name: _dump(getattr(self, name)) for name in self.model_fields}

    def model_copy(self, *, update: Mapping[str, object] | None = None) -> Self:
        """A copy with some values replaced, not validated again (as in tests that set what a file cannot)."""
        copy = object.__new__(type(self))
        for name in self.model_fields:
            object.__setattr__(copy, name, getattr(self, name))
        for name, value in (update or {}).items():
            object.__setattr__(copy, name, value)
        return copy

    def check(self) -> None:
        """Checks across fields, run when every field is valid; raise ValueError(why)."""

    # ---- validation ------------------------------------------------------------------------------------

    def _fill(self, values: Mapping[str, object], loc: Loc, problems: list[Problem]) -> None:
        before = len(problems)
        for name, field in self.model_fields.items():
            if name not in values:
                if field.required:
                    problems.append(Problem((*loc, name), "missing", "Field required"))
                else:
                    object.__setattr__(self, name, field.make_default())  # defaults are not validated
                continue
            try:
                value = _coerce(field.annotation, values[name], (*loc, name), problems)
                value = _bounded(field, value)
                if field.check is not None:
                    value = field.check(value)
            except _Invalid as invalid:
                problems.append(Problem((*loc, name), invalid.kind, invalid.msg))
            except _Nested:
                pass  # its problems are listed already
            except ValueError as error:
                problems.append(Problem((*loc, name), "value_error", str(error)))
            else:
                object.__setattr__(self, name, value)
        for name in values:
            if name not in self.model_fields:
                problems.append(Problem((*loc, name), "extra_forbidden", "Extra inputs are not permitted"))
        if len(problems) == before:
            try:
                self.check()
            except ValueError as error:
                problems.append(Problem(loc, "value_error", str(error)))

    # ---- the rest of a value's life --------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}: the settings are frozen")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Section) or type(other) is not type(self):
            return False
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, name) for name in self.model_fields)))

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.model_fields)
        return f"{type(self).__name__}({values})"


class _Nested(Exception):
    """A nested section's or a list item's problems, already recorded with their own keys."""


def _dump(value: object) -> object:
    if isinstance(value, Section):
        return value.model_dump()
    return list(value) if isinstance(value, list) else value


def _not_a_mapping(cls: type) -> str:
    return f"Input should be a valid dictionary or instance of {cls.__name__}"


def _bounded(field: FieldInfo, value: object) -> object:
    if not isinstance(value, int | float):
        return value
    if field.gt is not None and not value > field.gt:
        raise _Invalid("greater_than", f"Input should be greater than {field.gt}")
    if field.ge is not None and not value >= field.ge:
        raise _Invalid("greater_than_equal", f"Input should be greater than or equal to {field.ge}")
    if field.le is not None and not value <= field.le:
        raise _Invalid("less_than_equal", f"Input should be less than or equal to {field.le}")
    return value


def _coerce(annotation: object, value: object, loc: Loc, problems: list[Problem]) -> object:
    """`value` as `annotation`, with pydantic's lax rules for the types the configuration declares."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is types.UnionType or origin is typing.Union:  # `X | None`, the only unions declared
        if value is None:
            return None
        (kind,) = [arg for arg in args if arg is not type(None)]
        return _coerce(kind, value, loc, problems)
    if origin is Literal:
        if value in args:
            return value
        choices = [repr(arg) for arg in args]
        listed = " or ".join([", ".join(choices[:-1]), choices[-1]] if len(choices) > 1 else choices)
        raise _Invalid("literal_error", f"Input should be {listed}")
    if origin is list:
        return _list(args[0], value, loc, problems)
    if isinstance(annotation, type) and issubclass(annotation, Section):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, Mapping):
            raise _Invalid("model_type", _not_a_mapping(annotation))
        section = object.__new__(annotation)
        before = len(problems)
        section._fill(value, loc, problems)
        if len(problems) > before:
            raise _Nested
        return section
    return _SCALARS[annotation](value)


def _list(item: object, value: object, loc: Loc, problems: list[Problem]) -> list[object]:
    if not isinstance(value, list | tuple):
        raise _Invalid("list_type", "Input should be a valid list")
    items, bad = [], False
    for index, each in enumerate(value):
        try:
            items.append(_coerce(item, each, (*loc, index), problems))
        except _Invalid as invalid:
            problems.append(Problem((*loc, index), invalid.kind, invalid.msg))
            bad = True
        except _Nested:
            bad = True
    if bad:
        raise _Nested
    return items


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid("string_type", "Input should be a valid string")


def _secret(value: object) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(_str(value))


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, str):
        raise _Invalid("bool_parsing", "Input should be a valid boolean, unable to interpret input")
    raise _Invalid("bool_type", "Input should be a valid boolean")


def _int(value: object) -> int:
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        fraction = "Input should be a valid integer, got a number with a fractional part"
        raise _Invalid("int_from_float", fraction)
    if isinstance(value, str):
        digits = value.strip()
        whole = digits.split(".")[0] if digits.partition(".")[2].strip("0") == "" else digits  # "500.0"
        try:
            return int(whole)
        except ValueError:
            raise _Invalid(
                "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
            ) from None
    raise _Invalid("int_type", "Input should be a valid integer")


def _float(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _Invalid(
                "float_parsing", "Input should be a valid number, unable to parse string as a number"
            ) from None
    raise _Invalid("float_type", "Input should be a valid number")


def _path(value: object) -> Path:
    if isinstance(value, str | Path):
        return Path(value)
    raise _Invalid("path_type", "Input is not a valid path for <class 'pathlib.Path'>")


_SCALARS: dict[object, Callable[[object], object]] = {
    str: _str,
    SecretStr: _secret,
    bool: _bool,
    int: _int,
    float: _float,
    Path: _path,
}
