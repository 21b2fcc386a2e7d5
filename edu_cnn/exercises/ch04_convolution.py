"""Chapter 4 exercises: the output-size formula and a 2-D cross-correlation by hand.

The reference solutions are deliberately plain loops – they are what
``show_solution(name)`` prints for a student.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _size_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    fixed = [(5, 3, 0, 1), (28, 5, 2, 1), (7, 3, 0, 2), (32, 5, 0, 1), (8, 2, 0, 2), (6, 3, 1, 2),
             (224, 7, 3, 2), (9, 4, 1, 3)]
    cases = [{"n": n, "k": k, "p": p, "s": s} for n, k, p, s in fixed]
    for _ in range(8):
        k = int(rng.integers(1, 6))
        cases.append({"n": int(rng.integers(k, 40)), "k": k, "p": int(rng.integers(0, 3)),
                      "s": int(rng.integers(1, 4))})
    return cases


@exercise(
    "conv_output_size",
    cases=_size_cases,
    hint="o = ⌊(n + 2p − k) / s⌋ + 1 – use integer division `//` and do not forget the + 1.",
)
def conv_output_size(n, k, p=0, s=1):
    """Output length of a k-wide window sliding with stride s over n values padded by p."""
    return (n + 2 * p - k) // s + 1


def _correlate_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = [(np.arange(16.0).reshape(4, 4), np.array([[1.0, 2.0], [0.0, -1.0]])),
             (np.arange(25.0).reshape(5, 5), np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)),
             # a non-symmetric kernel: flipping it (true convolution) gives a different answer
             (rng.integers(0, 9, (5, 6)).astype(float), np.array([[1, 2, 3], [0, 0, 0], [-1, -2, -3]], float))]
    for shape, k in (((6, 6), (3, 3)), ((7, 5), (2, 3)), ((8, 8), (5, 5)), ((4, 9), (1, 4))):
        cases.append((rng.normal(size=shape), rng.normal(size=k)))
    return cases


@exercise(
    "cross_correlate2d",
    cases=_correlate_cases,
    hint="Output shape (H − kh + 1, W − kw + 1); out[i, j] = sum(image[i:i+kh, j:j+kw] * kernel). "
         "No flipping – that would be true convolution.",
)
def cross_correlate2d(image, kernel):
    """'Valid' 2-D cross-correlation: slide the kernel, multiply element-wise, sum."""
    H, W = image.shape
    kh, kw = kernel.shape
    out = np.zeros((H - kh + 1, W - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out
