"""Nothing a user types makes the router raise: it answers, or stays out of the way.

Random text, random text after a real command name, and random forms go through parse + execute of a
router holding every kind of argument (the story bot of tests/support/story_router.py, with the built-in
general commands).
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iscg_bot.chat.arguments import tokenize
from tests.support.story_router import ADMIN_ID, ALICE, CHAIR, Chat, build_story_router

ROUTER = build_story_router()
NAMES = sorted({name for command in ROUTER.commands for name in (command.name, *command.aliases)})
KEYS = sorted({p.label for command in ROUTER.commands for p in command.parameters})

# Pieces that reach the corners of the grammar: quotes of every kind, clause and flag words, form syntax,
# user IDs, zones, numbers, newlines and control characters.
# fmt: off
PIECES = [
    '"', "“", "”", "„", "«", "»", "'", "for", "FOR", "link", "force", "now", "yes", "Maybe", "- ", ": ", ":",
    "\n", "\r\n", "\t", "\x00", "\x1c", "\u2028", "\u200b", "!", "!!", "> ", "90m", "2026-12-03", "14:00",
    "Europe/Zurich", "CST", "@bob:example.org", "@", "https://matrix.to/#/", "M1", "-1", "99999999999999999",
    " ", "  ",
]
# fmt: on
tricky_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=30).map("".join)
any_key = st.sampled_from(KEYS) | st.text(max_size=8)
senders = st.sampled_from([ALICE, CHAIR, ADMIN_ID])
quick = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def answer(body: str, sender: str) -> list[str]:
    """Parse and execute; a command always gets at least one reply (nothing leaves the user in silence)."""
    chat = Chat(ROUTER, sender=sender)
    replies = []
    for invocation in ROUTER.parse(body):
        ctx = chat.context()
        await ROUTER.execute(ctx, invocation)
        assert ctx.replies or ctx.reactions, (body, invocation)
        replies += [reply.plain for reply in ctx.replies]
    return replies


@quick
@given(body=st.text(max_size=400), sender=senders)
async def test_any_text(body: str, sender: str) -> None:
    await answer(body, sender)


@quick
@given(body=tricky_text, sender=senders)
async def test_any_text_made_of_tricky_pieces(body: str, sender: str) -> None:
    await answer("!" + body, sender)


@quick
@given(
    name=st.sampled_from(NAMES),
    shout=st.booleans(),
    separator=st.sampled_from([" ", "\n", "  ", ""]),
    rest=st.text(max_size=200) | tricky_text,
    sender=senders,
)
async def test_a_real_command_followed_by_anything(
    name: str, shout: bool, separator: str, rest: str, sender: str
) -> None:
    await answer(f"!{name.upper() if shout else name}{separator}{rest}", sender)


@st.composite
def forms(draw: st.DrawFn) -> str:
    """A real command as a form, mostly with its own keys, values and `- item` lines of anything."""
    command = draw(st.sampled_from(ROUTER.commands))
    own_keys = [p.label for p in command.parameters] or ["none"]
    lines = [f"!{command.name}"]
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(own_keys) | any_key)
        lines.append(f"{key}:{draw(st.sampled_from([' ', '', '  ']))}{draw(tricky_text)}")
        lines += [f"- {item}" for item in draw(st.lists(tricky_text, max_size=3))]
    return "\n".join(lines)


@quick
@given(body=forms(), sender=senders)
async def test_a_real_command_as_any_form(body: str, sender: str) -> None:
    await answer(body, sender)


@quick
@given(text=st.text(max_size=300) | tricky_text)
def test_tokens_point_back_at_what_was_typed(text: str) -> None:
    for token in tokenize(text):
        typed = text[token.start : token.end]
        if not token.quoted:
            assert typed == token.text and token.text and not any(c.isspace() for c in token.text)
        elif token.unterminated:
            assert typed[1:] == token.text and token.end == len(text)
        else:
            assert typed[1:-1] == token.text


async def test_huge_messages_are_answered_quickly() -> None:
    started = time.perf_counter()
    for body in (
        "!say " + "x" * 1_000_000,  # refused by size
        "!echo " + '"' * 7990,  # many tiny quoted words
        "!present " + "@bob:example.org " * 460,
        "!meeting schedule\n" + "agenda:\n" + "- item\n" * 1000,
        "!echo\n" * 1300,
        "x" * 1_000_000,  # not a command at all
    ):
        await answer(body, ALICE)
    assert time.perf_counter() - started < 2
