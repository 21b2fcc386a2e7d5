"""Chapter 8 widget: the pre-processing contract explorer (pure function, twin, wiring)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from edu_cnn.preprocess import to_model_input
from edu_cnn.widgets.deployment import (
    contract_explorer,
    contract_state,
    draw_contract,
    photo_of_digit,
)

MEAN, STD = 0.1307, 0.3081


def a_digit() -> np.ndarray:
    """A bright '7'-like stroke on black, MNIST style."""
    digit = np.zeros((28, 28), np.float32)
    digit[6:9, 7:21] = 1.0
    for row in range(9, 23):
        col = 20 - (row - 9) // 2
        digit[row, col - 1 : col + 2] = 1.0
    return digit


class Recorder:
    """A stand-in model: remembers its input, answers fixed logits."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(x.copy())
        return np.array([[0.0, 2.0, 1.0]])


def test_photo_is_dark_ink_on_light_paper_and_off_centre():
    photo = photo_of_digit(a_digit(), size=84, offset=(10, -12))
    assert photo.shape == (84, 84) and photo.dtype == np.uint8
    assert np.median(photo) > 200  # light paper
    assert photo.min() < 70  # dark ink
    ink = np.clip(np.median(photo) - photo.astype(float) - 20, 0, None)  # ink above the paper noise
    rows, cols = np.indices(photo.shape)
    centre = (rows * ink).sum() / ink.sum(), (cols * ink).sum() / ink.sum()
    assert abs(centre[0] - 42) > 4 or abs(centre[1] - 42) > 4


def test_photo_too_big_for_its_sheet():
    with pytest.raises(ValueError, match="does not fit a 40-px sheet"):
        photo_of_digit(a_digit(), size=40, scale=2.0)


def test_the_full_contract_is_what_the_command_line_feeds():
    photo = photo_of_digit(a_digit())
    run = Recorder()
    state = contract_state(photo, run, MEAN, STD)
    expected = to_model_input(photo, MEAN, STD)  # the path `python -m edu_cnn predict` takes
    np.testing.assert_allclose(run.seen[0], expected, rtol=1e-6, atol=1e-6)
    assert run.seen[0].shape == (1, 1, 28, 28) and run.seen[0].dtype == np.float32
    assert state.predicted == 1
    np.testing.assert_allclose(state.probabilities.sum(), 1.0)
    assert state.steps == {"invert": True, "centre": True, "normalise": True}


def test_each_part_of_the_contract_switched_off():
    photo = photo_of_digit(a_digit())
    full = contract_state(photo, Recorder(), MEAN, STD).network_input
    base = full * STD + MEAN  # back to [0, 1]

    no_invert = contract_state(photo, Recorder(), MEAN, STD, invert=False).network_input
    np.testing.assert_allclose(no_invert, (1 - base - MEAN) / STD, atol=1e-5)

    raw_pixels = contract_state(photo, Recorder(), MEAN, STD, normalise=False).network_input
    np.testing.assert_allclose(raw_pixels, base, atol=1e-5)
    assert raw_pixels.min() >= 0 and raw_pixels.max() <= 1

    squeezed = contract_state(photo, Recorder(), MEAN, STD, centre=False, normalise=False)
    image = squeezed.network_input
    rows, cols = np.indices(image.shape)
    centre = (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()
    assert abs(centre[0] - 14) > 1 or abs(centre[1] - 14) > 1  # not centred any more
    assert image[:, :4].max() < 0.2  # the digit shrank with the paper


def test_draw_contract_has_three_panels():
    state = contract_state(photo_of_digit(a_digit()), Recorder(), MEAN, STD)
    fig = draw_contract(state, ["a", "b", "c"], true_class=1)
    assert len(fig.axes) == 5  # three panels, a colour bar and the gap before the class labels
    assert fig.axes[4].get_title() == "prediction: 1"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_explorer_recomputes_when_a_box_is_unticked():
    photos = [photo_of_digit(a_digit(), seed=s) for s in range(2)]
    run = Recorder()
    explorer = contract_explorer(run, photos, MEAN, STD, labels=[2, 2], class_names=["a", "b", "c"])
    assert explorer.state.steps["normalise"] is True
    explorer.controls["normalise"].value = False
    assert explorer.state.steps["normalise"] is False
    assert explorer.state.network_input.min() >= 0
    explorer.controls["digit"].value = 1
    assert np.array_equal(explorer.state.raw, photos[1])
    assert "prediction <b>b</b>" in explorer.caption.value
    assert bytes(explorer.image.value).startswith(b"\x89PNG")


# -- what the notebook's course-check cell used to test (chapter 8) ----------------------------
def test_ch08_contract_explorer_invert_box_and_probabilities():
    photos = [photo_of_digit(a_digit(), seed=s) for s in range(4)]

    def logits(x: np.ndarray) -> np.ndarray:  # ten numbers from the input: a "model"
        return x.reshape(len(x), -1)[:, 300:310].astype(np.float64)

    explorer = contract_explorer(logits, photos, MEAN, STD, labels=[7, 7, 7, 7])
    explorer.controls["digit"].value = 3
    explorer.controls["invert"].value = False
    assert explorer.state.steps == {"invert": False, "centre": True, "normalise": True}
    assert explorer.state.network_input.max() > 2.5  # the paper became bright "ink"
    explorer.controls["invert"].value = True
    assert np.allclose(explorer.state.probabilities.sum(), 1.0)


def test_contract_figure_keeps_its_colour_bar_clear_of_the_class_labels():
    import matplotlib

    matplotlib.use("Agg")
    from edu_cnn.widgets.deployment import contract_state, draw_contract, photo_of_digit

    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1.0
    state = contract_state(
        photo_of_digit(digit, seed=0),
        lambda batch: np.tile(np.arange(10.0), (len(batch), 1)),
        0.13,
        0.31,
    )
    fig = draw_contract(state, true_class=1)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bar_labels = fig.axes[2].get_tightbbox(renderer)
    probability_panel = fig.axes[4].get_tightbbox(renderer)  # includes the 0–9 labels
    assert bar_labels.x1 < probability_panel.x0


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_live_picture_is_the_static_figure_redrawn_in_place():
    """The explorer redraws only what moves (blitting); after any change its picture is
    the figure drawn afresh for the same state – pixel for pixel but for the anti-aliased
    edge where the bars meet the tick marks of the class axis (drawn in another order)."""
    from edu_cnn.widgets.blit import BlitRenderer
    from edu_cnn.widgets.deployment import ContractFigure

    photos = [photo_of_digit(a_digit(), seed=s, offset=(s, -s)) for s in range(3)]
    photos.append(photo_of_digit(a_digit(), size=96, seed=3))  # another size: a new layout

    def logits(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)[:, 300:310].astype(np.float64)

    labels = [7, 1, 7, 3]
    explorer = contract_explorer(logits, photos, MEAN, STD, labels=labels)
    changes = [("digit", 1), ("invert", False), ("normalise", False), ("digit", 2)]
    changes += [("centre", False), ("invert", True), ("digit", 3), ("digit", 0)]
    pictures = set()
    for name, value in changes:
        explorer.controls[name].value = value
        assert explorer.state.true_class == labels[explorer.controls["digit"].value]
        fresh = ContractFigure(explorer.state, pyplot=False)
        expected = _pixels(BlitRenderer(fresh.fig, [], dpi=80).render())  # all drawn at once
        live = _pixels(bytes(explorer.image.value))
        assert live.shape == expected.shape, (name, value)
        changed = np.abs(live - expected).max(axis=-1)
        assert changed.max() <= 16 and (changed > 0).sum() <= 20, (name, value, changed.max())
        pictures.add(live.tobytes())
    assert len(pictures) == len(changes)  # every change showed something new


def test_update_probabilities_marks_the_winner_and_a_missed_truth():
    from matplotlib.colors import to_hex

    from edu_cnn.plots import plot_probabilities, update_probabilities

    fig = plot_probabilities([0.1, 0.7, 0.2], ["a", "b", "c"])
    ax = fig.axes[0]
    update_probabilities(ax, [0.6, 0.1, 0.3], true_class=2, title="prediction: a")
    assert [round(bar.get_width(), 2) for bar in ax.patches] == [0.6, 0.1, 0.3]
    colours = [to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert colours == [to_hex("tab:orange"), to_hex("tab:blue"), to_hex("tab:green")]
    assert [t.get_text() for t in ax.texts] == ["60.0%", "10.0%", "30.0%"]
    assert ax.get_title() == "prediction: a"
    with pytest.raises(ValueError, match="3 bars, got 2 probabilities"):
        update_probabilities(ax, [0.5, 0.5])
