r"""Convolution (chapters 4 and 6): ``Conv2d``, ``ConvTranspose2d`` and the functions behind them.

A ``Conv2d`` layer with weight :math:`W` of shape (C_out, C_in, k_h, k_w) and bias
:math:`b` computes, for every sample :math:`n`, filter :math:`o` and output pixel
:math:`(r, c)`, a *cross-correlation* (互相关) – the kernel is not flipped:

.. math::
    y_{n,o,r,c} = b_o + \sum_{i=0}^{C_{in}-1}\sum_{u=0}^{k_h-1}\sum_{v=0}^{k_w-1}
                  W_{o,i,u,v}\; x^{pad}_{n,\,i,\,r s + u,\,c s + v}

with stride :math:`s` and zero padding :math:`p`; the output size is
:math:`\lfloor (n + 2p - k)/s \rfloor + 1` in each direction. Backward, with
:math:`\delta = \partial L/\partial y` (chapter 6):

* :math:`\partial L/\partial W` = cross-correlation of the layer's input with :math:`\delta`;
* :math:`\partial L/\partial b_o = \sum_{n,r,c}\delta_{n,o,r,c}`;
* :math:`\delta_{in} = \partial L/\partial x = \operatorname{pad}(\delta) \star
  \operatorname{rot180}(W)` exactly: :math:`\delta` zero-dilated (s − 1 zeros between
  entries, for stride s > 1) and padded by k − 1 − p on each side, cross-correlated
  (:math:`\star`) with the kernel rotated by 180° and its two channel axes swapped
  (:func:`conv2d_input_grad_by_full_convolution`).

Three ways to compute the same numbers live here:

1. ``*_reference`` – plain Python loops, a direct transcription of the formulas;
2. ``im2col`` / ``col2im`` – every receptive field (感受野) becomes one column of a
   matrix, so the whole layer is one matrix product (how fast libraries do it);
3. ``conv2d_forward`` / ``conv2d_backward`` – the im2col method with the memory laid
   out so that the copy and the matrix product read contiguous memory (see below).

The tests hold all of them equal and check the gradients numerically.

Memory layout of the fast path
------------------------------
The fast functions copy the input once into the order (C, H, W, N) – batch axis last.
Then the window for kernel offset (u, v) is a slice whose rows are long contiguous runs
(W_out·N numbers), the columns of the im2col matrix come out in the order (r, c, n), and
one matrix product ``W (C_out × C_in·k_h·k_w) @ cols`` gives the output as
(C_out, H_out, W_out, N). It is returned as the transposed *view* ``(N, C_out, H_out,
W_out)``: an ordinary numpy array of that shape whose strides say "batch axis last in
memory". Element-wise layers (ReLU) and pooling keep that layout, so the next
convolution finds its input already in (C, H, W, N) order and copies nothing extra.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np

from . import init, threads
from .layer import Layer, Parameter
from .shapes import (
    IntOrPair,
    IntPair,
    as_float_array,
    check_ndim,
    check_same_shape,
    conv_output_size,
    kernel_text,
    output_hw,
    pair,
    pair_at_least,
    positive_int,
)


# ---------------------------------------------------------------------------------------
# 1-D and single-channel 2-D correlation / convolution (chapter 4's first examples)
# ---------------------------------------------------------------------------------------
def correlate1d(
    signal: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0
) -> np.ndarray:
    r"""1-D cross-correlation :math:`y_t = \sum_u k_u\, x_{ts + u}` of a zero-padded signal.

    With ``padding=0`` this is numpy's ``np.correlate(signal, kernel, 'valid')``.
    """
    x = as_float_array(signal, "correlate1d")
    k = as_float_array(kernel, "correlate1d")
    if x.ndim != 1 or k.ndim != 1:
        raise ValueError(
            f"correlate1d: expected 1-D signal and kernel, got shapes "
            f"{tuple(x.shape)} and {tuple(k.shape)}"
        )
    n_out = conv_output_size(x.size, k.size, padding, stride, where="correlate1d")
    x = np.pad(x, padding)
    # window t covers x[t·s : t·s + k]; the view has one row per window, no copy
    windows = np.lib.stride_tricks.sliding_window_view(x, k.size)[::stride][:n_out]
    return windows @ k


def convolve1d(
    signal: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0
) -> np.ndarray:
    r"""True 1-D convolution :math:`y_t = \sum_u k_{K-1-u}\, x_{ts+u}`: correlation with the
    kernel reversed.

    With ``padding=0`` this is ``np.convolve(signal, kernel, 'valid')``.
    """
    k = as_float_array(kernel, "convolve1d")
    if k.ndim != 1:
        raise ValueError(f"convolve1d: expected a 1-D kernel, got shape {tuple(k.shape)}")
    return correlate1d(signal, k[::-1], stride, padding)


def correlate2d(
    image: np.ndarray, kernel: np.ndarray, stride: IntOrPair = 1, padding: IntOrPair = 0
) -> np.ndarray:
    r"""Cross-correlation of one 2-D image with one 2-D kernel (what ``Conv2d`` computes).

    :math:`y_{r,c} = \sum_{u,v} K_{u,v}\, x^{pad}_{rs+u,\,cs+v}`; with ``padding=0`` this is
    ``scipy.signal.correlate2d(image, kernel, mode='valid')``.
    """
    x = as_float_array(image, "correlate2d")
    k = as_float_array(kernel, "correlate2d")
    if x.ndim != 2 or k.ndim != 2:
        raise ValueError(
            f"correlate2d: expected a 2-D image and a 2-D kernel, got shapes "
            f"{tuple(x.shape)} and {tuple(k.shape)}"
        )
    output_hw(
        *x.shape,
        k.shape,
        pair_at_least(stride, "stride", "correlate2d", 1),
        pair_at_least(padding, "padding", "correlate2d", 0),
        "correlate2d",
    )
    return conv2d_forward(x[None, None], k[None, None], None, stride, padding)[0, 0]


def convolve2d(
    image: np.ndarray, kernel: np.ndarray, stride: IntOrPair = 1, padding: IntOrPair = 0
) -> np.ndarray:
    """True 2-D convolution: correlation with the kernel rotated by 180° (flipped both ways).

    With ``padding=0`` this is ``scipy.signal.convolve2d(image, kernel, mode='valid')``.
    """
    k = as_float_array(kernel, "convolve2d")
    if k.ndim != 2:
        raise ValueError(f"convolve2d: expected a 2-D kernel, got shape {tuple(k.shape)}")
    return correlate2d(image, k[::-1, ::-1], stride, padding)


# ---------------------------------------------------------------------------------------
# Reference implementations: plain loops, straight from the formulas
# ---------------------------------------------------------------------------------------
def _indices(*sizes: int) -> product:
    """Every index tuple of nested loops over ``range(size)`` for each size, in the nested
    loops' order (the last index runs fastest): ``for n, o in _indices(2, 3)`` is
    ``for n in range(2): for o in range(3)``.
    """
    return product(*(range(size) for size in sizes))


def _check_conv_args(x: np.ndarray, w: np.ndarray, where: str) -> None:
    check_ndim(x, 4, where, "(N, C, H, W)")
    if w.ndim != 4:
        raise ValueError(
            f"{where}: expected a weight (C_out, C_in, kh, kw), got shape {tuple(w.shape)}"
        )
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{where}: the input has {x.shape[1]} channels but the weight "
            f"{tuple(w.shape)} expects {w.shape[1]}"
        )


def conv2d_forward_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """y[n, o, r, c] = b[o] + Σ_i Σ_u Σ_v W[o, i, u, v]·x_pad[n, i, r·s + u, c·s + v], by loops."""
    _check_conv_args(x, w, "conv2d_forward_reference")
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    n_samples, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    ho, wo = output_hw(h, wd, (kh, kw), (sh, sw), (ph, pw), "conv2d_forward_reference")
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n_samples, c_out, ho, wo), dtype=np.result_type(x, w))
    for n, o, r, c in _indices(n_samples, c_out, ho, wo):  # every output pixel
        total = 0.0 if b is None else b[o]
        for i, u, v in _indices(c_in, kh, kw):  # every weight of filter o
            total += w[o, i, u, v] * xp[n, i, r * sh + u, c * sw + v]
        y[n, o, r, c] = total
    return y


def conv2d_backward_reference(
    grad_y: np.ndarray, x: np.ndarray, w: np.ndarray, stride: IntOrPair = 1, padding: IntOrPair = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dW, db) with the same loops as the forward pass: each product
    W[o,i,u,v]·x_pad[n,i,r·s+u,c·s+v] sends δ[n,o,r,c] times one factor to the other.
    """
    _check_conv_args(x, w, "conv2d_backward_reference")
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    n_samples, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    ho, wo = output_hw(h, wd, (kh, kw), (sh, sw), (ph, pw), "conv2d_backward_reference")
    grad_y = check_same_shape(grad_y, (n_samples, c_out, ho, wo), "conv2d_backward_reference")
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros(xp.shape, dtype=np.result_type(x, w, grad_y))
    dw = np.zeros(w.shape, dtype=dxp.dtype)
    db = np.zeros(c_out, dtype=dxp.dtype)
    for n, o, r, c in _indices(n_samples, c_out, ho, wo):  # every output pixel
        g = grad_y[n, o, r, c]
        db[o] += g
        for i, u, v in _indices(c_in, kh, kw):  # every weight of filter o
            dw[o, i, u, v] += g * xp[n, i, r * sh + u, c * sw + v]
            dxp[n, i, r * sh + u, c * sw + v] += g * w[o, i, u, v]
    return dxp[:, :, ph : ph + h, pw : pw + wd], dw, db


# ---------------------------------------------------------------------------------------
# im2col / col2im
# ---------------------------------------------------------------------------------------
def _pad_chwn(x: np.ndarray, padding: IntPair, out: np.ndarray | None = None) -> np.ndarray:
    """(N, C, H, W) → zero-padded (C, H + 2p_h, W + 2p_w, N): the batch axis last.

    Without padding, an input that is already batch-last in memory (the output of an
    earlier ``Conv2d``, ReLU or pooling) is returned as a transposed view, no copy. ``out``
    is a reusable buffer whose border is already zero.
    """
    n, c, h, w = x.shape
    ph, pw = padding
    x_t = x.transpose(1, 2, 3, 0)
    if ph == 0 and pw == 0:
        # a C-ordered input is reordered once here: cheaper than 25 strided copies later
        return x_t if x_t.flags.c_contiguous else np.ascontiguousarray(x_t)
    if out is None:
        out = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    out[:, ph : ph + h, pw : pw + w, :] = x_t  # only the interior is written; the border stays 0
    return out


def _im2col_chwn(
    xp: np.ndarray, kernel: IntPair, stride: IntPair, out_hw: IntPair, out: np.ndarray | None = None
) -> np.ndarray:
    """Columns (C, kh, kw, H_out, W_out, N) from a padded (C, H_p, W_p, N) input.

    ``cols[i, u, v, r, c, n] = xp[i, r·s + u, c·s + v, n]`` – the loop over (i, r, c, n) of
    the reference becomes one strided slice per kernel offset (u, v). With the batch axis
    last, each slice is made of long contiguous runs, so the copy streams through memory.
    """
    c, _, _, n = xp.shape
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    if out is None:
        out = np.empty((c, kh, kw, ho, wo, n), dtype=xp.dtype)
    offsets = list(_indices(kh, kw))

    def copy(part: slice) -> None:  # the offsets are independent: threads share them out
        for u, v in offsets[part]:
            out[:, u, v] = xp[:, u : u + sh * (ho - 1) + 1 : sh, v : v + sw * (wo - 1) + 1 : sw, :]

    threads.run(copy, threads.pieces(len(offsets), out.size))
    return out


def _col2im_chwn(
    dcols: np.ndarray, padded_hw: IntPair, stride: IntPair, out: np.ndarray | None = None
) -> np.ndarray:
    """The adjoint of ``_im2col_chwn``: add every column entry back where it was read from.

    Where windows overlap, an input pixel was copied into several columns, so its gradient
    is the sum of theirs. One slice-add per kernel offset (u, v) does this with plain
    ``+=``: inside one offset the positions r·s + u are all different, so no index repeats
    (which is why this needs no ``np.add.at``).
    """
    c, kh, kw, ho, wo, n = dcols.shape
    sh, sw = stride
    fresh = out is None
    if fresh:
        out = np.zeros((c, padded_hw[0], padded_hw[1], n), dtype=dcols.dtype)

    def add(part: slice) -> None:  # channels never add into each other: threads share them
        if not fresh:
            out[part].fill(0)
        for u in range(kh):
            for v in range(kw):
                out[part, u : u + sh * (ho - 1) + 1 : sh, v : v + sw * (wo - 1) + 1 : sw, :] += (
                    dcols[part, u, v]
                )

    threads.run(add, threads.pieces(c, dcols.size))
    return out


def _im2col_matrix(
    x: np.ndarray, kernel: IntPair, stride: IntPair, padding: IntPair, out_hw: IntPair
) -> np.ndarray:
    """The (C·kh·kw, H_out·W_out·N) im2col matrix of an (N, C, H, W) input, freshly made."""
    cols = _im2col_chwn(_pad_chwn(x, padding), kernel, stride, out_hw)
    return cols.reshape(x.shape[1] * kernel[0] * kernel[1], out_hw[0] * out_hw[1] * x.shape[0])


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: IntOrPair = 1, padding: IntOrPair = 0
) -> np.ndarray:
    """Unfold every receptive field of ``x`` into one column of a matrix.

    Parameters
    ----------
    x : (N, C, H, W) array
    kh, kw : kernel height and width
    stride, padding : int or pair

    Returns
    -------
    cols : (C·kh·kw, H_out·W_out·N) array
        Row ``(i·kh + u)·kw + v`` holds input channel i at kernel offset (u, v) – the same
        order as ``weight.reshape(C_out, -1)``; column ``(r·W_out + c)·N + n`` is the
        window of output pixel (r, c) of sample n. So a convolution is one product::

            y = (weight.reshape(C_out, -1) @ cols)       # (C_out, H_out·W_out·N)
            y = y.reshape(C_out, H_out, W_out, N).transpose(3, 0, 1, 2)

        Example: one 1×3×3 image, 2×2 kernel, stride 1 → a (4, 4) matrix whose column
        0 is ``[x00, x01, x10, x11]``, column 1 is ``[x01, x02, x11, x12]``, …
        (columns are ordered output row, output column, then sample – the batch axis
        last is what makes the fast path fast).
    """
    x = as_float_array(x, "im2col")
    check_ndim(x, 4, "im2col", "(N, C, H, W)")
    kernel = (int(kh), int(kw))
    s = pair_at_least(stride, "stride", "im2col", 1)
    p = pair_at_least(padding, "padding", "im2col", 0)
    ho, wo = output_hw(x.shape[2], x.shape[3], kernel, s, p, "im2col")
    return _im2col_matrix(x, kernel, s, p, (ho, wo))


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kh: int,
    kw: int,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """The adjoint of :func:`im2col`: fold the columns back into an (N, C, H, W) array,
    *adding* the entries of overlapping windows (that is the gradient of im2col).
    """
    n, c, h, w = x_shape
    kernel = (int(kh), int(kw))
    s = pair_at_least(stride, "stride", "col2im", 1)
    (ph, pw) = pair_at_least(padding, "padding", "col2im", 0)
    ho, wo = output_hw(h, w, kernel, s, (ph, pw), "col2im")
    cols = np.asarray(cols)
    if cols.shape != (c * kh * kw, ho * wo * n):
        raise ValueError(
            f"col2im: expected columns of shape {(c * kh * kw, ho * wo * n)} for "
            f"x_shape {tuple(x_shape)}, got {tuple(cols.shape)}"
        )
    dxp = _col2im_chwn(cols.reshape(c, kh, kw, ho, wo, n), (h + 2 * ph, w + 2 * pw), s)
    return np.ascontiguousarray(dxp[:, ph : ph + h, pw : pw + w, :].transpose(3, 0, 1, 2))


# ---------------------------------------------------------------------------------------
# Fast implementations
# ---------------------------------------------------------------------------------------
class Workspace:
    """Arrays a layer reuses from one batch to the next.

    A fresh 5–20 MB im2col matrix each step means fresh pages from the operating system
    (a first-layer forward pass is 4–11 % slower that way); a layer keeps its scratch
    arrays here instead. Nothing handed back to the caller ever lives here.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(
        self, name: str, shape: tuple[int, ...], dtype: Any, zeroed: bool = False
    ) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.shape != tuple(shape) or array.dtype != dtype:
            array = np.zeros(shape, dtype) if zeroed else np.empty(shape, dtype)
            self._arrays[name] = array
        return array

    def clear(self) -> None:
        self._arrays.clear()


# Columns per block in the matrix products below. With only K = C_in·k² = 25 rows (the
# first LeNet layer) OpenBLAS streams the whole 5 MB im2col matrix through memory for
# every pass; in blocks of 4096 columns each block stays in the CPU cache. A block of
# columns of a product is computed exactly as in the full product, and dW, a sum over
# columns, is the sum of the blocks' sums – only the order of the additions changes.
_BLOCK_COLUMNS = 4096


def _column_blocks(n_columns: int) -> list[slice]:
    return [slice(start, start + _BLOCK_COLUMNS) for start in range(0, n_columns, _BLOCK_COLUMNS)]


def _conv2d_forward_cols(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: IntPair,
    out_hw: IntPair,
    ws: Workspace | None = None,
    keep_cols: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The forward pass, also returning the im2col matrix that the backward pass needs –
    or ``None`` with ``keep_cols=False`` (nothing needs it: a layer in eval mode).
    """
    threads.one_blas_thread()  # the same bits for any thread count (edu_cnn.threads)
    n, c, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    ho, wo = out_hw
    dtype = np.result_type(x, w)
    x = x.astype(dtype, copy=False)
    padded = None
    if ws is not None and (padding[0] or padding[1]):
        padded = ws.get(
            "padded", (c, h + 2 * padding[0], wd + 2 * padding[1], n), dtype, zeroed=True
        )
    xp = _pad_chwn(x, padding, padded)
    w_flat = w.reshape(c_out, -1).astype(dtype, copy=False)
    bias = None if b is None else b.astype(dtype, copy=False)[:, None]
    n_cols = ho * wo * n
    # not cut into pieces: with its Python loop of small copies the threads would queue for
    # the GIL; on one core it is as fast as the plain path's pieces on two (batch 256)
    if not keep_cols and stride == (1, 1) and c * kh * kw * n_cols >= threads.MIN_ELEMENTS:
        y = _conv2d_forward_in_blocks(xp, w_flat, bias, (kh, kw), out_hw)
        return y.reshape(c_out, ho, wo, n).transpose(3, 0, 1, 2), None
    cols = _im2col_chwn(
        xp,
        (kh, kw),
        stride,
        (ho, wo),
        None if ws is None else ws.get("cols", (c, kh, kw, ho, wo, n), dtype),
    )
    cols = cols.reshape(c * kh * kw, n_cols)
    # One product does every loop of the reference at once: (C_out × K) @ (K × H_out·W_out·N).
    y = np.empty((c_out, n_cols), dtype)
    blocks = _column_blocks(n_cols)

    def multiply(part: slice) -> None:  # blocks are independent: threads share them out
        for block in blocks[part]:
            np.matmul(w_flat, cols[:, block], out=y[:, block])
            if bias is not None:
                y[:, block] += bias  # while the block is still in the cache

    threads.run(multiply, threads.pieces(len(blocks), cols.size))
    return y.reshape(c_out, ho, wo, n).transpose(3, 0, 1, 2), cols


def _conv2d_forward_in_blocks(
    xp: np.ndarray,
    w_flat: np.ndarray,
    bias: np.ndarray | None,
    kernel: IntPair,
    out_hw: IntPair,
) -> np.ndarray:
    """``W @ im2col(x)`` for stride 1 without the whole im2col matrix: each block of columns
    is built, multiplied and forgotten while it is still in the CPU cache.

    At batch 256 LeNet's im2col matrices are 20 and 15 MB: written whole and then read by
    the product, they go out to memory and back. Here a block's columns are written into
    a scratch array of a few hundred kB and multiplied at once. The blocks are the plain
    path's (``_column_blocks``) and hold the same numbers, so the result is bit for bit
    the plain path's. With stride 1 the columns of output row r that offset (u, v) reads
    are one contiguous run of the padded input's row r + u, v·N entries further on – a
    block needs one copy per offset and output row it touches.
    """
    c, hp, wp, n = xp.shape
    kh, kw = kernel
    ho, wo = out_hw
    rows = xp.reshape(c, hp, wp * n)
    width = wo * n  # columns per output row
    n_cols = ho * width
    y = np.empty((w_flat.shape[0], n_cols), w_flat.dtype)
    scratch = np.empty(c * kh * kw * _BLOCK_COLUMNS, w_flat.dtype)
    for block in _column_blocks(n_cols):
        start, stop = block.start, min(block.stop, n_cols)
        cols = scratch[: c * kh * kw * (stop - start)].reshape(c, kh, kw, stop - start)
        at = start
        while at < stop:  # the block's columns, one output row at a time
            r, j0 = divmod(at, width)
            j1 = min(width, j0 + stop - at)
            into = slice(at - start, at - start + j1 - j0)
            for u in range(kh):
                for v in range(kw):
                    cols[:, u, v, into] = rows[:, r + u, v * n + j0 : v * n + j1]
            at += j1 - j0
        np.matmul(w_flat, cols.reshape(c * kh * kw, -1), out=y[:, start:stop])
        if bias is not None:
            y[:, start:stop] += bias
    return y


def _conv2d_backward_cols(
    grad_y: np.ndarray,
    cols: np.ndarray,
    x_shape: tuple[int, ...],
    w: np.ndarray,
    stride: IntPair,
    padding: IntPair,
    ws: Workspace | None = None,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dx, dW, db from δ and the im2col matrix of the forward pass."""
    threads.one_blas_thread()  # the same bits for any thread count (edu_cnn.threads)
    n, c, h, wd = x_shape
    c_out, _, kh, kw = w.shape
    _, _, ho, wo = grad_y.shape
    dtype = cols.dtype
    # δ in (C_out, H_out·W_out·N) order, matching the columns; free if already batch-last
    delta = np.ascontiguousarray(grad_y.transpose(1, 2, 3, 0), dtype=dtype).reshape(c_out, -1)
    w_flat = w.reshape(c_out, -1).astype(dtype, copy=False)
    # dW[o, k] = Σ over every (r, c, n) of δ·(input value in that window) = (δ @ colsᵀ)[o, k].
    # We compute its transpose cols @ δᵀ (K × C_out): the same sums, but OpenBLAS runs this
    # shape up to 1.7× faster on LeNet's second layer; δᵀ is a transposed view, not a copy.
    blocks = _column_blocks(cols.shape[1])
    dw_t = np.zeros((cols.shape[0], c_out), dtype)
    # not shared out over threads: np.matmul keeps Python's lock (the GIL) for a product
    # with a result this small (25 × 6), so threads would only take turns
    for block in blocks:
        dw_t += cols[:, block] @ delta[:, block].T  # the sum over columns, a block at a time
    dw = dw_t.T.reshape(w.shape)
    db = delta.sum(axis=1)
    if not input_grad:
        return None, dw, db
    # each column's gradient is Wᵀδ; col2im adds them back to the pixels they came from
    dcols = ws.get("dcols", cols.shape, dtype) if ws is not None else np.empty(cols.shape, dtype)
    w_t = w_flat.T

    def input_product(part: slice) -> None:
        for block in blocks[part]:
            np.matmul(w_t, delta[:, block], out=dcols[:, block])

    threads.run(input_product, threads.pieces(len(blocks), dcols.size))
    hp, wp = h + 2 * padding[0], wd + 2 * padding[1]
    # fresh (not a workspace array): the caller receives a view of it
    dxp = _col2im_chwn(dcols.reshape(c, kh, kw, ho, wo, n), (hp, wp), stride)
    dx = dxp[:, padding[0] : padding[0] + h, padding[1] : padding[1] + wd, :]
    return dx.transpose(3, 0, 1, 2), dw, db


def _conv_args(
    x: np.ndarray, w: np.ndarray, stride: IntOrPair, padding: IntOrPair, where: str
) -> tuple[IntPair, IntPair, IntPair]:
    _check_conv_args(x, w, where)
    s = pair_at_least(stride, "stride", where, 1)
    p = pair_at_least(padding, "padding", where, 0)
    out_hw = output_hw(x.shape[2], x.shape[3], (w.shape[2], w.shape[3]), s, p, where)
    return s, p, out_hw


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> np.ndarray:
    """Fast 2-D convolution (cross-correlation) of a batch: im2col + one matrix product.

    Same result as :func:`conv2d_forward_reference`. The result is an (N, C_out, H_out,
    W_out) array whose memory is ordered batch-last (see the module docstring); use
    ``np.ascontiguousarray`` if C order matters to you.
    """
    x = as_float_array(x, "conv2d_forward")
    w = as_float_array(w, "conv2d_forward")
    s, p, out_hw = _conv_args(x, w, stride, padding, "conv2d_forward")
    return _conv2d_forward_cols(x, w, b, s, p, out_hw)[0]


def conv2d_backward(
    grad_y: np.ndarray, x: np.ndarray, w: np.ndarray, stride: IntOrPair = 1, padding: IntOrPair = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fast (dx, dW, db) of a 2-D convolution; same result as :func:`conv2d_backward_reference`."""
    x = as_float_array(x, "conv2d_backward")
    w = as_float_array(w, "conv2d_backward")
    s, p, out_hw = _conv_args(x, w, stride, padding, "conv2d_backward")
    grad_y = check_same_shape(grad_y, (x.shape[0], w.shape[0], *out_hw), "conv2d_backward")
    dtype = np.result_type(x, w)
    cols = _im2col_matrix(x.astype(dtype, copy=False), w.shape[2:], s, p, out_hw)
    dx, dw, db = _conv2d_backward_cols(grad_y, cols, x.shape, w, s, p)
    return dx, dw, db


def dilate(delta: np.ndarray, stride: IntOrPair) -> np.ndarray:
    """Insert s − 1 zeros between neighbouring entries of the last two axes (stride s)."""
    sh, sw = pair(stride, "stride", "dilate")
    *lead, h, w = delta.shape
    out = np.zeros((*lead, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=delta.dtype)
    out[..., ::sh, ::sw] = delta
    return out


def conv2d_input_grad_by_full_convolution(
    grad_y: np.ndarray,
    w: np.ndarray,
    input_hw: tuple[int, int],
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> np.ndarray:
    r"""∂L/∂x the chapter-6 way: δ_in = pad(δ) ⋆ rot180(W), exactly.

    ⋆ is cross-correlation (what ``Conv2d`` computes) and pad(δ) is δ made ready for it:

    1. dilate δ: insert s − 1 zeros between its entries (undoes the stride);
    2. pad it by k − 1 − p on each side (a "full" convolution; negative = crop), plus the
       rows/columns at the bottom/right that no window reached when (n + 2p − k) is not
       a multiple of s – their gradient is 0;
    3. cross-correlate with W rotated by 180° and with input/output channels swapped.

    Gives the same numbers as the col2im path (tested); this version needs an im2col of
    the padded δ, C_out·k² numbers per input pixel, so the layer uses col2im instead.
    """
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    _, _, kh, kw = w.shape
    h, wd = input_hw
    d = dilate(np.asarray(grad_y), (sh, sw))
    # rows of the padded input: (H_out − 1)·s + k plus the leftover rows no window used
    extra_h = h + 2 * ph - ((grad_y.shape[2] - 1) * sh + kh)
    extra_w = wd + 2 * pw - ((grad_y.shape[3] - 1) * sw + kw)
    before_h, before_w = kh - 1 - ph, kw - 1 - pw
    after_h, after_w = before_h + extra_h, before_w + extra_w
    # negative padding means cropping: pad by the positive part, then slice
    d = np.pad(
        d,
        ((0, 0), (0, 0), (max(before_h, 0), max(after_h, 0)), (max(before_w, 0), max(after_w, 0))),
    )
    d = d[
        :,
        :,
        max(-before_h, 0) : d.shape[2] - max(-after_h, 0),
        max(-before_w, 0) : d.shape[3] - max(-after_w, 0),
    ]
    rotated = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]  # (C_in, C_out, kh, kw), flipped 180°
    return conv2d_forward(d, np.ascontiguousarray(rotated), None, 1, 0)


# ---------------------------------------------------------------------------------------
# Transposed convolution
# ---------------------------------------------------------------------------------------
def conv_transpose_output_size(
    n: int,
    k: int,
    p: int = 0,
    s: int = 1,
    where: str = "conv_transpose_output_size",
    output_padding: int = 0,
) -> int:
    """Output length (n − 1)·s − 2p + k + output_padding of a transposed convolution.

    ``output_padding`` (0 ≤ it < s, as in PyTorch) adds rows/columns at the bottom/right:
    a ``Conv2d`` with stride s maps s different input sizes to the same output size, and
    this says which of them the transposed convolution gives back. Raises ``ValueError``
    when the size is < 1.
    """
    size = (n - 1) * s - 2 * p + k + output_padding
    if size < 1:
        extra = f" + {output_padding}" if output_padding else ""
        raise ValueError(
            f"{where}: output size (n − 1)·s − 2p + k"
            f"{' + output_padding' if output_padding else ''} = "
            f"({n} − 1)·{s} − 2·{p} + {k}{extra} = {size} – there is no output"
        )
    return size


def _output_padding_pair(output_padding: IntOrPair, stride: IntPair, where: str) -> IntPair:
    """``output_padding`` as a pair, each entry 0 ≤ op < stride (PyTorch's rule)."""
    op = pair_at_least(output_padding, "output_padding", where, 0)
    if op[0] >= stride[0] or op[1] >= stride[1]:
        raise ValueError(
            f"{where}: output_padding must be smaller than the stride (it picks one "
            f"of the s input sizes a strided Conv2d maps to the same output), got "
            f"output_padding={output_padding!r} with stride {stride}"
        )
    return op


def _transpose_args(
    x: np.ndarray,
    w: np.ndarray,
    stride: IntOrPair,
    padding: IntOrPair,
    where: str,
    output_padding: IntOrPair = 0,
) -> tuple[IntPair, IntPair, IntPair]:
    check_ndim(x, 4, where, "(N, C, H, W)")
    if w.ndim != 4 or w.shape[0] != x.shape[1]:
        raise ValueError(
            f"{where}: expected a weight (C_in={x.shape[1]}, C_out, kh, kw), "
            f"got shape {tuple(w.shape)}"
        )
    s = pair_at_least(stride, "stride", where, 1)
    p = pair_at_least(padding, "padding", where, 0)
    op = _output_padding_pair(output_padding, s, where)
    out_hw = (
        conv_transpose_output_size(x.shape[2], w.shape[2], p[0], s[0], where, op[0]),
        conv_transpose_output_size(x.shape[3], w.shape[3], p[1], s[1], where, op[1]),
    )
    return s, p, out_hw


def conv_transpose2d_forward_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
) -> np.ndarray:
    """Transposed convolution by scattering: every input pixel adds ``x · kernel`` to the
    output window it maps to, y[n, o, r·s + u − p, c·s + v − p] += x[n, i, r, c]·W[i, o, u, v].
    """
    (sh, sw), (ph, pw), (ho, wo) = _transpose_args(
        x, w, stride, padding, "conv_transpose2d_forward_reference", output_padding
    )
    n_samples, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    full = np.zeros((n_samples, c_out, ho + 2 * ph, wo + 2 * pw), dtype=np.result_type(x, w))
    for n, i, r, c in _indices(n_samples, c_in, h, wd):  # every input pixel
        for o, u, v in _indices(c_out, kh, kw):  # scatters a scaled copy of the kernel
            full[n, o, r * sh + u, c * sw + v] += x[n, i, r, c] * w[i, o, u, v]
    y = full[:, :, ph : ph + ho, pw : pw + wo]
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def conv_transpose2d_forward_by_zero_insertion(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
) -> np.ndarray:
    """Transposed convolution the other way: insert s − 1 zeros between the inputs, pad by
    k − 1 − p (plus ``output_padding`` at the bottom/right), cross-correlate with the kernel
    flipped 180° – exactly the input-gradient formula of ``Conv2d``
    (:func:`conv2d_input_grad_by_full_convolution`).
    """
    s, p, out_hw = _transpose_args(
        x, w, stride, padding, "conv_transpose2d_forward_by_zero_insertion", output_padding
    )
    y = conv2d_input_grad_by_full_convolution(x, w, out_hw, s, p)
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def conv_transpose2d_backward_reference(
    grad_y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dW, db) with the scatter loops of the forward pass run backwards."""
    (sh, sw), (ph, pw), (ho, wo) = _transpose_args(
        x, w, stride, padding, "conv_transpose2d_backward_reference", output_padding
    )
    n_samples, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    grad_y = check_same_shape(
        grad_y, (n_samples, c_out, ho, wo), "conv_transpose2d_backward_reference"
    )
    gp = np.pad(grad_y, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dtype = np.result_type(x, w, grad_y)
    dx = np.zeros(x.shape, dtype)
    dw = np.zeros(w.shape, dtype)
    for n, i, r, c in _indices(n_samples, c_in, h, wd):  # every input pixel
        for o, u, v in _indices(c_out, kh, kw):  # every output it scattered to
            g = gp[n, o, r * sh + u, c * sw + v]
            dx[n, i, r, c] += g * w[i, o, u, v]
            dw[i, o, u, v] += g * x[n, i, r, c]
    return dx, dw, grad_y.sum(axis=(0, 2, 3)).astype(dtype)


def conv_transpose2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
) -> np.ndarray:
    """Fast transposed convolution: it *is* the input gradient of a ``Conv2d`` whose weight
    is ``w`` (C_in of the transposed layer = C_out of that convolution), so it reuses the
    col2im path: columns Wᵀx, then add each column back to its window.
    """
    threads.one_blas_thread()  # the same bits for any thread count (edu_cnn.threads)
    x = as_float_array(x, "conv_transpose2d_forward")
    w = as_float_array(w, "conv_transpose2d_forward")
    s, p, out_hw = _transpose_args(
        x, w, stride, padding, "conv_transpose2d_forward", output_padding
    )
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    dtype = np.result_type(x, w)
    x_cols = np.ascontiguousarray(x.transpose(1, 2, 3, 0), dtype=dtype).reshape(c_in, -1)
    dcols = w.reshape(c_in, -1).astype(dtype, copy=False).T @ x_cols
    full = _col2im_chwn(
        dcols.reshape(c_out, kh, kw, h, wd, n), (out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1]), s
    )
    y = full[:, p[0] : p[0] + out_hw[0], p[1] : p[1] + out_hw[1], :]
    if b is not None:
        y = y + b.astype(dtype, copy=False)[:, None, None, None]
    return y.transpose(3, 0, 1, 2)


def conv_transpose2d_backward(
    grad_y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fast (dx, dW, db): the forward pass of a ``Conv2d`` with weight ``w`` turned around –
    dx is that convolution applied to δ, dW its weight gradient with the roles of input
    and δ swapped.
    """
    threads.one_blas_thread()  # the same bits for any thread count (edu_cnn.threads)
    x = as_float_array(x, "conv_transpose2d_backward")
    w = as_float_array(w, "conv_transpose2d_backward")
    s, p, out_hw = _transpose_args(
        x, w, stride, padding, "conv_transpose2d_backward", output_padding
    )
    grad_y = check_same_shape(
        grad_y, (x.shape[0], w.shape[1], *out_hw), "conv_transpose2d_backward"
    )
    dtype = np.result_type(x, w, grad_y)
    in_hw = x.shape[2:]
    y, cols = _conv2d_forward_cols(grad_y.astype(dtype, copy=False), w, None, s, p, in_hw)
    # y = conv2d(δ, w) is dx; with δ's columns, dW[i, o, u, v] = Σ x[n,i,r,c]·δ_window
    x_rows = np.ascontiguousarray(x.transpose(1, 2, 3, 0), dtype=dtype).reshape(x.shape[1], -1)
    dw = (x_rows @ cols.T).reshape(w.shape)
    db = grad_y.sum(axis=(0, 2, 3), dtype=dtype)
    return y, dw, db


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------
class _ConvSizes(Layer):
    """The constructor checks both convolution layers share."""

    def _set_sizes(
        self,
        where: str,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair,
    ) -> None:
        self.in_channels = positive_int(in_channels, "in_channels", where)
        self.out_channels = positive_int(out_channels, "out_channels", where)
        self.kernel_size = pair_at_least(kernel_size, "kernel_size", where, 1)
        self.stride = pair_at_least(stride, "stride", where, 1)


class Conv2d(_ConvSizes):
    r"""2-D convolution layer (卷积层), PyTorch's ``nn.Conv2d``.

    Parameters
    ----------
    in_channels, out_channels : int
        C_in and C_out: one filter of shape (C_in, kh, kw) per output channel.
    kernel_size : int or pair
    stride : int or pair
    padding : int, pair, ``'valid'`` or ``'same'``
        Zeros added on each side. ``'valid'`` is 0 (PyTorch's spelling); ``'same'`` keeps
        H and W (stride 1, odd kernels only).
    bias : bool, keyword-only
        Keyword-only: PyTorch's sixth positional argument is ``dilation``, so
        ``Conv2d(1, 6, 5, 1, 0, False)`` would mean something else there.
    rng : numpy Generator, optional, keyword-only
        Source of the initial weights (default: edu_cnn's seeded generator);
        PyTorch's default uniform initialisation.

    Shapes: input (N, C_in, H, W) → output (N, C_out, H_out, W_out) with
    H_out = ⌊(H + 2p − k)/s⌋ + 1. Weight (C_out, C_in, kh, kw), bias (C_out,).

    ``needs_input_grad = False`` skips ∂L/∂x in ``backward`` (which then returns ``None``),
    like PyTorch for a first layer whose input needs no gradient.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair | str = 0,
        *,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self._set_sizes("Conv2d", in_channels, out_channels, kernel_size, stride)
        where = self._name()
        if padding == "valid":
            self._padding_arg: Any = "valid"
            self.padding = (0, 0)
        elif isinstance(padding, str):
            if padding != "same":
                raise ValueError(
                    f"{where}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
                )
            if (
                self.stride != (1, 1)
                or self.kernel_size[0] % 2 == 0
                or self.kernel_size[1] % 2 == 0
            ):
                raise ValueError(
                    f"{where}: padding='same' needs stride 1 and an odd kernel (p = (k − 1)/2 on "
                    f"each side), got stride {self.stride} and kernel {self.kernel_size}"
                )
            self._padding_arg = "same"
            self.padding = ((self.kernel_size[0] - 1) // 2, (self.kernel_size[1] - 1) // 2)
        else:
            self.padding = pair_at_least(padding, "padding", where, 0)
            self._padding_arg = padding
        self.weight = Parameter(
            np.empty((self.out_channels, self.in_channels, *self.kernel_size), np.float32), "weight"
        )
        self.bias = Parameter(np.empty(self.out_channels, np.float32), "bias") if bias else None
        init.default_init_(self.weight, self.bias, rng)
        self.needs_input_grad = True
        # (x's shape, im2col of x – or, after an eval-mode forward, None and x itself)
        self._cache: tuple[tuple[int, ...], np.ndarray | None, np.ndarray | None] | None = None
        self._workspace = Workspace()

    def _name(self) -> str:
        return f"Conv2d({self.in_channels}→{self.out_channels}, k={kernel_text(self.kernel_size)})"

    def _check_input(self, shape: tuple[int, ...], shown: str | None = None) -> tuple[int, int]:
        """(H_out, W_out) for an input of ``shape`` (N, C, H, W) – or the error, which
        shows the shape as ``shown`` if given.
        """
        kh, kw = self.kernel_size
        ph, pw = self.padding
        min_h, min_w = max(kh - 2 * ph, 1), max(kw - 2 * pw, 1)
        size_text = f"H, W ≥ {min_h}" if min_h == min_w else f"H ≥ {min_h}, W ≥ {min_w}"
        if len(shape) != 4 or shape[1] != self.in_channels or shape[2] < min_h or shape[3] < min_w:
            raise ValueError(
                f"{self._name()}: expected input (N, {self.in_channels}, H, W) with "
                f"{size_text}, got {shown or tuple(shape)}"
            )
        return output_hw(
            shape[2], shape[3], self.kernel_size, self.stride, self.padding, self._name()
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, self._name())
        out_hw = self._check_input(x.shape)
        b = None if self.bias is None else self.bias.data
        y, cols = _conv2d_forward_cols(
            x,
            self.weight.data,
            b,
            self.stride,
            self.padding,
            out_hw,
            self._workspace,
            keep_cols=self.training,  # in eval mode a backward is rare: it rebuilds them
        )
        self._cache = (x.shape, cols, x if cols is None else None)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x_shape, cols, x = self._saved(self._cache)
        out_hw = self._check_input(x_shape)
        if cols is None:  # the forward pass ran in eval mode and kept no columns
            dtype = np.result_type(x, self.weight.data)
            x = x.astype(dtype, copy=False)
            cols = _im2col_matrix(x, self.kernel_size, self.stride, self.padding, out_hw)
        grad_y = check_same_shape(grad_y, (x_shape[0], self.out_channels, *out_hw), self._name())
        dx, dw, db = _conv2d_backward_cols(
            grad_y,
            cols,
            x_shape,
            self.weight.data,
            self.stride,
            self.padding,
            self._workspace,
            self.needs_input_grad,
        )
        self.weight.grad = dw.astype(self.weight.data.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad = db.astype(self.bias.data.dtype, copy=False)
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shown = f"(N, {', '.join(map(str, input_shape))})"
        ho, wo = self._check_input((1, *input_shape), shown)
        return (self.out_channels, ho, wo)

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self._padding_arg if isinstance(self._padding_arg, str) else self.padding,
            "bias": self.bias is not None,
        }

    def __getstate__(self) -> dict[str, Any]:
        # deep copies (gradcheck) and pickles leave the scratch arrays behind
        state = self.__dict__.copy()
        state["_workspace"] = Workspace()
        return state


class ConvTranspose2d(_ConvSizes):
    r"""Transposed convolution (转置卷积, "deconvolution"), PyTorch's ``nn.ConvTranspose2d``.

    Each input pixel adds a copy of the kernel, scaled by its value, to the output; the
    windows of neighbouring pixels are ``stride`` apart and overlap where k > s. It is
    the backward pass of a ``Conv2d`` with the same weight, used as a forward pass.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding : as ``Conv2d``
    output_padding : int or pair
        Extra rows/columns at the bottom/right of the output, 0 ≤ output_padding < stride
        (PyTorch's rule). A ``Conv2d`` with stride s maps s input sizes to one output size;
        this picks which one the transposed convolution gives back, e.g. 28 → 14 by
        ``Conv2d(…, 3, stride=2, padding=1)`` and 14 → 28 by
        ``ConvTranspose2d(…, 3, stride=2, padding=1, output_padding=1)``.
    bias : bool
    rng : numpy Generator, optional

    Shapes: input (N, C_in, H, W) → output (N, C_out, (H − 1)·s − 2p + k + output_padding, …).
    Weight (C_in, C_out, kh, kw) – note the order, as in PyTorch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        output_padding: IntOrPair = 0,
        *,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self._set_sizes("ConvTranspose2d", in_channels, out_channels, kernel_size, stride)
        self.padding = pair_at_least(padding, "padding", "ConvTranspose2d", 0)
        self.output_padding = _output_padding_pair(output_padding, self.stride, self._name())
        self.weight = Parameter(
            np.empty((self.in_channels, self.out_channels, *self.kernel_size), np.float32), "weight"
        )
        self.bias = Parameter(np.empty(self.out_channels, np.float32), "bias") if bias else None
        # PyTorch takes fan_in from weight.size(1)·k² = C_out·k² here, which is exactly what
        # init.fans reads from the (C_in, C_out, kh, kw) layout.
        init.default_init_(self.weight, self.bias, rng)
        self._x: np.ndarray | None = None

    def _name(self) -> str:
        k = kernel_text(self.kernel_size)
        return f"ConvTranspose2d({self.in_channels}→{self.out_channels}, k={k})"

    def _out_hw(self, shape: tuple[int, ...]) -> tuple[int, int]:
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"{self._name()}: expected input (N, {self.in_channels}, H, W), got {tuple(shape)}"
            )
        return (
            conv_transpose_output_size(
                shape[2],
                self.kernel_size[0],
                self.padding[0],
                self.stride[0],
                self._name(),
                self.output_padding[0],
            ),
            conv_transpose_output_size(
                shape[3],
                self.kernel_size[1],
                self.padding[1],
                self.stride[1],
                self._name(),
                self.output_padding[1],
            ),
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, self._name())
        self._out_hw(x.shape)
        self._x = x
        b = None if self.bias is None else self.bias.data
        return conv_transpose2d_forward(
            x, self.weight.data, b, self.stride, self.padding, self.output_padding
        )

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x = self._saved(self._x)
        grad_y = check_same_shape(
            grad_y, (x.shape[0], self.out_channels, *self._out_hw(x.shape)), self._name()
        )
        dx, dw, db = conv_transpose2d_backward(
            grad_y, x, self.weight.data, self.stride, self.padding, self.output_padding
        )
        self.weight.grad = dw.astype(self.weight.data.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad = db.astype(self.bias.data.dtype, copy=False)
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.out_channels, *self._out_hw((1, *input_shape)))

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "bias": self.bias is not None,
        }
