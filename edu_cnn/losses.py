r"""Loss functions (损失函数) and their gradients (chapters 2–3).

A loss turns the network's output and the target into one non-negative number that is
small when the prediction is good – not the raw difference :math:`f(w) - Y` of seed note
000, which can be negative and so cannot be minimised. Every loss here works like
PyTorch's: ``loss = loss_fn(pred, target)`` returns a Python float and remembers what it
needs; ``loss_fn.backward()`` then returns :math:`\partial L / \partial \text{pred}` with
the shape and dtype of ``pred``, the :math:`\delta` that starts backpropagation.

Notation: a batch of :math:`N` samples, prediction :math:`p` (or logits :math:`z`),
target :math:`t`; with ``reduction='mean'`` the loss is averaged, with ``'sum'`` summed.

Mean squared error (均方误差), ``MSELoss``
    .. math:: L = \frac{1}{M} \sum_i (p_i - t_i)^2, \qquad
              \frac{\partial L}{\partial p_i} = \frac{2}{M} (p_i - t_i),

    where :math:`M` counts every element (PyTorch's convention; with one output per
    sample :math:`M = N`). Some texts put a :math:`\tfrac12` in front to cancel the 2.

Binary cross-entropy (二元交叉熵), ``BCELoss`` on probabilities :math:`p \in [0, 1]`
    .. math:: L = -\frac{1}{M} \sum_i \big[t_i \log p_i + (1 - t_i) \log(1 - p_i)\big],
              \qquad
              \frac{\partial L}{\partial p_i} = \frac{1}{M}\Big(-\frac{t_i}{p_i}
              + \frac{1 - t_i}{1 - p_i}\Big) = \frac{1}{M} \frac{p_i - t_i}{p_i (1 - p_i)}.

    As in PyTorch each logarithm is clamped at :math:`-100`, so :math:`p = 0` or
    :math:`1` gives a large but finite loss.

Binary cross-entropy on logits, ``BCEWithLogitsLoss``
    With :math:`p = \sigma(z) = 1/(1 + e^{-z})` and :math:`\sigma'(z) = p(1 - p)` the
    chain rule cancels the awkward denominator above:

    .. math:: \frac{\partial L}{\partial z_i}
              = \frac{1}{M} \frac{p_i - t_i}{p_i (1 - p_i)} \, p_i (1 - p_i)
              = \frac{1}{M} (\sigma(z_i) - t_i).

    The loss itself is computed as :math:`\max(z, 0) - z t + \log(1 + e^{-|z|})`, which
    equals :math:`-[t \log\sigma(z) + (1 - t)\log(1 - \sigma(z))]` but never overflows
    and never takes the log of 0.

Softmax with cross-entropy (交叉熵), ``CrossEntropyLoss`` on (N, C) logits :math:`z`
    For one sample, :math:`y_k = e^{z_k} / \sum_j e^{z_j}` (softmax) and
    :math:`L = -\sum_k t_k \log y_k`, where :math:`t` is the one-hot vector of the label
    (or any probability vector). The softmax Jacobian is
    :math:`\partial y_k / \partial z_j = y_k(\delta_{kj} - y_j)`, so for **every** class
    :math:`j`

    .. math:: \frac{\partial L}{\partial z_j}
              = -\sum_k \frac{t_k}{y_k}\, y_k (\delta_{kj} - y_j)
              = -t_j + y_j \sum_k t_k = y_j - t_j .

    For the true class :math:`c` this is :math:`y_c - 1 < 0` (push its logit up); for
    every other class it is :math:`y_j - 0 = y_j > 0` (push those logits down). Seed
    note 004 keeps only the first case; the full gradient is the vector :math:`y - t`.
    Over a batch with ``reduction='mean'`` it is divided by :math:`N`. The code uses the
    general form :math:`y_j \sum_k t_k - t_j`, exact also for targets whose rows do not
    sum to one. The log-softmax is computed stably as
    :math:`\log y_k = (z_k - m) - \log\sum_j e^{z_j - m}` with :math:`m = \max_j z_j`.

Every loss checks its input at the door and raises ``ValueError`` naming the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import sigmoid
from .shapes import as_float_array

_REDUCTIONS = ("mean", "sum")


# -- stable building blocks ------------------------------------------------------------------
def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Stable :math:`\log \operatorname{softmax}(z)` along ``axis``.

    Subtracting the maximum first changes nothing mathematically (the factor
    :math:`e^{-m}` cancels in the fraction) but keeps every exponent :math:`\le 0`.
    """
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _first(mask: np.ndarray) -> tuple[tuple[int, ...], Any]:
    """The first True entry of ``mask``: its index tuple, and how to print it (a plain
    number for 1-D arrays).
    """
    bad = tuple(int(i) for i in np.argwhere(mask)[0])
    return bad, bad[0] if len(bad) == 1 else bad


# -- the shared part of every loss -------------------------------------------------------------
class Loss:
    """Base class: ``loss_fn(pred, target)`` → float, ``loss_fn.backward()`` → ∂L/∂pred.

    Parameters
    ----------
    reduction : {'mean', 'sum'}
        Average the per-element (per-sample for ``CrossEntropyLoss``) losses or add them.
    """

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction
        self._cache: Any = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def __call__(self, pred: Any, target: Any) -> float:
        return self.forward(pred, target)

    def forward(self, pred: Any, target: Any) -> float:  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.name} does not implement forward()")

    def backward(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.name} does not implement backward()")

    def __repr__(self) -> str:
        return f"{self.name}(reduction={self.reduction!r})"

    # -- checks at the door ------------------------------------------------------------
    def _saved(self) -> Any:
        if self._cache is None:
            raise ValueError(f"{self.name}: backward() called before forward()")
        return self._cache

    def _float_input(self, x: Any, what: str) -> np.ndarray:
        """``x`` as a float array without NaN or inf (else a message pointing at one)."""
        x = as_float_array(x, f"{self.name} ({what})")
        if x.size == 0:
            raise ValueError(
                f"{self.name}: the {what} are empty (shape {tuple(x.shape)}); a "
                f"loss needs at least one example"
            )
        if not np.isfinite(x).all():
            bad, index = _first(~np.isfinite(x))
            raise ValueError(
                f"{self.name}: the {what} contain {x[bad]} at index {index}; a loss needs "
                f"finite numbers (a NaN or inf usually means training diverged – try a "
                f"smaller learning rate)"
            )
        return x

    def _check_unit_interval(self, values: np.ndarray, what: str, hint: str = "") -> None:
        """Raise, pointing at the first offender, unless every value lies in [0, 1]."""
        outside = (values < 0) | (values > 1)
        if outside.any():
            bad, index = _first(outside)
            raise ValueError(
                f"{self.name}: {what} must lie in [0, 1], got {values[bad]} at index {index}{hint}"
            )

    def _check_same_shape(self, pred: np.ndarray, target: np.ndarray, what: str) -> np.ndarray:
        """The target in ``pred``'s shape; an (N,) target also fits an (N, 1) prediction."""
        if target.shape == pred.shape:
            return target
        if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
            return target.reshape(pred.shape)
        raise ValueError(
            f"{self.name}: expected {what} of the prediction's shape {tuple(pred.shape)}, "
            f"got {tuple(target.shape)}"
        )

    def _reduce(self, total: float, count: int) -> float:
        return total / count if self.reduction == "mean" else total


class MSELoss(Loss):
    r"""Mean squared error :math:`\frac1M\sum_i (p_i - t_i)^2` over all :math:`M` elements.

    ``pred`` and ``target`` have the same shape. An (N,) target against an (N, 1)
    prediction is refused with a clear message: PyTorch would silently broadcast the pair to
    N×N differences. ``backward()`` returns :math:`2(p - t)/M` (``'sum'``: :math:`2(p - t)`).
    """

    def forward(self, pred: Any, target: Any) -> float:
        pred = self._float_input(pred, "predictions")
        target = self._float_input(target, "targets")
        if target.shape != pred.shape:
            hint = ""
            if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
                hint = (
                    f"; PyTorch's MSELoss would broadcast these to {pred.shape[0]}×"
                    f"{pred.shape[0]} differences, so edu_cnn refuses the pair – pass "
                    f"the target as y.reshape(-1, 1) (shape {tuple(pred.shape)})"
                )
            raise ValueError(
                f"{self.name}: expected targets of the prediction's shape "
                f"{tuple(pred.shape)}, got {tuple(target.shape)}{hint}"
            )
        diff = pred - target.astype(pred.dtype, copy=False)
        self._cache = (diff, pred.size)
        return float(self._reduce(float(np.dot(diff.ravel(), diff.ravel())), pred.size))

    def backward(self) -> np.ndarray:
        diff, count = self._saved()
        scale = 2.0 / count if self.reduction == "mean" else 2.0
        return diff * scale


class BCELoss(Loss):
    r"""Binary cross-entropy on probabilities :math:`p \in [0, 1]` (after a ``Sigmoid``).

    Targets are in :math:`[0, 1]` too (0/1 labels or soft labels), of ``pred``'s shape
    (an (N,) target also fits an (N, 1) prediction). Prefer ``BCEWithLogitsLoss`` on the
    logits: it is exact where this one has to clamp.
    """

    _EPS = 1e-12  # keeps p(1 - p) away from 0 in backward, as PyTorch does

    def forward(self, pred: Any, target: Any) -> float:
        p = self._float_input(pred, "probabilities")
        t = self._check_same_shape(p, self._float_input(target, "targets"), "targets")
        self._check_unit_interval(
            p, "probabilities", " – did you forget the Sigmoid, or mean BCEWithLogitsLoss?"
        )
        self._check_unit_interval(t, "targets")
        t = t.astype(p.dtype, copy=False)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_1mp = np.maximum(np.log1p(-p), -100.0)
        total = -float((t * log_p + (1 - t) * log_1mp).sum())
        self._cache = (p, t)
        return float(self._reduce(total, p.size))

    def backward(self) -> np.ndarray:
        p, t = self._saved()
        grad = (p - t) / np.maximum(p * (1 - p), self._EPS)
        if self.reduction == "mean":
            grad /= p.size
        return grad.astype(p.dtype, copy=False)


class BCEWithLogitsLoss(Loss):
    r"""Binary cross-entropy on logits :math:`z` (no ``Sigmoid`` before it), stable.

    Targets in :math:`[0, 1]` of the logits' shape (an (N,) target also fits (N, 1)
    logits). ``backward()`` returns :math:`(\sigma(z) - t)/M`.
    """

    def forward(self, pred: Any, target: Any) -> float:
        z = self._float_input(pred, "logits")
        t = self._check_same_shape(z, self._float_input(target, "targets"), "targets")
        self._check_unit_interval(t, "targets")
        t = t.astype(z.dtype, copy=False)
        total = float((np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).sum())
        self._cache = (z, t)
        return float(self._reduce(total, z.size))

    def backward(self) -> np.ndarray:
        z, t = self._saved()
        grad = sigmoid(z) - t
        if self.reduction == "mean":
            grad /= z.size
        return grad


class CrossEntropyLoss(Loss):
    r"""Softmax and cross-entropy in one, on logits of shape (N, C).

    Parameters
    ----------
    reduction : {'mean', 'sum'}
        Average over the N samples or add.

    Targets are either integer class labels of shape (N,) with values in ``[0, C)`` or
    one-hot / probability rows of shape (N, C) with values in [0, 1]. Integer-valued
    float labels (``3.0``) are accepted; ``2.5`` is not. ``backward()`` returns
    :math:`(\operatorname{softmax}(z) - t)/N`: for each sample, :math:`y - t` over every
    class (see the module docstring for the derivation).
    """

    def forward(self, pred: Any, target: Any) -> float:
        z = self._float_input(pred, "logits")
        if z.ndim != 2:
            hint = " – for one sample use logits.reshape(1, -1)" if z.ndim == 1 else ""
            raise ValueError(
                f"{self.name}: expected logits (N, C) with 2 axes, got shape {tuple(z.shape)}{hint}"
            )
        n, c = z.shape
        if c < 2:
            raise ValueError(
                f"{self.name}: expected logits (N, C) with C ≥ 2 classes, got {tuple(z.shape)}"
                f" – for one binary output use BCEWithLogitsLoss"
            )
        t = np.asarray(target)
        if t.ndim == 0 or t.shape[0] != n:
            got = "a scalar" if t.ndim == 0 else f"{t.shape[0]} (shape {tuple(t.shape)})"
            raise ValueError(
                f"{self.name}: the logits have batch size {n} but the targets have {got}"
            )
        log_y = log_softmax(z)
        if t.ndim == 1:
            labels = self._labels(t, c)
            total = -float(log_y[np.arange(n), labels].sum())
            self._cache = (log_y, labels, None)
        elif t.shape == (n, c):
            probs = self._float_input(t, "targets").astype(z.dtype, copy=False)
            self._check_unit_interval(probs, "one-hot / probability targets")
            total = -float((probs * log_y).sum())
            self._cache = (log_y, None, probs)
        else:
            hint = " – flatten the labels with y.ravel()" if t.shape == (n, 1) else ""
            raise ValueError(
                f"{self.name}: expected targets as labels ({n},) or one-hot rows ({n}, {c}) "
                f"for logits {tuple(z.shape)}, got {tuple(t.shape)}{hint}"
            )
        return float(self._reduce(total, n))

    def _labels(self, t: np.ndarray, c: int) -> np.ndarray:
        """Check integer labels in [0, C) and return them as an int array."""
        if t.dtype == np.bool_ or np.issubdtype(t.dtype, np.integer):
            labels = t.astype(np.int64, copy=False)
        elif np.issubdtype(t.dtype, np.floating):
            t = self._float_input(t, "labels")
            fractional = t != np.round(t)
            if fractional.any():
                i = int(np.argmax(fractional))
                raise ValueError(
                    f"{self.name}: class labels must be integers, got {t[i]} at index {i} "
                    f"(for soft targets pass probability rows of shape (N, C))"
                )
            far = (t < 0) | (t >= c)  # checked before the cast: 1e20 must not wrap around
            if far.any():
                i = int(np.argmax(far))
                raise ValueError(
                    f"{self.name}: label {t[i]:g} at index {i} is outside the "
                    f"class range [0, {c}) of logits with C = {c} classes"
                )
            labels = t.astype(np.int64)
        else:
            raise ValueError(f"{self.name}: class labels must be integers, got dtype {t.dtype}")
        outside = (labels < 0) | (labels >= c)
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(
                f"{self.name}: label {labels[i]} at index {i} is outside the class range "
                f"[0, {c}) of logits with C = {c} classes"
            )
        return labels

    def backward(self) -> np.ndarray:
        log_y, labels, probs = self._saved()
        n = log_y.shape[0]
        grad = np.exp(log_y)  # y = softmax(z)
        if labels is not None:
            grad[np.arange(n), labels] -= 1  # y - t with t one-hot
        else:
            grad *= probs.sum(axis=1, keepdims=True)  # y·Σt - t (= y - t when Σt = 1)
            grad -= probs
        if self.reduction == "mean":
            grad /= n
        return grad
