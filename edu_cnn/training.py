r"""The training loop (训练循环): mini-batches, epochs, history, callbacks (chapters 3, 7).

One epoch (轮) shuffles the training set with a seeded generator and walks through it in
mini-batches (小批量); for each batch

1. ``out = model(x_batch)`` – forward pass (model in training mode: dropout on);
2. ``loss = loss_fn(out, y_batch)`` – a float;
3. ``model.backward(loss_fn.backward())`` – fills every ``Parameter.grad``;
4. ``optimizer.step()`` – updates the weights.

After the epoch the validation set, if given, is evaluated in evaluation mode (dropout
off). :func:`fit` returns a :class:`History` of every number it printed.

Callbacks are objects with any of ``on_train_begin(trainer)``,
``on_epoch_begin(trainer, epoch)``, ``on_batch_end(trainer, batch, logs)``,
``on_epoch_end(trainer, epoch, logs)``, ``on_train_end(trainer)``. Setting
``trainer.stop_training = True`` (a stop button, :class:`EarlyStopping`) ends training
after the current batch: the partial epoch is still validated and recorded, so every
per-epoch list of the history has the same length.

Accuracy (准确率) is computed from the model's outputs:

* outputs (N, C) with C ≥ 2 – the predicted class is the arg-max; targets are integer
  labels (N,) or one-hot rows (N, C);
* outputs (N, 1) or (N,) – one binary output with 0/1 labels. The threshold is **0 on
  logits** (``BCEWithLogitsLoss``, the default) and **0.5 on probabilities** (when the
  loss is ``BCELoss`` or ``MSELoss``, i.e. the model ends in a ``Sigmoid`` or regresses
  onto 0/1). Both mean "σ(z) ≥ 0.5".

The training accuracy of an epoch is the running accuracy over its batches (the weights
change while it is measured, as in Keras); call :func:`evaluate` for the final model's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import init
from .losses import BCELoss, Loss, MSELoss
from .metrics import accuracy
from .shapes import check_int

_METRICS = ("accuracy",)


def _threshold(loss_fn: Loss) -> float:
    """0.5 when the binary output is a probability (BCELoss, MSELoss), else 0 (logits)."""
    return 0.5 if isinstance(loss_fn, (BCELoss, MSELoss)) else 0.0


# -- history and callbacks ------------------------------------------------------------------------
@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch unless noted.

    Attributes
    ----------
    loss, accuracy : training loss and running accuracy of each epoch
    val_loss, val_accuracy : the same on the validation data (empty without it)
    batch_loss : the loss of every mini-batch, in order (all epochs)
    epoch_time : wall-clock seconds per epoch, validation included
    images_per_second : training samples per second (forward + backward + step)
    lr : the optimiser's learning rate during each epoch (a schedule changes it)
    stopped_early : whether training ended before ``epochs`` (callback or stop button)
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    images_per_second: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """Number of epochs run (a stopped, partial epoch counts)."""
        return len(self.loss)

    def __getitem__(self, key: str) -> list[float]:
        return getattr(self, key)

    def as_dict(self) -> dict[str, Any]:
        """Plain lists by name, e.g. for ``json.dump`` or a pandas DataFrame."""
        return {k: list(v) if isinstance(v, list) else v for k, v in vars(self).items()}


class Callback:
    """Optional base class: every hook does nothing until overridden."""

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


class EarlyStopping(Callback):
    """Stop when a monitored number has not improved for ``patience`` epochs (早停).

    Parameters
    ----------
    monitor : str
        A key of the epoch logs: ``'val_loss'`` (default), ``'val_accuracy'``, ``'loss'``,
        ``'accuracy'``.
    patience : int
        Epochs without improvement to wait before stopping.
    min_delta : float
        An improvement must be larger than this.
    restore_best_weights : bool
        At the end of training put back the weights of the best epoch (copies of the
        model's ``state_dict()`` are kept), whether training stopped early or not.
    mode : {'auto', 'min', 'max'}
        Whether smaller or larger is better; ``'auto'`` = larger for accuracies.

    After training, ``best``, ``best_epoch`` (0-based) and ``stopped_epoch`` (or None)
    say what happened.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        mode: str = "auto",
    ) -> None:
        check_int(patience, "patience", "EarlyStopping", 0)
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be ≥ 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_weights: Any = None
        self.stopped_epoch: int | None = None
        self.wait = 0

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_train_begin(self, trainer: Trainer) -> None:
        self._reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping: monitor={self.monitor!r} is not among the epoch logs "
                f"{sorted(logs)}"
                + (" – pass validation_data to fit()" if self.monitor.startswith("val_") else "")
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)


class SaveBestModel(Callback):
    """Callback: write a snapshot of the model whenever a monitored number improves.

    The file is written with :func:`edu_cnn.modelfile.save`, which is atomic: a crash or
    a stop in the middle of a save leaves the previous snapshot intact.

    Parameters
    ----------
    path : path-like
        Where the snapshot goes (e.g. ``build/lenet5-best.educnn`` or a temporary folder).
    monitor : str
        ``'val_loss'`` (smaller is better) or any epoch-log key; ``'…acc…'`` keys are
        maximised.
    save_kwargs : dict
        Passed to ``modelfile.save`` (``input_shape``, ``mean``, ``std``, ``class_names``,
        ``metadata`` – to which the epoch and the monitored value are added).

    Attributes
    ----------
    best, best_epoch (0-based), saves (how many snapshots were written)
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", **save_kwargs: Any) -> None:
        self.path = Path(path)
        self.monitor = monitor
        self.maximize = "acc" in monitor
        self.metadata = dict(save_kwargs.pop("metadata", None) or {})
        self.save_kwargs = save_kwargs
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.saves = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best, self.best_epoch, self.saves = None, None, 0

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        from . import modelfile

        if self.monitor not in logs:
            raise ValueError(
                f"SaveBestModel: monitor={self.monitor!r} is not among the epoch "
                f"logs {sorted(logs)}"
            )
        value = float(logs[self.monitor])
        better = self.best is None or (value > self.best if self.maximize else value < self.best)
        if better:
            self.best, self.best_epoch = value, epoch
            self.path.parent.mkdir(parents=True, exist_ok=True)
            modelfile.save(
                trainer.model,
                self.path,
                metadata={**self.metadata, "epoch": epoch + 1, self.monitor: value},
                **self.save_kwargs,
            )
            self.saves += 1


# -- the loop -----------------------------------------------------------------------------------
class Trainer:
    """What callbacks see: the model, loss, optimiser, history and the stop flag.

    ``fit`` creates one; callbacks may read ``epoch``, ``epochs``, ``batches_per_epoch``
    and ``history`` and set ``stop_training = True``.
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Loss,
        optimizer: Any,
        epochs: int,
        batches_per_epoch: int,
        history: History,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.epochs = epochs
        self.batches_per_epoch = batches_per_epoch
        self.history = history
        self.epoch = 0
        self.stop_training = False


def _check_xy(x: Any, y: Any, where: str, what: str = "x and y") -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        nx = len(x) if x.ndim else "no"
        ny = len(y) if y.ndim else "no"
        raise ValueError(
            f"{where}: {what} need one entry per sample, got {nx} samples in "
            f"{tuple(x.shape)} and {ny} in {tuple(y.shape)}"
        )
    if len(x) == 0:
        raise ValueError(f"{where}: {what} are empty")
    return x, y


def _check_metrics(metrics: Sequence[str], where: str) -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in _METRICS]
    if unknown:
        raise ValueError(f"{where}: unknown metrics {unknown}; available: {list(_METRICS)}")
    return metrics


def _call(callbacks: Iterable[Any], hook: str, *args: Any) -> None:
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def _batches(n: int, batch_size: int, order: np.ndarray | None) -> Iterable[np.ndarray | slice]:
    for start in range(0, n, batch_size):
        yield (
            slice(start, start + batch_size) if order is None else order[start : start + batch_size]
        )


def _run_batches(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Forward passes in evaluation mode, restoring the model's previous mode afterwards."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        outputs = [model(x[s]) for s in _batches(len(x), batch_size, None)]
    finally:
        if was_training:
            model.train()
    return np.concatenate(outputs, axis=0)


def predict(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``x``, in evaluation mode (dropout off), batch by batch.

    Returns exactly what the last layer gives: **logits** for a model trained with
    ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` (apply softmax / sigmoid for
    probabilities), probabilities if the model ends in ``Softmax`` / ``Sigmoid``.
    ``outputs.argmax(axis=1)`` is the predicted class either way.
    """
    batch_size = check_int(batch_size, "batch_size", "predict", 1)
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"predict: expected a batch of samples, got shape {tuple(x.shape)}")
    return _run_batches(model, x, batch_size)


def evaluate(
    model: Any,
    loss_fn: Loss,
    x: Any,
    y: Any,
    batch_size: int = 256,
    metrics: Sequence[str] = ("accuracy",),
) -> dict[str, float]:
    """Loss (and accuracy) of the model on ``(x, y)`` in evaluation mode.

    Returns ``{"loss": …, "accuracy": …}``; the loss is the sample-weighted mean of the
    batch losses, i.e. the loss of the whole set computed at once.
    """
    x, y = _check_xy(x, y, "evaluate")
    batch_size = check_int(batch_size, "batch_size", "evaluate", 1)
    metrics = _check_metrics(metrics, "evaluate")
    outputs = _run_batches(model, x, batch_size)
    total = 0.0
    for s in _batches(len(x), batch_size, None):
        total += loss_fn(outputs[s], y[s]) * len(y[s])
    result = {"loss": total / len(x)}
    if "accuracy" in metrics:
        result["accuracy"] = accuracy(outputs, y, _threshold(loss_fn))
    return result


class _ProgressBar:
    """One tqdm bar per epoch: ``tqdm.auto`` draws a widget in Jupyter and a text line
    (redrawn in place) in a terminal, at most ten redraws a second.
    """

    def __init__(self, epochs: int, batches: int, file: Any = None) -> None:
        self.epochs, self.batches = epochs, batches
        self.file = file
        self._bar: Any = None

    def _open(self, epoch: int) -> Any:
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.batches,
                desc=f"Epoch {epoch + 1}/{self.epochs}",
                unit="batch",
                leave=True,
                mininterval=0.1,
                file=self.file if self.file is not None else sys.stdout,
            )
        return self._bar

    def update(self, epoch: int, batch: int, logs: dict[str, float]) -> None:
        bar = self._open(epoch)
        bar.set_postfix_str("  ".join(f"{k} {v:.4f}" for k, v in logs.items()), refresh=False)
        bar.update(1)

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        bar = self._open(epoch)
        numbers = "  ".join(
            f"{k} {v:.4f}" for k, v in logs.items() if k not in ("time", "images_per_second")
        )
        bar.set_postfix_str(
            f"{numbers}  {logs['time']:.1f}s  {logs['images_per_second']:.0f} img/s", refresh=False
        )
        bar.close()  # draws the final state
        self._bar = None


def fit(
    model: Any,
    loss_fn: Loss,
    optimizer: Any,
    x: Any,
    y: Any,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Iterable[Any] = (),
    shuffle: bool = True,
    seed: int | None = 0,
    verbose: bool = True,
    metrics: Sequence[str] = ("accuracy",),
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
) -> History:
    """Train ``model`` on ``(x, y)`` with mini-batches and return the :class:`History`.

    Parameters
    ----------
    model : a ``Sequential`` (anything with forward/backward/train/eval/state_dict)
    loss_fn : a loss from :mod:`edu_cnn.losses`
    optimizer : an optimiser from :mod:`edu_cnn.optim` over ``model.parameters()``
    x, y : arrays with one entry per sample along the first axis
    epochs : int
        Passes over the training set.
    batch_size : int
        Samples per mini-batch; the last batch of an epoch may be smaller.
    validation_data : (x_val, y_val), optional
        Evaluated after every epoch in evaluation mode.
    callbacks : iterable
        Objects with any of the hooks listed in the module docstring, e.g.
        :class:`EarlyStopping`, :class:`edu_cnn.optim.StepLR`, a live plot.
    shuffle : bool
        Shuffle the training set at the start of every epoch.
    seed : int or None
        Seed of the shuffling; None draws from edu_cnn's generator (:func:`init.manual_seed`).
    verbose : bool
        Show a progress bar per epoch (tqdm: a widget in Jupyter, a text line elsewhere).
        It shows timings, so a notebook cell that shows it needs ``# NBVAL_IGNORE_OUTPUT``.
    metrics : sequence of str
        ``("accuracy",)`` or ``()`` (regression).
    augment : callable, optional
        Applied to every training mini-batch ``x_batch`` before the forward pass, e.g.
        :class:`edu_cnn.data.augment.RandomShift` (data augmentation); validation data is
        used as it is.
    """
    x, y = _check_xy(x, y, "fit")
    if augment is not None and not callable(augment):
        raise ValueError(f"fit: augment must be a callable taking a batch of x, got {augment!r}")
    epochs = check_int(epochs, "epochs", "fit", 1)
    batch_size = check_int(batch_size, "batch_size", "fit", 1)
    metrics = _check_metrics(metrics, "fit")
    callbacks = list(callbacks)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
        xv, yv = _check_xy(*validation_data, "fit", "validation_data (x_val, y_val)")
        for name, train, val in (("x", x, xv), ("y", y, yv)):
            if train.shape[1:] != val.shape[1:]:
                raise ValueError(
                    f"fit: validation {name} must have the training samples' shape: "
                    f"{name} is {tuple(train.shape)} (N, {', '.join(map(str, train.shape[1:]))}) "
                    f"but {name}_val is {tuple(val.shape)}"
                )
    threshold = _threshold(loss_fn)
    batches = -(-len(x) // batch_size)
    history = History()
    trainer = Trainer(model, loss_fn, optimizer, epochs, batches, history)
    rng = np.random.default_rng(seed) if seed is not None else init.default_rng()
    bar = _ProgressBar(epochs, batches) if verbose else None

    _call(callbacks, "on_train_begin", trainer)
    _train_epochs(
        model,
        loss_fn,
        optimizer,
        x,
        y,
        epochs,
        batch_size,
        shuffle,
        rng,
        (xv, yv) if validation_data is not None else None,
        callbacks,
        metrics,
        threshold,
        trainer,
        bar,
        augment,
    )
    _call(callbacks, "on_train_end", trainer)
    return history


def _train_epochs(
    model: Any,
    loss_fn: Loss,
    optimizer: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    shuffle: bool,
    rng: np.random.Generator,
    validation: tuple[np.ndarray, np.ndarray] | None,
    callbacks: Sequence[Any],
    metrics: Sequence[str],
    threshold: float,
    trainer: Trainer,
    bar: _ProgressBar | None,
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
) -> None:
    """The epochs of :func:`fit` (see there)."""
    history = trainer.history
    with_accuracy = "accuracy" in metrics
    n = len(x)
    for epoch in range(epochs):
        trainer.epoch = epoch
        _call(callbacks, "on_epoch_begin", trainer, epoch)
        model.train()
        order = rng.permutation(n) if shuffle else None
        start = time.perf_counter()
        seen, loss_sum, correct = 0, 0.0, 0.0
        logs: dict[str, float] = {}
        for batch, index in enumerate(_batches(n, batch_size, order)):
            xb, yb = x[index], y[index]
            if augment is not None:
                xb = augment(xb)
            out = model(xb)
            loss = loss_fn(out, yb)
            model.backward(loss_fn.backward())  # a Sequential skips ∂L/∂(input images)
            optimizer.step()

            m = len(xb)
            seen += m
            loss_sum += loss * m
            history.batch_loss.append(loss)
            logs = {"loss": loss}
            if with_accuracy:
                batch_accuracy = accuracy(out, yb, threshold)
                correct += batch_accuracy * m
                logs["accuracy"] = batch_accuracy
            _call(callbacks, "on_batch_end", trainer, batch, logs)
            if bar is not None:
                running = {"loss": loss_sum / seen}
                if with_accuracy:
                    running["accuracy"] = correct / seen
                bar.update(epoch, batch, running)
            if trainer.stop_training:
                history.stopped_early = True
                break
        train_time = time.perf_counter() - start

        logs = {"loss": loss_sum / seen}
        if with_accuracy:
            logs["accuracy"] = correct / seen
        if validation is not None:
            logs.update(
                {
                    f"val_{k}": v
                    for k, v in evaluate(
                        model,
                        loss_fn,
                        *validation,
                        batch_size=max(batch_size, 256),
                        metrics=metrics,
                    ).items()
                }
            )
        logs["time"] = time.perf_counter() - start
        logs["images_per_second"] = seen / train_time if train_time > 0 else float("inf")
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                getattr(history, key).append(logs[key])
        history.epoch_time.append(logs["time"])
        history.images_per_second.append(logs["images_per_second"])
        if hasattr(optimizer, "lr"):
            history.lr.append(float(optimizer.lr))
        if bar is not None:
            bar.end_epoch(epoch, logs)
        _call(callbacks, "on_epoch_end", trainer, epoch, logs)
        if trainer.stop_training:
            history.stopped_early = epoch + 1 < epochs or history.stopped_early
            break
