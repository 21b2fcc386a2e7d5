r"""Feature normalisation (特征归一化): min-max, mean normalisation, z-score.

Each scaler learns its statistics from the **training** data with :meth:`fit` and then
applies the *same* statistics to training, validation and test data with
:meth:`transform` – fitting on the test set would leak information about it. Predictions
made in normalised units are brought back with :meth:`inverse_transform`.

==================  =====================================================  ==========
scaler              formula                                                range
==================  =====================================================  ==========
``MinMaxScaler``    :math:`x' = a + (x - \min)\,(b - a) / (\max - \min)`   [a, b]
``MeanNormalizer``  :math:`x' = (x - \mu) / (\max - \min)`                 width 1
``StandardScaler``  :math:`x' = (x - \mu) / \sigma`  (z-score)             mean 0, sd 1
==================  =====================================================  ==========

``per_feature=True`` (the default) computes one statistic per feature – per column of an
(N, F) table, i.e. along axis 0. ``per_feature=False`` uses one statistic over all values,
which is what images want (every pixel is on the same 0…255 scale).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MeanNormalizer", "MinMaxScaler", "StandardScaler"]


class _Scaler:
    """Shared machinery: ``x' = (x - shift) / scale``, with shift and scale learnt by ``fit``."""

    def __init__(self, per_feature: bool = True) -> None:
        self.per_feature = per_feature
        self.shift_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.feature_shape_: tuple[int, ...] | None = None

    # -- what each scaler defines ------------------------------------------------------
    def _statistics(self, x: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    _range_word = "range"

    # -- the shared API ------------------------------------------------------------------
    @property
    def _name(self) -> str:
        return type(self).__name__

    @staticmethod
    def _as_float(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return x if x.dtype.kind == "f" else x.astype(np.float32)

    def fit(self, x: np.ndarray) -> _Scaler:
        """Learn the statistics from training data ``x`` (examples along axis 0)."""
        x = self._as_float(x)
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(
                f"{self._name}.fit: expected at least one example, got shape {x.shape}"
            )
        axis = 0 if self.per_feature else None
        shift, scale = self._statistics(x, axis)
        shift, scale = np.asarray(shift, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        flat_scale = scale.reshape(-1)
        constant = np.flatnonzero(~(flat_scale > 0))
        if constant.size:
            if self.per_feature:
                where = ", ".join(
                    str(np.unravel_index(i, scale.shape)) if scale.ndim > 1 else str(i)
                    for i in constant[:5]
                )
                more = "…" if constant.size > 5 else ""
                raise ValueError(
                    f"{self._name}.fit: feature(s) {where}{more} have zero {self._range_word} "
                    "(the same value in every example), so dividing by it is impossible. "
                    "Drop those features, or use per_feature=False."
                )
            raise ValueError(
                f"{self._name}.fit: all values are equal, the {self._range_word} is zero "
                "and dividing by it is impossible."
            )
        self.shift_, self.scale_ = shift, scale
        self.feature_shape_ = x.shape[1:] if self.per_feature else None
        return self

    def _check(self, x: np.ndarray, method: str) -> np.ndarray:
        if self.shift_ is None or self.scale_ is None:
            raise ValueError(
                f"{self._name}.{method}: call fit(x_train) first – the scaler has no "
                "statistics yet (always fit on the training data)."
            )
        x = self._as_float(x)
        if self.feature_shape_ is not None and x.shape[1:] != self.feature_shape_:
            fitted = (
                f"(N, {', '.join(map(str, self.feature_shape_))})"
                if self.feature_shape_
                else "(N,)"
            )
            raise ValueError(
                f"{self._name}.{method}: fitted on data of shape {fitted} "
                f"({int(np.prod(self.feature_shape_, dtype=np.int64))} features), "
                f"got shape {x.shape}"
            )
        return x

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Normalise ``x`` with the statistics learnt by :meth:`fit`."""
        x = self._check(x, "transform")
        return ((x - self.shift_) / self.scale_).astype(x.dtype, copy=False)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: from normalised values back to the original units."""
        x = self._check(x, "inverse_transform")
        return (x * self.scale_ + self.shift_).astype(x.dtype, copy=False)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """:meth:`fit` on ``x``, then :meth:`transform` it (use only on training data)."""
        return self.fit(x).transform(x)

    def __repr__(self) -> str:
        state = "fitted" if self.shift_ is not None else "not fitted"
        return f"{self._name}(per_feature={self.per_feature}) [{state}]"


class MinMaxScaler(_Scaler):
    """Min-max scaling to ``feature_range`` (default [0, 1]).

    Parameters
    ----------
    feature_range : (float, float)
        The interval [a, b] the training minimum and maximum are mapped to.
    per_feature : bool
        One minimum and maximum per feature (axis 0) or over all values.

    Examples
    --------
    >>> MinMaxScaler().fit_transform(np.array([[1.0], [3.0], [5.0]])).ravel().tolist()
    [0.0, 0.5, 1.0]
    """

    def __init__(
        self, feature_range: tuple[float, float] = (0.0, 1.0), per_feature: bool = True
    ) -> None:
        low, high = feature_range
        if not high > low:
            raise ValueError(
                "MinMaxScaler: feature_range must be (low, high) with low < high, "
                f"got {feature_range}"
            )
        super().__init__(per_feature)
        self.feature_range = (float(low), float(high))

    def _statistics(self, x, axis):
        low, high = self.feature_range
        x_min, x_max = x.min(axis=axis), x.max(axis=axis)
        self.data_min_, self.data_max_ = x_min, x_max
        scale = (x_max - x_min).astype(np.float64) / (high - low)
        # x' = low + (x - min) / scale  ⇔  x' = (x - shift) / scale with shift = min - low·scale
        return x_min - low * scale, scale


class MeanNormalizer(_Scaler):
    """Mean normalisation: ``(x - mean) / (max - min)``, values centred on 0 within a width of 1."""

    def _statistics(self, x, axis):
        return x.mean(axis=axis, dtype=np.float64), (
            x.max(axis=axis).astype(np.float64) - x.min(axis=axis)
        )


class StandardScaler(_Scaler):
    """Standardisation (z-score): ``(x - mean) / std``, mean 0 and standard deviation 1.

    Uses the population standard deviation (``ddof=0``), as scikit-learn does.
    """

    _range_word = "standard deviation"

    def _statistics(self, x, axis):
        return x.mean(axis=axis, dtype=np.float64), x.std(axis=axis, dtype=np.float64)
