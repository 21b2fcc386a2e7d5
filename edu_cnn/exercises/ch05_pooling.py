"""Chapter 5 exercises: max pooling forward and backward on one 2-D feature map, mean
pooling, and the output size of a transposed convolution.

Ties are the normal case after ReLU (a window of zeros), so the hidden cases of
``maxpool_backward`` have them: the gradient goes to the *first* maximum of a window
(the one ``np.argmax`` finds, as PyTorch does), not to every tied one.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise


def _windows(x, size, stride):
    """(i, j, window) for every pooling window of the 2-D array x."""
    oh = (x.shape[0] - size) // stride + 1
    ow = (x.shape[1] - size) // stride + 1
    for i in range(oh):
        for j in range(ow):
            yield i, j, x[i * stride : i * stride + size, j * stride : j * stride + size]


def _pool(x, size, stride, reduce=np.max):
    oh = (x.shape[0] - size) // stride + 1
    ow = (x.shape[1] - size) // stride + 1
    out = np.zeros((oh, ow))
    for i, j, window in _windows(x, size, stride):
        out[i, j] = reduce(window)
    return out


def _pool_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        {
            "x": np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 1, 2], [0, 1, 3, 4]], float),
            "size": 2,
            "stride": 2,
        }
    ]
    for shape, size, stride in (
        ((6, 6), 2, 2),
        ((5, 7), 3, 2),
        ((6, 8), 2, 1),
        ((9, 9), 3, 3),
        ((4, 6), 3, 1),
    ):
        cases.append({"x": rng.normal(size=shape), "size": size, "stride": stride})
    return cases


@exercise(
    "maxpool_forward",
    cases=_pool_cases,
    hint="Each output value summarises one size × size window; the windows start every "
    "`stride` pixels.",
    hints=[
        (
            "There are ⌊(n − size)/stride⌋ + 1 windows along each axis. Window (i, j) "
            "starts at row i·stride and column j·stride; max pooling keeps its largest value."
        ),
        "out[i, j] = x[i*stride : i*stride + size, j*stride : j*stride + size].max()",
    ],
    mistakes=[
        Mistake(
            "mean",
            lambda x, size, stride: _pool(x, size, stride, np.mean),
            "That is mean pooling (the average of each window): max pooling keeps the maximum.",
        ),
        Mistake(
            "stride ignored",
            lambda x, size, stride: _pool(x, size, 1),
            "The windows moved by 1 instead of by `stride`: window (i, j) "
            "starts at (i·stride, j·stride).",
        ),
        Mistake(
            "min",
            lambda x, size, stride: _pool(x, size, stride, np.min),
            "That is the minimum of each window: max pooling keeps the maximum.",
        ),
        Mistake(
            "stride = size",
            lambda x, size, stride: _pool(x, size, size),
            "The windows moved by `size`: they move by `stride` (with stride < size they overlap).",
        ),
    ],
)
def maxpool_forward(x, size, stride):
    """Max pooling of a 2-D array with a size×size window moving by ``stride``."""
    oh = (x.shape[0] - size) // stride + 1
    ow = (x.shape[1] - size) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = x[i * stride : i * stride + size, j * stride : j * stride + size].max()
    return out


# -- backward: ties matter --------------------------------------------------------------------
def _route(x, grad_out, size, stride, rule="first", add=True):
    grad_x = np.zeros_like(x, dtype=float)
    for i, j, window in _windows(x, size, stride):
        block = grad_x[i * stride : i * stride + size, j * stride : j * stride + size]
        if rule == "spread":
            block += grad_out[i, j] / size**2
            continue
        if rule == "all ties":
            mask = window == window.max()
        else:
            flat = (
                np.argmax(window)
                if rule == "first"
                else window.size - 1 - np.argmax(window.ravel()[::-1])
            )
            mask = np.zeros(window.shape, bool)
            mask.flat[flat] = True
        if add:
            block[mask] += grad_out[i, j]
        else:
            block[mask] = grad_out[i, j]
    return grad_x


def _pool_backward_cases(rng: np.random.Generator) -> list[dict]:
    # a small case with overlapping windows and tied maxima (a ReLU output: many zeros)
    cases = [
        {
            "x": np.array([[0.0, 0.0, 2.0], [0.0, 1.0, 2.0], [3.0, 0.0, 0.0]]),
            "grad_out": np.array([[1.0, 2.0], [3.0, 4.0]]),
            "size": 2,
            "stride": 1,
        },
        {
            "x": np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 1, 2], [0, 1, 3, 4]], float),
            "grad_out": np.array([[1.0, -2.0], [0.5, 3.0]]),
            "size": 2,
            "stride": 2,
        },
    ]
    for shape, size, stride in (
        ((6, 6), 2, 2),
        ((5, 7), 3, 2),
        ((6, 8), 2, 1),
        ((9, 9), 3, 3),
        ((4, 6), 3, 1),
    ):
        cases.append({"x": rng.normal(size=shape), "size": size, "stride": stride})
    for shape, size, stride in (((6, 6), 2, 2), ((7, 7), 3, 2)):  # after ReLU: ties at 0
        cases.append(
            {"x": np.maximum(rng.normal(size=shape) - 0.5, 0), "size": size, "stride": stride}
        )
    cases.append({"x": rng.integers(0, 3, size=(6, 6)).astype(float), "size": 2, "stride": 2})
    for case in cases:
        if "grad_out" not in case:
            oh = (case["x"].shape[0] - case["size"]) // case["stride"] + 1
            ow = (case["x"].shape[1] - case["size"]) // case["stride"] + 1
            case["grad_out"] = rng.normal(size=(oh, ow))
    return cases


@exercise(
    "maxpool_backward",
    cases=_pool_backward_cases,
    hint="Only the value that won a window influenced the output; think about where each "
    "grad_out[i, j] has to go, and what happens where windows overlap.",
    hints=[
        (
            "Each window passes its gradient to the one position that held its maximum; "
            "every other position gets 0. If several positions tie for the maximum, "
            "only the first (the one np.argmax finds) gets it. "
            "Where windows overlap (stride < size) the contributions add up: use +=."
        ),
        (
            "r, c = np.unravel_index(np.argmax(window), window.shape); "
            "grad_x[i*stride + r, j*stride + c] += grad_out[i, j]"
        ),
    ],
    mistakes=[
        Mistake(
            "all tied",
            lambda x, grad_out, size, stride: _route(x, grad_out, size, stride, "all ties"),
            "Where several values of a window tied for the maximum (a window of zeros after ReLU), "
            "each tied position got the gradient: only the first maximum (np.argmax) gets it.",
        ),
        Mistake(
            "overwrite",
            lambda x, grad_out, size, stride: _route(x, grad_out, size, stride, add=False),
            "Where windows overlap (stride < size) one position can win several windows: add the "
            "gradients up (use +=) instead of overwriting them.",
        ),
        Mistake(
            "spread",
            lambda x, grad_out, size, stride: _route(x, grad_out, size, stride, "spread"),
            "The gradient was spread evenly over the window (that is mean pooling's backward): "
            "max pooling sends it to the maximum only.",
        ),
        Mistake(
            "last tied",
            lambda x, grad_out, size, stride: _route(x, grad_out, size, stride, "last"),
            "Where values tied for the maximum, the gradient went to the last of them: it goes to "
            "the first (the one np.argmax finds).",
        ),
        Mistake(
            "all tied, overwrite",
            lambda x, grad_out, size, stride: _route(
                x, grad_out, size, stride, "all ties", add=False
            ),
            "Each tied maximum got the gradient, and overlapping windows overwrote each other: "
            "send it to the first maximum only, and add up with +=.",
        ),
    ],
)
def maxpool_backward(x, grad_out, size, stride):
    """∂L/∂x of max pooling: route each grad_out[i, j] to the arg-max of its window."""
    grad_x = np.zeros_like(x, dtype=float)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride : i * stride + size, j * stride : j * stride + size]
            r, c = np.unravel_index(np.argmax(window), window.shape)
            grad_x[i * stride + r, j * stride + c] += grad_out[i, j]
    return grad_x


# -- mean pooling --------------------------------------------------------------------------------
@exercise(
    "avgpool_forward",
    cases=_pool_cases,
    hint="Like max pooling, but each window is summarised by its average.",
    hints=[
        (
            "The windows are exactly those of maxpool_forward (⌊(n − size)/stride⌋ + 1 per axis, "
            "starting every `stride` pixels); each output is the mean of its size × size values."
        ),
        "out[i, j] = x[i*stride : i*stride + size, j*stride : j*stride + size].mean()",
    ],
    mistakes=[
        Mistake(
            "sum",
            lambda x, size, stride: _pool(x, size, stride, np.sum),
            "That is the sum of each window: divide by the size × size values it holds (the mean).",
        ),
        Mistake(
            "max",
            lambda x, size, stride: _pool(x, size, stride, np.max),
            "That is max pooling: mean pooling averages each window.",
        ),
        Mistake(
            "divided by size",
            lambda x, size, stride: _pool(x, size, stride, np.sum) / size,
            "Each window sum was divided by size: a window holds size × size values.",
        ),
        Mistake(
            "stride ignored",
            lambda x, size, stride: _pool(x, size, 1, np.mean),
            "The windows moved by 1 instead of by `stride`.",
        ),
    ],
)
def avgpool_forward(x, size, stride):
    """Mean (average) pooling of a 2-D array with a size×size window moving by ``stride``."""
    oh = (x.shape[0] - size) // stride + 1
    ow = (x.shape[1] - size) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = x[i * stride : i * stride + size, j * stride : j * stride + size].mean()
    return out


# -- the transposed convolution's output size -----------------------------------------------------
def _transposed_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    fixed = [
        (3, 3, 2, 1, 1),
        (2, 2, 2, 0, 0),
        (4, 4, 2, 1, 0),
        (7, 3, 1, 0, 0),
        (5, 3, 2, 0, 1),
        (14, 5, 2, 2, 1),
        (1, 4, 1, 0, 0),
        (8, 3, 3, 1, 2),
    ]
    cases = [{"n": n, "k": k, "s": s, "p": p, "output_padding": op} for n, k, s, p, op in fixed]
    cases.insert(3, {"n": 6, "k": 3})  # the defaults s = 1, p = 0, output_padding = 0
    for _ in range(6):
        s = int(rng.integers(1, 4))
        cases.append(
            {
                "n": int(rng.integers(1, 20)),
                "k": int(rng.integers(1, 6)),
                "s": s,
                "p": int(rng.integers(0, 2)),
                "output_padding": int(rng.integers(0, s)),
            }
        )
    return cases


@exercise(
    "transposed_conv_output_size",
    cases=_transposed_cases,
    hint="A transposed convolution undoes the size change of a convolution: solve the "
    "convolution's formula o = ⌊(n + 2p − k)/s⌋ + 1 for n, "
    "then swap the roles of input and output.",
    hints=[
        (
            "Each of the n inputs stamps a k-wide copy of the kernel, the copies s apart: they "
            "cover (n − 1)·s + k positions. The padding p is then cut off on both sides, and "
            "output_padding adds that many extra positions on one side."
        ),
        "o = (n - 1) * s - 2 * p + k + output_padding",
    ],
    integer=True,
    mistakes=[
        Mistake(
            "conv formula",
            lambda n, k, s=1, p=0, output_padding=0: (n + 2 * p - k) // s + 1,
            "That is a convolution's output size: a transposed convolution grows the input – "
            "(n − 1)·s − 2p + k.",
        ),
        Mistake(
            "no output_padding",
            lambda n, k, s=1, p=0, output_padding=0: (n - 1) * s - 2 * p + k,
            "output_padding is missing: it adds that many positions at the end.",
        ),
        Mistake(
            "+2p",
            lambda n, k, s=1, p=0, output_padding=0: (n - 1) * s + 2 * p + k + output_padding,
            "The padding takes positions away in a transposed convolution: − 2p, not + 2p.",
        ),
        Mistake(
            "n·s",
            lambda n, k, s=1, p=0, output_padding=0: n * s - 2 * p + k + output_padding,
            "n inputs are n − 1 gaps of s apart: (n − 1)·s, not n·s.",
        ),
        Mistake(
            "one padding",
            lambda n, k, s=1, p=0, output_padding=0: (n - 1) * s - p + k + output_padding,
            "The padding is cut off on both sides: − 2p.",
        ),
    ],
)
def transposed_conv_output_size(n, k, s=1, p=0, output_padding=0):
    """Output length of ConvTranspose with kernel k, stride s, padding p on n input values."""
    return (n - 1) * s - 2 * p + k + output_padding
