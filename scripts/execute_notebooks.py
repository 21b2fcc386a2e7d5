"""Run notebooks top to bottom in a fresh kernel and store their outputs, small and stable.

Used by ``make execute-notebooks`` after a notebook is edited, so that the outputs nbval
compares in ``make test`` are the fresh ones. Run it with the same settings as the tests
(the Makefile sets them)::

    python scripts/execute_notebooks.py notebooks/04_convolution.ipynb [--out DIR] [--measure-again]

Executing a notebook twice without a change gives the same bytes, because after the run
the notebook is *normalised* (:func:`normalise`):

- no execution timestamps (nbclient's ``record_timing`` is off, and old
  ``metadata.execution`` blocks are removed);
- no ``language_info.version`` (it changes with every Python patch release);
- the saved widget state keeps only the models a displayed widget view reaches
  (children, layouts, styles, Output widgets and what they display, and ``jslink``
  links between kept models); the models of widget copies that cells create but never
  display are dropped;
- widget model ids are renumbered in the order they are first reached (cell by cell),
  as name-based UUIDs, consistently in the state and in the outputs'
  ``application/vnd.jupyter.widget-view+json`` references;
- consecutive stream outputs are merged (how ``print`` output splits into messages
  depends on when the kernel flushes);
- a cell tagged ``keep-stored-output`` (its output is a wall-clock measurement) keeps
  its stored output while its source is unchanged; when it displays widgets (a training
  dashboard's "1,188 images/s · 15 s"), the widgets are fresh, and only their texts that
  differ from the stored ones in nothing but measurements get the stored texts back
  (:func:`keep_measured_outputs`; ``--measure-again`` measures afresh);
- large photographic PNG figures (over ``PHOTO_MIN_BYTES`` and at least
  ``1 / PHOTO_MIN_GAIN`` smaller as JPEG) are stored as JPEG (quality ``JPEG_QUALITY``),
  both as cell outputs and as the saved pictures of ``Image`` widgets; other PNGs over
  ``PALETTE_MIN_BYTES`` (plots) get a 256-colour palette when that looks the same and is
  much smaller (:func:`palette_png`). Nothing in the notebook has to ask for this.

``normalise`` is pure (notebook in, notebook out) and is what
``tests/test_notebook_hygiene.py`` checks the stored notebooks against.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import io
import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MODEL_PREFIX = "IPY_MODEL_"
LINK_MODELS = {"LinkModel", "DirectionalLinkModel"}
#: Tag of a cell whose output is a wall-clock measurement: see keep_measured_outputs.
KEEP_TAG = "keep-stored-output"
#: A wall-clock measurement in text: "475 ms", "0.069 ms", "1,188 images/s", "15 s" (the
#: units of nbval's timing sanitiser in notebooks/sanitize.cfg); not "k=3 s=1".
MEASUREMENT = re.compile(r"\d[\d,]*(\.\d+)? ?(ms|µs|us|ns|s|images/s|img/s)\b(?!=)")

#: PNGs smaller than this stay as they are (line plots, small pictures).
PHOTO_MIN_BYTES = 100_000
#: Re-encode only when the JPEG is at most 1 / PHOTO_MIN_GAIN of the PNG's size.
PHOTO_MIN_GAIN = 2.0
JPEG_QUALITY = 85
#: Other PNGs over this size are stored with a 256-colour palette when that is at most
#: PALETTE_MAX_RATIO of their size and changes no pixel visibly (see palette_png).
PALETTE_MIN_BYTES = 30_000
PALETTE_MAX_RATIO = 0.75
PALETTE_MEAN_ERROR = 1.0  # mean of the largest channel difference, in 0..255
PALETTE_P999_ERROR = 32  # 99.9th percentile of it (anti-aliased edges)

#: Namespace of the renumbered widget model ids (uuid5 of "<n>"); any fixed UUID works.
_ID_NAMESPACE = uuid.UUID("6b1f3c8e-6f0e-4c59-9d1e-ed0c0c11e5a1")


# --------------------------------------------------------------------------- widget state
def _references(value: Any, known: dict[str, Any]) -> Iterator[str]:
    """Model ids that ``value`` (any JSON value) refers to, in document order.

    A reference is either a ``"IPY_MODEL_<id>"`` string (children, layout, style, link
    endpoints) or a widget-view mime bundle (a widget displayed inside an Output widget).
    Only ids present in ``known`` count.
    """
    if isinstance(value, str):
        if value.startswith(MODEL_PREFIX) and value[len(MODEL_PREFIX) :] in known:
            yield value[len(MODEL_PREFIX) :]
    elif isinstance(value, dict):
        view = value.get(WIDGET_VIEW)
        if isinstance(view, dict) and view.get("model_id") in known:
            yield view["model_id"]
        for key in sorted(value):
            if key != WIDGET_VIEW:
                yield from _references(value[key], known)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, known)


def _rename(value: Any, new_ids: dict[str, str]) -> Any:
    """A copy of ``value`` with every model reference mapped through ``new_ids``."""
    if isinstance(value, str):
        if value.startswith(MODEL_PREFIX) and value[len(MODEL_PREFIX) :] in new_ids:
            return MODEL_PREFIX + new_ids[value[len(MODEL_PREFIX) :]]
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "model_id" and isinstance(item, str) and item in new_ids:
                out[key] = new_ids[item]
            else:
                out[key] = _rename(item, new_ids)
        return out
    if isinstance(value, list):
        return [_rename(item, new_ids) for item in value]
    return value


def displayed_model_ids(cells: list[Any]) -> list[str]:
    """The model ids of the widget views stored in the cells' outputs, in order."""
    ids: list[str] = []
    for cell in cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and "model_id" in view and view["model_id"] not in ids:
                ids.append(view["model_id"])
    return ids


def reachable_models(state: dict[str, Any], roots: list[str]) -> list[str]:
    """The models reached from ``roots`` through the state, in first-visit order.

    A ``jslink`` / ``jsdlink`` model is reached from nothing, so it is kept when every
    model it links is kept (the saved page then keeps e.g. a Play button tied to its
    slider).
    """
    order: list[str] = []
    seen: set[str] = set()

    def visit(model_id: str) -> None:
        stack = [model_id]
        while stack:
            current = stack.pop()
            if current in seen or current not in state:
                continue
            seen.add(current)
            order.append(current)
            refs = list(_references(state[current].get("state", {}), state))
            stack.extend(reversed(refs))

    for root in roots:
        visit(root)
    changed = True
    while changed:
        changed = False
        # links in an order that does not depend on the state's key order (which the
        # renumbering changes): by what they link, named by the kept models' positions
        position = {model_id: str(i) for i, model_id in enumerate(order)}
        candidates = []
        for model_id, model in state.items():
            if model_id in seen or model.get("model_name") not in LINK_MODELS:
                continue
            refs = list(_references(model.get("state", {}), state))
            if refs and all(ref in seen for ref in refs):
                key = json.dumps(_rename(model.get("state", {}), position), sort_keys=True)
                candidates.append((key, model_id))
        for _, model_id in sorted(candidates):
            visit(model_id)
            changed = True
    return order


def stable_model_id(index: int) -> str:
    """The ``index``-th renumbered model id (a name-based UUID, 32 hex digits)."""
    return uuid.uuid5(_ID_NAMESPACE, str(index)).hex


def prune_and_renumber_widgets(nb: Any) -> tuple[int, int]:
    """Keep only reachable widget models and give them stable ids (in place).

    Returns
    -------
    (kept, dropped) : the number of models kept and dropped.
    """
    widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    roots = displayed_model_ids(nb.cells)
    if not widgets or "state" not in widgets:
        return 0, 0
    state = widgets["state"]
    kept = reachable_models(state, roots)
    new_ids = {old: stable_model_id(i) for i, old in enumerate(kept)}
    # outputs referring to models that are not in the state (e.g. a widget closed before
    # the end of the run) keep their reference, renumbered so the bytes stay stable
    for old in roots:
        if old not in new_ids:
            new_ids[old] = stable_model_id(len(new_ids))
    new_state = {new_ids[old]: _rename(state[old], new_ids) for old in kept}
    widgets["state"] = nbformat.from_dict(new_state)
    for cell in nb.cells:
        if "outputs" in cell:
            cell["outputs"] = [nbformat.from_dict(_rename(o, new_ids)) for o in cell["outputs"]]
    if not new_state:
        del nb.metadata["widgets"]
    return len(kept), len(state) - len(kept)


def orphaned_models(nb: Any) -> list[str]:
    """The saved widget models no displayed widget view reaches (should be none)."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    kept = set(reachable_models(state, displayed_model_ids(nb.get("cells", []))))
    return [model_id for model_id in state if model_id not in kept]


# --------------------------------------------------------------------------- figures
def photo_as_jpeg(png: bytes) -> bytes | None:
    """``png`` re-encoded as JPEG when it is a large photographic picture, else ``None``.

    Photographic means: over ``PHOTO_MIN_BYTES`` as PNG, fully opaque, and at least
    ``PHOTO_MIN_GAIN`` times smaller as JPEG at quality ``JPEG_QUALITY``. Plots of flat
    colours fail the last test and stay lossless.
    """
    if len(png) < PHOTO_MIN_BYTES:
        return None
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.load()
        if image.mode in ("RGBA", "LA") or "transparency" in image.info:
            alpha = image.convert("RGBA").getchannel("A")
            if alpha.getextrema()[0] < 255:
                return None  # transparent parts: JPEG would fill them
        rgb = image.convert("L" if image.mode in ("L", "LA", "1") else "RGB")
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    jpeg = buffer.getvalue()
    return jpeg if len(jpeg) * PHOTO_MIN_GAIN <= len(png) else None


def palette_png(png: bytes) -> bytes | None:
    """``png`` as a 256-colour palette PNG when that is much smaller and looks the same.

    Matplotlib writes RGBA PNGs with thousands of anti-aliasing shades; a median-cut
    palette of 256 colours (no dithering) keeps plots visually identical – the mean
    pixel difference stays under ``PALETTE_MEAN_ERROR`` of 255 and 99.9 % of the pixels
    within ``PALETTE_P999_ERROR`` – at a third of the size. ``None`` when the picture is
    small, transparent, already a palette PNG, or would change more than that.
    """
    if len(png) < PALETTE_MIN_BYTES:
        return None
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.load()
        if image.format != "PNG" or image.mode in ("P", "L", "1"):
            return None
        if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255:
            return None
        rgb = image.convert("RGB")
    quantised = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    error = np.abs(
        np.asarray(quantised.convert("RGB"), dtype=np.int16) - np.asarray(rgb, dtype=np.int16)
    ).max(axis=-1)
    if error.mean() > PALETTE_MEAN_ERROR or np.percentile(error, 99.9) > PALETTE_P999_ERROR:
        return None
    buffer = io.BytesIO()
    quantised.save(buffer, "PNG", optimize=True)
    smaller = buffer.getvalue()
    return smaller if len(smaller) <= PALETTE_MAX_RATIO * len(png) else None


def _shrink_outputs(outputs: list[Any]) -> int:
    """Re-encode photographic PNG outputs as JPEG in place; return the bytes saved."""
    saved = 0
    for output in outputs:
        data = output.get("data")
        if not isinstance(data, dict) or "image/png" not in data:
            continue
        png_text = data["image/png"]
        if isinstance(png_text, list):
            png_text = "".join(png_text)
        png = base64.b64decode(png_text)
        jpeg = photo_as_jpeg(png)
        if jpeg is None:
            smaller = palette_png(png)
            if smaller is not None:
                data["image/png"] = base64.b64encode(smaller).decode("ascii")
                saved += len(png) - len(smaller)
            continue
        del data["image/png"]
        data["image/jpeg"] = base64.b64encode(jpeg).decode("ascii")
        metadata = output.get("metadata", {})
        if "image/png" in metadata:
            metadata["image/jpeg"] = metadata.pop("image/png")
        saved += len(png) - len(jpeg)
    return saved


def shrink_figures(nb: Any) -> int:
    """Store large photographic pictures as JPEG (in place); return the bytes saved.

    Covers cell outputs, the outputs saved inside Output widgets, and the ``value``
    buffers of ``Image`` widgets whose ``format`` is ``png``.
    """
    saved = 0
    for cell in nb.cells:
        saved += _shrink_outputs(cell.get("outputs", []))
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in state.values():
        inner = model.get("state", {})
        if model.get("model_name") == "OutputModel":
            saved += _shrink_outputs(inner.get("outputs", []))
        if model.get("model_name") == "ImageModel" and inner.get("format") == "png":
            for buffer in model.get("buffers", []):
                if buffer.get("path") != ["value"] or buffer.get("encoding") != "base64":
                    continue
                png = base64.b64decode(buffer["data"])
                jpeg = photo_as_jpeg(png)
                if jpeg is not None:
                    buffer["data"] = base64.b64encode(jpeg).decode("ascii")
                    inner["format"] = "jpeg"
                    saved += len(png) - len(jpeg)
                elif (smaller := palette_png(png)) is not None:
                    buffer["data"] = base64.b64encode(smaller).decode("ascii")
                    saved += len(png) - len(smaller)
    return saved


# --------------------------------------------------------------------------- outputs
def coalesce_streams(outputs: list[Any]) -> list[Any]:
    """Consecutive stream outputs of one stream merged (how they split depends on flushes).

    nbval compares outputs merged the same way, so this changes nothing it sees.
    """
    merged: list[Any] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and output.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and last.get("name") == output.get("name")
        ):
            last["text"] = _text(last["text"]) + _text(output["text"])
        else:
            merged.append(output)
    return merged


def _text(text: str | list[str]) -> str:
    return "".join(text) if isinstance(text, list) else text


def coalesce_all_streams(nb: Any) -> None:
    """:func:`coalesce_streams` on every cell and every saved Output widget (in place)."""
    for cell in nb.cells:
        if "outputs" in cell:
            cell["outputs"] = coalesce_streams(cell["outputs"])
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in state.values():
        inner = model.get("state", {})
        if model.get("model_name") == "OutputModel" and inner.get("outputs"):
            inner["outputs"] = coalesce_streams(inner["outputs"])


def source_hash(source: str | list[str]) -> str:
    """A short fingerprint of a cell's code, stored beside a kept measurement."""
    return hashlib.sha256(_text(source).encode("utf-8")).hexdigest()[:16]


#: The end of a repr that IPython cut off ("… 19,564,2…"): perhaps part of a measurement.
_CUT_MEASUREMENT = re.compile(r"[\d,.]*\s*[a-zµ/]*$")


def only_measurements_differ(new: str, old: str) -> bool:
    """Whether two texts are the same but for wall-clock measurements (see ``MEASUREMENT``).

    A widget's ``text/plain`` repr is cut at a fixed length and ends in "…"; two such texts
    count as the same when, measurements replaced and a measurement cut at the end left
    out, one is the start of the other (a shorter number leaves room for more text), and at
    least one of them shows a whole measurement.
    """
    if new == old:
        return False
    a, b = MEASUREMENT.sub("<T>", new), MEASUREMENT.sub("<T>", old)
    if a == b:
        return True
    if new.endswith("…") and old.endswith("…") and (a != new or b != old):
        a, b = (_CUT_MEASUREMENT.sub("", text[:-1]) for text in (a, b))
        return abs(len(a) - len(b)) <= 24 and (a.startswith(b) or b.startswith(a))
    return False


def _paired_models(
    new_state: dict[str, Any], old_state: dict[str, Any], new_roots: list[str], old_roots: list[str]
) -> list[tuple[str, str]]:
    """Pairs (new id, old id) of the same widget in two runs, found by walking both states.

    Starting from the views two runs of one cell display, the references of paired models
    are paired in order while they lead to models of the same kind; the walk stops where the
    two runs' widgets differ in shape.
    """
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    # strict=False: the two runs may display a different number of widgets; pair what both have
    stack = list(zip(new_roots, old_roots, strict=False))[::-1]
    while stack:
        new_id, old_id = stack.pop()
        if new_id in seen or new_id not in new_state or old_id not in old_state:
            continue
        new_model, old_model = new_state[new_id], old_state[old_id]
        if new_model.get("model_name") != old_model.get("model_name"):
            continue
        seen.add(new_id)
        pairs.append((new_id, old_id))
        new_refs = list(_references(new_model.get("state", {}), new_state))
        old_refs = list(_references(old_model.get("state", {}), old_state))
        if len(new_refs) == len(old_refs):
            stack.extend(reversed(list(zip(new_refs, old_refs, strict=True))))
    return pairs


def _keep_measured_text(new: Any, old: Any) -> int:
    """Strings of ``new`` that differ from ``old``'s only in measurements get ``old``'s back.

    ``new`` and ``old`` are JSON values of the same place in two runs (a widget's state,
    a cell's outputs); they are walked in parallel while their shapes agree. Returns the
    number of strings given back; ``new`` is changed in place.
    """
    kept = 0
    if isinstance(new, dict) and isinstance(old, dict):
        for key, value in new.items():
            if key not in old:
                continue
            if isinstance(value, str) and isinstance(old[key], str):
                if only_measurements_differ(value, old[key]):
                    new[key] = old[key]
                    kept += 1
            else:
                kept += _keep_measured_text(value, old[key])
    elif isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        if all(isinstance(v, str) for v in new + old):  # multi-line text stored as a list
            if only_measurements_differ("".join(new), "".join(old)):
                new[:] = old
                kept += 1
        else:
            for new_item, old_item in zip(new, old, strict=True):
                kept += _keep_measured_text(new_item, old_item)
    return kept


def _widget_state(nb: Any) -> dict[str, Any]:
    return nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def keep_measured_outputs(executed: Any, stored: Any, measure_again: bool = False) -> int:
    """Give cells tagged ``KEEP_TAG`` their stored measurements back while their code is the
    code that measured them.

    Such a cell shows a measurement of wall-clock time (e.g. "loops: 475 ms, im2col:
    1.8 ms", or a training dashboard's "1,188 images/s · 15 s"), which differs on every
    run; keeping the stored measurement while the code is unchanged keeps the notebook's
    bytes stable. Each measured cell carries ``metadata.measured_source``, the fingerprint
    of the code its output came from: comparing with the stored cell's *source* would not
    do, because an author saves the edited code before re-executing.

    A cell whose outputs are text gets its stored outputs back whole. A cell that displays
    widgets keeps its fresh outputs and widget state – the models were re-made, and the
    curves or accuracy they show may have changed – except that every text in them (a
    widget's ``value``, ``description`` …, or a printed line) that differs from the stored
    one *only* in its measurements (``MEASUREMENT``) gets the stored text back. Any other
    change to such a text (a new accuracy beside the images/s) keeps the whole fresh text,
    measurements included.

    ``measure_again`` keeps nothing (after a change outside the cell that makes it faster
    or slower, e.g. a new convolution in ``edu_cnn``), but still stores the fingerprints.
    Returns the number of cells whose measurements were kept.
    """
    kept = 0
    new_state, old_state = _widget_state(executed), _widget_state(stored)
    # the executed notebook is the stored one run: its cells pair with the stored ones one to one
    for new, old in zip(executed.cells, stored.cells, strict=True):
        if KEEP_TAG not in new.get("metadata", {}).get("tags", []) or new.get("outputs") is None:
            continue
        fingerprint = source_hash(new.source)
        new.metadata["measured_source"] = fingerprint
        if measure_again or not old.get("outputs"):
            continue
        if old.get("metadata", {}).get("measured_source") == fingerprint:
            new_views, old_views = displayed_model_ids([new]), displayed_model_ids([old])
            if not new_views and not old_views:
                new["outputs"] = copy.deepcopy(old["outputs"])
                kept += 1
            elif new_views and old_views:
                given_back = 0
                # printed text, and the views' text/plain reprs (their model ids differ)
                given_back = _keep_measured_text(new["outputs"], old["outputs"])
                for new_id, old_id in _paired_models(new_state, old_state, new_views, old_views):
                    given_back += _keep_measured_text(
                        new_state[new_id].get("state", {}), old_state[old_id].get("state", {})
                    )
                kept += given_back > 0
    return kept


# --------------------------------------------------------------------------- metadata
def stable_metadata(nb: Any) -> None:
    """Drop what changes between runs without a change to the notebook (in place)."""
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def normalise(nb: Any) -> dict[str, int]:
    """Make an executed notebook small and stable (in place); return what was done."""
    stable_metadata(nb)
    coalesce_all_streams(nb)
    kept, dropped = prune_and_renumber_widgets(nb)
    saved = shrink_figures(nb)
    return {"widget_models_kept": kept, "widget_models_dropped": dropped, "jpeg_bytes_saved": saved}


# --------------------------------------------------------------------------- running
def run(nb: Any, cwd: Path, timeout: int = 600, measure_again: bool = False) -> Any:
    """Execute ``nb`` (a copy is made) in a fresh kernel started in ``cwd``; return it.

    The measurements of cells tagged ``KEEP_TAG`` are kept from ``nb`` unless
    ``measure_again`` (see :func:`keep_measured_outputs`).
    """
    executed = copy.deepcopy(nb)
    NotebookClient(
        executed,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        store_widget_state=True,
    ).execute()
    keep_measured_outputs(executed, nb, measure_again)
    normalise(executed)
    return executed


def execute(
    path: Path, timeout: int = 600, out: Path | None = None, measure_again: bool = False
) -> float:
    """Execute the notebook at ``path`` and write it (to ``out`` when given); return seconds.

    The kernel starts in the notebook's own folder, wherever the result is written.
    """
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    executed = run(notebook, path.resolve().parent, timeout, measure_again)
    elapsed = time.perf_counter() - start
    nbformat.write(executed, out if out is not None else path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the executed notebooks into this folder instead of "
        "in place (the kernel still runs in the notebook's folder)",
    )
    parser.add_argument(
        "--measure-again",
        action="store_true",
        help=f"store fresh measurements in the cells tagged {KEEP_TAG} (e.g. after a change "
        "in edu_cnn made them faster); by default they keep theirs while their code is unchanged",
    )
    args = parser.parse_args(argv)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"no notebook at {path}")
        target = args.out / path.name if args.out is not None else path
        elapsed = execute(path, args.timeout, target, args.measure_again)
        print(f"{path}: {elapsed:.1f} s, {target.stat().st_size / 1e6:.2f} MB -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
