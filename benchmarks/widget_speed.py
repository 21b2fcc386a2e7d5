"""How long each widget takes to react to a control change (budget: 100 ms).

Every entry of :data:`WIDGETS` is ``(name, factory, change)``: ``factory()`` builds the
widget with its default settings and ``change`` is either ``(control name, values)`` –
the values are set one after another, cycling – or a function ``change(widget, i)`` for
what a button does. The time measured is what the kernel spends from the change to the
new picture (recompute + render), the median over several changes after one warm-up.

Each row also gives the size of every picture the widget shows after the change (the
``<img>`` is shown at exactly this size, see :func:`edu_cnn.widgets.base.picture`).

Run: ``.venv/bin/python benchmarks/widget_speed.py`` (``--check`` exits 1 over budget;
``--markdown`` prints a table). Chapters add their widgets to the list.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edu_cnn.data import load_mnist
from edu_cnn.models import lenet5
from edu_cnn.widgets.backprop import backprop_stepper
from edu_cnn.widgets.base import images_in, png_size
from edu_cnn.widgets.classification import decision_boundary_trainer
from edu_cnn.widgets.convolution import (
    conv_stepper,
    kernel_explorer,
    multichannel_explorer,
    padding_stride_explorer,
)
from edu_cnn.widgets.dashboard import TrainingDashboard
from edu_cnn.widgets.deployment import contract_explorer, photo_of_digit
from edu_cnn.widgets.drawing import DrawDigit
from edu_cnn.widgets.features import feature_explorer
from edu_cnn.widgets.optimizers import optimizer_race
from edu_cnn.widgets.perceptron import perceptron_playground
from edu_cnn.widgets.pooling import pooling_explorer
from edu_cnn.widgets.regression import learning_rate_explorer, normalisation_explorer

BUDGET_MS = 100.0
REPEATS = 9

Change = tuple[str, list[Any]] | Callable[[Any, int], Any]


def _digits() -> Any:
    """A few real digits from the shipped sample (the networks are untrained: the timing
    does not depend on the weights)."""
    return load_mnist(as_float=True, sample=True).x_test[:20]


def _stroke(widget: DrawDigit, i: int) -> None:
    """Clear, then draw a "7" the way the browser's mouse events arrive; the prediction
    happens when the button goes up."""
    widget.clear()
    widget._on_mouse_down(60 + i, 50)
    for x, y in ((120, 50), (210, 50), (170, 130), (130, 240)):
        widget._on_mouse_move(x, y)
    widget._on_mouse_up(130, 240)


class _Trainer:
    """What the dashboard reads from ``fit``'s trainer: 5 epochs of 60 batches."""

    epochs, batches_per_epoch, stop_training = 5, 60, False


def _dashboard() -> TrainingDashboard:
    dashboard = TrainingDashboard()
    dashboard.on_train_begin(_Trainer())
    dashboard.on_epoch_begin(_Trainer(), 0)
    return dashboard


def _batch_and_redraw(dashboard: TrainingDashboard, i: int) -> None:
    """One batch's loss arrives and the curves are redrawn (at most twice a second in use)."""
    dashboard.on_batch_end(_Trainer(), i % 60, {"loss": 2.0 / (1 + 0.1 * i)})
    dashboard._draw(force=True)


def _contract() -> Any:
    model = lenet5()
    photos = [photo_of_digit(x[0], seed=i) for i, x in enumerate(_digits()[:6])]
    return contract_explorer(model, photos, 0.1307, 0.3081)


def _boundary_frame(widget: Any, i: int) -> None:
    """One frame of live training: a few epochs, then regions and loss redrawn."""
    widget.trainer.train(5)
    widget.update()


WIDGETS: list[tuple[str, Callable[[], Any], Change]] = [
    ("ch1 perceptron playground: w1 slider", perceptron_playground, ("w1", [0.8, -0.4, 1.1, 0.2])),
    ("ch1 perceptron playground: learning step", perceptron_playground, lambda w, i: w.learn()),
    (
        "ch2 learning-rate explorer: lr slider",
        learning_rate_explorer,
        ("lr", [0.01, 0.1, 0.3, 0.2, 0.05]),
    ),
    (
        "ch2 normalisation explorer: lr slider",
        normalisation_explorer,
        ("lr", [1e-5, 1e-3, 0.3, 0.05]),
    ),
    ("ch3 decision boundary: hidden units", decision_boundary_trainer, ("hidden", [4, 16, 8, 32])),
    ("ch3 decision boundary: train 100 epochs", decision_boundary_trainer, lambda w, i: w.train()),
    ("ch3 decision boundary: one live frame", decision_boundary_trainer, _boundary_frame),
    ("ch3 optimiser race: steps slider", optimizer_race, ("steps", [50, 150, 100, 200])),
    ("ch3 optimiser race: lr × slider", optimizer_race, ("lr_scale", [0.5, 2.0, 1.0, 0.3])),
    ("ch4 convolution stepper: position", conv_stepper, ("position", [1, 2, 3, 4, 5, 6, 7, 8, 9])),
    (
        "ch4 kernel explorer (512×512): kernel",
        kernel_explorer,
        ("kernel", ["sharpen", "box blur", "sobel-x", "sobel-y", "emboss", "identity"]),
    ),
    ("ch4 kernel explorer (512×512): one number", kernel_explorer, ("w11", [2.0, -1.0, 0.5, 3.0])),
    ("ch4 padding / stride explorer: p", padding_stride_explorer, ("p", [1, 2, 0, 3])),
    (
        "ch4 multi-channel view: filter",
        multichannel_explorer,
        (
            "filter",
            [
                "red minus green",
                "luminance (grey)",
                "blue horizontal edges",
                "vertical edges in every channel",
            ],
        ),
    ),
    ("ch5 pooling explorer: position", pooling_explorer, ("position", [1, 2, 3, 4, 5, 6])),
    ("ch5 pooling explorer: shift", pooling_explorer, ("shift", [0, 2, 1, 3])),
    (
        "ch6 backprop stepper: forward button",
        backprop_stepper,
        lambda w, i: (w.back_button if i % 12 >= 6 else w.forward_button).click(),
    ),
    (
        "ch7 feature maps: digit slider",
        lambda: feature_explorer(lenet5(), _digits()),
        ("Digit", [1, 2, 3, 4, 5]),
    ),
    (
        "ch7 feature maps: layer menu",
        lambda: feature_explorer(lenet5(), _digits()),
        ("Layer", [3, 5, 0, 2, 4]),
    ),
    ("ch7 draw a digit: one stroke → prediction", lambda: DrawDigit(lenet5(), 0.13, 0.31), _stroke),
    ("ch7 training dashboard: batch + redraw", _dashboard, _batch_and_redraw),
    ("ch8 pre-processing explorer: request", _contract, ("digit", [1, 2, 3, 4, 5])),
    ("ch8 pre-processing explorer: invert box", _contract, ("invert", [False, True])),
]


def apply(widget: Any, change: Change, i: int) -> None:
    if callable(change):
        change(widget, i)
    else:
        name, values = change
        widget.controls[name].value = values[i % len(values)]


def picture_sizes(widget: Any) -> str:
    """The width×height of every picture the widget shows, e.g. ``"460×208"``."""
    sizes = [png_size(bytes(image.value)) for image in images_in(widget) if image.value]
    return " + ".join(f"{w}×{h}" for w, h in sizes) or "–"


def measure(
    factory: Callable[[], Any], change: Change, repeats: int = REPEATS
) -> tuple[float, str]:
    """Median milliseconds per change, and the picture sizes after the last one."""
    widget = factory()
    apply(widget, change, 0)  # warm-up (caches, first draw)
    times = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        apply(widget, change, i)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), picture_sizes(widget)


def main(argv: list[str]) -> int:
    slow = 0
    markdown = "--markdown" in argv
    if markdown:
        print("| widget: change | ms/update | pictures (px) |\n| --- | ---: | --- |")
    else:
        print(f"{'widget':<48} {'ms/update':>9}  pictures (px)")
    for name, factory, change in WIDGETS:
        ms, sizes = measure(factory, change)
        flag = "  over budget" if ms > BUDGET_MS else ""
        slow += bool(flag)
        if markdown:
            print(f"| {name} | {ms:.1f}{' ⚠' if flag else ''} | {sizes} |")
        else:
            print(f"{name:<48} {ms:9.1f}  {sizes}{flag}")
    print(f"budget {BUDGET_MS:.0f} ms; median of {REPEATS} updates each")
    return 1 if slow and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
