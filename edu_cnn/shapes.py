"""Checks at the door: every public layer and function validates its input here.

The messages name the layer, what it expected and what arrived, e.g.
``Conv2d(3→16, k=5): expected input (N, 3, H, W) with H, W ≥ 5, got (8, 1, 28, 28)``.
Seed note 004's network "does no checks, so compute the shapes yourself or it will not
run" – this module is the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layer import DEFAULT_DTYPE


def as_float_array(x: Any, where: str) -> np.ndarray:
    """``x`` as a float ndarray: float32 and float64 pass through, integers become float32.

    Raises ``ValueError`` naming ``where`` for anything that is not real numbers.
    """
    try:
        array = np.asarray(x)
    except ValueError as error:  # ragged nested lists
        raise ValueError(
            f"{where}: expected an array of real numbers with one shape, got a "
            f"ragged nested list ({error})"
        ) from None
    if array.dtype == np.float32 or array.dtype == np.float64:
        return array
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return array.astype(DEFAULT_DTYPE)
    if np.issubdtype(array.dtype, np.floating):  # float16 and friends
        return array.astype(DEFAULT_DTYPE)
    raise ValueError(f"{where}: expected an array of real numbers, got dtype {array.dtype}")


def check_ndim(x: np.ndarray, ndim: int, where: str, layout: str) -> None:
    """Raise unless ``x`` has ``ndim`` axes; ``layout`` reads like ``"(N, C, H, W)"``."""
    if x.ndim != ndim:
        raise ValueError(
            f"{where}: expected input {layout} with {ndim} axes, got shape {tuple(x.shape)}"
        )


def check_same_shape(grad: np.ndarray, expected: tuple[int, ...], where: str) -> np.ndarray:
    """Raise unless the incoming gradient has the shape of the forward output."""
    grad = as_float_array(grad, f"{where}: backward()")  # no complex or object gradients
    if tuple(grad.shape) != tuple(expected):
        raise ValueError(
            f"{where}: backward() expected a gradient of shape {tuple(expected)} "
            f"(the shape of the forward output), got {tuple(grad.shape)}"
        )
    return grad


IntPair = tuple[int, int]
#: An int or a pair of ints, like PyTorch's ``_size_2_t``: ``3`` means ``(3, 3)``.
IntOrPair = int | tuple[int, int]


def check_int(value: Any, name: str, where: str, low: int = 0) -> int:
    """``value`` as an int if it is an integer ≥ ``low`` (``True`` is not an integer here).

    Raises ``ValueError`` naming ``where`` and ``name``:
    ``Linear: in_features must be an integer ≥ 1, got 0``.
    """
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{where}: {name} must be an integer ≥ {low}, got {value!r}")
    return int(value)


def positive_int(value: Any, name: str, where: str) -> int:
    """``value`` as an int if it is an integer ≥ 1, else a ``ValueError``
    (``Linear: in_features must be a positive integer, got 0``).
    """
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def kernel_text(size: IntPair) -> str:
    """``(5, 5)`` → ``"5"``, ``(3, 5)`` → ``"(3, 5)"``: how layer names show a size."""
    return str(size[0]) if size[0] == size[1] else str(size)


def pair_at_least(value: Any, name: str, where: str, low: int) -> IntPair:
    """:func:`pair`, then both entries must be ≥ ``low`` (1 for a kernel or stride, 0 for
    padding).
    """
    result = pair(value, name, where)
    if min(result) < low:
        raise ValueError(f"{where}: {name} must be ≥ {low}, got {value!r}")
    return result


def pair(value: Any, name: str, where: str) -> IntPair:
    """``3`` → ``(3, 3)``; ``(3, 5)`` stays; anything else raises."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise ValueError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")


def conv_output_size(
    n: int, k: int, p: int = 0, s: int = 1, where: str = "conv_output_size", axis: str | None = None
) -> int:
    r"""Output length of a convolution or pooling window, :math:`\lfloor (n + 2p - k)/s \rfloor + 1`

    Parameters
    ----------
    n : int
        Input length.
    k : int
        Window (kernel) length.
    p : int
        Zero padding on each side.
    s : int
        Stride.
    where : str
        Who asks (starts the error message).
    axis : str, optional
        ``"height"`` or ``"width"``: the message then shows the formula evaluated.

    Raises
    ------
    ValueError
        If an argument is out of range or the window does not fit into the padded input.
    """
    for name, value, low in (
        ("input size n", n, 1),
        ("kernel size k", k, 1),
        ("padding p", p, 0),
        ("stride s", s, 1),
    ):
        check_int(value, name, where, low)
    if n + 2 * p < k:
        formula = (
            f"output {axis} ⌊(n + 2p − k)/s⌋ + 1 = ⌊({n} + 2·{p} − {k})/{s}⌋ + 1 = "
            f"{(n + 2 * p - k) // s + 1}: "
            if axis
            else ""
        )
        raise ValueError(
            f"{where}: {formula}the {k}-wide window does not fit into the input of size {n} "
            f"padded to {n + 2 * p} (n + 2p = {n} + 2·{p}); it gives no output"
        )
    return (n + 2 * p - k) // s + 1


def output_hw(
    h: int, w: int, kernel: IntPair, stride: IntPair, padding: IntPair, where: str
) -> IntPair:
    r"""(H_out, W_out) of a sliding window: :math:`\lfloor (n + 2p - k)/s \rfloor + 1` per axis.

    Raises ``ValueError`` naming ``where`` with the formula evaluated when the window
    gives no output (the padded input is smaller than the window).
    """
    return (
        conv_output_size(h, kernel[0], padding[0], stride[0], where, "height"),
        conv_output_size(w, kernel[1], padding[1], stride[1], where, "width"),
    )
