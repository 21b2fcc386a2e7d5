"""Turn a drawn or photographed digit into an MNIST-style 28×28 image.

A network trained on MNIST has only ever seen digits prepared one particular way, so a new
digit must be prepared the same way before it is shown to the network – the
*pre-processing contract* of the model. MNIST's authors describe it: each digit was
size-normalised to fit a 20×20 box keeping its aspect ratio (anti-aliased, hence the grey
levels), then placed in a 28×28 image so that its **centre of mass** sits at the centre.
Digits are bright (1.0) on a dark background (0.0).

:func:`preprocess_digit` does exactly that, step by step:

1. **gray** – RGB(A) or gray input becomes one gray channel in [0, 1]; a drawing on a
   transparent canvas is read from its alpha channel (what was painted is the ink);
2. **invert if needed** – a dark digit on light paper becomes bright on dark;
3. **clean** – the background level (the median) and its noise are subtracted and the ink
   stretched to [0, 1], which removes the grey of paper and the grain of a photo;
4. **crop** to the bounding box of the ink;
5. **scale** the longer side to 20 px, keeping the aspect ratio;
6. **centre** by centre of mass in a 28×28 box.

:func:`preprocess_steps` returns every intermediate image (the drawing widget shows them),
:func:`normalize` applies the training set's mean and standard deviation, and
:func:`to_model_input` chains both into the ``(1, 1, 28, 28)`` batch a model expects.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DIGIT_CONTRACT",
    "MAX_IMAGE_PIXELS",
    "MNIST_MEAN",
    "MNIST_STD",
    "DigitSteps",
    "load_image",
    "normalize",
    "preprocess_digit",
    "preprocess_steps",
    "to_gray",
    "to_model_input",
]

#: Mean and standard deviation of the pixels of MNIST's 60,000 training images (scaled to
#: [0, 1]); the commonly quoted values, recomputed on the full set. A model file should
#: store the statistics it was actually trained with – use these only as a fallback.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

_BOX = 20  # MNIST's size-normalisation box
_SIZE = 28  # the final image

#: The pre-processing contract of an MNIST-style digit model, as data (the ONNX export
#: stores it as ``edu_cnn.preprocess``, so a runtime in another language can follow it).
DIGIT_CONTRACT: dict[str, Any] = {
    "polarity": "bright digit (1.0) on a dark background (0.0); dark ink on light paper "
    "is inverted",
    "gray": "ITU-R BT.601 luminance 0.299 R + 0.587 G + 0.114 B; a varying alpha channel is "
    "the ink",
    "clean": "background (median) and its noise (5 robust standard deviations) set to 0, "
    "ink stretched to [0, 1]",
    "crop": "bounding box of pixels above 0.1",
    "scale": {"longer_side": _BOX, "keep_aspect_ratio": True, "filter": "lanczos"},
    "center": {
        "size": [_SIZE, _SIZE],
        "by": "center of mass",
        "at": [_SIZE // 2, _SIZE // 2],
        "shift": "whole pixels",
    },
    "then": "(x - mean) / std with the stored preprocessing",
    "reference": "edu_cnn.preprocess.preprocess_digit",
}


@dataclass(frozen=True)
class DigitSteps:
    """Every stage of :func:`preprocess_steps`, for showing the pipeline to a student.

    Attributes
    ----------
    gray : (H, W) float64 in [0, 1] – the input as one gray channel.
    inverted : bool – whether the image was inverted (dark ink on light paper).
    cleaned : (H, W) float64 in [0, 1] – bright digit on a zero background.
    bbox : (top, bottom, left, right) – the ink's bounding box in ``cleaned``
        (bottom and right exclusive).
    cropped : the bounding box cut out of ``cleaned``.
    scaled : the crop with its longer side scaled to 20 px.
    center_of_mass : (row, col) of ``final``'s centre of mass.
    final : (28, 28) float32 in [0, 1] – what the network sees (before :func:`normalize`).
    """

    gray: np.ndarray
    inverted: bool
    cleaned: np.ndarray
    bbox: tuple[int, int, int, int]
    cropped: np.ndarray
    scaled: np.ndarray
    center_of_mass: tuple[float, float]
    final: np.ndarray


#: The largest image :func:`load_image` decodes, in pixels, read from the file's header
#: before any pixel is decoded. A 12-megapixel phone photo fits; PIL's own limit (89 M
#: pixels, and only a warning below 178 M) let a 141 KB PNG cost 4.6 GB.
MAX_IMAGE_PIXELS = 16_000_000
#: Larger images are reduced (block means) to about this many pixels after decoding: the
#: digit ends up 20×20 anyway, and the float steps then cost a few MB, not a few hundred.
WORK_PIXELS = 1_000_000


class _ImageRefused(ValueError):
    """An image refused on purpose (too large); passed through the decoder's error net."""


def load_image(source: str | Path | bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image (a file path, or the bytes of a PNG, JPEG, TIFF, …) into an array.

    * The pixel count is read from the header and checked against ``max_pixels``
      **before** anything is decoded (a decompression bomb costs nothing);
    * the EXIF orientation of a phone photo is applied (``ImageOps.exif_transpose``);
    * 8-bit images come back as uint8 (H, W), (H, W, 3) or (H, W, 4); 16-bit and
      floating-point images as float32 scaled to [0, 1] (not clipped: a 16-bit digit
      reads like its 8-bit twin);
    * images above :data:`WORK_PIXELS` are reduced by an integer factor (block means).

    Raises
    ------
    ValueError
        No such file, not a regular file, too many pixels, or not an image PIL can read –
        the message names the file (or says how many bytes arrived).
    """
    from PIL import Image

    if isinstance(source, (bytes, bytearray, memoryview)):
        what, stream = f"the {len(source):,} bytes", io.BytesIO(bytes(source))
    else:
        path = Path(source)
        what = repr(str(path))
        if not path.exists():
            raise ValueError(f"load_image: no such file {what}")
        if not path.is_file():
            raise ValueError(
                f"load_image: {what} is not a regular file (a folder, a device or a pipe?)"
            )
        stream = path
    try:
        with warnings.catch_warnings():
            # our own, lower limit is checked in _decode, from the header
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                return _decode(image, what, max_pixels)
    except _ImageRefused:
        raise
    except Image.DecompressionBombError:  # raised by Image.open above 2 × 89 M pixels
        raise ValueError(
            f"load_image: {what} has more than {2 * Image.MAX_IMAGE_PIXELS:,} "
            f"pixels, more than the {max_pixels:,} a digit image may have; "
            f"make it smaller"
        ) from None
    except MemoryError:
        raise ValueError(f"load_image: {what}: not enough memory to decode it") from None
    except Exception as error:  # noqa: BLE001 - PIL decoders raise OSError, SyntaxError, struct.error …
        raise ValueError(
            f"load_image: {what} is not an image PIL can read ({type(error).__name__}: {error})"
        ) from None


def _decode(image: Any, what: str, max_pixels: int) -> np.ndarray:
    """The pixels of an opened (not yet decoded) PIL image, within the pixel budget."""
    from PIL import ImageOps

    width, height = image.size
    if width * height > max_pixels:
        raise _ImageRefused(
            f"load_image: {what} is {width}×{height} = {width * height:,} pixels, more than "
            f"the {max_pixels:,} a digit image may have; make it smaller"
        )
    if width * height > WORK_PIXELS and image.format == "JPEG":
        k = math.sqrt(WORK_PIXELS / (width * height))  # decode at 1/2, 1/4 or 1/8 scale
        image.draft(image.mode, (max(1, int(width * k)), max(1, int(height * k))))
    image = ImageOps.exif_transpose(image)
    factor = math.ceil(math.sqrt(image.size[0] * image.size[1] / WORK_PIXELS))
    if factor > 1:
        image = image.reduce(factor)
    mode = image.mode
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.float32) / np.float32(65535)
    if mode == "I":  # 32-bit integers; a 16-bit PNG opens in this mode too
        a = np.asarray(image).astype(np.float64)
        top = 65535.0 if a.min() >= 0 and a.max() <= 65535 else 2.0**31 - 1
        return (np.clip(a, 0, None) / top).astype(np.float32)
    if mode == "F":
        a = np.asarray(image, dtype=np.float32)
        if not np.isfinite(a).all():
            raise _ImageRefused(f"load_image: {what} holds NaN or infinite pixel values")
        low, high = float(a.min()), float(a.max())
        if low < 0.0 or high > 1.0:  # not 0…1: stretch the range it has
            a = (a - low) / np.float32(max(high - low, 1e-12))
        return a
    if mode not in ("L", "RGB", "RGBA"):
        alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if alpha else ("L" if mode == "1" else "RGB"))
    return np.asarray(image).copy()


def to_gray(image: Any) -> np.ndarray:
    """One gray channel in [0, 1] (float64) from a gray, RGB or RGBA image.

    uint16 images are read as 0…65535, other integer images as 0…255, float images as
    0…1. For RGBA with a varying alpha channel (a drawing on a transparent canvas) the
    alpha channel *is* the ink and is returned as it is – bright where something was
    painted, whatever the stroke colour. For an opaque image the luminance
    ``0.299 R + 0.587 G + 0.114 B`` is used (ITU-R BT.601, as Pillow's "L").

    Raises
    ------
    ValueError
        If the array is not (H, W), (H, W, 3) or (H, W, 4), is empty, or is not numbers.
    """
    a = np.asarray(image)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.iscomplexobj(a):
        raise ValueError(f"to_gray: expected an array of real numbers, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(
            f"to_gray: expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {a.shape}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"to_gray: the image is empty, shape {a.shape}")
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        scale = {np.dtype(np.bool_): 1.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 255.0)
        a = a.astype(np.float64) / scale
    else:
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError("to_gray: the image contains NaN or infinite values")
    if a.ndim == 2:
        return np.clip(a, 0.0, 1.0)
    if a.shape[2] == 4:
        alpha = a[..., 3]
        if alpha.max() - alpha.min() > 1e-6:  # transparent background: alpha is the ink
            return np.clip(alpha, 0.0, 1.0)
    return np.clip(a[..., :3] @ np.array([0.299, 0.587, 0.114]), 0.0, 1.0)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize of a float image (Pillow's Lanczos filter on 32-bit float pixels)."""
    from PIL import Image

    resized = Image.fromarray(image.astype(np.float32), mode="F").resize(
        (width, height), resample=Image.Resampling.LANCZOS
    )
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)


def _center_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = float(image.sum())
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def preprocess_steps(
    image: Any,
    invert: bool | None = None,
    threshold: float = 0.1,
) -> DigitSteps:
    """Prepare a digit the MNIST way and keep every intermediate image.

    Parameters
    ----------
    image : array_like
        (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; integers as 0…255, floats as 0…1.
    invert : bool, optional
        ``True`` for dark ink on light paper, ``False`` for bright ink on dark. By default
        it is decided from the background: if the median pixel (most of an image is
        background) is brighter than mid-grey, the image is inverted.
    threshold : float
        Pixels brighter than ``threshold`` (after cleaning, in [0, 1]) count as ink for
        the bounding box; it keeps a photo's specks from widening the box.

    Returns
    -------
    DigitSteps
        ``steps.final`` is the (28, 28) float32 image in [0, 1].

    Raises
    ------
    ValueError
        If the image has a wrong shape, or holds no digit (blank, or one flat colour).
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"preprocess_digit: threshold must be in [0, 1), got {threshold!r}")
    gray = to_gray(image)
    background = float(np.median(gray))
    inverted = background > 0.5 if invert is None else bool(invert)
    ink = 1.0 - gray if inverted else gray.copy()

    # Clean: the background level (the median) and its noise (five robust standard
    # deviations, from the median absolute deviation) become 0, the brightest ink 1.
    # A drawing on a canvas has no noise, so only a photo loses anything here.
    level = float(np.median(ink))
    noise = 1.4826 * float(np.median(np.abs(ink - level)))
    floor = level + 5.0 * noise
    peak = float(ink.max()) - floor
    if peak < 1e-3:
        raise ValueError(
            f"preprocess_digit: the image of shape {gray.shape} is blank (one flat grey level) "
            "– there is no digit to prepare"
        )
    cleaned = np.clip(ink - floor, 0.0, None) / peak

    # Crop to the bounding box of the ink.
    rows = np.flatnonzero((cleaned > threshold).any(axis=1))
    cols = np.flatnonzero((cleaned > threshold).any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    cropped = cleaned[top:bottom, left:right]

    # Scale the longer side to 20 px, keeping the aspect ratio (at least 1 px each way).
    height, width = cropped.shape
    factor = _BOX / max(height, width)
    new_h = min(_BOX, max(1, round(height * factor)))
    new_w = min(_BOX, max(1, round(width * factor)))
    scaled = _resize(cropped, new_h, new_w)

    # Centre by centre of mass: a whole-pixel shift that brings the mass centre as near
    # to pixel (14, 14) of the 28×28 image as it can go (halves round up, the same way in
    # both directions); the margin makes clipping a digit that would stick out safe.
    com_r, com_c = _center_of_mass(scaled)
    margin = _SIZE
    big = np.zeros((_SIZE + 2 * margin, _SIZE + 2 * margin))
    top_left_r = margin + int(np.floor(_SIZE // 2 - com_r + 0.5))
    top_left_c = margin + int(np.floor(_SIZE // 2 - com_c + 0.5))
    big[top_left_r : top_left_r + new_h, top_left_c : top_left_c + new_w] = scaled
    final = big[margin : margin + _SIZE, margin : margin + _SIZE].astype(np.float32)
    return DigitSteps(
        gray=gray,
        inverted=inverted,
        cleaned=cleaned,
        bbox=(top, bottom, left, right),
        cropped=cropped,
        scaled=scaled,
        center_of_mass=_center_of_mass(final.astype(np.float64)),
        final=final,
    )


def preprocess_digit(image: Any, invert: bool | None = None, threshold: float = 0.1) -> np.ndarray:
    """The (28, 28) float32 MNIST-style image of a drawn or photographed digit.

    See :func:`preprocess_steps` for the parameters and each step.
    """
    return preprocess_steps(image, invert=invert, threshold=threshold).final


def normalize(x: Any, mean: float, std: float) -> np.ndarray:
    r"""Standardise pixels with the **training set's** statistics: :math:`(x - \mu) / \sigma`.

    The same ``mean`` and ``std`` that were used in training must be used for every later
    input – validation, test, a drawn digit, a deployed model's requests.

    Returns float32 (float64 input stays float64).

    Raises
    ------
    ValueError
        If ``std`` is not a positive finite number or ``mean`` is not finite.
    """
    if not np.isfinite(mean):
        raise ValueError(f"normalize: mean must be a finite number, got {mean!r}")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"normalize: std must be a positive finite number, got {std!r}")
    a = np.asarray(x)
    dtype = np.float64 if a.dtype == np.float64 else np.float32
    return ((a.astype(dtype) - dtype(mean)) / dtype(std)).astype(dtype)


def to_model_input(
    image: Any,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
    invert: bool | None = None,
) -> np.ndarray:
    """A raw digit image → the normalised ``(1, 1, 28, 28)`` float32 batch a model expects."""
    final = preprocess_digit(image, invert=invert)
    return normalize(final, mean, std).reshape(1, 1, _SIZE, _SIZE)
