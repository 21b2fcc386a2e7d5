r"""Chapter 8 widget: the pre-processing contract explorer.

A deployed model is only right if every request is prepared exactly as the training
images were. For MNIST that contract has three parts:

1. **polarity** – bright ink on a dark background (a photo of a digit on paper is the
   opposite);
2. **geometry** – the digit cropped, scaled to fit 20×20 and centred by its centre of mass
   in 28×28 (:mod:`edu_cnn.preprocess`);
3. **statistics** – pixels in [0, 1], then :math:`(x - \mu)/\sigma` with the *training*
   set's mean and standard deviation.

:func:`contract_state` (pure) prepares a "photographed" digit with any of the three parts
switched off and runs the deployed model on it; :func:`draw_contract` is its static twin;
:func:`contract_explorer` wires check boxes to the two, redrawing only what changes in one
:class:`ContractFigure` (:class:`~edu_cnn.widgets.blit.UpdatingRenderer`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import softmax
from ..plots import plot_probabilities, update_probabilities
from ..preprocess import preprocess_digit, to_gray
from .base import Explorer, widget_figure
from .blit import UpdatingRenderer

__all__ = [
    "ContractFigure",
    "ContractState",
    "contract_explorer",
    "contract_state",
    "draw_contract",
    "photo_of_digit",
]


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Plain bilinear resize of a float image – what a naive service would do."""
    from PIL import Image

    resized = Image.fromarray(np.asarray(image, np.float32)).resize(  # float32 → mode "F"
        (width, height), Image.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def photo_of_digit(
    digit: np.ndarray,
    size: int = 84,
    scale: float = 2.2,
    offset: tuple[int, int] = (10, -12),
    paper: float = 0.88,
    ink: float = 0.12,
    noise: float = 0.02,
    seed: int = 0,
) -> np.ndarray:
    """A 28×28 MNIST digit made to look like a photo of ink on paper.

    The digit is enlarged by ``scale``, placed ``offset`` = (down, right) pixels away from
    the centre of a ``size``×``size`` sheet, drawn dark (``ink``) on light ``paper`` with a
    little Gaussian ``noise``. Returns a (size, size) uint8 grey image.
    """
    digit = np.asarray(digit, dtype=np.float32).reshape(28, 28)
    side = round(28 * scale)
    if side > size:
        raise ValueError(
            f"photo_of_digit: the enlarged digit ({side} px) does not fit a "
            f"{size}-px sheet; lower scale or raise size"
        )
    big = np.clip(_resize(digit, side, side), 0.0, 1.0)
    sheet = np.zeros((size, size), np.float32)
    top = int(np.clip((size - side) // 2 + offset[0], 0, size - side))
    left = int(np.clip((size - side) // 2 + offset[1], 0, size - side))
    sheet[top : top + side, left : left + side] = big
    rng = np.random.default_rng(seed)
    photo = paper - (paper - ink) * sheet + rng.normal(0.0, noise, sheet.shape)
    return np.clip(np.round(photo * 255), 0, 255).astype(np.uint8)


@dataclass
class ContractState:
    """What :func:`contract_state` computed.

    Attributes
    ----------
    raw : the request as it arrived, (H, W) uint8.
    network_input : (28, 28) float32 – exactly what the model was given.
    probabilities : (classes,) – the model's answer.
    predicted : int – the most probable class.
    steps : which parts of the contract were applied.
    true_class : the request's true class when it is known, else ``None``.
    """

    raw: np.ndarray
    network_input: np.ndarray
    probabilities: np.ndarray
    predicted: int
    steps: dict[str, bool]
    true_class: int | None = None


def contract_state(
    raw: np.ndarray,
    run: Callable[[np.ndarray], np.ndarray],
    mean: float,
    std: float,
    invert: bool = True,
    centre: bool = True,
    normalise: bool = True,
    true_class: int | None = None,
) -> ContractState:
    """Prepare ``raw`` with the chosen parts of the contract and run the model on it.

    Parameters
    ----------
    raw : array_like
        A digit image as a camera gives it (e.g. :func:`photo_of_digit`).
    run : callable
        ``run(batch (1, 1, 28, 28) float32) -> logits (1, classes)``, e.g. an ONNX Runtime
        session wrapped by :func:`edu_cnn.onnx_export.run_onnx`.
    mean, std : float
        The training set's pixel statistics (stored in the model file).
    invert, centre, normalise : bool
        Apply the polarity, geometry and statistics parts of the contract.
    true_class : int, optional
        The request's true class (only passed on, for the picture).
    """
    grey = to_gray(raw)
    if centre:
        base = preprocess_digit(grey)  # bright on dark, cropped, scaled, centred
    else:  # squeeze the whole picture into 28×28, ink made bright
        bright = 1.0 - grey if np.median(grey) > 0.5 else grey
        base = np.clip(_resize(bright, 28, 28), 0.0, 1.0)
    if not invert:
        base = 1.0 - base  # the polarity the camera gave
    x = (base - np.float32(mean)) / np.float32(std) if normalise else base
    x = np.asarray(x, dtype=np.float32)
    logits = np.asarray(run(x[np.newaxis, np.newaxis]))
    probabilities = softmax(logits.astype(np.float64), axis=1)[0]
    return ContractState(
        np.asarray(raw),
        x,
        probabilities,
        int(np.argmax(probabilities)),
        {"invert": invert, "centre": centre, "normalise": normalise},
        None if true_class is None else int(true_class),
    )


class ContractFigure:
    """The request, what the network sees, and its class probabilities, side by side.

    Built once; :meth:`update` gives it another :class:`ContractState` by changing only
    what moves – the two pictures, the colour bar's range, the second title, the bars and
    the prediction – so a live widget redraws just those (``animated``, for
    :class:`~edu_cnn.widgets.blit.BlitRenderer`). :func:`draw_contract` is the same figure
    drawn once.

    Parameters
    ----------
    state : ContractState
        Its ``true_class``, when known, is marked green if the prediction misses it.
    class_names : the names of the classes (default 0, 1, …).
    pyplot : register the figure with pyplot (the static twin) or not (a live widget).
    """

    def __init__(
        self,
        state: ContractState,
        class_names: Sequence[str] | None = None,
        pyplot: bool = True,
    ) -> None:
        # columns: request, network input, its colour bar, a gap for the class labels,
        # probabilities
        self.fig = widget_figure((9.5, 3.0), pyplot)
        axes = self.fig.subplots(1, 5, gridspec_kw={"width_ratios": [1, 1, 0.05, 0.22, 1.2]})
        self.request = axes[0].imshow(state.raw, cmap="gray", vmin=0, vmax=255)
        axes[0].set_title("the request (a photo)", fontsize=10)
        self.seen = axes[1].imshow(state.network_input, cmap="gray")
        self.seen_title = axes[1].set_title(self._seen_title(state), fontsize=9)
        bar = self.fig.colorbar(self.seen, cax=axes[2])
        bar.ax.tick_params(labelsize=8)
        for ax in (axes[0], axes[1], axes[3]):
            ax.axis("off")
        self.probabilities_ax = axes[4]
        plot_probabilities(
            state.probabilities,
            class_names,
            true_class=state.true_class,
            ax=axes[4],
            title=f"prediction: {state.predicted}",
        )
        self.fig.tight_layout()
        #: what :meth:`update` changes; the colour bar's axes is redrawn whole (its ticks
        #: follow the range of the network's input)
        self.animated = [
            self.request,
            self.seen,
            self.seen_title,
            axes[2],
            *axes[4].patches,
            axes[4].spines["left"],  # drawn over the bars' ends, as in the static figure
            *axes[4].texts,
            axes[4].title,
        ]

    @staticmethod
    def _seen_title(state: ContractState) -> str:
        applied = [name for name, on in state.steps.items() if on] or ["nothing"]
        return "what the network sees\n(" + ", ".join(applied) + ")"

    @staticmethod
    def layout_key(state: ContractState) -> tuple[Any, ...]:
        """What :meth:`update` cannot change: the request's size and the number of classes."""
        return np.shape(state.raw), len(state.probabilities)

    def update(self, state: ContractState) -> None:
        """Show ``state`` (of the same :meth:`layout_key` as the first one)."""
        self.request.set_data(state.raw)
        self.seen.set_data(state.network_input)
        # what a new imshow would do: the grey scale spans the picture's own range
        self.seen.set_clim(float(np.min(state.network_input)), float(np.max(state.network_input)))
        self.seen_title.set_text(self._seen_title(state))
        update_probabilities(
            self.probabilities_ax,
            state.probabilities,
            state.true_class,
            f"prediction: {state.predicted}",
        )


def draw_contract(
    state: ContractState, class_names: Sequence[str] | None = None, true_class: int | None = None
) -> Any:
    """The request, what the network sees, and its class probabilities, side by side.

    ``true_class`` (default: ``state.true_class``) is marked green when the prediction
    misses it.
    """
    if true_class is not None:
        state = dataclasses.replace(state, true_class=int(true_class))
    return ContractFigure(state, class_names).fig


def contract_explorer(
    run: Callable[[np.ndarray], np.ndarray],
    photos: Sequence[np.ndarray],
    mean: float,
    std: float,
    labels: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> Explorer:
    """Check boxes for the three parts of the contract and a slider over the requests.

    Controls: ``"digit"`` (IntSlider "Request"), ``"invert"``, ``"centre"``,
    ``"normalise"`` (Checkboxes). The container has the CSS class
    ``educnn-contract-explorer``; ``explorer.state`` is the last :class:`ContractState`.
    """
    import ipywidgets as widgets

    controls = {
        "digit": widgets.IntSlider(value=0, min=0, max=len(photos) - 1, description="Request"),
        "invert": widgets.Checkbox(value=True, description="polarity: invert"),
        "centre": widgets.Checkbox(value=True, description="geometry: crop, scale, centre"),
        "normalise": widgets.Checkbox(value=True, description="statistics: (x − μ)/σ"),
    }

    def compute(digit: int, invert: bool, centre: bool, normalise: bool) -> ContractState:
        truth = None if labels is None else int(labels[digit])
        return contract_state(photos[digit], run, mean, std, invert, centre, normalise, truth)

    # one figure, updated in place (rebuilt for a request of another size); drawn at the
    # 80 dpi it was shown at when it was drawn whole (figure_to_png's default)
    render = UpdatingRenderer(
        lambda state, pyplot: ContractFigure(state, class_names, pyplot=pyplot),
        key=ContractFigure.layout_key,
        dpi=80,
    )

    def caption(state: ContractState) -> str:
        name = class_names[state.predicted] if class_names else str(state.predicted)
        return (
            f"prediction <b>{name}</b> with probability {state.probabilities[state.predicted]:.2f}"
        )

    return Explorer(
        controls,
        compute,
        render,
        "educnn-contract-explorer",
        caption,
        image_class="educnn-contract-figure",
        caption_class="educnn-contract-prediction",
    )
