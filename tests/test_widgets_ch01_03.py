"""Chapters 1–3: the perceptron and regression functions, and the pure functions behind
each widget, checked against independent computations; then the widgets' wiring."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from edu_cnn.data.toy import logic_gate
from edu_cnn.linear import Linear
from edu_cnn.losses import MSELoss
from edu_cnn.optim import SGD
from edu_cnn.perceptron import (
    best_line_score,
    decision_line,
    perceptron_output,
    perceptron_update,
    train_perceptron,
)
from edu_cnn.regression import gradient_descent, least_squares, loss_surface, mse, mse_gradient
from edu_cnn.widgets import classification, optimizers, perceptron, regression


# -- the perceptron ------------------------------------------------------------------------------
@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "NOR"])
def test_learning_rule_learns_every_separable_gate(gate):
    x, t = logic_gate(gate)
    run = train_perceptron(x, t, lr=0.5)
    assert run.converged and run.errors_per_epoch[-1] == 0
    assert perceptron_output(x, run.w, run.b).tolist() == t.tolist()


@pytest.mark.parametrize("gate", ["XOR", "XNOR"])
def test_xor_is_not_linearly_separable(gate):
    x, t = logic_gate(gate)
    run = train_perceptron(x, t, lr=0.5, max_epochs=100)
    assert not run.converged and min(run.errors_per_epoch) > 0
    assert best_line_score(x, t) == 3  # no line on the grid gets all four rows right
    assert best_line_score(*logic_gate("AND")) == 4


def test_update_rule_by_hand():
    w, b = perceptron_update(np.array([0.0, 0.0]), 0.0, np.array([0.0, 1.0]), 0, lr=0.5)
    np.testing.assert_allclose(w, [0.0, -0.5])  # output 1, target 0: move away from x
    assert b == -0.5
    w2, b2 = perceptron_update(np.array([1.0, 1.0]), -1.5, np.array([1.0, 0.0]), 0, lr=0.5)
    np.testing.assert_allclose(w2, [1.0, 1.0])  # already right: no change
    assert b2 == -1.5


def test_decision_line_points_satisfy_the_equation():
    w, b = np.array([1.0, 2.0]), -1.5
    x1, x2 = decision_line(w, b)
    np.testing.assert_allclose(w[0] * x1 + w[1] * x2 + b, 0.0, atol=1e-12)
    x1, x2 = decision_line(np.array([2.0, 0.0]), -1.0)  # vertical line x1 = 0.5
    np.testing.assert_allclose(x1, 0.5)
    assert decision_line(np.zeros(2), 1.0) is None


def test_perceptron_bad_input_names_the_function():
    with pytest.raises(
        ValueError, match=r"perceptron_output: expected inputs X of shape \(N, 2\).*got \(4, 3\)"
    ):
        perceptron_output(np.zeros((4, 3)), np.zeros(2), 0.0)
    with pytest.raises(
        ValueError, match=r"train_perceptron: expected targets t of shape \(4,\), got \(3,\)"
    ):
        train_perceptron(np.zeros((4, 2)), np.zeros(3))


# -- linear regression -----------------------------------------------------------------------------
def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, size=(n, 2))
    return x, x @ np.array([2.0, -1.0]) + 0.5 + rng.normal(0, 0.1, n)


def test_least_squares_matches_numpy_polyfit():
    x, y = regression.lr_data()
    w, b = least_squares(x, y)
    slope, intercept = np.polyfit(x[:, 0], y, 1)
    assert w[0] == pytest.approx(slope) and b == pytest.approx(intercept)


def test_mse_gradient_matches_numerical_gradient():
    x, y = _data()
    w, b, eps = np.array([0.3, 0.7]), -0.2, 1e-6
    dw, db = mse_gradient(x, y, w, b)
    numeric = [
        (mse(x, y, w + eps * e, b) - mse(x, y, w - eps * e, b)) / (2 * eps) for e in np.eye(2)
    ]
    np.testing.assert_allclose(dw, numeric, rtol=1e-6)
    assert db == pytest.approx(
        (mse(x, y, w, b + eps) - mse(x, y, w, b - eps)) / (2 * eps), rel=1e-6
    )


def test_gradient_descent_reaches_least_squares():
    x, y = _data()
    run = gradient_descent(x, y, lr=0.05, steps=3000)
    w, b = least_squares(x, y)
    assert not run.diverged
    np.testing.assert_allclose(run.w[-1], w, atol=1e-4)
    assert run.b[-1] == pytest.approx(b, abs=1e-4)
    assert np.all(np.diff(run.losses) <= 1e-12)  # a small step never goes uphill


def test_gradient_descent_equals_linear_mse_sgd():
    """The by-hand loop and the library's Linear + MSELoss + SGD take the same steps."""
    x, y = _data()
    run = gradient_descent(x, y, lr=0.05, steps=20, w0=0.1, b0=-0.3)
    layer = Linear(2, 1).astype(np.float64)
    layer.load_state_dict({"weight": np.array([[0.1, 0.1]]), "bias": np.array([-0.3])})
    loss_fn, opt = MSELoss(), SGD(layer.parameters(), lr=0.05)
    for _ in range(20):
        loss_fn(layer(x), y[:, None])  # MSELoss wants the prediction's shape (N, 1)
        layer.backward(loss_fn.backward())
        opt.step()
    np.testing.assert_allclose(layer.weight.data[0], run.w[-1], rtol=1e-10)
    assert layer.bias.data[0] == pytest.approx(run.b[-1], rel=1e-10)


def test_divergence_threshold_is_two_over_the_largest_eigenvalue():
    x, y = regression.lr_data()
    a = np.hstack([x, np.ones_like(x)])
    critical = 2.0 / np.linalg.eigvalsh(2.0 / len(y) * a.T @ a).max()  # Hessian of the MSE
    assert not gradient_descent(x, y, lr=0.97 * critical, steps=500).diverged
    assert gradient_descent(x, y, lr=1.03 * critical, steps=500).diverged


def test_minibatch_and_stochastic_descent_get_close():
    x, y = _data()
    best = mse(x, y, *least_squares(x, y))
    for batch_size in (1, 8):
        run = gradient_descent(x, y, lr=0.02, steps=100, batch_size=batch_size, seed=1)
        assert run.losses[-1] < best * 1.5
    with pytest.raises(ValueError, match=r"gradient_descent: batch_size must be in \[1, 30\]"):
        gradient_descent(x, y, lr=0.1, steps=1, batch_size=0)


def test_loss_surface_matches_mse_at_grid_points():
    x, y = regression.lr_data()
    ws, bs = np.array([-1.0, 2.0, 3.5]), np.array([0.0, 1.0])
    surface = loss_surface(x, y, ws, bs)
    assert surface.shape == (2, 3)
    assert surface[1, 2] == pytest.approx(mse(x, y, np.array([3.5]), 1.0))


def test_regression_bad_input():
    with pytest.raises(ValueError, match=r"mse_gradient: expected targets y of shape \(5,\)"):
        mse_gradient(np.zeros((5, 2)), np.zeros(4), np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="loss_surface: expected one feature"):
        loss_surface(np.zeros((5, 2)), np.zeros(5), np.zeros(3), np.zeros(3))


# -- the learning-rate and normalisation explorers ----------------------------------------------
@pytest.mark.parametrize("lr, verdict", [(0.003, "crawls"), (0.2, "converged"), (0.5, "diverges")])
def test_descent_verdicts(lr, verdict):
    assert regression.descent_state(lr, 30).verdict == verdict


def test_zigzag_just_below_the_critical_rate():
    state = regression.descent_state(0.235, 30)
    assert state.verdict == "zig-zags"
    assert np.all(np.sign(np.diff(state.run.b))[1:] != np.sign(np.diff(state.run.b))[:-1])


def test_normalisation_state():
    state = regression.normalisation_state(lr=0.1, epochs=50)
    final = state.final_losses()
    assert state.runs["raw"].diverged and np.isinf(final["raw"])
    assert final["z-score"] < final["min-max"] < state.runs["min-max"].losses[0]
    assert final["z-score"] < 2 * state.min_loss
    tiny = regression.normalisation_state(lr=1e-5, epochs=50)
    assert not tiny.runs["raw"].diverged and tiny.final_losses()["raw"] > 3 * tiny.min_loss


# -- the decision-boundary trainer -----------------------------------------------------------------
def test_trainer_learns_moons_and_is_deterministic():
    first = classification.BoundaryTrainer("moons", hidden=8, activation="relu", lr=0.03)
    second = classification.BoundaryTrainer("moons", hidden=8, activation="relu", lr=0.03)
    first.train(300)
    second.train(300)
    assert first.losses == second.losses
    assert first.losses[-1] < 0.3 * first.losses[0] and first.accuracy() > 0.95


def test_one_hidden_unit_cannot_solve_xor_but_eight_can():
    one = classification.BoundaryTrainer("XOR", hidden=1, activation="relu", lr=0.03)
    eight = classification.BoundaryTrainer("XOR", hidden=8, activation="relu", lr=0.03)
    one.train(300)
    eight.train(300)
    assert one.accuracy() < 0.8
    assert eight.accuracy() > 0.95


def test_boundary_state_and_image():
    trainer = classification.BoundaryTrainer("spirals", hidden=4)
    state = classification.boundary_state(trainer)
    assert state.probabilities.shape == (classification.GRID, classification.GRID, 3)
    np.testing.assert_allclose(state.probabilities.sum(-1), 1.0, rtol=1e-5)
    image = classification.boundary_image(state)
    size = classification.GRID * classification.PIXELS
    assert image.shape == (size, size, 3) and 0.0 <= image.min() and image.max() <= 1.0
    with pytest.raises(ValueError, match="dataset: unknown data set 'blobs'"):
        classification.dataset("blobs")


# -- the optimiser race ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(optimizers.SURFACES))
def test_surface_gradients_match_numerical(name):
    s = optimizers.SURFACES[name]
    eps = 1e-6
    for x, y in [(0.3, -0.7), (-1.2, 1.5)]:
        numeric = [
            (s.f(x + eps, y) - s.f(x - eps, y)) / (2 * eps),
            (s.f(x, y + eps) - s.f(x, y - eps)) / (2 * eps),
        ]
        np.testing.assert_allclose(s.grad(x, y), numeric, rtol=1e-6)


def test_sgd_race_path_is_plain_gradient_descent():
    s = optimizers.SURFACES["elongated bowl"]
    path = optimizers.run_optimizer("SGD", s, lr=0.1, steps=5)
    point = np.array(s.start)
    for k in range(1, 6):
        point = point - 0.1 * s.grad(*point)
        np.testing.assert_allclose(path[k], point)


def test_race_results():
    state = optimizers.race("elongated bowl", steps=100)
    assert set(state.paths) == set(optimizers.OPTIMIZERS)
    assert all(len(p) == 101 for p in state.paths.values())
    distance = state.final_distance()
    assert distance["Adam"] < 0.1 and distance["momentum"] < 0.1 and distance["SGD"] < 0.1
    assert distance["AdaDelta"] > 1.0  # AdaDelta starts slowly
    wild = optimizers.race("elongated bowl", steps=50, lr_scale=10.0)
    assert np.isinf(wild.final_distance()["SGD"])  # lr 4 on curvature 4: diverges
    with pytest.raises(ValueError, match="race: unknown surface 'saddle'"):
        optimizers.race("saddle")


# -- the widgets' wiring (no front end needed) -----------------------------------------------------
def test_perceptron_playground_wiring():
    playground = perceptron.perceptron_playground(gate="AND", w1=0.0, w2=0.0, b=0.0)
    assert playground.state.n_correct == 1  # step(0) = 1 on every row
    playground.controls["b"].value = -1.5
    playground.controls["w1"].value = 1.0
    playground.controls["w2"].value = 1.0
    assert playground.state.solved and playground.image.value[:4] == b"\x89PNG"
    playground.learn()
    assert playground.row == 1
    playground.controls["gate"].value = "XOR"
    assert (
        not playground.state.solved and playground.row == 0 and "row 1" in playground.caption.value
    )
    playground.reset()
    playground.controls["gate"].value = "OR"
    for _ in range(16):
        playground.learn()
    assert playground.state.solved and "right" in playground.caption.value


def test_explorers_react_to_their_controls():
    lr = regression.learning_rate_explorer()
    lr.controls["lr"].value = 0.5
    assert lr.state.verdict == "diverges"
    norm = regression.normalisation_explorer()
    norm.controls["lr"].value = 1e-5
    assert not norm.state.runs["raw"].diverged
    race = optimizers.optimizer_race()
    race.controls["steps"].value = 20
    assert all(len(p) == 21 for p in race.state.paths.values()) and "Adam" in race.caption.value
    race.controls["surface"].value = "Rosenbrock"
    assert race.state.surface == "Rosenbrock"


def test_decision_boundary_widget_trains_and_resets():
    widget = classification.decision_boundary_trainer(data="XOR", epochs_per_click=50)
    assert widget.state.epochs == 0
    widget.train()
    widget.train()
    assert widget.state.epochs == 100 and "epoch 100" in widget.caption.value
    widget.controls["hidden"].value = 4  # a new network
    assert widget.state.epochs == 0 and widget.trainer.hidden == 4
    widget.train(10)
    widget.reset()
    assert widget.state.epochs == 0


def test_static_twins_draw():
    figures = [
        perceptron.draw_perceptron(perceptron.perceptron_state(1, 1, -1.5, "AND")),
        regression.draw_learning_rate(regression.descent_state()),
        regression.draw_normalisation(regression.normalisation_state()),
        classification.draw_boundary(
            classification.boundary_state(classification.BoundaryTrainer())
        ),
        optimizers.draw_race(optimizers.race()),
    ]
    assert all(len(fig.axes) >= 2 for fig in figures)


# -- the fast renderer and the chapter 0 figures ---------------------------------------------------
def test_blit_renderer_leaves_no_trace_of_the_previous_picture():
    """Update A then B through one renderer = B drawn by a fresh renderer, pixel for pixel."""
    from io import BytesIO

    from PIL import Image

    def pixels(png: bytes) -> np.ndarray:
        return np.asarray(Image.open(BytesIO(png)))

    reused = regression.LearningRateFigure(fast=True)
    reused.update(regression.descent_state(0.26, 50)).renderer.render()  # a diverging path
    second = reused.update(regression.descent_state(0.05, 20)).renderer.render()
    fresh = (
        regression.LearningRateFigure(fast=True)
        .update(regression.descent_state(0.05, 20))
        .renderer.render()
    )
    np.testing.assert_array_equal(pixels(second), pixels(fresh))
    first = pixels(
        regression.LearningRateFigure(fast=True)
        .update(regression.descent_state(0.26, 50))
        .renderer.render()
    )
    assert not np.array_equal(first, pixels(fresh))


def test_welcome_figures_draw():
    from edu_cnn.widgets.welcome import draw_learning_kinds, draw_life_cycle

    assert len(draw_learning_kinds().axes) == 3
    assert len(draw_life_cycle().axes) == 1


@settings(max_examples=60, deadline=None)
@given(
    w=arrays(np.float64, 3, elements=st.floats(-5, 5)),
    b=st.floats(-5, 5),
    x=arrays(np.float64, 3, elements=st.floats(-3, 3)),
    t=st.integers(0, 1),
    lr=st.floats(0.01, 2.0),
)
def test_update_moves_the_weighted_sum_towards_the_target(w, b, x, t, lr):
    """z_new = z + η(t − y)(‖x‖² + 1): the rule's derivation in chapter 1."""
    y = int(w @ x + b >= 0)
    w_new, b_new = perceptron_update(w, b, x, t, lr)
    z, z_new = w @ x + b, w_new @ x + b_new
    assert z_new == pytest.approx(z + lr * (t - y) * (x @ x + 1), abs=1e-9)


# -- live widgets: the perceptron's "train", the boundary trainer in the background -----------
@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "NOR"])
def test_learning_run_converges_row_by_row_on_separable_gates(gate):
    start = perceptron.perceptron_state(0.0, 0.0, 0.0, gate)
    frames = perceptron.learning_run(start, lr=0.5)
    assert frames[-1].converged and not frames[-1].gave_up
    assert [f.row for f in frames] == [i % 4 for i in range(len(frames))]  # row by row
    assert len(frames) % 4 == 0 and "converged" in frames[-1].message
    # the last epoch changed nothing, and its weights solve the gate
    last = frames[-4:]
    assert all(np.array_equal(f.w, last[0].w) and f.b == last[0].b for f in last)
    assert perceptron.perceptron_state(*last[0].w, last[0].b, gate).solved
    # each frame is one application of the rule to the state before it
    w, b = start.w, start.b
    for frame in frames:
        expected_w, expected_b = perceptron_update(
            w, b, start.x[frame.row], start.t[frame.row], 0.5
        )
        assert np.array_equal(frame.w, expected_w) and frame.b == expected_b
        w, b = frame.w, frame.b


@pytest.mark.parametrize("gate", ["XOR", "XNOR"])
def test_learning_run_gives_up_on_xor_after_the_epoch_budget(gate):
    frames = perceptron.learning_run(perceptron.perceptron_state(0.0, 0.0, 0.0, gate), max_epochs=7)
    assert len(frames) == 28 and frames[-1].gave_up and not any(f.converged for f in frames)
    assert "no straight line separates" in frames[-1].message and "7 epochs" in frames[-1].message
    with pytest.raises(ValueError, match="learning_run: max_epochs must be ≥ 1"):
        perceptron.learning_run(perceptron.perceptron_state(0, 0, 0, gate), max_epochs=0)


def test_train_button_animates_the_rule_in_the_background_until_it_converges():
    playground = perceptron.perceptron_playground(gate="NAND", w1=0.0, w2=0.0, b=0.0)
    from_code = perceptron.perceptron_playground(gate="NAND", w1=0.0, w2=0.0, b=0.0)
    from_code.train()  # all frames at once, from Python
    captions, pictures = [], []
    playground.caption.observe(lambda change: captions.append(change["new"]), names="value")
    playground.image.observe(lambda change: pictures.append(change["new"]), names="value")
    playground.train_button.click()  # what the student does
    assert playground.training and playground.train_button.description == "stop"
    assert playground.step_button.disabled
    assert playground.wait(60)
    assert not playground.training and playground.train_button.description == "train"
    assert playground.state.solved and "converged" in playground.caption.value
    assert np.array_equal(playground.state.w, from_code.state.w)
    assert playground.state.b == from_code.state.b
    assert len(captions) == len(playground.frames) > 4  # one frame per row: an animation
    assert len(pictures) > 4  # the line moved, picture by picture


def test_train_button_stops_when_pressed_again():
    playground = perceptron.perceptron_playground(gate="XOR")
    playground.train(max_epochs=50, fps=2.0)
    playground.train_button.click()  # "stop"
    assert playground.wait(10)
    assert len(playground.frames) == 200 and playground._loop.steps < 10


def test_moving_a_slider_stops_the_animation():
    playground = perceptron.perceptron_playground(gate="XOR")
    playground.train(max_epochs=50, fps=2.0)
    playground.controls["w1"].value = 2.0  # the student takes over
    assert playground.wait(10) and playground._loop.steps < 10


def test_xor_playground_says_it_never_converges():
    playground = perceptron.perceptron_playground(gate="XOR", w1=0.0, w2=0.0, b=0.0)
    state = playground.train(max_epochs=5)
    assert not state.solved and "no straight line separates XOR" in playground.caption.value


def test_boundary_trainer_trains_live_and_ends_where_training_from_code_ends():
    live = classification.decision_boundary_trainer(data="moons", epochs_per_click=60, seed=4)
    once = classification.decision_boundary_trainer(data="moons", epochs_per_click=60, seed=4)
    once.train()
    regions, losses = [], []
    live.image.observe(lambda change: regions.append(change["new"]), names="value")
    live.loss_image.observe(lambda change: losses.append(change["new"]), names="value")
    live.train_button.click()
    assert live.training and live.train_button.description == "stop"
    assert live.wait(120) and live.train_button.description == "train"
    assert live.state.losses == once.state.losses and live.state.epochs == 60
    assert len(regions) == len(losses) == live.FRAMES_PER_CLICK  # redrawn while it trained
    assert len(set(regions)) > 5 and len(set(losses)) > 5


def test_boundary_trainer_stops_and_a_control_change_starts_afresh():
    widget = classification.decision_boundary_trainer(data="spirals", epochs_per_click=500)
    widget.train(fps=2.0)
    widget.train_button.click()  # "stop"
    assert widget.wait(30) and 0 < widget.state.epochs < 500
    widget.train(fps=50.0)
    widget.controls["hidden"].value = 3  # stops the running training first
    assert not widget.training and widget.state.epochs == 0 and widget.trainer.hidden == 3
    with pytest.raises(ValueError, match="DecisionBoundaryTrainer.train: no network"):
        widget.trainer = None
        widget.train(5)


def test_the_seed_control_picks_the_initial_network():
    a = classification.decision_boundary_trainer(data="XOR", seed=1)
    b = classification.decision_boundary_trainer(data="XOR", seed=1)
    a.train(30)
    b.train(30)
    assert a.state.losses == b.state.losses  # same seed, same run
    b.controls["seed"].value = 2
    assert b.trainer.seed == 2 and b.state.epochs == 0
    b.train(30)
    assert b.state.losses != a.state.losses
    assert "educnn-boundary-loss" in b.loss_image._dom_classes


def test_loss_curve_follows_the_losses_and_rescales_when_outgrown():
    curve = classification.LossCurve()
    first = curve.render([1.0, 0.8, 0.5])
    assert curve._limits == (100.0, 1.2)
    assert curve.render([1.0, 0.8, 0.5]) == first  # same losses, same picture
    curve.render([1.0] * 150)
    assert curve._limits[0] == 200.0
    curve.render([5.0])  # a diverging run: the y axis grows
    assert curve._limits[1] == pytest.approx(6.0)


# -- what the notebooks' course-check cells used to test (chapters 0–3) ------------------------
def test_ch00_playground_and_solution_for_and():
    playground = perceptron.perceptron_playground(gate="AND")
    playground.controls["w1"].value = 1.0
    playground.controls["w2"].value = 1.0
    playground.controls["b"].value = -1.5
    assert playground.state.solved and playground.state.y.tolist() == [0, 0, 0, 1]
    playground.set_weights([0.5, 0.5], -0.2)
    assert (playground.controls["w1"].value, playground.controls["b"].value) == (0.5, -0.2)


def test_ch01_playground_or_then_nand_by_the_learning_step():
    playground = perceptron.perceptron_playground(gate="OR", w1=0.5, w2=0.5, b=-0.8)
    playground.controls["b"].value = -0.4
    assert playground.state.solved and playground.state.y.tolist() == [0, 1, 1, 1]
    playground.controls["gate"].value = "NAND"
    assert playground.state.n_correct == 2  # OR and NAND agree on rows 2 and 3
    playground.reset()
    for _ in range(24):
        playground.learn()
    assert playground.state.solved


def test_ch02_learning_rate_explorer_diverges_and_converges():
    lr_explorer = regression.learning_rate_explorer(lr=0.05, steps=50)
    lr_explorer.controls["lr"].value = 0.5
    assert lr_explorer.state.verdict == "diverges"
    lr_explorer.controls["lr"].value = 0.2
    lr_explorer.controls["steps"].value = 100
    assert lr_explorer.state.verdict == "converged" and lr_explorer.state.run.steps == 100


def test_ch02_normalisation_explorer_raw_features_diverge_z_score_wins():
    norm_explorer = regression.normalisation_explorer(lr=0.1, epochs=100)
    norm_explorer.controls["lr"].value = 1e-5
    assert not norm_explorer.state.runs["raw"].diverged
    norm_explorer.controls["lr"].value = 0.3
    norm_explorer.controls["epochs"].value = 50
    finals = norm_explorer.state.final_losses()
    assert np.isinf(finals["raw"]) and finals["z-score"] < finals["min-max"]


def test_ch03_boundary_trainer_on_spirals_and_a_new_activation():
    trainer_widget = classification.decision_boundary_trainer(
        data="spirals", hidden=16, activation="relu", lr=0.03
    )
    trainer_widget.train(200)
    state = trainer_widget.state
    assert state.epochs == 200 and state.losses[-1] < state.losses[0]
    trainer_widget.controls["activation"].value = "tanh"
    assert trainer_widget.state.epochs == 0 and trainer_widget.trainer.activation == "tanh"


def test_ch03_optimizer_race_sgd_diverges_at_ten_times_the_rate():
    race_widget = optimizers.optimizer_race(surface="elongated bowl", steps=100)
    race_widget.controls["lr_scale"].value = 10.0
    assert np.isinf(race_widget.state.final_distance()["SGD"])
    race_widget.controls["surface"].value = "Rosenbrock"
    assert race_widget.state.surface == "Rosenbrock" and "Adam" in race_widget.caption.value


def test_normalisation_state_shows_a_diverging_run_climbing():
    from edu_cnn.widgets.regression import CLIMB_EPOCHS, draw_normalisation, normalisation_state

    state = normalisation_state(lr=0.1, epochs=20)
    assert state.runs["raw"].diverged and set(state.climbs) == {"raw"}
    climb = state.climbs["raw"]
    assert len(climb) == CLIMB_EPOCHS + 1 and climb[0] == state.runs["raw"].losses[0]
    assert np.all(np.diff(np.log10(climb)) > 5)  # ×10⁷ an epoch at η = 0.1
    assert normalisation_state(lr=1e-5, epochs=20).climbs == {}
    fig = draw_normalisation(state)
    assert "epoch 1:" in fig.axes[0].texts[0].get_text() and fig.axes[2].texts[0].get_text() == ""
