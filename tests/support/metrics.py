"""Reading /metrics in tests: the exposition parsed as Prometheus would, and a chat counting into it."""

from __future__ import annotations

import itertools

from prometheus_client.parser import text_string_to_metric_families

from iscg_bot.core.metrics import Metrics
from tests.chat import Chat


def samples(metrics: Metrics) -> dict[tuple[str, frozenset], float]:
    """Every sample of the exposition, parsed as Prometheus would: (name, labels) → value."""
    body, _ = metrics.exposition()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, frozenset(labels.items())), 0.0)


def counting(chat: Chat) -> Metrics:
    """Count the chat's commands into a new Metrics whose timer moves 0.25 s per reading."""
    ticks = itertools.count()
    chat.dispatcher.metrics = metrics = Metrics(timer=lambda: next(ticks) * 0.25)
    return metrics
