"""The one kind of error the domain raises to refuse a request: `DomainError`.

A domain module (meetings, organisation, minutes, actions, reports, recurrence, timeparse) says no by raising
its own subclass, whose message is the one sentence the user sees. It imports nothing of the chat layer: the
router catches every `DomainError` in `Router.execute` and answers it as it answers a `Refusal` (the reply,
the rollback of the command's writes, the `refused` count), so a command does not translate it.
A command still catches one where it adds something the domain cannot know, such as the command's usage line
for a badly typed argument (`raise UsageError(str(error))`).
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; `str(error)` is the one-sentence refusal shown to the user."""
