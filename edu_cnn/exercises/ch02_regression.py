"""Chapter 2 exercises: the MSE, its gradient, one gradient-descent step, z-scores.

The reference solutions are what ``show_solution(name)`` prints; the tests hold them
equal to :mod:`edu_cnn.regression` and :class:`edu_cnn.data.normalize.StandardScaler`.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _regression_case(rng: np.random.Generator, n: int, d: int) -> tuple:
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d)
    y = X @ rng.normal(size=d) + rng.normal() + 0.1 * rng.normal(size=n)
    return X, y, rng.normal(size=d), float(rng.normal())


def _mse_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])),
             (np.array([0.0, 0.0]), np.array([1.0, -3.0])),
             (np.array([2.5]), np.array([0.5]))]
    for n in (5, 20, 64):
        cases.append((rng.normal(size=n), rng.normal(size=n)))
    return cases


@exercise(
    "mse_loss",
    cases=_mse_cases,
    hint="Square each difference ŷ − y, then take the mean (sum divided by N). "
         "The result is one number, never negative.",
)
def mse_loss(y_pred, y):
    """Mean squared error between predictions and targets (both of shape (N,))."""
    return np.mean((y_pred - y) ** 2)


def _gradient_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]), np.array([0.0]), 0.0),
             (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 1.0]), np.array([1.0, 1.0]), 0.0)]
    for n, d in ((10, 1), (30, 3), (7, 2), (50, 4)):
        cases.append(_regression_case(rng, n, d))
    return cases


@exercise(
    "mse_gradient",
    cases=_gradient_cases,
    hint="With the residual r = X @ w + b − y: dL/dw = (2/N)·Xᵀ r (shape (D,), like w) and "
         "dL/db = (2/N)·Σ r. Return the tuple (dw, db).",
)
def mse_gradient(X, y, w, b):
    """Gradient of L = mean((X @ w + b − y)²) with respect to w and b: returns (dw, db)."""
    N = len(y)
    residual = X @ w + b - y
    dw = 2 / N * X.T @ residual
    db = 2 / N * np.sum(residual)
    return dw, db


def _step_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]), np.array([2.0, 4.0, 6.0]),
              np.array([0.5, -0.5]), 0.0, 0.1)]
    for n, d, lr in ((10, 1, 0.05), (30, 3, 0.01), (20, 2, 0.3)):
        cases.append((*_regression_case(rng, n, d), lr))
    return cases


@exercise(
    "gradient_descent_step",
    cases=_step_cases,
    hint="Compute the gradient (your mse_gradient) and step against it: w − lr·dw, b − lr·db. "
         "A plus sign would climb the loss instead of descending it.",
)
def gradient_descent_step(X, y, w, b, lr):
    """One full-batch gradient-descent step on the MSE: returns the new (w, b)."""
    N = len(y)
    residual = X @ w + b - y
    dw = 2 / N * X.T @ residual
    db = 2 / N * np.sum(residual)
    return w - lr * dw, b - lr * db


def _zscore_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([[1.0, 100.0], [3.0, 300.0], [5.0, 200.0]]), np.array([[2.0, 150.0], [4.0, 350.0]]))]
    for n, m, d in ((20, 5, 3), (50, 10, 1), (8, 8, 2)):
        scale = rng.uniform(0.1, 100.0, size=d)
        train = rng.normal(5.0, 1.0, size=(n, d)) * scale
        test = rng.normal(6.0, 2.0, size=(m, d)) * scale  # a different distribution on purpose
        cases.append((train, test))
    return cases


@exercise(
    "zscore_with_train_stats",
    cases=_zscore_cases,
    hint="Compute the mean and the standard deviation of every column (axis=0) of the "
         "*training* set only, then apply (x − mean) / std to both sets. Test statistics "
         "must never be used – the model may only learn from the training data.",
)
def zscore_with_train_stats(X_train, X_test):
    """Z-score both sets with the training set's per-feature mean and standard deviation."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    return (X_train - mean) / std, (X_test - mean) / std
