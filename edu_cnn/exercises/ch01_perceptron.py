"""Chapter 1 exercises: a perceptron's output, its learning rule, one epoch of training.

The reference solutions are written the way a student would – they are what
``show_solution(name)`` prints. ``tests/test_exercises_ch01_03.py`` holds them equal to
:mod:`edu_cnn.perceptron`.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise

_ROWS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def _output_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(_ROWS, np.array([1.0, 1.0]), -1.5),      # AND
             (_ROWS, np.array([1.0, 1.0]), -0.5),      # OR
             (_ROWS, np.array([-1.0, -1.0]), 1.5),     # NAND
             (_ROWS, np.array([1.0, 1.0]), -1.0)]      # z = 0 exactly on (0,1), (1,0): output 1
    for n, d in ((5, 2), (6, 3), (3, 4)):
        cases.append((rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())))
    return cases


@exercise(
    "perceptron_output",
    cases=_output_cases,
    hint="z = X @ w + b gives one weighted sum per row; the step function turns z ≥ 0 into 1 "
         "and z < 0 into 0 (note: z = 0 counts as 1).",
)
def perceptron_output(X, w, b):
    """0/1 outputs of the perceptron (w, b) for every row of X (shape (N, D))."""
    z = X @ w + b
    return (z >= 0).astype(int)


def _update_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([0.0, 0.0]), 0.0, np.array([1.0, 1.0]), 1, 1.0),   # output 1, target 1
             (np.array([0.0, 0.0]), 0.0, np.array([0.0, 1.0]), 0, 1.0),   # output 1, target 0
             (np.array([0.5, -0.5]), -1.0, np.array([1.0, 1.0]), 1, 0.5),  # output 0, target 1
             (np.array([1.0, 1.0]), -1.5, np.array([1.0, 0.0]), 0, 0.1)]   # right: no change
    for d in (2, 3, 5):
        cases.append((rng.normal(size=d), float(rng.normal()), rng.integers(0, 2, d).astype(float),
                      int(rng.integers(0, 2)), 0.25))
    return cases


@exercise(
    "perceptron_update",
    cases=_update_cases,
    hint="First the output y = step(w·x + b); then w + lr·(t − y)·x and b + lr·(t − y). "
         "Return both as a tuple (w_new, b_new).",
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


@exercise(
    "perceptron_epoch",
    cases=_epoch_cases,
    hint="Loop over the rows in order, apply the update to each (the weights change as you go), "
         "and count the rows where the output was wrong before their update. "
         "Return (w, b, mistakes).",
)
def perceptron_epoch(X, t, w, b, lr):
    """One pass of the learning rule over every row: returns (w, b, number of mistakes)."""
    mistakes = 0
    for x_n, t_n in zip(X, t):
        y = 1 if np.dot(w, x_n) + b >= 0 else 0
        if y != t_n:
            mistakes += 1
            w = w + lr * (t_n - y) * x_n
            b = b + lr * (t_n - y)
    return w, b, mistakes
