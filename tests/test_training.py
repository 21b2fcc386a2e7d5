"""The training loop: XOR and two spirals are learned, history, callbacks, early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn import init
from edu_cnn.activations import ReLU, Sigmoid, Tanh
from edu_cnn.dropout import Dropout
from edu_cnn.layer import Layer
from edu_cnn.linear import Linear
from edu_cnn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from edu_cnn.optim import SGD, Adam, StepLR
from edu_cnn.sequential import Sequential
from edu_cnn.training import Callback, EarlyStopping, History, accuracy, evaluate, fit, predict

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def two_spirals(n: int = 100, turns: float = 2.0, noise: float = 0.05, seed: int = 0):
    """Two interleaved spirals of ``n`` points each, labels 0 and 1 (seeded)."""
    rng = np.random.default_rng(seed)
    angle = np.sqrt(rng.uniform(0.05, 1.0, n)) * turns * 2 * np.pi
    arm = np.stack([angle * np.cos(angle), angle * np.sin(angle)], axis=1) / (turns * 2 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0.0, noise, (2 * n, 2))
    return x.astype(np.float32), np.repeat([0, 1], n)


def blobs(n: int = 60, seed: int = 0):
    """Two well separated Gaussian blobs: an easy, quick problem for the loop's mechanics."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-1, 0.5, (n, 2)), rng.normal(1, 0.5, (n, 2))])
    return x.astype(np.float32), np.repeat([0, 1], n)


def small_net(out: int = 2, hidden: int = 8, activation=Tanh) -> Sequential:
    return Sequential(Linear(2, hidden), activation(), Linear(hidden, out))


# -- it learns -------------------------------------------------------------------------------------
def test_learns_xor_with_cross_entropy():
    init.manual_seed(0)
    model = small_net()
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=0.05),
        XOR_X,
        XOR_Y,
        epochs=300,
        batch_size=4,
        verbose=False,
    )
    assert history.loss[-1] < 0.05 < history.loss[0]
    assert evaluate(model, CrossEntropyLoss(), XOR_X, XOR_Y)["accuracy"] == 1.0
    np.testing.assert_array_equal(predict(model, XOR_X).argmax(axis=1), XOR_Y)


def test_learns_xor_with_bce_on_logits():
    init.manual_seed(1)
    model = small_net(out=1)
    fit(
        model,
        BCEWithLogitsLoss(),
        Adam(model.parameters(), lr=0.05),
        XOR_X,
        XOR_Y,
        epochs=300,
        batch_size=4,
        verbose=False,
    )
    result = evaluate(model, BCEWithLogitsLoss(), XOR_X, XOR_Y)
    assert result["accuracy"] == 1.0 and result["loss"] < 0.05


@pytest.mark.parametrize(
    "activation, loss_fn, out",
    [
        (Tanh, CrossEntropyLoss, 2),
        (ReLU, BCEWithLogitsLoss, 1),
    ],
)
def test_learns_two_spirals(activation, loss_fn, out):
    x, y = two_spirals()
    init.manual_seed(0)
    width = 32 if activation is Tanh else 64
    model = Sequential(
        Linear(2, width), activation(), Linear(width, width), activation(), Linear(width, out)
    )
    history = fit(
        model,
        loss_fn(),
        Adam(model.parameters(), lr=0.02 if out == 2 else 0.01),
        x,
        y,
        epochs=300,
        batch_size=50,
        verbose=False,
    )
    assert history.accuracy[0] < 0.8  # not separable by the first epoch's nearly linear model
    assert evaluate(model, loss_fn(), x, y)["accuracy"] >= 0.99


# -- the history and the mechanics of the loop -----------------------------------------------------
def test_history_lengths_and_types():
    x, y = blobs(50)  # 100 samples, batches of 32 → 4 batches (32, 32, 32, 4)
    xv, yv = blobs(10, seed=1)
    init.manual_seed(0)
    model = small_net()
    history = fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        x,
        y,
        epochs=3,
        validation_data=(xv, yv),
        verbose=False,
    )
    assert isinstance(history, History) and history.epochs == 3
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time", "images_per_second"):
        assert len(history[key]) == 3, key
    assert len(history.batch_loss) == 12 and not history.stopped_early
    assert all(isinstance(v, float) for v in history.loss + history.batch_loss)
    # an epoch's loss is the sample-weighted mean of its batch losses
    b = history.batch_loss[:4]
    assert history.loss[0] == pytest.approx((32 * (b[0] + b[1] + b[2]) + 4 * b[3]) / 100)
    assert history.val_accuracy[-1] == evaluate(model, CrossEntropyLoss(), xv, yv)["accuracy"]
    no_val = fit(
        model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), x, y, verbose=False, metrics=()
    )
    assert no_val.val_loss == [] and no_val.accuracy == [] and len(no_val.loss) == 1


def test_shuffling_is_seeded():
    x, y = blobs()

    def train(seed):
        init.manual_seed(0)
        model = small_net()
        h = fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            x,
            y,
            epochs=2,
            batch_size=16,
            seed=seed,
            verbose=False,
        )
        return h.batch_loss, model.state_dict()

    (loss_a, w_a), (loss_b, w_b), (loss_c, _) = train(0), train(0), train(1)
    assert loss_a == loss_b and all(np.array_equal(w_a[k], w_b[k]) for k in w_a)
    assert loss_a != loss_c


class ModeProbe(Layer):
    """Records whether each forward pass ran in training or evaluation mode."""

    def __init__(self) -> None:
        super().__init__()
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.training)
        return x

    def backward(self, grad_y):
        return grad_y


def test_train_mode_for_batches_eval_mode_for_validation():
    x, y = blobs(20)
    probe = ModeProbe()
    model = Sequential(Linear(2, 8), Dropout(0.2), probe, Tanh(), Linear(8, 2))
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        x,
        y,
        epochs=2,
        batch_size=20,
        validation_data=(x, y),
        verbose=False,
    )
    # per epoch: two training batches, then one validation batch
    assert probe.modes == [True, True, False, True, True, False]
    model.eval()
    predict(model, x)
    assert model.training is False and probe.modes[-1] is False
    model.train()
    evaluate(model, CrossEntropyLoss(), x, y)
    assert model.training is True and probe.modes[-1] is False  # mode restored afterwards


def test_stop_flag_ends_after_the_current_batch():
    x, y = blobs(50)  # 100 samples, batch 10 → 10 batches per epoch
    calls = []

    class StopButton(Callback):
        def on_batch_end(self, trainer, batch, logs):
            calls.append((trainer.epoch, batch))
            if trainer.epoch == 1 and batch == 2:
                trainer.stop_training = True

        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(("end", epoch))

        def on_train_end(self, trainer):
            calls.append("train end")

    init.manual_seed(0)
    model = small_net()
    opt = SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        CrossEntropyLoss(),
        opt,
        x,
        y,
        epochs=5,
        batch_size=10,
        validation_data=(x, y),
        callbacks=[StopButton()],
        verbose=False,
    )
    assert opt.steps == 13 and len(history.batch_loss) == 13
    assert calls[-3:] == [(1, 2), ("end", 1), "train end"]
    assert history.epochs == 2 and len(history.val_loss) == 2 and history.stopped_early


def test_callback_hooks_are_called_in_order():
    events = []

    class Recorder:  # any object with some of the hooks will do
        def on_train_begin(self, trainer):
            events.append("begin")

        def on_epoch_begin(self, trainer, epoch):
            events.append(f"epoch {epoch}")

        def on_epoch_end(self, trainer, epoch, logs):
            events.append(f"end {epoch}: {sorted(logs)}")

        def on_train_end(self, trainer):
            events.append("done")

    x, y = blobs(10)
    model = small_net()
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        x,
        y,
        epochs=2,
        validation_data=(x, y),
        callbacks=[Recorder()],
        verbose=False,
    )
    keys = "['accuracy', 'images_per_second', 'loss', 'time', 'val_accuracy', 'val_loss']"
    assert events == ["begin", "epoch 0", f"end 0: {keys}", "epoch 1", f"end 1: {keys}", "done"]


class ScriptedValLoss(Callback):
    """Overwrite val_loss with a fixed sequence and keep a copy of the weights each epoch."""

    def __init__(self, values):
        self.values = values
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(trainer.model.state_dict())


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = blobs(20)
    init.manual_seed(0)
    model = small_net()
    script = ScriptedValLoss([5.0, 4.0, 3.0, 3.5, 3.0, 3.2, 1.0, 1.0])
    stopper = EarlyStopping(patience=3)
    history = fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        x,
        y,
        epochs=8,
        batch_size=10,
        validation_data=(x, y),
        callbacks=[script, stopper],
        verbose=False,
    )
    # best 3.0 at epoch 2; 3.5, 3.0 (not better), 3.2 → three epochs without improvement
    assert stopper.best == 3.0 and stopper.best_epoch == 2 and stopper.stopped_epoch == 5
    assert history.epochs == 6 and history.stopped_early and len(history.batch_loss) == 24
    final = model.state_dict()
    for key, value in final.items():
        np.testing.assert_array_equal(value, script.weights[2][key])
        assert not np.array_equal(value, script.weights[5][key])


def test_early_stopping_min_delta_and_accuracy_mode():
    x, y = blobs(20)
    model = small_net()
    script = ScriptedValLoss([1.0, 0.95, 0.92, 0.91, 0.5])
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        x,
        y,
        epochs=5,
        validation_data=(x, y),
        callbacks=[script, stopper],
        verbose=False,
    )
    assert stopper.best_epoch == 0 and stopper.stopped_epoch == 2  # 0.95, 0.92: not by 0.1
    assert EarlyStopping(monitor="val_accuracy").maximize
    assert not EarlyStopping(monitor="loss").maximize


def test_early_stopping_on_real_training_keeps_the_best_epoch():
    x, y = two_spirals(60, noise=0.3, seed=3)
    xv, yv = two_spirals(60, noise=0.3, seed=4)
    init.manual_seed(0)
    model = Sequential(Linear(2, 64), ReLU(), Linear(64, 2))
    stopper = EarlyStopping(patience=5)
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=0.05),
        x,
        y,
        epochs=300,
        batch_size=30,
        validation_data=(xv, yv),
        callbacks=[stopper],
        verbose=False,
    )
    best = int(np.argmin(history.val_loss))
    assert stopper.best_epoch == best and history.epochs == best + 6 < 300
    assert evaluate(model, CrossEntropyLoss(), xv, yv)["loss"] == pytest.approx(
        history.val_loss[best], rel=1e-5
    )


def test_step_lr_as_a_callback():
    x, y = blobs(10)
    model = small_net()
    opt = SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        CrossEntropyLoss(),
        opt,
        x,
        y,
        epochs=4,
        callbacks=[StepLR(opt, 2, 0.5)],
        verbose=False,
    )
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05])
    assert opt.lr == pytest.approx(0.025)


# -- progress bar ----------------------------------------------------------------------------------
def test_progress_line_per_epoch(capsys):
    x, y = blobs(10)
    model = small_net()
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        x,
        y,
        epochs=2,
        batch_size=5,
        validation_data=(x, y),
    )
    out = capsys.readouterr().out
    lines = out.split("\n")
    assert len(lines) == 3 and lines[2] == ""  # one finished line per epoch (tqdm, text mode)
    assert lines[0].startswith("\rEpoch 1/2: ") and lines[1].startswith("\r")
    last = lines[1].split("\r")[-1]
    assert last.startswith("Epoch 2/2: 100%|") and "| 4/4 [" in last and ", loss " in last
    for word in ("accuracy", "val_loss", "val_accuracy", "img/s"):
        assert word in lines[1]
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), x, y, verbose=False)
    assert capsys.readouterr().out == ""


# -- accuracy --------------------------------------------------------------------------------------
def test_accuracy_for_every_kind_of_output():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0], [5.0, 0.0, 0.0]])
    assert accuracy(logits, [0, 2, 0, 0]) == 0.75
    assert accuracy(logits, np.eye(3)[[0, 2, 1, 0]]) == 1.0
    z = np.array([[-0.2], [0.1], [3.0], [0.0]])
    assert accuracy(z, [0, 1, 1, 1]) == 1.0  # logits: threshold 0
    assert accuracy(z + 0.5, [0, 1, 1, 1], threshold=0.5) == 1.0  # probabilities: 0.5
    assert accuracy(z.ravel(), np.array([[0], [1], [1], [0]], float)) == 0.75


def test_binary_threshold_follows_the_loss():
    # a model ending in a Sigmoid, trained with BCELoss: its outputs are probabilities
    init.manual_seed(0)
    model = Sequential(Linear(2, 8), Tanh(), Linear(8, 1), Sigmoid())
    x, y = blobs(30)
    history = fit(
        model,
        BCELoss(),
        Adam(model.parameters(), lr=0.05),
        x,
        y,
        epochs=30,
        batch_size=20,
        verbose=False,
    )
    p = predict(model, x).ravel()
    assert history.accuracy[-1] > 0.9
    assert evaluate(model, BCELoss(), x, y)["accuracy"] == np.mean((p >= 0.5) == (y == 1))
    assert evaluate(model, MSELoss(), x, y[:, None])["accuracy"] == np.mean((p >= 0.5) == (y == 1))


# -- bad input -------------------------------------------------------------------------------------
def test_bad_input_messages():
    x, y = blobs(10)
    model = small_net()
    opt = SGD(model.parameters(), lr=0.1)
    loss_fn = CrossEntropyLoss()
    with pytest.raises(
        ValueError,
        match=r"fit: x and y need one entry per sample, got 20 "
        r"samples in \(20, 2\) and 19 in \(19,\)",
    ):
        fit(model, loss_fn, opt, x, y[:-1], verbose=False)
    with pytest.raises(ValueError, match=r"fit: batch_size must be an integer ≥ 1, got 0"):
        fit(model, loss_fn, opt, x, y, batch_size=0, verbose=False)
    with pytest.raises(ValueError, match=r"fit: epochs must be an integer ≥ 1, got 1.5"):
        fit(model, loss_fn, opt, x, y, epochs=1.5, verbose=False)
    with pytest.raises(
        ValueError,
        match=r"fit: validation x must have the training samples' "
        r"shape: x is \(20, 2\) \(N, 2\) but x_val is \(20, 3\)",
    ):
        fit(model, loss_fn, opt, x, y, validation_data=(np.zeros((20, 3)), y), verbose=False)
    with pytest.raises(
        ValueError,
        match=r"fit: validation_data \(x_val, y_val\) need one entry "
        r"per sample, got 20 samples",
    ):
        fit(model, loss_fn, opt, x, y, validation_data=(x, y[:5]), verbose=False)
    with pytest.raises(ValueError, match=r"fit: validation_data must be a pair"):
        fit(model, loss_fn, opt, x, y, validation_data=x, verbose=False)
    with pytest.raises(ValueError, match=r"fit: unknown metrics \['precision'\]"):
        fit(model, loss_fn, opt, x, y, metrics=("precision",), verbose=False)
    with pytest.raises(
        ValueError,
        match=r"EarlyStopping: monitor='val_loss' is not among the "
        r"epoch logs .* pass validation_data to fit\(\)",
    ):
        fit(model, loss_fn, opt, x, y, callbacks=[EarlyStopping()], verbose=False)
    with pytest.raises(ValueError, match=r"predict: batch_size must be an integer ≥ 1, got -1"):
        predict(model, x, batch_size=-1)
    with pytest.raises(ValueError, match=r"evaluate: x and y need one entry per sample"):
        evaluate(model, loss_fn, x, y[:3])
    regression = Sequential(Linear(2, 1))
    with pytest.raises(ValueError, match=r"accuracy: one binary output .* pass metrics=\(\)"):
        fit(
            regression,
            MSELoss(),
            SGD(regression.parameters(), lr=0.1),
            x,
            x[:, :1] * 0.3,
            verbose=False,
        )
