r"""Activation functions (chapters 1 and 3) as functions and as layers.

Each activation is applied element by element, so its backward pass multiplies the
incoming gradient by the derivative at each element:
:math:`\partial L/\partial z = \partial L/\partial a \odot f'(z)`.

============  =================================  ======================================
name          :math:`f(z)`                       :math:`f'(z)`
============  =================================  ======================================
step          :math:`[z \ge 0]`                  0 (almost everywhere – why the
                                                 perceptron cannot use gradients)
sigmoid       :math:`1/(1+e^{-z})`               :math:`f(z)\,(1-f(z))`
tanh          :math:`\tanh z`                    :math:`1-f(z)^2`
ReLU          :math:`\max(0, z)`                 :math:`[z > 0]`
leaky ReLU    :math:`z` if :math:`z>0` else      1 if :math:`z>0` else :math:`\alpha`
              :math:`\alpha z`
============  =================================  ======================================

``Softmax`` is not element-wise: :math:`s_i = e^{z_i}/\sum_j e^{z_j}` and its backward
pass is :math:`\partial L/\partial z_i = s_i\,(g_i - \sum_j g_j s_j)` with
:math:`g = \partial L/\partial s`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import threads
from .layer import Layer
from .shapes import as_float_array, check_same_shape


# -- the functions ----------------------------------------------------------------------
def step(z: np.ndarray) -> np.ndarray:
    """The perceptron's threshold: 1 where z ≥ 0, else 0."""
    return (np.asarray(z) >= 0).astype(np.float32)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^{−z}), computed without overflow for large |z|."""
    z = np.asarray(z)
    # e^{-|z|} never overflows; for z < 0 use the equal form e^{z} / (1 + e^{z}).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(z, np.float32))


def relu(z: np.ndarray) -> np.ndarray:
    """max(0, z)."""
    return np.maximum(z, 0)


def leaky_relu(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """z for z > 0, negative_slope·z otherwise."""
    return np.where(z > 0, z, z * negative_slope)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^{z_i} / Σ_j e^{z_j} along ``axis``; subtracting the max first changes nothing
    mathematically (it cancels in the ratio) and prevents overflow.
    """
    z = np.asarray(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


# -- reference versions: one element (or one row) at a time ------------------------------
_SCALAR: dict[str, tuple[Callable[..., float], Callable[..., float]]] = {
    # name: (f(z), f'(z)) for one number, straight from the table in the docstring
    "ReLU": (lambda z, a: z if z > 0 else 0.0, lambda z, a: 1.0 if z > 0 else 0.0),
    "LeakyReLU": (lambda z, a: z if z > 0 else a * z, lambda z, a: 1.0 if z > 0 else a),
    "Sigmoid": (
        lambda z, a: 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z)),
        lambda z, a: (s := _SCALAR["Sigmoid"][0](z, a)) * (1.0 - s),
    ),
    "Tanh": (lambda z, a: math.tanh(z), lambda z, a: 1.0 - math.tanh(z) ** 2),
}


def activation_forward_reference(
    name: str, z: np.ndarray, negative_slope: float = 0.01
) -> np.ndarray:
    """Apply activation ``name`` (ReLU, LeakyReLU, Sigmoid, Tanh) element by element."""
    f = _SCALAR[name][0]
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        out[index] = f(float(value), negative_slope)
    return out


def activation_backward_reference(
    name: str, grad_a: np.ndarray, z: np.ndarray, negative_slope: float = 0.01
) -> np.ndarray:
    """∂L/∂z = ∂L/∂a · f'(z), element by element."""
    df = _SCALAR[name][1]
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        out[index] = grad_a[index] * df(float(value), negative_slope)
    return out


def softmax_forward_reference(z: np.ndarray) -> np.ndarray:
    """Softmax of each row of a 2-D array with plain loops."""
    out = np.empty_like(z)
    for n in range(z.shape[0]):
        top = max(z[n])
        exps = [math.exp(v - top) for v in z[n]]
        total = sum(exps)
        for i, e in enumerate(exps):
            out[n, i] = e / total
    return out


def softmax_backward_reference(grad_s: np.ndarray, s: np.ndarray) -> np.ndarray:
    """∂L/∂z_i = Σ_j g_j ∂s_j/∂z_i with the full Jacobian ∂s_j/∂z_i = s_j([i=j] − s_i)."""
    out = np.zeros_like(s)
    for n in range(s.shape[0]):
        for i in range(s.shape[1]):
            for j in range(s.shape[1]):
                jacobian = s[n, j] * ((1.0 if i == j else 0.0) - s[n, i])
                out[n, i] += grad_s[n, j] * jacobian
    return out


# -- layers ------------------------------------------------------------------------------
class _Elementwise(Layer):
    """Shared plumbing of the element-wise activations: keep what backward needs."""

    def __init__(self) -> None:
        super().__init__()
        self._saved_array: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, type(self).__name__)
        y, self._saved_array = self._forward(x)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        saved = self._saved(self._saved_array)
        grad_y = check_same_shape(grad_y, saved.shape, type(self).__name__)
        return self._backward(grad_y, saved)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _backward(self, grad_y: np.ndarray, saved: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def _relu_fast(x: np.ndarray) -> np.ndarray:
    """``np.maximum(x, 0)`` – the same bits – 2–3× faster on a big array, on every core.

    numpy's maximum of an array and a *scalar* runs a slower loop (1.0 ms on LeNet's first
    feature maps at batch 256, one thread, on the machine the course was timed on) than
    its loop for two contiguous arrays, which it runs here against a row of zeros
    broadcast over the rows of a 2-D view of the array (0.3–0.5 ms). Each element is
    still ``maximum(x, 0)``: the same bits, NaN and −0 included (tested on x86-64). The
    rows are independent, so threads share them out (``edu_cnn.threads``).
    """
    row = _RELU_ROW
    if x.size < 16 * row:  # small: the plain call is cheaper than arranging the rows
        return np.maximum(x, 0)
    # x's axes outermost first in memory; if x is one contiguous block in that order (any
    # layer's output is), its elements in memory order are a flat view – else no fast path
    order = sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))
    x_mem = x.transpose(order)
    if not x_mem.flags.c_contiguous or not x.dtype.isnative:
        return np.maximum(x, 0)
    y = np.empty_like(x)  # the same memory order as x
    y_mem = y.transpose(order)
    if not y_mem.flags.c_contiguous:
        return np.maximum(x, 0)
    x_flat, y_flat = x_mem.reshape(-1), y_mem.reshape(-1)
    rows = x.size // row
    x_rows = x_flat[: rows * row].reshape(rows, row)
    y_rows = y_flat[: rows * row].reshape(rows, row)
    zeros = np.zeros((1, row), x.dtype)

    def piece(part: slice) -> None:
        np.maximum(x_rows[part], zeros, out=y_rows[part])

    threads.run(piece, threads.pieces(rows, x.size))
    np.maximum(x_flat[rows * row :], 0, out=y_flat[rows * row :])  # the last, partial row
    return y


_RELU_ROW = 1024


class ReLU(_Elementwise):
    """max(0, z); backward lets δ through where the output is positive."""

    def _forward(self, x):
        y = _relu_fast(x)  # np.maximum(x, 0), bit for bit
        return y, y

    def _backward(self, grad_y, y):
        # y > 0 exactly where z > 0, so the saved output is enough for the mask.
        # δ·[y > 0]: multiplying by the boolean mask is ~7× faster than np.where here
        return np.multiply(grad_y, y > 0)


class LeakyReLU(_Elementwise):
    """z for z > 0, ``negative_slope``·z otherwise (keeps a small gradient for z < 0)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not isinstance(negative_slope, (int, float)) or negative_slope < 0:
            raise ValueError(
                f"LeakyReLU: negative_slope must be a number ≥ 0, got {negative_slope!r}"
            )
        self.negative_slope = float(negative_slope)

    def _forward(self, x):
        return leaky_relu(x, self.negative_slope).astype(x.dtype, copy=False), x

    def _backward(self, grad_y, x):
        return np.where(x > 0, grad_y, grad_y * self.negative_slope).astype(
            grad_y.dtype, copy=False
        )

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class Sigmoid(_Elementwise):
    """σ(z) = 1/(1+e^{−z}); σ'(z) = σ(z)(1 − σ(z)), computed from the saved output."""

    def _forward(self, x):
        y = sigmoid(x).astype(x.dtype, copy=False)
        return y, y

    def _backward(self, grad_y, y):
        return grad_y * y * (1 - y)


class Tanh(_Elementwise):
    """tanh(z); tanh'(z) = 1 − tanh²(z), computed from the saved output."""

    def _forward(self, x):
        y = np.tanh(x)
        return y, y

    def _backward(self, grad_y, y):
        return grad_y * (1 - y * y)


class Softmax(Layer):
    """Softmax along ``dim`` (the class axis, 1 for (N, C) logits).

    To train a classifier, prefer ``CrossEntropyLoss`` on the logits: it fuses softmax
    and the loss, whose gradient is simply y − t.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise ValueError(f"Softmax: dim must be an integer axis, got {dim!r}")
        self.dim = int(dim)
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "Softmax")
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(
                f"Softmax(dim={self.dim}): input of shape {tuple(x.shape)} has no axis {self.dim}"
            )
        self._y = softmax(x, axis=self.dim)
        return self._y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        s = self._saved(self._y)
        grad_y = check_same_shape(grad_y, s.shape, "Softmax")
        # Jacobian-vector product of the loops above: s_i (g_i − Σ_j g_j s_j).
        return s * (grad_y - (grad_y * s).sum(axis=self.dim, keepdims=True))

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}


def activation_layer(name: str) -> Layer:
    """A new activation layer from its name: 'relu', 'leaky_relu', 'sigmoid' or 'tanh'."""
    key = name.lower().replace("-", "_").replace(" ", "_")
    if key not in ACTIVATIONS:
        raise ValueError(
            f"activation_layer: unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[key]()
