"""Mini-batches and a train / validation split.

One pass over the training data in mini-batches is an *epoch* (轮次); shuffling the
order each epoch keeps the gradient estimates from repeating the same pattern.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..shapes import positive_int

__all__ = ["iterate_minibatches", "train_val_split"]


def _check_pair(function: str, x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"{function}: x and y must have the same number of examples along axis 0, "
            f"got x {x.shape} and y {y.shape}"
        )


def iterate_minibatches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x_batch, y_batch)`` pairs that together cover the data once.

    Parameters
    ----------
    x, y : numpy.ndarray
        Examples along axis 0 (e.g. x of shape (N, C, H, W), y of shape (N,)).
    batch_size : int
        Examples per batch; the last batch is smaller when N is not a multiple.
    shuffle : bool
        Visit the examples in a random order (a new one each call).
    seed : int or numpy.random.Generator, optional
        Makes the order reproducible; a Generator is advanced, so successive epochs
        drawn from one Generator get different orders.
    drop_last : bool
        Leave out a last batch smaller than ``batch_size``.

    Examples
    --------
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [len(yb) for _, yb in iterate_minibatches(x, y, batch_size=2, shuffle=False)]
    [2, 2, 1]
    """
    x, y = np.asarray(x), np.asarray(y)
    _check_pair("iterate_minibatches", x, y)
    positive_int(batch_size, "batch_size", "iterate_minibatches")
    n = len(x)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield x[index], y[index]


def train_val_split(
    x: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.2,
    seed: int | None = 0,
    stratify: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split examples into a training and a validation part (sklearn's order of results).

    Parameters
    ----------
    x, y : numpy.ndarray
        Examples along axis 0.
    val_fraction : float
        Share of the examples that go to the validation part, strictly between 0 and 1.
    seed : int, optional
        Seed of the random split.
    stratify : bool, optional
        Keep each class's share the same in both parts (class labels in ``y``). The
        default does so when ``y`` holds integers, and splits plainly otherwise.

    Returns
    -------
    x_train, x_val, y_train, y_val : numpy.ndarray
        Both parts in random order.
    """
    x, y = np.asarray(x), np.asarray(y)
    _check_pair("train_val_split", x, y)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"train_val_split: val_fraction must be between 0 and 1 (exclusive), got {val_fraction}"
        )
    n = len(x)
    rng = np.random.default_rng(seed)
    if stratify is None:
        stratify = y.ndim == 1 and y.dtype.kind in "iub"
    if stratify:
        if y.ndim != 1:
            raise ValueError(
                f"train_val_split: stratify=True needs class labels of shape (N,), got y {y.shape}"
            )
        val_parts = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            val_parts.append(members[: round(val_fraction * len(members))])
        val = rng.permutation(np.concatenate(val_parts))
    else:
        val = rng.permutation(n)[: round(val_fraction * n)]
    is_val = np.zeros(n, dtype=bool)
    is_val[val] = True
    train = rng.permutation(np.flatnonzero(~is_val))
    if len(train) == 0 or len(val) == 0:
        raise ValueError(
            f"train_val_split: val_fraction={val_fraction} of {n} examples leaves "
            f"{len(train)} for training and {len(val)} for validation; both need at least one"
        )
    return x[train], x[val], y[train], y[val]
