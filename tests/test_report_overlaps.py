"""The report's duplication search by distinct word sets gives what comparing every pair of texts gives:
the same closest pairs, in the same order, with the same shared words, and the same count."""

from __future__ import annotations

import random

from iscg_bot.domain.report_overlaps import closest_overlaps
from iscg_bot.domain.similarity import Text, best_overlaps, pairs_brute_force

TOPICS = (
    "child online protection guidelines",
    "artificial intelligence standards",
    "accessibility of digital services",
    "digital skills for youth",
    "cybersecurity capacity building",
)


def _repetitive(count: int, seed: int) -> list[Text]:
    """A report's texts as minutes write them: the same few sentences again and again, with numbers (not
    words) apart, a few words swapped or in another form ("workshops", "workshop")."""
    rng = random.Random(seed)
    texts = []
    for n in range(count):
        subject = f"s{rng.randint(1, 6)}"
        topic = rng.choice(TOPICS)
        text = rng.choice(
            (
                f"Adopt the {topic} plan, step {n}",
                f"{topic.capitalize()} call {n}",
                f"Workshops on {topic}",
                f"Workshop on {topic} {n}",
                f"Funding for {topic} in 2027",
                f"{rng.choice(TOPICS)} and {topic}",
                "Point",
            )
        )
        texts.append(Text(subject, (subject, rng.choice(("meeting", "decision")), n), text))
    return texts


def test_the_closest_pairs_and_the_count_are_those_of_every_pair_compared():
    for seed in range(6):
        texts = _repetitive(300, seed)
        every = pairs_brute_force(texts)
        assert len(every) > 1000  # the sample does repeat itself
        for most in (0, 1, 7, 100, len(every) + 5):
            assert closest_overlaps(texts, most) == (every[:most], len(every))


def test_texts_of_one_subject_never_match_and_unlike_texts_neither():
    alone = [Text("s1", ("s1", n), "Adopt the online safety plan") for n in range(5)]
    assert closest_overlaps(alone, 10) == ([], 0)
    unlike = [Text("s1", ("s1", 1), "Adopt the online safety plan"), Text("s2", ("s2", 1), "Budget review")]
    assert closest_overlaps(unlike, 10) == ([], 0)


def test_the_same_answer_as_the_pair_search_on_varied_texts():
    rng = random.Random(3)
    words = "safety online child workshop guideline budget spectrum radio health exposure data ethics".split()
    texts = [
        Text(f"s{n % 9}", (f"s{n % 9}", n), " ".join(rng.sample(words, rng.randint(1, 5))))
        for n in range(400)
    ]
    assert closest_overlaps(texts, 40) == best_overlaps(texts, 40)
