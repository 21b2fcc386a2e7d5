"""Chapter 2 widgets: the learning-rate explorer and the normalisation explorer.

Learning-rate explorer (学习率)
    The loss surface of a one-feature linear regression over (w, b) as contour lines,
    with the path gradient descent takes for the chosen learning rate and number of
    steps, and the loss per step beside it. Too small a rate crawls, a good one walks
    down the valley, too large a one zig-zags across it and finally diverges (发散).

Normalisation explorer (归一化)
    The same multi-feature regression (house prices: m², rooms, km) trained on raw,
    min-max scaled and z-scored features with one learning rate; the three loss curves
    side by side show why unnormalised features force a tiny learning rate.

Each has a pure function (:func:`descent_state`, :func:`normalisation_state`), a static
twin (:func:`draw_learning_rate`, :func:`draw_normalisation`) and the widget
(:func:`learning_rate_explorer`, :func:`normalisation_explorer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..data.normalize import MinMaxScaler, StandardScaler
from ..data.toy import house_prices, linear_data
from ..regression import (
    DescentRun,
    gradient_descent,
    least_squares,
    loss_surface,
    mse,
    mse_gradient,
)
from .base import Explorer
from .blit import BlitRenderer, blit_render

# -- the learning-rate explorer ---------------------------------------------------------------
#: Where every descent of the explorer starts: far from the minimum, across the valley.
START = (-1.0, 4.0)
#: The most steps the explorer's slider allows (the loss axis is fixed to it, so that
#: runs of different lengths compare at a glance and redraws stay fast).
MAX_STEPS = 100


@lru_cache(maxsize=1)
def lr_data() -> tuple[np.ndarray, np.ndarray]:
    """The explorer's data: 40 noisy points around y = 2x + 1 with x in [0, 3]."""
    x, y = linear_data(n=40, weight=2.0, bias=1.0, noise=0.5, x_range=(0.0, 3.0), seed=0)
    return x.astype(np.float64), y.astype(np.float64)


@lru_cache(maxsize=1)
def _surface() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = lr_data()
    ws, bs = np.linspace(-2.0, 6.0, 121), np.linspace(-4.0, 6.0, 121)
    return ws, bs, loss_surface(x, y, ws, bs)


@dataclass
class DescentState:
    """What the learning-rate explorer shows.

    Attributes
    ----------
    lr, steps : the settings; run : the :class:`~edu_cnn.regression.DescentRun`.
    optimum : (w*, b*) from least squares; min_loss : the loss there.
    verdict : ``"diverges"``, ``"zig-zags"``, ``"converged"`` or ``"crawls"``.
    """

    lr: float
    steps: int
    run: DescentRun
    optimum: tuple[float, float]
    min_loss: float
    verdict: str


def classify_descent(run: DescentRun, min_loss: float) -> str:
    """Name what a run did: ``diverges``, ``zig-zags`` (converging while overshooting),
    ``converged`` (within 1 % of the way from the start to the minimum) or ``crawls``.
    """
    if run.diverged or run.losses[-1] > run.losses[0]:
        return "diverges"
    gap = (run.losses[-1] - min_loss) / max(run.losses[0] - min_loss, 1e-12)
    db = np.diff(run.b)
    flips = int(np.sum(np.sign(db[1:]) * np.sign(db[:-1]) < 0)) if len(db) > 2 else 0
    if flips > len(db) // 2:
        return "zig-zags" if gap > 0.01 else "converged"
    return "converged" if gap <= 0.01 else "crawls"


def descent_state(lr: float = 0.05, steps: int = 30) -> DescentState:
    """Run ``steps`` steps of gradient descent with learning rate ``lr`` from :data:`START`."""
    x, y = lr_data()
    run = gradient_descent(x, y, lr=float(lr), steps=int(steps), w0=START[0], b0=START[1])
    w_star, b_star = least_squares(x, y)
    min_loss = mse(x, y, w_star, b_star)
    return DescentState(
        float(lr),
        int(steps),
        run,
        (float(w_star[0]), b_star),
        min_loss,
        classify_descent(run, min_loss),
    )


class LearningRateFigure:
    """Contours and loss axes built once; :meth:`update` changes only the path, curve and
    titles. With ``fast=True`` a :class:`~edu_cnn.widgets.blit.BlitRenderer` redraws just
    those (the widget); without, the figure is an ordinary one (the static twin).
    """

    def __init__(self, fast: bool = False) -> None:
        from matplotlib.figure import Figure

        ws, bs, surface = _surface()
        x, y = lr_data()
        w_star, b_star = least_squares(x, y)
        start_loss = mse(x, y, np.array([START[0]]), START[1])
        self._min_log = np.log10(mse(x, y, w_star, b_star))
        self.fig = Figure(figsize=(7.2, 3.0))
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.88, wspace=0.3)
        self.ax, self.loss_ax = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
        levels = np.geomspace(surface.min() * 1.05, surface.max(), 14)
        # filled bands (flat colours: a small PNG) rather than many thin antialiased lines
        from matplotlib.colors import BoundaryNorm

        bands = [*levels, surface.max() * 1.01]
        self.ax.contourf(
            ws,
            bs,
            surface,
            levels=bands,
            cmap="viridis_r",
            alpha=0.5,
            norm=BoundaryNorm(bands, 256),
        )  # one colour step per band
        self.ax.set(xlim=(ws[0], ws[-1]), ylim=(bs[0], bs[-1]), xlabel="weight w", ylabel="bias b")
        self.ax.plot(w_star, [b_star], "*", color="crimson", ms=12, zorder=4)
        (self._path,) = self.ax.plot([], [], "o-", color="tab:red", ms=3, lw=1.2)
        self.ax.plot(*START, "s", color="black", ms=6)
        self._title = self.ax.set_title("", fontsize=10)
        (self._curve,) = self.loss_ax.plot([], [], color="tab:red")
        self.loss_ax.axhline(self._min_log, color="crimson", ls="--", lw=0.8)
        # log10 of the loss on a linear axis (log-scale ticks are slow to draw); fixed
        # limits – a diverging curve leaves through the top
        self.loss_ax.set(
            xlabel="step",
            ylabel="log₁₀ MSE",
            xlim=(0, MAX_STEPS),
            ylim=(self._min_log - 0.3, np.log10(start_loss) + 3),
        )
        self._loss_title = self.loss_ax.set_title("", fontsize=10)
        self.renderer = (
            BlitRenderer(self.fig, [self._path, self._title, self._curve, self._loss_title])
            if fast
            else None
        )

    def update(self, state: DescentState) -> LearningRateFigure:
        run = state.run
        self._path.set_data(run.w[:, 0], run.b)
        self._title.set_text(f"η = {state.lr:.3g}, {run.steps} steps: {state.verdict}")
        self._curve.set_data(np.arange(len(run.losses)), np.log10(run.losses))
        if self.renderer is None:  # the static twin fits its axis; the widget keeps it fixed
            self.loss_ax.set_xlim(0, state.steps)
        end = "diverged" if run.diverged else f"final loss {run.losses[-1]:.3g}"
        self._loss_title.set_text(f"{end} (minimum {state.min_loss:.3g})")
        return self


def draw_learning_rate(state: DescentState) -> Any:
    """Static twin of the learning-rate explorer: contours with the path, loss per step."""
    return LearningRateFigure().update(state).fig


def learning_rate_explorer(lr: float = 0.05, steps: int = 50) -> Explorer:
    """Widget: a log slider for the learning rate and a slider for the number of steps."""
    import ipywidgets as widgets

    figure = LearningRateFigure(fast=True)
    controls = {
        "lr": widgets.FloatLogSlider(
            value=lr, base=10, min=-3, max=0, step=0.05, description="η (lr)", readout_format=".3f"
        ),
        "steps": widgets.IntSlider(value=steps, min=1, max=MAX_STEPS, description="steps"),
    }
    return Explorer(
        controls,
        descent_state,
        blit_render(figure),
        "educnn-learning-rate",
    )


# -- the normalisation explorer ---------------------------------------------------------------
MAX_EPOCHS = 200
#: The three ways of feeding the features to the model (None: as they are).
SCALINGS: dict[str, Any] = {"raw": None, "min-max": MinMaxScaler, "z-score": StandardScaler}


@lru_cache(maxsize=1)
def house_data() -> tuple[np.ndarray, np.ndarray]:
    """The explorer's data: 200 made-up house prices from m², rooms and km (float64)."""
    houses = house_prices(n=200, seed=0)
    return houses.x.astype(np.float64), houses.y.astype(np.float64)


@dataclass
class NormalisationState:
    """What the normalisation explorer shows: one gradient-descent run per scaling.

    Attributes
    ----------
    lr, epochs : the settings; runs : scaling name → :class:`~edu_cnn.regression.DescentRun`
    (losses in k€², the label's own units); min_loss : the least-squares loss.
    climbs : for each run that diverged, the losses of its first :data:`CLIMB_EPOCHS`
    epochs computed without the divergence stop (they grow without bound).
    """

    lr: float
    epochs: int
    runs: dict[str, DescentRun]
    min_loss: float
    climbs: dict[str, np.ndarray] = field(default_factory=dict)

    def final_losses(self) -> dict[str, float]:
        """The last loss of each run (``inf`` for a run that diverged)."""
        return {
            name: (np.inf if run.diverged else float(run.losses[-1]))
            for name, run in self.runs.items()
        }


#: How many epochs of a diverging run the figure shows climbing.
CLIMB_EPOCHS = 3


def climb(X: np.ndarray, y: np.ndarray, lr: float, epochs: int = CLIMB_EPOCHS) -> np.ndarray:
    """The losses of the first ``epochs`` full-batch steps from w = 0, b = 0, with no
    divergence stop: what a diverging run does before :func:`gradient_descent` stops it.
    """
    w, b = np.zeros(X.shape[1]), 0.0
    losses = [mse(X, y, w, b)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            dw, db = mse_gradient(X, y, w, b)
            w, b = w - lr * dw, b - lr * db
            losses.append(mse(X, y, w, b))
    return np.array(losses)


def normalisation_state(lr: float = 0.1, epochs: int = 50) -> NormalisationState:
    """Train the house-price regression with full-batch gradient descent on raw, min-max
    and z-scored features (scalers fitted on these training data), same η and epochs.
    """
    x, y = house_data()
    runs, climbs = {}, {}
    for name, scaler in SCALINGS.items():
        features = x if scaler is None else scaler().fit_transform(x)
        runs[name] = gradient_descent(features, y, lr=float(lr), steps=int(epochs))
        if runs[name].diverged:
            climbs[name] = climb(features, y, float(lr))
    w, b = least_squares(x, y)
    return NormalisationState(float(lr), int(epochs), runs, mse(x, y, w, b), climbs)


class NormalisationFigure:
    """Three loss axes built once; :meth:`update` replaces the curves and titles
    (``fast=True``: redrawn alone by a :class:`~edu_cnn.widgets.blit.BlitRenderer`).
    """

    def __init__(self, fast: bool = False) -> None:
        from matplotlib.figure import Figure

        x, y = house_data()
        w, b = least_squares(x, y)
        low, high = np.log10(mse(x, y, w, b)), np.log10(np.mean(y**2))  # the minimum, the start

        self.fig = Figure(figsize=(8.4, 2.7))
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.85, wspace=0.15)
        self.axes = self.fig.subplots(1, len(SCALINGS), sharex=True, sharey=True)
        self._curves, self._titles, self._notes = [], [], []
        for ax, name in zip(self.axes, SCALINGS, strict=True):
            self._curves.append(ax.plot([], [], color="tab:blue")[0])
            ax.axhline(low, color="crimson", ls="--", lw=0.8)
            self._titles.append(ax.set_title(name, fontsize=10))
            # what a diverging run did before it left the axes (empty otherwise)
            self._notes.append(
                ax.text(
                    0.5,
                    0.5,
                    "",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="tab:red",
                )
            )
            ax.set(xlabel="epoch")
        self.axes[0].set(
            ylabel="log₁₀ MSE (MSE in k€²)", ylim=(low - 0.3, high + 2.0), xlim=(0, MAX_EPOCHS)
        )
        self.renderer = (
            BlitRenderer(self.fig, [*self._curves, *self._titles, *self._notes]) if fast else None
        )

    def update(self, state: NormalisationState) -> NormalisationFigure:
        finals = state.final_losses()
        if self.renderer is None:  # the static twin fits its axis; the widget keeps it fixed
            self.axes[0].set_xlim(0, state.epochs)
        for name, curve, title, note in zip(
            SCALINGS, self._curves, self._titles, self._notes, strict=True
        ):
            run = state.runs[name]
            losses = state.climbs.get(name, run.losses)  # a diverged run: its first epochs climbing
            curve.set_color("tab:red" if run.diverged else "tab:blue")
            curve.set_marker("o" if run.diverged else "None")  # the start, where the climb leaves
            curve.set_data(np.arange(len(losses)), np.log10(losses))
            end = (
                f"diverged at epoch {run.steps + 1}"
                if run.diverged
                else f"final {finals[name]:,.0f} k€²"
            )
            title.set_text(f"{name}: {end}")
            text = ""
            if name in state.climbs:
                grown = state.climbs[name]
                text = "↑ off the chart: the loss\n" + "\n".join(
                    f"epoch {k}: {v:.1e} k€²" for k, v in enumerate(grown[1:], start=1)
                )
            note.set_text(text)
        return self


def draw_normalisation(state: NormalisationState) -> Any:
    """Static twin of the normalisation explorer: three loss curves side by side."""
    return NormalisationFigure().update(state).fig


def normalisation_explorer(lr: float = 0.1, epochs: int = 100) -> Explorer:
    """Widget: one learning rate and number of epochs for all three scalings."""
    import ipywidgets as widgets

    figure = NormalisationFigure(fast=True)
    controls = {
        "lr": widgets.FloatLogSlider(
            value=lr, base=10, min=-6, max=0, step=0.1, description="η (lr)", readout_format=".1e"
        ),
        "epochs": widgets.IntSlider(
            value=epochs, min=5, max=MAX_EPOCHS, step=5, description="epochs"
        ),
    }
    return Explorer(
        controls,
        normalisation_state,
        blit_render(figure),
        "educnn-normalisation",
    )
