"""Chapter 6 exercises: the two gradients of a convolution layer (one channel, stride 1),
and the central-difference gradient that checks them.

The layer computes z = a ⋆ W + b ('valid' cross-correlation of its input activation
a = a^{l−1} with the k×k kernel W). Given δ = ∂L/∂z:

* ``conv_dW``    – ∂L/∂W = a ⋆ δ (cross-correlate the layer's *input* with δ);
* ``conv_delta`` – ∂L/∂a = δ padded by k − 1 on every side, cross-correlated with W
  rotated by 180° (a 'full' convolution of δ with W);
* ``numerical_gradient`` – (f(x + ε·e_i) − f(x − ε·e_i)) / 2ε for every element i of x.
"""

from __future__ import annotations

import numpy as np

from ..conv import correlate2d as _correlate  # 'valid' cross-correlation, for the known mistakes
from .checker import Mistake, exercise


def _dw_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        {
            "a_prev": np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 2.0]]),
            "delta": np.array([[1.0, 0.0], [2.0, -1.0]]),
        }
    ]
    for (h, w), k in (((4, 4), 2), ((5, 5), 3), ((6, 7), 3), ((8, 8), 5), ((5, 6), 1)):
        cases.append(
            {"a_prev": rng.normal(size=(h, w)), "delta": rng.normal(size=(h - k + 1, w - k + 1))}
        )
    return cases


@exercise(
    "conv_dW",
    cases=_dw_cases,
    hint="Weight W[u, v] meets, over all output positions, the input values that sit (u, v) "
    "away from each output's window corner – and each such product is weighted by that "
    "output's δ. dW has the kernel's shape.",
    hints=[
        (
            "dW has shape (H − Ho + 1, W − Wo + 1). dW[u, v] sums a_prev[i + u, j + v] · "
            "δ[i, j] over all output positions (i, j): "
            "slide δ over the layer's input a^{l−1} (not z) like a kernel, "
            "without flipping anything."
        ),
        "dW[u, v] = np.sum(a_prev[u:u+Ho, v:v+Wo] * delta) – the cross-correlation a_prev ⋆ δ.",
    ],
    mistakes=[
        Mistake(
            "rotated 180°",
            lambda a_prev, delta: np.rot90(_correlate(a_prev, delta), 2),
            "Your dW is the right one rotated by 180° – true convolution flips δ; dW is the "
            "cross-correlation a_prev ⋆ δ, nothing flipped.",
        ),
        Mistake(
            "convolution",
            lambda a_prev, delta: _correlate(a_prev, np.rot90(delta, 2)),
            "δ was rotated by 180° (a true convolution): dW = a_prev ⋆ δ, "
            "cross-correlation without flipping.",
        ),
        Mistake(
            "sign",
            lambda a_prev, delta: -_correlate(a_prev, delta),
            "dW has the opposite sign: dW = +a_prev ⋆ δ (gradient descent adds the minus later).",
        ),
        Mistake(
            "transposed",
            lambda a_prev, delta: _correlate(a_prev, delta).T,
            "dW is transposed: dW[u, v] pairs row offset u with column offset v.",
        ),
    ],
)
def conv_dW(a_prev, delta):
    """∂L/∂W for z = a_prev ⋆ W (valid, stride 1): the cross-correlation a_prev ⋆ δ."""
    ho, wo = delta.shape
    kh = a_prev.shape[0] - ho + 1
    kw = a_prev.shape[1] - wo + 1
    dW = np.zeros((kh, kw))
    for u in range(kh):
        for v in range(kw):
            dW[u, v] = np.sum(a_prev[u : u + ho, v : v + wo] * delta)
    return dW


def _full(delta, kernel):
    kh, kw = kernel.shape
    return _correlate(np.pad(delta, ((kh - 1, kh - 1), (kw - 1, kw - 1))), kernel)


def _delta_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        {"delta": np.array([[1.0, 0.0], [0.0, 2.0]]), "kernel": np.array([[1.0, 2.0], [3.0, 4.0]])},
        {"delta": np.array([[1.0, 0.0], [0.0, 0.0]]), "kernel": np.arange(1.0, 10.0).reshape(3, 3)},
    ]
    for (ho, wo), k in (((3, 3), 2), ((4, 4), 3), ((2, 5), 3), ((5, 5), 1), ((4, 6), (2, 3))):
        kh, kw = (k, k) if isinstance(k, int) else k
        cases.append({"delta": rng.normal(size=(ho, wo)), "kernel": rng.normal(size=(kh, kw))})
    return cases


@exercise(
    "conv_delta",
    cases=_delta_cases,
    hint="Every input value reached several outputs, each through a different kernel weight; "
    "collect δ back from all of them. The result has the input's shape.",
    hints=[
        (
            "a_prev[p, q] reached z[i, j] through W[p − i, q − j]. "
            "Summing δ[i, j] · W[p − i, q − j] is a cross-correlation of δ – "
            "padded with kh − 1 rows / kw − 1 columns of zeros on each side – "
            "with the kernel rotated by 180°."
        ),
        (
            "padded = np.pad(delta, ((kh-1, kh-1), (kw-1, kw-1))); cross-correlate padded with "
            "np.rot90(kernel, 2) ('valid') – the full convolution of δ with W."
        ),
    ],
    mistakes=[
        Mistake(
            "not rotated",
            lambda delta, kernel: _full(delta, kernel),
            "The kernel was not rotated by 180°: ∂L/∂a is the padded δ cross-correlated with "
            "np.rot90(kernel, 2).",
        ),
        Mistake(
            "one axis",
            lambda delta, kernel: _full(delta, kernel[::-1]),
            "The kernel was flipped on one axis only (upside down): rotate it by 180° – both axes.",
        ),
        Mistake(
            "other axis",
            lambda delta, kernel: _full(delta, kernel[:, ::-1]),
            "The kernel was flipped on one axis only (left–right): rotate it by 180° – both axes.",
        ),
        Mistake(
            "sign",
            lambda delta, kernel: -_full(delta, np.rot90(kernel, 2)),
            "The result has the opposite sign: δ flows back with a plus sign.",
        ),
    ],
)
def conv_delta(delta, kernel):
    """∂L/∂a_prev for z = a_prev ⋆ W: the full convolution of δ with the kernel."""
    kh, kw = kernel.shape
    padded = np.pad(delta, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    flipped = np.rot90(kernel, 2)
    out = np.zeros((delta.shape[0] + kh - 1, delta.shape[1] + kw - 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(padded[i : i + kh, j : j + kw] * flipped)
    return out


# -- a central-difference gradient ---------------------------------------------------------------
class ScalarFunction:
    """A named scalar function of an array, printed by its formula in a checker message."""

    def __init__(self, formula: str, f):
        self.formula, self.f = formula, f

    def __call__(self, x):
        return float(self.f(np.asarray(x, dtype=float)))

    def __repr__(self) -> str:
        return f"x ↦ {self.formula}"


def _difference(f, x, eps, kind="central", together=False, step=None):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    step = eps if step is None else step
    for index in np.ndindex(x.shape):
        e = np.ones_like(x) * step if together else np.zeros_like(x)
        if not together:
            e[index] = step
        if kind == "central":
            grad[index] = (f(x + e) - f(x - e)) / (2 * step)
        elif kind == "one eps":
            grad[index] = (f(x + e) - f(x - e)) / step
        else:
            grad[index] = (f(x + e) - f(x)) / step
    return grad


def _numerical_cases(rng: np.random.Generator) -> list[dict]:
    cubic = ScalarFunction("Σ x³", lambda x: np.sum(x**3))
    weights = rng.normal(size=(3, 4))
    cases = [
        {"f": cubic, "x": np.array([1.0, 2.0, -1.0])},
        {
            "f": ScalarFunction("x₀² · x₁", lambda x: x.flat[0] ** 2 * x.flat[1]),
            "x": np.array([3.0, -2.0]),
        },
        {"f": cubic, "x": np.array([[0.5, -1.5], [2.0, 1.0]]), "eps": 1e-3},
        {
            "f": ScalarFunction("Σ exp(x)", lambda x: np.sum(np.exp(x))),
            "x": rng.normal(size=(2, 3)),
            "eps": 1e-4,
        },
        {
            "f": ScalarFunction(
                "Σ sin(W ⊙ x)²  (W fixed)", lambda x: np.sum(np.sin(weights * x) ** 2)
            ),
            "x": rng.normal(size=(3, 4)),
        },
        {
            "f": ScalarFunction("log Σ exp(x)", lambda x: np.log(np.sum(np.exp(x)))),
            "x": rng.normal(size=5),
            "eps": 1e-3,
        },
    ]
    return cases


@exercise(
    "numerical_gradient",
    cases=_numerical_cases,
    hint="Nudge one element of x at a time, a little up and a little down, and see how much f "
    "changes – then put x back as it was.",
    hints=[
        (
            "For every index i (np.ndindex(x.shape)): set x[i] to x[i] + eps, evaluate f; "
            "set it to x[i] − eps, evaluate f; restore x[i]. "
            "The slope is the difference of the two values over the distance between the two "
            "points, 2·eps. The answer has x's shape."
        ),
        "grad[i] = (f(x + eps·e_i) − f(x − eps·e_i)) / (2 * eps), with x[i] restored afterwards.",
    ],
    rtol=1e-6,
    atol=1e-8,
    keep_inputs=True,
    mistakes=[
        Mistake(
            "forward difference",
            lambda f, x, eps=1e-5: _difference(f, x, eps, kind="forward"),
            "That is the forward difference (f(x + ε) − f(x)) / ε, accurate only to O(ε): use the "
            "central difference (f(x + ε) − f(x − ε)) / 2ε, accurate to O(ε²).",
        ),
        Mistake(
            "divided by eps",
            lambda f, x, eps=1e-5: _difference(f, x, eps, kind="one eps"),
            "Twice the slope: f(x + ε) and f(x − ε) are 2ε apart – divide by 2·eps.",
        ),
        Mistake(
            "all at once",
            lambda f, x, eps=1e-5: _difference(f, x, eps, together=True),
            "Every element was nudged at the same time, so each gets the same number: nudge one "
            "element at a time.",
        ),
        Mistake(
            "fixed eps",
            lambda f, x, eps=1e-5: _difference(f, x, eps, step=1e-5),
            "The step is not the eps you were given: use the parameter eps.",
        ),
    ],
)
def numerical_gradient(f, x, eps=1e-5):
    """Central-difference gradient of the scalar function f at x (an array, left unchanged)."""
    grad = np.zeros_like(x, dtype=float)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        f_plus = f(x)
        x[index] = old - eps
        f_minus = f(x)
        x[index] = old  # put it back
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad
