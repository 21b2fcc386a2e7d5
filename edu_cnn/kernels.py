"""The classic 3×3 kernels (卷积核) of image processing, by name (chapter 4).

Each kernel is a small weight matrix that a convolution layer slides over an image; the
value it writes into the feature map (特征图) at each position is the sum of the
element-wise products of the kernel with the patch under it. Before a CNN *learns* its
kernels, these hand-made ones show what a kernel can do: keep the image (identity), blur
it, sharpen it, or respond only to edges of one orientation.

The numbers are written for **cross-correlation** (the kernel is *not* flipped), which is
what ``Conv2d`` and every deep-learning library compute. Sobel-x, for example, is
negative on the left and positive on the right, so it answers with a large positive value
where the image gets brighter from left to right.

>>> from edu_cnn.kernels import get_kernel, kernel_names
>>> get_kernel("sobel-x")
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NamedKernel:
    """A kernel with its name and a one-line description of what it does."""

    name: str
    weights: np.ndarray
    description: str


def _k(rows: list[list[float]], scale: float = 1.0) -> np.ndarray:
    weights = np.array(rows, dtype=np.float64) * scale
    weights.setflags(write=False)  # shared module constant: hand out copies only
    return weights


_KERNELS: tuple[NamedKernel, ...] = (
    NamedKernel(
        "identity",
        _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        "copies the centre pixel: the feature map is the image itself",
    ),
    NamedKernel(
        "sharpen",
        _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        "the pixel plus how much it differs from its four neighbours: edges get crisper",
    ),
    NamedKernel(
        "box blur",
        _k([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 9),
        "the plain mean of the 3×3 neighbourhood: smooths noise and detail",
    ),
    NamedKernel(
        "gaussian blur",
        _k([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
        "a weighted mean, the centre counting most: a softer, more natural blur",
    ),
    NamedKernel(
        "vertical edge",
        _k([[1, 0, -1], [1, 0, -1], [1, 0, -1]]),
        "left column minus right column: large where a vertical edge runs (bright on the left)",
    ),
    NamedKernel(
        "horizontal edge",
        _k([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
        "top row minus bottom row: large where a horizontal edge runs (bright above)",
    ),
    NamedKernel(
        "sobel-x",
        _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        "the horizontal brightness gradient ∂I/∂x, smoothed vertically: finds vertical edges",
    ),
    NamedKernel(
        "sobel-y",
        _k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        "the vertical brightness gradient ∂I/∂y (downwards), smoothed horizontally: "
        "finds horizontal edges",
    ),
    NamedKernel(
        "surround",
        _k([[1, 1, 1], [1, 0, 1], [1, 1, 1]], 1 / 8),
        "the mean of the eight neighbours with the centre left out: what surrounds a pixel",
    ),
    NamedKernel(
        "emboss",
        _k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        "a diagonal gradient added to the pixel: the image looks pressed into metal",
    ),
)

KERNELS: dict[str, NamedKernel] = {k.name: k for k in _KERNELS}
"""Every named kernel, in the order the course presents them."""


def _key(name: str) -> str:
    return " ".join(str(name).strip().lower().replace("_", " ").split()).replace("sobel ", "sobel-")


def kernel_names() -> list[str]:
    """The names of the classic kernels, in the order the course presents them."""
    return list(KERNELS)


def get_kernel(name: str) -> np.ndarray:
    """A fresh (writable, float64) copy of the 3×3 kernel called ``name``.

    Names are matched ignoring case, so ``"Sobel-X"``, ``"sobel_x"`` and ``"sobel x"``
    all work.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    key = _key(name)
    if key not in KERNELS:
        raise ValueError(
            f"get_kernel: no kernel called {name!r}; the kernels are: {', '.join(KERNELS)}"
        )
    return KERNELS[key].weights.copy()


def describe_kernel(name: str) -> str:
    """The one-line description of the kernel called ``name``."""
    get_kernel(name)  # same error for an unknown name
    return KERNELS[_key(name)].description


__all__ = ["KERNELS", "NamedKernel", "describe_kernel", "get_kernel", "kernel_names"]
