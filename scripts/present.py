"""Present one chapter as live reveal.js slides with working widgets, offline.

``make present CHAPTER=04`` runs this. It starts Voilà (a fresh kernel runs the chapter
each time the page is loaded, ~5–10 s) with the course's template
``slides/templates/edu-cnn-live`` – Voilà's reveal template with reveal.js' style
sheets, MathJax, jQuery and Font Awesome from the local npm copies the static decks use
(``make slides`` installs them) – on 127.0.0.1 and opens the browser. Nothing is fetched
from outside. Keys: arrows / space move, ``S`` opens the speaker view with the notes
(or add ``?showNotes=true`` to the address to see them under each slide), ``Esc`` the
overview, ``F`` full screen. Arrow keys on a focused slider or dropdown move the
widget, not the slide.

Before Voilà sees the chapter, a copy of it is prepared (:func:`prepare_for_live`):

- a live widget cell (one whose stored output shows a widget; in the static deck it is
  tagged ``hide-in-slides``) is shown;
- its static twin is hidden: every cell tagged ``static-twin``, or, in a notebook with
  no such tag, the first ``hide-input`` code cell after each live widget on the same
  slide; the other ``hide-in-slides`` cells stay hidden (they still run);
- ``# NBVAL_...`` markers are removed from the code shown, stored outputs are dropped
  (Voilà computes them), local Markdown images are embedded.
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_slides

ROOT = build_slides.ROOT
LIVE_TEMPLATE = "edu-cnn-live"
DEFAULT_WORK = ROOT / "build" / "present"

HIDE_CELL_TAG = build_slides.HIDE_CELL_TAG
HIDE_INPUT_TAG = build_slides.HIDE_INPUT_TAG
STATIC_TWIN_TAG = "static-twin"  # hidden in live slides (the widget is there instead)
LIVE_HIDE_TAG = "educnn-live-hide"  # set by prepare_for_live; the template hides it
WIDGET_VIEW = build_slides.WIDGET_VIEW


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _slide_type(cell: nbformat.NotebookNode) -> str:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def _shows_widget(cell: nbformat.NotebookNode) -> bool:
    return any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", []))


def _embed_images(source: str, folder: Path) -> str:
    """Local images of Markdown (``![..](path)``, ``<img src=..>``) as data URIs."""

    def embed(path: str) -> str:
        if re.match(r"^[a-z][a-z0-9+.-]*:", path, re.IGNORECASE) or path.startswith("#"):
            return path
        file = (folder / path).resolve()
        kind = mimetypes.guess_type(file.name)[0]
        if not file.is_file() or kind is None or not kind.startswith("image/"):
            return path
        return f"data:{kind};base64,{base64.b64encode(file.read_bytes()).decode('ascii')}"

    source = re.sub(r"(!\[[^\]]*\]\()([^)\s]+)", lambda m: m.group(1) + embed(m.group(2)), source)
    return re.sub(r'(<img\s[^>]*src=")([^"]+)', lambda m: m.group(1) + embed(m.group(2)), source)


def prepare_for_live(nb: nbformat.NotebookNode, folder: Path) -> dict[str, int]:
    """Prepare a chapter (in place) for live slides; return what was done.

    Returns
    -------
    counts : ``{"live_widgets": .., "twins_hidden": .., "cells_hidden": ..}``
    """
    nb.metadata["title"] = build_slides.chapter_title(nb, "edu-cnn")
    explicit_twins = any(STATIC_TWIN_TAG in _tags(c) for c in nb.cells)
    counts = {"live_widgets": 0, "twins_hidden": 0, "cells_hidden": 0}
    waiting_for_twin = False
    for cell in nb.cells:
        tags = _tags(cell)
        if _slide_type(cell) in ("slide", "subslide"):
            waiting_for_twin = False
        hide = False
        if cell.cell_type == "code" and _shows_widget(cell):
            if HIDE_CELL_TAG in tags:
                tags.remove(HIDE_CELL_TAG)
            counts["live_widgets"] += 1
            waiting_for_twin = not explicit_twins
        elif STATIC_TWIN_TAG in tags:
            hide = True
            counts["twins_hidden"] += 1
        elif waiting_for_twin and cell.cell_type == "code" and HIDE_INPUT_TAG in tags:
            hide = True
            waiting_for_twin = False
            counts["twins_hidden"] += 1
        elif HIDE_CELL_TAG in tags:
            hide = True
            counts["cells_hidden"] += 1
        if hide:
            tags.append(LIVE_HIDE_TAG)
        cell.metadata["tags"] = tags
        if cell.cell_type == "code":
            cell.source = build_slides.NBVAL_MARKER.sub("", cell.source)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = _embed_images(cell.source, folder)
    nb.metadata.pop("widgets", None)
    return counts


def install_template(work: Path, install_npm: bool = True) -> Path:
    """The Voilà template folder under ``work`` (its JUPYTER_PATH entry is returned).

    ``static/assets`` receives the same local copies the static decks load.
    """
    jupyter_path = work / "jupyter"
    target = jupyter_path / "voila" / "templates" / LIVE_TEMPLATE
    target.mkdir(parents=True, exist_ok=True)
    for name in ("conf.json", "index.html.j2"):
        shutil.copy2(build_slides.TEMPLATE_DIR / LIVE_TEMPLATE / name, target / name)
    if install_npm:
        build_slides.install_npm_assets()
    build_slides.copy_assets(target / "static")
    return jupyter_path


def find_chapter(chapter: str, notebooks: Path = ROOT / "notebooks") -> Path:
    """The notebook of ``chapter`` ("4", "04" or a path)."""
    if chapter.endswith(".ipynb"):
        path = Path(chapter)
        if not path.is_file():
            raise SystemExit(f"present: no notebook at {path}")
        return path
    if not chapter.isdigit():
        raise SystemExit(f"present: CHAPTER must be a chapter number like 04, got {chapter!r}")
    found = sorted(notebooks.glob(f"{int(chapter):02d}_*.ipynb"))
    if not found:
        raise SystemExit(f"present: no notebook for chapter {chapter} in {notebooks}")
    return found[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def voila_command(notebook: Path, port: int) -> list[str]:
    """The Voilà call that serves ``notebook`` as live slides on 127.0.0.1:``port``."""
    static = f"/voila/templates/{LIVE_TEMPLATE}/static"
    resources = {
        "reveal": {
            "url_prefix": f"{static}/{build_slides.REVEAL_PREFIX}",
            "theme": "white",
            "transition": "none",
            "number": "c/t",
            "scroll": True,
        },
        "edu_cnn_static": static,
    }
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--template={LIVE_TEMPLATE}",
        "--theme=light",
        "--strip_sources=False",
        "--Voila.ip=127.0.0.1",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        f"--VoilaConfiguration.resources={resources!r}",
        f"--HTMLExporter.jquery_url={static}/assets/jquery/jquery.min.js",
        "--VoilaConfiguration.show_tracebacks=True",
    ]


def probe_url(port: int) -> str:
    """A small file Voilà serves once it is up (the template's local jQuery)."""
    return (
        f"http://127.0.0.1:{port}/voila/templates/{LIVE_TEMPLATE}/static/"
        "assets/jquery/jquery.min.js"
    )


def prepare(
    chapter: Path, work: Path = DEFAULT_WORK, install_npm: bool = True
) -> tuple[Path, Path, dict[str, int]]:
    """Template and prepared copy of ``chapter`` in ``work``; (notebook, JUPYTER_PATH, counts)."""
    jupyter_path = install_template(work, install_npm)
    nb = nbformat.read(chapter, as_version=4)
    counts = prepare_for_live(nb, chapter.resolve().parent)
    deck = work / "live" / chapter.name
    deck.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, deck)
    return deck, jupyter_path, counts


def environment(jupyter_path: Path) -> dict[str, str]:
    """Voilà's environment: the template on JUPYTER_PATH, the course offline by default."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(jupyter_path), env.get("JUPYTER_PATH", "")) if p
    )
    env.setdefault("EDU_CNN_OFFLINE", "1")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help="chapter number (04) or a notebook path")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--no-install", action="store_true", help="do not run npm ci")
    args = parser.parse_args(argv)
    chapter = find_chapter(args.chapter)
    deck, jupyter_path, counts = prepare(chapter, install_npm=not args.no_install)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}/"
    print(
        f"present: {chapter.name} as live slides at {url} "
        f"({counts['live_widgets']} live widgets, {counts['twins_hidden']} static twins "
        "hidden); Ctrl+C stops"
    )
    process = subprocess.Popen(
        voila_command(deck, port), env=environment(jupyter_path), cwd=deck.parent
    )
    try:
        if not args.no_browser:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    urllib.request.urlopen(probe_url(port), timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=15)
        return 0


if __name__ == "__main__":
    sys.exit(main())
