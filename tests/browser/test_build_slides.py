"""How ``scripts/build_slides.py`` prepares a notebook for its deck (no browser needed)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .paths import build_slides_module

build_slides = build_slides_module()

VIEW = build_slides.WIDGET_VIEW
STATE = build_slides.WIDGET_STATE


def _model(module: str, name: str, **state: object) -> dict:
    return {
        "model_module": module,
        "model_name": name,
        "model_module_version": "2.0.0",
        "state": state,
    }


def _widget_output(model_id: str) -> nbformat.NotebookNode:
    return new_output(
        "display_data",
        data={
            VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
            "text/plain": "VBox(children=(...))",
        },
    )


def _notebook() -> nbformat.NotebookNode:
    core_box = _model(
        "@jupyter-widgets/controls",
        "VBoxModel",
        children=["IPY_MODEL_slider", "IPY_MODEL_image"],
        layout="IPY_MODEL_lay",
    )
    canvas_box = _model("@jupyter-widgets/controls", "VBoxModel", children=["IPY_MODEL_canvas"])
    state = {
        "box": core_box,
        "slider": _model("@jupyter-widgets/controls", "IntSliderModel", layout="IPY_MODEL_lay"),
        "image": _model("@jupyter-widgets/controls", "ImageModel"),
        "lay": _model("@jupyter-widgets/base", "LayoutModel"),
        "cbox": canvas_box,
        "canvas": _model("ipycanvas", "CanvasModel"),
        "hidden": _model("@jupyter-widgets/controls", "IntSliderModel"),
    }
    cells = [
        new_markdown_cell("Intro without a heading"),
        new_markdown_cell("## Chapter *4* – [Convolution](x.md) (卷积)\n\ntext"),
        new_code_cell("# NBVAL_IGNORE_OUTPUT\nbox", outputs=[_widget_output("box")]),
        new_code_cell("canvas", outputs=[_widget_output("cbox")]),
        new_code_cell("missing", outputs=[_widget_output("not-saved")]),
        new_code_cell(
            "hidden", outputs=[_widget_output("hidden")], metadata={"tags": ["hide-in-slides"]}
        ),
        new_code_cell(
            "import warnings",
            outputs=[
                new_output("stream", name="stderr", text="UserWarning: x"),
                new_output("stream", name="stdout", text="kept"),
            ],
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["widgets"] = {STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def test_title_is_the_first_heading_without_markup() -> None:
    assert build_slides.chapter_title(_notebook(), "fallback") == "Chapter 4 – Convolution (卷积)"
    assert build_slides.chapter_title(new_notebook(cells=[]), "fallback") == "fallback"


def test_widgets_the_deck_can_draw_are_kept_with_just_their_state(tmp_path) -> None:
    nb = _notebook()
    counts = build_slides.prepare_for_deck(nb, tmp_path, "x")
    assert VIEW in nb.cells[2].outputs[0]["data"]
    kept = set(nb.metadata["widgets"][STATE]["state"])
    assert kept == {"box", "slider", "image", "lay"}  # not the hidden cell's, not ipycanvas
    assert counts == {"widgets_shown": 1, "widgets_replaced": 2}


def test_widgets_the_deck_cannot_draw_become_a_note(tmp_path) -> None:
    nb = _notebook()
    build_slides.prepare_for_deck(nb, tmp_path, "x")
    for cell in nb.cells[3:5]:  # ipycanvas inside; no saved state
        assert cell.outputs[0]["data"] == {"text/html": build_slides.LIVE_WIDGET_NOTE}


def test_scaffolding_is_removed_from_what_the_audience_sees(tmp_path) -> None:
    nb = _notebook()
    build_slides.prepare_for_deck(nb, tmp_path, "x")
    assert nb.cells[2].source == "box"
    assert [o.get("name") for o in nb.cells[6].outputs] == ["stdout"]


def test_no_widget_on_a_slide_means_no_widget_manager(tmp_path) -> None:
    nb = _notebook()
    nb.cells[2].metadata["slideshow"] = {"slide_type": "skip"}
    build_slides.prepare_for_deck(nb, tmp_path, "x")
    assert "widgets" not in nb.metadata


def test_local_images_are_made_absolute_for_embedding(tmp_path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"png")
    source = '![a](images/a.png) ![b](https://x.org/b.png) <img src="images/a.png"> ![c](no.png)'
    fixed = build_slides._absolute_image_links(source, tmp_path)
    absolute = (tmp_path / "images" / "a.png").as_posix()
    assert fixed == (
        f'![a]({absolute}) ![b](https://x.org/b.png) <img src="{absolute}"> ![c](no.png)'
    )
