r"""Data augmentation (数据增强, chapter 7): random shifts of a few pixels.

A digit moved by one or two pixels is still the same digit, but to the network it is a new
picture: every pixel value changes. Showing each training image at a random offset, drawn
anew for every mini-batch, teaches the network that the position does not matter and acts
as a regulariser (LeCun et al. 1998 added distortions of this kind to MNIST and the error
of LeNet-5 fell from 0.95 % to 0.8 %).

The shift fills the uncovered border with the image's own border pixels (as ``np.pad``
mode ``"edge"`` does). MNIST's borders are background, so this works the same on raw pixels and on
standardised ones (where the background is not 0 but −mean/std).

:func:`random_shift` is the fast version (one gather for the whole batch, no padding);
:func:`random_shift_reference` is the plain loop over the samples it is tested equal to.
:class:`RandomShift` holds a seeded generator and is what :func:`edu_cnn.training.fit`
takes as ``augment=``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RandomShift", "random_shift", "random_shift_reference", "shift_image"]


def _check_shift(max_shift: Any, where: str) -> int:
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(
            f"{where}: max_shift must be a non-negative integer (pixels), got {max_shift!r}"
        )
    return int(max_shift)


def _check(x: Any, max_shift: Any, where: str) -> tuple[np.ndarray, int]:
    max_shift = _check_shift(max_shift, where)
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: expected images (N, H, W) or (N, C, H, W), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{where}: expected numeric images, got dtype {x.dtype}")
    if max_shift >= min(x.shape[-2:]) and x.shape[0] > 0:
        raise ValueError(
            f"{where}: max_shift={max_shift} must be smaller than the image "
            f"({x.shape[-2]}×{x.shape[-1]} pixels)"
        )
    return x, int(max_shift)


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """One image (…, H, W) moved ``dy`` pixels down and ``dx`` pixels right (negative: up /
    left); the uncovered border repeats the edge pixels. The plain-slicing version.
    """
    image = np.asarray(image)
    h, w = image.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(
            f"shift_image: shift ({dy}, {dx}) must be smaller than the image ({h}×{w})"
        )
    pad = max(abs(dy), abs(dx))
    widths = [(0, 0)] * (image.ndim - 2) + [(pad, pad), (pad, pad)]
    padded = np.pad(image, widths, mode="edge")
    return padded[..., pad - dy : pad - dy + h, pad - dx : pad - dx + w].copy()


def _offsets(n: int, max_shift: int, rng: np.random.Generator | None) -> np.ndarray:
    rng = rng if rng is not None else np.random.default_rng()
    return rng.integers(-max_shift, max_shift + 1, size=(2, n))


def random_shift_reference(
    x: np.ndarray, max_shift: int = 2, rng: np.random.Generator | None = None
) -> np.ndarray:
    """:func:`random_shift` as a loop over the samples (the readable reference)."""
    x, max_shift = _check(x, max_shift, "random_shift_reference")
    dy, dx = _offsets(len(x), max_shift, rng)
    return (
        np.stack([shift_image(img, int(a), int(b)) for img, a, b in zip(x, dy, dx, strict=True)])
        if len(x)
        else x.copy()
    )


def random_shift(
    x: np.ndarray, max_shift: int = 2, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Every image of the batch moved by its own random offset.

    Parameters
    ----------
    x : numpy.ndarray
        Images (N, H, W) or (N, C, H, W); all channels of one image move together.
    max_shift : int
        Each offset, down and right, is drawn uniformly from −max_shift … +max_shift.
    rng : numpy.random.Generator, optional
        Source of the offsets (for reproducible runs).

    Returns
    -------
    numpy.ndarray
        A new array of the same shape and dtype; the input is not changed. The same
        generator state gives the same result as :func:`random_shift_reference`.
    """
    x, s = _check(x, max_shift, "random_shift")
    n, (h, w) = len(x), x.shape[-2:]
    dy, dx = _offsets(n, s, rng)
    if s == 0 or n == 0:
        return x.copy()
    # Output pixel (i, j) of image k reads pixel (i − dy_k, j − dx_k), clipped to the image:
    # clipping the index repeats the edge row / column, as np.pad(mode="edge") does.
    rows = np.clip(np.arange(h) - dy[:, None], 0, h - 1)  # (N, H)
    cols = np.clip(np.arange(w) - dx[:, None], 0, w - 1)  # (N, W)
    source = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w)
    flat = x.reshape(n, -1, h * w)  # channels move together
    return np.take_along_axis(flat, source, axis=2).reshape(x.shape)


class RandomShift:
    """Augmentation for :func:`edu_cnn.training.fit`: ``fit(..., augment=RandomShift(2))``.

    Called with a training mini-batch, it returns the batch with every image shifted by a
    random offset of at most ``max_shift`` pixels (see :func:`random_shift`). Only training
    batches are augmented; validation and test images are used as they are.

    Parameters
    ----------
    max_shift : int
        Largest shift in pixels, in each direction.
    seed : int, optional
        Seed of the offsets' generator (the same seed gives the same run).
    """

    def __init__(self, max_shift: int = 2, seed: int | None = 0) -> None:
        self.max_shift = _check_shift(max_shift, "RandomShift")
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return random_shift(x, self.max_shift, self.rng)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift}, seed={self.seed})"
