"""Live slides (``make present CHAPTER=04``): chapter 4 as a reveal.js deck in Voilà, in
Chromium, with working widgets and nothing fetched from outside 127.0.0.1.

The test starts Voilà the way ``scripts/present.py`` does (the same prepared copy and
command, on a free port), opens the deck, goes to the slide with the convolution
stepper, moves its slider with the arrow key and checks that the slide stayed, the
picture changed, the static twins are hidden, speaker notes are in the page, and every
request went to 127.0.0.1. Voilà runs the whole chapter before it shows the deck
(~10 s, several times that on a busy two-core machine).
"""

from __future__ import annotations

import importlib.util
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import BLAS_ENV, COURSE_ENV, free_port, start_server, stop_server, wait_until_ready
from .lab_ui import wait_image_change, wait_stable_image
from .paths import REPO, VIEWPORT, chapter, screenshot_path

pytestmark = pytest.mark.browser
pytest.importorskip("voila", reason="Voilà is missing (requirements.txt): no live slides")

READY_TIMEOUT_S = 420


def _present_module():
    spec = importlib.util.spec_from_file_location("present", REPO / "scripts" / "present.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def live_deck(tmp_path_factory: pytest.TempPathFactory, chromium_executable: Path) -> Iterator[str]:
    """Chapter 4 served as live slides by Voilà on 127.0.0.1; yields the URL."""
    notebook = chapter(4)
    if notebook is None:
        pytest.fail("chapter 4 (notebooks/04_*.ipynb) is missing")
    present = _present_module()
    node_modules = present.build_slides.NODE_MODULES
    import shutil

    if shutil.which("npm") is None and not node_modules.is_dir():
        pytest.skip(
            "npm is not installed, so the local reveal.js / MathJax copies cannot "
            "be installed (apt-get install npm)"
        )
    work = tmp_path_factory.mktemp("present")
    deck, jupyter_path, counts = present.prepare(notebook, work)
    assert counts["live_widgets"] >= 1 and counts["twins_hidden"] >= 1, counts
    port = free_port()
    env = present.environment(jupyter_path)
    env.update(COURSE_ENV)
    env.update(BLAS_ENV)
    for name in ("config", "runtime", "data"):
        (work / name).mkdir()
    env.update(
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        JUPYTER_DATA_DIR=str(work / "data"),
    )
    log = work / "voila.log"
    process = start_server(present.voila_command(deck, port), log, env=env, cwd=deck.parent)
    try:
        probe = present.probe_url(port)
        wait_until_ready(
            "Voilà", process, log, lambda: urllib.request.urlopen(probe, timeout=5), poll=0.5
        )
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_server(process)


def test_live_slides_widget_works_offline(browser, live_deck: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    outside: list[str] = []
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    page.on("websocket", lambda ws: None if ws.url.startswith(local) else outside.append(ws.url))
    try:
        page.goto(live_deck, timeout=READY_TIMEOUT_S * 1000)
        page.wait_for_selector(".reveal.ready", timeout=READY_TIMEOUT_S * 1000)
        stepper = page.locator(".educnn-conv-stepper")
        stepper.first.wait_for(state="attached", timeout=READY_TIMEOUT_S * 1000)
        page.screenshot(path=screenshot_path("live-slides-title"))
        # static twins hidden, live widgets not; speaker notes in the page for the S view
        hidden = page.locator(".celltag_educnn-live-hide")
        assert hidden.count() >= 1
        assert all(not hidden.nth(i).is_visible() for i in range(hidden.count()))
        assert page.locator("aside.notes").count() >= 1, "no speaker notes in the deck"
        typeset = page.locator(".MathJax_CHTML, .MathJax, mjx-container")
        assert typeset.count() > 0, "no formula was typeset (local MathJax not loaded?)"

        # go to the stepper's slide with the keyboard, as a presenter does
        on_slide = (
            "el => { const s = el.closest('section');"
            " return !!s && s.classList.contains('present'); }"
        )
        for _ in range(120):
            if stepper.first.evaluate(on_slide):
                break
            page.keyboard.press("Space")
            page.wait_for_timeout(200)
        assert stepper.first.evaluate(on_slide), (
            "never reached the slide with the convolution stepper"
        )
        hash_before = page.evaluate("location.hash")
        figure = stepper.first.locator(".educnn-conv-figure")
        handle = stepper.first.locator(".widget-slider .noUi-handle").first
        readout = stepper.first.locator(".widget-slider .widget-readout").first
        page.wait_for_timeout(500)
        before = wait_stable_image(figure.first)
        position_before = readout.inner_text().strip()
        page.screenshot(path=screenshot_path("live-slides-stepper-before"))

        handle.focus()
        handle.press("ArrowRight")
        handle.press("ArrowRight")
        after = wait_image_change(figure.first, before, timeout_s=60)
        page.screenshot(path=screenshot_path("live-slides-stepper-after"))
        assert readout.inner_text().strip() != position_before, "the slider did not move"
        assert after != before, "the stepper's picture did not change when the slider moved"
        assert page.evaluate("location.hash") == hash_before, (
            "the arrow keys on the slider also changed the slide"
        )
        assert stepper.first.evaluate(on_slide), "the stepper's slide is no longer shown"
        assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
    finally:
        context.close()


def test_make_present_is_documented() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "present:" in makefile and "scripts/present.py" in makefile
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make present CHAPTER=04" in readme
    assert os.path.exists(REPO / "slides" / "templates" / "edu-cnn-live" / "index.html.j2")
