"""Make the sample digit images in examples/ (run once; the images are committed).

Two real handwritten digits from the MNIST test sample shipped in edu_cnn/data/sample,
turned into what a phone photo of ink on paper looks like: inverted (dark ink on light
paper), upscaled 5× (Lanczos), a little off-centre on a warm paper tone (the JPEG with faint
grain). A few KB each.
The README's command-line block classifies them (``python -m edu_cnn predict``).

    python scripts/make_sample_digits.py          # writes examples/three.png, examples/seven.jpg
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from edu_cnn.data import SampleDataWarning, load_mnist

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples"
# (file name, digit, which occurrence of that digit in the sample's test images)
CHOICES = (("three.png", 3, 0), ("seven.jpg", 7, 0))


def photo_of(digit: np.ndarray, seed: int, grain: float) -> Image.Image:
    """A 28×28 uint8 MNIST digit (bright on black) as a 160×160 RGB 'photo' of ink on paper."""
    rng = np.random.default_rng(seed)
    big = (
        np.asarray(
            Image.fromarray(digit).resize((140, 140), Image.Resampling.LANCZOS), dtype=np.float64
        )
        / 255.0
    )
    canvas = np.zeros((160, 160))
    canvas[8:148, 14:154] = np.clip(big, 0.0, 1.0)  # a little off-centre
    paper = np.array([0.94, 0.91, 0.84])  # warm paper
    ink = np.array([0.12, 0.12, 0.22])  # blue-black ink
    rgb = paper + canvas[..., None] * (ink - paper)
    rgb += rng.normal(0.0, grain, rgb.shape)  # faint grain (JPEG only: PNG stays small)
    return Image.fromarray((255 * np.clip(rgb, 0.0, 1.0)).round().astype(np.uint8), "RGB")


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)
        data = load_mnist(sample=True)
    OUT.mkdir(exist_ok=True)
    for seed, (name, label, occurrence) in enumerate(CHOICES):
        index = np.flatnonzero(data.y_test == label)[occurrence]
        image = photo_of(data.x_test[index], seed, 0.012 if name.endswith(".jpg") else 0.0)
        path = OUT / name
        if name.endswith(".jpg"):
            image.save(path, quality=85, optimize=True)
        else:
            image.save(path, optimize=True)
        print(
            f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes): test digit "
            f"#{index} of the shipped sample, a {label}"
        )


if __name__ == "__main__":
    main()
