"""Chapter 3 exercises: the sigmoid's derivative, one-hot labels, the softmax +
cross-entropy gradient, one backward pass through a one-hidden-layer MLP.

The reference solutions are what ``show_solution(name)`` prints; the tests hold them
equal to :mod:`edu_cnn.activations`, :class:`edu_cnn.losses.CrossEntropyLoss` and a
``Sequential`` network's ``backward``.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _sigmoid_cases(rng: np.random.Generator) -> list[tuple]:
    return [(np.array([0.0]),), (np.array([-2.0, -1.0, 0.0, 1.0, 2.0]),),
            (np.array([-30.0, 30.0]),), (rng.normal(0, 3, size=(4, 5)),)]


@exercise(
    "sigmoid_derivative",
    cases=_sigmoid_cases,
    hint="σ'(z) = σ(z)·(1 − σ(z)) with σ(z) = 1 / (1 + exp(−z)); at z = 0 it is 0.25.",
)
def sigmoid_derivative(z):
    """The derivative of the sigmoid at every element of z."""
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def _one_hot_cases(rng: np.random.Generator) -> list[tuple]:
    return [(np.array([0, 1, 2]), 4), (np.array([2, 2, 0, 1]), 3), (np.array([1]), 2),
            (rng.integers(0, 10, size=12), 10)]


@exercise(
    "one_hot",
    cases=_one_hot_cases,
    hint="Start from np.zeros((N, num_classes)) and put a 1 in row n, column labels[n].",
)
def one_hot(labels, num_classes):
    """Labels (N,) → one-hot rows (N, num_classes)."""
    t = np.zeros((len(labels), num_classes))
    t[np.arange(len(labels)), labels] = 1.0
    return t


def _softmax_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([[2.0, 1.0, 0.1]]), np.array([0])),
             (np.array([[0.0, 0.0], [5.0, -5.0]]), np.array([1, 0])),
             (np.array([[1000.0, 0.0, -1000.0]]), np.array([2]))]   # needs the max trick
    for n, c in ((4, 3), (8, 10), (5, 2)):
        cases.append((rng.normal(0, 2, size=(n, c)), rng.integers(0, c, size=n)))
    return cases


@exercise(
    "softmax_ce_gradient",
    cases=_softmax_cases,
    hint="For every sample and every class: ∂L/∂z = (softmax(z) − t) / N, with t the one-hot "
         "label – all classes get a gradient, not only the true one. Subtract each row's max "
         "before exp so that large logits do not overflow.",
)
def softmax_ce_gradient(z, labels):
    """Gradient of the mean softmax cross-entropy with respect to the logits z (N, C)."""
    N, C = z.shape
    e = np.exp(z - z.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    t = np.zeros((N, C))
    t[np.arange(N), labels] = 1.0
    return (y - t) / N


def _mlp_cases(rng: np.random.Generator) -> list[tuple]:
    cases = []
    for n, d, h, c in ((1, 2, 3, 2), (4, 2, 5, 3), (8, 4, 6, 10)):
        cases.append((rng.normal(size=(n, d)), rng.integers(0, c, size=n),
                      rng.normal(0, 0.5, size=(h, d)), rng.normal(0, 0.1, size=h),
                      rng.normal(0, 0.5, size=(c, h)), rng.normal(0, 0.1, size=c)))
    return cases


@exercise(
    "mlp_backward",
    cases=_mlp_cases,
    hint="Forward: a1 = sigmoid(x W1ᵀ + b1), z2 = a1 W2ᵀ + b2. Backward: δ2 = (softmax(z2) − t)/N; "
         "dW2 = δ2ᵀ a1, db2 = Σₙ δ2; δ1 = (δ2 W2) ⊙ a1 (1 − a1); dW1 = δ1ᵀ x, db1 = Σₙ δ1. "
         "Each gradient has the shape of its parameter.",
)
def mlp_backward(x, labels, W1, b1, W2, b2):
    """Gradients (dW1, db1, dW2, db2) of the mean cross-entropy of a sigmoid MLP."""
    N = len(x)
    # forward pass
    a1 = 1 / (1 + np.exp(-(x @ W1.T + b1)))
    z2 = a1 @ W2.T + b2
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    t = np.zeros_like(y)
    t[np.arange(N), labels] = 1.0
    # backward pass: the δ recursion
    delta2 = (y - t) / N
    dW2 = delta2.T @ a1
    db2 = delta2.sum(axis=0)
    delta1 = (delta2 @ W2) * a1 * (1 - a1)
    dW1 = delta1.T @ x
    db1 = delta1.sum(axis=0)
    return dW1, db1, dW2, db2
