"""A real browser for the web pages' tests: Playwright driving Debian's Chromium (never a downloaded one), the
module-scoped `browser` fixture, opening a page, the low-contrast check, screenshots in test-artifacts/
(ISCG_TEST_ARTIFACTS). Importing this module skips the importing test module when Playwright or Chromium is
missing, saying which."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ISCG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("ISCG_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
async_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed (pip: playwright)"
)
if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package (make test does where it can)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with async_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            await launched.close()


async def visit(tab: Any, url: str) -> None:
    response = await tab.goto(url)
    assert response.status == 200, url
    await tab.wait_for_load_state("load")


# Text whose colour against its background is below WCAG AA (4.5:1); the background is the first opaque
# one found going up the tree.
LOW_CONTRAST = """
(() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.checkVisibility()) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return low;
})()
"""


async def assert_accessible(tab: Any, path: str) -> None:
    """The page's accessibility checks: the four landmarks, one h1 and no heading level skipped, no text
    below WCAG AA contrast, every image with its alternative text."""
    for role in ("banner", "navigation", "main", "contentinfo"):
        assert await tab.get_by_role(role).count() >= 1, (path, role)
    levels = await tab.evaluate("[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1, path
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), (path, levels)
    assert await tab.evaluate(LOW_CONTRAST) == [], path
    assert await tab.locator("img:not([alt])").count() == 0, path


async def save(tab: Any, name: str) -> None:
    os.makedirs(ARTIFACTS, exist_ok=True)
    await tab.screenshot(path=str(ARTIFACTS / name), full_page=True)
