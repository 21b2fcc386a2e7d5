r"""Pooling (池化, chapter 5), its backward pass (chapter 6) and the two ways back up.

* ``MaxPool2d`` keeps the largest value of each k×k window; backward sends δ to the
  position that won (the arg-max) and 0 to the others. With ties the *first* maximum in
  reading order wins, as a loop that updates only on ``>`` would do (PyTorch does the same).
* ``AvgPool2d`` (mean pooling) averages each window; backward spreads δ/k² evenly over it
  (the padding zeros are counted, PyTorch's default ``count_include_pad=True``).
* ``MaxUnpool2d`` puts each value back at the position recorded by ``MaxPool2d(...,
  return_indices=True)`` and fills the rest with zeros; ``Upsample`` (nearest) copies each
  value into an s×s block.

Output size, as for a convolution: :math:`\lfloor (n + 2p - k)/s \rfloor + 1`, stride
defaulting to the kernel size.

Fast path: instead of a loop over windows, a loop over the k² *offsets* (u, v) inside a
window. For a fixed offset the elements ``x[..., r·s + u, c·s + v]`` of all windows
form one strided slice, so max pooling is ``np.maximum`` of k² slices and mean pooling
their sum / k² – the same comparisons and additions as the loops, done for all windows
at once. The results keep the memory layout of the input (see ``edu_cnn.conv``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import threads
from .activations import ReLU
from .layer import Layer
from .shapes import (
    IntOrPair,
    IntPair,
    as_float_array,
    check_ndim,
    check_same_shape,
    kernel_text,
    output_hw,
    pair_at_least,
)


# ---------------------------------------------------------------------------------------
# Arguments and small tools
# ---------------------------------------------------------------------------------------
def _pool_args(
    kernel_size: IntOrPair, stride: IntOrPair, padding: IntOrPair, where: str
) -> tuple[IntPair, IntPair, IntPair]:
    k = pair_at_least(kernel_size, "kernel_size", where, 1)
    s = k if stride is None else pair_at_least(stride, "stride", where, 1)
    p = pair_at_least(padding, "padding", where, 0)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError(
            f"{where}: padding must be at most half the kernel size (p ≤ k/2), "
            f"got padding {padding!r} for kernel {kernel_size!r}"
        )
    return k, s, p


def _check_input(x: np.ndarray, k: IntPair, s: IntPair, p: IntPair, where: str) -> IntPair:
    check_ndim(x, 4, where, "(N, C, H, W)")
    return output_hw(x.shape[2], x.shape[3], k, s, p, where)


def _empty_like_layout(
    x: np.ndarray, shape: tuple[int, ...], fill: float | None = None, dtype: Any = None
) -> np.ndarray:
    """A new array of ``shape`` whose axes lie in memory in the same order as ``x``'s.

    numpy's element-wise functions do this by themselves (``order='K'``); for a new shape
    we do it by hand, so a batch-last array from ``Conv2d`` stays batch-last.
    """
    order = sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))  # outermost first
    shape_in_memory = [shape[axis] for axis in order]
    dtype = x.dtype if dtype is None else dtype
    base = (
        np.empty(shape_in_memory, dtype) if fill is None else np.full(shape_in_memory, fill, dtype)
    )
    inverse = [0] * x.ndim  # the inverse permutation (np.argsort(order), without numpy's cost)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return base.transpose(inverse)


def _in_layout_of(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``a`` (same shape as ``like``) with its memory in ``like``'s axis order.

    numpy is several times slower on element-wise operations whose operands have
    different memory orders (a C-ordered δ from ``Flatten`` meets a batch-last ``y``); one
    reordering copy first is cheaper. The values are unchanged.
    """
    if sorted(range(a.ndim), key=a.strides.__getitem__) == sorted(
        range(like.ndim), key=like.strides.__getitem__
    ):
        return a
    out = np.empty_like(like, dtype=a.dtype)  # empty_like keeps like's memory order
    np.copyto(out, a)
    return out


def _padded(x: np.ndarray, p: IntPair, value: float) -> np.ndarray:
    """``x`` with p rows/columns of ``value`` around H and W (no copy without padding)."""
    if p == (0, 0):
        return x
    n, c, h, w = x.shape
    xp = _empty_like_layout(x, (n, c, h + 2 * p[0], w + 2 * p[1]), fill=value)
    xp[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
    return xp


def _window_slice(u: int, v: int, s: IntPair, out_hw: IntPair) -> tuple[slice, ...]:
    """Where offset (u, v) of every window sits: rows u, u + s, …, columns v, v + s, …"""
    return (
        slice(None),
        slice(None),
        slice(u, u + s[0] * (out_hw[0] - 1) + 1, s[0]),
        slice(v, v + s[1] * (out_hw[1] - 1) + 1, s[1]),
    )


# ---------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------
def max_pool2d_forward_reference(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    *,
    return_indices: bool = False,
) -> Any:
    """y[n, c, r, q] = max of the window, with loops; the first maximum wins ties.

    With ``return_indices`` also the position of each maximum as a flat index ``h·W + w``
    into the (unpadded) H×W plane of its channel, as PyTorch records it.
    """
    k, s, p = _pool_args(kernel_size, stride, padding, "max_pool2d_forward_reference")
    ho, wo = _check_input(x, k, s, p, "max_pool2d_forward_reference")
    n_samples, channels, h, w = x.shape
    y = np.zeros((n_samples, channels, ho, wo), dtype=x.dtype)
    indices = np.zeros((n_samples, channels, ho, wo), dtype=np.int64)
    for n in range(n_samples):
        for c in range(channels):
            for r in range(ho):
                for q in range(wo):
                    best, best_index = -np.inf, -1
                    for u in range(k[0]):
                        for v in range(k[1]):
                            row, col = r * s[0] + u - p[0], q * s[1] + v - p[1]
                            if 0 <= row < h and 0 <= col < w and x[n, c, row, col] > best:
                                best, best_index = x[n, c, row, col], row * w + col
                    y[n, c, r, q], indices[n, c, r, q] = best, best_index
    return (y, indices) if return_indices else y


def max_pool2d_backward_reference(
    grad_y: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """dx: each δ goes to the arg-max of its window (found again with the same loops)."""
    _, indices = max_pool2d_forward_reference(x, kernel_size, stride, padding, return_indices=True)
    grad_y = check_same_shape(grad_y, indices.shape, "max_pool2d_backward_reference")
    dx = np.zeros(x.shape, dtype=np.result_type(x, grad_y))
    n_samples, channels, ho, wo = grad_y.shape
    w = x.shape[3]
    for n in range(n_samples):
        for c in range(channels):
            for r in range(ho):
                for q in range(wo):
                    index = indices[n, c, r, q]
                    dx[n, c, index // w, index % w] += grad_y[n, c, r, q]
    return dx


def _max_pool_fast(
    x: np.ndarray, k: IntPair, s: IntPair, p: IntPair, out_hw: IntPair
) -> np.ndarray:
    xp = _padded(x, p, -np.inf)
    axis = threads.split_axis(xp, (0, 1))
    parts = threads.pieces(xp.shape[axis], xp.size)
    if len(parts) == 1:
        return _max_over_windows(xp, k, s, out_hw)
    # samples and channels are pooled apart: threads share them out
    y = _empty_like_layout(xp, (*x.shape[:2], *out_hw))

    def pool(part: slice) -> None:
        index = threads.along(axis, part)
        _max_over_windows(xp[index], k, s, out_hw, out=y[index])

    threads.run(pool, parts)
    return y


def _max_over_windows(
    xp: np.ndarray, k: IntPair, s: IntPair, out_hw: IntPair, out: np.ndarray | None = None
) -> np.ndarray:
    """Max over the window = running np.maximum over its k² offsets, for all windows at once."""
    windows = [xp[_window_slice(u, v, s, out_hw)] for u, v in _offsets(k)]
    if len(windows) == 1:
        if out is None:
            return windows[0].copy(order="K")
        np.copyto(out, windows[0])
        return out
    y = np.maximum(windows[0], windows[1], out=out)
    for window in windows[2:]:
        np.maximum(y, window, out=y)
    return y


def _offsets(k: IntPair) -> list[IntPair]:
    """The offsets (u, v) of a k[0]×k[1] window, in reading order."""
    return [(u, v) for u in range(k[0]) for v in range(k[1])]


def _max_pool_backward_fast(
    grad_y: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    k: IntPair,
    s: IntPair,
    p: IntPair,
    want_grad: bool = True,
    want_indices: bool = False,
    through_relu: bool = False,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """dx (and/or the arg-max indices) from the input and the pooled output.

    Going through the offsets in reading order, an offset "wins" a window where its value
    equals the maximum and no earlier offset has won yet – the reference loop's first
    maximum. ``open_`` marks the windows not yet won. ``through_relu`` first multiplies δ
    by [y > 0] (see :meth:`MaxPool2d.backward_through_relu`).
    """
    out_hw = y.shape[2:]
    h, w = x.shape[2:]
    grad_y = _in_layout_of(grad_y, y)
    xp = _padded(x, p, -np.inf)
    # non-overlapping windows (s ≥ k) never share an input pixel, so each offset's slice
    # of dx is written exactly once and may be assigned instead of added to; if they also
    # tile the padded input exactly, every pixel is written and dx needs no zeros first
    disjoint = s[0] >= k[0] and s[1] >= k[1]
    tiled = (
        disjoint
        and s == k
        and all((n_in - k_) % s_ == 0 for n_in, k_, s_ in zip(xp.shape[2:], k, s, strict=True))
    )
    dxp = None
    if want_grad:
        dxp = _empty_like_layout(
            xp, xp.shape, fill=None if tiled else 0.0, dtype=np.result_type(x, grad_y)
        )
    indices = np.zeros(y.shape, np.int64) if want_indices else None
    offsets = _offsets(k)
    axis = threads.split_axis(xp, (0, 1))

    def find_maxima(part: slice) -> None:  # windows of different samples and channels are
        index = threads.along(axis, part)  # apart, so threads share them out
        xp_, y_, delta = xp[index], y[index], grad_y[index]
        if through_relu:
            delta = np.multiply(delta, y_ > 0)  # ReLU's δ·[y > 0], at the pooled size
        open_ = None
        for number, (u, v) in enumerate(offsets):
            where = _window_slice(u, v, s, out_hw)
            won = xp_[where] == y_
            if open_ is None:
                open_ = ~won
            else:
                won &= open_
                if number < len(offsets) - 1:
                    open_ ^= won  # won ⊆ open_, so this removes the windows just won
            if dxp is not None:
                if disjoint:
                    np.multiply(delta, won, out=dxp[index][where])
                else:
                    dxp[index][where] += delta * won
            if indices is not None:
                rows = np.arange(out_hw[0])[:, None] * s[0] + u - p[0]
                cols = np.arange(out_hw[1])[None, :] * s[1] + v - p[1]
                np.copyto(indices[index], rows * w + cols, where=won)

    threads.run(find_maxima, threads.pieces(xp.shape[axis], xp.size))
    dx = None if dxp is None else dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w]
    return dx, indices


def max_pool2d_forward(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    *,
    return_indices: bool = False,
) -> Any:
    """Fast max pooling; same result as :func:`max_pool2d_forward_reference`."""
    x = as_float_array(x, "max_pool2d_forward")
    k, s, p = _pool_args(kernel_size, stride, padding, "max_pool2d_forward")
    out_hw = _check_input(x, k, s, p, "max_pool2d_forward")
    y = _max_pool_fast(x, k, s, p, out_hw)
    if not return_indices:
        return y
    return y, _max_pool_backward_fast(y, x, y, k, s, p, want_grad=False, want_indices=True)[1]


def _backward_args(
    grad_y: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None,
    padding: IntOrPair,
    where: str,
) -> tuple[np.ndarray, np.ndarray, IntPair, IntPair, IntPair, IntPair]:
    """The checked (δ, x, kernel, stride, padding, output size) a pooling backward needs."""
    x = as_float_array(x, where)
    k, s, p = _pool_args(kernel_size, stride, padding, where)
    out_hw = _check_input(x, k, s, p, where)
    grad_y = check_same_shape(grad_y, (*x.shape[:2], *out_hw), where)
    return grad_y, x, k, s, p, out_hw


def max_pool2d_backward(
    grad_y: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """Fast dx of max pooling; same result as :func:`max_pool2d_backward_reference`."""
    grad_y, x, k, s, p, out_hw = _backward_args(
        grad_y, x, kernel_size, stride, padding, "max_pool2d_backward"
    )
    y = _max_pool_fast(x, k, s, p, out_hw)
    return _max_pool_backward_fast(grad_y, x, y, k, s, p)[0]


# ---------------------------------------------------------------------------------------
# Mean (average) pooling
# ---------------------------------------------------------------------------------------
def avg_pool2d_forward_reference(
    x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> np.ndarray:
    """y[n, c, r, q] = (sum of the zero-padded window) / (kh·kw), with loops."""
    k, s, p = _pool_args(kernel_size, stride, padding, "avg_pool2d_forward_reference")
    ho, wo = _check_input(x, k, s, p, "avg_pool2d_forward_reference")
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    y = np.zeros((*x.shape[:2], ho, wo), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for r in range(ho):
                for q in range(wo):
                    total = 0.0
                    for u in range(k[0]):
                        for v in range(k[1]):
                            total += xp[n, c, r * s[0] + u, q * s[1] + v]
                    y[n, c, r, q] = total / (k[0] * k[1])
    return y


def avg_pool2d_backward_reference(
    grad_y: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """dx: every position of a window receives δ/(kh·kw), with loops."""
    k, s, p = _pool_args(kernel_size, stride, padding, "avg_pool2d_backward_reference")
    out_hw = _check_input(x, k, s, p, "avg_pool2d_backward_reference")
    grad_y = check_same_shape(grad_y, (*x.shape[:2], *out_hw), "avg_pool2d_backward_reference")
    h, w = x.shape[2:]
    dxp = np.zeros((*x.shape[:2], h + 2 * p[0], w + 2 * p[1]), dtype=np.result_type(x, grad_y))
    n_samples, channels, ho, wo = grad_y.shape
    for n in range(n_samples):
        for c in range(channels):
            for r in range(ho):
                for q in range(wo):
                    for u in range(k[0]):
                        for v in range(k[1]):
                            dxp[n, c, r * s[0] + u, q * s[1] + v] += grad_y[n, c, r, q] / (
                                k[0] * k[1]
                            )
    return dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w]


def _avg_pool_fast(
    x: np.ndarray, k: IntPair, s: IntPair, p: IntPair, out_hw: IntPair
) -> np.ndarray:
    xp = _padded(x, p, 0.0)
    y = xp[_window_slice(0, 0, s, out_hw)].copy(order="K")
    for u in range(k[0]):
        for v in range(k[1]):
            if u or v:
                y += xp[_window_slice(u, v, s, out_hw)]
    y /= k[0] * k[1]
    return y


def _avg_pool_backward_fast(
    grad_y: np.ndarray, x: np.ndarray, k: IntPair, s: IntPair, p: IntPair
) -> np.ndarray:
    n, c, h, w = x.shape
    share = _in_layout_of(grad_y, x[:, :, : grad_y.shape[2], : grad_y.shape[3]]) / (
        k[0] * k[1]
    )  # every pixel of a window gets the same part of δ
    dxp = _empty_like_layout(x, (n, c, h + 2 * p[0], w + 2 * p[1]), fill=0.0, dtype=share.dtype)
    for u in range(k[0]):
        for v in range(k[1]):
            # within one offset no two windows hit the same pixel, so += never repeats an index
            dxp[_window_slice(u, v, s, grad_y.shape[2:])] += share
    return dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w]


def avg_pool2d_forward(
    x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> np.ndarray:
    """Fast mean pooling; same result as :func:`avg_pool2d_forward_reference`."""
    x = as_float_array(x, "avg_pool2d_forward")
    k, s, p = _pool_args(kernel_size, stride, padding, "avg_pool2d_forward")
    return _avg_pool_fast(x, k, s, p, _check_input(x, k, s, p, "avg_pool2d_forward"))


def avg_pool2d_backward(
    grad_y: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """Fast dx of mean pooling; same result as :func:`avg_pool2d_backward_reference`."""
    grad_y, x, k, s, p, _ = _backward_args(
        grad_y, x, kernel_size, stride, padding, "avg_pool2d_backward"
    )
    return _avg_pool_backward_fast(grad_y, x, k, s, p)


# ---------------------------------------------------------------------------------------
# Max-unpooling and nearest up-sampling
# ---------------------------------------------------------------------------------------
def _unpool_size(
    x_shape: tuple[int, ...], k: IntPair, s: IntPair, output_size: Any, where: str
) -> IntPair:
    default = ((x_shape[2] - 1) * s[0] + k[0], (x_shape[3] - 1) * s[1] + k[1])
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)[-2:]
    if len(size) != 2:
        raise ValueError(f"{where}: output_size must end with (H, W), got {output_size!r}")
    for axis in range(2):
        low, high = default[axis] - s[axis], default[axis] + s[axis]
        if not low < size[axis] < high:
            raise ValueError(
                f"{where}: output_size {size} is not reachable from input "
                f"{tuple(x_shape)}: expected each size between {low + 1} and {high - 1}"
            )
    return size[0], size[1]


def _check_unpool(x: np.ndarray, indices: np.ndarray, out_hw: IntPair, where: str) -> np.ndarray:
    check_ndim(x, 4, where, "(N, C, H, W)")
    indices = np.asarray(indices)
    if indices.shape != x.shape or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(
            f"{where}: expected integer indices of the input's shape {tuple(x.shape)}, "
            f"got {indices.dtype} {tuple(indices.shape)}"
        )
    limit = out_hw[0] * out_hw[1]
    if indices.size and (indices.min() < 0 or indices.max() >= limit):
        raise ValueError(
            f"{where}: indices must lie in [0, {limit}) for an output of "
            f"{out_hw[0]}×{out_hw[1]}, got values from {indices.min()} to {indices.max()}"
        )
    return indices


def max_unpool2d_forward_reference(
    x: np.ndarray, indices: np.ndarray, out_hw: IntPair
) -> np.ndarray:
    """y[n, c] is zero except y[n, c].flat[indices[n, c, r, q]] = x[n, c, r, q], with loops."""
    indices = _check_unpool(np.asarray(x), indices, out_hw, "max_unpool2d_forward_reference")
    n_samples, channels, h, w = x.shape
    y = np.zeros((n_samples, channels, out_hw[0] * out_hw[1]), dtype=x.dtype)
    for n in range(n_samples):
        for c in range(channels):
            for r in range(h):
                for q in range(w):
                    y[n, c, indices[n, c, r, q]] = x[n, c, r, q]
    return y.reshape(n_samples, channels, *out_hw)


def max_unpool2d_backward_reference(grad_y: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """dx[n, c, r, q] = grad_y[n, c].flat[indices[n, c, r, q]], with loops."""
    n_samples, channels, h, w = indices.shape
    flat = grad_y.reshape(n_samples, channels, -1)
    dx = np.zeros(indices.shape, dtype=grad_y.dtype)
    for n in range(n_samples):
        for c in range(channels):
            for r in range(h):
                for q in range(w):
                    dx[n, c, r, q] = flat[n, c, indices[n, c, r, q]]
    return dx


def max_unpool2d_forward(x: np.ndarray, indices: np.ndarray, out_hw: IntPair) -> np.ndarray:
    """Fast max-unpooling: one scatter per (sample, channel) row (indices are distinct
    within a row for non-overlapping pooling, so the order of writes does not matter).
    """
    x = as_float_array(x, "max_unpool2d_forward")
    indices = _check_unpool(x, indices, out_hw, "max_unpool2d_forward")
    n, c = x.shape[:2]
    y = np.zeros((n * c, out_hw[0] * out_hw[1]), dtype=x.dtype)
    np.put_along_axis(y, indices.reshape(n * c, -1), x.reshape(n * c, -1), axis=1)
    return y.reshape(n, c, *out_hw)


def max_unpool2d_backward(grad_y: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Fast dx of max-unpooling: read δ back from where each value was put (a gather)."""
    indices = np.asarray(indices)
    check_ndim(np.asarray(grad_y), 4, "max_unpool2d_backward", "(N, C, H_out, W_out)")
    if grad_y.shape[:2] != indices.shape[:2]:
        raise ValueError(
            f"max_unpool2d_backward: gradient {tuple(grad_y.shape)} and indices "
            f"{tuple(indices.shape)} differ in (N, C)"
        )
    n, c = indices.shape[:2]
    flat = np.asarray(grad_y).reshape(n * c, -1)
    return np.take_along_axis(flat, indices.reshape(n * c, -1), axis=1).reshape(indices.shape)


def upsample_nearest_forward_reference(x: np.ndarray, scale: IntOrPair) -> np.ndarray:
    """y[n, c, r, q] = x[n, c, r // s_h, q // s_w], with loops."""
    check_ndim(np.asarray(x), 4, "upsample_nearest_forward_reference", "(N, C, H, W)")
    sh, sw = pair_at_least(scale, "scale_factor", "upsample_nearest_forward_reference", 1)
    n_samples, channels, h, w = x.shape
    y = np.zeros((n_samples, channels, h * sh, w * sw), dtype=x.dtype)
    for n in range(n_samples):
        for c in range(channels):
            for r in range(h * sh):
                for q in range(w * sw):
                    y[n, c, r, q] = x[n, c, r // sh, q // sw]
    return y


def _upsample_grad_blocks(grad_y: np.ndarray, scale: IntOrPair, where: str) -> tuple[int, int]:
    """(s_h, s_w) after checking that δ is 4-D and a whole number of s_h×s_w blocks."""
    sh, sw = pair_at_least(scale, "scale_factor", where, 1)
    check_ndim(np.asarray(grad_y), 4, where, "(N, C, H·s, W·s)")
    hs, ws = np.shape(grad_y)[2:]
    if hs % sh or ws % sw:
        raise ValueError(
            f"{where}: gradient {tuple(np.shape(grad_y))} is not a whole number of {sh}×{sw} blocks"
        )
    return sh, sw


def upsample_nearest_backward_reference(grad_y: np.ndarray, scale: IntOrPair) -> np.ndarray:
    """dx[n, c, r, q] = sum of δ over the s_h×s_w block that copied x[n, c, r, q], with loops."""
    sh, sw = _upsample_grad_blocks(grad_y, scale, "upsample_nearest_backward_reference")
    n_samples, channels, hs, ws = grad_y.shape
    dx = np.zeros((n_samples, channels, hs // sh, ws // sw), dtype=grad_y.dtype)
    for n in range(n_samples):
        for c in range(channels):
            for r in range(hs):
                for q in range(ws):
                    dx[n, c, r // sh, q // sw] += grad_y[n, c, r, q]
    return dx


def upsample_nearest_forward(x: np.ndarray, scale: IntOrPair) -> np.ndarray:
    """Fast nearest up-sampling: view x as (N, C, H, 1, W, 1), broadcast the two 1-axes to
    s_h and s_w (each value repeated into its block) and reshape.
    """
    x = as_float_array(x, "upsample_nearest_forward")
    check_ndim(x, 4, "upsample_nearest_forward", "(N, C, H, W)")
    sh, sw = pair_at_least(scale, "scale_factor", "upsample_nearest_forward", 1)
    n, c, h, w = x.shape
    blocks = np.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw))
    return blocks.reshape(n, c, h * sh, w * sw)


def upsample_nearest_backward(grad_y: np.ndarray, scale: IntOrPair) -> np.ndarray:
    """Fast dx: the same (N, C, H, s_h, W, s_w) view of δ, summed over each block."""
    sh, sw = _upsample_grad_blocks(grad_y, scale, "upsample_nearest_backward")
    n, c, hs, ws = grad_y.shape
    return np.asarray(grad_y).reshape(n, c, hs // sh, sh, ws // sw, sw).sum(axis=(3, 5))


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------
class _Pool2d(Layer):
    """What max and mean pooling share: arguments, checks, output shape."""

    kind = "Pool2d"

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ) -> None:
        super().__init__()
        self._stride_arg = stride
        self.kernel_size, self.stride, self.padding = _pool_args(
            kernel_size, stride, padding, self.kind
        )
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def _name(self) -> str:
        return f"{self.kind}(k={kernel_text(self.kernel_size)}, s={kernel_text(self.stride)})"

    def _out_hw(self, shape: tuple[int, ...]) -> IntPair:
        if len(shape) != 4:
            raise ValueError(
                f"{self._name()}: expected input (N, C, H, W) with 4 axes, got shape {tuple(shape)}"
            )
        return output_hw(
            shape[2], shape[3], self.kernel_size, self.stride, self.padding, self._name()
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3:
            raise ValueError(
                f"{self._name()}: expected an input shape (C, H, W), got {tuple(input_shape)}"
            )
        return (input_shape[0], *self._out_hw((1, *input_shape)))

    def config(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}


class MaxPool2d(_Pool2d):
    """Max pooling (最大池化), PyTorch's ``nn.MaxPool2d``.

    Parameters
    ----------
    kernel_size : int or pair
    stride : int or pair, default ``kernel_size``
    padding : int or pair – implicit −∞ padding, at most half the kernel
    return_indices : bool, keyword-only
        ``forward`` returns ``(y, indices)`` with the flat position ``h·W + w`` of each
        maximum in its H×W plane, for ``MaxUnpool2d``. (Keyword-only: PyTorch's fourth
        positional argument is ``dilation``.)

    Shapes: (N, C, H, W) → (N, C, ⌊(H + 2p − k)/s⌋ + 1, …).
    """

    kind = "MaxPool2d"

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        *,
        return_indices: bool = False,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.return_indices = bool(return_indices)

    def forward(self, x: np.ndarray) -> Any:
        x = as_float_array(x, self._name())
        out_hw = self._out_hw(x.shape)
        y = _max_pool_fast(x, self.kernel_size, self.stride, self.padding, out_hw)
        self._cache = (
            x,
            y,
        )  # backward finds the arg-max again from x and y (cheaper than storing it)
        if self.return_indices:
            indices = _max_pool_backward_fast(
                y,
                x,
                y,
                self.kernel_size,
                self.stride,
                self.padding,
                want_grad=False,
                want_indices=True,
            )[1]
            return y, indices
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x, y = self._saved(self._cache)
        grad_y = check_same_shape(grad_y, y.shape, self._name())
        return _max_pool_backward_fast(grad_y, x, y, self.kernel_size, self.stride, self.padding)[0]

    def can_fuse_relu_backward(self, relu: Layer) -> bool:
        """Whether :meth:`backward_through_relu` may stand for ``relu.backward(self.backward(δ))``:
        ``relu`` is a ``ReLU``, the windows are disjoint (stride ≥ kernel) and this layer's
        last input is the very array ``relu``'s last forward returned.
        """
        k, s = self.kernel_size, self.stride
        return (
            type(relu) is ReLU
            and s[0] >= k[0]
            and s[1] >= k[1]
            and self._cache is not None
            and self._cache[0] is getattr(relu, "_saved_array", None)
        )

    def backward_through_relu(self, grad_y: np.ndarray, relu: Layer) -> np.ndarray:
        """∂L/∂z for ``z → relu → self``: ``relu.backward(self.backward(grad_y))`` in one pass.

        Only when :meth:`can_fuse_relu_backward` says so (``Sequential`` checks). The input
        x = relu(z) of this layer is ≥ 0, and where a pixel wins its window x = y (the
        window's maximum), so [x > 0] = [y > 0] there; every other pixel gets 0 either way.
        So the ReLU's mask is applied to δ at the pooled size – a quarter of the pixels
        for 2×2 windows – instead of to the full-size gradient, and no full-size
        temporary is made. Bit for bit the same numbers, signed zeros included: without
        the fusion a pixel gets δ·[won]·[x > 0], with it (δ·[y > 0])·[won]; where both
        masks are 1 that is δ, and anywhere else δ·0, a zero with δ's sign in both. (With
        overlapping windows a pixel adds several δ·0 whose signs may differ from the sign
        of their sum, so those are not fused.) Tested equal to the two separate passes.
        """
        if not self.can_fuse_relu_backward(relu):
            raise ValueError(
                f"{self._name()}.backward_through_relu: needs disjoint windows and the output "
                f"of the given ReLU as this layer's last input"
            )
        x, y = self._saved(self._cache)
        grad_y = check_same_shape(grad_y, y.shape, self._name())
        return _max_pool_backward_fast(
            grad_y, x, y, self.kernel_size, self.stride, self.padding, through_relu=True
        )[0]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "return_indices": self.return_indices}


class AvgPool2d(_Pool2d):
    """Mean pooling (平均池化), PyTorch's ``nn.AvgPool2d`` (padding zeros count in the mean).

    Shapes: (N, C, H, W) → (N, C, ⌊(H + 2p − k)/s⌋ + 1, …).
    """

    kind = "AvgPool2d"

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, self._name())
        out_hw = self._out_hw(x.shape)
        y = _avg_pool_fast(x, self.kernel_size, self.stride, self.padding, out_hw)
        self._cache = (x, y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x, y = self._saved(self._cache)
        grad_y = check_same_shape(grad_y, y.shape, self._name())
        return _avg_pool_backward_fast(grad_y, x, self.kernel_size, self.stride, self.padding)


class MaxUnpool2d(Layer):
    """Max-unpooling (反池化), PyTorch's ``nn.MaxUnpool2d``: the values go back to the positions
    ``MaxPool2d(..., return_indices=True)`` recorded; every other output is 0.

    ``forward(x, indices, output_size=None)``; the default output size is
    ((H − 1)·s + k, (W − 1)·s + k). Backward gathers δ at the same indices.
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, _ = _pool_args(kernel_size, stride, 0, "MaxUnpool2d")
        self._indices: np.ndarray | None = None
        self._out_hw_seen: IntPair | None = None

    def _name(self) -> str:
        return f"MaxUnpool2d(k={kernel_text(self.kernel_size)}, s={kernel_text(self.stride)})"

    def forward(
        self,
        x: np.ndarray,
        indices: np.ndarray | None = None,  # type: ignore[override]
        output_size: Any = None,
    ) -> np.ndarray:
        if indices is None:
            raise ValueError(
                f"{self._name()}: forward(x, indices) needs the indices from "
                f"MaxPool2d(..., return_indices=True)"
            )
        x = as_float_array(x, self._name())
        check_ndim(x, 4, self._name(), "(N, C, H, W)")
        out_hw = _unpool_size(x.shape, self.kernel_size, self.stride, output_size, self._name())
        indices = _check_unpool(x, indices, out_hw, self._name())
        self._indices, self._out_hw_seen = indices, out_hw
        return max_unpool2d_forward(x, indices, out_hw)

    def __call__(
        self,
        x: np.ndarray,
        indices: np.ndarray | None = None,  # type: ignore[override]
        output_size: Any = None,
    ) -> np.ndarray:
        return self.forward(x, indices, output_size)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        indices = self._saved(self._indices)
        grad_y = check_same_shape(grad_y, (*indices.shape[:2], *self._out_hw_seen), self._name())
        return max_unpool2d_backward(grad_y, indices)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c, *_unpool_size((1, c, h, w), self.kernel_size, self.stride, None, self._name()))

    def config(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "stride": self.stride}


def _scale_factor(value: Any) -> IntPair:
    """A positive integer scale (``2`` or ``2.0``) or a pair of them, as ints."""

    def whole(v: Any) -> Any:
        return int(v) if isinstance(v, float) and v.is_integer() else v

    value = tuple(whole(v) for v in value) if isinstance(value, (tuple, list)) else whole(value)
    return pair_at_least(value, "scale_factor", "Upsample", 1)


class Upsample(Layer):
    """Nearest-neighbour up-sampling (上采样), PyTorch's
    ``nn.Upsample(size=None, scale_factor=None, mode='nearest')``: each value is copied
    into an s×s block; backward sums δ over each block.

    Parameters
    ----------
    size : None
        PyTorch's fixed output size; not implemented here (give ``scale_factor``). It is
        the *first* positional argument, as in PyTorch: ``Upsample(2)`` means size 2 there,
        so it is refused here rather than read as a scale factor.
    scale_factor : int or pair
        A positive whole number (``2`` or ``2.0``) or a pair of them.
    mode : str
        Only ``'nearest'``.
    """

    def __init__(
        self, size: IntOrPair | None = None, scale_factor: Any = None, mode: str = "nearest"
    ) -> None:
        super().__init__()
        if size is not None:
            raise ValueError(
                f"Upsample: size={size!r} (a fixed output size, PyTorch's first argument) is not "
                f"implemented; for a scale factor write Upsample(scale_factor={size!r})"
            )
        if scale_factor is None:
            raise ValueError("Upsample: give scale_factor, e.g. Upsample(scale_factor=2)")
        if mode != "nearest":
            raise ValueError(f"Upsample: only mode='nearest' is implemented, got {mode!r}")
        self.scale_factor = _scale_factor(scale_factor)
        self.mode = mode
        self._x_shape: tuple[int, ...] | None = None

    def _name(self) -> str:
        return f"Upsample(scale_factor={kernel_text(self.scale_factor)})"

    def __repr__(self) -> str:
        sh, sw = self.scale_factor
        scale = f"{float(sh)}" if sh == sw else f"({float(sh)}, {float(sw)})"
        return f"Upsample(scale_factor={scale}, mode={self.mode!r})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, self._name())
        check_ndim(x, 4, self._name(), "(N, C, H, W)")
        self._x_shape = x.shape
        return upsample_nearest_forward(x, self.scale_factor)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        n, c, h, w = self._saved(self._x_shape)
        sh, sw = self.scale_factor
        grad_y = check_same_shape(grad_y, (n, c, h * sh, w * sw), self._name())
        return upsample_nearest_backward(grad_y, self.scale_factor)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c, h * self.scale_factor[0], w * self.scale_factor[1])

    def config(self) -> dict[str, Any]:
        return {"scale_factor": self.scale_factor, "mode": self.mode}
