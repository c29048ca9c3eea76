"""The closest possible duplications of a report (`similarity.best_overlaps`, the same answer), found by
comparing each distinct set of content words once rather than each text.

    matches, found = closest_overlaps(texts, most=100)   # == similarity.best_overlaps(texts, 100)

A report's texts repeat themselves: a series' titles, a subject's decisions in the same words ("Adopt the
plan, step 4"). Texts with the same content words match the same texts with the same score, so the pairs
of distinct word sets are found once (`similarity.find_overlaps` on one text of each), the pairs of texts
counted from them (only texts of different subjects count), and only the `most` closest pairs of texts
built, in `best_overlaps`' order: by score, highest first, then by the keys of the two texts. A year of
repetitive minutes matches by the million: comparing them text by text took seconds.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Iterable, Iterator

from iscg_bot.domain.similarity import MIN_SHARED, Match, Text, content_words, find_overlaps

__all__ = ["closest_overlaps"]


def closest_overlaps(texts: Iterable[Text], most: int) -> tuple[list[Match], int]:
    """The `most` closest pairs of texts of different groups that count as similar, and how many there
    are: what `similarity.best_overlaps(texts, most)` gives."""
    items = sorted(texts, key=lambda t: t.key)
    read: dict[str, dict[str, str]] = {}  # a report's texts repeat word for word: each is read once
    words = [
        read[t.text] if t.text in read else read.setdefault(t.text, content_words(t.text)) for t in items
    ]
    sets = [frozenset(w) for w in words]
    kinds: dict[frozenset[str], int] = {}  # each distinct set of content words, numbered
    kind = [kinds.setdefault(found, len(kinds)) for found in sets]
    kind_sets = list(kinds)
    members: list[list[int]] = [[] for _ in kinds]  # the texts of each kind, in key order
    for n, k in enumerate(kind):
        members[k].append(n)
    per_group = [Counter(items[n].group for n in found) for found in members]

    # Which kinds match, and how closely: one text of each, compared as if each kind were its own group.
    first_of = {k: items[found[0]] for k, found in enumerate(members)}
    stand_ins = [Text(str(k), (k,), text.text) for k, text in first_of.items()]
    scores: dict[tuple[int, int], float] = {}
    for match in find_overlaps(stand_ins):
        a, b = match.first.key[0], match.second.key[0]
        scores[(a, b)] = scores[(b, a)] = match.score  # shared / union: the same for any text of each kind
    for k, found in enumerate(kind_sets):
        if len(found) >= MIN_SHARED:  # the texts of a kind match each other fully, across groups
            scores[(k, k)] = 1.0

    total = 0
    for a, b in scores:
        if a < b:
            total += len(members[a]) * len(members[b]) - sum(
                count * per_group[b][group] for group, count in per_group[a].items()
            )
        elif a == b:
            same = sum(count * count for count in per_group[a].values())
            total += (len(members[a]) ** 2 - same) // 2

    pairs: list[tuple[int, int, float]] = []
    for score in sorted(set(scores.values()), reverse=True):
        if len(pairs) >= most:
            break
        partners: dict[int, list[int]] = {}
        for (a, b), s in scores.items():
            if s == score:
                partners.setdefault(a, []).append(b)
        for j in heapq.merge(*(members[a] for a in partners)):
            if len(pairs) >= most:
                break
            for i in _after(j, [members[b] for b in partners[kind[j]]]):
                if items[i].group != items[j].group:
                    pairs.append((j, i, score))
                    if len(pairs) >= most:
                        break
    matches = []
    for j, i, score in pairs:
        common = tuple(sorted(words[j][w] for w in sets[j] & sets[i]))
        matches.append(Match(items[j], items[i], score, common))
    return matches, total


def _after(j: int, lists: list[list[int]]) -> Iterator[int]:
    """The indices greater than `j` in the sorted `lists` (which share none), in increasing order."""
    starts = [bisect.bisect_right(found, j) for found in lists]
    heads = [
        (found[s], n, s) for n, (found, s) in enumerate(zip(lists, starts, strict=True)) if s < len(found)
    ]
    if len(heads) == 1:  # the usual case: one kind matches at this score
        _, n, s = heads[0]
        yield from (lists[n][x] for x in range(s, len(lists[n])))
        return
    heapq.heapify(heads)
    while heads:
        value, n, s = heads[0]
        yield value
        if s + 1 < len(lists[n]):
            heapq.heapreplace(heads, (lists[n][s + 1], n, s + 1))
        else:
            heapq.heappop(heads)
