"""A real photograph for the kernel chapter, with no download.

Matplotlib ships a portrait of Grace Hopper (``grace_hopper.jpg``, 512×600 pixels)
among its sample data; it is installed wherever matplotlib is.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_photo", "to_gray"]


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as Pillow's "L") of (H, W, 3).

    The values keep their scale (0…1 in, 0…1 out; 0…255 in, 0…255 out), as float32.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"to_gray: expected an RGB(A) image of shape (H, W, 3), got {image.shape}")
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (image[..., :3].astype(np.float32) @ weights).astype(np.float32)


def sample_photo(gray: bool = True, size: int | None = None) -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data, float32 in [0, 1].

    Parameters
    ----------
    gray : bool
        True: one channel, shape (H, W). False: colour, shape (H, W, 3).
    size : int, optional
        None keeps the original 600×512 (height × width). An integer crops the
        central square (512×512) and resizes it to ``size``×``size`` (``size=512``
        only crops).

    Returns
    -------
    numpy.ndarray
        float32 image with values in [0, 1].
    """
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        picture = Image.open(handle)
        picture.load()
    picture = picture.convert("RGB")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"sample_photo: size must be a positive integer or None, got {size!r}")
        width, height = picture.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        picture = picture.crop((left, top, left + side, top + side))
        if side != size:
            picture = picture.resize((int(size), int(size)), Image.Resampling.LANCZOS)
    rgb = np.asarray(picture)  # uint8 (H, W, 3)
    if gray:
        return np.clip(to_gray(rgb) / np.float32(255.0), 0.0, 1.0)
    return rgb.astype(np.float32) / np.float32(255.0)
