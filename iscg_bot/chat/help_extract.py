"""The help's messages: how a command's docstring is cut into the lines `!help` shows, and the Babel extractor
that puts exactly those lines in the catalog, so a docstring is translated like any other message.

    summary_of(doc)       # the first paragraph on one line: `!help`'s listings, `Command.summary`
    help_lines(doc)       # every line `!help <command>` shows: paragraphs joined, examples on their own

babel.cfg maps the project's Python files to `extract` (below): the ordinary `_()`, `tr()`… calls, as
Babel's Python extractor finds them, plus the docstring lines of every handler declared with
`@<router>.command(...)`. Help translates each line with `_()` where it shows it; an `Example:` line is
command syntax and stays as written (only the word "Example" is translated).
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel.messages.extract import _PyOptions

EXAMPLE = "Example:"


def summary_of(doc: str) -> str:
    """The docstring's first paragraph on one line: a whole sentence, however it was wrapped."""
    return " ".join(line.strip() for line in doc.split("\n\n", 1)[0].splitlines() if line.strip())


def help_lines(doc: str) -> list[str]:
    """A docstring's lines as chat lines: wrapped lines of a paragraph joined; blank lines, examples and
    `- items` kept on lines of their own."""
    result: list[str] = []
    joinable = False
    for raw in doc.split("\n"):
        line = raw.strip()
        own_line = not line or line.startswith((EXAMPLE, "- ", "• "))
        if joinable and not own_line:
            result[-1] += " " + line
        else:
            result.append(line)
        joinable = bool(line) and not line.startswith(EXAMPLE)
    return result


def messages_of(doc: str) -> list[str]:
    """What of a docstring is translated: its summary and its lines, examples and blank lines aside."""
    found = [summary_of(doc), *(line for line in help_lines(doc) if line and not line.startswith(EXAMPLE))]
    return list(dict.fromkeys(message for message in found if message))


def _declares_command(function: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    """Decorated with `@<something>.command(...)` (a module's `router.command`)."""
    for decorator in function.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(call, ast.Attribute) and call.attr == "command":
            return True
    return False


def command_docstrings(source: str) -> Iterator[tuple[int, str]]:
    """(line, docstring) of each command handler declared in a module's source."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and _declares_command(node):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.body[0].lineno, doc


def extract(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: _PyOptions
) -> Iterator[tuple[Any, ...]]:
    """Babel extraction method (`[iscg_bot.chat.help_extract:extract: **.py]`): Babel's Python messages,
    then each command's help lines, marked as `_()` calls with the handler's line."""
    from babel.messages.extract import extract_python  # only when extracting

    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    for line, doc in command_docstrings(source):
        for message in messages_of(doc):
            yield line, "_", message, ["help: a command's description (its docstring)"]
