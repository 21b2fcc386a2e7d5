r"""The perceptron (感知机): one neuron with a step activation, and its learning rule (chapter 1).

A perceptron with weights (权重) :math:`w` and bias (偏置) :math:`b` computes

.. math:: z = w \cdot x + b, \qquad y = \operatorname{step}(z) =
          \begin{cases} 1 & z \ge 0 \\ 0 & z < 0 \end{cases}

The bias is a threshold in disguise: :math:`w \cdot x + b \ge 0` is the same as
:math:`w \cdot x \ge \theta` with :math:`\theta = -b`. The points where :math:`z = 0`
form the decision line :math:`w_1 x_1 + w_2 x_2 + b = 0`.

Rosenblatt's learning rule visits the samples one at a time and moves the weights only
when the output is wrong, by the learning rate :math:`\eta` times the error
:math:`t - y \in \{-1, 0, 1\}`:

.. math:: w \leftarrow w + \eta\,(t - y)\,x, \qquad b \leftarrow b + \eta\,(t - y).

If a line separates the two classes the rule finds one after finitely many mistakes
(the perceptron convergence theorem); for XOR no line exists and it never settles.

Everything here is a pure function on numpy arrays, so the widget of chapter 1 and the
tests use exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activations import step


def _check_xw(X: np.ndarray, w: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"{where}: expected weights w of shape (D,), got shape {w.shape}")
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != w.shape[0]:
        raise ValueError(
            f"{where}: expected inputs X of shape (N, {w.shape[0]}) to match w of shape "
            f"{w.shape}, got {X.shape}"
        )
    return X, w


def perceptron_output(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """The perceptron's 0/1 outputs ``step(X @ w + b)`` for inputs X of shape (N, D)."""
    X, w = _check_xw(X, w, "perceptron_output")
    return step(X @ w + float(b)).astype(np.int64)


def perceptron_update(
    w: np.ndarray, b: float, x: np.ndarray, t: float, lr: float = 1.0
) -> tuple[np.ndarray, float]:
    r"""One step of the learning rule on one sample: returns the new ``(w, b)``.

    :math:`y = \operatorname{step}(w\cdot x + b)`, then :math:`w + \eta(t - y)x` and
    :math:`b + \eta(t - y)`. A correctly classified sample leaves both unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    X, w = _check_xw(x, w, "perceptron_update")
    if x.ndim != 1:
        raise ValueError(f"perceptron_update: expected one sample x of shape (D,), got {x.shape}")
    error = float(t) - float(step(X @ w + float(b))[0])
    return w + lr * error * x, float(b) + lr * error


@dataclass
class PerceptronRun:
    """What :func:`train_perceptron` did.

    Attributes
    ----------
    path : list of (w, b) – the weights before training and after every sample visited.
    errors_per_epoch : how many samples were misclassified during each epoch.
    converged : True when an epoch went by without a single mistake.
    """

    path: list[tuple[np.ndarray, float]] = field(default_factory=list)
    errors_per_epoch: list[int] = field(default_factory=list)
    converged: bool = False

    @property
    def w(self) -> np.ndarray:
        return self.path[-1][0]

    @property
    def b(self) -> float:
        return self.path[-1][1]

    @property
    def epochs(self) -> int:
        return len(self.errors_per_epoch)


def train_perceptron(
    X: np.ndarray,
    t: np.ndarray,
    w: np.ndarray | None = None,
    b: float = 0.0,
    lr: float = 1.0,
    max_epochs: int = 50,
) -> PerceptronRun:
    """Apply the learning rule sample by sample, epoch after epoch, until no mistake is left.

    Parameters
    ----------
    X : (N, D) inputs; t : (N,) 0/1 targets.
    w, b : the starting weights (default zeros) and bias.
    lr : the learning rate η; max_epochs : give up after this many passes (XOR never ends).
    """
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t)
    w = np.zeros(X.shape[1]) if w is None else np.asarray(w, dtype=np.float64).copy()
    X, w = _check_xw(X, w, "train_perceptron")
    if t.shape != (X.shape[0],):
        raise ValueError(
            f"train_perceptron: expected targets t of shape ({X.shape[0]},), got {t.shape}"
        )
    run = PerceptronRun(path=[(w.copy(), float(b))])
    for _ in range(max_epochs):
        mistakes = 0
        for x_n, t_n in zip(X, t, strict=True):
            w_new, b_new = perceptron_update(w, b, x_n, t_n, lr)
            mistakes += int(b_new != b or not np.array_equal(w_new, w))
            w, b = w_new, b_new
            run.path.append((w.copy(), b))
        run.errors_per_epoch.append(mistakes)
        if mistakes == 0:
            run.converged = True
            break
    return run


def decision_line(
    w: np.ndarray, b: float, lo: float = -0.5, hi: float = 1.5
) -> tuple[np.ndarray, np.ndarray] | None:
    r"""Two points of the line :math:`w_1 x_1 + w_2 x_2 + b = 0` spanning ``[lo, hi]``.

    Returns ``None`` when :math:`w = 0` (then there is no line: the output is the same
    everywhere). A vertical line (:math:`w_2 = 0`) is returned as constant x1.
    """
    w1, w2 = (float(v) for v in np.asarray(w, dtype=np.float64).ravel()[:2])
    if w1 == 0.0 and w2 == 0.0:
        return None
    if abs(w2) >= abs(w1):
        x1 = np.array([lo, hi])
        return x1, -(w1 * x1 + b) / w2
    x2 = np.array([lo, hi])
    return -(w2 * x2 + b) / w1, x2


def best_line_score(X: np.ndarray, t: np.ndarray, steps: int = 41, limit: float = 2.0) -> int:
    """The most samples any line on a grid of (w1, w2, b) classifies correctly.

    A brute-force companion to the proof that XOR is not linearly separable: over
    ``steps³`` lines none gets all four XOR rows right.
    """
    X, _ = _check_xw(X, np.zeros(2), "best_line_score")
    grid = np.linspace(-limit, limit, steps)
    w1, w2, b = np.meshgrid(grid, grid, grid, indexing="ij")
    z = w1[..., None] * X[:, 0] + w2[..., None] * X[:, 1] + b[..., None]  # (s, s, s, N)
    correct = (step(z) == np.asarray(t)).sum(axis=-1)
    return int(correct.max())
