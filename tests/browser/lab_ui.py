"""What a student does in JupyterLab, as Playwright steps: open a notebook, run all cells
from the Run menu, wait until the kernel is done, read what each cell shows.

Selectors are JupyterLab 4's; see /work/shared/JUPYTER-NOTES.md for the traps they avoid
(a Run All before the kernel's websocket is up opens a blocking "Select Kernel" dialog;
off-screen cells are not rendered unless windowing is off, which the fixture does).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .paths import VIEWPORT, screenshot_path

# What a student's screen allows (issue 13): a widget no taller than this at 1366×768 (the
# rest is JupyterLab's menu and tab bar), and a picture shown at most this much wider than
# it was drawn (device pixels per picture pixel; above it the picture looks blurry).
MAX_WIDGET_HEIGHT = 700
MAX_STRETCH = 1.25

# Errors in a cell's output: the traceback of an error, or a widget that failed to show.
_ERROR_SCAN_JS = r"""
() => {
  const panel = '.jp-NotebookPanel:not(.lm-mod-hidden)';
  const stderr = '[data-mime-type="application/vnd.jupyter.stderr"]';
  const widgetFailed = new RegExp(
    'Error displaying widget|Failed to load model class|Could not create a model|' +
    'Error creating widget');
  const cells = [...document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')];
  return cells.map((cell, index) => {
    const problems = [];
    const isCode = cell.classList.contains('jp-CodeCell');
    for (const out of cell.querySelectorAll('.jp-OutputArea-output' + stderr)) {
      const text = out.innerText || '';
      if (/Traceback|\b\w*Error\b/.test(text)) problems.push(text.slice(0, 1500));
    }
    for (const out of cell.querySelectorAll('.jp-RenderedText:not(' + stderr + ')')) {
      const text = out.innerText || '';
      if (/Traceback \(most recent call last\)/.test(text)) problems.push(text.slice(0, 1500));
    }
    for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
      const text = out.innerText || '';
      if (widgetFailed.test(text)) {
        problems.push('widget did not render: ' + text.slice(0, 500));
      }
    }
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    return {
      index,
      isCode,
      prompt: prompt ? prompt.innerText.trim() : '',
      problems,
    };
  });
}
"""

# Done when no cell is queued or running and either every code cell has run or one has
# failed (Run All stops at the first error).
_RUN_FINISHED_JS = r"""
(expectedCode) => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  if (indicator && indicator.getAttribute('data-status') !== 'idle') return false;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
      .map(p => p.innerText.trim());
  if (prompts.some(p => p.includes('*'))) return false;
  const done = prompts.filter(p => /\[\d+\]/.test(p)).length;
  const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  const failed = [...panel.querySelectorAll(stderr)]
      .some(o => /Traceback|\b\w*Error\b/.test(o.innerText || ''));
  return done >= expectedCode || failed;
}
"""


@dataclass
class CellReport:
    index: int
    is_code: bool
    prompt: str
    problems: list[str]


def expected_failures(notebook: Path) -> set[int]:
    """Indices of cells meant to raise (tag ``raises-exception``, ``# NBVAL_RAISES_EXCEPTION``)."""
    nb = nbformat.read(notebook, as_version=4)
    return {
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (
            "raises-exception" in cell.metadata.get("tags", [])
            or cell.source.lstrip().startswith("# NBVAL_RAISES_EXCEPTION")
        )
    }


def code_cells_to_run(notebook: Path) -> int:
    """How many code cells Run All executes (empty cells get no execution count)."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code" and cell.source.strip())


def open_notebook(page, lab, relative_path: str, timeout_s: float = 60) -> None:
    """Open a notebook and wait until its kernel is idle and its websocket connected."""
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{lab.url}/lab/tree/{relative_path}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    page.wait_for_selector(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]',
        timeout=timeout_s * 1000,
    )
    deadline = time.monotonic() + timeout_s
    while not any("/api/kernels/" in url for url in sockets):
        if time.monotonic() > deadline:
            raise AssertionError(f"{relative_path}: no kernel websocket after {timeout_s} s")
        page.wait_for_timeout(100)
    # The indicator can say idle a moment before the kernel answered its first request.
    page.wait_for_timeout(500)


def run_all_from_menu(page) -> None:
    """Run ▸ Run All Cells, as a student does."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def wait_until_run_finished(page, expected_code_cells: int, timeout_s: float) -> None:
    """Wait until Run All is over (all code cells ran, or one failed) and stays over."""
    for _ in range(2):  # the indicator flickers to idle between two queued cells
        page.wait_for_function(
            _RUN_FINISHED_JS, arg=expected_code_cells, timeout=timeout_s * 1000, polling=250
        )
        page.wait_for_timeout(700)
    page.wait_for_function(
        _RUN_FINISHED_JS, arg=expected_code_cells, timeout=timeout_s * 1000, polling=250
    )


def cell_reports(page) -> list[CellReport]:
    """What each cell shows: its prompt and any error in its outputs."""
    return [
        CellReport(r["index"], r["isCode"], r["prompt"], r["problems"])
        for r in page.evaluate(_ERROR_SCAN_JS)
    ]


def wait_kernel_idle(page, timeout_s: float = 30) -> None:
    """Wait for the open notebook's kernel to be idle (after a widget sent it events)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]',
        timeout=timeout_s * 1000,
    )


_IMAGE_DIGEST_JS = r"""
async (el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  if (!img || !img.src) return null;
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
}
"""


def image_digest(locator) -> str | None:
    """SHA-256 of the picture an ipywidgets Image shows (its PNG bytes, not a screenshot)."""
    return locator.evaluate(_IMAGE_DIGEST_JS)


def wait_image_change(locator, before: str | None, timeout_s: float = 20) -> str | None:
    """The picture's digest once it differs from ``before`` and has settled.

    Returns ``before`` if the picture did not change within ``timeout_s`` – waiting for a
    change rather than a fixed time keeps the test right on a slow, busy machine.
    """
    page = locator.page
    deadline = time.monotonic() + timeout_s
    while image_digest(locator) == before and time.monotonic() < deadline:
        page.wait_for_timeout(150)
    return wait_stable_image(locator)


def wait_text_change(locator, before: str, timeout_s: float = 20) -> str:
    """The element's text once it differs from ``before`` (or ``before`` after the timeout)."""
    page = locator.page
    deadline = time.monotonic() + timeout_s
    text = locator.inner_text().strip()
    while text == before and time.monotonic() < deadline:
        page.wait_for_timeout(150)
        text = locator.inner_text().strip()
    return text


def wait_stable_image(locator, settle_ms: int = 400, timeout_s: float = 20) -> str | None:
    """The digest of an Image widget's picture once two reads in a row agree.

    A slider sends every intermediate value to the kernel, so the picture can change a
    few times after the last key press; wait until it has settled.
    """
    page = locator.page
    deadline = time.monotonic() + timeout_s
    previous = image_digest(locator)
    while True:
        page.wait_for_timeout(settle_ms)
        current = image_digest(locator)
        if current == previous or time.monotonic() > deadline:
            return current
        previous = current


# -------------------------------------------------------------------------- prompts
# Installed before JupyterLab loads (context.add_init_script): remembers every toast
# (JupyterLab 4's notifications are react-toastify toasts) and every dialog that appears.
WATCH_PROMPTS_JS = r"""
(() => {
  window.__educnnPrompts = [];
  const selector = '.Toastify__toast, .jp-Dialog, .jp-toast-message';
  const seen = new WeakSet();
  const note = (el) => {
    if (seen.has(el)) return;
    seen.add(el);
    window.__educnnPrompts.push((el.className + ': ' + (el.innerText || '')).slice(0, 300));
  };
  const scan = () => document.querySelectorAll(selector).forEach(note);
  new MutationObserver(scan).observe(document, {childList: true, subtree: true});
})();
"""


def prompts_seen(page) -> list[str]:
    """Every toast or dialog shown on this page since it was opened."""
    page.evaluate("""() => document.querySelectorAll('.Toastify__toast, .jp-Dialog')
                         .forEach(el => window.__educnnPrompts.push(
                             (el.className + ': ' + (el.innerText || '')).slice(0, 300)))""")
    return sorted(set(page.evaluate("() => window.__educnnPrompts || []")))


# -------------------------------------------------------------------------- widgets
# Marks each cell output that shows a widget (not the outputs inside an Output widget) with
# data-educnn-widget="k" and returns how many there are.
_MARK_WIDGET_OUTPUTS_JS = r"""
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return 0;
  const outs = [...panel.querySelectorAll('.jp-OutputArea-output')].filter(out =>
      out.querySelector('.jupyter-widgets') && !out.parentElement.closest('.jupyter-widgets'));
  outs.forEach((out, k) => out.setAttribute('data-educnn-widget', String(k)));
  return outs.length;
}
"""

_MEASURE_WIDGET_JS = r"""
(el) => {
  const view = el.querySelector('.jupyter-widgets') || el;
  const box = view.getBoundingClientRect();
  const cell = el.closest('.jp-Cell');
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')];
  const name = (node) => [...node.classList].find(c => c.startsWith('educnn-')) || '';
  let hooks = name(view);
  if (!hooks) {
    const inner = view.querySelector('[class*="educnn-"]');
    hooks = inner ? name(inner) : '';
  }
  return {
    cell: cells.indexOf(cell),
    css_class: hooks,
    width: box.width, height: box.height, right: box.right,
    overflow: Math.max(0, el.scrollWidth - el.clientWidth),
    dpr: window.devicePixelRatio,
    images: [...view.querySelectorAll('img')].filter(img => img.naturalWidth > 0).map(img => ({
      css_class: name(img),
      natural_width: img.naturalWidth, natural_height: img.naturalHeight,
      width: img.getBoundingClientRect().width, height: img.getBoundingClientRect().height,
    })),
  };
}
"""


@dataclass
class ImageReport:
    css_class: str
    natural_width: int
    natural_height: int
    width: float  # rendered, CSS pixels
    height: float

    def stretch(self, device_pixel_ratio: float) -> float:
        """Device pixels per picture pixel across (1.0: drawn at the size it is shown)."""
        return self.width * device_pixel_ratio / self.natural_width


@dataclass
class WidgetReport:
    """One displayed widget as the page shows it after Run All."""

    name: str  # chNN-<css class or cell number>, also the screenshot's name
    cell: int
    width: float
    height: float
    right: float  # the widget's right edge in the window
    overflow: float  # how far it sticks out of its output area (horizontal scrolling)
    device_pixel_ratio: float
    images: list[ImageReport] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        if self.height > MAX_WIDGET_HEIGHT:
            found.append(
                f"{self.name} is {self.height:.0f} px tall (at most "
                f"{MAX_WIDGET_HEIGHT} px fit a {VIEWPORT['height']} px screen)"
            )
        if self.right > VIEWPORT["width"] + 0.5 or self.overflow > 1:
            found.append(
                f"{self.name} does not fit across: right edge {self.right:.0f} px, "
                f"{self.overflow:.0f} px scrolled out of its cell"
            )
        for image in self.images:
            stretch = image.stretch(self.device_pixel_ratio)
            if stretch > MAX_STRETCH:
                found.append(
                    f"{self.name}: a {image.natural_width}×{image.natural_height} "
                    f"picture ({image.css_class or 'img'}) is shown at "
                    f"{image.width:.0f}×{image.height:.0f} px ({stretch:.2f}× stretched)"
                )
        return found

    def summary(self) -> str:
        pictures = (
            ", ".join(
                f"{i.natural_width}×{i.natural_height}→{i.width:.0f}×{i.height:.0f}"
                for i in self.images
            )
            or "no picture"
        )
        return (
            f"{self.name} (cell {self.cell}): {self.width:.0f}×{self.height:.0f} px; "
            f"pictures natural→shown: {pictures}"
        )


def measure_widgets(page, prefix: str) -> list[WidgetReport]:
    """Measure every displayed widget of the open notebook and save a screenshot of each
    (``build/screenshots/<prefix>-<name>.png``)."""
    count = page.evaluate(_MARK_WIDGET_OUTPUTS_JS)
    reports: list[WidgetReport] = []
    names: dict[str, int] = {}
    for k in range(count):
        element = page.locator(f'[data-educnn-widget="{k}"]')
        m = element.evaluate(_MEASURE_WIDGET_JS)
        if m["width"] == 0 or m["height"] == 0:
            continue  # an empty Output widget, nothing a student sees
        element.scroll_into_view_if_needed(timeout=10_000)
        page.wait_for_timeout(150)
        m = element.evaluate(_MEASURE_WIDGET_JS)  # again: pictures load when in view
        base = f"{prefix}-{m['css_class'] or 'cell' + str(m['cell'])}"
        names[base] = names.get(base, 0) + 1
        name = base if names[base] == 1 else f"{base}-{names[base]}"
        element.screenshot(path=screenshot_path(name))
        reports.append(
            WidgetReport(
                name,
                m["cell"],
                m["width"],
                m["height"],
                m["right"],
                m["overflow"],
                m["dpr"],
                [
                    ImageReport(
                        i["css_class"],
                        i["natural_width"],
                        i["natural_height"],
                        i["width"],
                        i["height"],
                    )
                    for i in m["images"]
                ],
            )
        )
    return reports
