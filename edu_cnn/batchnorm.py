r"""Batch normalisation (批归一化): ``BatchNorm1d`` and ``BatchNorm2d``, PyTorch's layers.

For every channel :math:`c` the layer standardises its input over the batch (and, for
images, over all pixels), then rescales it with two trained numbers :math:`\gamma_c`
(``weight``) and :math:`\beta_c` (``bias``):

.. math::
    \mu_c = \frac{1}{m}\sum_j x_j, \qquad
    \sigma_c^2 = \frac{1}{m}\sum_j (x_j - \mu_c)^2, \qquad
    \hat x_j = \frac{x_j - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}, \qquad
    y_j = \gamma_c \hat x_j + \beta_c

where :math:`j` runs over the :math:`m` numbers of channel :math:`c` in the batch
(:math:`m = N` for (N, C) input, :math:`m = N·L` for (N, C, L), :math:`m = N·H·W` for
images).

**Training mode** uses the batch's :math:`\mu, \sigma^2` and updates the *running*
statistics (buffers, not trained) with ``momentum`` :math:`\alpha` – PyTorch's rule, with
the *unbiased* variance :math:`\frac{m}{m-1}\sigma^2`:

.. math::
    \hat\mu \leftarrow (1-\alpha)\hat\mu + \alpha\mu, \qquad
    \hat\sigma^2 \leftarrow (1-\alpha)\hat\sigma^2 + \alpha\tfrac{m}{m-1}\sigma^2

**Evaluation mode** (``model.eval()``) uses :math:`\hat\mu, \hat\sigma^2` instead, so the
output of one sample no longer depends on the rest of the batch, and the layer is a fixed
per-channel affine map – what ONNX's ``BatchNormalization`` computes.

Backward in training mode (the batch statistics depend on every input):

.. math::
    \frac{\partial L}{\partial x_j} = \frac{1}{m\sqrt{\sigma^2+\varepsilon}}
    \Big(m\, g_j - \sum_k g_k - \hat x_j \sum_k g_k \hat x_k\Big),
    \quad g_j = \gamma\,\frac{\partial L}{\partial y_j}

:func:`batch_norm_backward_reference` gets the same numbers step by step through
:math:`\partial L/\partial\sigma^2` and :math:`\partial L/\partial\mu`, with loops over
the channels; the tests hold the two equal and check both numerically.

Not supported (a clear error instead): ``momentum=None`` (PyTorch's cumulative average,
which needs an integer ``num_batches_tracked`` buffer; model files hold floats only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layer import Layer, Parameter
from .shapes import as_float_array, check_same_shape, positive_int


# ---------------------------------------------------------------------------------------
# Reference: one channel at a time, the formulas step by step
# ---------------------------------------------------------------------------------------
def _channel_values(x: np.ndarray, c: int) -> np.ndarray:
    """All m numbers of channel c in the batch, as a flat array (a copy)."""
    return np.moveaxis(x, 1, 0)[c].reshape(-1).copy()


def batch_norm_forward_reference(
    x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode batch norm with the batch's statistics, channel by channel.

    ``x`` is (N, C, …). Returns ``(y, mean, var)`` with the *biased* per-channel variance
    (the one used to normalise).
    """
    n_channels = x.shape[1]
    y = np.empty(x.shape, dtype=np.result_type(x, np.float32))
    means = np.empty(n_channels, y.dtype)
    variances = np.empty(n_channels, y.dtype)
    y_channels = np.moveaxis(y, 1, 0)
    for c in range(n_channels):
        values = _channel_values(x, c)
        m = values.size
        mean = sum(values) / m
        var = sum((v - mean) ** 2 for v in values) / m
        x_hat = (np.moveaxis(x, 1, 0)[c] - mean) / np.sqrt(var + eps)
        gamma = 1.0 if weight is None else weight[c]
        beta = 0.0 if bias is None else bias[c]
        y_channels[c] = gamma * x_hat + beta
        means[c], variances[c] = mean, var
    return y, means, variances


def batch_norm_backward_reference(
    grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""(dx, dγ, dβ) of training-mode batch norm by the chain rule through every step:

    x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β, with ∂L/∂σ², then ∂L/∂μ, then ∂L/∂x – each input
    reaches the loss directly, through μ, and through σ².
    """
    n_channels = x.shape[1]
    dtype = np.result_type(x, grad_y, np.float32)
    dx = np.empty(x.shape, dtype)
    dgamma = np.empty(n_channels, dtype)
    dbeta = np.empty(n_channels, dtype)
    dx_channels = np.moveaxis(dx, 1, 0)
    for c in range(n_channels):
        values = _channel_values(x, c)
        g = _channel_values(grad_y, c)
        m = values.size
        mean = values.sum() / m
        var = ((values - mean) ** 2).sum() / m
        std = np.sqrt(var + eps)
        x_hat = (values - mean) / std
        gamma = 1.0 if weight is None else weight[c]
        dbeta[c] = g.sum()
        dgamma[c] = (g * x_hat).sum()
        dx_hat = g * gamma
        dvar = (dx_hat * (values - mean)).sum() * -0.5 * (var + eps) ** -1.5
        dmean = -dx_hat.sum() / std + dvar * (-2.0 * (values - mean)).sum() / m
        grad = dx_hat / std + dvar * 2.0 * (values - mean) / m + dmean / m
        dx_channels[c] = grad.reshape(dx_channels[c].shape)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------
# Fast: whole-array reductions over every axis but the channel axis
# ---------------------------------------------------------------------------------------
def _axes(x: np.ndarray) -> tuple[int, ...]:
    return (0, *range(2, x.ndim))


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) array shaped (1, C, 1, …) to broadcast against an ndim-axis input."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_forward(
    x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode forward: ``(y, x_hat, mean, var)``; same numbers as the reference."""
    axes = _axes(x)
    mean = x.mean(axis=axes)
    centred = x - _per_channel(mean, x.ndim)
    var = np.mean(centred * centred, axis=axes)
    x_hat = centred * _per_channel(1.0 / np.sqrt(var + eps), x.ndim)
    y = x_hat if weight is None else x_hat * _per_channel(weight, x.ndim)
    if bias is not None:
        y = y + _per_channel(bias, x.ndim)
    return y, x_hat, mean, var


def batch_norm_backward(
    grad_y: np.ndarray,
    x_hat: np.ndarray,
    var: np.ndarray,
    weight: np.ndarray | None,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode backward in closed form (module docstring): ``(dx, dγ, dβ)``."""
    axes = _axes(grad_y)
    m = grad_y.size // grad_y.shape[1]
    dbeta = grad_y.sum(axis=axes)
    dgamma = np.sum(grad_y * x_hat, axis=axes)
    gamma = np.ones_like(var) if weight is None else weight
    # Σ_k g_k = γ·dβ and Σ_k g_k x̂_k = γ·dγ, so the sums are already there
    scale = _per_channel(gamma / (m * np.sqrt(var + eps)), grad_y.ndim)
    dx = scale * (
        m * grad_y - _per_channel(dbeta, grad_y.ndim) - x_hat * _per_channel(dgamma, grad_y.ndim)
    )
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------
class _BatchNorm(Layer):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input shapes they accept."""

    buffers = ("running_mean", "running_var")
    _layouts: tuple[int, ...] = ()
    _layout_text = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"{name}: eps must be a positive number, got {eps!r}")
        if momentum is None:
            raise ValueError(
                f"{name}: momentum=None (a cumulative average) is not supported; "
                f"give a number in [0, 1] such as PyTorch's default 0.1"
            )
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not 0 <= momentum <= 1
        ):
            raise ValueError(f"{name}: momentum must be a number in [0, 1], got {momentum!r}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        if self.affine:
            self.weight: Parameter | None = Parameter(
                np.ones(self.num_features, np.float32), "weight"
            )
            self.bias: Parameter | None = Parameter(np.zeros(self.num_features, np.float32), "bias")
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.running_mean = np.zeros(self.num_features, np.float32)
            self.running_var = np.ones(self.num_features, np.float32)
        else:
            self.buffers = ()  # nothing to save; always the batch's statistics
            self.running_mean = self.running_var = None
        self._cache: tuple[Any, ...] | None = None

    def _name(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def _check(self, x: np.ndarray) -> None:
        if x.ndim not in self._layouts or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self._name()}: expected input {self._layout_text} with "
                f"C = {self.num_features}, got shape {tuple(x.shape)}"
            )

    def _uses_batch_statistics(self) -> bool:
        return self.training or not self.track_running_stats

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, self._name())
        self._check(x)
        weight = None if self.weight is None else self.weight.data.astype(x.dtype, copy=False)
        bias = None if self.bias is None else self.bias.data.astype(x.dtype, copy=False)
        if self._uses_batch_statistics():
            m = x.size // x.shape[1]
            if m < 2:
                raise ValueError(
                    f"{self._name()}: training mode needs more than 1 value per "
                    f"channel (the batch variance of one number is 0), got input "
                    f"shape {tuple(x.shape)}; use a larger batch or model.eval()"
                )
            y, x_hat, mean, var = batch_norm_forward(x, weight, bias, self.eps)
            if self.training and self.track_running_stats:
                a = self.momentum
                dtype = self.running_mean.dtype
                self.running_mean = ((1 - a) * self.running_mean + a * mean).astype(dtype)
                self.running_var = ((1 - a) * self.running_var + a * var * (m / (m - 1))).astype(
                    dtype
                )
            self._cache = ("batch", x.shape, x_hat, var)
            return y
        inv_std = 1.0 / np.sqrt(self.running_var.astype(x.dtype) + self.eps)
        scale = inv_std if weight is None else weight * inv_std
        shift = -self.running_mean.astype(x.dtype) * scale
        if bias is not None:
            shift = shift + bias
        self._cache = ("running", x.shape, x, scale)
        return x * _per_channel(scale, x.ndim) + _per_channel(shift, x.ndim)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        kind, shape, saved, stat = self._saved(self._cache)
        grad_y = check_same_shape(grad_y, shape, self._name())
        if kind == "batch":
            weight = None if self.weight is None else self.weight.data
            dx, dgamma, dbeta = batch_norm_backward(grad_y, saved, stat, weight, self.eps)
        else:  # a fixed affine map y = scale·x + shift: each channel scaled
            axes = _axes(grad_y)
            x = saved
            dx = grad_y * _per_channel(stat, grad_y.ndim)
            dbeta = grad_y.sum(axis=axes)
            x_hat = (x - _per_channel(self.running_mean.astype(x.dtype), x.ndim)) / _per_channel(
                np.sqrt(self.running_var.astype(x.dtype) + self.eps), x.ndim
            )
            dgamma = np.sum(grad_y * x_hat, axis=axes)
        if self.weight is not None and self.bias is not None:
            self.weight.grad = dgamma.astype(self.weight.data.dtype, copy=False)
            self.bias.grad = dbeta.astype(self.bias.data.dtype, copy=False)
        return dx

    def config(self) -> dict[str, Any]:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
        }


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, PyTorch's ``nn.BatchNorm1d``.

    Parameters
    ----------
    num_features : int
        C, the number of features (channels).
    eps : float
        Added to the variance before the square root (default 1e-5).
    momentum : float
        Weight of the new batch in the running statistics (default 0.1).
    affine : bool
        Learn ``weight`` (γ, starts at 1) and ``bias`` (β, starts at 0).
    track_running_stats : bool
        Keep ``running_mean`` / ``running_var`` (buffers) for evaluation mode; without
        them the batch statistics are used in both modes.

    See the module docstring for the formulas.
    """

    _layouts = (2, 3)
    _layout_text = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W) per channel, PyTorch's ``nn.BatchNorm2d``.

    Parameters
    ----------
    num_features : int
        C, the number of channels (the C_out of the convolution before it).
    eps, momentum, affine, track_running_stats
        As :class:`BatchNorm1d`.

    Each channel's statistics are taken over the batch *and* every pixel (m = N·H·W).
    """

    _layouts = (4,)
    _layout_text = "(N, C, H, W)"
