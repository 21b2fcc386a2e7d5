"""Build one offline reveal.js deck per chapter notebook, plus an index page.

``make slides`` runs this. For every ``notebooks/NN_*.ipynb`` it writes
``build/slides/NN_*.slides.html`` with ``jupyter nbconvert --to slides``, driven by the slide
metadata the chapters carry (see docs/SLIDES.md for the conventions), and
``build/slides/index.html`` listing the decks by chapter title.

The decks work without internet: reveal.js, RequireJS, jQuery, MathJax, mermaid, Font
Awesome and the Jupyter widgets HTML manager are installed from the npm registry into
``slides/node_modules`` (versions pinned in ``slides/package.json`` and
``slides/package-lock.json``) and the files a deck loads are copied to
``build/slides/assets/``. Serve ``build/slides/`` over HTTP (``python -m http.server``) or
copy the folder to a USB stick: nothing is fetched from outside.

Before nbconvert sees a notebook, a copy of it is prepared for the deck:

* its title (the browser tab, the index) is its first Markdown heading;
* output of a live widget that a static page cannot show - the saved widget state is
  missing, or it uses a model outside the core ipywidgets (ipycanvas, ...) - is replaced by
  a short note, so the deck never shows a raw ``VBox(children=...)`` or a loader error;
  the chapter's static twin figure is what the deck shows;
* stderr streams (warnings) and the ``# NBVAL_...`` marker lines of code cells are dropped;
* the saved widget state is pruned to the widgets the deck shows;
* local images in Markdown are made absolute so ``embed_images`` can inline them.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SLIDES_DIR = ROOT / "slides"
TEMPLATE_DIR = SLIDES_DIR / "templates"
TEMPLATE_NAME = "edu-cnn"
NODE_MODULES = SLIDES_DIR / "node_modules"
DEFAULT_OUT = ROOT / "build" / "slides"

# The cell conventions chapter authors follow (docs/SLIDES.md).
HIDE_CELL_TAG = "hide-in-slides"  # cell left out of the deck (also: slide_type "skip")
HIDE_INPUT_TAG = "hide-input"  # code hidden, output shown (figures, static twins)
HIDE_OUTPUT_TAG = "hide-output"  # code shown, output hidden

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Widget models the HTML manager can draw from saved state without a kernel.
CORE_WIDGET_MODULES = frozenset(
    {"@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output"}
)
LIVE_WIDGET_NOTE = (
    '<div class="educnn-live-widget-note">Live widget: run this notebook in JupyterLab '
    "to use it. The deck shows its static figure.</div>"
)

# nbval's markers ("# NBVAL_IGNORE_OUTPUT") mean nothing to an audience.
NBVAL_MARKER = re.compile(r"^[ \t]*# *NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)

# What a deck loads, relative to build/slides/ (the template hardcodes the mermaid path).
ASSETS = "assets"
REVEAL_PREFIX = f"{ASSETS}/reveal.js"
EXPORTER_URLS = {
    "SlidesExporter.reveal_url_prefix": REVEAL_PREFIX,
    "SlidesExporter.require_js_url": f"{ASSETS}/requirejs/require.js",
    "SlidesExporter.jquery_url": f"{ASSETS}/jquery/jquery.min.js",
    "SlidesExporter.mathjax_url": f"{ASSETS}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "SlidesExporter.widget_renderer_url": f"{ASSETS}/html-manager/embed-amd.js",
    "SlidesExporter.font_awesome_url": f"{ASSETS}/font-awesome/css/font-awesome.css",
}
# (source under slides/node_modules, destination under assets/, glob patterns to skip)
ASSET_COPIES: list[tuple[str, str, tuple[str, ...]]] = [
    ("reveal.js/dist", "reveal.js/dist", ("*.map", "reveal.esm.js")),
    ("reveal.js/plugin/notes", "reveal.js/plugin/notes", ("*.map", "*.esm.js")),
    ("requirejs/require.js", "requirejs/require.js", ()),
    ("jquery/dist/jquery.min.js", "jquery/jquery.min.js", ()),
    ("mathjax/MathJax.js", "mathjax/MathJax.js", ()),
    ("mathjax/config", "mathjax/config", ()),
    ("mathjax/extensions", "mathjax/extensions", ()),
    ("mathjax/jax/element", "mathjax/jax/element", ()),
    ("mathjax/jax/input/TeX", "mathjax/jax/input/TeX", ()),
    ("mathjax/jax/output/CommonHTML", "mathjax/jax/output/CommonHTML", ()),
    ("mathjax/jax/output/PreviewHTML", "mathjax/jax/output/PreviewHTML", ()),
    ("mathjax/fonts/HTML-CSS/TeX/woff", "mathjax/fonts/HTML-CSS/TeX/woff", ()),
    ("mathjax/fonts/HTML-CSS/TeX/otf", "mathjax/fonts/HTML-CSS/TeX/otf", ()),
    ("mathjax/localization/en", "mathjax/localization/en", ()),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ("*.map", "embed.js*")),
    ("font-awesome/css", "font-awesome/css", ()),
    ("font-awesome/fonts", "font-awesome/fonts", ()),
    ("mermaid/dist/mermaid.esm.min.mjs", "mermaid/mermaid.esm.min.mjs", ()),
    ("mermaid/dist/chunks/mermaid.esm.min", "mermaid/chunks/mermaid.esm.min", ("*.map",)),
]


# --------------------------------------------------------------------------- assets
def _lock_digest() -> str:
    """Hash of the pinned npm versions; the assets are re-copied when it changes."""
    text = (SLIDES_DIR / "package-lock.json").read_bytes()
    text += (TEMPLATE_DIR / TEMPLATE_NAME / "index.html.j2").read_bytes()
    text += repr(ASSET_COPIES).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def install_npm_assets() -> None:
    """``npm ci`` in slides/ unless node_modules already matches the lock file."""
    installed = NODE_MODULES / ".package-lock.json"
    lock = SLIDES_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "build_slides: npm is not installed; the decks need reveal.js, MathJax and the "
            "widget manager from the npm registry (apt-get install npm)."
        )
    print("build_slides: npm ci in slides/ (the decks' JavaScript, pinned in package-lock.json)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=SLIDES_DIR,
        check=True,
    )


def copy_assets(out: Path) -> None:
    """Copy what the decks load from slides/node_modules to ``out/assets``."""
    dest_root = out / ASSETS
    stamp = dest_root / ".stamp"
    digest = _lock_digest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if dest_root.exists():
        shutil.rmtree(dest_root)
    for source, dest, ignore in ASSET_COPIES:
        src = NODE_MODULES / source
        if not src.exists():
            raise SystemExit(f"build_slides: {src} is missing after npm ci")
        target = dest_root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns(*ignore))
        else:
            shutil.copy2(src, target)
    stamp.write_text(digest)


# --------------------------------------------------------------------------- notebooks
def chapter_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first Markdown heading, without Markdown markup."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
            if match:
                text = re.sub(r"[*_`]", "", match.group(1))
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
                return text.strip()
    return fallback


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def in_deck(cell: nbformat.NotebookNode) -> bool:
    """Whether the cell appears in the deck at all (notes count: they are in the page)."""
    slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
    return slide_type != "skip" and HIDE_CELL_TAG not in _tags(cell)


def _model_refs(value: object) -> Iterable[str]:
    """The model ids a widget state value points at (``"IPY_MODEL_<id>"`` strings)."""
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        yield value[len("IPY_MODEL_") :]
    elif isinstance(value, list):
        for item in value:
            yield from _model_refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _model_refs(item)


def _closure(model_id: str, state: dict) -> set[str] | None:
    """All models a view needs, or None if one is missing or not a core ipywidget."""
    needed: set[str] = set()
    todo = [model_id]
    while todo:
        current = todo.pop()
        if current in needed:
            continue
        model = state.get(current)
        if model is None or model.get("model_module") not in CORE_WIDGET_MODULES:
            return None
        needed.add(current)
        todo.extend(_model_refs(model.get("state", {})))
    return needed


def _absolute_image_links(source: str, folder: Path) -> str:
    """Make relative local image paths in Markdown absolute (for ``embed_images``)."""

    def fix(path: str) -> str:
        if re.match(r"^[a-z][a-z0-9+.-]*:", path, re.IGNORECASE) or path.startswith(("/", "#")):
            return path
        candidate = (folder / path).resolve()
        return candidate.as_posix() if candidate.exists() else path

    source = re.sub(r"(!\[[^\]]*\]\()([^)\s]+)", lambda m: m.group(1) + fix(m.group(2)), source)
    return re.sub(r'(<img\s[^>]*src=")([^"]+)', lambda m: m.group(1) + fix(m.group(2)), source)


def prepare_for_deck(nb: nbformat.NotebookNode, folder: Path, fallback_title: str) -> dict:
    """Prepare a notebook (in place) for nbconvert; return counts for the build log."""
    nb.metadata["title"] = chapter_title(nb, fallback_title)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    keep: set[str] = set()
    counts = {"widgets_shown": 0, "widgets_replaced": 0}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _absolute_image_links(cell.source, folder)
            continue
        if cell.cell_type != "code":
            continue
        cell.source = NBVAL_MARKER.sub("", cell.source)
        shown = in_deck(cell) and HIDE_OUTPUT_TAG not in _tags(cell)
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                continue
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                needed = _closure(data[WIDGET_VIEW].get("model_id", ""), state)
                if needed is None:
                    output["data"] = {"text/html": LIVE_WIDGET_NOTE}
                    output["metadata"] = {}
                    counts["widgets_replaced"] += shown
                elif shown:
                    keep |= needed
                    counts["widgets_shown"] += 1
            outputs.append(output)
        cell.outputs = outputs
    if keep:
        nb.metadata["widgets"][WIDGET_STATE]["state"] = {k: state[k] for k in keep}
    else:
        nb.metadata.pop("widgets", None)  # no widget on any slide: no widget manager either
    return counts


# --------------------------------------------------------------------------- build
def nbconvert_command(notebooks: list[Path], out: Path) -> list[str]:
    """The ``jupyter nbconvert --to slides`` call for the prepared notebooks."""
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "slides",
        f"--TemplateExporter.extra_template_basedirs={TEMPLATE_DIR}",
        f"--template={TEMPLATE_NAME}",
        "--SlidesExporter.reveal_theme=white",
        "--SlidesExporter.reveal_scroll=True",
        "--SlidesExporter.reveal_number=c/t",
        "--TemplateExporter.exclude_input_prompt=True",
        "--TemplateExporter.exclude_output_prompt=True",
        "--HTMLExporter.embed_images=True",
        "--TagRemovePreprocessor.enabled=True",
        f"--TagRemovePreprocessor.remove_cell_tags={HIDE_CELL_TAG}",
        f"--TagRemovePreprocessor.remove_input_tags={HIDE_INPUT_TAG}",
        f"--TagRemovePreprocessor.remove_all_outputs_tags={HIDE_OUTPUT_TAG}",
        f"--output-dir={out}",
        "--log-level=WARN",
    ]
    command += [f"--{name}={value}" for name, value in EXPORTER_URLS.items()]
    return command + [str(path) for path in notebooks]


def write_index(decks: list[tuple[str, str, dict]], out: Path) -> Path:
    """Write ``index.html``: one link per deck, by chapter title."""
    items = "\n".join(
        f'    <li><a href="{html.escape(name)}">{html.escape(title)}</a>'
        f' <span class="file">{html.escape(name)}</span></li>'
        for name, title, _ in decks
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>edu-cnn: slides</title>
<link rel="icon" href="data:,">
<style>
  body {{ font-family: "Source Sans Pro", "DejaVu Sans", sans-serif; max-width: 48em;
         margin: 3em auto; padding: 0 1em; color: #222; }}
  h1 {{ font-weight: 600; }}
  li {{ margin: 0.5em 0; font-size: 1.2em; }}
  .file {{ color: #888; font-size: 0.75em; margin-left: 0.5em; }}
  p.help {{ color: #555; }}
</style>
</head>
<body>
<h1>edu-cnn: the course as slides</h1>
<ol class="decks">
{items}
</ol>
<p class="help">Arrow keys move between slides, <kbd>S</kbd> opens the speaker view with the
notes, <kbd>Esc</kbd> shows an overview. Widgets are live only in JupyterLab; the decks show
their static figures.</p>
</body>
</html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def build(
    notebooks: list[Path], out: Path, install: bool = True, prune: bool = False
) -> list[Path]:
    """Build the decks for ``notebooks`` into ``out``; return the deck paths.

    The index lists exactly these decks; with ``prune``, decks in ``out`` of notebooks
    that are not in the list (renamed or deleted chapters) are removed.
    """
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    if install:
        install_npm_assets()
    copy_assets(out)
    decks: list[tuple[str, str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="edu-cnn-slides-") as tmp:
        prepared = []
        for path in sorted(notebooks):
            nb = nbformat.read(path, as_version=4)
            counts = prepare_for_deck(nb, path.resolve().parent, path.stem)
            copy = Path(tmp) / path.name
            nbformat.write(nb, copy)
            prepared.append(copy)
            decks.append((f"{path.stem}.slides.html", nb.metadata["title"], counts))
        if prepared:
            subprocess.run(nbconvert_command(prepared, out), check=True)
    if prune:
        wanted = {name for name, _, _ in decks}
        for old in out.glob("*.slides.html"):
            if old.name not in wanted:
                old.unlink()
    index = write_index(decks, out)
    for name, title, counts in decks:
        print(
            f"  {name}: {title} (widgets on slides: {counts['widgets_shown']}, "
            f"replaced by a note: {counts['widgets_replaced']})"
        )
    elapsed = time.perf_counter() - start
    print(f"build_slides: {len(decks)} deck(s) and {index} in {elapsed:.1f} s")
    return [out / name for name, _, _ in decks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to convert (default: notebooks/[0-9][0-9]_*.ipynb)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--no-install", action="store_true", help="do not run npm ci (node_modules exists)"
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print("build_slides: no notebooks to convert", file=sys.stderr)
    build(notebooks, args.out, install=not args.no_install, prune=not args.notebooks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
