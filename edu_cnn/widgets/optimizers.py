r"""Chapter 3 widget: the optimiser race (优化器比较).

SGD, momentum, Nesterov, AdaGrad, AdaDelta, RMSProp and Adam start from the same point
of the same 2-D loss surface and take the same number of steps; their paths are drawn
together over the contour lines, with the loss per step beside them.

The race runs the course's real optimisers from :mod:`edu_cnn.optim`: each gets one
``Parameter`` of shape (2,) – the point (x, y) – whose ``grad`` is set by hand from the
surface's gradient before every ``step()``. Nothing is re-implemented here.

* pure function: :func:`race`
* static twin: :func:`draw_race`
* widget: :func:`optimizer_race`
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..layer import Parameter
from ..optim import SGD, Adadelta, Adagrad, Adam, Optimizer, RMSprop
from .base import Explorer
from .blit import BlitRenderer, blit_render


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: its value, its gradient, where the race starts and the view."""

    name: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[float, float], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    lrs: dict[str, float]  # a learning rate per optimiser that makes a fair race here
    momentum: float = 0.9  # μ of momentum and Nesterov here


def _bowl(x, y):
    return 0.1 * x**2 + 2.0 * y**2


def _rosenbrock(x, y):
    return (1.0 - x) ** 2 + 10.0 * (y - x**2) ** 2


SURFACES: dict[str, Surface] = {
    "elongated bowl": Surface(
        "elongated bowl  f = 0.1x² + 2y²",
        _bowl,
        lambda x, y: np.array([0.2 * x, 4.0 * y]),
        start=(-4.5, 1.5),
        minimum=(0.0, 0.0),
        xlim=(-5.0, 1.0),
        ylim=(-2.0, 2.0),
        # μ = 0.5 with lr 0.5 damps both directions by √μ ≈ 0.71 a step; μ = 0.9 with a small
        # lr would leave both under-damped (0.95 a step) and spiral in more slowly than SGD
        lrs={
            "SGD": 0.4,
            "momentum": 0.5,
            "Nesterov": 0.3,
            "AdaGrad": 0.8,
            "AdaDelta": 1.0,
            "RMSProp": 0.05,
            "Adam": 0.2,
        },
        momentum=0.5,
    ),
    "Rosenbrock": Surface(
        "Rosenbrock  f = (1 − x)² + 10(y − x²)²",
        _rosenbrock,
        lambda x, y: np.array([-2.0 * (1.0 - x) - 40.0 * x * (y - x**2), 20.0 * (y - x**2)]),
        start=(-1.5, 2.0),
        minimum=(1.0, 1.0),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        lrs={
            "SGD": 0.01,
            "momentum": 0.002,
            "Nesterov": 0.002,
            "AdaGrad": 0.5,
            "AdaDelta": 1.0,
            "RMSProp": 0.02,
            "Adam": 0.1,
        },
    ),
}

#: The contestants: name → a function making the optimiser for one parameter, its lr and
#: the surface's momentum μ (used by momentum and Nesterov only).
OPTIMIZERS: dict[str, Callable[[list[Parameter], float, float], Optimizer]] = {
    "SGD": lambda p, lr, mu: SGD(p, lr=lr),
    "momentum": lambda p, lr, mu: SGD(p, lr=lr, momentum=mu),
    "Nesterov": lambda p, lr, mu: SGD(p, lr=lr, momentum=mu, nesterov=True),
    "AdaGrad": lambda p, lr, mu: Adagrad(p, lr=lr),
    "AdaDelta": lambda p, lr, mu: Adadelta(p, lr=lr),
    "RMSProp": lambda p, lr, mu: RMSprop(p, lr=lr),
    "Adam": lambda p, lr, mu: Adam(p, lr=lr),
}
MAX_STEPS = 200  # the widget's slider limit and the loss axis' fixed length
COLOURS = dict(
    zip(
        OPTIMIZERS,
        ["black", "tab:blue", "tab:cyan", "tab:green", "tab:olive", "tab:orange", "tab:red"],
        strict=True,
    )
)


def run_optimizer(name: str, surface: Surface, lr: float, steps: int) -> np.ndarray:
    """The path (steps + 1, 2) of optimiser ``name`` with learning rate ``lr`` on ``surface``.

    A path that leaves the finite numbers ends there (it diverged).
    """
    if name not in OPTIMIZERS:
        raise ValueError(
            f"run_optimizer: unknown optimiser {name!r}; expected one of {', '.join(OPTIMIZERS)}"
        )
    point = Parameter(np.array(surface.start, dtype=np.float64), "point")
    optimizer = OPTIMIZERS[name]([point], lr, surface.momentum)
    path = [point.data.copy()]
    for _ in range(steps):
        point.grad = surface.grad(*point.data)  # the gradient, set by hand
        optimizer.step()
        if not np.all(np.isfinite(point.data)) or np.abs(point.data).max() > 1e6:
            break
        path.append(point.data.copy())
    return np.array(path)


@dataclass
class RaceState:
    """The race's result: ``paths[name]`` is (k + 1, 2), ``losses[name]`` is (k + 1,)."""

    surface: str
    steps: int
    lr_scale: float
    paths: dict[str, np.ndarray]
    losses: dict[str, np.ndarray]

    def final_distance(self) -> dict[str, float]:
        """How far each optimiser ended from the minimum (``inf`` if it diverged)."""
        target = np.array(SURFACES[self.surface].minimum)
        return {
            name: (
                float(np.linalg.norm(path[-1] - target)) if len(path) == self.steps + 1 else np.inf
            )
            for name, path in self.paths.items()
        }


def race(surface: str = "elongated bowl", steps: int = 100, lr_scale: float = 1.0) -> RaceState:
    """Run every optimiser for ``steps`` steps on ``surface``, each with its fair learning
    rate (:attr:`Surface.lrs`) times ``lr_scale``.
    """
    if surface not in SURFACES:
        raise ValueError(
            f"race: unknown surface {surface!r}; expected one of {', '.join(SURFACES)}"
        )
    s = SURFACES[surface]
    paths = {
        name: run_optimizer(name, s, s.lrs[name] * lr_scale, int(steps)) for name in OPTIMIZERS
    }
    losses = {name: s.f(path[:, 0], path[:, 1]) for name, path in paths.items()}
    return RaceState(surface, int(steps), float(lr_scale), paths, losses)


class RaceFigure:
    """The shaded surface and one path and loss curve per optimiser.

    ``fast=True`` (the widget) redraws only the paths, curves and title with a
    :class:`~edu_cnn.widgets.blit.BlitRenderer` and leaves the legend to the caption;
    the static twin has a legend in the figure.
    """

    def __init__(self, fast: bool = False) -> None:
        legend = not fast
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(8.4, 3.3) if legend else (7.2, 3.3))
        self.fig.subplots_adjust(
            left=0.08, right=0.8 if legend else 0.98, bottom=0.15, top=0.9, wspace=0.25
        )
        self.ax, self.loss_ax = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
        self._surface: str | None = None
        self._background: Any = None
        self._paths = {
            n: self.ax.plot([], [], "-", color=c, lw=1.3, label=n)[0] for n, c in COLOURS.items()
        }
        self._curves = {
            n: self.loss_ax.plot([], [], color=c, lw=1.3, label=n)[0] for n, c in COLOURS.items()
        }
        (self._minimum,) = self.ax.plot([], [], "*", color="crimson", ms=12, zorder=5)
        (self._start,) = self.ax.plot([], [], "s", color="black", ms=5, zorder=5)
        self.loss_ax.set(xlabel="step", ylabel="log₁₀ loss")
        self.ax.set(xlabel="x", ylabel="y")
        self._contours: Any = None
        if legend:  # the widget shows its legend as HTML under the picture: faster to redraw
            self.loss_ax.legend(
                loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False
            )
        self._title = self.ax.set_title("", fontsize=9)
        self.renderer = (
            BlitRenderer(self.fig, [*self._paths.values(), *self._curves.values(), self._title])
            if fast
            else None
        )

    def _draw_surface(self, name: str) -> None:
        s = SURFACES[name]
        if self._background is not None:
            self._background.remove()
            self._contours.remove()
        # the loss as a shaded image (log scale, bands every half decade): cheaper than contours
        x, y = np.meshgrid(np.linspace(*s.xlim, 200), np.linspace(*s.ylim, 200))
        bands = np.floor(2 * np.log10(np.maximum(s.f(x, y), 1e-4)))
        self._background = self.ax.imshow(
            bands,
            origin="lower",
            extent=(*s.xlim, *s.ylim),
            cmap="Greys",
            alpha=0.55,
            aspect="auto",
            interpolation="nearest",
            zorder=0,
        )
        # thin lines on the band edges: drawn once per surface, part of the blit background
        self._contours = self.ax.contour(
            x,
            y,
            bands,
            levels=np.arange(bands.min(), bands.max()) + 0.5,
            colors="0.35",
            linewidths=0.5,
            zorder=1,
        )
        self.ax.set(xlim=s.xlim, ylim=s.ylim)
        start_loss = float(s.f(*np.array(s.start)))
        self.loss_ax.set_ylim(
            -8.3, np.log10(start_loss) + 1.0
        )  # fixed: a diverging curve leaves the top
        if self.renderer is not None:
            self.renderer.invalidate()
        self._minimum.set_data([s.minimum[0]], [s.minimum[1]])
        self._start.set_data([s.start[0]], [s.start[1]])
        self._surface = name

    def update(self, state: RaceState) -> RaceFigure:
        if state.surface != self._surface:
            self._draw_surface(state.surface)
        for name, path in state.paths.items():
            self._paths[name].set_data(path[:, 0], path[:, 1])
            log_loss = np.log10(np.maximum(state.losses[name], 1e-12))
            self._curves[name].set_data(np.arange(len(log_loss)), log_loss)
        # the widget keeps the axis fixed (no background redraw); the static twin fits it
        self.loss_ax.set_xlim(0, max(MAX_STEPS, state.steps) if self.renderer else state.steps)
        self._title.set_text(
            f"{SURFACES[state.surface].name}, {state.steps} steps, lr × {state.lr_scale:.2g}"
        )
        return self


def draw_race(state: RaceState) -> Any:
    """Static twin of the optimiser race."""
    return RaceFigure().update(state).fig


def optimizer_race(
    surface: str = "elongated bowl", steps: int = 100, lr_scale: float = 1.0
) -> Explorer:
    """Widget: pick the surface, the number of steps and a factor on every learning rate."""
    import ipywidgets as widgets

    figure = RaceFigure(fast=True)
    controls = {
        "surface": widgets.Dropdown(options=list(SURFACES), value=surface, description="surface"),
        "steps": widgets.IntSlider(value=steps, min=5, max=MAX_STEPS, step=5, description="steps"),
        "lr_scale": widgets.FloatLogSlider(
            value=lr_scale, base=10, min=-1, max=1, step=0.05, description="lr ×"
        ),
    }
    return Explorer(
        controls,
        race,
        blit_render(figure),
        "educnn-optimizer-race",
        caption=race_caption,
    )


def race_caption(state: RaceState) -> str:
    """The widget's legend (HTML): each optimiser in its colour with its distance to the minimum."""
    from matplotlib.colors import to_hex

    items = []
    for name, distance in state.final_distance().items():
        end = "diverged" if np.isinf(distance) else f"{distance:.3f}"
        items.append(
            f'<span style="white-space:nowrap"><span style="color:{to_hex(COLOURS[name])}">'
            f"━ <b>{name}</b></span> {end}</span>"
        )  # an entry never breaks
    return "distance from the minimum after the race: " + " &nbsp; ".join(items)
