r"""Chapter 6 widget: the backprop stepper.

A tiny CNN – conv (2 filters, 3×3) → ReLU → max pool 2×2 → flatten → linear → softmax with
cross-entropy – on one X/O image, run one layer at a time: six forward steps, then six
backward steps. Each step shows the activations or the δ of that layer as images, the rule
used, and (for the backward steps) the numerical gradient check (梯度检验) of that layer.

Notation (the notebook's): the conv layer computes :math:`z^1 = W^1 \star a^0 + b^1`,
:math:`a^1 = \mathrm{ReLU}(z^1)`; :math:`\delta = \partial L/\partial(\cdot)` of the
quantity named beside it.

Everything is computed once, in float64, by :func:`backprop_trace` with the package's own
layers; the widget only walks through the list.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import ReLU, softmax
from ..conv import Conv2d
from ..gradcheck import GradcheckResult, gradcheck, gradcheck_loss
from ..linear import Flatten, Linear
from ..losses import CrossEntropyLoss
from ..plots import value_grid
from ..pooling import MaxPool2d
from .base import Explorer, figure_to_png
from .pooling import draw_arrays

__all__ = [
    "BackpropStep",
    "backprop_stepper",
    "backprop_trace",
    "draw_arrays",
    "draw_backprop_step",
    "draw_backprop_steps",
    "draw_input_gradient_connections",
    "tiny_cnn",
]


@dataclass
class BackpropStep:
    """One step of the stepper.

    Attributes
    ----------
    index : 0 … 11. direction : ``"forward"`` or ``"backward"``. layer : which layer.
    title : what happens. formula : the rule used (plain text with Unicode maths).
    panels : (label, array) pairs to draw – activations going forward, δ going back.
    check : the gradient check of this layer (backward steps), else None.
    marks : panel label → boolean mask of the cells drawn with a frame (step 9: the arg-max
        position of every pooling window, where δ² arrives).
    """

    index: int
    direction: str
    layer: str
    title: str
    formula: str
    panels: list[tuple[str, np.ndarray]] = field(default_factory=list)
    check: GradcheckResult | None = None
    marks: dict[str, np.ndarray] = field(default_factory=dict)


def tiny_cnn(seed: int = 0, size: int = 10) -> list[Any]:
    """The stepper's network, in float64: [Conv2d(1→2, 3), ReLU, MaxPool2d(2), Flatten,
    Linear(2·h·h → 2)] with h = (size − 2) // 2, weights from ``seed``.
    """
    from .. import init

    rng = np.random.default_rng(seed)
    h = (size - 2) // 2
    conv, fc = Conv2d(1, 2, 3), Linear(2 * h * h, 2)
    for layer in (conv, fc):
        init.kaiming_normal_(layer.weight, rng=rng)
        layer.bias.data[...] = rng.normal(0, 0.1, layer.bias.shape)
    layers = [conv, ReLU(), MaxPool2d(2), Flatten(), fc]
    for layer in layers:
        for p in layer.parameters():
            p.data = p.data.astype(np.float64)
            p.grad = np.zeros_like(p.data)
    return layers


def backprop_trace(
    image: np.ndarray | None = None, label: int = 0, seed: int = 0, check: bool = True
) -> list[BackpropStep]:
    """Run the tiny CNN forward and backward on one image; one :class:`BackpropStep` per layer.

    Parameters
    ----------
    image : (S, S) array, optional
        Defaults to a clean 10×10 X (:func:`edu_cnn.data.xo_prototype`).
    label : 0 (X) or 1 (O), the target class.
    seed : seed of the weights.
    check : run the numerical gradient check of each layer at its actual input.
    """
    from ..data import xo_prototype

    x = xo_prototype("X", 10) if image is None else np.asarray(image)
    if x.ndim != 2 or x.shape[0] != x.shape[1] or x.shape[0] < 4:
        raise ValueError(
            f"backprop_trace: expected a square 2-D image of side ≥ 4, got shape {x.shape}"
        )
    if label not in (0, 1):
        raise ValueError(f"backprop_trace: label must be 0 (X) or 1 (O), got {label!r}")
    conv, relu, pool, flat, fc = tiny_cnn(seed, x.shape[0])
    a0 = x.astype(np.float64)[None, None]
    target = np.array([label])
    loss_fn = CrossEntropyLoss()

    z1 = conv(a0)
    a1 = relu(z1)
    a2 = pool(a1)
    a3 = flat(a2)
    z4 = fc(a3)
    y = softmax(z4)
    loss = loss_fn(z4, target)

    d4 = loss_fn.backward()  # y − t
    d3 = fc.backward(d4)
    d2 = flat.backward(d3)
    d1a = pool.backward(d2)
    d1z = relu.backward(d1a)
    d0 = conv.backward(d1z)

    def run(layer: Any, inp: np.ndarray) -> GradcheckResult | None:
        return gradcheck(layer, inp) if check else None

    # distinct steps of 10⁻³/size: no two entries closer than the check's ±1e-6 perturbation
    jitter = 1e-3 * np.random.default_rng(seed).permutation(a1.size).reshape(a1.shape) / a1.size
    t = np.eye(2)[label]
    _, flat_winners = MaxPool2d(2, return_indices=True)(a1)  # where each window's δ² goes
    winners = np.zeros(a1.shape, dtype=bool)
    n_idx, c_idx = np.indices(flat_winners.shape[:2])[..., None, None]
    winners.reshape(*a1.shape[:2], -1)[n_idx, c_idx, flat_winners] = True

    def ch(named: tuple[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """One panel per channel of a (1, C, H, W) array."""
        name, array = named
        return [(f"{name} channel {c}", array[0, c]) for c in range(array.shape[1])]

    steps = [
        BackpropStep(
            0,
            "forward",
            "input",
            "the input image a⁰",
            "a⁰ = x (10×10, ink 1, paper 0)",
            [("a⁰ = x", a0[0, 0])],
        ),
        BackpropStep(
            1,
            "forward",
            "Conv2d(1→2, 3×3)",
            "convolution: two filters, two maps",
            "z¹[c] = a⁰ ⋆ W¹[c] + b¹[c]   (valid: 10 − 3 + 1 = 8)",
            [("W¹[0]", conv.weight.data[0, 0]), ("W¹[1]", conv.weight.data[1, 0]), *ch(("z¹", z1))],
        ),
        BackpropStep(
            2, "forward", "ReLU", "ReLU keeps the positive part", "a¹ = max(0, z¹)", ch(("a¹", a1))
        ),
        BackpropStep(
            3,
            "forward",
            "MaxPool2d(2)",
            "max pooling halves each side",
            "a² = max over each 2×2 window of a¹   (8 → 4)",
            ch(("a²", a2)),
        ),
        BackpropStep(
            4,
            "forward",
            "Flatten",
            "flatten the maps into one vector",
            "a³ = reshape(a², 2·4·4 = 32)",
            [("a³ (32 values)", a3.reshape(2, -1))],
        ),
        BackpropStep(
            5,
            "forward",
            "Linear(32→2) + softmax",
            "fully connected layer, softmax, loss",
            f"z⁴ = W⁴ a³ + b⁴;  y = softmax(z⁴);  L = −log y_t = {loss:.4f}",
            [("z⁴ (logits)", z4), ("y = softmax(z⁴)", y), ("t (one-hot)", t[None])],
        ),
        BackpropStep(
            6,
            "backward",
            "softmax + cross-entropy",
            "the error at the output",
            "δ⁴ = ∂L/∂z⁴ = y − t   (for every class, not only the true one)",
            [("y", y), ("t", t[None]), ("δ⁴ = y − t", d4)],
            gradcheck_loss(CrossEntropyLoss(), z4, target) if check else None,
        ),
        BackpropStep(
            7,
            "backward",
            "Linear(32→2)",
            "through the fully connected layer",
            "dW⁴ = δ⁴ᵀ a³ (outer product);  db⁴ = δ⁴;  δ³ = W⁴ᵀ δ⁴",
            [("dW⁴ (2×32)", fc.weight.grad), ("δ³ (32 values)", d3.reshape(2, -1))],
            run(fc, a3),
        ),
        BackpropStep(
            8,
            "backward",
            "Flatten",
            "flatten backward is a reshape",
            "δ² = reshape(δ³, 2×4×4)",
            ch(("δ²", d2)),
        ),
        BackpropStep(
            9,
            "backward",
            "MaxPool2d(2)",
            "max pooling sends δ to the arg-max",
            "δ¹_a[i, j] = δ²[window] if a¹[i, j] was its window's maximum (framed), else 0 "
            "(an up-sampling through the recorded positions). Checked at a¹ + a 10⁻³ jitter: in a¹ "
            "windows tie (zeros, equal patches), and at a tie the max has a kink",
            [*ch(("δ²", d2)), *ch(("δ w.r.t. a¹", d1a))],
            run(pool, a1 + jitter),
            {f"δ w.r.t. a¹ channel {c}": winners[0, c] for c in range(winners.shape[1])},
        ),
        BackpropStep(
            10,
            "backward",
            "ReLU",
            "ReLU lets δ through where z¹ > 0",
            "δ¹ = δ¹_a ⊙ 1[z¹ > 0]",
            ch(("δ¹ = ∂L/∂z¹", d1z)),
            run(relu, z1),
        ),
        BackpropStep(
            11,
            "backward",
            "Conv2d(1→2, 3×3)",
            "the convolution's three gradients",
            "dW¹[c] = a⁰ ⋆ δ¹[c] (the layer's INPUT a⁰, not z);  db¹[c] = Σ δ¹[c];  "
            "δ⁰ = Σ_c pad(δ¹[c], 2) ⋆ rot180(W¹[c]) (a full convolution)",
            [
                ("dW¹[0]", conv.weight.grad[0, 0]),
                ("dW¹[1]", conv.weight.grad[1, 0]),
                ("δ⁰ = ∂L/∂a⁰", d0[0, 0]),
            ],
            run(conv, a0),
        ),
    ]
    return steps


def _draw_panels(axes: Any, step: BackpropStep) -> None:
    """Draw the panels of one step into ``axes``: small arrays with their numbers, δ in red/blue,
    the cells of ``step.marks`` framed.
    """
    from matplotlib.patches import Rectangle

    # strict=False: in a figure of several steps a row may have more axes than this step's panels
    for ax, (label, array) in zip(axes, step.panels, strict=False):
        a = np.atleast_2d(np.asarray(array, dtype=np.float64))
        signed = step.direction == "backward" or a.min() < 0
        m = float(np.abs(a).max()) or 1.0
        if not signed and np.allclose(a.sum(axis=-1), 1.0):
            m = 1.0  # probabilities (softmax y, one-hot t) on one 0…1 scale: t's 1 ≠ y's 0.51
        cmap, vmin = ("RdBu_r", -m) if signed else ("viridis", 0.0)
        if a.size <= 16:
            value_grid(ax, a, label, cmap=cmap, vmin=2 * vmin, vmax=2 * m, fmt="{:.3g}")
        else:
            ax.imshow(a, cmap=cmap, vmin=vmin, vmax=m, aspect="equal" if a.shape[0] > 2 else "auto")
            ax.set_title(label, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        for i, j in zip(*np.nonzero(step.marks.get(label, np.zeros((0, 0), bool))), strict=True):
            ax.add_patch(
                Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.2)
            )


def draw_backprop_step(step: BackpropStep) -> Any:
    """The arrays of one step side by side: small ones with their numbers, δ in red/blue."""
    import matplotlib.pyplot as plt

    n = len(step.panels)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n, 3.0), squeeze=False)
    _draw_panels(axes[0], step)
    arrow = "▶ forward" if step.direction == "forward" else "◀ backward"
    fig.suptitle(f"step {step.index}: {arrow} – {step.layer}", fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.04, top=0.78, wspace=0.25)
    return fig


def _check_text(check: GradcheckResult | None) -> str:
    if check is None:
        return ""
    return (
        f"gradient check: max relative error {check.max_rel_error:.1e} at {check.where} – "
        f"{check.verdict}"
    )


def draw_backprop_steps(
    steps: list[BackpropStep], indices: list[int] | None = None, width: float = 11.0
) -> Any:
    """The stepper's static twin: the chosen steps (all by default) one row each, with the
    step's panels, its formula and – for backward steps – its gradient-check result.
    """
    import textwrap

    import matplotlib.pyplot as plt

    chosen = [steps[i] for i in (range(len(steps)) if indices is None else indices)]
    columns = max(len(step.panels) for step in chosen)
    row_height = 2.55
    fig = plt.figure(figsize=(width, row_height * len(chosen)))
    rows = fig.subfigures(len(chosen), 1, squeeze=False)[:, 0]
    for row, step in zip(rows, chosen, strict=True):
        axes = row.subplots(1, columns, squeeze=False)[0]
        for ax in axes[len(step.panels) :]:
            ax.axis("off")
        _draw_panels(axes, step)
        arrow = "▶ forward" if step.direction == "forward" else "◀ backward"
        row.suptitle(
            f"step {step.index}: {arrow} – {step.layer}: {step.title}",
            fontsize=10,
            x=0.01,
            ha="left",
            fontweight="bold",
        )
        lines = textwrap.wrap(step.formula, 150)[:2]
        check = _check_text(step.check)
        row.text(
            0.01,
            0.02,
            "\n".join([*lines, check] if check else lines),
            fontsize=8,
            va="bottom",
            color="0.15",
        )
        row.subplots_adjust(
            left=0.02, right=0.98, bottom=0.24 if check else 0.18, top=0.82, wspace=0.3
        )
    return fig


def _caption(step: BackpropStep) -> str:
    text = f"<b>{html.escape(step.title)}</b><br><code>{html.escape(step.formula)}</code>"
    if step.check is not None:
        colour = {"correct": "green", "wrong": "crimson"}.get(step.check.verdict, "darkorange")
        text += (
            f"<br>gradient check of this layer: max relative error "
            f"<b>{step.check.max_rel_error:.1e}</b> at {html.escape(step.check.where)} – "
            f"<span style='color:{colour}'>{html.escape(step.check.verdict)}</span>"
        )
    return text


def backprop_stepper(image: np.ndarray | None = None, label: int = 0, seed: int = 0) -> Explorer:
    """Step through the tiny CNN: "Forward ▶" / "◀ Back" buttons move the ``step`` slider.

    Controls: ``step`` (IntSlider "Step", 0 … 11). ``explorer.forward_button`` and
    ``explorer.back_button`` move it by one. Container class ``educnn-backprop-stepper``.
    """
    import ipywidgets as widgets

    steps = backprop_trace(image, label, seed)
    slider = widgets.IntSlider(value=0, min=0, max=len(steps) - 1, description="Step")
    pictures: dict[int, bytes] = {}  # the steps never change: draw each one once

    def render(step: BackpropStep) -> bytes:
        if step.index not in pictures:
            pictures[step.index] = figure_to_png(draw_backprop_step(step))
        return pictures[step.index]

    explorer = Explorer(
        {"step": slider},
        lambda step: steps[step],
        render,
        css_class="educnn-backprop-stepper",
        caption=_caption,
    )
    back = widgets.Button(description="◀ Back")
    forward = widgets.Button(description="Forward ▶")

    def move(by: int) -> None:
        slider.value = int(np.clip(slider.value + by, 0, slider.max))

    back.on_click(lambda _button: move(-1))
    forward.on_click(lambda _button: move(+1))
    explorer.steps, explorer.back_button, explorer.forward_button = steps, back, forward
    explorer.widget.children = (
        widgets.HBox([back, forward, slider]),
        *explorer.widget.children[1:],
    )
    return explorer


def draw_input_gradient_connections(
    kernel_names: tuple[str, ...] = ("w₀₀", "w₀₁", "w₁₀", "w₁₁"),
) -> Any:
    """Chapter 6's connections figure: a 3×3 input, a 2×2 kernel, a 2×2 output (valid, stride 1).

    Every line joins an input a_ij to an output z_rc it feeds, coloured by the weight
    w_(i−r)(j−c) on it. Read from one input, the weights on its lines are the kernel rotated
    by 180° – ∂L/∂a_ij = Σ δ_rc w_(i−r)(j−c).
    """
    import matplotlib.pyplot as plt

    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    fig, ax = plt.subplots(figsize=(5.8, 4.4))
    inputs = {(i, j): (0.0, 8 - (3 * i + j)) for i in range(3) for j in range(3)}
    outputs = {(r, c): (4.0, 6.5 - 2 * (2 * r + c)) for r in range(2) for c in range(2)}
    for (i, j), (x0, y0) in inputs.items():
        for (r, c), (x1, y1) in outputs.items():
            u, v = i - r, j - c
            if 0 <= u < 2 and 0 <= v < 2:
                centre = (i, j) == (1, 1)
                ax.plot(
                    [x0 + 0.35, x1 - 0.35],
                    [y0, y1],
                    color=colours[2 * u + v],
                    lw=2.6 if centre else 1.0,
                    alpha=1.0 if centre else 0.55,
                    zorder=1,
                )
                if centre:
                    ax.text(
                        x0 + 0.35 + 0.3 * (x1 - x0 - 0.7),
                        y0 + 0.3 * (y1 - y0) + 0.12,
                        kernel_names[2 * u + v],
                        color=colours[2 * u + v],
                        fontsize=9,
                        zorder=3,
                    )
    for nodes, face, letter in ((inputs, "0.93", "a"), (outputs, "lavender", "z")):
        for (i, j), (x, y) in nodes.items():
            highlight = letter == "a" and (i, j) == (1, 1)
            ax.add_patch(
                plt.Rectangle(
                    (x - 0.35, y - 0.35),
                    0.7,
                    0.7,
                    fc="gold" if highlight else face,
                    ec="0.3",
                    zorder=2,
                )
            )
            ax.text(
                x,
                y,
                f"{letter}{i}{j}".translate(sub),
                ha="center",
                va="center",
                fontsize=10,
                zorder=3,
            )
    for name, colour in zip(kernel_names, colours, strict=True):
        ax.plot([], [], color=colour, lw=2.6, label=name)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="weight on the line", fontsize=9)
    ax.text(0, -1.0, "input a (3×3)", ha="center", fontsize=9)
    ax.text(4, -1.0, "output z = a ⋆ W (2×2)", ha="center", fontsize=9)
    ax.set_xlim(-0.8, 4.8)
    ax.set_ylim(-1.3, 8.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        "every input feeds the outputs whose window covers it\n(a₁₁ feeds all four, "
        "each with a different weight)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
