"""The X-vs-O data set of the convolution chapters.

Small binary images of the letters X and O, each drawn with a random rotation, size,
stroke width and shift and with a few flipped pixels, so that a pixel-by-pixel
comparison with one template fails while local features (the diagonal strokes of the
X, the curved ones of the O) still tell them apart – the reason for convolution.

The shapes are drawn as distance fields: a pixel is ink (1) when its centre lies within
half a stroke width of the letter's centre lines (two crossing segments for X, a ring
for O), paper (0) otherwise.
"""

from __future__ import annotations

import numpy as np

from ..shapes import check_int

__all__ = ["XO_CLASS_NAMES", "xo_images", "xo_prototype"]

#: ``XO_CLASS_NAMES[label]``: label 0 is X, label 1 is O.
XO_CLASS_NAMES: tuple[str, str] = ("X", "O")


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (row, col) relative to the image centre, shape (size, size)."""
    centre = (size - 1) / 2.0
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    return rows - centre, cols - centre


def _segment_distance(px, py, ax, ay, bx, by):
    """Distance from points (px, py) to the segments a–b (all broadcast together)."""
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _draw(kind, size, angle, half_extent, width, shift_r, shift_c):
    """Binary images (N, size, size) of X (kind 0) or O (kind 1) with per-image parameters.

    ``half_extent`` is half the letter's size in pixels (the X's arm reach along each
    axis, the O's radius), ``width`` its stroke width in pixels, ``angle`` in radians.
    """
    rows, cols = _pixel_grid(size)

    # Per-image parameters as (N, 1, 1) so they broadcast against the (size, size) grid.
    def col(v):
        return np.asarray(v, dtype=np.float64).reshape(-1, 1, 1)

    angle, half, width = col(angle), col(half_extent), col(width)
    y, x = rows - col(shift_r), cols - col(shift_c)
    # Rotate the pixel coordinates by −angle: the same as rotating the letter by +angle.
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * x + sin * y, -sin * x + cos * y
    diagonal_1 = _segment_distance(u, v, -half, -half, half, half)
    diagonal_2 = _segment_distance(u, v, -half, half, half, -half)
    x_distance = np.minimum(diagonal_1, diagonal_2)
    o_distance = np.abs(np.hypot(u, v) - half)
    distance = np.where(col(kind) == 0, x_distance, o_distance)
    return (distance <= width / 2.0).astype(np.float32)


def _check_size(function: str, size: int, minimum: int) -> None:
    check_int(size, "size", function, minimum)


def xo_images(
    n: int,
    size: int = 28,
    seed: int | None = 0,
    noise: float = 0.02,
    max_rotation: float = 20.0,
    scale: tuple[float, float] = (0.55, 0.85),
    stroke: tuple[float, float] = (0.06, 0.12),
    max_shift: float = 0.12,
) -> tuple[np.ndarray, np.ndarray]:
    """Random binary images of X and O, half of each, in random order.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Side length S of the square images, in pixels (≥ 7).
    seed : int, optional
        The same seed gives the same images.
    noise : float
        Share of pixels flipped (salt-and-pepper noise), 0 … 0.5.
    max_rotation : float
        Each letter is rotated by a uniform angle in ±``max_rotation`` degrees (an X
        rotated by 45° would be a +, so keep this well below that).
    scale : (float, float)
        Range of the letter's size as a share of the image side.
    stroke : (float, float)
        Range of the stroke width as a share of the image side (at least 1 pixel).
    max_shift : float
        Largest shift of the letter's centre, as a share of the image side.

    Returns
    -------
    images : numpy.ndarray
        float32 of shape (n, 1, S, S), values 0 (paper) and 1 (ink).
    labels : numpy.ndarray
        int64 of shape (n,): 0 for X, 1 for O (see :data:`XO_CLASS_NAMES`).

    Examples
    --------
    >>> x, y = xo_images(8, size=16, seed=1)
    >>> x.shape, x.dtype, sorted(set(y.tolist()))
    ((8, 1, 16, 16), dtype('float32'), [0, 1])
    """
    check_int(n, "n", "xo_images", 0)
    _check_size("xo_images", size, 7)
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"xo_images: noise must be a share of pixels in [0, 0.5], got {noise}")
    if not 0.0 < scale[0] <= scale[1] <= 1.0:
        raise ValueError(
            f"xo_images: scale must be (low, high) with 0 < low ≤ high ≤ 1, got {scale}"
        )
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    extent = rng.uniform(*scale, size=n) * size / 2.0
    width = np.maximum(rng.uniform(*stroke, size=n) * size, 1.0)
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, size=n))
    # Keep the whole letter inside the image whatever the shift.
    room = np.maximum(size / 2.0 - extent - width / 2.0 - 0.5, 0.0)
    reach = np.minimum(max_shift * size, room)
    shift_r, shift_c = (rng.uniform(-1.0, 1.0, size=(2, n)) * reach).astype(np.float64)
    images = _draw(labels, size, angle, extent, width, shift_r, shift_c)
    flips = rng.random(images.shape) < noise
    images = np.where(flips, 1.0 - images, images).astype(np.float32)
    return images[:, None, :, :], labels.astype(np.int64)


def xo_prototype(kind: str, size: int = 9) -> np.ndarray:
    """A clean, centred template of X or O, for the hand-made-kernel lesson.

    With the default ``size=9`` the X is the two pixel diagonals of the inner 7×7
    square and the O a one-pixel ring, as in the classic X-vs-O example.

    Parameters
    ----------
    kind : {"X", "O"}
        Which letter (case does not matter).
    size : int
        Side length of the square image (≥ 5).

    Returns
    -------
    numpy.ndarray
        float32 of shape (size, size), values 0 and 1.
    """
    key = str(kind).upper()
    if key not in XO_CLASS_NAMES:
        raise ValueError(f"xo_prototype: kind must be 'X' or 'O', got {kind!r}")
    _check_size("xo_prototype", size, 5)
    half = (size - 1) / 2.0 - 1.0  # one pixel of margin
    width = max(1.0, size / 14.0)
    image = _draw([XO_CLASS_NAMES.index(key)], size, [0.0], [half], [width], [0.0], [0.0])
    return image[0]
