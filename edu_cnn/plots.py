"""Static figures shared by several chapters (confusion matrix, image grids, curves).

Every function returns a :class:`matplotlib.figure.Figure` built with the object API
(``Figure()``, not ``pyplot``), so it is safe to call from a training thread and is not
shown twice in a notebook; display it with ``display(fig)`` or turn it into PNG bytes
with :func:`edu_cnn.widgets.base.figure_to_png`. Pass ``ax=`` to draw into an existing
axes instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .metrics import confusion_matrix, top_k  # re-exported: they lived here before

__all__ = [
    "HistoryFigure",
    "cell_lines",
    "confusion_matrix",
    "new_figure",
    "plot_confusion_matrix",
    "plot_history",
    "plot_image_grid",
    "plot_probabilities",
    "top_k",
    "update_probabilities",
    "value_grid",
]


def new_figure(width: float, height: float, dpi: float = 90) -> Any:
    """A matplotlib Figure with an Agg canvas, not registered with pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


# -- small matrices drawn cell by cell (convolution, pooling, back-propagation) ---------------
def cell_lines(ax: Any, rows: int, cols: int, color: str = "0.6", linewidth: float = 0.6) -> None:
    """Thin lines between the cells of a ``rows``×``cols`` image drawn with ``imshow``; no ticks.

    The one place the course's grid styling lives: every figure that shows an array as
    coloured cells (a kernel, a padded input, a pooling window) calls this.
    """
    ax.set_xticks([])  # no major ticks: minor ones at their places are dropped
    ax.set_yticks([])
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color=color, linewidth=linewidth)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)


def value_grid(
    ax: Any,
    values: np.ndarray,
    title: str,
    cmap: str = "Blues",
    fmt: str = "{:g}",
    mask: np.ndarray | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    gray: np.ndarray | None = None,
) -> tuple[Any, np.ndarray]:
    """Draw a small matrix as coloured cells with its numbers written in them.

    Parameters
    ----------
    ax : matplotlib Axes to draw into.
    values : (H, W) array.
    title : the axes title.
    cmap, vmin, vmax : the colour map and its limits (``imshow``'s).
    fmt : how each number is written (after rounding to two decimals).
    mask : (H, W) bool, optional – cells where it is False are blank and their text hidden.
    gray : (H, W) bool, optional – cells whose number is written in grey (e.g. padding).

    Returns
    -------
    (image, texts) : the ``AxesImage`` and an (H, W) object array of the text artists, so
        that a widget can update them in place.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"value_grid: expected a 2-D array of values, got shape {values.shape}")
    shown = np.where(mask, values, np.nan) if mask is not None else values
    image = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax)
    h, w = values.shape
    texts = np.empty(values.shape, dtype=object)
    for (i, j), v in np.ndenumerate(values):
        colour = "0.45" if gray is not None and gray[i, j] else "black"
        texts[i, j] = ax.text(
            j,
            i,
            fmt.format(round(float(v), 2) + 0.0),
            ha="center",
            va="center",
            fontsize=9,
            color=colour,
            visible=mask is None or bool(mask[i, j]),
        )
    cell_lines(ax, h, w)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(title, fontsize=10)
    return image, texts


# -- confusion matrix (the counts: edu_cnn.metrics.confusion_matrix) ---------------------------
def plot_confusion_matrix(
    matrix: Any,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str = "Confusion matrix",
    ax: Any = None,
) -> Any:
    """Draw a confusion matrix with its counts (or row fractions with ``normalize=True``)."""
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {m.shape}")
    n = m.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"plot_confusion_matrix: {n} classes but {len(names)} class names")
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    if ax is None:
        fig = new_figure(0.45 * n + 2.2, 0.45 * n + 1.6)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.imshow(shown, cmap="Blues", vmin=0)
    top = shown.max() if shown.size else 1
    for i in range(n):
        for j in range(n):
            value = shown[i, j]
            if value == 0:
                continue
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7 if n > 6 else 9,
                color="white" if value > 0.6 * top else "black",
            )
    ax.set_xticks(
        range(n),
        names,
        rotation=45 if max(map(len, names)) > 2 else 0,
        ha="right" if max(map(len, names)) > 2 else "center",
    )
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return fig


# -- images ------------------------------------------------------------------------------------
def plot_image_grid(
    images: Any,
    labels: Any = None,
    predictions: Any = None,
    probabilities: Any = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    k: int = 3,
    cmap: str = "gray",
    title: str | None = None,
    size: float = 1.3,
) -> Any:
    """A grid of images, each with its true label, the prediction and the top-k probabilities.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W)
    labels, predictions : (N,) class indices, optional; a wrong prediction is shown in red
    probabilities : (N, C), optional – adds the ``k`` most probable classes under each image
    class_names : names to print instead of the class indices
    """
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(
            f"plot_image_grid: expected images (N, H, W) or (N, 1, H, W), got {np.shape(images)}"
        )
    n = len(x)

    def name(c: int) -> str:
        return class_names[c] if class_names is not None else str(c)

    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    text_lines = (
        (labels is not None) + (predictions is not None) + (k if probabilities is not None else 0)
    )
    fig = new_figure(size * ncols, (size + 0.17 * text_lines) * nrows + (0.4 if title else 0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    if probabilities is not None:
        classes, probs = top_k(probabilities, k)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(x[i], cmap=cmap)
        lines = []
        wrong = False
        if labels is not None:
            lines.append(f"true {name(int(labels[i]))}")
        if predictions is not None:
            lines.append(f"pred {name(int(predictions[i]))}")
            wrong = labels is not None and int(predictions[i]) != int(labels[i])
        if probabilities is not None:
            lines += [
                f"{name(int(c))}: {100 * p:.0f}%" for c, p in zip(classes[i], probs[i], strict=True)
            ]
        if lines:
            ax.set_title(
                "\n".join(lines), fontsize=7, color="crimson" if wrong else "black", loc="center"
            )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_probabilities(
    probabilities: Any,
    class_names: Sequence[str] | None = None,
    true_class: int | None = None,
    ax: Any = None,
    title: str = "class probabilities",
) -> Any:
    """Horizontal bars of one image's class probabilities; the winner (and truth) marked."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(p))]
    if ax is None:
        fig = new_figure(3.0, 0.25 * len(p) + 0.8)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.barh(range(len(p)), p)
    ax.set_yticks(range(len(p)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    for i in range(len(p)):
        ax.text(0, i, "", va="center", fontsize=7)
    update_probabilities(ax, p, true_class, title)
    return fig


def update_probabilities(
    ax: Any, probabilities: Any, true_class: int | None = None, title: str | None = None
) -> None:
    """Give the bars :func:`plot_probabilities` drew on ``ax`` new values (same classes).

    Sets each bar's length and colour (the winner orange, a missed true class green) and
    its percentage; a live widget calls this instead of drawing the panel again.
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    bars, labels = ax.patches, ax.texts
    if len(bars) != len(p) or len(labels) != len(p):
        raise ValueError(
            f"update_probabilities: the panel has {len(bars)} bars, got {len(p)} probabilities"
        )
    best = int(np.argmax(p))
    for i, (bar, label, value) in enumerate(zip(bars, labels, p, strict=True)):
        missed_truth = true_class is not None and i == int(true_class) != best
        bar.set_width(value)
        bar.set_facecolor(
            "tab:orange" if i == best else "tab:green" if missed_truth else "tab:blue"
        )
        label.set_x(min(value + 0.02, 0.8))
        label.set_text(f"{100 * value:.1f}%")
    if title is not None:
        ax.set_title(title, fontsize=9)


# -- training curves ---------------------------------------------------------------------------
def _get(history: Any, key: str) -> list[float]:
    if isinstance(history, Mapping):
        return list(history.get(key, []) or [])
    return list(getattr(history, key, []) or [])


class HistoryFigure:
    """Loss and accuracy curves for training and validation that can be redrawn cheaply.

    The figure and its lines are made once; :meth:`update` only replaces the data, which
    is what lets the live training dashboard redraw twice a second without slowing the
    training down. :func:`plot_history` (the static twin) draws one with the final data.

    Parameters
    ----------
    batches_per_epoch : int, optional
        With it, the loss of every mini-batch is drawn too, faintly, at its fractional
        epoch.
    epochs : int, optional
        The planned number of epochs; fixes the x range.
    """

    def __init__(
        self,
        batches_per_epoch: int | None = None,
        epochs: int | None = None,
        title: str | None = None,
        width: float = 8.0,
        height: float = 3.0,
    ) -> None:
        self.batches_per_epoch = batches_per_epoch
        self.epochs = epochs
        self.fig = new_figure(width, height, dpi=72)
        self.ax_loss, self.ax_acc = self.fig.subplots(1, 2)
        style = {"markersize": 4}
        self.lines = {
            "batch_loss": self.ax_loss.plot(
                [], [], color="tab:blue", alpha=0.25, lw=0.8, label="batch loss"
            )[0],
            "loss": self.ax_loss.plot([], [], "o-", color="tab:blue", label="train", **style)[0],
            "val_loss": self.ax_loss.plot(
                [], [], "s-", color="tab:orange", label="validation", **style
            )[0],
            "accuracy": self.ax_acc.plot([], [], "o-", color="tab:blue", label="train", **style)[0],
            "val_accuracy": self.ax_acc.plot(
                [], [], "s-", color="tab:orange", label="validation", **style
            )[0],
        }
        for ax, name in ((self.ax_loss, "loss"), (self.ax_acc, "accuracy")):
            ax.set_xlabel("epoch")
            ax.set_title(name, fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper right" if name == "loss" else "lower right")
        if title:
            self.fig.suptitle(title)
        self.fig.tight_layout()

    def update(self, history: Any) -> HistoryFigure:
        """Show the numbers in ``history`` (a History or a mapping of lists)."""
        right = float(self.epochs or 1)
        loss_values: list[float] = []
        acc_values: list[float] = []
        for key, line in self.lines.items():
            values = _get(history, key)
            if key == "batch_loss":
                if not self.batches_per_epoch:
                    values = []
                x = np.arange(1, len(values) + 1) / (self.batches_per_epoch or 1)
            else:
                x = np.arange(1, len(values) + 1)
            line.set_data(x, values)
            if len(x):
                right = max(right, float(x[-1]))
            (acc_values if "accuracy" in key else loss_values).extend(
                v for v in values if np.isfinite(v)
            )
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0, right + 0.2)
        if loss_values:
            top = max(loss_values)
            self.ax_loss.set_ylim(0, top * 1.05 if top > 0 else 1)
        if acc_values:
            self.ax_acc.set_ylim(max(0.0, min(min(acc_values), 0.9) - 0.02), 1.0)
        return self

    def to_png(self) -> bytes:
        """The figure as PNG bytes: Agg draws into memory, Pillow encodes with light
        compression (about 45 ms, a third faster than ``savefig``).
        """
        import io

        from PIL import Image

        self.fig.canvas.draw()
        rgba = np.asarray(self.fig.canvas.buffer_rgba())
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(
            buffer, format="png", compress_level=1
        )
        return buffer.getvalue()


def plot_history(
    history: Any,
    batches_per_epoch: int | None = None,
    epochs: int | None = None,
    title: str | None = None,
) -> Any:
    """Loss and accuracy curves for training and validation, by epoch (the static twin).

    ``history`` is a :class:`edu_cnn.training.History` or a mapping with the lists
    ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy`` and optionally ``batch_loss``;
    see :class:`HistoryFigure` for the other parameters. Returns the Figure.
    """
    return HistoryFigure(batches_per_epoch, epochs, title).update(history).fig
