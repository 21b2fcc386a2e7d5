"""The exercises of chapters 1–3: references agree with the library, and the checker
names the mistake a student is likely to make (a wrong sign, a wrong shape, a missing 1/N)."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.activations import Sigmoid
from edu_cnn.data.normalize import StandardScaler
from edu_cnn.exercises import ch01_perceptron as ch01
from edu_cnn.exercises import ch02_regression as ch02
from edu_cnn.exercises import ch03_classification as ch03
from edu_cnn.exercises import check, list_exercises, show_solution
from edu_cnn.exercises.checker import get_exercise
from edu_cnn.linear import Linear
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.perceptron import perceptron_output, perceptron_update
from edu_cnn.regression import mse, mse_gradient
from edu_cnn.sequential import Sequential

NAMES = [
    "perceptron_output",
    "perceptron_update",
    "perceptron_epoch",
    "mse_loss",
    "mse_gradient",
    "gradient_descent_step",
    "zscore_with_train_stats",
    "sigmoid_derivative",
    "one_hot",
    "softmax_ce_gradient",
    "mlp_backward",
]


def message(name, func, capsys):
    result = check(name, func)
    printed = capsys.readouterr().out
    assert result.message in printed
    return result


def test_all_exercises_are_registered():
    assert set(NAMES) <= set(list_exercises())


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_and_solution_prints(name, capsys):
    assert message(name, get_exercise(name).reference, capsys)
    show_solution(name)
    assert "def " in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_stub_is_reported_as_not_done(name, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    result = message(name, stub, capsys)
    assert not result and "not done yet" in result.message


# -- the references agree with the library ---------------------------------------------------
@pytest.mark.parametrize(
    "name, library",
    [
        ("perceptron_output", perceptron_output),
        ("perceptron_update", perceptron_update),
        ("mse_gradient", mse_gradient),
    ],
)
def test_library_functions_pass_the_checker(name, library, capsys):
    assert message(name, library, capsys)


def test_mse_loss_matches_library():
    for (y_pred, y), _ in get_exercise("mse_loss").hidden_cases():
        assert ch02.mse_loss(y_pred, y) == pytest.approx(mse(y_pred[:, None], y, np.ones(1), 0.0))


def test_zscore_matches_standard_scaler():
    for (train, test), _ in get_exercise("zscore_with_train_stats").hidden_cases():
        scaler = StandardScaler().fit(train)
        a, b = ch02.zscore_with_train_stats(train, test)
        np.testing.assert_allclose(a, scaler.transform(train), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(b, scaler.transform(test), rtol=1e-6, atol=1e-9)


def test_sigmoid_derivative_matches_sigmoid_layer():
    z = np.linspace(-6, 6, 13)
    layer = Sigmoid()
    layer(z)
    np.testing.assert_allclose(
        ch03.sigmoid_derivative(z), layer.backward(np.ones_like(z)), rtol=1e-6
    )


def test_softmax_ce_gradient_matches_cross_entropy_loss():
    for (z, labels), _ in get_exercise("softmax_ce_gradient").hidden_cases():
        loss = CrossEntropyLoss()
        loss(z, labels)
        np.testing.assert_allclose(
            ch03.softmax_ce_gradient(z, labels), loss.backward(), rtol=1e-6, atol=1e-12
        )


def test_mlp_backward_matches_sequential():
    for (x, labels, W1, b1, W2, b2), _ in get_exercise("mlp_backward").hidden_cases():
        first, second = Linear(W1.shape[1], W1.shape[0]), Linear(W2.shape[1], W2.shape[0])
        model = Sequential(first, Sigmoid(), second).astype(np.float64)
        first.load_state_dict({"weight": W1, "bias": b1})
        second.load_state_dict({"weight": W2, "bias": b2})
        loss = CrossEntropyLoss()
        loss(model(x), labels)
        model.backward(loss.backward())
        expected = (first.weight.grad, first.bias.grad, second.weight.grad, second.bias.grad)
        for got, want in zip(ch03.mlp_backward(x, labels, W1, b1, W2, b2), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_perceptron_epoch_learns_and():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    w, b = np.zeros(2), 0.0
    for _ in range(10):
        w, b, mistakes = ch01.perceptron_epoch(x, np.array([0, 0, 0, 1]), w, b, 1.0)
    assert mistakes == 0 and perceptron_output(x, w, b).tolist() == [0, 0, 0, 1]


# -- the mistakes students make get specific messages ------------------------------------------
def test_mse_gradient_wrong_sign(capsys):
    def wrong(X, y, w, b):
        dw, db = ch02.mse_gradient(X, y, w, b)
        return -dw, -db

    result = message("mse_gradient", wrong, capsys)
    assert not result and "opposite sign" in result.message and "Hint:" in result.message


def test_mse_gradient_missing_one_over_n(capsys):
    def wrong(X, y, w, b):
        residual = X @ w + b - y
        return 2 * X.T @ residual, 2 * residual.sum()

    result = message("mse_gradient", wrong, capsys)
    assert not result and "1/N is missing" in result.message and result.mistake == "no 1/N"


def test_mse_gradient_wrong_shape(capsys):
    def wrong(X, y, w, b):
        dw, db = ch02.mse_gradient(X, y, w, b)
        return dw[:, None], db

    result = message("mse_gradient", wrong, capsys)
    assert not result and "shape" in result.message and "should have shape" in result.message


def test_mse_gradient_single_value_instead_of_tuple(capsys):
    result = message("mse_gradient", lambda X, y, w, b: ch02.mse_gradient(X, y, w, b)[0], capsys)
    assert not result and "tuple of 2 values" in result.message


def test_gradient_step_uphill(capsys):
    def wrong(X, y, w, b, lr):
        dw, db = ch02.mse_gradient(X, y, w, b)
        return w + lr * dw, b + lr * db

    result = message("gradient_descent_step", wrong, capsys)
    assert (
        not result
        and "value 1 of the result is wrong" in result.message
        and "uphill" in result.message
    )


def test_zscore_with_test_statistics_is_wrong(capsys):
    def leaky(X_train, X_test):
        return (
            (X_train - X_train.mean(0)) / X_train.std(0),
            (X_test - X_test.mean(0)) / X_test.std(0),
        )

    result = message("zscore_with_train_stats", leaky, capsys)
    assert not result and "value 2 of the result" in result.message and "training" in result.message


def test_perceptron_update_wrong_sign(capsys):
    def wrong(w, b, x, t, lr):
        y = 1 if np.dot(w, x) + b >= 0 else 0
        return w - lr * (t - y) * x, b - lr * (t - y)

    result = message("perceptron_update", wrong, capsys)
    assert not result and "opposite sign" in result.message and "case 2" in result.message


def test_perceptron_output_strict_threshold(capsys):
    result = message("perceptron_output", lambda X, w, b: (X @ w + b > 0).astype(int), capsys)
    assert not result and "case 4" in result.message and "z = 0" in result.message


def test_softmax_gradient_true_class_only(capsys):
    def seed_note_004(z, labels):
        grad = np.zeros_like(z)
        y = np.exp(z - z.max(1, keepdims=True))
        y /= y.sum(1, keepdims=True)
        grad[np.arange(len(z)), labels] = (y[np.arange(len(z)), labels] - 1) / len(z)
        return grad

    result = message("softmax_ce_gradient", seed_note_004, capsys)
    assert (
        not result
        and "wrong at index" in result.message
        and "all classes get one" in result.message
    )


def test_softmax_gradient_overflow_gives_nan_message(capsys):
    def naive(z, labels):
        y = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        t = np.eye(z.shape[1])[labels]
        return (y - t) / len(z)

    with np.errstate(over="ignore", invalid="ignore"):
        result = message("softmax_ce_gradient", naive, capsys)
    assert not result and "NaN" in result.message


def test_mlp_backward_transposed_weight_gradient(capsys):
    def wrong(x, labels, W1, b1, W2, b2):
        dW1, db1, dW2, db2 = ch03.mlp_backward(x, labels, W1, b1, W2, b2)
        return dW1.T, db1, dW2, db2

    result = message("mlp_backward", wrong, capsys)
    assert not result and "transposed" in result.message


def test_one_hot_wrong_shape(capsys):
    result = message("one_hot", lambda labels, c: np.eye(c)[labels].T, capsys)
    assert not result and "shape" in result.message
