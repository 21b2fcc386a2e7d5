"""Chapter 5 widget: the pooling explorer.

Max or mean pooling (池化) of one feature map, window by window; what a small shift of the
input does to the pooled output; and the two ways back up – max-unpooling (上池化, uses the
recorded arg-max positions) versus nearest up-sampling (上采样, copies each value into its
block). The numbers come from :mod:`edu_cnn.pooling`; this module only arranges them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plots import value_grid
from ..pooling import (
    avg_pool2d_forward,
    max_pool2d_forward,
    max_unpool2d_forward,
    upsample_nearest_forward,
)
from ..shapes import conv_output_size
from .base import Explorer, widget_figure
from .blit import UpdatingRenderer

__all__ = [
    "DEFAULT_POOL_INPUT",
    "PoolState",
    "cosine_similarity",
    "draw_arrays",
    "draw_pooling",
    "pool_state",
    "pooling_explorer",
    "shift_right",
]

#: A sparse 8×8 map with whole numbers, like a feature map after ReLU. Three 2×2 windows
#: hold two values (max-unpooling keeps only the larger); no two values sit side by side
#: in a row (so a one-column shift leaves no value where it was).
DEFAULT_POOL_INPUT = np.array(
    [
        [2, 0, 3, 0, 0, 0, 0, 1],
        [0, 7, 0, 0, 2, 0, 0, 0],
        [1, 0, 0, 0, 0, 0, 8, 0],
        [0, 0, 0, 5, 0, 0, 0, 4],
        [0, 0, 0, 0, 0, 4, 0, 0],
        [6, 0, 0, 0, 3, 0, 0, 2],
        [0, 0, 2, 0, 0, 0, 3, 0],
        [0, 9, 0, 0, 1, 0, 0, 0],
    ],
    dtype=np.float64,
)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """cos of the angle between two maps seen as vectors: 1 identical (up to scale), 0 disjoint."""
    a, b = np.ravel(a), np.ravel(b)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else float(np.allclose(a, b))


def shift_right(x: np.ndarray, shift: int) -> np.ndarray:
    """Move a 2-D map ``shift`` columns to the right; zeros come in on the left."""
    x = np.asarray(x)
    if shift <= 0:
        return x.copy()
    return np.pad(x, ((0, 0), (shift, 0)))[:, : x.shape[1]]


@dataclass
class PoolState:
    """What the pooling explorer shows.

    Attributes
    ----------
    x : the input map; ``output`` its pooled map (max or mean of each window).
    row, col : the output cell of window ``position``; ``window`` the input under it;
        ``winner`` the (row, col) in ``x`` of its maximum (max pooling) or None.
    shifted_output : the pooled map of ``x`` shifted right by ``shift`` columns;
        ``input_similarity`` / ``output_similarity`` the cosine similarity of the original
        and the shifted input, and of their pooled maps (1 = identical, 0 = nothing in common).
    unpooled : max-unpooling of ``output`` back to ``x``'s size (max pooling only).
    upsampled : nearest up-sampling of ``output`` by the stride.
    """

    x: np.ndarray
    mode: str
    size: int
    stride: int
    position: int
    output: np.ndarray
    row: int
    col: int
    window: np.ndarray
    winner: tuple[int, int] | None
    shift: int
    shifted_output: np.ndarray
    input_similarity: float
    output_similarity: float
    unpooled: np.ndarray | None
    upsampled: np.ndarray

    @property
    def value(self) -> float:
        return float(self.output[self.row, self.col])


def _pool(x: np.ndarray, mode: str, size: int, stride: int) -> tuple[np.ndarray, np.ndarray | None]:
    batch = np.asarray(x, dtype=np.float64)[None, None]
    if mode == "max":
        y, indices = max_pool2d_forward(batch, size, stride, return_indices=True)
        return np.ascontiguousarray(y[0, 0]), indices
    if mode == "mean":
        return np.ascontiguousarray(avg_pool2d_forward(batch, size, stride)[0, 0]), None
    raise ValueError(f"pool_state: mode must be 'max' or 'mean', got {mode!r}")


def pool_state(
    x: np.ndarray,
    mode: str = "max",
    size: int = 2,
    stride: int = 2,
    position: int = 0,
    shift: int = 0,
) -> PoolState:
    """Pool a 2-D map and gather everything the explorer draws (see :class:`PoolState`).

    The output size per axis is ``⌊(n − size)/stride⌋ + 1`` (no padding); ``position`` is
    clipped to the number of windows.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pool_state: expected a 2-D feature map, got shape {x.shape}")
    oh = conv_output_size(x.shape[0], size, 0, stride, where="pool_state")
    ow = conv_output_size(x.shape[1], size, 0, stride, where="pool_state")
    output, indices = _pool(x, mode, size, stride)
    position = int(np.clip(position, 0, oh * ow - 1))
    row, col = divmod(position, ow)
    window = x[row * stride : row * stride + size, col * stride : col * stride + size]
    winner = None
    if mode == "max":
        winner = tuple(int(v) for v in divmod(int(indices[0, 0, row, col]), x.shape[1]))
    shifted = shift_right(x, shift)
    shifted_output, _ = _pool(shifted, mode, size, stride)
    unpooled = None
    if mode == "max":
        unpooled = max_unpool2d_forward(output[None, None], indices, x.shape)[0, 0]
    upsampled = np.ascontiguousarray(upsample_nearest_forward(output[None, None], stride)[0, 0])
    return PoolState(
        x,
        mode,
        int(size),
        int(stride),
        position,
        output,
        row,
        col,
        window.copy(),
        winner,
        int(shift),
        shifted_output,
        cosine_similarity(x, shifted),
        cosine_similarity(output, shifted_output),
        unpooled,
        upsampled,
    )


class PoolFigure:
    """The explorer's figure, built once per (mode, window, stride, shift) and updated in
    place when only the window position moves; ``animated`` lists what moves.
    """

    def __init__(self, state: PoolState, pyplot: bool = True) -> None:
        from matplotlib.patches import Rectangle

        self.fig = widget_figure((13.5, 3.4), pyplot)  # 900 px at 67 dpi: numbers readable
        axes = self.fig.subplots(1, 6)
        top = max(float(np.abs(state.x).max()), 1.0)
        value_grid(
            axes[0],
            state.x,
            f"input {state.x.shape[0]}×{state.x.shape[1]}",
            cmap="Greys",
            vmin=-top,
            vmax=3 * top,
        )
        self.window = axes[0].add_patch(
            Rectangle(
                (-0.5, -0.5), state.size, state.size, fill=False, edgecolor="crimson", linewidth=3
            )
        )
        self.winner = axes[0].add_patch(
            Rectangle((-0.5, -0.5), 1, 1, color="gold", alpha=0.6, visible=state.winner is not None)
        )
        self.output, self.output_texts = value_grid(
            axes[1],
            state.output,
            f"{state.mode} pooling, k={state.size}, s={state.stride}",
            cmap="Oranges",
            mask=np.zeros(state.output.shape, bool),
            vmin=-top,
            vmax=2 * top,
        )
        self.cell = axes[1].add_patch(
            Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="crimson", linewidth=3)
        )
        shifted_x = shift_right(state.x, state.shift)
        self.shifted_input, self.shifted_input_texts = value_grid(
            axes[2], shifted_x, "", cmap="Greys", vmin=-top, vmax=3 * top
        )
        self.shifted_input_title = axes[2].title
        self.shifted, self.shifted_texts = value_grid(
            axes[3], state.shifted_output, "", cmap="Oranges", vmin=-top, vmax=2 * top
        )
        self.shifted_title = axes[3].title
        if state.unpooled is not None:
            value_grid(
                axes[4],
                state.unpooled,
                "max-unpooling\n(arg-max back, zeros elsewhere)",
                cmap="Greys",
                vmin=-top,
                vmax=3 * top,
            )
        else:
            axes[4].text(
                0.5,
                0.5,
                "max-unpooling needs the\narg-max positions of\nmax pooling",
                ha="center",
                va="center",
                transform=axes[4].transAxes,
            )
            axes[4].axis("off")
        if state.stride > 1:
            value_grid(
                axes[5],
                state.upsampled,
                f"nearest up-sampling ×{state.stride}\n(each value copied)",
                cmap="Greys",
                vmin=-top,
                vmax=3 * top,
            )
        else:  # ×1 would only copy the pooled map
            axes[5].text(
                0.5,
                0.5,
                "up-sampling ×1 changes\nnothing: try stride ≥ 2",
                ha="center",
                va="center",
                transform=axes[5].transAxes,
            )
            axes[5].axis("off")
        self.fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.82, wspace=0.12)
        self.animated = [
            self.window,
            self.winner,
            self.output,
            *self.output_texts.ravel(),
            self.cell,
            self.shifted_input,
            *self.shifted_input_texts.ravel(),
            self.shifted_input_title,
            self.shifted,
            *self.shifted_texts.ravel(),
            self.shifted_title,
        ]
        self.update(state)

    def update(self, state: PoolState) -> None:
        """Move the window to ``state.position`` and fill the pooled map up to it."""
        self.window.set_xy((state.col * state.stride - 0.5, state.row * state.stride - 0.5))
        if state.winner is not None:
            self.winner.set_xy((state.winner[1] - 0.5, state.winner[0] - 0.5))
        oh, ow = state.output.shape
        filled = (np.arange(oh * ow) <= state.position).reshape(oh, ow)
        self.output.set_data(np.where(filled, state.output, np.nan))
        for text, shown in zip(self.output_texts.ravel(), filled.ravel(), strict=True):
            text.set_visible(bool(shown))
        self.cell.set_xy((state.col - 0.5, state.row - 0.5))
        changed = ~np.isclose(state.shifted_output, state.output)  # changed outputs in red
        self.shifted.set_data(state.shifted_output)
        for text, v, red in zip(
            self.shifted_texts.ravel(), state.shifted_output.ravel(), changed.ravel(), strict=True
        ):
            text.set_text(f"{round(float(v), 2) + 0.0:g}")
            text.set_color("crimson" if red else "black")
            text.set_fontweight("bold" if red else "normal")
        shifted_x = shift_right(state.x, state.shift)
        self.shifted_input.set_data(shifted_x)
        for text, v in zip(self.shifted_input_texts.ravel(), shifted_x.ravel(), strict=True):
            text.set_text(f"{round(float(v), 2) + 0.0:g}")
        self.shifted_input_title.set_text(f"input shifted {state.shift} right")
        self.shifted_title.set_text(
            f"pooled (changed: red)\nsimilarity "
            f"{state.input_similarity:.2f} → {state.output_similarity:.2f}"
        )


def draw_pooling(state: PoolState) -> Any:
    """Static twin: input with the window, pooled output so far; the shifted input's pooled
    output; max-unpooling and nearest up-sampling of the output.
    """
    return PoolFigure(state).fig


class _PoolingExplorer(Explorer):
    """Keeps the Position slider's range in step with the window and stride."""

    def __init__(self, shape: tuple[int, ...], *args: Any, **kwargs: Any) -> None:
        self._shape = shape
        super().__init__(*args, **kwargs)

    def _on_change(self, change: Any) -> None:
        slider = self.controls["position"]
        if change is not None and change.get("owner") is not slider:
            v = self.values()
            try:
                n = conv_output_size(self._shape[0], v["size"], 0, v["stride"])
                m = conv_output_size(self._shape[1], v["size"], 0, v["stride"])
            except ValueError:
                return
            self._holding = True
            slider.max = n * m - 1
            self._holding = False
        if getattr(self, "_holding", False):
            return
        self.update()


def pooling_explorer(x: np.ndarray | None = None) -> Explorer:
    """Max / mean pooling step by step, the effect of a shift, unpooling vs up-sampling.

    Controls: ``mode`` (ToggleButtons "Pooling": max / mean), ``size`` ("Window"),
    ``stride`` ("Stride"), ``position`` (IntSlider "Position"), ``shift`` ("Shift").
    Container class ``educnn-pooling-explorer``.
    """
    import ipywidgets as widgets

    x = DEFAULT_POOL_INPUT if x is None else np.asarray(x, dtype=np.float64)
    first = conv_output_size(x.shape[0], 2, 0, 2) * conv_output_size(x.shape[1], 2, 0, 2)
    controls = {
        "mode": widgets.ToggleButtons(options=["max", "mean"], value="max", description="Pooling"),
        "size": widgets.IntSlider(value=2, min=1, max=4, description="Window"),
        "stride": widgets.IntSlider(value=2, min=1, max=4, description="Stride"),
        "position": widgets.IntSlider(value=0, min=0, max=first - 1, description="Position"),
        "shift": widgets.IntSlider(value=1, min=0, max=3, description="Shift"),
    }

    def compute(mode: str, size: int, stride: int, position: int, shift: int) -> PoolState:
        return pool_state(x, mode, size, stride, position, shift)

    def caption(state: PoolState) -> str:
        window = ", ".join(f"{v:g}" for v in state.window.ravel())
        what = "max" if state.mode == "max" else "mean"
        return (
            f"<b>out[{state.row}, {state.col}]</b> = {what}({html.escape(window)}) "
            f"= {state.value:g} &nbsp;|&nbsp; shifted by {state.shift}: "
            f"similarity to the original {state.input_similarity:.2f} before pooling, "
            f"{state.output_similarity:.2f} after"
        )

    return _PoolingExplorer(
        x.shape,
        controls,
        compute,
        UpdatingRenderer(PoolFigure, lambda st: (st.mode, st.size, st.stride)),
        css_class="educnn-pooling-explorer",
        caption=caption,
        controls_per_row=3,
    )


def draw_arrays(
    rows: list[list[tuple[str, np.ndarray]]],
    title: str = "",
    width: float = 12.0,
    row_height: float = 4.0,
) -> Any:
    """Small integer-valued arrays drawn as numbered grids, one list of (label, array) per row –
    the step-by-step pictures of chapter 5's transposed convolution (stamps, zero insertion)
    and chapter 6's input gradient (dilate, pad, rotate, correlate, crop).
    Zeros are written in grey so that the inserted and padded zeros stand out.
    """
    import matplotlib.pyplot as plt

    columns = max(len(row) for row in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(width, row_height * len(rows)), squeeze=False
    )
    for ax_row, row in zip(axes, rows, strict=True):
        for ax in ax_row[len(row) :]:
            ax.axis("off")
        # strict=False: a short row leaves spare axes (switched off above)
        for ax, (label, array) in zip(ax_row, row, strict=False):
            a = np.atleast_2d(np.asarray(array, dtype=np.float64))
            m = float(np.abs(a).max()) or 1.0
            value_grid(ax, a, label, cmap="RdBu_r", vmin=-2 * m, vmax=2 * m, gray=a == 0)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
