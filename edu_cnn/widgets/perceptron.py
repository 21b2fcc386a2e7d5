"""Chapter 1 widget: the perceptron playground (感知机).

Sliders for w1, w2 and b and a logic-gate picker; the picture shows the input plane with
the decision line, the region where the perceptron outputs 1, the four inputs coloured
by their target, and the live truth table. A "learning step" button applies the
perceptron learning rule to the next row of the table and moves the sliders.

* pure function: :func:`perceptron_state` (and :func:`learning_step` for the button)
* static twin: :func:`draw_perceptron`
* widget: :func:`perceptron_playground`
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.toy import logic_gate
from ..perceptron import decision_line, perceptron_output, perceptron_update
from .base import BackgroundLoop, Explorer, LiveControls
from .blit import BlitRenderer, blit_render

#: The gates with two inputs (NOT has one and is treated in the notebook on its own).
TWO_INPUT_GATES = ("AND", "OR", "NAND", "NOR", "XOR", "XNOR")
_LIMITS = (-0.5, 1.5)
GATE_ROWS = logic_gate("AND")[0].astype(np.float64)  # (0,0), (0,1), (1,0), (1,1)


@dataclass
class PerceptronState:
    """Everything the playground draws for one setting of the sliders.

    Attributes
    ----------
    gate : the gate's name; x : (4, 2) inputs; t : (4,) targets.
    w : (2,) weights; b : bias; z : (4,) weighted sums w·x + b; y : (4,) outputs 0/1.
    line : two points of the decision line, or None when w = 0.
    """

    gate: str
    x: np.ndarray
    t: np.ndarray
    w: np.ndarray
    b: float
    z: np.ndarray
    y: np.ndarray
    line: tuple[np.ndarray, np.ndarray] | None

    @property
    def correct(self) -> np.ndarray:
        """Which rows of the truth table the perceptron gets right."""
        return self.y == self.t

    @property
    def n_correct(self) -> int:
        return int(self.correct.sum())

    @property
    def solved(self) -> bool:
        return bool(self.correct.all())


def perceptron_state(w1: float, w2: float, b: float, gate: str = "AND") -> PerceptronState:
    """Evaluate the perceptron (w1, w2, b) on the truth table of ``gate`` (two inputs)."""
    if str(gate).upper() not in TWO_INPUT_GATES:
        raise ValueError(
            f"perceptron_state: expected a two-input gate ({', '.join(TWO_INPUT_GATES)}), "
            f"got {gate!r}"
        )
    x, t = logic_gate(gate)
    w = np.array([w1, w2], dtype=np.float64)
    z = x.astype(np.float64) @ w + float(b)
    return PerceptronState(
        str(gate).upper(),
        x.astype(np.float64),
        t,
        w,
        float(b),
        z,
        perceptron_output(x, w, b),
        decision_line(w, b, *_LIMITS),
    )


def learning_step(
    state: PerceptronState, row: int, lr: float = 0.5
) -> tuple[np.ndarray, float, str]:
    """Apply the learning rule to row ``row`` of the truth table.

    Returns the new weights, the new bias and one sentence saying what happened.
    """
    x, t, y = state.x[row], int(state.t[row]), int(state.y[row])
    w, b = perceptron_update(state.w, state.b, x, t, lr)
    where = f"row {row + 1}: x = ({x[0]:.0f}, {x[1]:.0f}), target {t}, output {y}"
    if t == y:
        return w, b, f"{where} – right, nothing changes."
    sign = "+" if t > y else "−"
    return (
        w,
        b,
        (
            f"{where} – wrong: w {sign}= {lr:g}·x, b {sign}= {lr:g} → "
            f"w = ({w[0]:.2f}, {w[1]:.2f}), b = {b:.2f}"
        ),
    )


@dataclass
class LearningFrame:
    """One step of an animated training run: the weights after the rule looked at ``row``."""

    epoch: int  # 1, 2, … (an epoch is one pass over the four rows)
    row: int  # the row just looked at (0–3)
    w: np.ndarray
    b: float
    message: str
    converged: bool  # this step ended an epoch without a single change
    gave_up: bool  # the last step of max_epochs epochs without converging


def learning_run(
    state: PerceptronState, lr: float = 0.5, start_row: int = 0, max_epochs: int = 12
) -> list[LearningFrame]:
    """The perceptron learning rule applied row by row from ``state`` until an epoch makes
    no change (converged) or ``max_epochs`` epochs are used up (XOR: no line separates it,
    so the rule never stops changing the weights).

    Pure: the frames the "train" button animates, one per row.
    """
    if max_epochs < 1:
        raise ValueError(f"learning_run: max_epochs must be ≥ 1, got {max_epochs}")
    frames: list[LearningFrame] = []
    current, row = state, int(start_row) % 4
    for epoch in range(1, max_epochs + 1):
        changes = 0
        for step in range(4):
            w, b, message = learning_step(current, row, lr)
            changes += not (np.array_equal(w, current.w) and b == current.b)
            current = perceptron_state(float(w[0]), float(w[1]), b, current.gate)
            last_of_epoch = step == 3
            converged = last_of_epoch and changes == 0
            gave_up = last_of_epoch and epoch == max_epochs and not converged
            if converged:
                message = f"{message.rstrip('.')}. Epoch {epoch} changed nothing: converged."
            elif gave_up:
                message = (
                    f"{message.rstrip('.')}. After {max_epochs} epochs {4 - current.n_correct} "
                    f"of 4 rows are still wrong: no straight line separates {current.gate}, "
                    "so the rule never settles."
                )
            frames.append(LearningFrame(epoch, row, w, b, message, converged, gave_up))
            if converged:
                return frames
            row = (row + 1) % 4
    return frames


class PerceptronFigure:
    """The playground's figure, built once; :meth:`update` moves its lines, colours and texts.

    With ``fast=True`` (the widget) a :class:`~edu_cnn.widgets.blit.BlitRenderer` redraws
    only those; without, it is the ordinary figure of the static twin.
    """

    def __init__(self, fast: bool = False) -> None:
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(6.4, 2.9), layout="constrained")
        ax, table = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.1]})
        grid = np.linspace(*_LIMITS, 121)
        self._g1, self._g2 = np.meshgrid(grid, grid)
        self._region = ax.imshow(
            np.zeros_like(self._g1),
            origin="lower",
            extent=(*_LIMITS, *_LIMITS),
            cmap="Blues",
            vmin=0,
            vmax=3,
            interpolation="nearest",
        )
        (self._line,) = ax.plot([], [], color="black", lw=1.5)
        self._points = ax.scatter(
            GATE_ROWS[:, 0], GATE_ROWS[:, 1], s=140, color="white", edgecolors="black", zorder=3
        )
        self._marks = [ax.text(x1 + 0.1, x2 + 0.1, "", fontsize=12) for x1, x2 in GATE_ROWS]
        ax.set(
            xlim=_LIMITS,
            ylim=_LIMITS,
            xlabel="$x_1$",
            ylabel="$x_2$",
            aspect="equal",
            xticks=[0, 1],
            yticks=[0, 1],
        )
        self._title = ax.set_title(
            "NAND: shaded = output 1, orange = target 1", fontsize=10
        )  # sized for the layout
        table.axis("off")
        # one monospaced line per row: few text objects keep the redraw fast
        table.text(
            0.05,
            0.88,
            f"{'x1':>3}{'x2':>4}{'z = w·x+b':>11}{'y':>4}{'t':>4}",
            family="monospace",
            fontsize=10,
            weight="bold",
        )
        self._rows = [
            table.text(0.05, 0.72 - i * 0.14, "", family="monospace", fontsize=10) for i in range(4)
        ]
        self._summary = table.text(0.5, 0.02, "", ha="center", fontsize=10)
        self.fig.get_layout_engine().execute(self.fig)  # lay out once, then keep the positions
        self.fig.set_layout_engine("none")
        self.renderer = (
            BlitRenderer(
                self.fig,
                [
                    self._region,
                    self._line,
                    self._points,
                    *self._marks,
                    self._title,
                    *self._rows,
                    self._summary,
                ],
            )
            if fast
            else None
        )

    def update(self, state: PerceptronState) -> PerceptronFigure:
        """Show ``state``; returns self."""
        ones = (state.w[0] * self._g1 + state.w[1] * self._g2 + state.b) >= 0
        self._region.set_data(ones.astype(float))
        self._line.set_data(*(state.line if state.line is not None else ([], [])))
        self._points.set_facecolors(["tab:orange" if t else "white" for t in state.t])
        for mark, ok in zip(self._marks, state.correct, strict=True):
            mark.set_text("✓" if ok else "✗")
            mark.set_color("green" if ok else "red")
        self._title.set_text(f"{state.gate}: shaded = output 1, orange = target 1")
        for i, text in enumerate(self._rows):
            text.set_text(
                f"{state.x[i, 0]:>3.0f}{state.x[i, 1]:>4.0f}{state.z[i]:>11.2f}"
                f"{state.y[i]:>4}{state.t[i]:>4}"
            )
            text.set_color("green" if state.correct[i] else "red")
        self._summary.set_text(
            f"w = ({state.w[0]:.2f}, {state.w[1]:.2f}), b = {state.b:.2f}\n"
            f"{state.n_correct} of 4 rows right"
        )
        return self


def draw_perceptron(state: PerceptronState) -> Any:
    """The static twin: input plane with decision line on the left, truth table on the right."""
    return PerceptronFigure().update(state).fig


class PerceptronPlayground(LiveControls, Explorer):
    """An :class:`Explorer` with two buttons: one learning step, and reset to zero.

    Attributes
    ----------
    row : the truth-table row the next learning step looks at (0–3, cycling).
    message : what the last learning step did.
    """

    FRAMES_PER_SECOND = 4.0  # the "train" animation: four truth-table rows a second

    def __init__(self, controls: dict[str, Any], lr: float) -> None:
        import ipywidgets as widgets

        self.lr = lr
        self.row = 0
        self.message = "Press “learning step” to apply the rule to row 1."
        self._holding = False
        self.figure = PerceptronFigure(fast=True)
        super().__init__(
            controls,
            perceptron_state,
            blit_render(self.figure),
            "educnn-perceptron",
            caption=self._describe,
        )
        self.step_button = widgets.Button(description="learning step", icon="step-forward")
        self.train_button = widgets.Button(
            description="train", icon="play", tooltip="apply the rule row by row until it converges"
        )
        self.train_button.add_class("educnn-train-button")
        self.reset_button = widgets.Button(description="reset to 0", icon="undo")
        self.step_button.on_click(lambda _: self.learn())
        self.train_button.on_click(lambda _: self.toggle_training())
        self.reset_button.on_click(lambda _: self.reset())
        self.frames: list[LearningFrame] = []
        self._loop: BackgroundLoop | None = None
        self.widget.children = (
            widgets.HBox([self.step_button, self.train_button, self.reset_button]),
            *self.widget.children,
        )

    def _describe(self, state: PerceptronState) -> str:
        verdict = "all four rows right ✓" if state.solved else f"{state.n_correct} of 4 rows right"
        return f"<b>{verdict}</b><br>{self.message}"

    def _on_change(self, change: Any) -> None:
        if change.get("owner") is self.controls["gate"]:  # a new table: learning starts at row 1
            self.row = 0
            self.message = f"{change['new']}: the next learning step looks at row 1."
        if not self._holding:
            if self.training:  # the student took the sliders: the animation stops
                self.stop()
            self.update()

    def set_weights(self, w: np.ndarray, b: float) -> None:
        """Move the three sliders at once and redraw once."""
        self._holding = True
        try:
            self.controls["w1"].value = float(w[0])
            self.controls["w2"].value = float(w[1])
            self.controls["b"].value = float(b)
        finally:
            self._holding = False
        self.update()

    def learn(self) -> PerceptronState:
        """One step of the learning rule on the current row, then move on to the next row."""
        w, b, self.message = learning_step(self.state, self.row, self.lr)
        self.row = (self.row + 1) % 4
        self.set_weights(w, b)
        return self.state

    def train(self, max_epochs: int = 12, fps: float | None = None) -> PerceptronState:
        """What "train" does: the rule row by row until it converges or ``max_epochs``
        epochs are used (see :func:`learning_run`).

        From code (``fps=None``) every frame is shown in turn and the last state returned;
        the button animates the same frames ``fps`` times a second in the background.
        """
        self.frames = learning_run(self.state, self.lr, self.row, max_epochs)
        if fps is None:
            for frame in self.frames:
                self._show_frame(frame)
            return self.state
        frames = iter(self.frames)

        def step() -> bool:
            frame = next(frames, None)
            if frame is None:
                return False
            self._show_frame(frame)
            return not (frame.converged or frame.gave_up)

        self._loop = BackgroundLoop(step, fps=fps, on_end=self._training_ended)
        self.train_button.description, self.train_button.icon = "stop", "stop"
        self.step_button.disabled = True
        self._loop.start()
        return self.state

    def _show_frame(self, frame: LearningFrame) -> None:
        self.message = f"epoch {frame.epoch}, {frame.message}"
        self.row = (frame.row + 1) % 4
        self.set_weights(frame.w, frame.b)

    def _training_ended(self) -> None:
        self.train_button.description, self.train_button.icon = "train", "play"
        self.step_button.disabled = False

    def reset(self) -> PerceptronState:
        """Weights and bias back to zero, learning restarts at row 1."""
        self.row = 0
        self.message = "Reset: w = (0, 0), b = 0."
        self.set_weights(np.zeros(2), 0.0)
        return self.state


def perceptron_playground(
    gate: str = "AND", w1: float = 0.5, w2: float = 0.5, b: float = -0.2, lr: float = 0.5
) -> PerceptronPlayground:
    """The chapter 1 playground: sliders w1, w2, b, a gate picker and learning-step buttons.

    ``playground.controls["w1"].value = 1.0`` moves a slider from code;
    ``playground.learn()`` is what the button does; ``playground.state`` is the
    :class:`PerceptronState` drawn last.
    """
    import ipywidgets as widgets

    def slider(name: str, value: float) -> Any:
        return widgets.FloatSlider(
            value=value,
            min=-3.0,
            max=3.0,
            step=0.1,
            description=name,
            continuous_update=True,
            readout_format=".2f",
        )

    controls = {
        "w1": slider("w1", w1),
        "w2": slider("w2", w2),
        "b": slider("b", b),
        "gate": widgets.Dropdown(options=TWO_INPUT_GATES, value=gate.upper(), description="gate"),
    }
    return PerceptronPlayground(controls, lr)
