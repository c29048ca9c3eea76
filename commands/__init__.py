"""The bot's commands, one module per area of the product.

Each module declares its commands on a module-level `router = Router()`; `build_router` loads the built-in
modules, then any extra ones, through `Router.load` — the same way a third-party module of commands is added.
"""

from __future__ import annotations

from collections.abc import Iterable

from iscg_bot.chat.router import Router

BUILTIN_MODULES: tuple[str, ...] = (
    "iscg_bot.commands.general",
    "iscg_bot.commands.subjects",
    "iscg_bot.commands.roles",
    "iscg_bot.commands.rooms",
    "iscg_bot.commands.meetings",
    "iscg_bot.commands.suggest",
    "iscg_bot.commands.calendar",
    "iscg_bot.commands.minutes",
    "iscg_bot.commands.actions",
    "iscg_bot.commands.reports",
)


def build_router(prefix: str = "!", max_length: int = 8000, extra_modules: Iterable[str] = ()) -> Router:
    """The application's router: every built-in command module, then `extra_modules` (importable names)."""
    router = Router(prefix=prefix, max_length=max_length)
    for module in (*BUILTIN_MODULES, *extra_modules):
        router.load(module)
    return router
