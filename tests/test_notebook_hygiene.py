"""The stored notebooks are small, stable and hold pictures that are really there.

Checks on every notebook in ``notebooks/`` (fast, no kernel):

- at most 1 MB each and 3.5 MB together;
- no saved widget model that no displayed widget view reaches (orphans of widget copies
  that cells create but never display);
- what ``scripts/execute_notebooks.py`` writes: normalising the stored notebook again
  changes no byte (no execution timestamps, no ``language_info.version``, renumbered
  widget ids, photographic figures stored as JPEG);
- the figure check: every stored PNG/JPEG – cell outputs, Output widgets, Image widgets –
  decodes with Pillow, matches its declared size, and is not blank (its pixels take more
  than one value in at least one channel; a figure that failed to draw is a single
  colour). A perceptual hash would also catch a *changed* picture, but then every honest
  change of a figure needs a new reference; nbval already compares the text around it.

Execution checks (slow, each runs real kernels with the notebook test settings):

- a small notebook made here with a displayed widget, an undisplayed copy, flushed
  prints and a photographic figure, executed twice, gives the same bytes, no orphan and
  a JPEG figure;
- ``DETERMINISM_SUBSET`` of the course notebooks, executed twice by the script, gives
  the same bytes (each run takes 5–40 s on a loaded two-core machine, so not all nine).
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

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCRIPT = ROOT / "scripts" / "execute_notebooks.py"
MAX_BYTES = 1_000_000
MAX_TOTAL_BYTES = 3_500_000
DETERMINISM_SUBSET = ["00_welcome.ipynb", "06_backprop_cnn.ipynb"]

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


@pytest.mark.slow
@pytest.mark.parametrize("name", DETERMINISM_SUBSET)
def test_course_notebook_executes_twice_to_the_same_bytes(name: str, tmp_path: Path) -> None:
    first, second = _execute_twice(ROOT / "notebooks" / name, tmp_path)
    if first != second:
        a, b = first.decode().splitlines(), second.decode().splitlines()
        changed = [
            f"line {i + 1}: {x[:80]!r} / {y[:80]!r}"
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
