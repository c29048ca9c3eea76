"""The duplication measure: content words, the light stemmer, the threshold, and the fast pair search
agreeing with comparing every pair."""

from __future__ import annotations

import random

from iscg_bot.domain.similarity import (
    MIN_SHARED,
    THRESHOLD,
    Text,
    best_overlaps,
    content_words,
    find_overlaps,
    pairs_brute_force,
    similar,
    stem,
)


def test_the_threshold_is_half_the_words_and_two_shared():
    assert (THRESHOLD, MIN_SHARED) == (0.5, 2)


def test_content_words_drop_stop_words_numbers_and_meeting_words():
    assert content_words("The Coordination call on the 2027 Workshops for Children, online!") == {
        "workshop": "workshops",
        "children": "children",
        "onlin": "online",
    }


def test_the_stemmer_folds_plurals_and_common_suffixes():
    assert stem("workshops") == stem("workshop") == "workshop"
    assert stem("planning") == stem("planned")
    assert stem("issues") == stem("issue")
    assert stem("guidelines") == stem("guideline")
    assert stem("protection") == "protect"
    assert stem("is") == "is" and stem("bus") == "bus"  # too short, or not a plural


def test_similar_texts_share_most_of_their_words_and_say_which():
    found = similar(
        "Hold a joint workshop on child online safety in March",
        "Joint workshop on child online safety, with ITU-D, in May",
    )
    assert found is not None
    score, shared = found
    assert shared == ("child", "joint", "online", "safety", "workshop")
    assert score == 5 / 8  # {hold, march} and {itu-d} are not shared ("may" is a stop word)


def test_one_shared_word_or_less_than_half_is_not_enough():
    assert similar("Spectrum workshop", "Spectrum") is None  # one word in common
    assert (
        similar("Spectrum sharing study for satellites", "Spectrum sharing with terrestrial fibre networks")
        is None
    )


def test_only_different_groups_are_paired_in_a_deterministic_order():
    texts = [
        Text("cop", ("cop", 1), "Publish the child online safety guidelines"),
        Text("cop", ("cop", 2), "Publish child online safety guidelines update"),
        Text("ai", ("ai", 1), "Child online safety guidelines published"),
        Text("emf", ("emf", 1), "Measure exposure near base stations"),
    ]
    matches = find_overlaps(texts)
    assert [(m.first.key, m.second.key) for m in matches] == [
        (("ai", 1), ("cop", 1)),
        (("ai", 1), ("cop", 2)),
    ]
    assert matches[0].shared == ("child", "guidelines", "online", "published", "safety")
    assert matches == find_overlaps(list(reversed(texts)))


VOCABULARY = (
    "spectrum satellite child online safety workshop guideline emergency telecommunication accessibility "
    "cybersecurity climate smart city gender youth rural broadband standard training capacity building "
    "study group report survey indicator regional forum radio interference health exposure ai ethics data"
).split()


def _synthetic(count: int, seed: int = 7) -> list[Text]:
    rng = random.Random(seed)
    return [
        Text(f"s{i % 50}", (f"s{i % 50}", i), " ".join(rng.sample(VOCABULARY, rng.randint(2, 8))))
        for i in range(count)
    ]


def test_the_fast_search_finds_exactly_what_comparing_every_pair_finds():
    texts = _synthetic(600)
    fast = find_overlaps(texts)
    assert fast == pairs_brute_force(texts)
    assert len(fast) > 100  # the sample does hold overlaps


def test_the_best_pairs_kept_are_the_first_of_all_pairs_and_all_are_counted():
    texts = _synthetic(600)
    every = find_overlaps(texts)
    best, found = best_overlaps(texts, most=25)
    assert found == len(every) > 25
    assert best == every[:25]
