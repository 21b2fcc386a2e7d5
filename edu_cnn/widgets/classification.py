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
from ..plots import new_figure
from ..sequential import Sequential
from .base import BackgroundLoop, Explorer, LiveControls, array_to_png
from .blit import BlitRenderer

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
GRID = 100  # probabilities are computed on GRID × GRID points …
PIXELS = 3  # … each shown as PIXELS × PIXELS screen pixels


@cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """The data set ``name`` and the square view around it: (x, y, (x0, x1, y0, y1))."""
    if name not in DATASETS:
        raise ValueError(
            f"dataset: unknown data set {name!r}; expected one of {', '.join(DATASETS)}"
        )
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

    def __init__(
        self,
        data: str = "moons",
        hidden: int = 8,
        activation: str = "relu",
        lr: float = 0.03,
        seed: int = 0,
    ) -> None:
        self.data, self.hidden, self.activation, self.lr = data, int(hidden), activation, float(lr)
        self.seed = int(seed)
        self.x, self.y, self.extent = dataset(data)
        self.classes = int(self.y.max()) + 1
        manual_seed(seed)
        self.model = Sequential(
            Linear(2, self.hidden), activation_layer(activation), Linear(self.hidden, self.classes)
        )
        self.loss_fn = CrossEntropyLoss()
        self.optimizer = Adam(self.model.parameters(), lr=self.lr)
        self.losses: list[float] = []

    @property
    def epochs(self) -> int:
        return len(self.losses)

    def train(self, epochs: int) -> float:
        """Run ``epochs`` full-batch steps (forward, loss, backward, update); the last loss."""
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
        row 0 at the bottom.
        """
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
    return BoundaryState(
        trainer.data,
        trainer.probabilities(),
        trainer.x,
        trainer.y,
        trainer.extent,
        list(trainer.losses),
        trainer.accuracy(),
    )


def region_image(probabilities: np.ndarray) -> np.ndarray:
    """(G, G, C) class probabilities → (G, G, 3) colours mixed by probability, row 0 at the top."""
    return (probabilities @ REGION_COLOURS[: probabilities.shape[-1]])[::-1]


def boundary_image(state: BoundaryState, pixels: int = PIXELS) -> np.ndarray:
    """The widget's picture as an (H, W, 3) RGB array in 0…1: the class regions
    (:func:`region_image`, each grid point ``pixels`` wide) with the data points as dark
    squares on top.
    """
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
        ax.scatter(
            state.x[mine, 0],
            state.x[mine, 1],
            s=10,
            color=POINT_COLOURS[k],
            edgecolors="white",
            linewidths=0.4,
        )
    ax.set(
        xlabel="$x_1$",
        ylabel="$x_2$",
        title=f"{state.data}: epoch {state.epochs}, accuracy {state.accuracy:.0%}",
    )
    loss_ax.plot(np.arange(1, state.epochs + 1), state.losses)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="training loss")
    return fig


class LossCurve:
    """The training loss per epoch beside the regions, redrawn while the network trains.

    Built once per trainer; the curve and the title are redrawn alone (a
    :class:`~edu_cnn.widgets.blit.BlitRenderer`); the axes are drawn again only when the
    epochs outgrow the x axis or the loss the y axis.
    """

    def __init__(self, height_px: int = GRID * PIXELS, dpi: int = 80) -> None:
        self.fig = new_figure(3.4, height_px / dpi, dpi=dpi)
        self.ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.2, right=0.95, bottom=0.15, top=0.88)
        (self.line,) = self.ax.plot([], [], color="tab:blue")
        self.title = self.ax.set_title("training loss", fontsize=10)
        self.ax.set_xlabel("epoch", fontsize=9)
        self.ax.set_ylabel("cross-entropy loss", fontsize=9)
        self.ax.tick_params(labelsize=8)
        self.ax.grid(alpha=0.3)
        self._limits = (0.0, 0.0)
        self.renderer = BlitRenderer(self.fig, [self.line, self.title], dpi=dpi)

    def render(self, losses: list[float]) -> bytes:
        """The curve of ``losses`` as PNG bytes."""
        n = len(losses)
        top = max(losses) if losses else 1.0
        x_max = 100.0 * max(1, -(-n // 100))  # 100, 200, … epochs
        y_max = self._limits[1] if top <= self._limits[1] else 1.2 * max(top, 0.1)
        if (x_max, y_max) != self._limits:
            self._limits = (x_max, y_max)
            self.ax.set_xlim(0, x_max)
            self.ax.set_ylim(0, y_max)
            self.renderer.invalidate()
        self.line.set_data(np.arange(1, n + 1), losses)
        self.title.set_text(f"training loss: {losses[-1]:.3f}" if losses else "training loss")
        return self.renderer.render()


class DecisionBoundaryTrainer(LiveControls, Explorer):
    """The widget: controls choose the network (a change starts afresh), buttons train it.

    While "train" runs, the network trains in the background ``FRAMES_PER_SECOND`` frames
    a second, a few epochs per frame, and regions and loss are redrawn after each frame; the
    button reads "stop" meanwhile. The same seed gives the same network after the same number
    of epochs, however the epochs were split into frames.

    Attributes
    ----------
    trainer : the current :class:`BoundaryTrainer`.
    loss_image : the loss curve's picture (class ``educnn-boundary-loss``).
    """

    FRAMES_PER_SECOND = 5.0
    FRAMES_PER_CLICK = 20

    def __init__(self, controls: dict[str, Any], epochs_per_click: int) -> None:
        import ipywidgets as widgets

        from .base import picture

        self.trainer: BoundaryTrainer | None = None
        self.loss_curve: LossCurve | None = None
        self.loss_image = picture("educnn-boundary-loss")
        self._loop: BackgroundLoop | None = None
        super().__init__(
            controls,
            self._compute,
            self._render,
            "educnn-decision-boundary",
            caption=self._describe,
            image_class="educnn-boundary-regions",
        )
        self.epochs_per_click = widgets.IntSlider(
            value=epochs_per_click, min=10, max=500, step=10, description="epochs/click"
        )
        self.train_button = widgets.Button(
            description="train", icon="play", tooltip="train (and watch) epochs/click more epochs"
        )
        self.train_button.add_class("educnn-train-button")
        self.reset_button = widgets.Button(description="reset", icon="undo")
        self.train_button.on_click(lambda _: self.toggle_training())
        self.reset_button.on_click(lambda _: self.reset())
        buttons = widgets.HBox([self.epochs_per_click, self.train_button, self.reset_button])
        pictures = widgets.HBox(
            [self.image, self.loss_image], layout=widgets.Layout(align_items="flex-start")
        )
        self.widget.children = (
            *self.widget.children[:-2],
            buttons,
            pictures,
            self.widget.children[-1],
        )

    def _render(self, state: BoundaryState) -> bytes:
        if self.loss_curve is not None:
            self.loss_image.value = self.loss_curve.render(state.losses)
        return array_to_png(boundary_image(state))

    def _compute(
        self, data: str, hidden: int, activation: str, lr: float, seed: int = 0
    ) -> BoundaryState:
        wanted = (data, int(hidden), activation, float(lr), int(seed))
        current = self.trainer
        if (
            current is None
            or (current.data, current.hidden, current.activation, current.lr, current.seed)
            != wanted
        ):
            self.trainer = BoundaryTrainer(*wanted)
            self.loss_curve = LossCurve()
        return boundary_state(self.trainer)

    def _on_change(self, change: Any) -> None:
        self.stop()  # a new network: the running one stops first
        self.wait(5.0)
        self.update()

    @staticmethod
    def _describe(state: BoundaryState) -> str:
        loss = f", loss {state.losses[-1]:.3f}" if state.losses else ""
        return f"epoch {state.epochs}{loss}, training accuracy {state.accuracy:.1%}"

    def train(self, epochs: int | None = None, fps: float | None = None) -> BoundaryState:
        """Train ``epochs`` (default: epochs/click) more epochs.

        From code (``fps=None``) all of them at once, then one redraw. With ``fps`` (the
        button) in :attr:`FRAMES_PER_CLICK` frames in the background, redrawn after each.
        """
        if self.trainer is None:
            raise ValueError("DecisionBoundaryTrainer.train: no network yet (call update())")
        total = int(self.epochs_per_click.value if epochs is None else epochs)
        if fps is None:
            self.trainer.train(total)
            return self.update()
        trainer, left = self.trainer, [total]
        chunk = max(1, -(-total // self.FRAMES_PER_CLICK))

        def step() -> bool:
            if trainer is not self.trainer:  # the controls made a new network
                return False
            n = min(chunk, left[0])
            trainer.train(n)
            left[0] -= n
            self.update()
            return left[0] > 0

        self._loop = BackgroundLoop(step, fps=fps, on_end=self._training_ended)
        self.train_button.description, self.train_button.icon = "stop", "stop"
        self._loop.start()
        return self.state

    def _training_ended(self) -> None:
        self.train_button.description, self.train_button.icon = "train", "play"

    def reset(self) -> BoundaryState:
        """A fresh network with the same settings."""
        self.stop()
        self.wait(5.0)
        self.trainer = None
        return self.update()


def decision_boundary_trainer(
    data: str = "moons",
    hidden: int = 8,
    activation: str = "relu",
    lr: float = 0.03,
    epochs_per_click: int = 100,
    seed: int = 0,
) -> DecisionBoundaryTrainer:
    """Widget: data set, hidden units, activation, learning rate and seed; "train" trains
    ``epochs_per_click`` more epochs while regions and loss are redrawn a few times a second
    ("stop" ends it early).
    """
    import ipywidgets as widgets

    controls = {
        "data": widgets.Dropdown(options=list(DATASETS), value=data, description="data"),
        "hidden": widgets.IntSlider(value=hidden, min=1, max=64, description="hidden"),
        "activation": widgets.Dropdown(
            options=ACTIVATIONS, value=activation, description="activation"
        ),
        "lr": widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=-3,
            max=0,
            step=0.1,
            description="lr (Adam)",
            readout_format=".3f",
        ),
        "seed": widgets.BoundedIntText(
            value=seed, min=0, max=9999, description="seed", layout=widgets.Layout(width="160px")
        ),
    }
    return DecisionBoundaryTrainer(controls, epochs_per_click)
