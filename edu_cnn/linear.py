r"""Fully connected layers (chapters 2–3) and ``Flatten`` (chapter 5).

``Linear`` computes :math:`y = x W^\top + b` for a batch ``x`` of shape (N, in) with
``W`` of shape (out, in), PyTorch's layout. Backward, with :math:`\delta = \partial L/\partial y`:

.. math::
    \frac{\partial L}{\partial W} = \delta^\top x, \qquad
    \frac{\partial L}{\partial b} = \textstyle\sum_n \delta_n, \qquad
    \frac{\partial L}{\partial x} = \delta W.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import init, threads
from .layer import Layer, Parameter
from .shapes import as_float_array, check_ndim, check_same_shape, positive_int


# -- reference implementations: one sample, one output at a time --------------------------
def linear_forward_reference(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None
) -> np.ndarray:
    """y[n, j] = Σ_i x[n, i]·W[j, i] + b[j], with plain loops."""
    n_samples, n_in = x.shape
    n_out = weight.shape[0]
    y = np.zeros((n_samples, n_out), dtype=np.result_type(x, weight))
    for n in range(n_samples):
        for j in range(n_out):
            total = 0.0 if bias is None else bias[j]
            for i in range(n_in):
                total += x[n, i] * weight[j, i]
            y[n, j] = total
    return y


def linear_backward_reference(
    grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dW, db) with plain loops, straight from the chain rule."""
    n_samples, n_in = x.shape
    n_out = weight.shape[0]
    dx = np.zeros_like(x, dtype=np.result_type(x, weight))
    dw = np.zeros_like(weight)
    db = np.zeros(n_out, dtype=weight.dtype)
    for n in range(n_samples):
        for j in range(n_out):
            g = grad_y[n, j]
            db[j] += g
            for i in range(n_in):
                dw[j, i] += g * x[n, i]
                dx[n, i] += g * weight[j, i]
    return dx, dw, db


# -- fast implementations: one matrix product each -------------------------------------
def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """The loops above are exactly the matrix product x Wᵀ (+ b broadcast over rows)."""
    threads.one_blas_thread()  # the same bits for any thread count (edu_cnn.threads)
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y


def linear_backward(
    grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray, input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dW = δᵀx sums over the batch inside the product; db sums δ over the batch;
    dx = δW, or ``None`` with ``input_grad=False``.
    """
    threads.one_blas_thread()  # as in linear_forward
    dx = grad_y @ weight if input_grad else None
    return dx, grad_y.T @ x, grad_y.sum(axis=0)


class Linear(Layer):
    """Fully connected layer ``y = x Wᵀ + b``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool
        Whether to learn an additive bias.
    rng : numpy Generator, optional
        Source of the initial weights (default: edu_cnn's seeded generator).

    Shapes: input (N, in_features) → output (N, out_features).

    ``needs_input_grad = False`` skips ∂L/∂x = δW in ``backward`` (which then returns
    ``None``), like ``Conv2d``'s flag: ``Sequential.backward`` sets it for its first layer
    unless asked for ∂L/∂x. dW and db are the same either way.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        in_features = positive_int(in_features, "in_features", "Linear")
        out_features = positive_int(out_features, "out_features", "Linear")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(
            np.empty((self.out_features, self.in_features), np.float32), "weight"
        )
        self.bias = Parameter(np.empty(self.out_features, np.float32), "bias") if bias else None
        init.default_init_(self.weight, self.bias, rng)
        self.needs_input_grad = True
        self._x: np.ndarray | None = None

    def _name(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, self._name())
        check_ndim(x, 2, self._name(), f"(N, {self.in_features})")
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"{self._name()}: expected input (N, {self.in_features}), got {tuple(x.shape)}"
                + (" – add a Flatten() before it" if x.ndim > 2 else "")
            )
        self._x = x
        return linear_forward(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        x = self._saved(self._x)
        grad_y = check_same_shape(grad_y, (x.shape[0], self.out_features), self._name())
        dx, dw, db = linear_backward(grad_y, x, self.weight.data, self.needs_input_grad)
        self.weight.grad = dw.astype(self.weight.data.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad = db.astype(self.bias.data.dtype, copy=False)
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(
                f"{self._name()}: expected input (N, {self.in_features}), got (N, "
                f"{', '.join(map(str, input_shape))})"
            )
        return (self.out_features,)

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
        }


class Flatten(Layer):
    """(N, C, H, W) → (N, C·H·W); backward reshapes δ back (chapter 5: flatten has no maths)."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "Flatten")
        if x.ndim < 2:
            raise ValueError(
                f"Flatten: expected input (N, …) with at least 2 axes, got {tuple(x.shape)}"
            )
        self._shape = x.shape
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))  # -1 fails for N = 0

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        shape = self._saved(self._shape)
        grad_y = check_same_shape(grad_y, (shape[0], int(np.prod(shape[1:]))), "Flatten")
        return grad_y.reshape(shape)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(np.prod(input_shape)),)
