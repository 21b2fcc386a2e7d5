"""Where the browser tests find the course and put what they produce."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
# Both folders can be pointed elsewhere (a scratch notebook while developing the tests).
NOTEBOOKS = Path(os.environ.get("EDU_CNN_TEST_NOTEBOOKS", REPO / "notebooks"))
SLIDES_OUT = Path(os.environ.get("EDU_CNN_TEST_SLIDES", REPO / "build" / "slides"))
SCREENSHOTS = REPO / "build" / "screenshots"  # for a human to look at after a run
LAB_CONFIG = REPO / "jupyter-config"  # what `make lab` starts JupyterLab with
# A student's laptop: every widget must fit this screen (issue 13).
VIEWPORT = {"width": 1366, "height": 768}


def chapter_notebooks() -> list[Path]:
    """The chapter notebooks that exist now (``notebooks/NN_*.ipynb``)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def chapter(number: int) -> Path | None:
    """The notebook of chapter ``number``, or None while it is not written."""
    found = sorted(NOTEBOOKS.glob(f"{number:02d}_*.ipynb"))
    return found[0] if found else None


def screenshot_path(name: str) -> Path:
    """Where to save the screenshot called ``name`` (build/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def build_slides_module() -> ModuleType:
    """``scripts/build_slides.py`` as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "build_slides", REPO / "scripts" / "build_slides.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
