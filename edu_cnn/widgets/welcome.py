"""Chapter 0 figures: the three kinds of learning and the model life cycle.

Chapter 0 has no widget; its two pictures are drawn by code here, beside the other
chapters' figure modules, as :class:`matplotlib.figure.Figure` objects (no pyplot).
The labels are English only: the fonts matplotlib ships have no Chinese glyphs, so the
notebook's prose gives the Chinese terms.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from ..data.toy import two_moons


def _box(ax: Any, x: float, y: float, text: str, colour: str) -> None:
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=9,
        wrap=True,
        bbox={"boxstyle": "round,pad=0.5", "facecolor": colour, "edgecolor": "0.3"},
        transform=ax.transAxes,
    )


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float], text: str = "") -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.3},
    )
    if text:
        ax.text(
            (start[0] + end[0]) / 2,
            (start[1] + end[1]) / 2 + 0.06,
            text,
            ha="center",
            fontsize=8,
            color="0.25",
            transform=ax.transAxes,
        )


def draw_learning_kinds() -> Any:
    """Three panels: supervised (labelled points), unsupervised (the same points without
    labels, grouped by the learner), reinforcement (an agent–environment loop).
    """
    from matplotlib.figure import Figure

    x, y = two_moons(n=120, noise=0.12, seed=1)
    fig = Figure(figsize=(10.0, 3.0))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.05, top=0.85, wspace=0.15)
    sup, unsup, rl = fig.subplots(1, 3)
    colours = np.array(["tab:blue", "tab:orange"])
    sup.scatter(x[:, 0], x[:, 1], c=colours[y], s=12)
    sup.set_title("supervised\ninputs with labels → predict the label", fontsize=9)
    unsup.scatter(x[:, 0], x[:, 1], c="0.4", s=12)
    unsup.set_title("unsupervised\ninputs only → find structure", fontsize=9)
    for ax in (sup, unsup):
        ax.set(xticks=[], yticks=[])
    rl.axis("off")
    rl.set_title("reinforcement\nact, get a reward, act better", fontsize=9)
    _box(rl, 0.15, 0.5, "agent", "#fde2c8")
    _box(rl, 0.82, 0.5, "environment", "#d7e8f7")
    _arrow(rl, (0.28, 0.62), (0.64, 0.62), "action")
    _arrow(rl, (0.64, 0.38), (0.28, 0.38), "state, reward")
    return fig


def draw_life_cycle() -> Any:
    """The life of a model: data and a model structure → training → a model file →
    inference inside an application on new data.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 1.3))  # as tall as the boxes and the two notes under them
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.98)
    ax = fig.add_subplot()
    ax.axis("off")
    steps = [
        (0.08, "labelled data\n+ a model\nstructure", "#eeeeee"),
        (0.30, "training\nforward, loss,\nbackward, update", "#fde2c8"),
        (0.52, "model file\ngraph + weights\n+ hyper-parameters", "#e4f1dc"),
        (0.74, "application\nloads the file", "#d7e8f7"),
        (0.93, "inference\nnew input →\nprediction", "#f3dcf0"),
    ]
    for x, text, colour in steps:
        _box(ax, x, 0.62, text, colour)
    for (x0, _, _), (x1, _, _) in pairwise(steps):
        _arrow(ax, (x0 + 0.075, 0.62), (x1 - 0.075, 0.62))
    ax.text(
        0.30,
        0.1,
        "hours to weeks, on big machines",
        ha="center",
        fontsize=8,
        color="0.35",
        transform=ax.transAxes,
    )
    ax.text(
        0.84,
        0.1,
        "milliseconds, on a laptop or phone",
        ha="center",
        fontsize=8,
        color="0.35",
        transform=ax.transAxes,
    )
    return fig
