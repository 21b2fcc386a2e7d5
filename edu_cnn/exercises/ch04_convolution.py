"""Chapter 4 exercises: the output-size formula, a 2-D cross-correlation by hand, and a
convolution layer's forward pass over several channels.

The reference solutions are deliberately plain loops – they are what
``show_solution(name)`` prints for a student.
"""

from __future__ import annotations

import numpy as np

from ..conv import correlate2d as _correlate  # 'valid' cross-correlation, for the known mistakes
from .checker import Mistake, exercise


def _size_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    fixed = [
        (5, 3, 0, 1),
        (28, 5, 2, 1),
        (7, 3, 0, 2),
        (32, 5, 0, 1),
        (8, 2, 0, 2),
        (6, 3, 1, 2),
        (224, 7, 3, 2),
        (9, 4, 1, 3),
    ]
    cases = [{"n": n, "k": k, "p": p, "s": s} for n, k, p, s in fixed]
    for _ in range(8):
        k = int(rng.integers(1, 6))
        cases.append(
            {
                "n": int(rng.integers(k, 40)),
                "k": k,
                "p": int(rng.integers(0, 3)),
                "s": int(rng.integers(1, 4)),
            }
        )
    return cases


@exercise(
    "conv_output_size",
    cases=_size_cases,
    hint="Count the positions the window's left edge can take: how far it may travel along "
    "the padded input, in steps of s – and the starting position counts too.",
    hints=[
        (
            "The padded input has n + 2p values; the window's left edge can move n + 2p − k places "
            "to the right; with stride s that is ⌊(n + 2p − k) / s⌋ steps, plus the position it "
            "started at."
        ),
        "o = (n + 2 * p - k) // s + 1 – integer division `//`, and the + 1.",
    ],
    integer=True,
    mistakes=[
        Mistake(
            "no +1",
            lambda n, k, p=0, s=1: (n + 2 * p - k) // s,
            "One short: the + 1 is missing – the window's first position counts too.",
        ),
        Mistake(
            "one padding",
            lambda n, k, p=0, s=1: (n + p - k) // s + 1,
            "The padding is added on both sides: n + 2p, not n + p.",
        ),
        Mistake(
            "no stride",
            lambda n, k, p=0, s=1: n + 2 * p - k + 1,
            "The stride is missing: the window moves s places at a time, so divide by s (with //).",
        ),
        Mistake(
            "+1 inside",
            lambda n, k, p=0, s=1: (n + 2 * p - k + 1) // s,
            "The + 1 belongs outside the division: ⌊(n + 2p − k) / s⌋ + 1.",
        ),
    ],
)
def conv_output_size(n, k, p=0, s=1):
    """Output length of a k-wide window sliding with stride s over n values padded by p."""
    return (n + 2 * p - k) // s + 1


def _correlate_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = [
        (
            np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]]),
            np.array([[1.0, 2.0], [0.0, -1.0]]),
        ),
        (np.arange(16.0).reshape(4, 4), np.array([[1.0, 2.0], [0.0, -1.0]])),
        (np.arange(25.0).reshape(5, 5), np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)),
        # a non-symmetric kernel: flipping it (true convolution) gives a different answer
        (
            rng.integers(0, 9, (5, 6)).astype(float),
            np.array([[1, 2, 3], [0, 0, 0], [-1, -2, -3]], float),
        ),
    ]
    for shape, k in (((6, 6), (3, 3)), ((7, 5), (2, 3)), ((8, 8), (5, 5)), ((4, 9), (1, 4))):
        cases.append((rng.normal(size=shape), rng.normal(size=k)))
    return cases


@exercise(
    "cross_correlate2d",
    cases=_correlate_cases,
    hint="Slide the kernel over every position where it fits entirely inside the image; at each "
    "position one number comes out.",
    hints=[
        (
            "The output has (H − kh + 1) × (W − kw + 1) positions. At position (i, j) "
            "multiply the kh × kw patch starting there element by element with the kernel and "
            "add everything up. No flipping – that would be true convolution."
        ),
        (
            "out[i, j] = np.sum(image[i:i+kh, j:j+kw] * kernel) for i in range(H − kh + 1), "
            "j in range(W − kw + 1)."
        ),
    ],
    mistakes=[
        Mistake(
            "flipped kernel",
            lambda image, kernel: _correlate(image, np.rot90(kernel, 2)),
            "The kernel was rotated by 180° (true convolution, as scipy's convolve2d does): "
            "cross-correlation uses the kernel as it is.",
        ),
        Mistake(
            "flipped one axis",
            lambda image, kernel: _correlate(image, kernel[::-1]),
            "The kernel was flipped upside down (on one axis): use it as it is.",
        ),
        Mistake(
            "flipped other axis",
            lambda image, kernel: _correlate(image, kernel[:, ::-1]),
            "The kernel was flipped left–right (on one axis): use it as it is.",
        ),
        Mistake(
            "one short",
            lambda image, kernel: _correlate(image, kernel)[:-1, :-1],
            "One row and one column short: there are H − kh + 1 positions (range(H - kh + 1)).",
        ),
    ],
)
def cross_correlate2d(image, kernel):
    """'Valid' 2-D cross-correlation: slide the kernel, multiply element-wise, sum."""
    H, W = image.shape
    kh, kw = kernel.shape
    out = np.zeros((H - kh + 1, W - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out


# -- a convolution layer over several channels --------------------------------------------------
def _multichannel(
    x, weight, bias, use_bias=True, flip=False, first_channel=False, channel_maps=False
):
    c_out, c_in, kh, kw = weight.shape
    out = np.zeros((c_out, x.shape[1] - kh + 1, x.shape[2] - kw + 1))
    for o in range(c_out):
        for c in range(1 if first_channel else c_in):
            kernel = np.rot90(weight[o, c], 2) if flip else weight[o, c]
            out[o] += _correlate(x[c], kernel)
        if use_bias:
            out[o] += bias[o] * (c_in if channel_maps else 1)
    return out


def _multichannel_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        {
            "x": np.array(
                [
                    [[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 1.0]],
                    [[0.0, 1.0, 1.0], [1.0, 0.0, 2.0], [1.0, 1.0, 0.0]],
                ]
            ),
            "weight": np.array([[[[1.0, 0.0], [0.0, -1.0]], [[2.0, 1.0], [0.0, 0.0]]]]),
            "bias": np.array([0.5]),
        }
    ]
    for c_in, c_out, (h, w), k in (
        (2, 3, (4, 5), 2),
        (3, 2, (6, 6), 3),
        (1, 4, (5, 4), 3),
        (4, 2, (7, 6), (2, 3)),
    ):
        kh, kw = (k, k) if isinstance(k, int) else k
        cases.append(
            {
                "x": rng.normal(size=(c_in, h, w)),
                "weight": rng.normal(size=(c_out, c_in, kh, kw)),
                "bias": rng.normal(size=c_out),
            }
        )
    return cases


@exercise(
    "conv2d_multichannel",
    cases=_multichannel_cases,
    hint="Every output channel has one kernel per input channel: it looks at all input "
    "channels at once and adds what it sees, plus its own bias.",
    hints=[
        (
            "For output channel o: cross-correlate each input channel c with weight[o, c], "
            "add the C_in results, then add bias[o] once. "
            "The output has shape (C_out, H − kh + 1, W − kw + 1)."
        ),
        "out[o, i, j] = np.sum(x[:, i:i+kh, j:j+kw] * weight[o]) + bias[o] for every o, i, j.",
    ],
    mistakes=[
        Mistake(
            "no bias",
            lambda x, weight, bias: _multichannel(x, weight, bias, use_bias=False),
            "The bias is missing: each output channel o adds bias[o].",
        ),
        Mistake(
            "flipped",
            lambda x, weight, bias: _multichannel(x, weight, bias, flip=True),
            "The kernels were rotated by 180° (true convolution): "
            "a convolution layer cross-correlates.",
        ),
        Mistake(
            "one channel",
            lambda x, weight, bias: _multichannel(x, weight, bias, first_channel=True),
            "Only input channel 0 was used: add the contributions of all C_in input channels.",
        ),
        Mistake(
            "bias per channel",
            lambda x, weight, bias: _multichannel(x, weight, bias, channel_maps=True),
            "The bias was added once per input channel: add bias[o] once per output channel.",
        ),
    ],
)
def conv2d_multichannel(x, weight, bias):
    """Conv2d forward on one image: x (C_in, H, W), weight (C_out, C_in, kh, kw), bias (C_out,)
    → (C_out, H − kh + 1, W − kw + 1) ('valid', stride 1)."""
    c_out, kh, kw = weight.shape[0], weight.shape[2], weight.shape[3]  # (C_out, C_in, kh, kw)
    H, W = x.shape[1], x.shape[2]  # x: (C_in, H, W)
    out = np.zeros((c_out, H - kh + 1, W - kw + 1))
    for o in range(c_out):
        for i in range(H - kh + 1):
            for j in range(W - kw + 1):
                out[o, i, j] = np.sum(x[:, i : i + kh, j : j + kw] * weight[o]) + bias[o]
    return out
