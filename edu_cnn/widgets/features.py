"""What a trained CNN has learned (chapter 7): its kernels and every layer's feature maps.

Pure functions do the work – :func:`layer_outputs` runs one image through the network
layer by layer and keeps every intermediate result, :func:`feature_maps` picks one
layer's maps for one digit – and the drawing functions turn them into figures:
:func:`draw_kernels` (the learned 5×5 kernels of both convolution layers),
:func:`draw_feature_maps` (one layer, all its channels) and :func:`draw_activations`
(all layers at once, used by the draw-a-digit widget). :func:`feature_explorer` wires a
digit slider and a layer menu to them (CSS class ``educnn-feature-explorer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edu_cnn.plots import new_figure
from edu_cnn.widgets.base import side_by_side, to_rgb, upscale

__all__ = [
    "ActivationsFigure",
    "FeatureMaps",
    "LayerOutput",
    "conv_layers",
    "draw_activations",
    "draw_feature_maps",
    "draw_kernels",
    "feature_explorer",
    "feature_maps",
    "layer_labels",
    "layer_outputs",
    "mosaic",
]


@dataclass(frozen=True)
class LayerOutput:
    """One layer's output for one image (the batch axis removed).

    ``output`` is (C, H, W) after convolution / pooling / activations of feature maps,
    (F,) after ``Flatten`` and ``Linear``.
    """

    index: int
    name: str
    label: str
    output: np.ndarray


def _describe(index: int, layer: Any, shape: tuple[int, ...]) -> str:
    name = type(layer).__name__
    size = "×".join(str(s) for s in shape[1:]) if len(shape) == 3 else ""
    what = f"{shape[0]}@{size}" if size else f"{shape[0]}"
    return f"{index}: {name} → {what}"


def _as_single(image: Any, where: str) -> np.ndarray:
    x = np.asarray(image, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3:
        raise ValueError(
            f"{where}: expected one image (H, W), (C, H, W) or (1, C, H, W), "
            f"got shape {np.shape(image)}"
        )
    return x


def layer_outputs(model: Any, image: Any) -> list[LayerOutput]:
    """Run one (normalised) image through ``model`` and keep every layer's output.

    The model runs in evaluation mode and is put back in the mode it was in.

    Parameters
    ----------
    model : a ``Sequential``
    image : (H, W), (C, H, W) or (1, C, H, W)

    Returns
    -------
    list of LayerOutput, one per layer, in order; the last one holds the logits.
    """
    x = _as_single(image, "layer_outputs")[None]
    was_training = getattr(model, "training", False)
    model.eval()
    results = []
    try:
        for i, layer in enumerate(model):
            x = layer(x)
            out = np.asarray(x[0])
            results.append(
                LayerOutput(i, type(layer).__name__, _describe(i, layer, out.shape), out)
            )
    finally:
        if was_training:
            model.train()
    return results


def layer_labels(model: Any, input_shape: Sequence[int] = (1, 28, 28)) -> list[str]:
    """The label of each layer (``"0: Conv2d → 6@28×28"``…) without running an image."""
    shapes = model.layer_shapes(tuple(input_shape))
    return [
        _describe(i, layer, tuple(shape))
        for i, (layer, shape) in enumerate(zip(model, shapes, strict=True))
    ]


def conv_layers(model: Any) -> list[tuple[int, Any]]:
    """``(index, layer)`` of every convolution layer (anything with a 4-D ``weight``)."""
    found = []
    for i, layer in enumerate(model):
        weight = getattr(layer, "weight", None)
        data = getattr(weight, "data", None)
        if data is not None and np.ndim(data) == 4:
            found.append((i, layer))
    if not found:
        raise ValueError(f"conv_layers: the model has no convolution layer ({len(model)} layers)")
    return found


@dataclass(frozen=True)
class FeatureMaps:
    """One layer's output for one digit, ready to draw (:func:`draw_feature_maps`)."""

    index: int
    image: np.ndarray
    label: int | None
    layer: LayerOutput
    predicted: int
    probabilities: np.ndarray
    n_layers: int = 0


def feature_maps(
    model: Any, images: Any, index: int, layer: int, labels: Any = None
) -> FeatureMaps:
    """The outputs of layer ``layer`` for image ``index`` of ``images`` (pure).

    Raises
    ------
    ValueError
        If ``index`` or ``layer`` is out of range.
    """
    from edu_cnn.activations import softmax

    images = np.asarray(images)
    if not 0 <= index < len(images):
        raise ValueError(f"feature_maps: image index must be in 0…{len(images) - 1}, got {index}")
    if not 0 <= layer < len(model):
        raise ValueError(f"feature_maps: layer must be in 0…{len(model) - 1}, got {layer}")
    outputs = layer_outputs(model, images[index])
    logits = outputs[-1].output
    label = None if labels is None else int(np.asarray(labels)[index])
    return FeatureMaps(
        index,
        _as_single(images[index], "feature_maps"),
        label,
        outputs[layer],
        int(np.argmax(logits)),
        softmax(logits.astype(np.float64)),
        len(outputs),
    )


# -- figures -------------------------------------------------------------------------------
def _symmetric(a: np.ndarray) -> float:
    top = float(np.abs(a).max())
    return top if top > 0 else 1.0


def mosaic(maps: Any, ncols: int | None = None, gap: int = 1) -> np.ndarray:
    """Tile (N, H, W) maps into one 2-D array, ``ncols`` per row, separated by NaN gaps.

    One ``imshow`` of a mosaic is far faster than one axes per map (NaN shows as the
    colour map's "bad" colour).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"mosaic: expected maps (N, H, W), got shape {maps.shape}")
    n, h, w = maps.shape
    ncols = n if ncols is None else max(1, min(ncols, n))
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, ncols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = maps[k]
    return out


def _cmap(name: str, bad: str = "white") -> Any:
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=bad)


def draw_kernels(model: Any) -> Any:
    """The learned kernels of every convolution layer (red positive, blue negative).

    A filter of the first layer has one input channel, so it is one 5×5 kernel; a filter
    of the second layer has one 5×5 kernel per input channel – a column per filter, a
    row per input channel. Each layer has its own symmetric colour scale.
    """
    layers = conv_layers(model)
    weights = [(i, np.asarray(layer.weight.data, dtype=np.float64)) for i, layer in layers]
    heights = [1.0 + 0.45 * w.shape[1] for _, w in weights]
    fig = new_figure(9.0, sum(heights))
    axes = fig.subplots(len(weights), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (i, w) in zip(axes, weights, strict=True):
        out_c, in_c, kh, kw = w.shape
        # rows = input channels, columns = filters
        tiles = w.transpose(1, 0, 2, 3).reshape(in_c * out_c, kh, kw)
        vmax = _symmetric(w)
        shown = ax.imshow(mosaic(tiles, ncols=out_c), cmap=_cmap("RdBu_r"), vmin=-vmax, vmax=vmax)
        bar = fig.colorbar(shown, ax=ax, fraction=0.025 if in_c > 1 else 0.012, pad=0.01)
        bar.ax.tick_params(labelsize=7)
        bar.set_label("weight", fontsize=7)
        ax.set_xticks([(kw + 1) * f + (kw - 1) / 2 for f in range(out_c)], range(out_c), fontsize=7)
        ax.set_yticks(
            [(kh + 1) * c + (kh - 1) / 2 for c in range(in_c)],
            [f"in {c}" for c in range(in_c)],
            fontsize=7,
        )
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(
            f"layer {i}: {out_c} filters of {in_c}×{kh}×{kw}"
            + (" (column = filter, row = input channel)" if in_c > 1 else ""),
            fontsize=9,
        )
    fig.tight_layout()
    return fig


def _grid(n: int) -> tuple[int, int]:
    ncols = min(n, 8)
    return -(-n // ncols), ncols


def draw_feature_maps(state: FeatureMaps, class_names: Sequence[str] | None = None) -> Any:
    """The input digit and every channel of one layer's output for it."""
    out = state.layer.output

    def name(c: int) -> str:
        return class_names[c] if class_names is not None else str(c)

    if out.ndim == 3:
        rows, cols = _grid(out.shape[0])
        fig = new_figure(1.3 * (cols + 1.5), 1.35 * rows + 0.7)
        grid = fig.add_gridspec(rows, cols + 2, width_ratios=[1.5, 0.2] + [1] * cols)
        ax = fig.add_subplot(grid[:, 0])
        vmin, vmax = float(out.min()), float(out.max())
        map_axes = []
        for c in range(out.shape[0]):
            a = fig.add_subplot(grid[c // cols, 2 + c % cols])
            shown = a.imshow(out[c], cmap="viridis", vmin=vmin, vmax=vmax)
            a.set_title(f"map {c}", fontsize=7)
            a.set_axis_off()
            map_axes.append(a)
        bar = fig.colorbar(shown, ax=map_axes, fraction=0.03, pad=0.02)
        bar.ax.tick_params(labelsize=7)
        bar.set_label("value (one scale for all maps)", fontsize=7)
    else:
        fig = new_figure(9.0, 2.4)
        grid = fig.add_gridspec(1, 3, width_ratios=[1.5, 0.2, 7.3], bottom=0.22, top=0.82)
        ax = fig.add_subplot(grid[0, 0])
        a = fig.add_subplot(grid[0, 2])
        a.bar(
            np.arange(out.size),
            out,
            color=np.where(out >= 0, "tab:blue", "tab:red"),
            width=1.0 if out.size > 40 else 0.8,
        )
        if state.layer.index == state.n_layers - 1 and out.size == len(state.probabilities):
            # the last layer: one logit per class
            a.set_xticks(np.arange(out.size), [name(c) for c in range(out.size)])
            a.set_xlabel("class (the logit of each digit; softmax turns them into probabilities)")
        else:
            a.set_xlabel(f"feature (0–{out.size - 1})")
        a.set_ylabel("value")
        a.set_xlim(-1, out.size)
        a.grid(alpha=0.3)
    ax.imshow(state.image[0], cmap="gray")
    truth = f"true {name(state.label)}, " if state.label is not None else ""
    ax.set_title(f"digit #{state.index}\n{truth}pred {name(state.predicted)}", fontsize=8)
    ax.set_axis_off()
    fig.suptitle(state.layer.label, fontsize=10)
    return fig


# -- the widget's pictures: composed as pixels (one PNG encode, no matplotlib per update) ----
#: tab:blue / tab:red, the bar colours of draw_feature_maps
_POSITIVE, _NEGATIVE = (0.12, 0.47, 0.71), (0.84, 0.15, 0.16)


def bars_image(values: np.ndarray, width: int = 640, height: int = 110) -> np.ndarray:
    """A bar per unit as an (H, W, 3) picture: blue up for positive values, red down for
    negative ones, from a grey zero line (in the middle if any value is negative).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("bars_image: expected at least one value, got none")
    bar = max(1, width // v.size)
    out = np.ones((height, bar * v.size, 3))
    top = float(np.abs(v).max()) or 1.0
    zero = height // 2 if (v < 0).any() else height - 1
    room = zero if (v < 0).any() else height - 1
    for i, value in enumerate(v):
        n = round(abs(value) / top * room)
        left, right = i * bar, i * bar + max(1, bar - (1 if bar > 2 else 0))
        if value >= 0:
            out[zero - n : zero, left:right] = _POSITIVE
        else:
            out[zero : zero + n, left:right] = _NEGATIVE
    out[zero, :] = 0.6
    return out


def feature_maps_image(
    state: FeatureMaps, map_px: int = 84, digit_px: int = 112, gap: int = 3
) -> np.ndarray:
    """The explorer's picture as an (H, W, 3) array: the input digit, then every channel of
    the layer's output (at most 8 a row, map 0 top left, one shared viridis scale) or, for a
    vector, a bar per unit. Each map is enlarged by a whole number so pixels stay square.
    """
    digit = np.asarray(state.image[0], dtype=np.float64)
    left = upscale(to_rgb(digit, "gray"), max(1, digit_px // digit.shape[0]))
    out = state.layer.output
    if out.ndim == 3:
        _, cols = _grid(out.shape[0])
        factor = max(1, round(map_px / out.shape[1]))
        tiles = np.repeat(np.repeat(out, factor, axis=1), factor, axis=2)
        right = to_rgb(
            mosaic(tiles, ncols=cols, gap=gap), "viridis", float(out.min()), float(out.max())
        )
    else:
        right = bars_image(out)
    return side_by_side([left, right], gap=16)


def draw_activations(
    outputs: Sequence[LayerOutput],
    fig: Any = None,
    image: Any = None,
    class_names: Sequence[str] | None = None,
) -> Any:
    """Every layer's output for one image: a row of maps per feature-map layer, a colour
    strip per vector layer (what the draw-a-digit widget shows). Each row has its own colour
    scale, given by the small colour bar at its right; the last row's cells (the logits) are
    labelled with their class – ``class_names`` (e.g. ``("X", "O")``), or 0, 1, 2, … With
    ``image`` (the network's input) a first row shows it.

    ``fig`` may be an existing Figure or SubFigure to draw into; returns the figure.
    """
    return ActivationsFigure(outputs, fig, image=image, class_names=class_names).fig


def _activation_picture(output: np.ndarray) -> np.ndarray:
    """What one layer's output looks like in the figure: a mosaic of its maps, or a strip."""
    return mosaic(output) if output.ndim == 3 else output[None, :]


def _range_ticks(picture: np.ndarray) -> tuple[list[float], list[str]]:
    lo, hi = float(np.nanmin(picture)), float(np.nanmax(picture))
    return [lo, hi], [f"{lo:.2g}", f"{hi:.2g}"]


class ActivationsFigure:
    """The figure of :func:`draw_activations`, kept so that a new input only swaps the
    pictures' pixels (``update``) instead of building two dozen axes again – what keeps
    the draw-a-digit widget quick after each stroke.
    """

    def __init__(
        self,
        outputs: Sequence[LayerOutput],
        fig: Any = None,
        image: Any = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        shown = self._shown(outputs)
        rows: list[tuple[str, np.ndarray, bool]] = []
        if image is not None:
            picture = _as_single(image, "draw_activations")[0]
            rows.append((f"input {picture.shape[0]}×{picture.shape[1]}", picture, True))
        rows += [(o.label, o.output, o.output.ndim == 3) for o in shown]
        self.has_input = image is not None
        self.fig = new_figure(9.0, 0.55 * len(rows) + 0.3) if fig is None else fig
        grid = self.fig.add_gridspec(
            len(rows),
            3,
            width_ratios=[1.6, 7.25, 0.15],
            hspace=0.25,
            wspace=0.03,
            top=0.98,
            bottom=0.02,
            left=0.01,
            right=0.955,
        )
        self.images = []
        self.bars = []
        for r, (label, output, is_map) in enumerate(rows):
            label_ax = self.fig.add_subplot(grid[r, 0])
            label_ax.set_axis_off()
            label_ax.text(
                1.0, 0.5, label, ha="right", va="center", fontsize=7, transform=label_ax.transAxes
            )
            a = self.fig.add_subplot(grid[r, 1])
            picture = output if output.ndim == 2 else _activation_picture(output)
            if is_map:
                im = a.imshow(
                    picture, cmap=_cmap("gray" if output.ndim == 2 else "viridis"), aspect="equal"
                )
                a.set_anchor("W")
            else:
                im = a.imshow(picture, cmap="viridis", aspect="auto")
            a.set_axis_off()
            self.images.append(im)
            bar = self.fig.colorbar(im, cax=self.fig.add_subplot(grid[r, 2]))
            ticks, labels = _range_ticks(picture)
            bar.set_ticks(ticks, labels=labels)
            bar.ax.tick_params(labelsize=6, length=2, pad=1)
            self.bars.append(bar)
        last = shown[-1].output if shown else None
        if class_names is not None and (
            last is None or last.ndim != 1 or len(class_names) != last.size
        ):
            raise ValueError(
                f"draw_activations: {len(class_names)} class names for a last layer "
                f"of shape {None if last is None else last.shape}; expected one per logit"
            )
        if last is not None and last.ndim == 1 and last.size <= 20:
            # the logits: label each cell with its class
            a = self.images[-1].axes
            for k in range(last.size):
                a.text(
                    k,
                    0,
                    str(class_names[k]) if class_names is not None else str(k),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                    fontweight="bold",
                )
        self.shapes = [o.output.shape for o in shown]

    @staticmethod
    def _shown(outputs: Sequence[LayerOutput]) -> list[LayerOutput]:
        return [o for o in outputs if o.name not in ("Flatten", "Dropout")]

    def fits(self, outputs: Sequence[LayerOutput]) -> bool:
        """Whether ``outputs`` come from the same layers, so ``update`` can show them."""
        return [o.output.shape for o in self._shown(outputs)] == self.shapes

    def update(self, outputs: Sequence[LayerOutput], image: Any = None) -> Any:
        """Show ``outputs`` (of the same layers; ``image`` too if the figure shows the input);
        each picture gets its own colour range again, as a fresh ``imshow`` would give it.
        """
        pictures = [_activation_picture(o.output) for o in self._shown(outputs)]
        if self.has_input:
            if image is None:
                raise ValueError(
                    "ActivationsFigure.update: this figure shows the input; pass image="
                )
            pictures.insert(0, _as_single(image, "ActivationsFigure.update")[0])
        for im, bar, picture in zip(self.images, self.bars, pictures, strict=True):
            im.set_data(picture)
            im.set_clim(np.nanmin(picture), np.nanmax(picture))
            ticks, labels = _range_ticks(picture)
            bar.set_ticks(ticks, labels=labels)
        return self.fig


def feature_explorer(
    model: Any,
    images: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    index: int = 0,
    layer: int = 0,
) -> Any:
    """A digit slider and a layer menu over :func:`feature_maps` / :func:`draw_feature_maps`.

    Returns an :class:`~edu_cnn.widgets.base.Explorer` (container class
    ``educnn-feature-explorer``, picture class ``educnn-feature-maps``); its
    ``controls["Digit"]`` and ``controls["Layer"]`` can be set from code, ``state`` is
    the :class:`FeatureMaps` shown.
    """
    import ipywidgets as widgets

    from edu_cnn.widgets.base import Explorer, array_to_png

    images = np.asarray(images)
    labels_text = layer_labels(
        model, tuple(np.shape(images)[1:]) if np.ndim(images) == 4 else (1, *np.shape(images)[1:])
    )
    controls = {
        "Digit": widgets.IntSlider(
            value=index, min=0, max=len(images) - 1, description="Digit", continuous_update=False
        ),
        "Layer": widgets.Dropdown(
            options=[(text, i) for i, text in enumerate(labels_text)],
            value=layer,
            description="Layer",
            layout=widgets.Layout(width="320px"),
        ),
    }

    def compute(Digit: int, Layer: int) -> FeatureMaps:
        return feature_maps(model, images, Digit, Layer, labels)

    def name(c: int) -> str:
        return class_names[c] if class_names is not None else str(c)

    def caption(state: FeatureMaps) -> str:
        p, out = state.probabilities, state.layer.output
        truth = f", true class {name(state.label)}" if state.label is not None else ""
        if out.ndim == 3:
            shown = (
                f"maps 0–{out.shape[0] - 1} row by row, dark = {out.min():.2f}, "
                f"yellow = {out.max():.2f}"
            )
        else:
            shown = f"one bar per unit (blue > 0, red < 0, largest |value| {np.abs(out).max():.2f})"
        return (
            f"Digit #{state.index}{truth}: prediction <b>{name(state.predicted)}</b> with "
            f"probability {100 * p[state.predicted]:.1f} %.<br>Output of layer "
            f"{state.layer.label}, shape {out.shape}: {shown}."
        )

    return Explorer(
        controls,
        compute,
        lambda state: array_to_png(feature_maps_image(state)),
        css_class="educnn-feature-explorer",
        caption=caption,
        image_class="educnn-feature-maps",
    )
