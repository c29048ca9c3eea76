"""Possible duplication of activities: texts of different subjects that look like the same topic.

The measure is meant to be explained in one sentence to a secretariat reading the report:

    Two texts are similar when they share at least MIN_SHARED content words and those shared words make at
    least THRESHOLD (half) of all the content words the two use together (Jaccard index).

Content words: the text lower-cased and cut into words (letters, digits inside a word allowed; bare numbers
dropped), English stop words and the words every meeting title uses ("meeting", "call", "coordination"…)
removed, each word reduced by a light stemmer (`stem`: plural and a few common suffixes cut, so "workshops"
and "workshop", "planned" and "planning" count as one). The shared words are shown as the first text wrote
them: they are the explanation.

Only texts of different subjects are compared. `find_overlaps` is exact (every pair at or above the
threshold is found, as `pairs_brute_force` would) but does not compare every pair: a prefix filter (the
standard "all pairs" similarity join) only looks at pairs sharing one of their rarest words, which any pair
above the threshold must, and a pair is compared as two bit masks. Real texts (a large vocabulary) take
milliseconds per thousand; the worst case is many short texts drawn from a few dozen words, where most pairs
are candidates (they match by the hundred thousand: only the best pairs asked for are built, see
`best_overlaps`; `bench/report_compile.py` measures it inside a whole report).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import ceil

THRESHOLD = Fraction(1, 2)  # Jaccard index of the two sets of content words, at least
MIN_SHARED = 2  # content words in common, at least: one shared word is a coincidence, not a topic
_NUMERATOR, _DENOMINATOR = THRESHOLD.numerator, THRESHOLD.denominator  # compared in integers: exact, fast

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    per via within without upon among across new next last shall may might must
    """.split()
)
# Words every meeting of every subject uses: sharing them says nothing about the topic.
DOMAIN_STOP_WORDS = frozenset(
    "meeting meetings call calls coordination coordinate session sessions iscg itu agenda item items "
    "discussion discuss update updates follow up aob".split()
)

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# (suffix, replacement), tried in order, first match wins; a stem keeps at least MIN_STEM characters.
_PLURALS = (("sses", "ss"), ("ies", "y"), ("s", ""))
_SUFFIXES = (
    ("ational", "ate"),
    ("ations", ""),
    ("ation", ""),
    ("ions", ""),
    ("ion", ""),
    ("ments", ""),
    ("ment", ""),
    ("ings", ""),
    ("ing", ""),
    ("ness", ""),
    ("ated", ""),
    ("ate", ""),
    ("ed", ""),
    ("ly", ""),
    ("er", ""),
    ("e", ""),
)
MIN_STEM = 3


def stem(word: str) -> str:
    """A light stemmer: the plural, then one common suffix, cut while at least MIN_STEM letters remain
    ("workshops" → "workshop", "planning" → "plann", "planned" → "plann", "protection" → "protect")."""
    if not word.endswith(("ss", "us", "is")):
        for suffix, replacement in _PLURALS:
            if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= MIN_STEM:
                word = word[: len(word) - len(suffix)] + replacement
                break
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= MIN_STEM:
            return word[: len(word) - len(suffix)] + replacement
    return word


def content_words(text: str) -> dict[str, str]:
    """The text's content words: stem → the word as first written (lower-cased)."""
    found: dict[str, str] = {}
    for match in _WORD.finditer(text.lower()):
        word = match.group().replace("’", "'")
        if word.isdigit() or word in STOP_WORDS or word in DOMAIN_STOP_WORDS or len(word) < 2:
            continue
        found.setdefault(stem(word), word)
    return found


def jaccard(first: frozenset[str] | set[str], second: frozenset[str] | set[str]) -> float:
    union = len(first | second)
    return len(first & second) / union if union else 0.0


@dataclass(frozen=True)
class Text:
    """One text to compare: `group` is what must differ for a pair to count (the subject), `key` anything
    that orders and names it (the caller's source)."""

    group: str
    key: tuple
    text: str


@dataclass(frozen=True)
class Match:
    first: Text
    second: Text
    score: float
    shared: tuple[str, ...]  # the shared content words, as the first text wrote them, alphabetical


def similar(first: str, second: str) -> tuple[float, tuple[str, ...]] | None:
    """The score and shared words if the two texts count as similar, else None."""
    a, b = content_words(first), content_words(second)
    shared = a.keys() & b.keys()
    union = len(a.keys() | b.keys())
    if len(shared) < MIN_SHARED or len(shared) * _DENOMINATOR < _NUMERATOR * union:
        return None
    return len(shared) / union, tuple(sorted(a[s] for s in shared))


def find_overlaps(texts: Iterable[Text]) -> list[Match]:
    """Every pair of texts of different groups that counts as similar, by score (highest first), then by
    the keys of the two texts; in each pair `first` has the smaller key."""
    return best_overlaps(texts, most=None)[0]


def best_overlaps(texts: Iterable[Text], most: int | None) -> tuple[list[Match], int]:
    """The `most` first pairs `find_overlaps` would give (all of them when None), and how many it would
    give. Only the kept pairs are built: synthetic or very repetitive texts match by the hundred thousand."""
    items = sorted(texts, key=lambda t: t.key)
    words = [content_words(t.text) for t in items]
    sets = [frozenset(w) for w in words]
    frequency: dict[str, int] = {}
    for found in sets:
        for word in found:
            frequency[word] = frequency.get(word, 0) + 1
    # Each word one bit: an intersection's size is then one AND and a bit count, the inner loop's cost.
    bit = {word: 1 << n for n, word in enumerate(sorted(frequency, key=lambda w: (frequency[w], w)))}
    masks = [sum(bit[w] for w in found) for found in sets]
    sizes = [len(found) for found in sets]
    groups = [t.group for t in items]
    index: dict[str, list[int]] = {}
    # Items are in key order, so a pair's order is (−score, j, i). `kept` is a heap whose top is the worst
    # pair kept: lowest score, then the latest j, then the latest i.
    kept: list[tuple[float, int, int]] = []
    total = 0
    for i, found in enumerate(sets):
        size = sizes[i]
        if size < MIN_SHARED:
            continue
        # Rarest words first: a pair with Jaccard ≥ t shares a word among the first |A| − ⌈t·|A|⌉ + 1 of each.
        prefix = sorted(found, key=lambda w: (frequency[w], w))[: size - ceil(THRESHOLD * size) + 1]
        candidates: set[int] = set()
        for word in prefix:
            candidates.update(index.get(word, ()))
            index.setdefault(word, []).append(i)
        mask, group = masks[i], groups[i]
        for j in candidates:
            if groups[j] == group:
                continue
            shared = (mask & masks[j]).bit_count()
            union = size + sizes[j] - shared
            if shared >= MIN_SHARED and shared * _DENOMINATOR >= _NUMERATOR * union:
                total += 1
                entry = (shared / union, -j, -i)
                if most is None or len(kept) < most:
                    heapq.heappush(kept, entry)
                elif most and entry > kept[0]:
                    heapq.heapreplace(kept, entry)
    matches = []
    for score, minus_j, minus_i in sorted(kept, reverse=True):
        j, i = -minus_j, -minus_i
        common = tuple(sorted(words[j][w] for w in sets[j] & sets[i]))
        matches.append(Match(items[j], items[i], score, common))
    return matches, total


def _verify(
    first: Text, second: Text, first_words: dict[str, str], a: frozenset[str], b: frozenset[str]
) -> Match | None:
    # |A ∩ B| ≤ min(|A|, |B|) and |A ∪ B| ≥ max(|A|, |B|): sizes too far apart can't reach the threshold.
    small, large = sorted((len(a), len(b)))
    if small < MIN_SHARED or small * _DENOMINATOR < _NUMERATOR * large:
        return None
    shared = a & b
    union = len(a) + len(b) - len(shared)
    if len(shared) < MIN_SHARED or len(shared) * _DENOMINATOR < _NUMERATOR * union:
        return None
    return Match(first, second, len(shared) / union, tuple(sorted(first_words[s] for s in shared)))


def pairs_brute_force(texts: Sequence[Text]) -> list[Match]:
    """The same as `find_overlaps`, comparing every pair: the reference the tests check it against."""
    items = sorted(texts, key=lambda t: t.key)
    words = [content_words(t.text) for t in items]
    sets = [frozenset(w) for w in words]
    matches = [
        match
        for i in range(len(items))
        for j in range(i + 1, len(items))
        if items[i].group != items[j].group
        and (match := _verify(items[i], items[j], words[i], sets[i], sets[j])) is not None
    ]
    matches.sort(key=lambda m: (-m.score, m.first.key, m.second.key))
    return matches
