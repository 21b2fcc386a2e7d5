r"""Random numbers and weight initialisation (chapter 3).

All randomness in edu_cnn – initial weights, dropout masks, shuffling – comes from one
generator that :func:`manual_seed` resets, so a notebook that starts with
``manual_seed(0)`` prints the same numbers every time.

Initialisers (PyTorch's names, ending in ``_`` because they change the parameter):

* Xavier / Glorot keeps the variance of activations and gradients equal across a layer
  with a symmetric activation (tanh, sigmoid):
  :math:`\operatorname{Var}(w) = \frac{2}{\text{fan}_\text{in} + \text{fan}_\text{out}}`.
* He / Kaiming compensates for ReLU zeroing half of its inputs:
  :math:`\operatorname{Var}(w) = \frac{2}{\text{fan}_\text{in}}`.

A uniform distribution on :math:`[-a, a]` has variance :math:`a^2/3`, which gives the
bounds used below.
"""

from __future__ import annotations

import math

import numpy as np

from .layer import Parameter

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reset edu_cnn's random generator (weights, dropout, shuffling)."""
    global _generator
    _generator = np.random.default_rng(seed)


def default_rng() -> np.random.Generator:
    """The generator edu_cnn draws from when no ``rng`` is passed."""
    return _generator


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``: (out, in) or (out, in, kh, kw)."""
    if len(shape) < 2:
        raise ValueError(f"fans: a weight needs at least 2 axes, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _array(p: Parameter | np.ndarray) -> np.ndarray:
    return p.data if isinstance(p, Parameter) else p


def _fill(p: Parameter | np.ndarray, values: np.ndarray) -> Parameter | np.ndarray:
    target = _array(p)
    target[...] = values.astype(target.dtype, copy=False)
    return p


def uniform_(p, low: float, high: float, rng: np.random.Generator | None = None):
    """Fill with U(low, high)."""
    rng = rng or _generator
    return _fill(p, rng.uniform(low, high, size=_array(p).shape))


def normal_(p, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None):
    """Fill with N(mean, std²)."""
    rng = rng or _generator
    return _fill(p, rng.normal(mean, std, size=_array(p).shape))


def zeros_(p):
    """Fill with zeros."""
    return _fill(p, np.zeros(_array(p).shape))


def xavier_uniform_(p, gain: float = 1.0, rng: np.random.Generator | None = None):
    """Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(_array(p).shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(p, -a, a, rng)


def xavier_normal_(p, gain: float = 1.0, rng: np.random.Generator | None = None):
    """Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(_array(p).shape)
    return normal_(p, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_uniform_(p, gain: float = math.sqrt(2.0), rng: np.random.Generator | None = None):
    """He uniform: U(−a, a) with a = gain·√(3 / fan_in); gain √2 suits ReLU."""
    fan_in, _ = fans(_array(p).shape)
    a = gain * math.sqrt(3.0 / fan_in)
    return uniform_(p, -a, a, rng)


def kaiming_normal_(p, gain: float = math.sqrt(2.0), rng: np.random.Generator | None = None):
    """He normal: N(0, σ²) with σ = gain / √fan_in; gain √2 suits ReLU."""
    fan_in, _ = fans(_array(p).shape)
    return normal_(p, 0.0, gain / math.sqrt(fan_in), rng)


def default_init_(
    weight: Parameter, bias: Parameter | None, rng: np.random.Generator | None = None
) -> None:
    """PyTorch's default for Linear and Conv2d: weight and bias U(−1/√fan_in, 1/√fan_in)."""
    fan_in, _ = fans(weight.shape)
    bound = 1.0 / math.sqrt(fan_in)
    uniform_(weight, -bound, bound, rng)
    if bias is not None:
        uniform_(bias, -bound, bound, rng)
