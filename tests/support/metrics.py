"""Reading /metrics in tests: the exposition parsed as Prometheus would, and a chat counting into it."""

from __future__ import annotations

import itertools

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from iscg_bot.core.metrics import Metrics
from tests.chat import Chat


def parsed(exposition: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, parsed as Prometheus would: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def samples(metrics: Metrics) -> dict[tuple[str, frozenset], float]:
    """Every sample of `metrics`' exposition (see `parsed`)."""
    body, _ = metrics.exposition()
    return parsed(body.decode("utf-8"))


async def scraped(base_url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a running process's /metrics page, as Prometheus scrapes it."""
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as response:
        assert response.status == 200
        return parsed(await response.text())


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, frozenset(labels.items())), 0.0)


def counting(chat: Chat) -> Metrics:
    """Count the chat's commands into a new Metrics whose timer moves 0.25 s per reading."""
    ticks = itertools.count()
    chat.dispatcher.metrics = metrics = Metrics(timer=lambda: next(ticks) * 0.25)
    return metrics
