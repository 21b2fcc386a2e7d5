r"""Linear regression (线性回归) by formula and by gradient descent (梯度下降), chapter 2.

The model is :math:`\hat y = X w + b` for inputs :math:`X` of shape (N, D); the loss is
the mean squared error (均方误差)

.. math:: L(w, b) = \frac1N \sum_{n=1}^N (\hat y_n - y_n)^2,

whose gradient is

.. math:: \frac{\partial L}{\partial w} = \frac2N X^\top(\hat y - y), \qquad
          \frac{\partial L}{\partial b} = \frac2N \sum_n (\hat y_n - y_n).

Gradient descent repeats :math:`(w, b) \leftarrow (w, b) - \eta\,\nabla L` with the
learning rate (学习率) :math:`\eta`. The closed form (最小二乘法) solves
:math:`\nabla L = 0` directly: the normal equations :math:`A^\top A\,\theta = A^\top y`
with :math:`A = [X, 1]`.

These are the by-hand versions the notebook derives; ``Linear`` + ``MSELoss`` + ``SGD``
compute the same numbers (the tests check that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A loss this many times the starting loss (or not finite) counts as diverged (发散).
DIVERGENCE_FACTOR = 1e6


def _check_xy(X: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{where}: expected inputs X of shape (N, D), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"{where}: expected targets y of shape ({X.shape[0]},) to match X {X.shape}, "
            f"got {y.shape}"
        )
    return X, y


def least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    r"""The exact minimiser ``(w, b)`` of the MSE:
    solve :math:`\min_\theta \lVert A\theta - y\rVert^2`.
    """
    X, y = _check_xy(X, y, "least_squares")
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    return theta[:-1], float(theta[-1])


def mse(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    """Mean squared error of the predictions ``X @ w + b``."""
    X, y = _check_xy(X, y, "mse")
    residual = X @ np.asarray(w, dtype=np.float64).reshape(-1) + b - y
    return float(np.mean(residual**2))


def mse_gradient(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """The gradient ``(dL/dw, dL/db)`` of the mean squared error at ``(w, b)``."""
    X, y = _check_xy(X, y, "mse_gradient")
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    residual = X @ w + b - y  # ŷ − y, shape (N,)
    n = len(y)
    return 2.0 / n * (X.T @ residual), float(2.0 / n * residual.sum())


def loss_surface(x: np.ndarray, y: np.ndarray, ws: np.ndarray, bs: np.ndarray) -> np.ndarray:
    """MSE of the one-feature model ``w·x + b`` on a grid: shape (len(bs), len(ws)).

    Rows follow ``bs`` and columns ``ws``, ready for ``contour(ws, bs, surface)``.
    """
    X, y = _check_xy(x, y, "loss_surface")
    if X.shape[1] != 1:
        raise ValueError(
            f"loss_surface: expected one feature, x of shape (N,) or (N, 1), got {X.shape}"
        )
    w = np.asarray(ws, dtype=np.float64)[None, :, None]
    b = np.asarray(bs, dtype=np.float64)[:, None, None]
    return np.mean((w * X[:, 0] + b - y) ** 2, axis=-1)


@dataclass
class DescentRun:
    """A gradient-descent run.

    Attributes
    ----------
    w : (steps + 1, D) the weights before the first step and after each step.
    b : (steps + 1,) the biases.
    losses : (steps + 1,) the training loss at each of those points.
    diverged : True when the loss blew up (then the arrays end where it did).
    """

    w: np.ndarray
    b: np.ndarray
    losses: np.ndarray
    diverged: bool

    @property
    def steps(self) -> int:
        return len(self.losses) - 1


def gradient_descent(
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    steps: int,
    w0: np.ndarray | float = 0.0,
    b0: float = 0.0,
    batch_size: int | None = None,
    seed: int = 0,
) -> DescentRun:
    """Run (mini-batch) gradient descent on the MSE of ``X @ w + b``.

    Parameters
    ----------
    lr : learning rate η; steps : number of epochs (passes over the data).
    w0, b0 : the starting point (a scalar w0 is used for every weight).
    batch_size : ``None`` for full-batch gradient descent (one step per epoch), else the
        number of samples per step (1 = stochastic gradient descent), in a shuffled order
        drawn from ``seed``.

    The recorded points are those at the end of each epoch. The run stops early, with
    ``diverged=True``, when the loss is no longer finite or grows past
    :data:`DIVERGENCE_FACTOR` times its start.
    """
    X, y = _check_xy(X, y, "gradient_descent")
    if lr <= 0 or steps < 0:
        raise ValueError(
            f"gradient_descent: expected lr > 0 and steps ≥ 0, got lr={lr}, steps={steps}"
        )
    n, d = X.shape
    if batch_size is not None and not 1 <= batch_size <= n:
        raise ValueError(
            f"gradient_descent: batch_size must be in [1, {n}] or None, got {batch_size}"
        )
    rng = np.random.default_rng(seed)
    w = np.broadcast_to(np.asarray(w0, dtype=np.float64), (d,)).copy()
    b = float(b0)
    ws, bs, losses = [w.copy()], [b], [mse(X, y, w, b)]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            if batch_size is None:
                batches = [slice(None)]
            else:
                order = rng.permutation(n)
                batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
            for batch in batches:
                dw, db = mse_gradient(X[batch], y[batch], w, b)
                w, b = w - lr * dw, b - lr * db
            loss = mse(X, y, w, b)
            if not np.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(losses[0], 1e-12):
                diverged = True
                break
            ws.append(w.copy())
            bs.append(b)
            losses.append(loss)
    return DescentRun(np.array(ws), np.array(bs), np.array(losses), diverged)
