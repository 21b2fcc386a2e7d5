"""A real photograph for the kernel chapter, with no download.

Matplotlib ships a portrait of Grace Hopper (``grace_hopper.jpg``, 512×600 pixels)
among its sample data; it is installed wherever matplotlib is.
"""

from __future__ import annotations

import numpy as np

from edu_cnn.preprocess import to_gray  # the one gray conversion (re-exported here)

__all__ = ["sample_photo", "to_gray"]


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
        return to_gray(rgb).astype(np.float32)
    return rgb.astype(np.float32) / np.float32(255.0)
