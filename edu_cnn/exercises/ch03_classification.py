"""Chapter 3 exercises: the sigmoid's derivative, one-hot labels, the softmax +
cross-entropy gradient, one backward pass through a one-hidden-layer MLP.

The reference solutions are what ``show_solution(name)`` prints; the tests hold them
equal to :mod:`edu_cnn.activations`, :class:`edu_cnn.losses.CrossEntropyLoss` and a
``Sequential`` network's ``backward``.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid_cases(rng: np.random.Generator) -> list[tuple]:
    return [
        (np.array([-2.0, 0.0, 1.0]),),
        (np.array([-2.0, -1.0, 0.0, 1.0, 2.0]),),
        (np.array([0.0]),),
        (np.array([-30.0, 30.0]),),
        (rng.normal(0, 3, size=(4, 5)),),
    ]


@exercise(
    "sigmoid_derivative",
    cases=_sigmoid_cases,
    hint="The sigmoid's derivative can be written with the sigmoid itself – compute σ(z) first.",
    hints=[
        (
            "σ(z) = 1 / (1 + exp(−z)). Its derivative is σ(z) times (one minus σ(z)); "
            "at z = 0 that is 0.5 · 0.5 = 0.25."
        ),
        "s = 1 / (1 + np.exp(-z)); return s * (1 - s).",
    ],
    mistakes=[
        Mistake(
            "sigma",
            lambda z: _sigmoid(z),
            "That is σ(z) itself – the task asks for its derivative σ′(z).",
        ),
        Mistake(
            "z(1-z)", lambda z: z * (1 - z), "s(1 − s) was applied to z: apply it to s = σ(z)."
        ),
        Mistake(
            "tanh",
            lambda z: 1 - np.tanh(z) ** 2,
            "That is the derivative of tanh, not of the sigmoid.",
        ),
        Mistake(
            "1+",
            lambda z: _sigmoid(z) * (1 + _sigmoid(z)),
            "A sign slipped: σ′ = σ · (1 − σ), with a minus.",
        ),
        Mistake(
            "1-sigma",
            lambda z: 1 - _sigmoid(z),
            "That is 1 − σ(z) = e^(−z) / (1 + e^(−z)) – the quotient rule puts (1 + e^(−z)) "
            "squared in the denominator, so one more factor σ(z) is missing.",
        ),
    ],
)
def sigmoid_derivative(z):
    """The derivative of the sigmoid at every element of z."""
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def _one_hot_cases(rng: np.random.Generator) -> list[tuple]:
    return [
        (np.array([0, 2, 1]), 4),
        (np.array([2, 2, 0, 1]), 3),
        (np.array([1]), 2),
        (rng.integers(0, 10, size=12), 10),
    ]


@exercise(
    "one_hot",
    cases=_one_hot_cases,
    hint="One row per label and one column per class; each row is all zeros except one place.",
    hints=[
        "Start from an array of zeros of shape (N, num_classes); "
        "row n gets its 1 in column labels[n].",
        "t = np.zeros((len(labels), num_classes)); t[np.arange(len(labels)), labels] = 1.",
    ],
    mistakes=[
        Mistake(
            "transposed",
            lambda labels, num_classes: np.eye(num_classes)[labels].T,
            "Rows and columns are swapped: one row per sample, one column per class.",
        ),
        Mistake(
            "max+1",
            lambda labels, num_classes: np.eye(labels.max() + 1)[labels],
            "The number of columns must be num_classes, not labels.max() + 1 – "
            "a class may be absent.",
        ),
        Mistake(
            "off by one",
            lambda labels, num_classes: np.eye(num_classes)[labels - 1],
            "Each 1 sits one column too far left: class c goes in column c (columns count from 0).",
        ),
    ],
)
def one_hot(labels, num_classes):
    """Labels (N,) → one-hot rows (N, num_classes)."""
    t = np.zeros((len(labels), num_classes))
    t[np.arange(len(labels)), labels] = 1.0
    return t


def _softmax_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 3.0, 0.0]]), np.array([0, 2, 1])),
        (np.array([[2.0, 1.0, 0.1]]), np.array([0])),
        (np.array([[0.0, 0.0], [5.0, -5.0]]), np.array([1, 0])),
        (np.array([[1000.0, 0.0, -1000.0]]), np.array([2])),
    ]  # needs the max trick
    for n, c in ((4, 3), (8, 10), (5, 2)):
        cases.append((rng.normal(0, 2, size=(n, c)), rng.integers(0, c, size=n)))
    return cases


def _true_class_only(z, labels):
    grad = np.zeros_like(z)
    rows = np.arange(len(z))
    grad[rows, labels] = (_softmax(z)[rows, labels] - 1) / len(z)
    return grad


@exercise(
    "softmax_ce_gradient",
    cases=_softmax_cases,
    hint="All classes get a gradient, not only the true one: compare the predicted "
    "probabilities with the one-hot target, and remember the loss is a mean.",
    hints=[
        (
            "The softmax of each row gives probabilities y; the one-hot label gives t. "
            "The gradient of the mean cross-entropy is their difference, "
            "divided by the N samples. Subtract each row's max before exp so that large logits "
            "do not overflow."
        ),
        "y = softmax(z) (row-wise, max subtracted), t = one_hot(labels, C); return (y − t) / N.",
    ],
    mistakes=[
        Mistake(
            "true class only",
            lambda z, labels: _true_class_only(z, labels),
            "Only the true class got a gradient: all classes get one – "
            "y − t is non-zero in every column.",
        ),
        Mistake(
            "no 1/N",
            lambda z, labels: _softmax(z) - np.eye(z.shape[1])[labels],
            "The 1/N is missing: the loss is the mean over the N samples.",
        ),
        Mistake(
            "sign",
            lambda z, labels: (np.eye(z.shape[1])[labels] - _softmax(z)) / len(z),
            "The sign is flipped: the gradient is (y − t)/N – probabilities minus target, "
            "not t − y.",
        ),
        Mistake(
            "column softmax",
            lambda z, labels: (_softmax(z.T).T - np.eye(z.shape[1])[labels]) / len(z),
            "The softmax was taken down the columns: normalise each row (axis=1, one sample each).",
        ),
    ],
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
    for n, d, h, c in ((3, 2, 3, 2), (1, 2, 3, 2), (4, 2, 5, 3), (8, 4, 6, 10)):
        cases.append(
            (
                rng.normal(size=(n, d)),
                rng.integers(0, c, size=n),
                rng.normal(0, 0.5, size=(h, d)),
                rng.normal(0, 0.1, size=h),
                rng.normal(0, 0.5, size=(c, h)),
                rng.normal(0, 0.1, size=c),
            )
        )
    return cases


def _mlp(x, labels, W1, b1, W2, b2, prime=True, mean=True):
    a1 = _sigmoid(x @ W1.T + b1)
    y = _softmax(a1 @ W2.T + b2)
    delta2 = (y - np.eye(len(b2))[labels]) / (len(x) if mean else 1)
    back = delta2 @ W2
    delta1 = back * (a1 * (1 - a1) if prime else a1 if prime is False else 1.0)
    return delta1.T @ x, delta1.sum(axis=0), delta2.T @ a1, delta2.sum(axis=0)


@exercise(
    "mlp_backward",
    cases=_mlp_cases,
    hint="Run the forward pass first and keep a1; then go backwards one layer at a time: the "
    "output layer's δ, its gradients, then δ of the hidden layer. Each gradient has the "
    "shape of its parameter.",
    hints=[
        (
            "The output δ2 is the softmax_ce_gradient of z2. "
            "A layer's weight gradient pairs its δ with its input (δᵀ · input), "
            "its bias gradient sums δ over the samples. "
            "δ1 comes from sending δ2 back through W2 and multiplying by the sigmoid's "
            "derivative at the hidden layer."
        ),
        (
            "Forward: a1 = σ(x W1ᵀ + b1), z2 = a1 W2ᵀ + b2. Backward: δ2 = (softmax(z2) − t)/N; "
            "dW2 = δ2ᵀ a1, db2 = Σₙ δ2; δ1 = (δ2 W2) ⊙ a1 (1 − a1); dW1 = δ1ᵀ x, db1 = Σₙ δ1."
        ),
    ],
    mistakes=[
        Mistake(
            "sigma not derivative",
            lambda x, labels, W1, b1, W2, b2: _mlp(x, labels, W1, b1, W2, b2, prime=False),
            "δ1 was multiplied by σ (a1) instead of σ′ = a1 · (1 − a1), the sigmoid's derivative.",
        ),
        Mistake(
            "no 1/N",
            lambda x, labels, W1, b1, W2, b2: _mlp(x, labels, W1, b1, W2, b2, mean=False),
            "The 1/N is missing from δ2 = (softmax(z2) − t)/N: "
            "the loss is a mean over the samples.",
        ),
        Mistake(
            "sign",
            lambda x, labels, W1, b1, W2, b2: tuple(-g for g in _mlp(x, labels, W1, b1, W2, b2)),
            "Every gradient has the opposite sign: δ2 = (y − t)/N, probabilities minus targets.",
        ),
        Mistake(
            "no derivative",
            lambda x, labels, W1, b1, W2, b2: _mlp(x, labels, W1, b1, W2, b2, prime=None),
            "δ1 lacks the sigmoid's derivative a1 · (1 − a1): δ1 = (δ2 W2) ⊙ σ′.",
        ),
    ],
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
