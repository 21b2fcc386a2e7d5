"""Chapter 3 widget: the decision-boundary trainer (决策边界).

Pick a data set (XOR, moons, spirals, circles), the number of hidden units (隐藏层),
the activation function (激活函数) and the learning rate; each click on "train" runs a
few more epochs of full-batch training of a one-hidden-layer MLP and redraws the regions
where the network predicts each class.

* the trainer itself, without any front end: :class:`BoundaryTrainer`
* pure functions: :func:`boundary_state` (what is drawn), :func:`boundary_image` (as RGB)
* static twin: :func:`draw_boundary`
* widget: :func:`decision_boundary_trainer`

The network is ``Sequential(Linear(2, H), activation, Linear(H, C))`` trained with
``CrossEntropyLoss`` (softmax + cross-entropy, also for two classes) and ``Adam``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ..activations import activation_layer, softmax
from ..data.toy import circles, spirals, two_moons, xor_blobs
from ..init import manual_seed
from ..linear import Linear
from ..losses import CrossEntropyLoss
from ..optim import Adam
from ..sequential import Sequential
from .base import Explorer, array_to_png

#: The data sets by name: each returns (x (N, 2) float32, y (N,) int64).
DATASETS = {
    "XOR": lambda: xor_blobs(n=200, spread=0.35, seed=0),
    "moons": lambda: two_moons(n=200, noise=0.15, seed=0),
    "spirals": lambda: spirals(n=300, classes=3, noise=0.15, seed=0),
    "circles": lambda: circles(n=200, noise=0.08, factor=0.5, seed=0),
}
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
#: Light colours of the class regions and dark colours of the points (RGB in 0…1).
REGION_COLOURS = np.array([[0.65, 0.78, 0.95], [0.98, 0.75, 0.55], [0.70, 0.90, 0.70]])
POINT_COLOURS = np.array([[0.10, 0.30, 0.75], [0.85, 0.35, 0.05], [0.10, 0.55, 0.15]])
GRID = 100          # probabilities are computed on GRID × GRID points …
PIXELS = 3          # … each shown as PIXELS × PIXELS screen pixels


@cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """The data set ``name`` and the square view around it: (x, y, (x0, x1, y0, y1))."""
    if name not in DATASETS:
        raise ValueError(f"dataset: unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    x, y = DATASETS[name]()
    low, high = float(x.min()) - 0.3, float(x.max()) + 0.3
    return x, y, (low, high, low, high)


class BoundaryTrainer:
    """A small MLP and its optimiser on one data set; :meth:`train` runs more epochs.

    Parameters
    ----------
    data : name of the data set; hidden : hidden units; activation : see :data:`ACTIVATIONS`;
    lr : Adam's learning rate; seed : for the initial weights.
    """

    def __init__(self, data: str = "moons", hidden: int = 8, activation: str = "relu",
                 lr: float = 0.03, seed: int = 0) -> None:
        self.data, self.hidden, self.activation, self.lr = data, int(hidden), activation, float(lr)
        self.x, self.y, self.extent = dataset(data)
        self.classes = int(self.y.max()) + 1
        manual_seed(seed)
        self.model = Sequential(Linear(2, self.hidden), activation_layer(activation),
                                Linear(self.hidden, self.classes))
        self.loss_fn = CrossEntropyLoss()
        self.optimizer = Adam(self.model.parameters(), lr=self.lr)
        self.losses: list[float] = []

    @property
    def epochs(self) -> int:
        return len(self.losses)

    def train(self, epochs: int) -> float:
        """Run ``epochs`` full-batch steps: forward, loss, backward, update; returns the last loss."""
        for _ in range(int(epochs)):
            loss = self.loss_fn(self.model(self.x), self.y)
            self.model.backward(self.loss_fn.backward())
            self.optimizer.step()
            self.losses.append(loss)
        return self.losses[-1] if self.losses else float("nan")

    def accuracy(self) -> float:
        """Share of the training points classified correctly."""
        return float(np.mean(self.model(self.x).argmax(axis=1) == self.y))

    def probabilities(self, resolution: int = GRID) -> np.ndarray:
        """Class probabilities on a resolution × resolution grid over the view: (R, R, C),
        row 0 at the bottom."""
        x0, x1, y0, y1 = self.extent
        g1, g2 = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        points = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
        return softmax(self.model(points)).reshape(resolution, resolution, self.classes)


@dataclass
class BoundaryState:
    """What the trainer shows: the probability grid, the data, the loss history."""

    data: str
    probabilities: np.ndarray
    x: np.ndarray
    y: np.ndarray
    extent: tuple[float, float, float, float]
    losses: list[float]
    accuracy: float

    @property
    def epochs(self) -> int:
        return len(self.losses)


def boundary_state(trainer: BoundaryTrainer) -> BoundaryState:
    """Evaluate ``trainer``'s network on the grid and on its data."""
    return BoundaryState(trainer.data, trainer.probabilities(), trainer.x, trainer.y, trainer.extent,
                         list(trainer.losses), trainer.accuracy())


def region_image(probabilities: np.ndarray) -> np.ndarray:
    """(G, G, C) class probabilities → (G, G, 3) colours mixed by probability, row 0 at the top."""
    return (probabilities @ REGION_COLOURS[: probabilities.shape[-1]])[::-1]


def boundary_image(state: BoundaryState, pixels: int = PIXELS) -> np.ndarray:
    """The widget's picture as an (H, W, 3) RGB array in 0…1: the class regions
    (:func:`region_image`, each grid point ``pixels`` wide) with the data points as dark
    squares on top."""
    rgb = region_image(state.probabilities)
    rgb = np.repeat(np.repeat(rgb, pixels, axis=0), pixels, axis=1)
    size = rgb.shape[0]
    x0, x1, y0, y1 = state.extent
    cols = np.clip(((state.x[:, 0] - x0) / (x1 - x0) * (size - 1)).round().astype(int), 2, size - 3)
    rows = np.clip(((y1 - state.x[:, 1]) / (y1 - y0) * (size - 1)).round().astype(int), 2, size - 3)
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            rgb[rows + dr, cols + dc] = POINT_COLOURS[state.y] if max(abs(dr), abs(dc)) < 2 else 1.0
    return rgb


def draw_boundary(state: BoundaryState) -> Any:
    """Static twin: the same picture with axes, and the loss per epoch beside it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.2))
    fig.subplots_adjust(left=0.07, right=0.97, bottom=0.15, top=0.88, wspace=0.3)
    ax, loss_ax = fig.subplots(1, 2)
    ax.imshow(region_image(state.probabilities), extent=state.extent, interpolation="bilinear")
    for k in range(state.probabilities.shape[-1]):
        mine = state.y == k
        ax.scatter(state.x[mine, 0], state.x[mine, 1], s=10, color=POINT_COLOURS[k], edgecolors="white",
                   linewidths=0.4)
    ax.set(xlabel="$x_1$", ylabel="$x_2$",
           title=f"{state.data}: epoch {state.epochs}, accuracy {state.accuracy:.0%}")
    loss_ax.plot(np.arange(1, state.epochs + 1), state.losses)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="training loss")
    return fig


class DecisionBoundaryTrainer(Explorer):
    """The widget: controls choose the network (a change starts afresh), buttons train it.

    Attributes
    ----------
    trainer : the current :class:`BoundaryTrainer`.
    """

    def __init__(self, controls: dict[str, Any], epochs_per_click: int, seed: int) -> None:
        import ipywidgets as widgets

        self.seed = seed
        self.trainer: BoundaryTrainer | None = None
        super().__init__(controls, self._compute,
                         lambda state: array_to_png(boundary_image(state)),
                         "educnn-decision-boundary", caption=self._describe)
        self.epochs_per_click = widgets.IntSlider(value=epochs_per_click, min=10, max=500, step=10,
                                                  description="epochs/click")
        self.train_button = widgets.Button(description="train", icon="play")
        self.reset_button = widgets.Button(description="reset", icon="undo")
        self.train_button.on_click(lambda _: self.train())
        self.reset_button.on_click(lambda _: self.reset())
        buttons = widgets.HBox([self.epochs_per_click, self.train_button, self.reset_button])
        self.widget.children = (*self.widget.children[:-2], buttons, *self.widget.children[-2:])
        self.image.layout = widgets.Layout(width="360px", height="360px")   # not stretched to the page

    def _compute(self, data: str, hidden: int, activation: str, lr: float) -> BoundaryState:
        wanted = (data, int(hidden), activation, float(lr))
        current = self.trainer
        if current is None or (current.data, current.hidden, current.activation, current.lr) != wanted:
            self.trainer = BoundaryTrainer(*wanted, seed=self.seed)
        return boundary_state(self.trainer)

    @staticmethod
    def _describe(state: BoundaryState) -> str:
        loss = f", loss {state.losses[-1]:.3f}" if state.losses else ""
        return f"epoch {state.epochs}{loss}, training accuracy {state.accuracy:.1%}"

    def train(self, epochs: int | None = None) -> BoundaryState:
        """What the train button does: more epochs, then redraw."""
        assert self.trainer is not None
        self.trainer.train(self.epochs_per_click.value if epochs is None else epochs)
        return self.update()

    def reset(self) -> BoundaryState:
        """A fresh network with the same settings."""
        self.trainer = None
        return self.update()


def decision_boundary_trainer(data: str = "moons", hidden: int = 8, activation: str = "relu",
                              lr: float = 0.03, epochs_per_click: int = 100,
                              seed: int = 0) -> DecisionBoundaryTrainer:
    """Widget: data set, hidden units, activation and learning rate; "train" runs
    ``epochs_per_click`` more epochs and redraws the decision regions."""
    import ipywidgets as widgets

    controls = {
        "data": widgets.Dropdown(options=list(DATASETS), value=data, description="data"),
        "hidden": widgets.IntSlider(value=hidden, min=1, max=64, description="hidden"),
        "activation": widgets.Dropdown(options=ACTIVATIONS, value=activation, description="activation"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.1, description="lr (Adam)",
                                     readout_format=".3f"),
    }
    return DecisionBoundaryTrainer(controls, epochs_per_click, seed)
