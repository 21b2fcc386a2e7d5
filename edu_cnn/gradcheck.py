r"""Numerical gradient checking (chapter 6).

Backpropagation is easy to get almost right. The check compares the analytic gradient
from ``backward`` with central differences

.. math::
    \frac{\partial L}{\partial \theta_i} \approx
    \frac{L(\theta + \varepsilon e_i) - L(\theta - \varepsilon e_i)}{2\varepsilon},

whose error shrinks like :math:`\varepsilon^2`. Everything runs in float64: in float32 the
rounding error of :math:`L` divided by :math:`2\varepsilon` would drown the signal.

The relative error (相对误差) of one entry is :math:`|a - n| / \max(|a|, |n|, \tau)`. The
floor :math:`\tau` is a thousandth of the largest gradient entry of the same tensor (and at
least :math:`10^{-12}`): central differences carry an absolute rounding error of about
:math:`10^{-16}/\varepsilon`, so an entry a million times smaller than its neighbours cannot
be resolved relative to itself.

One set of thresholds, used by :attr:`GradcheckResult.verdict` and
:meth:`GradcheckResult.passed` (rules of thumb as in CS231n):

=====================  ===========================================================
max relative error     verdict
=====================  ===========================================================
below ``GOOD`` = 1e-7  ``"correct"``
1e-7 … ``KINK`` = 1e-4 ``"suspicious"`` – acceptable only next to a kink (ReLU at 0,
                       a tie in a max pool) of the checked point
1e-4 … ``WRONG`` = 1e-2 ``"probably wrong"``
above 1e-2             ``"wrong"``
=====================  ===========================================================

To check a layer ``f`` we need a scalar. ``L = Σ y ⊙ r`` with a fixed random ``r`` is
better than ``Σ y``: the plain sum would hide mistakes that cancel (the rows of a
softmax always sum to 1, so ``Σ y`` has gradient 0 whatever ``backward`` does).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layer import Layer
from .sequential import Sequential

GOOD = 1e-7
"""Below this the gradient is ``"correct"``."""
KINK = 1e-4
"""Up to this an error is acceptable next to a kink (ReLU at 0, a max-pool tie)."""
WRONG = 1e-2
"""Above this the gradient is ``"wrong"``."""


@dataclass
class GradcheckResult:
    """The outcome of a gradient check.

    Attributes
    ----------
    max_rel_error : the worst relative error over every checked entry.
    where : which entry, e.g. ``"weight[2, 0, 1, 1]"`` or ``"input[0, 3]"``.
    errors : the worst relative error of each tensor by name.
    checked : how many entries were compared.
    """

    max_rel_error: float
    where: str
    errors: dict[str, float] = field(default_factory=dict)
    checked: int = 0

    def passed(self, threshold: float = GOOD) -> bool:
        """True when the worst relative error is below ``threshold`` – by default ``GOOD``
        (1e-7), the bound of the ``"correct"`` verdict; pass ``KINK`` (1e-4) for a check
        that sits next to a kink.
        """
        return self.max_rel_error < threshold

    @property
    def verdict(self) -> str:
        """``"correct"`` (< 1e-7), ``"suspicious"`` (< 1e-4: fine only next to a kink),
        ``"probably wrong"`` (< 1e-2) or ``"wrong"``.
        """
        if self.max_rel_error < GOOD:
            return "correct"
        if self.max_rel_error < KINK:
            return "suspicious"
        if self.max_rel_error < WRONG:
            return "probably wrong"
        return "wrong"

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {v:.1e}" for k, v in self.errors.items())
        return (
            f"max relative error {self.max_rel_error:.2e} at {self.where} – {self.verdict}"
            f" ({self.checked} entries; {parts})"
        )


def relative_error(
    analytic: np.ndarray, numeric: np.ndarray, floor: float | None = None
) -> np.ndarray:
    """|a − n| / max(|a|, |n|, floor), entry by entry; ``floor`` defaults to a thousandth of
    the largest |a| or |n| (and at least 1e-12).
    """
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    if floor is None:
        floor = max(1e-12, 1e-3 * float(scale.max())) if scale.size else 1e-12
    return np.abs(analytic - numeric) / np.maximum(scale, floor)


_STREAM = 0x6772616463686B  # "gradchk": keeps gradcheck's random numbers apart from a user's


def _entries(size: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or size <= limit:
        return np.arange(size)
    return np.sort(rng.choice(size, size=limit, replace=False))


def _record(
    result: dict[str, Any],
    name: str,
    analytic: np.ndarray,
    numeric: np.ndarray,
    flat_indices: np.ndarray,
    shape: tuple[int, ...],
) -> None:
    errors = relative_error(analytic, numeric)
    worst = int(np.argmax(errors)) if errors.size else 0
    value = float(errors[worst]) if errors.size else 0.0
    result["errors"][name] = value
    result["checked"] += errors.size
    if value >= result["max"]:
        index = np.unravel_index(int(flat_indices[worst]), shape) if errors.size else ()
        result["max"] = value
        result["where"] = f"{name}[{', '.join(str(int(i)) for i in index)}]"


def _numeric_gradient(flat: np.ndarray, idx: np.ndarray, loss: Any, eps: float) -> np.ndarray:
    """Central differences of ``loss()`` for the entries ``idx`` of ``flat`` (changed in place
    and restored): (L(θ + ε) − L(θ − ε)) / 2ε.
    """
    numeric = np.empty(idx.size)
    for k, i in enumerate(idx):
        saved = flat[i]
        flat[i] = saved + eps
        plus = loss()
        flat[i] = saved - eps
        minus = loss()
        flat[i] = saved
        numeric[k] = (plus - minus) / (2 * eps)
    return numeric


def gradcheck(
    layer: Layer,
    x: np.ndarray,
    eps: float = 1e-5,
    seed: int = 0,
    max_entries: int | None = None,
    check_input: bool = True,
) -> GradcheckResult:
    """Compare ``layer.backward`` with central differences, in float64.

    Parameters
    ----------
    layer : Layer
        Any layer or ``Sequential``; it is copied and converted to float64, the original
        is not touched.
    x : array
        The input at which to check.
    eps : float
        The finite-difference step.
    seed : int
        Seed of the random projection ``r`` and of the sampled entries.
    max_entries : int, optional
        Check at most this many randomly chosen entries of each tensor (large layers).
    check_input : bool
        Also check ∂L/∂x (turn off for integer-valued inputs).

    Returns
    -------
    GradcheckResult
        The worst relative error and where it is.
    """
    if not isinstance(layer, Layer):
        raise ValueError(f"gradcheck: expected a Layer, got {type(layer).__name__}")
    # A stream of its own, not default_rng(seed): a student's data drawn with the same seed
    # (x = default_rng(0).standard_normal(...)) would then be r itself, and for a layer
    # that normalises its input, L = Σ BatchNorm(x)·x hardly changes with x – ∂L/∂x ≈ 0,
    # and the relative error would measure nothing but rounding.
    rng = np.random.default_rng((_STREAM, seed))
    model = copy.deepcopy(layer).astype(np.float64)
    x = np.array(x, dtype=np.float64)
    y = model.forward(x)
    r = rng.standard_normal(np.shape(y))

    def loss() -> float:  # x and the parameters are perturbed in place
        return float(np.sum(model.forward(x) * r))

    model.forward(x)
    if isinstance(model, Sequential):  # a Sequential computes ∂L/∂x only when asked
        grad_x = model.backward(r.copy(), input_grad=True)
    else:
        grad_x = model.backward(r.copy())
    analytic = {name: p.grad.copy() for name, p in model.named_parameters().items()}
    result: dict[str, Any] = {"max": 0.0, "where": "nothing checked", "errors": {}, "checked": 0}

    if check_input:
        idx = _entries(x.size, max_entries, rng)
        numeric = _numeric_gradient(x.reshape(-1), idx, loss, eps)
        _record(result, "input", np.asarray(grad_x).reshape(-1)[idx], numeric, idx, x.shape)

    for name, p in model.named_parameters().items():
        idx = _entries(p.size, max_entries, rng)
        numeric = _numeric_gradient(p.data.reshape(-1), idx, loss, eps)
        _record(result, name, analytic[name].reshape(-1)[idx], numeric, idx, p.shape)

    return GradcheckResult(result["max"], result["where"], result["errors"], result["checked"])


def gradcheck_loss(
    loss_fn: Any, prediction: np.ndarray, target: np.ndarray, eps: float = 1e-5
) -> GradcheckResult:
    """Compare ``loss_fn.backward()`` with central differences over ``prediction``, in float64."""
    fn = copy.deepcopy(loss_fn)
    pred = np.array(prediction, dtype=np.float64)
    target = (
        np.array(target, dtype=np.float64)
        if np.issubdtype(np.asarray(target).dtype, np.floating)
        else np.asarray(target)
    )
    fn(pred, target)
    analytic = np.asarray(fn.backward(), dtype=np.float64)
    numeric = _numeric_gradient(
        pred.reshape(-1), np.arange(pred.size), lambda: fn(pred, target), eps
    )
    result: dict[str, Any] = {"max": 0.0, "where": "nothing checked", "errors": {}, "checked": 0}
    _record(result, "prediction", analytic.reshape(-1), numeric, np.arange(pred.size), pred.shape)
    return GradcheckResult(result["max"], result["where"], result["errors"], result["checked"])
