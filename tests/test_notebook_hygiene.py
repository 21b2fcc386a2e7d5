"""The stored notebooks are small, stable and hold pictures that are really there.

Checks on every notebook in ``notebooks/`` (fast, no kernel):

- at most 1 MB each and 3.5 MB together;
- no saved widget model that no displayed widget view reaches (orphans of widget copies
  that cells create but never display);
- what ``scripts/execute_notebooks.py`` writes: normalising the stored notebook again
  changes no byte (no execution timestamps, no ``language_info.version``, renumbered
  widget ids, photographic figures stored as JPEG);
- every measurement of wall-clock time ("475 ms", "1,188 images/s", "15 s"; the pattern
  ``MEASUREMENT`` of the script) in a cell's stored output – printed text, or the saved
  state of the widgets the cell displays – stands in a cell tagged ``keep-stored-output``,
  which keeps its stored measurement while its code is unchanged. This is how the
  expensive notebooks (04, 07, 08, and A1, which needs PyTorch) are held to "a second
  execution gives the same bytes" without executing them here; it cannot see a time
  printed without a unit;
- no output shows a path in the temporary folder (a ``mkdtemp`` name is new every run);
- the figure check: every stored PNG/JPEG – cell outputs, Output widgets, Image widgets –
  decodes with Pillow, matches its declared size, and is not blank (its pixels take more
  than one value in at least one channel; a figure that failed to draw is a single
  colour). A perceptual hash would also catch a *changed* picture, but then every honest
  change of a figure needs a new reference; nbval already compares the text around it.

Execution checks (slow, each runs real kernels with the notebook test settings):

- a small notebook made here with a displayed widget, an undisplayed copy, flushed
  prints and a photographic figure, executed twice, gives the same bytes, no orphan and
  a JPEG figure;
- a small notebook with a tagged cell that prints a time and one that shows a time in a
  widget, executed twice in place, gives the same bytes;
- ``DETERMINISM_SUBSET`` of the course notebooks, executed twice by the script, gives
  the same bytes (each run takes 5–40 s on a loaded two-core machine, so not all nine;
  the others are covered by the measurement check above: executed twice by hand, 00–08
  and A2 gave the same bytes once their timings were tagged).
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCRIPT = ROOT / "scripts" / "execute_notebooks.py"
MAX_BYTES = 1_000_000
MAX_TOTAL_BYTES = 3_500_000
DETERMINISM_SUBSET = [
    "00_welcome.ipynb",
    "06_backprop_cnn.ipynb",
    "A2_glossary.ipynb",
]

NOTEBOOK_ENV = {
    "EDU_CNN_OFFLINE": "1",
    "EDU_CNN_FAST": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


def _load_script():
    spec = importlib.util.spec_from_file_location("execute_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


ex = _load_script()


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


# --------------------------------------------------------------------------- stored notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_at_most_1_mb(path: Path) -> None:
    size = path.stat().st_size
    assert size <= MAX_BYTES, (
        f"{path.name} is {size / 1e6:.2f} MB (limit {MAX_BYTES / 1e6:.0f} MB): re-execute it "
        "with scripts/execute_notebooks.py (prunes widget state, stores photos as JPEG)"
    )


def test_notebooks_together_are_at_most_3_5_mb() -> None:
    total = sum(p.stat().st_size for p in NOTEBOOKS)
    assert total <= MAX_TOTAL_BYTES, f"the notebooks hold {total / 1e6:.2f} MB together"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_orphaned_widget_models(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    orphans = ex.orphaned_models(nb)
    state = nb.metadata.get("widgets", {}).get(ex.WIDGET_STATE, {}).get("state", {})
    names = sorted({state[m]["model_name"] for m in orphans})
    assert not orphans, (
        f"{path.name}: {len(orphans)} of {len(state)} saved widget models are reached by no "
        f"displayed widget ({', '.join(names)}); re-execute with scripts/execute_notebooks.py"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_notebook_is_normalised(path: Path) -> None:
    stored = path.read_text(encoding="utf-8")
    nb = nbformat.reads(stored, as_version=4)
    timed = [i for i, c in enumerate(nb.cells) if "execution" in c.metadata]
    assert not timed, f"{path.name}: execution timestamps in cells {timed[:5]}…"
    assert "version" not in nb.metadata.get("language_info", {}), (
        f"{path.name}: metadata.language_info.version changes with every Python release"
    )
    again = copy.deepcopy(nb)
    ex.normalise(again)
    assert nbformat.writes(again) + "\n" == stored or nbformat.writes(again) == stored, (
        f"{path.name} is not as scripts/execute_notebooks.py writes it (widget ids, "
        "streams or figures differ); re-execute it with the script"
    )


def _texts(value) -> list[str]:
    """The strings in a JSON value (outputs, a widget's state), without pictures or ids."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        skip = {"image/png", "image/jpeg", ex.WIDGET_VIEW}
        return [t for key, item in value.items() if key not in skip for t in _texts(item)]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


def _shown_texts(nb) -> list[tuple[int, Any, list[str]]]:
    """(index, cell, texts) of each code cell: the strings of its stored outputs and of the
    saved state of the widgets it displays."""
    state = nb.get("metadata", {}).get("widgets", {}).get(ex.WIDGET_STATE, {}).get("state", {})
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        texts = _texts(cell.get("outputs", []))
        for model_id in ex.reachable_models(state, ex.displayed_model_ids([cell])):
            texts += _texts(state[model_id].get("state", {}))
        found.append((index, cell, texts))
    return found


def untagged_measurements(nb) -> list[tuple[int, list[str]]]:
    """(cell index, measurements) of the code cells that show a wall-clock measurement in
    their stored output or displayed widgets but are not tagged ``keep-stored-output``."""
    found = []
    for index, cell, texts in _shown_texts(nb):
        if ex.KEEP_TAG in cell.metadata.get("tags", []):
            continue
        hits = sorted({m.group(0) for text in texts for m in ex.MEASUREMENT.finditer(text)})
        if hits:
            found.append((index, hits))
    return found


#: A path in the temporary folder (Linux, macOS, Windows): ``mkdtemp`` names it anew on
#: every run.
TEMPORARY_PATH = re.compile(r"(/tmp/|/var/folders/|\\Temp\\)\S+")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_temporary_path_in_an_output(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = [
        (index, match.group(0))
        for index, _, texts in _shown_texts(nb)
        for text in texts
        for match in TEMPORARY_PATH.finditer(text)
    ]
    assert not found, (
        f"{path.name}: outputs show temporary paths, new on every run, so re-executing the "
        f"notebook rewrites them: {found[:5]}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_measured_time_is_in_a_tagged_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = untagged_measurements(nb)
    assert not found, (
        f"{path.name}: cells {found} show wall-clock times (different in every run) but are "
        f"not tagged {ex.KEEP_TAG!r}, so re-executing the notebook rewrites them; tag them "
        "(or show a count or a rounded ratio instead)"
    )
    tagged = [c for c in nb.cells if ex.KEEP_TAG in c.metadata.get("tags", [])]
    unmeasured = [
        i
        for i, c in enumerate(nb.cells)
        if c in tagged and c.get("outputs") and "measured_source" not in c.metadata
    ]
    assert not unmeasured, (
        f"{path.name}: tagged cells {unmeasured} carry no metadata.measured_source; "
        "re-execute with scripts/execute_notebooks.py"
    )


def test_measurement_check_can_fail() -> None:
    nb = nbformat.v4.new_notebook()
    printed = nbformat.v4.new_code_cell("print(t)")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="loops: 475 ms\n")]
    shapes = nbformat.v4.new_code_cell("print(rows)")
    shapes.outputs = [nbformat.v4.new_output("stream", name="stdout", text="k=3 s=1 → 5×5\n")]
    shown = nbformat.v4.new_code_cell("dashboard")
    shown.outputs = [nbformat.from_dict(_view("box"))]
    nb.cells = [printed, shapes, shown]
    nb.metadata["widgets"] = {
        ex.WIDGET_STATE: {
            "state": {
                "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_html"]}},
                "html": {"model_name": "HTMLModel", "state": {"value": "6/6 · 1,188 images/s"}},
            }
        }
    }
    assert untagged_measurements(nb) == [(0, ["475 ms"]), (2, ["1,188 images/s"])]
    for cell in (printed, shown):
        cell.metadata["tags"] = [ex.KEEP_TAG]
    assert untagged_measurements(nb) == []
    assert TEMPORARY_PATH.search("this chapter writes its files to /tmp/edu-cnn-ch08-25onw1p9")
    assert not TEMPORARY_PATH.search("this chapter writes its files to WORK, a new folder in /tmp")


def _pictures(nb) -> list[tuple[str, str, bytes, dict]]:
    """(where, mime, bytes, metadata) of every stored picture in the notebook."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/jpeg"):
                if mime in output.get("data", {}):
                    found.append(
                        (
                            f"cell {index}",
                            mime,
                            base64.b64decode(output.data[mime]),
                            output.get("metadata", {}).get(mime, {}),
                        )
                    )
    state = nb.metadata.get("widgets", {}).get(ex.WIDGET_STATE, {}).get("state", {})
    for model_id, model in state.items():
        inner = model.get("state", {})
        if model.get("model_name") == "OutputModel":
            for output in inner.get("outputs", []):
                for mime in ("image/png", "image/jpeg"):
                    if mime in output.get("data", {}):
                        found.append(
                            (
                                f"Output widget {model_id}",
                                mime,
                                base64.b64decode(output["data"][mime]),
                                {},
                            )
                        )
        if model.get("model_name") == "ImageModel":
            for buffer in model.get("buffers", []):
                if buffer.get("path") == ["value"]:
                    data = base64.b64decode(buffer["data"])
                    if data:
                        found.append(
                            (
                                f"Image widget {model_id}",
                                f"image/{inner.get('format', 'png')}",
                                data,
                                {},
                            )
                        )
    return found


def picture_problem(data: bytes, mime: str, metadata: dict | None = None) -> str | None:
    """Why ``data`` is not a usable picture of type ``mime``, or ``None`` when it is."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            expected = {"image/png": "PNG", "image/jpeg": "JPEG"}.get(mime)
            if expected and image.format != expected:
                return f"declared {mime} but holds {image.format}"
            pixels = np.asarray(image.convert("RGBA"))
    except (UnidentifiedImageError, OSError, ValueError) as error:
        return f"does not decode ({error})"
    if pixels.size == 0:
        return "has no pixels"
    metadata = metadata or {}
    if "width" in metadata and metadata["width"] > pixels.shape[1]:
        return f"declared {metadata['width']} px wide but has {pixels.shape[1]}"
    if all(pixels[..., c].min() == pixels[..., c].max() for c in range(4)):
        return f"is blank (every pixel is {tuple(int(v) for v in pixels[0, 0])})"
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_stored_figure_decodes_and_is_not_blank(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    problems = [
        f"{where} ({mime}) {problem}"
        for where, mime, data, meta in _pictures(nb)
        if (problem := picture_problem(data, mime, meta))
    ]
    assert not problems, f"{path.name}: " + "; ".join(problems)


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_figure_check_can_fail() -> None:
    white = np.full((40, 60, 3), 255, np.uint8)
    assert "blank" in picture_problem(_png(white), "image/png")
    assert "decode" in picture_problem(b"\x89PNG\r\n\x1a\n broken", "image/png")
    assert "holds PNG" in picture_problem(_png(white), "image/jpeg")
    drawn = white.copy()
    drawn[10:20, 5:50] = (31, 119, 180)
    assert picture_problem(_png(drawn), "image/png") is None


# --------------------------------------------------------------------------- the normaliser
def _photo(size: int = 400) -> np.ndarray:
    """A smooth picture with grain, like a photograph (PNG stores it badly)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    base = 0.5 + 0.3 * np.sin(6 * x) * np.cos(4 * y)
    grain = rng.normal(0, 0.04, (size, size))
    gray = np.clip(base + grain, 0, 1)
    return (np.stack([gray, gray * 0.9, gray * 0.8], -1) * 255).astype(np.uint8)


def test_photographic_png_becomes_jpeg_and_plots_stay_png() -> None:
    photo = _png(_photo())
    jpeg = ex.photo_as_jpeg(photo)
    assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
    assert len(jpeg) * ex.PHOTO_MIN_GAIN <= len(photo)
    plot = np.full((600, 900, 3), 255, np.uint8)
    plot[::7, :] = (31, 119, 180)  # flat colours, big but PNG-friendly
    plot[:, ::11] = (255, 127, 14)
    assert ex.photo_as_jpeg(_png(plot)) is None
    transparent = np.dstack([_photo(), np.full((400, 400), 128, np.uint8)])
    assert ex.photo_as_jpeg(_png(transparent)) is None  # JPEG cannot keep the alpha


def test_large_plots_get_a_palette_that_looks_the_same() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=100)
    ax = fig.subplots()
    x = np.linspace(0, 10, 400)
    y, xx = np.mgrid[-2:2:200j, 0:10:200j]
    ax.contourf(xx, y, np.sin(xx) * np.cos(3 * y), levels=30, cmap="viridis")
    for k in range(8):
        ax.plot(x, np.sin(x + k) * (1 + k / 4), lw=1.5)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    png = buffer.getvalue()
    assert len(png) > ex.PALETTE_MIN_BYTES
    smaller = ex.palette_png(png)
    assert smaller is not None and len(smaller) <= ex.PALETTE_MAX_RATIO * len(png)
    from PIL import Image

    with Image.open(io.BytesIO(smaller)) as image:
        assert image.mode == "P" and image.size == (800, 500)
        again = np.asarray(image.convert("RGB"), dtype=int)
    with Image.open(io.BytesIO(png)) as image:
        original = np.asarray(image.convert("RGB"), dtype=int)
    assert np.abs(again - original).max(axis=-1).mean() <= ex.PALETTE_MEAN_ERROR
    assert ex.palette_png(smaller) is None  # already a palette: left alone
    assert ex.palette_png(_png(np.full((50, 50, 3), 200, np.uint8))) is None  # small


def _view(model_id: str) -> dict:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/plain": "VBox()",
            ex.WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
        },
    }


def test_pruning_keeps_what_views_reach_and_renumbers_consistently() -> None:
    def model(name: str, **state) -> dict:
        return {
            "model_name": name,
            "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0",
            "state": {"_model_name": name, **state},
        }

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("box")
    cell.outputs = [nbformat.from_dict(_view("box"))]
    nb.cells = [cell]
    nb.metadata["widgets"] = {
        ex.WIDGET_STATE: {
            "version_major": 2,
            "version_minor": 0,
            "state": {
                "box": model(
                    "VBoxModel",
                    children=["IPY_MODEL_slider", "IPY_MODEL_out"],
                    layout="IPY_MODEL_lay",
                ),
                "lay": model("LayoutModel"),
                "slider": model("IntSliderModel", layout="IPY_MODEL_lay2"),
                "lay2": model("LayoutModel"),
                "out": model("OutputModel", outputs=[_view("inner")]),
                "inner": model("HTMLModel"),
                "play": model("PlayModel"),
                "link": model(
                    "LinkModel",
                    source=["IPY_MODEL_slider", "value"],
                    target=["IPY_MODEL_out", "msg_id"],
                ),
                "link2": model(
                    "LinkModel", source=["IPY_MODEL_out", "max"], target=["IPY_MODEL_slider", "max"]
                ),
                "copy": model("VBoxModel", children=["IPY_MODEL_copy_slider"]),  # never displayed
                "copy_slider": model("IntSliderModel"),
                "copy_link": model(
                    "LinkModel",
                    source=["IPY_MODEL_copy_slider", "value"],
                    target=["IPY_MODEL_slider", "value"],
                ),
            },
        }
    }
    assert sorted(ex.orphaned_models(nb)) == ["copy", "copy_link", "copy_slider", "play"]
    kept, dropped = ex.prune_and_renumber_widgets(nb)
    assert (kept, dropped) == (8, 4)
    state = nb.metadata.widgets[ex.WIDGET_STATE]["state"]
    box_id = nb.cells[0].outputs[0].data[ex.WIDGET_VIEW]["model_id"]
    assert box_id == ex.stable_model_id(0)
    assert set(state) == {ex.stable_model_id(i) for i in range(8)}
    text = json.dumps(dict(state))
    for old in ("slider", "lay", "out", "inner", "copy"):
        assert f'IPY_MODEL_{old}"' not in text
    children = state[box_id]["state"]["children"]
    assert all(c[len("IPY_MODEL_") :] in state for c in children)
    inner_view = state[children[1][len("IPY_MODEL_") :]]["state"]["outputs"][0]
    assert inner_view["data"][ex.WIDGET_VIEW]["model_id"] in state
    assert ex.orphaned_models(nb) == []
    before = nbformat.writes(nb)  # sorts the state by the new ids
    again = nbformat.reads(before, as_version=4)
    ex.normalise(again)  # idempotent, links included
    assert nbformat.writes(again) == before


def test_measured_output_is_kept_while_the_source_is_unchanged() -> None:
    def notebook(source: str, text: str, tags: list[str], measured: str | None = None):
        nb = nbformat.v4.new_notebook()
        metadata = {
            "tags": tags,
            **({"measured_source": ex.source_hash(measured)} if measured else {}),
        }
        cell = nbformat.v4.new_code_cell(source, metadata=metadata)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells = [cell]
        return nb

    stored = notebook("print(t)", "loops: 475 ms\n", [ex.KEEP_TAG], measured="print(t)")
    fresh = notebook("print(t)", "loops: 512 ms\n", [ex.KEEP_TAG])
    assert ex.keep_measured_outputs(fresh, stored) == 1
    assert fresh.cells[0].outputs[0].text == "loops: 475 ms\n"
    assert fresh.cells[0].metadata["measured_source"] == ex.source_hash("print(t)")
    # the author edited and saved the cell, then re-executes: the stored output came from
    # the old code, so it is measured again although the stored source is the new one
    saved = notebook("print(t * 1000)", "loops: 475 ms\n", [ex.KEEP_TAG], measured="print(t)")
    rerun = notebook("print(t * 1000)", "loops: 0.5 ms\n", [ex.KEEP_TAG])
    assert ex.keep_measured_outputs(rerun, saved) == 0
    assert rerun.cells[0].outputs[0].text == "loops: 0.5 ms\n"
    edited = notebook("print(t * 1000)", "loops: 0.5 ms\n", [ex.KEEP_TAG])
    assert ex.keep_measured_outputs(edited, stored) == 0  # new code: new output
    assert edited.cells[0].outputs[0].text == "loops: 0.5 ms\n"
    untagged = notebook("print(t)", "loops: 512 ms\n", [])
    assert ex.keep_measured_outputs(untagged, stored) == 0


def _dashboard_notebook(
    source: str, status: str, curves: str, tags: list[str], ids: str, measured: str | None = None
):
    """A cell displaying a VBox(HTML status, Image curves), its models named ``ids`` + …"""
    nb = nbformat.v4.new_notebook()
    metadata = {"tags": tags, **({"measured_source": ex.source_hash(measured)} if measured else {})}
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.outputs = [nbformat.from_dict(_view(f"{ids}box"))]
    nb.cells = [cell]
    nb.metadata["widgets"] = {
        ex.WIDGET_STATE: {
            "state": {
                f"{ids}box": {
                    "model_name": "VBoxModel",
                    "state": {"children": [f"IPY_MODEL_{ids}status", f"IPY_MODEL_{ids}curves"]},
                },
                f"{ids}status": {"model_name": "HTMLModel", "state": {"value": status}},
                f"{ids}curves": {"model_name": "HTMLModel", "state": {"value": curves}},
            }
        }
    }
    return nb


def _status(nb) -> tuple[str, str]:
    state = nb.metadata.widgets[ex.WIDGET_STATE]["state"]
    box = nb.cells[0].outputs[0].data[ex.WIDGET_VIEW]["model_id"]
    status, curves = (c[len("IPY_MODEL_") :] for c in state[box]["state"]["children"])
    return state[status]["state"]["value"], state[curves]["state"]["value"]


def test_measured_text_in_a_widget_is_kept_and_the_rest_is_fresh() -> None:
    stored = _dashboard_notebook(
        "d",
        "Finished – accuracy 96.8 % · 1,188 images/s · 15 s",
        "curve A",
        [ex.KEEP_TAG],
        "old-",
        measured="d",
    )
    fresh = _dashboard_notebook(
        "d", "Finished – accuracy 96.8 % · 1,201 images/s · 16 s", "curve B", [ex.KEEP_TAG], "new-"
    )
    assert ex.keep_measured_outputs(fresh, stored) == 1
    # the measurement is the stored one, the widget and what it draws are the fresh ones
    assert _status(fresh) == ("Finished – accuracy 96.8 % · 1,188 images/s · 15 s", "curve B")
    assert fresh.cells[0].outputs[0].data[ex.WIDGET_VIEW]["model_id"] == "new-box"
    assert fresh.cells[0].metadata["measured_source"] == ex.source_hash("d")
    # anything else changed beside the times: the whole fresh text, times included
    better = _dashboard_notebook(
        "d", "Finished – accuracy 97.1 % · 1,201 images/s · 16 s", "curve B", [ex.KEEP_TAG], "n-"
    )
    assert ex.keep_measured_outputs(better, stored) == 0
    assert _status(better)[0] == "Finished – accuracy 97.1 % · 1,201 images/s · 16 s"
    for source, tags in (("d2", [ex.KEEP_TAG]), ("d", [])):  # edited code, or no tag
        other = _dashboard_notebook(source, "Finished – 1,201 images/s", "c", tags, "x-")
        assert ex.keep_measured_outputs(other, stored) == 0
        assert _status(other)[0] == "Finished – 1,201 images/s"
    again = _dashboard_notebook("d", "Finished – 1,201 images/s", "c", [ex.KEEP_TAG], "y-")
    assert ex.keep_measured_outputs(again, stored, measure_again=True) == 0
    assert _status(again)[0] == "Finished – 1,201 images/s"
    assert again.cells[0].metadata["measured_source"] == ex.source_hash("d")


def test_only_measurements_differ() -> None:
    assert ex.only_measurements_differ("1,188 images/s · 15 s", "1,201 images/s · 9 s")
    assert ex.only_measurements_differ("loops 305.09 ms", "loops 1,002.5 ms")
    assert not ex.only_measurements_differ("loops 305 ms", "loops 305 ms")  # nothing differs
    assert not ex.only_measurements_differ("accuracy 96.8 % · 15 s", "accuracy 97.0 % · 15 s")
    assert not ex.only_measurements_differ("2,512× faster", "2,400× faster")  # a ratio
    assert not ex.only_measurements_differ("k=3 s=1", "k=5 s=1")  # not a time
    assert not ex.only_measurements_differ("3 steps", "4 steps")
    # reprs cut by IPython: a shorter number leaves room for more text, or is cut itself
    cut = "VBox(children=(HTML(value='6/6 · {} images/s · 15 s'), IntSlider(value=7, max=9"
    long, short = cut.format("19,564,226")[:70] + "…", cut.format("998")[:70] + "…"
    assert ex.only_measurements_differ(long, short)
    assert ex.only_measurements_differ(cut.format("1,188")[:50] + "…", long[:39] + "…")
    assert not ex.only_measurements_differ(cut[:33] + "7…", cut[:33] + "8…")  # no time seen
    assert not ex.only_measurements_differ(long, cut.replace("6/6", "5/6")[:70] + "…")


# --------------------------------------------------------------------------- execution
def _execute_twice(source: Path, tmp_path: Path) -> tuple[bytes, bytes]:
    env = {**os.environ, **NOTEBOOK_ENV}
    outputs = []
    for run in ("first", "second"):
        out = tmp_path / run
        subprocess.run(
            [sys.executable, str(SCRIPT), str(source), "--out", str(out), "--timeout", "300"],
            check=True,
            env=env,
            timeout=600,
            capture_output=True,
        )
        outputs.append((out / source.name).read_bytes())
    return outputs[0], outputs[1]


SMALL_NOTEBOOK = [
    "import ipywidgets as widgets\nimport sys, numpy as np",
    (
        "copy = widgets.IntSlider(3)            # a copy that drives nothing on screen\n"
        "copy.value = 5"
    ),
    "shown = widgets.VBox([widgets.IntSlider(2), widgets.Output()])\nshown",
    "for i in range(3):\n    print(i)\n    sys.stdout.flush()",
    (
        "import matplotlib.pyplot as plt\n"
        "rng = np.random.default_rng(0)\n"
        "y, x = np.mgrid[0:300, 0:400] / 300\n"
        "photo = np.clip(0.5 + 0.3 * np.sin(6 * x) + rng.normal(0, 0.05, x.shape), 0, 1)\n"
        "fig, ax = plt.subplots(figsize=(8, 6), dpi=100)\n"
        "ax.imshow(photo, cmap='gray'); ax.set_axis_off(); plt.show()"
    ),
]


@pytest.mark.slow
def test_small_widget_notebook_executes_to_the_same_bytes(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in SMALL_NOTEBOOK]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    source = tmp_path / "small.ipynb"
    nbformat.write(nb, source)
    first, second = _execute_twice(source, tmp_path)
    assert first == second
    done = nbformat.reads(first.decode(), as_version=4)
    assert ex.orphaned_models(done) == []
    state = done.metadata.widgets[ex.WIDGET_STATE]["state"]
    assert ex.stable_model_id(0) in state
    assert not any(m["state"].get("value") == 5 for m in state.values())  # the copy is gone
    assert done.cells[3].outputs[0].text == "0\n1\n2\n"  # one stream
    pictures = [o for o in done.cells[4].outputs if "image/jpeg" in o.get("data", {})]
    assert pictures, "the photographic figure was not stored as JPEG"
    assert all("execution" not in c.metadata for c in done.cells)


MEASURED_NOTEBOOK = [
    "import time\nimport ipywidgets as widgets\nfrom edu_cnn.widgets.dashboard import status_html",
    (
        "start = time.perf_counter()\n"
        "total = sum(range(200_000))\n"
        "print(f'sum {total:,} in {1e3 * (time.perf_counter() - start):.3f} ms')"
    ),
    (
        "from edu_cnn.widgets.dashboard import DashboardState\n"
        "start = time.perf_counter()\n"
        "sum(range(200_000))\n"
        "took = time.perf_counter() - start\n"
        "state = DashboardState(epochs=2, batches_per_epoch=3, epoch=1, batch=2,\n"
        "                       phase='finished', images_per_second=6e5 / took, elapsed=took)\n"
        "widgets.VBox([widgets.HTML(status_html(state)), widgets.IntSlider(7)])"
    ),
]


@pytest.mark.slow
def test_measured_cells_execute_twice_in_place_to_the_same_bytes(tmp_path: Path) -> None:
    """What an author does: execute, then execute again without a change (in place, so the
    second run finds the first one's measurements). That an edited cell is measured again
    is checked without a kernel (test_measured_output_is_kept_while_the_source_is_unchanged)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in MEASURED_NOTEBOOK]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
        if i:
            cell.metadata["tags"] = [ex.KEEP_TAG]
    path = tmp_path / "measured.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, **NOTEBOOK_ENV}

    def execute() -> bytes:
        command = [sys.executable, str(SCRIPT), str(path), "--timeout", "300"]
        subprocess.run(command, check=True, env=env, timeout=600, capture_output=True)
        return path.read_bytes()

    first, second = execute(), execute()
    assert first == second
    done = nbformat.reads(first.decode(), as_version=4)
    assert re.fullmatch(r"sum 19,999,900,000 in \d+\.\d{3} ms\n", done.cells[1].outputs[0].text)
    state = done.metadata.widgets[ex.WIDGET_STATE]["state"]
    status = [m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel"]
    assert len(status) == 1 and re.search(r"[\d,]+ images/s", status[0]), status


@pytest.mark.slow
@pytest.mark.parametrize("name", DETERMINISM_SUBSET)
def test_course_notebook_executes_twice_to_the_same_bytes(name: str, tmp_path: Path) -> None:
    first, second = _execute_twice(ROOT / "notebooks" / name, tmp_path)
    if first != second:
        a, b = first.decode().splitlines(), second.decode().splitlines()
        changed = [
            f"line {i + 1}: {x[:80]!r} / {y[:80]!r}"
            # strict=False: the runs may differ in length; the lines both have show the change
            for i, (x, y) in enumerate(zip(a, b, strict=False))
            if x != y
        ]
        pytest.fail(
            f"{name}: a second execution changed {len(changed)} lines "
            f"({len(a)} vs {len(b)} lines), e.g. {changed[:3]}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_nbval_markers_stand_alone(path: Path) -> None:
    """nbval reads ``# NBVAL_IGNORE_OUTPUT`` only as a whole line: with a reason after it
    the cell is compared after all (and fails on the next machine). Reasons go below."""
    nb = nbformat.read(path, as_version=4)
    bad = [
        (i, line.strip())
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if re.match(r"\s*#\s*(NBVAL|PYTEST_VALIDATE)_[A-Z_]+\s*\S", line)
        and not re.fullmatch(r"\s*#\s*(NBVAL|PYTEST_VALIDATE)_[A-Z_]+\s*", line)
    ]
    assert not bad, (
        f"{path.name}: nbval markers with text after them (put it on the next line): {bad}"
    )
