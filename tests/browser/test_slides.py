"""The instructors' decks (``make slides``) in Chromium, served from 127.0.0.1.

Every deck must start reveal.js, have more than three slides, carry its speaker notes,
typeset its maths and draw its saved widgets - all without one request leaving
127.0.0.1: the decks must work in a classroom without internet.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from .paths import VIEWPORT, build_slides_module, chapter, chapter_notebooks, screenshot_path

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

build_slides = build_slides_module()

MAX_SLIDE_SHOTS = 40
# Show a slide and wait until MathJax has re-typeset it (the template re-renders the maths
# of each slide it changes to).
_GO_TO_SLIDE_JS = """
async ([h, v, settle]) => {
  Reveal.slide(h, v);
  await new Promise(resolve => setTimeout(resolve, settle));
  if (window.MathJax && MathJax.Hub) await new Promise(resolve => MathJax.Hub.Queue(resolve));
}
"""  # screenshots of every slide of one deck, for a human to look at


def _showcase() -> Path | None:
    """The deck photographed slide by slide: chapter 4 (maths and widgets) if written."""
    notebooks = chapter_notebooks()
    return chapter(4) or (notebooks[0] if notebooks else None)


class RequestLog:
    """Every request a page makes, the ones that failed, and JavaScript errors."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        self.failed: list[str] = []
        self.js_errors: list[str] = []
        page.on(
            "console",
            lambda message: message.type == "error" and self.js_errors.append(message.text),
        )
        page.on("pageerror", lambda error: self.js_errors.append(str(error)))
        page.on("request", lambda request: self.urls.append(request.url))
        page.on(
            "requestfailed",
            lambda request: self.failed.append(f"{request.url} ({request.failure})"),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.failed.append(f"{response.url} (HTTP {response.status})")
            ),
        )

    def outside(self, origin: str) -> list[str]:
        return [
            url
            for url in self.urls
            if not url.startswith(f"{origin}/") and not url.startswith(("data:", "blob:"))
        ]


def _notes_in_deck(notebook: Path) -> int:
    """How many cells of the notebook become speaker notes in its deck."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.metadata.get("slideshow", {}).get("slide_type") == "notes"
        and build_slides.HIDE_CELL_TAG not in cell.metadata.get("tags", [])
    )


def test_index_lists_every_deck(browser, slides_server) -> None:
    notebooks = slides_server.notebooks
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        log = RequestLog(page)
        page.goto(f"{slides_server.url}/index.html")
        links = page.locator("ol.decks a")
        shown = {
            links.nth(i).get_attribute("href"): links.nth(i).inner_text()
            for i in range(links.count())
        }
        page.screenshot(path=screenshot_path("slides-index"))
        expected = {
            f"{nb.stem}.slides.html": build_slides.chapter_title(
                nbformat.read(nb, as_version=4), nb.stem
            )
            for nb in notebooks
        }
        assert shown == expected
        assert not log.outside(slides_server.url), log.outside(slides_server.url)
    finally:
        context.close()


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_deck_works_offline(browser, slides_server, notebook: Path) -> None:
    deck = f"{notebook.stem}.slides.html"
    showcase = notebook == _showcase()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        log = RequestLog(page)
        page.goto(f"{slides_server.url}/{deck}")
        page.wait_for_function("() => window.Reveal && window.Reveal.isReady()", timeout=30_000)
        page.evaluate("() => Reveal.configure({transition: 'none'})")
        total = page.evaluate("() => Reveal.getTotalSlides()")
        assert total > 3, f"{deck}: only {total} slides"
        assert page.evaluate("() => Reveal.hasPlugin('notes')"), f"{deck}: no speaker notes plugin"
        notes = page.locator("aside.notes").count()
        assert notes == _notes_in_deck(notebook), f"{deck}: {notes} speaker notes in the page"

        html = (slides_server.folder / deck).read_text(encoding="utf-8")
        # MathJax typesets every formula of the deck (from the local copy).
        if "math/tex" in html:
            page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
            typeset = page.evaluate(
                """() => [document.querySelectorAll('script[type^="math/tex"]').length,
                          document.querySelectorAll('.MathJax_CHTML').length]"""
            )
            assert typeset[0] == typeset[1], (
                f"{deck}: {typeset[1]} of {typeset[0]} formulas typeset"
            )
        if 'type="application/vnd.jupyter.widget-view+json"' in html:
            # The HTML manager replaces each saved widget view with the widget itself.
            page.wait_for_function(
                "() => document.querySelector('.jupyter-widgets .lm-Widget, "
                ".jupyter-widgets.widget-container, .jupyter-widgets .widget-image') !== null",
                timeout=30_000,
            )

        # No widget shows as its text fallback ("VBox(children=(...") or a loader error.
        text = page.evaluate("() => document.body.textContent")
        fallback = re.findall(
            r"\b\w*Box\(children=|Error displaying widget|Click to show javascript error", text
        )
        assert not fallback, f"{deck}: widget shown as text or error: {fallback}"

        # Visit every slide so that anything loaded lazily is requested too.
        indices = page.evaluate("() => Reveal.getSlides().map(s => Reveal.getIndices(s))")
        for number, index in enumerate(indices):
            shoot = number == 0 or (showcase and number < MAX_SLIDE_SHOTS)
            page.evaluate(_GO_TO_SLIDE_JS, [index["h"], index.get("v") or 0, 400 if shoot else 30])
            if shoot:
                page.screenshot(path=screenshot_path(f"slide-{notebook.stem}-{number:02d}"))
        page.wait_for_load_state("networkidle")
        assert not log.outside(slides_server.url), (
            f"{deck}: requests outside 127.0.0.1: {log.outside(slides_server.url)}"
        )
        assert not log.failed, f"{deck}: failed requests: {log.failed}"
        assert not log.js_errors, f"{deck}: JavaScript errors: {log.js_errors}"
    finally:
        context.close()
