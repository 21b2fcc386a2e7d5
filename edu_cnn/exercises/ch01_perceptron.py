"""Chapter 1 exercises: a perceptron's output, its learning rule, one epoch of training.

The reference solutions are written the way a student would – they are what
``show_solution(name)`` prints. ``tests/test_exercises_ch01_03.py`` holds them equal to
:mod:`edu_cnn.perceptron`.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise

_ROWS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def _output_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (_ROWS, np.array([1.0, 1.0]), -1.5),  # AND
        (_ROWS, np.array([1.0, 1.0]), -0.5),  # OR
        (_ROWS, np.array([-1.0, -1.0]), 1.5),  # NAND
        (_ROWS, np.array([1.0, 1.0]), -1.0),
    ]  # z = 0 exactly on (0,1), (1,0): output 1
    for n, d in ((5, 2), (6, 3), (3, 4)):
        cases.append((rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())))
    return cases


def _step(z):
    return (z >= 0).astype(int)


@exercise(
    "perceptron_output",
    cases=_output_cases,
    hint="Two steps for every row: a weighted sum plus the bias, then the step function, "
    "which turns it into 0 or 1.",
    hints=[
        (
            "X @ w + b gives all N weighted sums at once; the step is 1 where z ≥ 0 and 0 where "
            "z < 0 – z = 0 exactly counts as 1."
        ),
        "z = X @ w + b, then (z >= 0).astype(int): integers 0/1, not True/False.",
    ],
    dtype="integer",
    mistakes=[
        Mistake(
            "strict threshold",
            lambda X, w, b: (X @ w + b > 0).astype(int),
            "Rows with z = 0 exactly should give 1: the step is 1 for z ≥ 0 (use >=, not >).",
        ),
        Mistake(
            "no bias",
            lambda X, w, b: _step(X @ w),
            "The bias b is missing: the step acts on z = X @ w + b.",
        ),
        Mistake(
            "no step",
            lambda X, w, b: X @ w + b,
            "These are the weighted sums z themselves – the output is step(z), 0 or 1.",
        ),
        Mistake(
            "minus one",
            lambda X, w, b: np.where(X @ w + b >= 0, 1, -1),
            "Your outputs are −1/1; this perceptron outputs 0/1 (0 where z < 0).",
        ),
    ],
)
def perceptron_output(X, w, b):
    """0/1 outputs of the perceptron (w, b) for every row of X (shape (N, D))."""
    z = X @ w + b
    return (z >= 0).astype(int)


def _update_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (np.array([0.0, 0.0]), 0.0, np.array([1.0, 1.0]), 1, 1.0),  # output 1, target 1
        (np.array([0.0, 0.0]), 0.0, np.array([0.0, 1.0]), 0, 1.0),  # output 1, target 0
        (np.array([0.5, -0.5]), -1.0, np.array([1.0, 1.0]), 1, 0.5),  # output 0, target 1
        (np.array([1.0, 1.0]), -1.5, np.array([1.0, 0.0]), 0, 0.1),
    ]  # right: no change
    for d in (2, 3, 5):
        cases.append(
            (
                rng.normal(size=d),
                float(rng.normal()),
                rng.integers(0, 2, d).astype(float),
                int(rng.integers(0, 2)),
                0.25,
            )
        )
    return cases


def _update(w, b, x, t, lr, sign=1, strict=False):
    z = np.dot(w, x) + b
    y = 1 if (z > 0 if strict else z >= 0) else 0
    error = sign * (t - y)
    return w + lr * error * x, b + lr * error


@exercise(
    "perceptron_update",
    cases=_update_cases,
    hint="First find what the perceptron outputs for x now; the change is proportional to "
    "the error (target minus output) – zero when the output is right.",
    hints=[
        (
            "y = step(w·x + b); the error t − y is +1, 0 or −1. "
            "The weights move by lr · error · x, the bias by lr · error "
            "(the bias acts like a weight on an input that is always 1)."
        ),
        "w_new = w + lr·(t − y)·x and b_new = b + lr·(t − y); return the tuple (w_new, b_new).",
    ],
    mistakes=[
        Mistake(
            "sign",
            lambda w, b, x, t, lr: _update(w, b, x, t, lr, sign=-1),
            "The update has the opposite sign: the error is t − y (target minus output), "
            "not y − t.",
        ),
        Mistake(
            "no lr",
            lambda w, b, x, t, lr: _update(w, b, x, t, 1.0),
            "The learning rate lr is missing: the step is lr · (t − y).",
        ),
        Mistake(
            "bias fixed",
            lambda w, b, x, t, lr: (_update(w, b, x, t, lr)[0], b),
            "b did not change – the bias learns too, by lr · (t − y).",
        ),
        Mistake(
            "strict threshold",
            lambda w, b, x, t, lr: _update(w, b, x, t, lr, strict=True),
            "The output for w·x + b = 0 should be 1 (step(0) = 1): use >= 0.",
        ),
        Mistake(
            "target only",
            lambda w, b, x, t, lr: (w + lr * t * x, b + lr * t),
            "The step was lr · t · x, whatever the perceptron output: the change is "
            "lr · (t − y) · x, with y its output for x – zero when the output is right.",
        ),
    ],
)
def perceptron_update(w, b, x, t, lr):
    """One step of the perceptron learning rule on one sample: returns (w_new, b_new)."""
    y = 1 if np.dot(w, x) + b >= 0 else 0
    error = t - y
    return w + lr * error * x, b + lr * error


def _epoch_cases(rng: np.random.Generator) -> list[tuple]:
    gates = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0], "XOR": [0, 1, 1, 0]}
    cases = [(_ROWS, np.array(t), np.zeros(2), 0.0, 1.0) for t in gates.values()]
    cases.append((_ROWS, np.array(gates["AND"]), np.array([0.5, 0.5]), -0.2, 0.5))
    X = rng.normal(size=(8, 2))
    cases.append((X, (X[:, 0] > X[:, 1]).astype(int), np.zeros(2), 0.0, 0.1))
    return cases


def _epoch(X, t, w, b, lr, batch=False, count_right=False, sign=1, count_after=False):
    w0, b0, mistakes, right = w, b, 0, 0
    for x_n, t_n in zip(X, t, strict=True):
        y = 1 if np.dot(w0 if batch else w, x_n) + (b0 if batch else b) >= 0 else 0
        right += y == t_n
        if y != t_n:
            mistakes += 1
            w = w + sign * lr * (t_n - y) * x_n
            b = b + sign * lr * (t_n - y)
    if count_after:  # misclassified by the weights the epoch ends with
        return w, b, int(np.sum((np.asarray(X) @ w + b >= 0).astype(int) != np.asarray(t)))
    return w, b, right if count_right else mistakes


@exercise(
    "perceptron_epoch",
    cases=_epoch_cases,
    hint="Go through the rows one at a time, in order; each row sees the weights as the rows "
    "before it left them.",
    hints=[
        (
            "For each row: compute its output with the current w and b, and if it is wrong, "
            "count a mistake and apply the learning rule right away (before the next row)."
        ),
        (
            "for x_n, t_n in zip(X, t): y = step(w·x_n + b); if y != t_n: mistakes += 1, "
            "w = w + lr·(t_n − y)·x_n, b = b + lr·(t_n − y). Return (w, b, mistakes)."
        ),
    ],
    mistakes=[
        Mistake(
            "batch",
            lambda X, t, w, b, lr: _epoch(X, t, w, b, lr, batch=True),
            "Every row used the starting weights: update w and b after each row, so the next "
            "row sees the new weights.",
        ),
        Mistake(
            "counted right",
            lambda X, t, w, b, lr: _epoch(X, t, w, b, lr, count_right=True),
            "The count is of the rows the perceptron got right – count the mistakes.",
        ),
        Mistake(
            "sign",
            lambda X, t, w, b, lr: _epoch(X, t, w, b, lr, sign=-1),
            "The updates have the opposite sign: the error is t − y (target minus output).",
        ),
        Mistake(
            "counted after",
            lambda X, t, w, b, lr: _epoch(X, t, w, b, lr, count_after=True),
            "The mistakes were counted with the weights the epoch ended with: count each row "
            "when it is visited, with the weights of that moment.",
        ),
    ],
)
def perceptron_epoch(X, t, w, b, lr):
    """One pass of the learning rule over every row: returns (w, b, number of mistakes)."""
    mistakes = 0
    for x_n, t_n in zip(X, t, strict=True):
        y = 1 if np.dot(w, x_n) + b >= 0 else 0
        if y != t_n:
            mistakes += 1
            w = w + lr * (t_n - y) * x_n
            b = b + lr * (t_n - y)
    return w, b, mistakes
