"""Chapter 6 exercises: the two gradients of a convolution layer (one channel, stride 1).

The layer computes z = a ⋆ W + b ('valid' cross-correlation of its input activation
a = a^{l−1} with the k×k kernel W). Given δ = ∂L/∂z:

* ``conv_dW``    – ∂L/∂W = a ⋆ δ (cross-correlate the layer's *input* with δ);
* ``conv_delta`` – ∂L/∂a = δ padded by k − 1 on every side, cross-correlated with W
  rotated by 180° (a 'full' convolution of δ with W).
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _dw_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for (h, w), k in (((4, 4), 2), ((5, 5), 3), ((6, 7), 3), ((8, 8), 5), ((5, 6), 1)):
        cases.append({"a_prev": rng.normal(size=(h, w)),
                          "delta": rng.normal(size=(h - k + 1, w - k + 1))})
    return cases


@exercise(
    "conv_dW",
    cases=_dw_cases,
    hint="dW has the kernel's shape (H − Ho + 1, W − Wo + 1); "
         "dW[u, v] = sum(a_prev[u:u+Ho, v:v+Wo] * delta) – the input activation a^{l−1}, not z.",
)
def conv_dW(a_prev, delta):
    """∂L/∂W for z = a_prev ⋆ W (valid, stride 1): the cross-correlation a_prev ⋆ δ."""
    ho, wo = delta.shape
    kh = a_prev.shape[0] - ho + 1
    kw = a_prev.shape[1] - wo + 1
    dW = np.zeros((kh, kw))
    for u in range(kh):
        for v in range(kw):
            dW[u, v] = np.sum(a_prev[u:u + ho, v:v + wo] * delta)
    return dW


def _delta_cases(rng: np.random.Generator) -> list[dict]:
    cases = [{"delta": np.array([[1.0, 0.0], [0.0, 0.0]]), "kernel": np.arange(1.0, 10.0).reshape(3, 3)}]
    for (ho, wo), k in (((3, 3), 2), ((4, 4), 3), ((2, 5), 3), ((5, 5), 1), ((4, 6), (2, 3))):
        kh, kw = (k, k) if isinstance(k, int) else k
        cases.append({"delta": rng.normal(size=(ho, wo)), "kernel": rng.normal(size=(kh, kw))})
    return cases


@exercise(
    "conv_delta",
    cases=_delta_cases,
    hint="The result has the input's shape (Ho + kh − 1, Wo + kw − 1). Pad delta with kh − 1 "
         "rows / kw − 1 columns of zeros on each side, then cross-correlate with np.rot90(kernel, 2).",
)
def conv_delta(delta, kernel):
    """∂L/∂a_prev for z = a_prev ⋆ W: the full convolution of δ with the kernel."""
    kh, kw = kernel.shape
    padded = np.pad(delta, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    flipped = np.rot90(kernel, 2)
    out = np.zeros((delta.shape[0] + kh - 1, delta.shape[1] + kw - 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(padded[i:i + kh, j:j + kw] * flipped)
    return out
