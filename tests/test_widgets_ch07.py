"""Chapter 7: shared figures, the training dashboard, feature maps and draw-a-digit.

Pure functions are checked against independent computations; widgets are driven as the
browser would drive them (button clicks, mouse events into the canvas's own handler,
canvas pixels) and the test asserts on what they computed.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

from edu_cnn import modelfile
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5, mlp
from edu_cnn.optim import Adam
from edu_cnn.plots import (
    HistoryFigure,
    confusion_matrix,
    plot_confusion_matrix,
    plot_history,
    plot_image_grid,
    plot_probabilities,
    top_k,
)
from edu_cnn.preprocess import preprocess_digit
from edu_cnn.training import fit, predict
from edu_cnn.widgets import dashboard as dw
from edu_cnn.widgets import drawing as drw
from edu_cnn.widgets import features as fw

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def mnist():
    from edu_cnn.data import load_mnist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_mnist(as_float=True)
    mean, std = float(data.x_train.mean()), float(data.x_train.std())
    return data, mean, std


@pytest.fixture(scope="module")
def trained_mlp(mnist):
    """A small MLP trained for a few seconds: good enough to read clear drawings."""
    data, mean, std = mnist
    model = mlp((784, 128, 10), flatten=True)
    x = (data.x_train - mean) / std
    fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=2e-3),
        x,
        data.y_train,
        epochs=4,
        batch_size=64,
        seed=0,
        verbose=False,
    )
    return model, mean, std


# -- plots ----------------------------------------------------------------------------------
def test_confusion_matrix_against_histogram2d():
    t = RNG.integers(0, 5, 300)
    p = np.where(RNG.random(300) < 0.7, t, RNG.integers(0, 5, 300))
    expected, _, _ = np.histogram2d(t, p, bins=[np.arange(6) - 0.5] * 2)
    m = confusion_matrix(t, p, 5)
    np.testing.assert_array_equal(m, expected.astype(int))
    assert m.sum() == 300 and np.trace(m) == np.sum(t == p)
    assert confusion_matrix([0, 2], [2, 2]).shape == (3, 3)


def test_confusion_matrix_bad_input():
    with pytest.raises(
        ValueError,
        match=r"confusion_matrix: y_true and y_pred need one label "
        r"per sample, got \(3,\) and \(2,\)",
    ):
        confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"y_pred holds labels in 0…7, outside 0…4"):
        confusion_matrix([0, 1], [0, 7], num_classes=5)
    with pytest.raises(ValueError, match="must be a 1-D array"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 2)))


def test_top_k():
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    classes, probs = top_k(p, 2)
    np.testing.assert_array_equal(classes, [[1, 2], [0, 2]])
    np.testing.assert_allclose(probs, [[0.6, 0.3], [0.5, 0.3]])
    with pytest.raises(ValueError, match=r"top_k: k must be in 1…3, got 4"):
        top_k(p, 4)


def test_figures_are_built():
    m = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    fig = plot_confusion_matrix(m, ["a", "b", "c"], normalize=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.50" in texts and "1.00" in texts
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        plot_confusion_matrix(m, ["a", "b"])
    images = RNG.random((5, 1, 28, 28))
    probs = RNG.dirichlet(np.ones(10), 5)
    fig = plot_image_grid(
        images, labels=[0, 1, 2, 3, 4], predictions=probs.argmax(1), probabilities=probs, ncols=3
    )
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes[:5]]
    for title, p, label in zip(titles, probs, range(5), strict=True):
        assert title.startswith(f"true {label}\npred {p.argmax()}")
        assert title.count("%") == 3
    red = [ax.title.get_color() == "crimson" for ax in fig.axes[:5]]
    assert red == [p.argmax() != label for p, label in zip(probs, range(5), strict=True)]
    fig = plot_probabilities(probs[0])
    assert len(fig.axes[0].patches) == 10


def test_history_figure_shows_the_history():
    history = {
        "loss": [1.0, 0.5],
        "val_loss": [0.9, 0.6],
        "accuracy": [0.7, 0.8],
        "val_accuracy": [0.75, 0.85],
        "batch_loss": [2.0, 1.5, 1.0, 0.8, 0.6, 0.4],
    }
    figure = HistoryFigure(batches_per_epoch=3, epochs=5).update(history)
    x, _y = figure.lines["batch_loss"].get_data()
    np.testing.assert_allclose(x, np.arange(1, 7) / 3)
    np.testing.assert_allclose(figure.lines["val_accuracy"].get_data()[1], [0.75, 0.85])
    assert figure.ax_loss.get_xlim()[1] >= 5
    png = figure.to_png()
    assert png.startswith(b"\x89PNG")
    assert len(plot_history(history).axes) == 2


# -- the dashboard --------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeTrainer:
    def __init__(self, epochs: int = 2, batches: int = 10) -> None:
        from edu_cnn.training import History

        self.epochs, self.batches_per_epoch = epochs, batches
        self.history = History()
        self.stop_training = False
        self.model = None


def test_status_html_for_each_phase():
    state = dw.DashboardState()
    assert dw.status_html(state).startswith("Ready")
    state = dw.DashboardState(
        epochs=5,
        batches_per_epoch=10,
        epoch=1,
        batch=4,
        batch_loss=[0.31234],
        val_accuracy=[0.9512],
        images_per_second=2345.6,
        elapsed=12.3,
        phase="training",
    )
    text = dw.status_html(state)
    assert text.startswith("<b>Training</b>")
    for part in (
        "epoch 2/5",
        "batch 5/10",
        "batch loss 0.312",
        "validation accuracy 95.1 %",
        "2,346 images/s",
        "12 s",
    ):
        assert part in text
    assert state.progress == pytest.approx(15 / 50)
    state.phase = "failed"
    state.message = "ValueError: boom"
    assert "boom" in dw.status_html(state)


def test_dashboard_redraws_at_most_every_half_second_and_stops_after_the_batch():
    clock = FakeClock()
    dash = dw.TrainingDashboard(redraw_every=0.5, clock=clock)
    dash._draw_cost = 0.0
    trainer = FakeTrainer(epochs=2, batches=10)
    dash.on_train_begin(trainer)
    dash.on_epoch_begin(trainer, 0)
    for batch in range(10):
        clock.now += 0.1  # a batch every 0.1 s
        dash.on_batch_end(trainer, batch, {"loss": 1.0 / (batch + 1)})
        dash._draw_cost = 0.0  # pretend drawing is free (real cost varies)
    # 1 s of batches at ≥ 0.5 s between redraws: the first batch, then at most two more
    assert 1 <= dash.state.redraws <= 3
    assert dash.progress.value == pytest.approx(0.5)
    assert len(dash.state.batch_loss) == 10
    dash.stop_button.click()  # what the browser's click does
    assert dash.stop_requested and not trainer.stop_training
    dash.on_epoch_begin(trainer, 1)
    dash.on_batch_end(trainer, 0, {"loss": 0.1})
    assert trainer.stop_training and dash.state.phase == "stopping"
    trainer.history.stopped_early = True
    dash.on_train_end(trainer)
    assert dash.state.phase == "stopped" and dash.stop_button.disabled
    assert "Stopped early" in dash.status.value and bytes(dash.image.value).startswith(b"\x89PNG")


def small_problem(n=512):
    x = RNG.normal(size=(n, 20)).astype(np.float32)
    y = (x[:, :10].sum(axis=1) > 0).astype(np.int64) + 2 * (x[:, 10:].sum(axis=1) > 0)
    return x, y


def test_dashboard_trains_in_the_background_and_matches_plain_fit():
    x, y = small_problem()
    plain_model = mlp((20, 16, 4))
    state = plain_model.state_dict()
    plain = fit(
        plain_model,
        CrossEntropyLoss(),
        Adam(plain_model.parameters()),
        x,
        y,
        epochs=3,
        batch_size=32,
        seed=1,
        verbose=False,
    )
    model = mlp((20, 16, 4))
    model.load_state_dict(state)
    dash = dw.TrainingDashboard()
    assert (
        dash.start(
            model,
            CrossEntropyLoss(),
            Adam(model.parameters()),
            x,
            y,
            epochs=3,
            batch_size=32,
            seed=1,
            validation_data=(x[:64], y[:64]),
        )
        is dash
    )
    history = dash.wait(timeout=60)
    assert not dash.running and dash.state.phase == "finished"
    np.testing.assert_allclose(history.loss, plain.loss, rtol=1e-5)  # the thread changes nothing
    assert dash.state.loss == pytest.approx(history.loss) and len(dash.state.val_loss) == 3
    assert dash.progress.value == pytest.approx(1.0) and dash.state.images_per_second > 0


def test_stop_button_ends_background_training_cleanly():
    x, y = small_problem(4096)
    model = mlp((20, 64, 4))
    dash = dw.TrainingDashboard()
    seen = []

    class Watch:
        def on_batch_end(self, trainer, batch, logs):
            seen.append(batch)
            time.sleep(0.002)

    dash.start(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters()),
        x,
        y,
        epochs=200,
        batch_size=16,
        callbacks=[Watch()],
    )
    while len(seen) < 5:
        time.sleep(0.01)
    dash.stop_button.click()
    history = dash.wait(timeout=30)
    assert history.stopped_early and history.epochs == 1 and len(history.batch_loss) < 256
    assert len(history.batch_loss) == len(seen)  # stopped after a whole batch
    assert dash.state.phase == "stopped"
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_interrupt_stops_foreground_training_cleanly():
    x, y = small_problem(4096)
    model = mlp((20, 64, 4))
    dash = dw.TrainingDashboard()
    # Whatever SIGINT did before (a background job, e.g. under nohup, starts with it
    # ignored) must be what it does afterwards.
    before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    history = dash.run(
        model, CrossEntropyLoss(), Adam(model.parameters()), x, y, epochs=500, batch_size=16
    )
    timer.cancel()
    assert history.stopped_early and history.epochs < 500 and dash.state.phase == "stopped"
    assert signal.getsignal(signal.SIGINT) is before


def test_dashboard_errors_are_shown_and_raised():
    dash = dw.TrainingDashboard()
    model = mlp((20, 4))
    dash.start(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters()),
        np.zeros((10, 20)),
        np.zeros(9, int),
        epochs=1,
    )
    with pytest.raises(ValueError, match="fit: x and y need one entry per sample"):
        dash.wait(timeout=30)
    assert dash.state.phase == "failed" and "one entry per sample" in dash.status.value
    with pytest.raises(ValueError, match="nothing to wait for"):
        dw.TrainingDashboard().wait()


def test_save_best_model_writes_only_improvements(tmp_path):
    x, y = small_problem()
    model = mlp((20, 16, 4))
    path = tmp_path / "snap" / "best.educnn"
    saver = dw.SaveBestModel(
        path, monitor="val_loss", input_shape=(20,), mean=0.0, std=1.0, metadata={"run": "test"}
    )
    # validation on noise labels: val_loss goes up and down, so not every epoch is saved
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=0.05),
        x,
        y,
        epochs=8,
        batch_size=32,
        validation_data=(x[:40], RNG.integers(0, 4, 40)),
        callbacks=[saver],
        verbose=False,
    )
    best = int(np.argmin(history.val_loss))
    improvements = sum(
        v < min(history.val_loss[:i], default=np.inf) for i, v in enumerate(history.val_loss)
    )
    assert saver.best_epoch == best and saver.saves == improvements
    loaded = modelfile.load(path)
    assert loaded.metadata["epoch"] == best + 1 and loaded.metadata["run"] == "test"
    assert loaded.metadata["val_loss"] == pytest.approx(history.val_loss[best])
    with pytest.raises(ValueError, match="SaveBestModel: monitor='val_acc' is not among"):
        fit(
            model,
            CrossEntropyLoss(),
            Adam(model.parameters()),
            x,
            y,
            epochs=1,
            callbacks=[dw.SaveBestModel(path, monitor="val_acc")],
            verbose=False,
        )


def test_draw_training_is_the_static_twin():
    history = {
        "loss": [1.0, 0.5],
        "val_loss": [0.9, 0.6],
        "accuracy": [0.7, 0.8],
        "val_accuracy": [0.75, 0.85],
    }
    fig = dw.draw_training(history, epochs=2)
    assert [len(ax.lines) for ax in fig.axes] == [3, 2]


# -- features -------------------------------------------------------------------------------
def test_layer_outputs_chain_to_the_model_output():
    model = lenet5()
    x = RNG.normal(size=(1, 28, 28)).astype(np.float32)
    outputs = fw.layer_outputs(model, x)
    assert [o.output.shape for o in outputs] == [
        (6, 28, 28),
        (6, 28, 28),
        (6, 14, 14),
        (16, 10, 10),
        (16, 10, 10),
        (16, 5, 5),
        (400,),
        (120,),
        (120,),
        (84,),
        (84,),
        (10,),
    ]
    np.testing.assert_allclose(outputs[-1].output, predict(model, x[None])[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[1].output, np.maximum(outputs[0].output, 0))
    assert outputs[2].output[0, 0, 0] == outputs[1].output[0, :2, :2].max()
    assert [o.label for o in outputs] == fw.layer_labels(model)
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match=r"layer_outputs: expected one image"):
        fw.layer_outputs(model, np.zeros((2, 1, 28, 28)))


def test_mosaic_and_kernels_figure():
    maps = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    tiled = fw.mosaic(maps, ncols=2)
    assert tiled.shape == (3, 9) and np.isnan(tiled[:, 4]).all()
    np.testing.assert_array_equal(tiled[:, 5:], maps[1])
    model = lenet5()
    assert [i for i, _ in fw.conv_layers(model)] == [0, 3]
    fig = fw.draw_kernels(model)
    assert len(fig.axes) == 4  # two layers, a colour bar each
    assert [ax.get_ylabel() for ax in fig.axes[2:]] == ["weight", "weight"]
    assert fig.axes[2].get_ylim() == pytest.approx(
        (-np.abs(model[0].weight.data).max(), np.abs(model[0].weight.data).max())
    )
    shown = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(shown[:5, :5], model[3].weight.data[0, 0])  # filter 0, channel 0
    np.testing.assert_allclose(shown[6:11, :5], model[3].weight.data[0, 1])  # filter 0, channel 1
    with pytest.raises(ValueError, match="conv_layers: the model has no convolution layer"):
        fw.conv_layers(mlp((4, 2)))


def test_feature_explorer_follows_its_controls(mnist):
    data, mean, std = mnist
    model = lenet5()
    images = (data.x_test[:20] - mean) / std
    explorer = fw.feature_explorer(model, images, data.y_test[:20])
    assert "educnn-feature-explorer" in explorer.widget._dom_classes
    explorer.controls["Digit"].value = 7
    explorer.controls["Layer"].value = 3
    state = explorer.state
    assert state.index == 7 and state.label == int(data.y_test[7])
    np.testing.assert_allclose(state.layer.output, fw.layer_outputs(model, images[7])[3].output)
    assert state.predicted == int(np.argmax(predict(model, images[7:8])[0]))
    assert "16, 10, 10" in explorer.caption.value and bytes(explorer.image.value).startswith(
        b"\x89PNG"
    )
    explorer.controls["Layer"].value = 9  # a vector layer draws as bars
    assert explorer.state.layer.output.shape == (84,)
    with pytest.raises(ValueError, match=r"feature_maps: image index must be in 0…19, got 20"):
        fw.feature_maps(model, images, 20, 0)


# -- draw a digit ---------------------------------------------------------------------------
def test_rasterize_strokes_draws_round_thick_lines():
    dot = drw.rasterize_strokes([[(100.0, 100.0)]], width=20)
    assert dot.sum() == pytest.approx(np.pi * 10**2, rel=0.03)
    line = drw.rasterize_strokes([[(50, 140), (230, 140)]], width=20)
    rows = np.flatnonzero(line[:, 140] > 0.5)
    assert rows.min() >= 129 and rows.max() <= 150 and len(rows) in (20, 21)
    cols = np.flatnonzero(line[140] > 0.5)
    assert cols.min() == pytest.approx(40, abs=1) and cols.max() == pytest.approx(239, abs=1)
    assert drw.rasterize_strokes([]).sum() == 0
    with pytest.raises(ValueError, match="rasterize_strokes: width must be positive"):
        drw.rasterize_strokes([[(1, 1)]], width=0)


def draw(widget, points):
    """Send mouse events as the browser does, through the canvas's own message handler."""
    handle = widget.canvas._handle_frontend_event
    handle(None, {"event": "mouse_down", "x": points[0][0], "y": points[0][1]}, [])
    for x, y in points[1:]:
        handle(None, {"event": "mouse_move", "x": x, "y": y}, [])
    handle(None, {"event": "mouse_up", "x": points[-1][0], "y": points[-1][1]}, [])


def test_draw_digit_hooks_and_layout(trained_mlp):
    model, mean, std = trained_mlp
    widget = drw.DrawDigit(model, mean, std)
    assert "educnn-draw-digit" in widget.widget._dom_classes
    assert "educnn-prediction" in widget.prediction._dom_classes
    assert widget.canvas.sync_image_data
    assert (widget.canvas.width, widget.canvas.height) == (280, 280)
    assert (widget.canvas.layout.width, widget.canvas.layout.height) == ("280px", "280px")
    assert widget.state is None and "Draw a digit" in widget.prediction.value


def test_drawing_a_one_and_a_zero(trained_mlp):
    model, mean, std = trained_mlp
    widget = drw.DrawDigit(model, mean, std)
    draw(widget, [(140, 40 + 4 * i) for i in range(51)])  # a vertical stroke
    assert widget.state is not None and widget.state.predicted == 1
    assert "<b style='font-size:150%'>1</b>" in widget.prediction.value
    assert bytes(widget.steps_image.value).startswith(b"\x89PNG")
    assert bytes(widget.activations_image.value).startswith(b"\x89PNG")
    widget.clear_button.click()
    assert widget.strokes == [] and widget.state is None and bytes(widget.steps_image.value) == b""
    angles = np.linspace(0, 2 * np.pi, 60)
    draw(widget, [(140 + 55 * np.sin(a), 140 - 90 * np.cos(a)) for a in angles])
    assert widget.state.predicted == 0
    assert widget.state.probabilities.sum() == pytest.approx(1.0)


def test_mouse_moves_without_a_button_draw_nothing(trained_mlp):
    model, mean, std = trained_mlp
    widget = drw.DrawDigit(model, mean, std)
    handle = widget.canvas._handle_frontend_event
    for x in range(50, 200, 10):
        handle(None, {"event": "mouse_move", "x": x, "y": 100}, [])
    handle(None, {"event": "mouse_up", "x": 200, "y": 100}, [])
    assert widget.strokes == [] and widget.state is None


def test_drawn_test_digits_are_read_like_the_originals(mnist, trained_mlp):
    """A test digit blown up to canvas size goes through the whole pipeline and gets the
    prediction the model gives the original 28×28 digit (same recipe as MNIST)."""
    data, mean, std = mnist
    model, _, _ = trained_mlp
    digits = data.x_test[:60, 0]
    original = predict(model, ((digits - mean) / std)[:, None]).argmax(axis=1)
    drawn = [
        drw.predict_digit(model, np.kron(d, np.ones((10, 10))), mean, std).predicted for d in digits
    ]
    assert np.mean(np.array(drawn) == original) >= 0.9


def test_canvas_pixels_path(trained_mlp):
    """What the browser sends back (an RGBA PNG in ``image_data``) is read the same way."""
    from PIL import Image

    model, mean, std = trained_mlp
    widget = drw.DrawDigit(model, mean, std)
    with pytest.raises(ValueError, match="the canvas has sent no pixels yet"):
        widget.predict_canvas()
    ink = drw.rasterize_strokes([[(140, 40 + 4 * i) for i in range(51)]])
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = (255 * ink[..., None]).astype(np.uint8)  # white on black
    rgba[..., 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="png")
    widget.canvas.set_trait("image_data", buffer.getvalue())
    state = widget.predict_canvas()
    assert state.predicted == 1
    np.testing.assert_allclose(state.steps.final, preprocess_digit(ink), atol=0.01)


def test_blank_drawing_is_explained_not_raised(trained_mlp):
    model, mean, std = trained_mlp
    widget = drw.DrawDigit(model, mean, std)
    assert widget.show(np.zeros((280, 280))) is None
    assert "Nothing to read yet" in widget.prediction.value and "blank" in widget.prediction.value


def test_static_twin_and_prediction_html(mnist, trained_mlp):
    data, mean, std = mnist
    model, _, _ = trained_mlp
    prediction = drw.predict_digit(model, np.kron(data.x_test[0, 0], np.ones((10, 10))), mean, std)
    fig = drw.draw_digit_prediction(prediction, true_class=int(data.y_test[0]))
    assert len(fig.axes) == 5 + 3 * 3  # 4 steps + bars; label, picture, colour bar per layer
    text = drw.prediction_html(prediction)
    assert f">{prediction.predicted}</b>" in text and text.count(" %") == 3


# -- the stop button in a real kernel -------------------------------------------------------
@pytest.mark.slow
def test_stop_button_in_a_real_kernel(real_kernel):
    """What a browser does, minus the browser: a comm message "click" to the button.

    Background training (start): the cell returns at once, the kernel is idle, the click
    is handled and training stops after the current batch. Foreground training (run): the
    click waits in the queue until the cell is done – which is why start() exists – while
    the kernel's interrupt still stops it cleanly.
    """
    kc, execute = real_kernel.client, real_kernel.execute

    def click(model_id: str) -> None:
        kc.shell_channel.send(
            kc.session.msg(
                "comm_msg",
                {"comm_id": model_id, "data": {"method": "custom", "content": {"event": "click"}}},
            )
        )

    button = execute(
        "import numpy as np\n"
        "from edu_cnn.models import mlp\n"
        "from edu_cnn.losses import CrossEntropyLoss\n"
        "from edu_cnn.optim import Adam\n"
        "from edu_cnn.widgets.dashboard import TrainingDashboard\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.normal(size=(20000, 20)).astype(np.float32)\n"
        "y = (x.sum(1) > 0).astype(np.int64)\n"
        "model = mlp((20, 64, 2)); dash = TrainingDashboard()\n"
        "args = (model, CrossEntropyLoss(), Adam(model.parameters()), x, y)\n"
        "print(dash.stop_button.model_id)\n"
    ).split()[-1]
    started = time.monotonic()
    assert "started" in execute("dash.start(*args, epochs=1000, batch_size=16); print('started')")
    assert time.monotonic() - started < 10  # the cell did not wait for training
    time.sleep(0.5)
    click(button)
    result = execute(
        "h = dash.wait(timeout=60)\nprint(h.stopped_early, h.epochs < 1000, dash.state.phase)"
    )
    assert result.split() == ["True", "True", "stopped"], result

    result = execute(
        "h = dash.run(*args, epochs=2, batch_size=16)\nprint(h.stopped_early, h.epochs)",
        during=lambda: (time.sleep(0.3), click(button)),
    )
    assert result.split() == ["False", "2"], result  # the click came too late

    result = execute(
        "h = dash.run(*args, epochs=1000, batch_size=16)\n"
        "print(h.stopped_early, h.epochs < 1000, dash.state.phase)",
        during=lambda: (time.sleep(1.0), real_kernel.manager.interrupt_kernel()),
    )
    assert result.split() == ["True", "True", "stopped"], result


# -- the chapter's exercises: typical wrong answers get a useful message --------------------
def test_exercise_conv2d_parameters_catches_the_missing_bias():
    from edu_cnn.exercises import check

    def no_bias(in_channels, out_channels, kernel_size):
        return in_channels * out_channels * kernel_size**2

    result = check("conv2d_parameters", no_bias, verbose=False)
    assert not result and "ONE bias" in result.message
    assert check(
        "conv2d_parameters",
        lambda in_channels, out_channels, kernel_size: (
            out_channels * (in_channels * kernel_size**2 + 1)
        ),
        verbose=False,
    )


def test_exercise_lenet_flat_features_matches_the_real_network():
    from edu_cnn.exercises import check
    from edu_cnn.exercises.ch07_lenet import lenet_flat_features
    from edu_cnn.sequential import Sequential

    features = Sequential(*list(lenet5())[:7])  # conv … pool, flatten
    for height, width in ((28, 28), (32, 32), (36, 44), (64, 48)):
        assert lenet_flat_features(height, width) == features.output_shape((1, height, width))[0]
    result = check("lenet_flat_features", lambda height, width: 400, verbose=False)
    assert not result and "case 2" in result.message


def test_exercise_per_class_accuracy_catches_columns_for_rows():
    from edu_cnn.exercises import check

    result = check(
        "per_class_accuracy", lambda c: np.diag(c) / np.asarray(c).sum(axis=0), verbose=False
    )
    assert not result and "row i (not column i)" in result.message


def test_exercise_standardize_catches_test_statistics():
    from edu_cnn.exercises import check

    def own_statistics(x_train, x_test):
        return ((x_train - x_train.mean()) / x_train.std(), (x_test - x_test.mean()) / x_test.std())

    result = check("standardize_with_training_stats", own_statistics, verbose=False)
    assert not result and "value 2 of the result" in result.message
    assert "never the test set's own statistics" in result.message


def test_activation_figure_update_draws_what_a_fresh_figure_draws():
    """The draw-a-digit widget reuses its activation figure between strokes: swapping the
    pixels must give the very picture a new figure gives."""
    import io

    from PIL import Image

    from edu_cnn.models import lenet5
    from edu_cnn.widgets.base import figure_to_png
    from edu_cnn.widgets.features import ActivationsFigure, layer_outputs

    rng = np.random.default_rng(0)
    model = lenet5()
    first = layer_outputs(model, rng.random((1, 28, 28), dtype=np.float32))
    second = layer_outputs(model, rng.random((1, 28, 28), dtype=np.float32))
    reused = ActivationsFigure(first)
    assert reused.fits(second)
    reused.update(second)

    def pixels(fig):
        return np.asarray(Image.open(io.BytesIO(figure_to_png(fig, dpi=50))))

    assert np.array_equal(pixels(reused.fig), pixels(ActivationsFigure(second).fig))
    assert not np.array_equal(pixels(ActivationsFigure(first).fig), pixels(reused.fig))


# -- what the notebook's course-check cells used to test (chapter 7) ---------------------------
def test_ch07_feature_explorer_digit_and_layer_follow_the_model(mnist):
    from edu_cnn.models import lenet5
    from edu_cnn.widgets.features import feature_explorer, layer_outputs

    data, mean, std = mnist
    model = lenet5()
    x = ((data.x_test[:8] - mean) / std).astype(np.float32)
    explorer = feature_explorer(model, x, data.y_test[:8], index=0, layer=0)
    explorer.controls["Digit"].value = 3
    explorer.controls["Layer"].value = 3
    state = explorer.state
    assert state.predicted == int(np.argmax(model(x[3:4])[0]))
    np.testing.assert_allclose(state.layer.output, layer_outputs(model, x[3])[3].output)
    assert f"Digit #3, true class {int(data.y_test[3])}" in explorer.caption.value


def test_ch07_feature_picture_shows_every_map_at_a_whole_scale(mnist):
    from edu_cnn.models import lenet5
    from edu_cnn.widgets.features import bars_image, feature_explorer, feature_maps_image

    data, _, _ = mnist
    explorer = feature_explorer(lenet5(), data.x_test[:2])
    for layer, _ in enumerate(explorer.controls["Layer"].options):
        explorer.controls["Layer"].value = layer
        picture = feature_maps_image(explorer.state)
        assert picture.ndim == 3 and picture.shape[1] <= 900 and picture.shape[0] <= 200
        out = explorer.state.layer.output
        if out.ndim == 3:  # the first map, enlarged k×, is the top-left tile
            k = max(1, round(84 / out.shape[1]))
            tile = picture[: out.shape[1] * k : k, 128 : 128 + out.shape[2] * k : k]
            order = np.argsort(out[0].ravel())
            brightness = tile.sum(axis=2).ravel()[order]
            assert brightness[-1] >= brightness[0]  # viridis: larger value, brighter
    bars = bars_image(np.array([1.0, -0.5, 0.0]), width=30, height=21)
    assert bars.shape == (21, 30, 3)
    assert np.allclose(bars[0:10, 0:9], (0.12, 0.47, 0.71))  # +1: a full blue bar up
    assert np.allclose(bars[11:15, 10:19], (0.84, 0.15, 0.16))  # −0.5: half a red bar down
    assert np.allclose(bars[10], 0.6) and np.allclose(bars[15:, 10:19], 1.0)  # zero line, white
    with pytest.raises(ValueError, match="bars_image: expected at least one value"):
        bars_image(np.array([]))


def test_ch07_drawn_seven_through_the_mouse_events(trained_mlp):
    model, mean, std = trained_mlp
    pad = drw.DrawDigit(model, mean, std)
    strokes = (
        [("mouse_down", 80, 60)]
        + [("mouse_move", 80 + 6 * i, 60) for i in range(1, 21)]
        + [("mouse_move", 200 - 3 * i, 60 + 9 * i) for i in range(1, 21)]
        + [("mouse_up", 140, 240)]
    )
    for event, x, y in strokes:
        pad.canvas._handle_frontend_event(None, {"event": event, "x": x, "y": y}, [])
    assert pad.state is not None and pad.state.predicted == 7
    assert "educnn-draw-probabilities" in pad.probabilities._dom_classes
    assert pad.probabilities.value.count("<div") == 10 and "#ff7f0e" in pad.probabilities.value
    assert pad.activation_labels.value.count("<div") == len(
        [o for o in pad.state.outputs if o.name not in ("Flatten", "Dropout")]
    )
    pad.clear_button.click()
    assert pad.state is None and pad.probabilities.value == ""


def test_activations_figure_shows_the_input_colour_bars_and_labelled_logits():
    from edu_cnn.widgets.features import ActivationsFigure, layer_outputs

    model = lenet5()
    x = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    outputs = layer_outputs(model, x)
    figure = ActivationsFigure(outputs, image=x)
    shown = [o for o in outputs if o.name != "Flatten"]
    assert len(figure.images) == len(figure.bars) == len(shown) + 1
    np.testing.assert_array_equal(figure.images[0].get_array(), x[0])  # the input first
    logits = shown[-1].output
    assert [float(t) for t in figure.bars[-1].get_ticks()] == pytest.approx(
        [logits.min(), logits.max()]
    )
    labels = [t.get_text() for t in figure.images[-1].axes.texts]
    assert labels == [str(k) for k in range(10)]
    with pytest.raises(ValueError, match="pass image="):
        figure.update(outputs)
    y = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    figure.update(layer_outputs(model, y), image=y)
    np.testing.assert_array_equal(figure.images[0].get_array(), y[0])
    names = [f"class {k}" for k in range(10)]
    named = ActivationsFigure(outputs, class_names=names)
    assert [t.get_text() for t in named.images[-1].axes.texts] == names
    with pytest.raises(ValueError, match="3 class names for a last layer of shape \\(10,\\)"):
        ActivationsFigure(outputs, class_names=["a", "b", "c"])


def test_feature_maps_figure_labels_logits_by_class_and_features_by_number():
    model = lenet5()
    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    names = [f"d{k}" for k in range(10)]
    last = fw.draw_feature_maps(fw.feature_maps(model, x, 0, 11, labels=[1, 2, 3]), names)
    bars = next(ax for ax in last.axes if ax.patches)
    assert [t.get_text() for t in bars.get_xticklabels()] == names
    assert bars.get_xlabel().startswith("class")
    hidden = fw.draw_feature_maps(fw.feature_maps(model, x, 0, 7))
    assert next(ax for ax in hidden.axes if ax.patches).get_xlabel() == "feature (0–119)"
    maps = fw.draw_feature_maps(fw.feature_maps(model, x, 0, 0))
    assert any(ax.get_ylabel().startswith("value") for ax in maps.axes)  # the colour bar
