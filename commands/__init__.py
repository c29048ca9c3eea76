"""The bot's commands, one module per area of the product.

Each module declares its commands on a module-level `router = Router()`; `build_router` loads the built-in
modules, then any extra ones, through `Router.load` — the same way a third-party module of commands is added.
"""

from __future__ import annotations

from collections.abc import Iterable

from iscg_bot.router import Router

BUILTIN_MODULES: tuple[str, ...] = (
    "commands.general",
    "commands.subjects",
    "commands.roles",
    "commands.rooms",
    "commands.meetings",
    "commands.suggest",
    "commands.calendar",
    "commands.minutes",
    "commands.actions",
    "commands.reports",
)


def build_router(prefix: str = "!", max_length: int = 8000, extra_modules: Iterable[str] = ()) -> Router:
    """The application's router: every built-in command module, then `extra_modules` (importable names)."""
    router = Router(prefix=prefix, max_length=max_length)
    for module in (*BUILTIN_MODULES, *extra_modules):
        router.load(module)
    return router
