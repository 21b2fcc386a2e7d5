"""A live training dashboard (chapter 7): progress, loss / accuracy curves, images/s, stop.

The dashboard is a training **callback** (see :mod:`edu_cnn.training`): ``fit`` calls its
hooks after every mini-batch and epoch, it records the numbers in a
:class:`DashboardState`, and at most every ``redraw_every`` seconds it redraws the curves
with :class:`edu_cnn.plots.HistoryFigure` – the same figure :func:`draw_training` (the
static twin) draws once from the final :class:`~edu_cnn.training.History`.

Why training runs in a background thread
----------------------------------------
While a notebook cell runs, the kernel handles no message from the browser: a click on
"Stop" waits in the queue until the cell has finished – too late to stop anything.
Pumping the kernel's message queue between batches from inside the cell (what the
``jupyter-ui-poll`` package does) relies on ipykernel internals that changed in
ipykernel 6 and again in 7. The robust way is the one the kernel supports: :meth:`start`
runs ``fit`` in a **background thread** and returns at once, so the kernel is idle and
the click is delivered; the handler only sets a flag, and the dashboard's
``on_batch_end`` hook turns it into ``trainer.stop_training = True``, so training ends
cleanly after the current batch (the weights are never left half-updated).

Widget updates from the training thread are safe: they are messages on the kernel's
IOPub channel, which ipykernel sends through its own thread. Figures are drawn with
matplotlib's object API (no ``pyplot``), which does not touch the GUI event loop.

:meth:`wait` joins the thread and returns the history. While a cell sits in
:meth:`wait` (e.g. after "Run All") clicks are again queued – but the kernel's
**interrupt** (■ in JupyterLab, or ``I, I``) still works: during :meth:`wait` and
:meth:`run` a SIGINT handler turns the first interrupt into the same clean stop (a
second one raises ``KeyboardInterrupt`` as usual). :meth:`run` trains in the foreground
(what CI and scripts use).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from edu_cnn.plots import HistoryFigure, plot_history
from edu_cnn.training import SaveBestModel  # re-exported: it lived here before

from .base import picture

__all__ = [
    "DashboardState",
    "SaveBestModel",
    "TrainingDashboard",
    "draw_training",
    "status_html",
]


@dataclass
class DashboardState:
    """Everything the dashboard shows, updated by the training hooks.

    ``batch_loss`` has one entry per mini-batch; ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` one per finished epoch. ``images_per_second`` is the speed of the
    running epoch so far. ``phase`` is ``"ready"``, ``"training"``, ``"stopping"``,
    ``"stopped"``, ``"finished"`` or ``"failed"``.
    """

    epochs: int = 0
    batches_per_epoch: int = 0
    batch_size: int | None = None
    samples: int | None = None
    epoch: int = 0
    batch: int = -1
    batch_loss: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    images_per_second: float = 0.0
    elapsed: float = 0.0
    phase: str = "ready"
    redraws: int = 0
    message: str = ""

    @property
    def progress(self) -> float:
        """Fraction of the planned mini-batches done, in [0, 1]."""
        total = self.epochs * self.batches_per_epoch
        if total == 0:
            return 0.0
        return min(1.0, (self.epoch * self.batches_per_epoch + self.batch + 1) / total)


def status_html(state: DashboardState) -> str:
    """The dashboard's status line (pure: tested without a front end)."""
    if state.phase == "ready":
        return "Ready – training has not started."
    if state.phase == "failed":
        return f"<b>Training failed:</b> {state.message}"
    parts = [
        f"epoch {min(state.epoch + 1, state.epochs)}/{state.epochs}",
        f"batch {state.batch + 1}/{state.batches_per_epoch}",
    ]
    if state.batch_loss:
        parts.append(f"batch loss {state.batch_loss[-1]:.3f}")
    if state.val_accuracy:
        parts.append(f"validation accuracy {100 * state.val_accuracy[-1]:.1f} %")
    if state.images_per_second:
        parts.append(f"{state.images_per_second:,.0f} images/s")
    parts.append(f"{state.elapsed:.0f} s")
    label = {
        "training": "Training",
        "stopping": "Stopping after this batch…",
        "stopped": "Stopped early",
        "finished": "Finished",
    }[state.phase]
    return f"<b>{label}</b> – " + " · ".join(parts)


#: The static twin: the dashboard's curves for a finished ``History``, as a Figure
#: (the same function as :func:`edu_cnn.plots.plot_history`).
draw_training = plot_history


class TrainingDashboard:
    """Live progress bar, curves, images/s and a stop button for :func:`edu_cnn.training.fit`.

    Use it as a callback (``fit(..., callbacks=[dashboard])``) or let it call ``fit``:
    :meth:`start` (background thread, stop button live) + :meth:`wait`, or :meth:`run`
    (foreground).

    Parameters
    ----------
    redraw_every : float
        Least number of seconds between two redraws of the curves. If one redraw takes
        longer than a tenth of that, the interval grows, so drawing never costs more than
        about 10 % of the training time.
    clock : callable
        ``clock() -> seconds``; tests pass a fake one.

    Attributes
    ----------
    state : DashboardState
    history : the ``History`` once training has ended (else ``None``)
    widget : the ipywidgets container (class ``educnn-training-dashboard``)
    stop_button, progress, status, image : its parts
    """

    def __init__(
        self, redraw_every: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        import ipywidgets as widgets

        self.redraw_every = float(redraw_every)
        self._clock = clock
        self.state = DashboardState()
        self.history: Any = None
        self.trainer: Any = None
        self.stop_requested = False
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._figure: HistoryFigure | None = None
        self._last_draw = float("-inf")
        self._last_status = float("-inf")
        self._draw_cost = 0.0
        self._epoch_start = 0.0
        self._train_start = 0.0

        self.progress = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, description="Progress", bar_style="info"
        )
        self.progress.add_class("educnn-train-progress")
        self.stop_button = widgets.Button(
            description="Stop",
            icon="stop",
            button_style="danger",
            tooltip="End training after the current batch",
        )
        self.stop_button.add_class("educnn-stop-button")
        self.stop_button.on_click(lambda _button: self.request_stop())
        self.status = widgets.HTML(status_html(self.state))
        self.status.add_class("educnn-train-status")
        self.image = picture("educnn-train-curves")
        self.widget = widgets.VBox(
            [widgets.HBox([self.progress, self.stop_button]), self.status, self.image]
        )
        self.widget.add_class("educnn-training-dashboard")

    # -- the stop button -------------------------------------------------------------------
    def request_stop(self) -> None:
        """What the stop button does: end training cleanly after the current batch."""
        self.stop_requested = True
        if self.trainer is not None and self.state.phase == "training":
            self.state.phase = "stopping"
            self.status.value = status_html(self.state)

    # -- training hooks --------------------------------------------------------------------
    def on_train_begin(self, trainer: Any) -> None:
        self.trainer = trainer
        self.history = None
        self.stop_requested = False
        epochs, batches = int(trainer.epochs), int(trainer.batches_per_epoch)
        self.state = DashboardState(
            epochs=epochs,
            batches_per_epoch=batches,
            batch_size=self.state.batch_size,
            samples=self.state.samples,
            phase="training",
        )
        self._figure = HistoryFigure(batches, epochs)
        self._train_start = self._clock()
        self._last_draw = self._last_status = float("-inf")
        self.stop_button.disabled = False
        self._draw(force=True, curves=False)

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        self.state.epoch = epoch
        self.state.batch = -1
        self._epoch_start = self._clock()

    def on_batch_end(self, trainer: Any, batch: int, logs: dict[str, float]) -> None:
        s = self.state
        s.batch = batch
        s.batch_loss.append(float(logs["loss"]))
        now = self._clock()
        s.elapsed = now - self._train_start
        if s.batch_size and now > self._epoch_start:
            seen = (batch + 1) * s.batch_size
            if s.samples:
                seen = min(seen, s.samples)
            s.images_per_second = seen / (now - self._epoch_start)
        if self.stop_requested:
            trainer.stop_training = True
            s.phase = "stopping"
        self._draw()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        s = self.state
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                getattr(s, key).append(float(logs[key]))
        if "images_per_second" in logs:
            s.images_per_second = float(logs["images_per_second"])
        s.elapsed = self._clock() - self._train_start
        self._draw()  # the new epoch's points appear with the next redraw at the latest

    def on_train_end(self, trainer: Any) -> None:
        self.history = trainer.history
        stopped = bool(getattr(trainer.history, "stopped_early", False)) or self.stop_requested
        self.state.phase = "stopped" if stopped else "finished"
        self.state.elapsed = self._clock() - self._train_start
        self.stop_button.disabled = True
        if stopped and self._figure is not None:
            self._figure.epochs = None  # the x axis ends where training ended
        self._draw(force=True)

    # -- drawing ---------------------------------------------------------------------------
    def _draw(self, force: bool = False, curves: bool = True) -> None:
        """Update the progress bar and status (≤ 10×/s) and the curves (≤ 1/redraw_every).

        ``force`` redraws at once (the end of training); ``curves=False`` leaves the
        figure alone.
        """
        now = self._clock()
        epoch_done = self.state.batch + 1 == self.state.batches_per_epoch
        if force or epoch_done or now - self._last_status >= 0.1:
            self.progress.value = self.state.progress
            self.status.value = status_html(self.state)
            self._last_status = now
        interval = max(self.redraw_every, 10.0 * self._draw_cost)
        if curves and self._figure is not None and (force or now - self._last_draw >= interval):
            start = time.perf_counter()
            self.image.value = self._figure.update(self.state).to_png()
            self._draw_cost = time.perf_counter() - start
            self._last_draw = self._clock()
            self.state.redraws += 1
        if force:
            self.progress.bar_style = {
                "finished": "success",
                "stopped": "warning",
                "failed": "danger",
            }.get(self.state.phase, "info")

    # -- running fit -----------------------------------------------------------------------
    def _fit(
        self, model: Any, loss_fn: Any, optimizer: Any, x: Any, y: Any, kwargs: dict[str, Any]
    ) -> None:
        from edu_cnn.training import fit

        callbacks = [self, *kwargs.pop("callbacks", ())]
        try:
            self.history = fit(
                model, loss_fn, optimizer, x, y, callbacks=callbacks, verbose=False, **kwargs
            )
        except BaseException as error:  # noqa: BLE001 – shown in the widget, re-raised by wait()/run()
            self.error = error
            self.state.phase = "failed"
            self.state.message = f"{type(error).__name__}: {error}"
            self.status.value = status_html(self.state)
            self.stop_button.disabled = True

    def _prepare(self, x: Any, kwargs: dict[str, Any]) -> None:
        if self.running:
            raise ValueError(
                "TrainingDashboard: training is already running – call wait() or press Stop first"
            )
        self.error = None
        self.history = None
        self.state.batch_size = int(kwargs.get("batch_size", 32))
        self.state.samples = len(x)

    def start(
        self, model: Any, loss_fn: Any, optimizer: Any, x: Any, y: Any, **fit_kwargs: Any
    ) -> TrainingDashboard:
        """Start ``fit(model, loss_fn, optimizer, x, y, **fit_kwargs)`` in a background thread.

        Returns at once (the stop button works while no other cell runs); call
        :meth:`wait` for the :class:`~edu_cnn.training.History`. Do not use the model
        in other cells until then.
        """
        self._prepare(x, fit_kwargs)
        self._thread = threading.Thread(
            target=self._fit,
            name="edu-cnn-training",
            daemon=True,
            args=(model, loss_fn, optimizer, x, y, dict(fit_kwargs)),
        )
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether a background training started by :meth:`start` is still going."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Any:
        """Wait for the background training and return its History (re-raising its error).

        A kernel interrupt while waiting stops training cleanly after the current batch.
        Raises ``TimeoutError`` if ``timeout`` seconds pass first.
        """
        if self._thread is None:
            raise ValueError("TrainingDashboard.wait: nothing to wait for – call start() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._interrupt_stops_training():
            while self._thread.is_alive():
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(
                        f"TrainingDashboard.wait: training still runs after {timeout} s"
                    )
                self._thread.join(0.1)
        return self._result()

    def run(
        self, model: Any, loss_fn: Any, optimizer: Any, x: Any, y: Any, **fit_kwargs: Any
    ) -> Any:
        """Train in the foreground (the cell waits); an interrupt stops cleanly. Returns History."""
        self._prepare(x, fit_kwargs)
        with self._interrupt_stops_training():
            self._fit(model, loss_fn, optimizer, x, y, dict(fit_kwargs))
        return self._result()

    def _result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.history

    @contextlib.contextmanager
    def _interrupt_stops_training(self) -> Iterator[None]:
        """First SIGINT (the kernel's interrupt) → stop after the batch; the second raises."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self.stop_requested:
                raise KeyboardInterrupt
            self.request_stop()

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
