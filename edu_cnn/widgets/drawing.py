"""Draw a digit and watch LeNet-5 read it (chapter 7).

The student draws with the mouse on a 280×280 ipycanvas canvas. When the mouse button is
released, the strokes are turned into an image in the kernel (:func:`rasterize_strokes`
– the same round-capped lines the canvas shows), prepared exactly as MNIST's digits were
(:mod:`edu_cnn.preprocess`: crop, 20-pixel box, centre of mass), normalised with the
training statistics, and run through the network (:func:`predict_digit`). The widget
shows every pre-processing step, the class probabilities, the prediction (an ``HTML``
widget with class ``educnn-prediction``) and the activations of every layer.

Why rasterise in the kernel rather than read the canvas pixels? The canvas also sends its
pixels back (``sync_image_data=True``), but they arrive asynchronously, some time after
the mouse-up event; the strokes are already in the kernel when the mouse goes up, so the
prediction never lags one stroke behind, and the same code path runs in tests without a
browser. :meth:`DrawDigit.predict_canvas` reads the canvas pixels instead (what the
browser test compares).

:func:`draw_digit_prediction` is the static twin: the same panels for one image, e.g. a
test digit blown up to canvas size.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edu_cnn.metrics import top_k
from edu_cnn.plots import new_figure, plot_probabilities
from edu_cnn.preprocess import DigitSteps, normalize, preprocess_steps
from edu_cnn.widgets.base import array_to_png, picture, side_by_side, to_rgb, upscale
from edu_cnn.widgets.features import (
    ActivationsFigure,
    LayerOutput,
    draw_activations,
    layer_outputs,
    mosaic,
)

__all__ = [
    "CANVAS_SIZE",
    "STROKE_WIDTH",
    "DigitPrediction",
    "DrawDigit",
    "draw_digit_prediction",
    "draw_preprocessing",
    "predict_digit",
    "prediction_html",
    "rasterize_strokes",
]

CANVAS_SIZE = 280
#: Pen width in canvas pixels: a digit drawn ~200 px tall is scaled by 20/200, giving
#: strokes about 2 px wide in the 28×28 image – as thick as MNIST's.
STROKE_WIDTH = 20


def rasterize_strokes(
    strokes: Sequence[Sequence[tuple[float, float]]],
    size: int = CANVAS_SIZE,
    width: float = STROKE_WIDTH,
) -> np.ndarray:
    """Draw pen strokes as an anti-aliased grey image: ink 1.0 on a 0.0 background.

    Each stroke is a list of ``(x, y)`` canvas points (x to the right, y down) joined by
    straight segments with round ends, ``width`` pixels thick – like the canvas's own
    ``line_cap='round'`` lines. A stroke of one point is a dot.

    Returns
    -------
    (size, size) float64 array in [0, 1].
    """
    if width <= 0:
        raise ValueError(f"rasterize_strokes: width must be positive, got {width!r}")
    image = np.zeros((size, size))
    radius = width / 2.0
    for number, stroke in enumerate(strokes):
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2) if len(stroke) else None
        if points is None:
            continue
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"rasterize_strokes: stroke {number} must be a list of (x, y) points")
        segments = itertools.pairwise(points) if len(points) > 1 else [(points[0], points[0])]
        for (x0, y0), (x1, y1) in segments:
            # only the pixels near the segment: its bounding box grown by the radius
            left = max(int(np.floor(min(x0, x1) - radius - 1)), 0)
            right = min(int(np.ceil(max(x0, x1) + radius + 1)), size)
            top = max(int(np.floor(min(y0, y1) - radius - 1)), 0)
            bottom = min(int(np.ceil(max(y0, y1) + radius + 1)), size)
            if left >= right or top >= bottom:
                continue
            ys, xs = np.mgrid[top:bottom, left:right] + 0.5  # pixel centres
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy
            t = (
                np.zeros_like(xs)
                if length2 == 0
                else np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
            )
            distance = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
            ink = np.clip(radius + 0.5 - distance, 0.0, 1.0)  # 1-px soft edge
            np.maximum(image[top:bottom, left:right], ink, out=image[top:bottom, left:right])
    return image


@dataclass(frozen=True)
class DigitPrediction:
    """What the network made of one image: the pre-processing, probabilities, layers."""

    steps: DigitSteps
    probabilities: np.ndarray
    predicted: int
    outputs: list[LayerOutput]


def predict_digit(model: Any, image: Any, mean: float, std: float) -> DigitPrediction:
    """Prepare ``image`` the MNIST way, normalise it, run ``model`` and keep every layer.

    Parameters
    ----------
    model : a trained ``Sequential`` for (1, 28, 28) inputs
    image : a drawing or photo – (H, W), (H, W, 3) or (H, W, 4); see
        :func:`edu_cnn.preprocess.preprocess_steps`
    mean, std : the training set's pixel statistics

    Raises
    ------
    ValueError
        If the image is blank (nothing drawn) or has a wrong shape.
    """
    from edu_cnn.activations import softmax

    steps = preprocess_steps(image)
    x = normalize(steps.final, mean, std)[None]
    outputs = layer_outputs(model, x)
    probabilities = softmax(outputs[-1].output.astype(np.float64))
    return DigitPrediction(steps, probabilities, int(np.argmax(probabilities)), outputs)


def prediction_html(
    prediction: DigitPrediction | None, class_names: Sequence[str] | None = None
) -> str:
    """The sentence under the canvas: the prediction, its probability, the runners-up."""
    if prediction is None:
        return "Draw a digit (0–9) in the black box with the mouse; release to see the prediction."

    def name(c: int) -> str:
        return class_names[c] if class_names is not None else str(c)

    classes, probs = top_k(prediction.probabilities, 3)
    others = ", ".join(
        f"{name(int(c))}: {100 * p:.1f} %" for c, p in zip(classes[1:], probs[1:], strict=True)
    )
    return (
        f"Prediction: <b style='font-size:150%'>{name(prediction.predicted)}</b> "
        f"with probability {100 * probs[0]:.1f} % (next: {others})"
    )


def draw_preprocessing(steps: DigitSteps, axes: Sequence[Any] | None = None) -> Any:
    """Four panels: the drawing with its bounding box, the crop, the 20-px box, the 28×28
    image with its centre of mass.
    """
    from matplotlib.patches import Rectangle

    if axes is None:
        fig = new_figure(7.0, 2.0)
        axes = fig.subplots(1, 4)
    else:
        fig = axes[0].figure
    top, bottom, left, right = steps.bbox
    axes[0].imshow(steps.cleaned, cmap="gray", vmin=0, vmax=1)
    axes[0].add_patch(
        Rectangle(
            (left - 0.5, top - 0.5),
            right - left,
            bottom - top,
            fill=False,
            color="tab:orange",
            lw=1.5,
        )
    )
    axes[0].set_title(
        f"drawing{' (inverted)' if steps.inverted else ''}\n"
        f"{steps.gray.shape[0]}×{steps.gray.shape[1]}",
        fontsize=8,
    )
    axes[1].imshow(steps.cropped, cmap="gray", vmin=0, vmax=1)
    axes[1].set_title(f"cropped\n{steps.cropped.shape[0]}×{steps.cropped.shape[1]}", fontsize=8)
    axes[2].imshow(steps.scaled, cmap="gray", vmin=0, vmax=1)
    axes[2].set_title(
        f"longer side → 20\n{steps.scaled.shape[0]}×{steps.scaled.shape[1]}", fontsize=8
    )
    axes[3].imshow(steps.final, cmap="gray", vmin=0, vmax=1)
    r, c = steps.center_of_mass
    axes[3].plot([c], [r], "+", color="tab:orange", markersize=10)
    axes[3].set_title("centred by mass\n28×28", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


# -- the widget's pictures, composed as pixels (fast: one PNG encode per picture) ------------
_ORANGE = (1.0, 0.5, 0.05)  # tab:orange, as in draw_preprocessing


def _fit(a: np.ndarray, box: int) -> np.ndarray:
    """A grey (H, W) image in [0, 1] resized (nearest pixel) to fit a box×box square."""
    from PIL import Image

    h, w = a.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    picture = Image.fromarray(np.clip(np.asarray(a) * 255, 0, 255).astype(np.uint8))
    return np.asarray(picture.resize(size, Image.NEAREST), dtype=np.float64) / 255.0


def steps_image(steps: DigitSteps, box: int = 84) -> np.ndarray:
    """The four pre-processing steps side by side as an (H, W, 3) picture: the drawing with
    the ink's bounding box (orange), the crop, the longer side at 20 px, the 28×28 input
    with its centre of mass (orange +).
    """
    panels = []
    for number, a in enumerate((steps.cleaned, steps.cropped, steps.scaled, steps.final)):
        fitted = _fit(a, box)
        rgb = np.repeat(fitted[..., None], 3, axis=2)
        if number == 0:
            top, bottom, left, right = steps.bbox
            f = fitted.shape[0] / a.shape[0]
            t, b = int(top * f), min(int(np.ceil(bottom * f)), rgb.shape[0]) - 1
            le, r = int(left * f), min(int(np.ceil(right * f)), rgb.shape[1]) - 1
            rgb[t, le : r + 1] = rgb[b, le : r + 1] = _ORANGE
            rgb[t : b + 1, le] = rgb[t : b + 1, r] = _ORANGE
        if number == 3:
            f = fitted.shape[0] / a.shape[0]
            row, col = (round((c + 0.5) * f) for c in steps.center_of_mass)
            arm = max(2, int(f * 1.5))
            rgb[max(row - arm, 0) : row + arm + 1, min(col, rgb.shape[1] - 1)] = _ORANGE
            rgb[min(row, rgb.shape[0] - 1), max(col - arm, 0) : col + arm + 1] = _ORANGE
        panels.append(rgb)
    return side_by_side(panels, gap=10)


def steps_caption(steps: DigitSteps) -> str:
    """The titles of :func:`steps_image`'s four panels, as one line of HTML."""
    inverted = " (inverted)" if steps.inverted else ""
    drawing = f"drawing{inverted} {steps.gray.shape[0]}×{steps.gray.shape[1]}"
    return (
        f"<small>{drawing} → cropped {steps.cropped.shape[0]}×{steps.cropped.shape[1]} → "
        f"longer side 20: {steps.scaled.shape[0]}×{steps.scaled.shape[1]} → "
        "centred by mass, 28×28</small>"
    )


def probabilities_html(
    probabilities: np.ndarray, class_names: Sequence[str] | None = None, width: int = 160
) -> str:
    """One HTML bar per class (the winner orange), crisp at any screen resolution."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    best = int(np.argmax(p))
    rows = []
    for c, value in enumerate(p):
        name = class_names[c] if class_names is not None else str(c)
        colour = "#ff7f0e" if c == best else "#1f77b4"
        rows.append(
            f"<div style='display:flex;align-items:center;height:15px;font-size:11px'>"
            f"<span style='width:22px;text-align:right;margin-right:4px'>{name}</span>"
            f"<span style='display:inline-block;height:11px;width:{round(value * width)}px;"
            f"background:{colour}'></span>"
            f"<span style='margin-left:4px'>{100 * value:.1f}%</span></div>"
        )
    return "".join(rows)


ROW_HEIGHT = 40  # the tallest activation row, in pixels
ROW_WIDTH = 640  # the widest


def activations_image(outputs: Sequence[LayerOutput], gap: int = 6) -> tuple[np.ndarray, str]:
    """Every layer's output for one image as one (H, W, 3) picture – a row of maps per
    feature-map layer, a colour strip per vector layer, each with its own viridis range –
    and the HTML of the row labels, aligned with the rows (what the widget shows).
    """
    rows, labels = [], []
    for o in ActivationsFigure._shown(outputs):
        out = np.asarray(o.output, dtype=np.float64)
        if out.ndim == 3:
            picture = mosaic(out)
            factor = max(1, min(ROW_HEIGHT // out.shape[1], ROW_WIDTH // picture.shape[1]))
            rgb = upscale(to_rgb(picture, "viridis"), factor)
        else:
            strip = to_rgb(out[None, :], "viridis")
            rgb = np.repeat(np.repeat(strip, 14, axis=0), max(1, ROW_WIDTH // out.size), axis=1)
        rows.append(rgb)
        labels.append(
            f"<div style='height:{rgb.shape[0]}px;margin-bottom:{gap}px;"
            f"display:flex;align-items:center;justify-content:flex-end;"
            f"font-size:11px;white-space:nowrap'>{o.label}</div>"
        )
    width = max(r.shape[1] for r in rows)
    height = sum(r.shape[0] for r in rows) + gap * len(rows)
    picture = np.ones((height, width, 3))
    y = 0
    for r in rows:
        picture[y : y + r.shape[0], : r.shape[1]] = r
        y += r.shape[0] + gap
    return picture, "".join(labels)


def draw_digit_prediction(
    prediction: DigitPrediction,
    class_names: Sequence[str] | None = None,
    true_class: int | None = None,
    activations: bool = True,
) -> Any:
    """The static twin of :class:`DrawDigit`: pre-processing steps, probability bars and
    (optionally) every layer's activations, in one figure.
    """
    rows = len([o for o in prediction.outputs if o.name not in ("Flatten", "Dropout")])
    below = 0.55 * rows + 0.3 if activations else 0.0
    fig = new_figure(9.0, 2.2 + below)
    if activations:
        top, bottom = fig.subfigures(2, 1, height_ratios=[2.2, below])
    else:
        top, bottom = fig, None
    grid = top.add_gridspec(1, 6, width_ratios=[1, 1, 1, 1, 0.3, 1.8], top=0.85, bottom=0.12)
    axes = [top.add_subplot(grid[0, i]) for i in range(4)]
    draw_preprocessing(prediction.steps, axes)
    plot_probabilities(
        prediction.probabilities,
        class_names,
        true_class,
        ax=top.add_subplot(grid[0, 5]),
        title="probabilities",
    )
    if bottom is not None:
        draw_activations(prediction.outputs, fig=bottom)
    return fig


class DrawDigit:
    """A canvas to draw a digit on, a clear button, and what the network makes of it.

    Parameters
    ----------
    model : a trained LeNet-5 (any ``Sequential`` for (1, 28, 28) inputs)
    mean, std : the training set's pixel statistics (as used in training)
    class_names : optional names of the 10 classes
    stroke_width : pen width in canvas pixels

    Attributes
    ----------
    canvas : the ipycanvas ``Canvas`` (280×280 px)
    clear_button, prediction (HTML, class ``educnn-prediction``), steps_image,
    activations_image : the other parts
    widget : the container (class ``educnn-draw-digit``)
    strokes : the strokes drawn so far, lists of (x, y)
    state : the last :class:`DigitPrediction` (``None`` when the canvas is empty)
    """

    def __init__(
        self,
        model: Any,
        mean: float,
        std: float,
        class_names: Sequence[str] | None = None,
        stroke_width: float = STROKE_WIDTH,
    ) -> None:
        import ipywidgets as widgets
        from ipycanvas import Canvas

        self.model = model
        self.mean, self.std = float(mean), float(std)
        self.class_names = list(class_names) if class_names is not None else None
        self.stroke_width = float(stroke_width)
        self.strokes: list[list[tuple[float, float]]] = []
        self.state: DigitPrediction | None = None
        self._drawing = False
        self._activations: ActivationsFigure | None = None  # reused from stroke to stroke

        self.canvas = Canvas(
            width=CANVAS_SIZE,
            height=CANVAS_SIZE,
            sync_image_data=True,
            layout=widgets.Layout(width=f"{CANVAS_SIZE}px", height=f"{CANVAS_SIZE}px"),
        )
        self.canvas.on_mouse_down(self._on_mouse_down)
        self.canvas.on_mouse_move(self._on_mouse_move)
        self.canvas.on_mouse_up(self._on_mouse_up)
        self.canvas.on_mouse_out(self._on_mouse_up)
        self.clear_button = widgets.Button(description="Clear", icon="eraser")
        self.clear_button.add_class("educnn-clear-button")
        self.clear_button.on_click(lambda _button: self.clear())
        self.prediction = widgets.HTML(prediction_html(None))
        self.prediction.add_class("educnn-prediction")
        self.steps_image = picture("educnn-draw-steps")
        self.steps_caption = widgets.HTML()
        self.probabilities = widgets.HTML()
        self.probabilities.add_class("educnn-draw-probabilities")
        self.activations_image = picture("educnn-draw-activations")
        self.activation_labels = widgets.HTML(
            layout=widgets.Layout(width="150px", margin="0 8px 0 0")
        )
        left = widgets.VBox([self.canvas, self.clear_button])
        right = widgets.VBox(
            [self.prediction, self.steps_image, self.steps_caption, self.probabilities],
            layout=widgets.Layout(margin="0 0 0 16px"),
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox([left, right]),
                widgets.HBox(
                    [self.activation_labels, self.activations_image],
                    layout=widgets.Layout(align_items="flex-start"),
                ),
            ]
        )
        self.widget.add_class("educnn-draw-digit")
        self._blank_canvas()

    # -- the canvas ------------------------------------------------------------------------
    def _blank_canvas(self) -> None:
        from ipycanvas import hold_canvas

        with hold_canvas():
            self.canvas.clear()
            self.canvas.fill_style = "black"
            self.canvas.fill_rect(0, 0, CANVAS_SIZE, CANVAS_SIZE)
            self.canvas.stroke_style = "white"
            self.canvas.fill_style = "white"
            self.canvas.line_width = self.stroke_width
            self.canvas.line_cap = "round"
            self.canvas.line_join = "round"

    def _on_mouse_down(self, x: float, y: float) -> None:
        self._drawing = True
        self.strokes.append([(float(x), float(y))])
        self.canvas.fill_circle(x, y, self.stroke_width / 2)

    def _on_mouse_move(self, x: float, y: float) -> None:
        if not self._drawing:
            return
        x0, y0 = self.strokes[-1][-1]
        self.strokes[-1].append((float(x), float(y)))
        self.canvas.stroke_line(x0, y0, x, y)

    def _on_mouse_up(self, x: float, y: float) -> None:
        if not self._drawing:
            return
        self._drawing = False
        self.update()

    # -- what the network sees -------------------------------------------------------------
    def image(self) -> np.ndarray:
        """The strokes as a 280×280 grey image (ink 1.0 on 0.0)."""
        return rasterize_strokes(self.strokes, CANVAS_SIZE, self.stroke_width)

    def update(self) -> DigitPrediction | None:
        """Predict from the strokes drawn so far (called when the mouse button goes up)."""
        if not self.strokes:
            return self.show(None)
        return self.show(self.image())

    def predict_canvas(self) -> DigitPrediction | None:
        """Predict from the pixels the browser's canvas sent back (``sync_image_data``)."""
        if self.canvas.image_data is None:
            raise ValueError(
                "DrawDigit.predict_canvas: the canvas has sent no pixels yet "
                "(is the widget displayed in a browser?)"
            )
        return self.show(self.canvas.get_image_data())

    def show(self, image: Any) -> DigitPrediction | None:
        """Run the pipeline on ``image`` (any drawing or photo) and show the result."""
        if image is None:
            self.state = None
        else:
            try:
                self.state = predict_digit(self.model, image, self.mean, self.std)
            except ValueError as error:  # a blank drawing: say so, keep the widget alive
                self.state = None
                self.prediction.value = f"Nothing to read yet: {error}"
                return None
        self.prediction.value = prediction_html(self.state, self.class_names)
        if self.state is None:
            self.steps_image.value = b""
            self.activations_image.value = b""
            self.steps_caption.value = self.probabilities.value = self.activation_labels.value = ""
            return None
        # pictures composed as pixels, text as HTML: no matplotlib per stroke (issue 13: < 100 ms)
        self.steps_image.value = array_to_png(steps_image(self.state.steps))
        self.steps_caption.value = steps_caption(self.state.steps)
        self.probabilities.value = probabilities_html(self.state.probabilities, self.class_names)
        rows, labels = activations_image(self.state.outputs)
        self.activations_image.value = array_to_png(rows)
        self.activation_labels.value = labels
        return self.state

    def clear(self) -> None:
        """Wipe the canvas and the prediction."""
        self.strokes = []
        self._drawing = False
        self._blank_canvas()
        self.show(None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
