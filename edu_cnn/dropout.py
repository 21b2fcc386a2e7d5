r"""Dropout (chapter 3): a regulariser that switches random units off while training.

In training mode each element is kept with probability :math:`1-p` and scaled by
:math:`1/(1-p)` ("inverted dropout"), so the expected output equals the input and
evaluation mode can simply pass the input through. Backward multiplies δ by the same
mask and scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import init
from .layer import Layer
from .shapes import as_float_array, check_same_shape


class Dropout(Layer):
    """Zero each element with probability ``p`` in training mode; identity in eval mode.

    Parameters
    ----------
    p : float in [0, 1)
        The probability of dropping an element.
    rng : numpy Generator, optional
        Source of the masks (default: edu_cnn's seeded generator, see ``manual_seed``).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self._rng = rng
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, f"Dropout(p={self.p})")
        if not self.training or self.p == 0.0:
            self._mask = np.ones((), dtype=x.dtype)  # backward is then the identity too
            return x
        rng = self._rng or init.default_rng()
        keep = rng.random(x.shape) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        mask = self._saved(self._mask)
        if mask.ndim:
            grad_y = check_same_shape(grad_y, mask.shape, f"Dropout(p={self.p})")
        return grad_y * mask

    def config(self) -> dict[str, Any]:
        return {"p": self.p}
