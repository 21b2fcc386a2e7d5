"""The course as a student meets it: every chapter in a real JupyterLab in Chromium.

Each chapter notebook is opened (a copy, in a temporary folder), run with Run ▸ Run All
Cells, and must finish with no error in any cell. Then the widgets are used with the
mouse and keyboard: chapter 4's kernel explorer and convolution stepper, chapter 7's
draw-a-digit canvas. The chapters give their widgets CSS classes for this (see
docs/SLIDES.md, "DOM hooks"); a hook that is missing makes its test fail and say which.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from .lab_ui import (
    MAX_STRETCH,
    MAX_WIDGET_HEIGHT,
    WATCH_PROMPTS_JS,
    CellReport,
    WidgetReport,
    cell_reports,
    code_cells_to_run,
    expected_failures,
    measure_widgets,
    open_notebook,
    prompts_seen,
    run_all_from_menu,
    wait_image_change,
    wait_kernel_idle,
    wait_stable_image,
    wait_text_change,
    wait_until_run_finished,
)
from .paths import NOTEBOOKS, VIEWPORT, chapter, chapter_notebooks, screenshot_path

pytestmark = pytest.mark.browser
PlaywrightTimeout = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing (requirements-test.txt)"
).TimeoutError

RUN_TIMEOUT_S = 420  # per notebook: < 60 s each in a fresh kernel, but CI machines get busy
WIDGET_CHAPTERS = (4, 7)  # their pages stay open for the widget tests


@dataclass
class ChapterRun:
    notebook: Path
    page: object
    seconds: float
    cells: list[CellReport]
    widgets: list[WidgetReport]
    prompts: list[str]  # toasts and dialogs seen from opening the notebook to the end of Run All


@pytest.fixture(scope="module")
def run_chapter(browser, lab) -> Iterator[Callable[[Path], ChapterRun]]:
    """Open a chapter in JupyterLab and Run All once; later calls reuse the open page."""
    runs: dict[Path, ChapterRun] = {}
    contexts = []

    def run(notebook: Path) -> ChapterRun:
        if notebook in runs:
            return runs[notebook]
        relative = f"notebooks/{notebook.name}"
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(WATCH_PROMPTS_JS)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        open_notebook(page, lab, relative)
        start = time.perf_counter()
        run_all_from_menu(page)
        try:
            wait_until_run_finished(page, code_cells_to_run(notebook), RUN_TIMEOUT_S)
        except Exception:
            page.screenshot(path=screenshot_path(f"lab-{notebook.stem}-timeout"))
            raise
        seconds = time.perf_counter() - start
        page.screenshot(path=screenshot_path(f"lab-{notebook.stem}"))
        cells = cell_reports(page)
        wait_kernel_idle(page)
        widgets = measure_widgets(page, f"ch{notebook.stem[:2]}")
        runs[notebook] = ChapterRun(notebook, page, seconds, cells, widgets, prompts_seen(page))
        return runs[notebook]

    def done_with(notebook: Path) -> None:
        """Close a chapter that no widget test needs, and stop its kernel."""
        if notebook in runs and not any(chapter(n) == notebook for n in WIDGET_CHAPTERS):
            context = runs[notebook].page.context
            contexts.remove(context)
            context.close()
            lab.shutdown_kernel_of(f"notebooks/{notebook.name}")

    run.done_with = done_with  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        for context in contexts:
            context.close()


def _chapter_ids() -> list[Path]:
    return chapter_notebooks()


@pytest.mark.parametrize("notebook", _chapter_ids(), ids=lambda p: p.stem)
def test_chapter_runs_without_errors(run_chapter, notebook: Path) -> None:
    run = run_chapter(notebook)
    allowed = expected_failures(notebook)
    problems = [
        f"cell {cell.index} {cell.prompt}: " + "\n".join(cell.problems)
        for cell in run.cells
        if cell.problems and cell.index not in allowed
    ]
    # Empty code cells never get an execution count; every other code cell must have run.
    sources = [cell.source for cell in nbformat.read(notebook, as_version=4).cells]
    not_run = [
        f"cell {cell.index} ({cell.prompt or 'no prompt'})"
        for cell in run.cells
        if cell.is_code
        and sources[cell.index].strip()
        and not re.search(r"\[\d+\]", cell.prompt)
        and cell.index not in allowed
    ]
    print(f"{notebook.name}: Run All took {run.seconds:.1f} s in JupyterLab")
    run_chapter.done_with(notebook)
    assert not problems, f"{notebook.name}: errors in cells:\n" + "\n\n".join(problems)
    assert not not_run, f"{notebook.name}: cells that did not run: {', '.join(not_run)}"


@pytest.mark.parametrize("notebook", _chapter_ids(), ids=lambda p: p.stem)
def test_chapter_asks_nothing(run_chapter, notebook: Path) -> None:
    """No toast (news, update check) and no dialog from opening the notebook to the end of
    Run All – JupyterLab started the way `make lab` starts it."""
    prompts = run_chapter(notebook).prompts
    assert not prompts, f"{notebook.name}: JupyterLab showed {len(prompts)} prompt(s): {prompts}"


@pytest.mark.parametrize("notebook", _chapter_ids(), ids=lambda p: p.stem)
def test_widgets_fit_the_screen_and_are_not_stretched(run_chapter, notebook: Path) -> None:
    """What a student sees of every widget at 1366×768 after Run All: its size, and each
    picture's natural vs rendered width (screenshots in build/screenshots/chNN-*.png)."""
    run = run_chapter(notebook)
    print(
        f"\n{notebook.name}: {len(run.widgets)} widget(s) at "
        f"{VIEWPORT['width']}×{VIEWPORT['height']}"
    )
    for w in run.widgets:
        print(f"  {w.summary()}")
    problems = [problem for w in run.widgets for problem in w.problems()]
    assert not problems, f"{notebook.name}: " + "; ".join(problems)
    assert MAX_STRETCH > 1 and MAX_WIDGET_HEIGHT <= VIEWPORT["height"]


def _chapter(number: int) -> Path:
    notebook = chapter(number)
    if notebook is None:
        pytest.fail(f"chapter {number} ({NOTEBOOKS.name}/{number:02d}_*.ipynb) is missing")
    return notebook


def _hook(page, notebook: Path, css_class: str, what: str):
    """The first element with the agreed class, scrolled into view; fail if absent."""
    locator = page.locator(f".{css_class}")
    if locator.count() == 0:
        pytest.fail(f"{notebook.name} shows no element with class '{css_class}' ({what})")
    element = locator.first
    element.scroll_into_view_if_needed()
    return element


def _part(notebook: Path, widget: str, locator, what: str):
    """``locator``, a part of ``widget``; fail, naming both, if the page has none."""
    if locator.count() == 0:
        pytest.fail(f"{notebook.name}: {widget} has no {what}")
    return locator


def _labelled(container, kind_class: str, label: str):
    """The control of type ``kind_class`` (e.g. widget-dropdown) whose label is ``label``."""
    return container.locator(f".{kind_class}").filter(
        has=container.page.locator(".widget-label", has_text=re.compile(rf"^\s*{label}\s*$"))
    )


def test_kernel_explorer_changes_feature_map(run_chapter) -> None:
    notebook = _chapter(4)
    page = run_chapter(notebook).page
    explorer = _hook(page, notebook, "educnn-kernel-explorer", "the kernel explorer")
    widget = "the kernel explorer"
    feature_map = _part(
        notebook, widget, explorer.locator(".educnn-feature-map"), "'educnn-feature-map' image"
    )
    dropdown = _part(
        notebook,
        widget,
        _labelled(explorer, "widget-dropdown", "Kernel").locator("select"),
        "Dropdown described 'Kernel'",
    )
    wait_kernel_idle(page)
    before = wait_stable_image(feature_map.first)
    explorer.screenshot(path=screenshot_path("ch04-kernel-explorer-before"))
    current = dropdown.first.input_value()
    options = [
        v
        for v in dropdown.first.locator("option").evaluate_all("opts => opts.map(o => o.value)")
        if v != current
    ]
    assert options, f"{notebook.name}: the Kernel dropdown offers only one kernel"
    changed_to = None
    for option in options[:3]:
        dropdown.first.select_option(option)
        after = wait_image_change(feature_map.first, before)
        if after != before:
            changed_to = option
            break
    explorer.screenshot(path=screenshot_path("ch04-kernel-explorer-after"))
    assert changed_to is not None, (
        f"{notebook.name}: the feature map stayed the same when the kernel went from "
        f"{current!r} to each of {options[:3]}"
    )


def test_conv_stepper_moves_window_and_value(run_chapter) -> None:
    notebook = _chapter(4)
    page = run_chapter(notebook).page
    stepper = _hook(page, notebook, "educnn-conv-stepper", "the convolution stepper")
    widget = "the convolution stepper"
    figure = _part(
        notebook,
        widget,
        stepper.locator(".educnn-conv-figure"),
        "an Image with class 'educnn-conv-figure'",
    )
    value = _part(
        notebook,
        widget,
        stepper.locator(".educnn-conv-value"),
        "an HTML with class 'educnn-conv-value'",
    )
    slider = _part(
        notebook,
        widget,
        _labelled(stepper, "widget-slider", "Position"),
        "an IntSlider described 'Position'",
    )
    wait_kernel_idle(page)
    figure_before = wait_stable_image(figure.first)
    value_before = value.first.inner_text().strip()
    readout = slider.first.locator(".widget-readout")
    position_before = readout.inner_text().strip()
    stepper.screenshot(path=screenshot_path("ch04-conv-stepper-before"))

    handle = slider.first.locator(".noUi-handle").first
    # Step away from the end the slider is at (the notebook may have left it at its maximum).
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    step, jump, far = (
        ("ArrowLeft", "PageDown", "Home") if at_max else ("ArrowRight", "PageUp", "End")
    )
    handle.focus()
    handle.press(step)
    position_after = readout.inner_text().strip()
    assert position_after != position_before, (
        f"{notebook.name}: the Position slider did not move with the arrow key"
    )
    figure_after = wait_image_change(figure.first, figure_before)
    assert figure_after != figure_before, (
        f"{notebook.name}: the highlighted window did not move when Position went "
        f"from {position_before} to {position_after}"
    )
    # The output value may repeat on a flat part of the image: bigger moves get their
    # chance to change it.
    values_seen = [value_before, wait_text_change(value.first, value_before, timeout_s=10)]
    for key in [jump, jump, far]:
        if values_seen[-1] != value_before:
            break
        handle.press(key)
        values_seen.append(wait_text_change(value.first, value_before, timeout_s=10))
    value_changed = values_seen[-1] != value_before
    stepper.screenshot(path=screenshot_path("ch04-conv-stepper-after"))
    assert value_changed, (
        f"{notebook.name}: the output value never changed as the window moved: {values_seen}"
    )


def test_draw_digit_gives_prediction(run_chapter) -> None:
    notebook = _chapter(7)
    page = run_chapter(notebook).page
    box = _hook(page, notebook, "educnn-draw-digit", "the draw-a-digit widget")
    widget = "the draw-a-digit widget"
    prediction = _part(
        notebook, widget, box.locator(".educnn-prediction"), "'educnn-prediction' HTML"
    )
    canvas = _part(notebook, widget, box.locator("canvas"), "ipycanvas Canvas")
    wait_kernel_idle(page)
    text_before = prediction.first.inner_text().strip()
    area = canvas.last.bounding_box()
    assert area and area["width"] > 100 and area["height"] > 100, (
        f"{notebook.name}: the canvas is too small to draw on: {area}"
    )
    # A "7": a stroke across the top, then down to the lower left.
    x0, y0, w, h = area["x"], area["y"], area["width"], area["height"]
    points = [(0.25, 0.22), (0.75, 0.22), (0.45, 0.85)]
    page.mouse.move(x0 + points[0][0] * w, y0 + points[0][1] * h)
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(x0 + fx * w, y0 + fy * h, steps=15)
    page.mouse.up()
    wait_kernel_idle(page)
    try:
        page.wait_for_function(
            """([el, before]) => el.innerText.trim() !== before && /\\d/.test(el.innerText)""",
            arg=[prediction.first.element_handle(), text_before],
            timeout=30_000,
        )
    except PlaywrightTimeout:
        pass  # the assertion below says what was shown
    finally:
        box.screenshot(path=screenshot_path("ch07-draw-digit"))
    text_after = prediction.first.inner_text().strip()
    assert text_after != text_before and re.search(r"\d", text_after), (
        f"{notebook.name}: no prediction 30 s after drawing a stroke on the canvas; "
        f"the prediction shows {text_after!r} (before drawing: {text_before!r})"
    )
