"""Numbers that say how good a classifier is: accuracy, the confusion matrix, top-k.

Pure functions of arrays (no drawing, no model): :func:`edu_cnn.training.fit` reports
``accuracy`` per epoch, :func:`edu_cnn.plots.plot_confusion_matrix` draws what
``confusion_matrix`` counts, and the drawing pad of chapter 7 lists ``top_k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["accuracy", "confusion_matrix", "top_k"]


# -- accuracy (准确率) ---------------------------------------------------------------------------
def accuracy(outputs: np.ndarray, targets: np.ndarray, threshold: float = 0.0) -> float:
    """Fraction of samples whose predicted class equals the target class.

    Parameters
    ----------
    outputs : array (N, C) with C ≥ 2, or (N, 1) / (N,) for one binary output
    targets : integer labels (N,), one-hot rows (N, C), or 0/1 labels (N,) / (N, 1)
    threshold : float
        For one binary output: predict class 1 where ``output >= threshold``; 0 for
        logits, 0.5 for probabilities.
    """
    outputs = np.asarray(outputs)
    targets = np.asarray(targets)
    n = outputs.shape[0] if outputs.ndim else 0
    if outputs.ndim == 0 or targets.ndim == 0 or targets.shape[0] != n:
        raise ValueError(
            f"accuracy: outputs {tuple(outputs.shape)} and targets {tuple(targets.shape)} "
            f"need the same number of samples"
        )
    if n == 0:
        return float("nan")
    binary = outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)
    if binary:
        predicted = outputs.reshape(n) >= threshold
        labels = targets.reshape(n) if targets.size == n else None
        if labels is None or not np.isin(labels, (0, 1)).all():
            raise ValueError(
                f"accuracy: one binary output {tuple(outputs.shape)} needs 0/1 labels (N,) "
                f"or (N, 1), got targets {tuple(targets.shape)} with values "
                f"{np.unique(targets)[:5]} (for regression pass metrics=() to fit)"
            )
        return float(np.mean(predicted == (labels == 1)))
    if outputs.ndim != 2:
        raise ValueError(f"accuracy: expected outputs (N, C) or (N, 1), got {tuple(outputs.shape)}")
    predicted = outputs.argmax(axis=1)
    if targets.shape == outputs.shape:
        labels = targets.argmax(axis=1)
    elif targets.ndim == 1:
        labels = targets
        if not np.all(labels == np.round(labels)):
            raise ValueError("accuracy: class labels must be integers for outputs (N, C)")
    else:
        raise ValueError(
            f"accuracy: outputs {tuple(outputs.shape)} need labels (N,) or one-hot rows "
            f"{tuple(outputs.shape)}, got {tuple(targets.shape)}"
        )
    return float(np.mean(predicted == labels))


def _as_labels(values: Any, where: str, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{where}: {name} must be a 1-D array of class labels, got shape {array.shape}"
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise ValueError(f"{where}: {name} must hold integer class labels, got {array.dtype}")
        array = array.astype(np.int64)
    return array.astype(np.int64)


# -- confusion matrix (混淆矩阵) ------------------------------------------------------------------
def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j`` (混淆矩阵).

    The diagonal holds the correct predictions; row ``i`` sums to the number of samples
    of class ``i``. ``num_classes`` defaults to ``max(label) + 1``.

    Raises
    ------
    ValueError
        If the two label arrays differ in length or hold labels outside ``0…num_classes-1``.
    """
    t = _as_labels(y_true, "confusion_matrix", "y_true")
    p = _as_labels(y_pred, "confusion_matrix", "y_pred")
    if t.shape != p.shape:
        raise ValueError(
            "confusion_matrix: y_true and y_pred need one label per sample, "
            f"got {t.shape} and {p.shape}"
        )
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    for name, labels in (("y_true", t), ("y_pred", p)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"confusion_matrix: {name} holds labels in {labels.min()}…{labels.max()}, "
                f"outside 0…{num_classes - 1}"
            )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (t, p), 1)
    return matrix


# -- top-k ------------------------------------------------------------------------------------
def top_k(probabilities: Any, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most probable classes of each row and their probabilities, best first.

    Returns ``(classes, probs)``, both of shape (N, k) (or (k,) for one row).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim not in (1, 2) or p.shape[-1] < 1:
        raise ValueError(f"top_k: expected probabilities (N, C) or (C,), got shape {p.shape}")
    if not 1 <= k <= p.shape[-1]:
        raise ValueError(f"top_k: k must be in 1…{p.shape[-1]}, got {k}")
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    return order, np.take_along_axis(p, order, axis=-1)
