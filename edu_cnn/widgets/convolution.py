"""Chapter 4 widgets: the convolution stepper, the kernel explorer, the padding / stride
explorer and the multi-channel view.

Each widget is a pure ``*_state`` function (what is computed, unit-tested), a ``draw_*``
function (its static twin, a matplotlib figure) and a function that wires ipywidgets
controls to the two through :class:`~edu_cnn.widgets.base.Explorer`.

Every map here is a **cross-correlation** (the kernel is not flipped), like ``Conv2d``;
the kernel explorer can put the true convolution (kernel rotated by 180°) beside it.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..conv import correlate2d
from ..kernels import KERNELS, describe_kernel, get_kernel
from ..plots import cell_lines
from ..plots import value_grid as _grid
from ..shapes import conv_output_size
from .base import Explorer, array_to_png, widget_figure
from .blit import UpdatingRenderer

__all__ = [
    "EXPLORER_IMAGES",
    "MULTICHANNEL_FILTERS",
    "ConvStepState",
    "PaddingStrideState",
    "conv_step_state",
    "conv_stepper",
    "draw_conv_step",
    "draw_kernel_explorer",
    "draw_multichannel",
    "draw_padding_stride",
    "explorer_image",
    "kernel_explorer",
    "kernel_explorer_state",
    "kernel_feature_map",
    "multichannel_explorer",
    "multichannel_state",
    "padding_stride_explorer",
    "padding_stride_state",
]


# =============================================================================================
# Convolution stepper
# =============================================================================================
@dataclass
class ConvStepState:
    """One position of the sliding window.

    Attributes
    ----------
    padded : the input after zero padding, shape (H + 2p, W + 2p).
    kernel : the k×k kernel.
    padding, stride : the settings.
    position : the window's index in reading order, 0 … ``n_positions − 1``.
    row, col : the output cell this window writes (its top-left input corner is
        ``(row·stride, col·stride)`` in ``padded``).
    patch, products : the input under the window and ``patch * kernel``.
    value : ``products.sum()`` – the output value at ``(row, col)``.
    output : the whole output map; ``filled`` marks the cells computed so far.
    """

    padded: np.ndarray
    kernel: np.ndarray
    padding: int
    stride: int
    position: int
    row: int
    col: int
    patch: np.ndarray
    products: np.ndarray
    value: float
    output: np.ndarray
    filled: np.ndarray

    @property
    def n_positions(self) -> int:
        return int(self.output.size)

    @property
    def formula(self) -> str:
        """The sum written out, e.g. ``1·0 + 2·(−1) + … = 3``."""
        terms = " + ".join(
            f"{_num(p)}·{_num(k)}"
            for p, k in zip(self.patch.ravel(), self.kernel.ravel(), strict=True)
        )
        return f"{terms} = {round(self.value, 2) + 0.0:g}"


def _num(v: float) -> str:
    v = round(float(v), 2)
    text = f"{v:g}"
    return f"({text})" if v < 0 else text


def conv_step_state(
    image: np.ndarray, kernel: np.ndarray, padding: int = 0, stride: int = 1, position: int = 0
) -> ConvStepState:
    """Everything the stepper shows for window ``position`` of a 2-D cross-correlation.

    ``out[i, j] = Σ_{u,v} padded[i·s + u, j·s + v] · kernel[u, v]``, the output size per
    axis being ``⌊(n + 2p − k)/s⌋ + 1``. ``position`` is clipped to the valid range.

    Raises
    ------
    ValueError
        If the arrays are not 2-D or the kernel does not fit (message from
        :func:`edu_cnn.shapes.conv_output_size`).
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"conv_step_state: expected a 2-D image and a 2-D kernel, "
            f"got shapes {image.shape} and {kernel.shape}"
        )
    kh, kw = kernel.shape
    oh = conv_output_size(image.shape[0], kh, padding, stride, where="conv_step_state")
    ow = conv_output_size(image.shape[1], kw, padding, stride, where="conv_step_state")
    padded = np.pad(image, padding)
    output = np.asarray(correlate2d(image, kernel, stride, padding))  # the whole map at once
    position = int(np.clip(position, 0, oh * ow - 1))
    row, col = divmod(position, ow)
    patch = padded[row * stride : row * stride + kh, col * stride : col * stride + kw].copy()
    products = patch * kernel
    filled = (np.arange(oh * ow) <= position).reshape(oh, ow)
    return ConvStepState(
        padded,
        kernel,
        int(padding),
        int(stride),
        position,
        row,
        col,
        patch,
        products,
        float(products.sum()),
        output,
        filled,
    )


class ConvStepFigure:
    """The stepper's figure, built once per (input, kernel, padding, stride) and updated in
    place for each window: padded input with the window, kernel, products, output so far.

    ``animated`` lists the artists that change with the position (for blitting, see
    :class:`~edu_cnn.widgets.blit.BlitRenderer`); everything else is drawn once.
    """

    def __init__(self, state: ConvStepState, pyplot: bool = True) -> None:
        from matplotlib.patches import Rectangle

        kh, kw = state.kernel.shape
        # kernel and products drawn at the window's scale: widths in cells, equal aspect
        ratios = [state.padded.shape[1], kw, kw, max(state.output.shape[1], kw)]
        cell = 3.6 * (0.84 - 0.02) / max(state.padded.shape[0], kh)  # inches per cell, height-bound
        width = min(13.0, cell * sum(ratios) * (4 + 3 * 0.18) / 4 / 0.98)  # so widths bind equally
        self.fig = widget_figure((width, 3.6), pyplot)
        axes = self.fig.subplots(1, 4, gridspec_kw={"width_ratios": ratios})
        p = state.padding
        is_pad = np.ones(state.padded.shape, bool)
        is_pad[p : state.padded.shape[0] - p, p : state.padded.shape[1] - p] = False
        top = 2 * np.abs(state.padded).max() + 1
        _grid(
            axes[0],
            state.padded,
            f"input, padding p = {p}\n(grey zeros)" if p else "input",
            cmap="Greys",
            vmin=-top,
            vmax=top,
            gray=is_pad,
        )
        self.window = axes[0].add_patch(
            Rectangle((-0.5, -0.5), kw, kh, fill=False, edgecolor="crimson", linewidth=3)
        )
        km = 2 * np.abs(state.kernel).max() + 1e-9  # doubled limits: pale colours, readable numbers
        _grid(axes[1], state.kernel, "kernel", cmap="RdBu_r", vmin=-km, vmax=km)
        self.products, self.product_texts = _grid(axes[2], state.products, "", cmap="RdBu_r")
        self.product_title = axes[2].title
        lo, hi = state.output.min(), state.output.max()
        self.output, self.output_texts = _grid(
            axes[3],
            state.output,
            f"feature map\nstride s = {state.stride}",
            cmap="Oranges",
            mask=np.zeros(state.output.shape, bool),
            vmin=lo - (hi - lo) - 1,
            vmax=hi + 1,
        )
        self.cell = axes[3].add_patch(
            Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="crimson", linewidth=3)
        )
        self.fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.84, wspace=0.18)
        self.animated = [
            self.window,
            self.products,
            *self.product_texts.ravel(),
            self.product_title,
            self.output,
            *self.output_texts.ravel(),
            self.cell,
        ]
        self.update(state)

    def update(self, state: ConvStepState) -> None:
        """Move the window to ``state.position`` and fill the output up to it."""
        self.window.set_xy((state.col * state.stride - 0.5, state.row * state.stride - 0.5))
        m = 2 * np.abs(state.products).max() + 1e-9
        self.products.set_data(state.products)
        self.products.set_clim(-m, m)
        for text, v in zip(self.product_texts.ravel(), state.products.ravel(), strict=True):
            text.set_text(f"{round(float(v), 2) + 0.0:g}")
        self.product_title.set_text(f"patch × kernel\nsum = {state.value:g}")
        self.output.set_data(np.where(state.filled, state.output, np.nan))
        for text, shown in zip(self.output_texts.ravel(), state.filled.ravel(), strict=True):
            text.set_visible(bool(shown))
        self.cell.set_xy((state.col - 0.5, state.row - 0.5))


def draw_conv_step(state: ConvStepState) -> Any:
    """The stepper's static twin: the figure for one window position."""
    return ConvStepFigure(state).fig


DEFAULT_STEPPER_IMAGE = np.array(
    [
        [3, 1, 0, 2, 5, 6],
        [4, 2, 1, 1, 4, 7],
        [5, 4, 0, 4, 1, 2],
        [1, 2, 2, 1, 3, 4],
        [6, 3, 1, 0, 5, 2],
        [3, 1, 0, 1, 3, 3],
    ],
    dtype=np.float64,
)


class _ConvStepper(Explorer):
    """The stepper keeps the slider's range in step with padding and stride."""

    def __init__(self, image: np.ndarray, kernel: np.ndarray, **kwargs: Any) -> None:
        self._image, self._kernel = image, kernel
        super().__init__(**kwargs)

    def _on_change(self, change: Any) -> None:
        slider = self.controls["position"]
        if change is not None and change.get("owner") is not slider:
            v = self.values()
            try:
                oh = conv_output_size(
                    self._image.shape[0], self._kernel.shape[0], v["padding"], v["stride"]
                )
                ow = conv_output_size(
                    self._image.shape[1], self._kernel.shape[1], v["padding"], v["stride"]
                )
            except ValueError:
                return
            self._holding = True
            slider.max = oh * ow - 1  # may clip the value (no update while holding)
            self._holding = False
        if getattr(self, "_holding", False):
            return
        self.update()


def conv_stepper(
    image: np.ndarray | None = None, kernel: np.ndarray | None = None, interval_ms: int = 700
) -> Explorer:
    """Slide a kernel over a small image one position at a time, numbers shown.

    Controls: ``position`` (IntSlider "Position", linked to a Play button), ``padding``,
    ``stride``. Browser hooks: container ``educnn-conv-stepper``, figure ``Image`` with
    class ``educnn-conv-figure``, current value in an ``HTML`` with class ``educnn-conv-value``.
    """
    import ipywidgets as widgets

    image = DEFAULT_STEPPER_IMAGE if image is None else np.asarray(image, dtype=np.float64)
    kernel = get_kernel("vertical edge") if kernel is None else np.asarray(kernel, dtype=np.float64)
    first = conv_step_state(image, kernel)
    position = widgets.IntSlider(
        value=0, min=0, max=first.n_positions - 1, description="Position", continuous_update=True
    )
    padding = widgets.IntSlider(value=0, min=0, max=2, description="Padding")
    stride = widgets.IntSlider(value=1, min=1, max=3, description="Stride")

    def compute(position: int, padding: int, stride: int) -> ConvStepState:
        return conv_step_state(image, kernel, padding, stride, position)

    def caption(state: ConvStepState) -> str:
        return (
            f"<b>out[{state.row}, {state.col}]</b> = {html.escape(state.formula)}"
            f" &nbsp; (window {state.position + 1} of {state.n_positions},"
            f" output {state.output.shape[0]}×{state.output.shape[1]})"
        )

    explorer = _ConvStepper(
        image,
        kernel,
        controls={"position": position, "padding": padding, "stride": stride},
        compute=compute,
        render=UpdatingRenderer(ConvStepFigure, lambda st: (st.padding, st.stride)),
        css_class="educnn-conv-stepper",
        caption=caption,
        image_class="educnn-conv-figure",
        caption_class="educnn-conv-value",
    )
    play = widgets.Play(value=0, min=0, max=position.max, interval=interval_ms, description="Play")
    widgets.jslink((play, "value"), (position, "value"))
    widgets.jslink((position, "max"), (play, "max"))
    explorer.play = play
    explorer.widget.children = (
        widgets.HBox([play, position]),
        widgets.HBox([padding, stride]),
        *explorer.widget.children[1:],
    )
    return explorer


# =============================================================================================
# Kernel explorer
# =============================================================================================
@functools.lru_cache(maxsize=8)
def _cached_image(name: str, size: int) -> np.ndarray:
    from ..data import sample_photo, xo_prototype

    if name == "photo":
        image = sample_photo(gray=True, size=size)
    elif name in ("X", "O"):
        image = xo_prototype(name, size=max(size // 8, 9))
        image = np.kron(image, np.ones((8, 8), np.float32))[:size, :size]
    else:
        raise ValueError(f"explorer_image: expected one of {EXPLORER_IMAGES}, got {name!r}")
    image = np.ascontiguousarray(image, dtype=np.float32)
    image.setflags(write=False)
    return image


EXPLORER_IMAGES: tuple[str, ...] = ("photo", "X", "O")


def explorer_image(name: str = "photo", size: int = 512) -> np.ndarray:
    """A grey image for the kernel explorer: the real photograph, or a large X or O.

    ``"photo"`` is Grace Hopper's portrait from matplotlib's sample data (no download),
    cropped square and resized to ``size``; ``"X"`` / ``"O"`` are the clean templates of
    :func:`edu_cnn.data.xo_prototype`, enlarged 8× with square pixels.
    """
    return _cached_image(name, int(size))


def kernel_feature_map(
    image: np.ndarray, kernel: np.ndarray, convolution: bool = False
) -> np.ndarray:
    """The 'same'-size feature map of a 2-D image: cross-correlation with zero padding.

    With ``convolution=True`` the kernel is rotated by 180° first – true convolution.
    Uses ``scipy.ndimage.correlate`` (compiled, a few ms for 512×512).
    """
    from scipy.ndimage import correlate

    image = np.asarray(image)
    kernel = np.asarray(kernel, dtype=np.float32)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"kernel_feature_map: expected a 2-D image and a 2-D kernel, "
            f"got shapes {image.shape} and {kernel.shape}"
        )
    if convolution:
        kernel = kernel[::-1, ::-1]
    return correlate(image.astype(np.float32, copy=False), kernel, mode="constant", cval=0.0)


def _display_limits(kernel: np.ndarray, *maps: np.ndarray) -> tuple[float, float]:
    """Grey-scale limits that keep kernels comparable: a kernel summing to s turns a flat
    region of brightness 1 into s; edge kernels (s = 0) are shown around mid-grey = 0.
    """
    total = float(np.sum(kernel))
    if abs(total) < 1e-6:
        m = max(float(np.percentile(np.abs(f), 99.5)) for f in maps) or 1.0
        return -m, m
    return (0.0, total) if total > 0 else (total, 0.0)


def kernel_explorer_state(
    image: str | np.ndarray = "photo",
    kernel: str | np.ndarray = "sobel-x",
    compare: bool = False,
    size: int = 512,
) -> dict[str, Any]:
    """What the kernel explorer shows.

    Parameters
    ----------
    image : ``"photo"``, ``"X"``, ``"O"`` or a 2-D array.
    kernel : a name from :mod:`edu_cnn.kernels` or a 3×3 array of numbers.
    compare : also compute the true convolution (kernel rotated by 180°).

    Returns
    -------
    dict with ``image``, ``kernel`` (3×3), ``name``, ``description``, ``feature_map``
    (cross-correlation), ``convolution`` (or None), ``limits`` (grey-scale limits) and
    ``same`` (whether the two maps agree – true for every 180°-symmetric kernel).
    """
    picture = (
        explorer_image(image, size) if isinstance(image, str) else np.asarray(image, np.float32)
    )
    if isinstance(kernel, str):
        name, weights = kernel, get_kernel(kernel)
        description = describe_kernel(kernel)
    else:
        weights = np.asarray(kernel, dtype=np.float64)
        if weights.shape != (3, 3):
            raise ValueError(
                f"kernel_explorer_state: expected a 3×3 kernel, got shape {weights.shape}"
            )
        name = next(
            (n for n, k in KERNELS.items() if np.allclose(k.weights, weights, atol=1e-3)), "custom"
        )
        description = describe_kernel(name) if name != "custom" else "your own numbers"
    feature = kernel_feature_map(picture, weights)
    flipped = kernel_feature_map(picture, weights, convolution=True) if compare else None
    maps = (feature,) if flipped is None else (feature, flipped)
    return {
        "image": picture,
        "kernel": weights,
        "name": name,
        "description": description,
        "feature_map": feature,
        "convolution": flipped,
        "limits": _display_limits(weights, *maps),
        "same": bool(np.allclose(weights, weights[::-1, ::-1])),
    }


def render_kernel_explorer(state: dict[str, Any]) -> bytes:
    """The feature map (and the convolution beside it) as PNG bytes – fast, no matplotlib figure."""
    low, high = state["limits"]
    maps = [state["feature_map"]]
    if state["convolution"] is not None:
        gap = np.full((maps[0].shape[0], 12), high, np.float32)
        maps += [gap, state["convolution"]]
    return array_to_png(np.hstack(maps), vmin=low, vmax=high)


def draw_kernel_explorer(state: dict[str, Any]) -> Any:
    """Static twin: the image, the kernel with its numbers and the feature map(s)."""
    import matplotlib.pyplot as plt

    n = 3 if state["convolution"] is None else 4
    fig, axes = plt.subplots(
        1, n, figsize=(3.3 * n, 3.6), gridspec_kw={"width_ratios": [3, 1.6] + [3] * (n - 2)}
    )
    axes[0].imshow(state["image"], cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input")
    k = state["kernel"]
    m = np.abs(k).max() or 1.0
    _grid(
        axes[1], k, state["name"], cmap="RdBu_r", vmin=-2 * m, vmax=2 * m
    )  # pale: readable numbers
    low, high = state["limits"]
    axes[2].imshow(state["feature_map"], cmap="gray", vmin=low, vmax=high)
    axes[2].set_title("cross-correlation (CNN)")
    if n == 4:
        axes[3].imshow(state["convolution"], cmap="gray", vmin=low, vmax=high)
        axes[3].set_title("true convolution (flipped)")
    for ax in axes[[0, *range(2, n)]]:
        ax.axis("off")
    fig.tight_layout()
    return fig


class _KernelExplorer(Explorer):
    """Keeps the Dropdown and the nine number boxes in step, and redraws once per change."""

    def _on_change(self, change: Any) -> None:
        if getattr(self, "_syncing", False):
            return
        self._syncing = True
        try:
            boxes = [self.controls[f"w{i}{j}"] for i in range(3) for j in range(3)]
            dropdown = self.controls["kernel"]
            if change is not None and change.get("owner") is dropdown and change["new"] != "custom":
                for box, v in zip(boxes, get_kernel(change["new"]).ravel(), strict=True):
                    box.value = round(float(v), 4)
            elif change is not None and change.get("owner") in boxes:
                numbers = np.array([b.value for b in boxes]).reshape(3, 3)
                dropdown.value = next(
                    (n for n, k in KERNELS.items() if np.allclose(k.weights, numbers, atol=1e-4)),
                    "custom",
                )
        finally:
            self._syncing = False
        self.update()


def kernel_explorer(image: str = "photo", kernel: str = "sobel-x", size: int = 512) -> Explorer:
    """Pick a classic kernel or type your own 3×3 numbers and see the feature map at once.

    Controls: ``image`` (Dropdown "Image"), ``kernel`` (Dropdown "Kernel"), ``compare``
    (Checkbox: show true convolution beside it), ``w00`` … ``w22`` (nine FloatText boxes).
    Browser hooks: container ``educnn-kernel-explorer``, feature map in an ``Image`` with
    class ``educnn-feature-map``. ``explorer.last_update_ms`` is the time of the last redraw.
    """
    import ipywidgets as widgets

    start = get_kernel(kernel)
    controls: dict[str, Any] = {
        "image": widgets.Dropdown(options=list(EXPLORER_IMAGES), value=image, description="Image"),
        "kernel": widgets.Dropdown(
            options=[*KERNELS, "custom"], value=kernel, description="Kernel"
        ),
        "compare": widgets.Checkbox(value=False, description="true convolution beside it"),
    }
    for i in range(3):
        for j in range(3):
            controls[f"w{i}{j}"] = widgets.FloatText(
                value=round(float(start[i, j]), 4), layout=widgets.Layout(width="70px")
            )

    def compute(image: str, kernel: str, compare: bool, **w: float) -> dict[str, Any]:
        numbers = np.array([w[f"w{i}{j}"] for i in range(3) for j in range(3)]).reshape(3, 3)
        return kernel_explorer_state(image, numbers, compare, size)

    def caption(state: dict[str, Any]) -> str:
        text = f"<b>{html.escape(state['name'])}</b>: {html.escape(state['description'])}"
        if state["convolution"] is not None:
            text += " &nbsp;|&nbsp; left: cross-correlation, right: true convolution – " + (
                "identical, the kernel is 180°-symmetric"
                if state["same"]
                else "different, the kernel is not 180°-symmetric"
            )
        return text

    explorer = _KernelExplorer(
        controls=controls,
        compute=compute,
        render=render_kernel_explorer,
        css_class="educnn-kernel-explorer",
        caption=caption,
        image_class="educnn-feature-map",
    )
    grid = widgets.GridBox(
        [controls[f"w{i}{j}"] for i in range(3) for j in range(3)],
        layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"),
    )
    explorer.image.layout = widgets.Layout(max_width="100%")
    explorer.widget.children = (
        widgets.HBox([controls["image"], controls["kernel"], controls["compare"]]),
        widgets.HBox([grid, explorer.image], layout=widgets.Layout(align_items="flex-start")),
        explorer.caption,
    )
    return explorer


# =============================================================================================
# Padding / stride explorer
# =============================================================================================
@dataclass
class PaddingStrideState:
    """Output size of a k-wide window with padding p and stride s over n values.

    ``size`` is ``⌊(n + 2p − k)/s⌋ + 1`` or None when the window does not fit;
    ``starts`` are the window's first indices in the padded input; ``left_over`` the
    padded cells at the end that no window reaches (when s does not divide n + 2p − k).
    """

    n: int
    k: int
    p: int
    s: int
    size: int | None
    starts: list[int] = field(default_factory=list)
    left_over: int = 0
    message: str = ""

    @property
    def valid(self) -> bool:
        return self.size is not None

    @property
    def formula(self) -> str:
        value = (self.n + 2 * self.p - self.k) / self.s
        head = (
            f"o = ⌊(n + 2p − k)/s⌋ + 1 = ⌊({self.n} + 2·{self.p} − {self.k})/{self.s}⌋ + 1 "
            f"= ⌊{value:g}⌋ + 1"
        )
        return f"{head} = {self.size}" if self.valid else f"{head}: no output"


def padding_stride_state(n: int, k: int, p: int = 0, s: int = 1) -> PaddingStrideState:
    """Evaluate the output-size formula; invalid settings are explained, not raised."""
    try:
        size = conv_output_size(n, k, p, s, where="padding / stride")
    except ValueError as error:
        return PaddingStrideState(
            n, k, p, s, None, message=str(error).replace("padding / stride: ", "")
        )
    starts = list(range(0, size * s, s))
    left_over = n + 2 * p - (starts[-1] + k)
    notes = []
    if left_over:
        notes.append(
            f"the last {left_over} padded cell(s) are never visited: s = {s} does not divide "
            f"n + 2p − k = {n + 2 * p - k}"
        )
    if p >= k:
        notes.append("p ≥ k: the corner windows see only padding zeros")
    if p == 0:
        kind = (
            "'valid' (narrow) convolution: the output shrinks by k − 1" if s == 1 else "no padding"
        )
    elif 2 * p == k - 1:
        kind = "'same' padding: p = (k − 1)/2 keeps the size" + (
            " (before the stride)" if s > 1 else ""
        )
    elif p == k - 1:
        kind = "'full' (wide) convolution: p = k − 1, every partial overlap counts"
    else:
        kind = f"padding {p}"
    return PaddingStrideState(n, k, p, s, size, starts, left_over, "; ".join([kind, *notes]))


def draw_padding_stride(state: PaddingStrideState) -> Any:
    """The padded input (one row of windows drawn) and the output grid."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n, k, p, s = state.n, state.k, state.p, state.s
    total = n + 2 * p
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(9, 4.2),
        gridspec_kw={"width_ratios": [max(total, k), max(state.size or 1, 1) + 1]},
    )
    ax = axes[0]
    cells = np.ones((total, total))  # padding: grey
    cells[p : p + n, p : p + n] = 0  # the input itself: white
    ax.imshow(cells, cmap="Greys", vmin=-0.2, vmax=4, extent=(-0.5, total - 0.5, total - 0.5, -0.5))
    cell_lines(ax, total, total, color="0.7", linewidth=0.5)
    if p:
        ax.add_patch(Rectangle((p - 0.5, p - 0.5), n, n, fill=False, edgecolor="black", lw=1.5))
    if state.valid:
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(state.starts)))
        for c, colour in zip(state.starts, colours, strict=True):
            ax.add_patch(
                Rectangle(
                    (c - 0.5, -0.5),
                    k,
                    k,
                    fill=False,
                    edgecolor=colour,
                    lw=2.5,
                    linestyle="-" if c == 0 else "--",
                )
            )
        if state.left_over:  # cells no window reaches: hatched, right and bottom
            for xy, width, height in (
                ((total - state.left_over - 0.5, -0.5), state.left_over, total),
                ((-0.5, total - state.left_over - 0.5), total, state.left_over),
            ):
                ax.add_patch(
                    Rectangle(xy, width, height, fill=False, hatch="xx", edgecolor="crimson", lw=0)
                )
        never = f"; hatched: never visited ({state.left_over})" if state.left_over else ""
        ax.set_title(
            f"padded input {total}×{total} (white: n = {n}, grey: padding p = {p})\n"
            f"windows k = {k} of the first row, stride s = {s}{never}",
            fontsize=10,
        )
    else:
        ax.add_patch(Rectangle((-0.5, -0.5), k, k, fill=False, edgecolor="crimson", lw=2.5))
        ax.set_title(
            f"a {k}×{k} window does not fit into {total}×{total}", fontsize=10, color="crimson"
        )
    lim = max(total, k)
    ax.set_xlim(-0.5, lim - 0.5)
    ax.set_ylim(lim - 0.5, -0.5)
    ax = axes[1]
    if state.valid:
        o = state.size
        ax.imshow(np.ones((o, o)), cmap="Oranges", vmin=0, vmax=3)
        for j, colour in enumerate(colours):  # the first row: each cell in its window's colour
            ax.add_patch(Rectangle((j - 0.5, -0.5), 1, 1, facecolor=colour, alpha=0.75, lw=0))
        cell_lines(ax, o, o, color="0.5", linewidth=0.6)
        ax.set_title(f"output {o}×{o}\n(first row: one cell per window)", fontsize=10)
    else:
        ax.text(
            0.5, 0.5, "no output", ha="center", va="center", color="crimson", transform=ax.transAxes
        )
    if not state.valid:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.86, wspace=0.1)
    return fig


def _render_once(fig: Any) -> bytes:
    """PNG of a pyplot figure drawn once, without ``bbox_inches='tight'``'s second pass."""
    import matplotlib.pyplot as plt

    from .blit import BlitRenderer

    try:
        return BlitRenderer(fig, []).render()
    finally:
        plt.close(fig)


def padding_stride_explorer(n: int = 7, k: int = 3, p: int = 0, s: int = 1) -> Explorer:
    """Sliders for n, k, p, s; the padded grid, the windows and the formula evaluated.

    Invalid settings (a window larger than the padded input) are explained in the caption.
    """
    import ipywidgets as widgets

    controls = {
        "n": widgets.IntSlider(value=n, min=1, max=12, description="n (input)"),
        "k": widgets.IntSlider(value=k, min=1, max=7, description="k (kernel)"),
        "p": widgets.IntSlider(value=p, min=0, max=4, description="p (padding)"),
        "s": widgets.IntSlider(value=s, min=1, max=4, description="s (stride)"),
    }

    def caption(state: PaddingStrideState) -> str:
        colour = "black" if state.valid else "crimson"
        return (
            f"<span style='color:{colour}'><b>{html.escape(state.formula)}</b></span><br>"
            f"{html.escape(state.message)}"
        )

    return Explorer(
        controls,
        padding_stride_state,
        lambda st: _render_once(draw_padding_stride(st)),
        css_class="educnn-padding-stride",
        caption=caption,
        controls_per_row=2,
    )


# =============================================================================================
# Multi-channel view
# =============================================================================================
def _per_channel(kernel: np.ndarray) -> np.ndarray:
    return np.stack([kernel, kernel, kernel])


MULTICHANNEL_FILTERS: dict[str, np.ndarray] = {
    "vertical edges in every channel": _per_channel(get_kernel("sobel-x")) / 3,
    "red minus green": np.stack(
        [get_kernel("identity"), -get_kernel("identity"), np.zeros((3, 3))]
    ),
    "luminance (grey)": np.stack([w * get_kernel("identity") for w in (0.299, 0.587, 0.114)]),
    "blue horizontal edges": np.stack([np.zeros((3, 3)), np.zeros((3, 3)), get_kernel("sobel-y")]),
}
"""Some 3×3×3 filters (C × k × k) for the multi-channel view."""


def multichannel_state(image: np.ndarray, weight: np.ndarray, bias: float = 0.0) -> dict[str, Any]:
    """One filter over a C-channel image: C per-channel maps, their sum, plus the bias.

    ``out[i, j] = b + Σ_c Σ_{u,v} x[c, i+u, j+v] · w[c, u, v]`` ('valid', stride 1).

    Parameters
    ----------
    image : (C, H, W) or an (H, W, 3) RGB picture (moved to channels-first).
    weight : (C, k, k), one k×k slice per input channel.
    bias : the filter's single bias.
    """
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 3 and x.shape[2] == 3 and x.shape[0] != 3:
        x = x.transpose(2, 0, 1)
    w = np.asarray(weight, dtype=np.float64)
    if x.ndim != 3 or w.ndim != 3 or w.shape[0] != x.shape[0]:
        raise ValueError(
            f"multichannel_state: expected an image (C, H, W) and a filter (C, k, k) with "
            f"the same C, got {x.shape} and {w.shape}"
        )
    maps = np.stack([correlate2d(x[c], w[c]) for c in range(x.shape[0])])
    total = maps.sum(axis=0)
    return {
        "image": x,
        "weight": w,
        "bias": float(bias),
        "channel_maps": maps,
        "sum": total,
        "output": total + bias,
    }


class MultichannelFigure:
    """Rows per channel – the channel, its k×k slice of the filter, its map – and the sum +
    bias, built once; :meth:`update` swaps the numbers for another filter or bias.
    """

    def __init__(self, state: dict[str, Any], pyplot: bool = True) -> None:
        x, w = state["image"], state["weight"]
        c = x.shape[0]
        names = ["R", "G", "B"] if c == 3 else [f"channel {i}" for i in range(c)]
        self.fig = widget_figure((11, 2.6 * c), pyplot)
        axes = self.fig.subplots(c, 4, squeeze=False)
        self.slices, self.slice_texts, self.maps = [], [], []
        for i in range(c):
            if c == 3:
                only = np.zeros(x.shape[1:] + (3,))
                only[..., i] = np.clip(x[i], 0, 1)  # the channel in its own colour
                axes[i, 0].imshow(only)
            else:
                axes[i, 0].imshow(x[i], cmap="gray", vmin=0, vmax=1)
            axes[i, 0].set_title(f"input channel {names[i]}", fontsize=9)
            image, texts = _grid(axes[i, 1], w[i], f"filter slice w[{i}]", cmap="RdBu_r")
            self.slices.append(image)
            self.slice_texts.extend(texts.ravel())
            self.maps.append(axes[i, 2].imshow(state["channel_maps"][i], cmap="RdBu_r"))
            axes[i, 2].set_title(f"{names[i]} ⋆ w[{i}] (own colour scale)", fontsize=9)
            for j in (0, 2, 3):
                axes[i, j].axis("off")
            if i < c - 1:
                axes[i, 2].text(
                    0.5,
                    -0.12,
                    "+",
                    transform=axes[i, 2].transAxes,
                    ha="center",
                    va="center",
                    fontsize=18,
                    fontweight="bold",
                )
        middle = axes[c // 2, 3]
        middle.text(
            -0.25,
            0.5,
            "=",
            transform=middle.transAxes,
            ha="center",
            va="center",
            fontsize=20,
            fontweight="bold",
        )
        middle.axis("on")
        self.total = middle.imshow(state["output"], cmap="RdBu_r")
        self.total_title = middle.set_title("", fontsize=9)
        middle.set_xticks([])
        middle.set_yticks([])
        self.fig.subplots_adjust(
            left=0.02, right=0.98, bottom=0.03, top=0.93, wspace=0.15, hspace=0.3
        )
        self.animated = [*self.slices, *self.slice_texts, *self.maps, self.total, self.total_title]
        self.update(state)

    def update(self, state: dict[str, Any]) -> None:
        w, maps = state["weight"], state["channel_maps"]
        wm = np.abs(w).max() or 1.0
        for i, image in enumerate(self.slices):
            image.set_data(w[i])
            image.set_clim(-2 * wm, 2 * wm)  # pale: the numbers stay readable
            self.maps[i].set_data(maps[i])
            own = float(np.abs(maps[i]).max()) or 1.0  # each map its own colour limits
            self.maps[i].set_clim(-own, own)
        m = float(np.abs(state["output"]).max()) or 1.0
        for text, v in zip(self.slice_texts, w.ravel(), strict=True):
            text.set_text(f"{round(float(v), 2) + 0.0:g}")
        self.total.set_data(state["output"])
        self.total.set_clim(-m, m)
        self.total_title.set_text(
            f"sum of the {w.shape[0]} maps + b ({state['bias']:g})\n= ONE feature map"
        )


def draw_multichannel(state: dict[str, Any]) -> Any:
    """Static twin of the multi-channel view."""
    return MultichannelFigure(state).fig


def multichannel_explorer(image: np.ndarray | None = None) -> Explorer:
    """Pick a 3×3×3 filter and a bias; see the three per-channel maps and their sum."""
    import ipywidgets as widgets

    from ..data import sample_photo

    picture = sample_photo(gray=False, size=96) if image is None else np.asarray(image)
    controls = {
        "filter": widgets.Dropdown(
            options=list(MULTICHANNEL_FILTERS),
            description="Filter",
            layout=widgets.Layout(width="380px"),
        ),
        "bias": widgets.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.1, description="Bias"),
    }

    def compute(filter: str, bias: float) -> dict[str, Any]:
        state = multichannel_state(picture, MULTICHANNEL_FILTERS[filter], bias)
        state["name"] = filter
        return state

    def caption(state: dict[str, Any]) -> str:
        c, k = state["weight"].shape[0], state["weight"].shape[1]
        return (
            f"one filter of shape {c}×{k}×{k} = {state['weight'].size} weights + 1 bias → one "
            f"{state['output'].shape[0]}×{state['output'].shape[1]} feature map"
        )

    return Explorer(
        controls,
        compute,
        UpdatingRenderer(MultichannelFigure, dpi=72),  # 561 px tall
        css_class="educnn-multichannel",
        caption=caption,
    )
