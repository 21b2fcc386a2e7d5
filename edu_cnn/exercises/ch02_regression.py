"""Chapter 2 exercises: the MSE, its gradient, one gradient-descent step, z-scores.

The reference solutions are what ``show_solution(name)`` prints; the tests hold them
equal to :mod:`edu_cnn.regression` and :class:`edu_cnn.data.normalize.StandardScaler`.
The first hidden cases have N ≥ 3 samples, several features and b ≠ 0, so that a
missing 1/N, the factor 2 and a forgotten bias give different answers.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise


def _regression_case(rng: np.random.Generator, n: int, d: int) -> tuple:
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d)
    y = X @ rng.normal(size=d) + rng.normal() + 0.1 * rng.normal(size=n)
    return X, y, rng.normal(size=d), float(rng.normal())


def _mse_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([2.0, 0.0, 3.0])),  # differences −1, 2, 0
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])),
        (np.array([0.0, 0.0, 0.0, 0.0]), np.array([1.0, -3.0, 2.0, 0.5])),
        (np.array([2.5]), np.array([0.5])),
    ]
    for n in (5, 20, 64):
        cases.append((rng.normal(size=n), rng.normal(size=n)))
    return cases


@exercise(
    "mse_loss",
    cases=_mse_cases,
    hint=(
        "Three words in the name, three steps: the error of each prediction, squared, "
        "then averaged."
    ),
    hints=[
        (
            "Compute the differences ŷ − y (an array), square each one, then take the mean over "
            "the N samples. The result is one number, never negative."
        ),
        "np.mean((y_pred - y) ** 2)",
    ],
    mistakes=[
        Mistake(
            "sum",
            lambda y_pred, y: np.sum((y_pred - y) ** 2),
            "That is the sum of the squares – the mean divides it by N (the 1/N is missing).",
        ),
        Mistake(
            "MAE",
            lambda y_pred, y: np.mean(np.abs(y_pred - y)),
            "That is the mean absolute error (MAE): square the differences instead of taking |…|.",
        ),
        Mistake(
            "RMSE",
            lambda y_pred, y: np.sqrt(np.mean((y_pred - y) ** 2)),
            "That is the root of the MSE (RMSE) – leave out the square root.",
        ),
        Mistake(
            "square of mean",
            lambda y_pred, y: np.mean(y_pred - y) ** 2,
            "That is the square of the mean difference – square each difference first, "
            "then average.",
        ),
        Mistake(
            "half",
            lambda y_pred, y: 0.5 * np.mean((y_pred - y) ** 2),
            "That is half the MSE (the ½ some books add) – this course's MSE has no ½.",
        ),
    ],
)
def mse_loss(y_pred, y):
    """Mean squared error between predictions and targets (both of shape (N,))."""
    return np.mean((y_pred - y) ** 2)


def _gradient(X, y, w, b, factor=2.0, mean=True, bias=True, sign=1):
    N = len(y)
    residual = sign * (X @ w + (b if bias else 0.0) - y)
    scale = factor / N if mean else factor
    return scale * X.T @ residual, scale * np.sum(residual)


_GRADIENT_MISTAKES = [
    Mistake(
        "sign",
        lambda X, y, w, b: _gradient(X, y, w, b, sign=-1),
        "The gradient has the opposite sign: the residual is ŷ − y (prediction minus target), "
        "not y − ŷ.",
    ),
    Mistake(
        "no 1/N",
        lambda X, y, w, b: _gradient(X, y, w, b, mean=False),
        "The 1/N is missing: the loss is a mean over N samples, so is its gradient.",
    ),
    Mistake(
        "no 2",
        lambda X, y, w, b: _gradient(X, y, w, b, factor=1.0),
        "The factor 2 is missing – it comes from differentiating the square: d(r²)/dr = 2r.",
    ),
    Mistake(
        "no 2, no 1/N",
        lambda X, y, w, b: _gradient(X, y, w, b, factor=1.0, mean=False),
        "Both the factor 2 (from the square) and the 1/N (from the mean) are missing.",
    ),
    Mistake(
        "no bias",
        lambda X, y, w, b: _gradient(X, y, w, b, bias=False),
        "The bias is missing from the prediction: the residual is X @ w + b − y.",
    ),
]


def _gradient_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (
            np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
            np.array([1.0, 2.0, 4.0]),
            np.array([1.0, 1.0]),
            0.5,
        ),
        (np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]), np.array([0.0]), 0.0),
    ]
    for n, d in ((10, 1), (30, 3), (7, 2), (50, 4)):
        cases.append(_regression_case(rng, n, d))
    return cases


@exercise(
    "mse_gradient",
    cases=_gradient_cases,
    hint="Differentiate mean((X @ w + b − y)²) with the chain rule: the outer square, then the "
    "inner prediction. dw has the shape of w, db is one number.",
    hints=[
        (
            "Name the residual r = X @ w + b − y. d(r²)/dr = 2r, and the mean brings a 1/N. "
            "Each weight w_j meets its column X[:, j]; the bias meets a column of ones."
        ),
        "dw = (2/N) · Xᵀ r (shape (D,)) and db = (2/N) · Σ r; return the tuple (dw, db).",
    ],
    mistakes=_GRADIENT_MISTAKES,
)
def mse_gradient(X, y, w, b):
    """Gradient of L = mean((X @ w + b − y)²) with respect to w and b: returns (dw, db)."""
    N = len(y)
    residual = X @ w + b - y
    dw = 2 / N * X.T @ residual
    db = 2 / N * np.sum(residual)
    return dw, db


def _step(X, y, w, b, lr, direction=-1, rate=True, **gradient):
    dw, db = _gradient(X, y, w, b, **gradient)
    lr = lr if rate else 1.0
    return w + direction * lr * dw, b + direction * lr * db


def _step_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (
            np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]),
            np.array([2.0, 4.0, 6.0]),
            np.array([0.5, -0.5]),
            0.5,
            0.1,
        )
    ]
    for n, d, lr in ((10, 1, 0.05), (30, 3, 0.01), (20, 2, 0.3)):
        cases.append((*_regression_case(rng, n, d), lr))
    return cases


@exercise(
    "gradient_descent_step",
    cases=_step_cases,
    hint="The gradient points uphill, the direction in which the loss grows fastest; a step "
    "of size lr goes the other way.",
    hints=[
        "Compute (dw, db) as in mse_gradient, then move w and b against it, scaled by lr.",
        "w_new = w − lr · dw and b_new = b − lr · db; return (w_new, b_new).",
    ],
    mistakes=[
        Mistake(
            "uphill",
            lambda X, y, w, b, lr: _step(X, y, w, b, lr, direction=1),
            "The step went uphill (w + lr·dw): the loss grows. Step against the gradient: "
            "w − lr·dw.",
        ),
        Mistake(
            "no lr",
            lambda X, y, w, b, lr: _step(X, y, w, b, lr, rate=False),
            "The learning rate is missing: the step is lr · gradient.",
        ),
        Mistake(
            "gradient",
            lambda X, y, w, b, lr: _gradient(X, y, w, b),
            "That is the gradient (dw, db) itself – the step returns the new weights w − lr·dw, "
            "b − lr·db.",
        ),
        Mistake(
            "no 1/N",
            lambda X, y, w, b, lr: _step(X, y, w, b, lr, mean=False),
            "The gradient lacks its 1/N: the loss is a mean over N samples.",
        ),
        Mistake(
            "no 2",
            lambda X, y, w, b, lr: _step(X, y, w, b, lr, factor=1.0),
            "The gradient lacks the factor 2 from the derivative of the square.",
        ),
    ],
)
def gradient_descent_step(X, y, w, b, lr):
    """One full-batch gradient-descent step on the MSE: returns the new (w, b)."""
    N = len(y)
    residual = X @ w + b - y
    dw = 2 / N * X.T @ residual
    db = 2 / N * np.sum(residual)
    return w - lr * dw, b - lr * db


def _zscore(train, test, stats="train", axis=0, ddof=0):
    source = {"train": (train, train), "own": (train, test)}[stats]
    means = [s.mean(axis=axis, keepdims=axis is not None) for s in source]
    stds = [s.std(axis=axis, ddof=ddof, keepdims=axis is not None) for s in source]
    return (train - means[0]) / stds[0], (test - means[1]) / stds[1]


def _zscore_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (
            np.array([[1.0, 100.0], [3.0, 300.0], [5.0, 200.0]]),
            np.array([[2.0, 150.0], [4.0, 350.0]]),
        )
    ]
    for n, m, d in ((20, 5, 3), (50, 10, 1), (8, 8, 2)):
        scale = rng.uniform(0.1, 100.0, size=d)
        train = rng.normal(5.0, 1.0, size=(n, d)) * scale
        test = rng.normal(6.0, 2.0, size=(m, d)) * scale  # a different distribution on purpose
        cases.append((train, test))
    return cases


@exercise(
    "zscore_with_train_stats",
    cases=_zscore_cases,
    hint="A z-score says how many standard deviations a value lies from the mean – but from "
    "which data's mean? The model may only learn from the *training* data.",
    hints=[
        (
            "Compute one mean and one standard deviation per column (per feature, axis=0) "
            "of the training set, and use these same numbers for both sets. "
            "Test statistics must never be used."
        ),
        (
            "mean = X_train.mean(axis=0), std = X_train.std(axis=0); return "
            "((X_train − mean) / std, (X_test − mean) / std)."
        ),
    ],
    mistakes=[
        Mistake(
            "test statistics",
            lambda X_train, X_test: _zscore(X_train, X_test, stats="own"),
            "The test set was scaled with its own mean and std: use the training set's statistics "
            "for both – the model may only learn from the training data.",
        ),
        Mistake(
            "one mean",
            lambda X_train, X_test: _zscore(X_train, X_test, axis=None),
            "One mean and std over all columns: each feature (column, axis=0) gets its own.",
        ),
        Mistake(
            "no std",
            lambda X_train, X_test: (X_train - X_train.mean(axis=0), X_test - X_train.mean(axis=0)),
            "Only the mean was subtracted: divide by the training set's standard deviation too.",
        ),
        Mistake(
            "ddof",
            lambda X_train, X_test: _zscore(X_train, X_test, ddof=1),
            "The std divides by N − 1 (ddof=1, pandas' default); "
            "the z-score here uses np.std's N (ddof=0).",
        ),
    ],
)
def zscore_with_train_stats(X_train, X_test):
    """Z-score both sets with the training set's per-feature mean and standard deviation."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    return (X_train - mean) / std, (X_test - mean) / std
