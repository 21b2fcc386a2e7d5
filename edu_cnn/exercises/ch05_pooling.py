"""Chapter 5 exercises: max pooling forward and backward on one 2-D feature map."""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _pool_cases(rng: np.random.Generator) -> list[dict]:
    cases = [{"x": np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 1, 2], [0, 1, 3, 4]], float),
                  "size": 2, "stride": 2}]
    for shape, size, stride in (((6, 6), 2, 2), ((5, 7), 3, 2), ((6, 8), 2, 1), ((9, 9), 3, 3),
                                ((4, 6), 3, 1)):
        cases.append({"x": rng.normal(size=shape), "size": size, "stride": stride})
    return cases


@exercise(
    "maxpool_forward",
    cases=_pool_cases,
    hint="Output size ⌊(n − size)/stride⌋ + 1 per axis; out[i, j] is the maximum of "
         "x[i·stride : i·stride + size, j·stride : j·stride + size].",
)
def maxpool_forward(x, size, stride):
    """Max pooling of a 2-D array with a size×size window moving by ``stride``."""
    oh = (x.shape[0] - size) // stride + 1
    ow = (x.shape[1] - size) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = x[i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out


def _pool_backward_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for case in _pool_cases(rng):
        x, size, stride = case["x"], case["size"], case["stride"]
        oh = (x.shape[0] - size) // stride + 1
        ow = (x.shape[1] - size) // stride + 1
        cases.append({"x": x, "grad_out": rng.normal(size=(oh, ow)), "size": size, "stride": stride})
    return cases


@exercise(
    "maxpool_backward",
    cases=_pool_backward_cases,
    hint="Each window passes its gradient to the one position that held its maximum "
         "(np.argmax + np.unravel_index); every other position gets 0. Where windows overlap "
         "(stride < size) the contributions add up: use +=.",
)
def maxpool_backward(x, grad_out, size, stride):
    """∂L/∂x of max pooling: route each grad_out[i, j] to the arg-max of its window."""
    grad_x = np.zeros_like(x, dtype=float)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            r, c = np.unravel_index(np.argmax(window), window.shape)
            grad_x[i * stride + r, j * stride + c] += grad_out[i, j]
    return grad_x
