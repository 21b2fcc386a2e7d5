"""How long each widget takes to react to a control change (budget: 100 ms).

Every entry of :data:`WIDGETS` is ``(name, factory, change)``: ``factory()`` builds the
widget with its default settings and ``change`` is either ``(control name, values)`` –
the values are set one after another, cycling – or a function ``change(widget, i)`` for
what a button does. The time measured is what the kernel spends from the change to the
new picture (recompute + render), the median over several changes after one warm-up.

Run: ``.venv/bin/python benchmarks/widget_speed.py`` (``--check`` exits 1 over budget).
Chapters add their widgets to the list.
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
from edu_cnn.widgets.classification import decision_boundary_trainer
from edu_cnn.widgets.convolution import (
    conv_stepper,
    kernel_explorer,
    multichannel_explorer,
    padding_stride_explorer,
)
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

WIDGETS: list[tuple[str, Callable[[], Any], Change]] = [
    ("ch1 perceptron playground: w1 slider", perceptron_playground, ("w1", [0.8, -0.4, 1.1, 0.2])),
    ("ch1 perceptron playground: learning step", perceptron_playground, lambda w, i: w.learn()),
    ("ch2 learning-rate explorer: lr slider", learning_rate_explorer, ("lr", [0.01, 0.1, 0.3, 0.2, 0.05])),
    ("ch2 normalisation explorer: lr slider", normalisation_explorer, ("lr", [1e-5, 1e-3, 0.3, 0.05])),
    ("ch3 decision boundary: hidden units", decision_boundary_trainer, ("hidden", [4, 16, 8, 32])),
    ("ch3 decision boundary: train 100 epochs", decision_boundary_trainer, lambda w, i: w.train()),
    ("ch3 optimiser race: steps slider", optimizer_race, ("steps", [50, 150, 100, 200])),
    ("ch3 optimiser race: lr × slider", optimizer_race, ("lr_scale", [0.5, 2.0, 1.0, 0.3])),
    ("ch4 convolution stepper: position", conv_stepper, ("position", [1, 2, 3, 4, 5, 6, 7, 8, 9])),
    ("ch4 kernel explorer (512×512): kernel", kernel_explorer,
     ("kernel", ["sharpen", "box blur", "sobel-x", "sobel-y", "emboss", "identity"])),
    ("ch4 kernel explorer (512×512): one number", kernel_explorer, ("w11", [2.0, -1.0, 0.5, 3.0])),
    ("ch4 padding / stride explorer: p", padding_stride_explorer, ("p", [1, 2, 0, 3])),
    ("ch4 multi-channel view: filter", multichannel_explorer,
     ("filter", ["red minus green", "luminance (grey)", "blue horizontal edges",
                 "vertical edges in every channel"])),
    ("ch5 pooling explorer: position", pooling_explorer, ("position", [1, 2, 3, 4, 5, 6])),
    ("ch5 pooling explorer: shift", pooling_explorer, ("shift", [0, 2, 1, 3])),
    ("ch6 backprop stepper: forward button", backprop_stepper,
     lambda w, i: (w.back_button if i % 12 >= 6 else w.forward_button).click()),
    ("ch7 feature maps: digit slider", lambda: feature_explorer(lenet5(), _digits()),
     ("Digit", [1, 2, 3, 4, 5])),
    ("ch7 feature maps: layer menu", lambda: feature_explorer(lenet5(), _digits()),
     ("Layer", [3, 5, 0, 2, 4])),
    ("ch7 draw a digit: one stroke → prediction", lambda: DrawDigit(lenet5(), 0.13, 0.31), _stroke),
]


def apply(widget: Any, change: Change, i: int) -> None:
    if callable(change):
        change(widget, i)
    else:
        name, values = change
        widget.controls[name].value = values[i % len(values)]


def measure(factory: Callable[[], Any], change: Change, repeats: int = REPEATS) -> float:
    """Median milliseconds per change."""
    widget = factory()
    apply(widget, change, 0)                       # warm-up (caches, first draw)
    times = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        apply(widget, change, i)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    slow = 0
    print(f"{'widget':<45} {'ms/update':>9}")
    for name, factory, change in WIDGETS:
        ms = measure(factory, change)
        flag = "  over budget" if ms > BUDGET_MS else ""
        slow += bool(flag)
        print(f"{name:<45} {ms:9.1f}{flag}")
    print(f"budget {BUDGET_MS:.0f} ms; median of {REPEATS} updates each")
    return 1 if slow and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
