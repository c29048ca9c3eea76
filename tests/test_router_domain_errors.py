"""One domain refusal, answered once by the router (issue 13).

A domain function says no with a `DomainError` subclass whose message is the one sentence the user sees.
`Router.execute` answers it exactly as a `Refusal`: the reply is the message (no usage line), the command's
writes are undone and it is counted refused. So commands do not translate it, and this file checks they
don't: no `except <DomainError subclass>` in commands/ except the few that add something (listed below).
"""

from __future__ import annotations

import ast
from pathlib import Path

from iscg_bot.chat.router import Context
from iscg_bot.commands import build_router
from iscg_bot.core.errors import DomainError
from iscg_bot.domain.actions import ActionError
from iscg_bot.domain.meetings import MeetingError
from iscg_bot.domain.minutes import MinutesError
from iscg_bot.domain.organisation import OrganisationError
from iscg_bot.domain.recurrence import RecurrenceError
from iscg_bot.domain.reports import ReportError
from iscg_bot.domain.timeparse import TimeParseError
from tests.chat import Chat
from tests.support.metrics import counting, value
from tests.support.story_router import Chat as StoryChat
from tests.support.story_router import build_story_router

COMMANDS = Path(build_router.__code__.co_filename).parent

# (module, enclosing function) → why it catches a domain error rather than letting the router answer.
ALLOWED_CATCHES = {
    ("actions.py", "OwnerType.convert"): "an argument type: a badly typed owner gets the usage line",
    ("actions.py", "ActionType.parse"): "an argument type: a badly typed action ID gets the usage line",
    ("meetings.py", "MeetingType.parse"): "an argument type: a badly typed meeting ID gets the usage line",
    ("meetings.py", "RepeatType.parse_text"): "an argument type: a bad repetition gets the usage line",
    ("meetings.py", "meeting_schedule"): "what was typed cannot be scheduled: the reply adds the usage line",
    ("meetings.py", "_announced_meeting"): "not a refusal: a reaction to another message is simply ignored",
    ("roles.py", "_appointment"): "a role or qualifier typed wrong: the reply adds the usage line",
    ("subjects.py", "subject_create"): "a slug or title typed wrong: the reply adds the usage line",
    ("subjects.py", "subject_set"): "a value typed wrong: the reply adds the usage line",
}


def test_every_domain_refusal_is_a_domain_error():
    for error in (
        ActionError,
        MeetingError,
        MinutesError,
        OrganisationError,
        RecurrenceError,
        ReportError,
        TimeParseError,
    ):
        assert issubclass(error, DomainError), error


async def test_a_domain_error_is_answered_with_its_message_and_no_usage():
    router = build_story_router()

    @router.command("refuse", hidden=True)
    async def refuse(ctx: Context) -> None:
        """Refuse.

        Example: !refuse
        """
        raise MeetingError("M7 was cancelled.")

    chat = StoryChat(router)
    [invocation] = router.parse("!refuse")
    assert await router.execute(chat.context(), invocation) is False  # refused: the caller rolls back
    assert await chat("!refuse") == "M7 was cancelled."


async def test_a_domain_error_raised_midway_is_rolled_back_and_counted_refused(tmp_path):
    router = build_router()

    @router.command("half domain", hidden=True)
    async def half(ctx: Context) -> None:
        """Set a zone, then meet a rule that refuses.

        Example: !half domain
        """
        await ctx.uow.people.set_timezone(ctx.sender, "Asia/Tokyo", ctx.now)
        raise OrganisationError("The end of the Chair's term must be in the future.")

    chat = await Chat.open(tmp_path, router=router)
    try:
        metrics = counting(chat)
        assert await chat.say("!half domain") == ["The end of the Chair's term must be in the future."]
        [shown] = await chat.say("!tz")
        assert "not set a time zone" in shown  # the handler's write was undone
        assert value(metrics, "iscg_commands_total", command="half domain", outcome="refused") == 1
        assert value(metrics, "iscg_commands_total", command="half domain", outcome="ok") == 0
    finally:
        await chat.close()


def _domain_error_names() -> set[str]:
    # `commands` is imported, so every domain module is.
    names, pending = set(), [DomainError]
    while pending:
        error = pending.pop()
        names.add(error.__name__)
        pending += error.__subclasses__()
    return names


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = set()
    for node in types:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


def _domain_catches() -> set[tuple[str, str]]:
    """(module, enclosing function's dotted name) of every `except <DomainError subclass>` in commands/."""
    domain = _domain_error_names()
    found = set()

    def visit(node: ast.AST, module: str, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, module, [*scope, child.name])
                continue
            if isinstance(child, ast.ExceptHandler) and child.type and _caught_names(child) & domain:
                found.add((module, ".".join(scope) or "<module>"))
            visit(child, module, scope)

    for path in sorted(COMMANDS.glob("*.py")):
        visit(ast.parse(path.read_text(encoding="utf-8")), path.name, [])
    return found


def test_commands_leave_domain_errors_to_the_router():
    """A command that only re-raises a domain error's message as a Refusal or UsageError repeats the router's
    work; catch one only where it adds something, and say what in ALLOWED_CATCHES."""
    assert {"MeetingError", "MinutesError", "TimeParseError"} <= _domain_error_names()
    caught = _domain_catches()
    assert caught - ALLOWED_CATCHES.keys() == set(), "let the router answer these (see iscg_bot/errors.py)"
    assert ALLOWED_CATCHES.keys() - caught == set(), "no longer caught: drop them from ALLOWED_CATCHES"
