"""MNIST-style pre-processing of a drawn or photographed digit (edu_cnn.preprocess)."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.preprocess import (
    MNIST_MEAN,
    MNIST_STD,
    load_image,
    normalize,
    preprocess_digit,
    preprocess_steps,
    to_gray,
    to_model_input,
)


def ring(size: int = 280, center=(140, 140), radii=(70, 45), thickness: float = 18.0) -> np.ndarray:
    """A bright anti-aliased ellipse outline (a hand-drawn 0) on black, float in [0, 1]."""
    rows, cols = np.indices((size, size), dtype=np.float64)
    r = np.hypot((rows - center[0]) / radii[0], (cols - center[1]) / radii[1])
    distance = np.abs(r - 1.0) * min(radii)  # roughly in pixels
    return np.clip(thickness / 2 - distance + 0.5, 0.0, 1.0)


def seven(size: int = 280, offset=(0, 0), scale: float = 1.0) -> np.ndarray:
    """A crude 7 made of two thick strokes, bright on black, float in [0, 1]."""
    image = np.zeros((size, size))
    r0, c0 = 60 + offset[0], 80 + offset[1]
    w = round(16 * scale)
    image[r0 : r0 + w, c0 : c0 + int(120 * scale)] = 1.0  # the bar
    for i in range(int(160 * scale)):  # the stem
        col = c0 + int(120 * scale) - int(i * 0.45)
        image[r0 + i, max(col - w, 0) : col] = 1.0
    return image


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    return np.kron(image, np.ones((factor, factor)))


# -- what MNIST's recipe promises ---------------------------------------------------------
def test_final_image_has_mnist_format():
    final = preprocess_digit(ring())
    assert final.shape == (28, 28) and final.dtype == np.float32
    assert 0.0 <= final.min() and final.max() <= 1.0 and final.max() > 0.9
    rows = np.flatnonzero((final > 0.05).any(axis=1))
    cols = np.flatnonzero((final > 0.05).any(axis=0))
    # the longer side (the 140-px-tall ring) fills the 20-px box; the width keeps the ratio
    assert rows[-1] - rows[0] + 1 in (20, 21)
    assert 12 <= cols[-1] - cols[0] + 1 <= 16  # 20 · 90/140 ≈ 13 (+ anti-aliasing)


def test_aspect_ratio_kept_and_longer_side_is_20():
    image = np.zeros((300, 300))
    image[50:250, 100:200] = 1.0  # 200 tall, 100 wide
    steps = preprocess_steps(image)
    assert steps.bbox == (50, 250, 100, 200)
    assert steps.scaled.shape == (20, 10)
    wide = np.zeros((300, 300))
    wide[100:160, 30:270] = 1.0  # 60 tall, 240 wide
    assert preprocess_steps(wide).scaled.shape == (5, 20)


def test_centre_of_mass_is_centred():
    for image in (ring(center=(60, 200)), seven(offset=(40, -50))):
        steps = preprocess_steps(image)
        r, c = steps.center_of_mass
        assert abs(r - 14) <= 0.5 and abs(c - 14) <= 0.5, steps.center_of_mass


def test_position_on_the_canvas_does_not_matter():
    a = preprocess_digit(seven(offset=(0, 0)))
    b = preprocess_digit(seven(offset=(50, 30)))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_size_on_the_canvas_hardly_matters():
    small = preprocess_digit(ring(radii=(50, 32), thickness=13))
    large = preprocess_digit(ring(radii=(100, 64), thickness=26))
    assert np.abs(small - large).mean() < 0.03


def test_an_mnist_style_digit_is_a_fixed_point():
    """Blow a prepared digit up ×10 (like drawing it on the canvas) and prepare it again."""
    digit = preprocess_digit(seven())
    again = preprocess_digit(upscale(digit, 10))
    assert np.corrcoef(digit.ravel(), again.ravel())[0, 1] > 0.97
    assert np.abs(digit - again).mean() < 0.05


def test_real_mnist_digits_are_fixed_points():
    """MNIST's own digits, blown up ×10, come back (almost) as they were: same recipe."""
    import warnings

    from edu_cnn.data import load_mnist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        digits = load_mnist(as_float=True).x_train[:100, 0].astype(np.float64)
    scores = [
        np.corrcoef(preprocess_digit(upscale(d, 10)).ravel(), d.ravel())[0, 1] for d in digits
    ]
    assert np.median(scores) > 0.99
    assert np.mean(scores) > 0.98


# -- colours, inversion, photos -----------------------------------------------------------
def test_dark_ink_on_paper_is_inverted_automatically():
    bright = ring()
    steps = preprocess_steps((255 * (1 - bright)).astype(np.uint8))  # black ring on white
    assert steps.inverted
    assert not preprocess_steps(bright).inverted
    np.testing.assert_allclose(steps.final, preprocess_digit(bright), atol=0.02)


def test_invert_can_be_forced():
    bright = ring()
    np.testing.assert_allclose(
        preprocess_digit(1 - bright, invert=True), preprocess_digit(bright, invert=False), atol=1e-6
    )


def test_transparent_canvas_reads_the_alpha_channel_whatever_the_stroke_colour():
    bright = ring()
    for colour in ((0, 0, 0), (255, 255, 255), (200, 30, 30)):
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = (255 * bright).astype(np.uint8)
        np.testing.assert_allclose(preprocess_digit(rgba), preprocess_digit(bright), atol=0.02)


def test_opaque_rgb_uses_luminance():
    rgb = np.zeros((10, 10, 3))
    rgb[..., 0] = 1.0
    np.testing.assert_allclose(to_gray(rgb), 0.299)
    np.testing.assert_allclose(to_gray(np.full((4, 4), 255, np.uint8)), 1.0)
    opaque = np.dstack([np.full((4, 4, 3), 51, np.uint8), np.full((4, 4), 255, np.uint8)])
    np.testing.assert_allclose(to_gray(opaque), 0.2)


def test_a_noisy_photo_of_a_digit_on_grey_paper():
    rng = np.random.default_rng(0)
    bright = ring()
    photo = 0.8 - 0.55 * bright + rng.normal(0, 0.02, bright.shape)  # grey paper, dark-ish ink
    photo_u8 = (255 * np.clip(photo, 0, 1)).astype(np.uint8)
    got = preprocess_digit(np.dstack([photo_u8] * 3))
    clean = preprocess_digit(bright)
    # The ring's centre of mass lies exactly between two pixels, so the noise may tip the
    # whole-pixel centring shift either way: allow a shift of one pixel.
    best = max(
        np.corrcoef(np.roll(got, (dr, dc), axis=(0, 1)).ravel(), clean.ravel())[0, 1]
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
    )
    assert best > 0.95


# -- bad input ----------------------------------------------------------------------------
def test_blank_image_is_refused():
    with pytest.raises(
        ValueError, match=r"preprocess_digit: the image of shape \(280, 280\) is blank"
    ):
        preprocess_digit(np.zeros((280, 280)))
    with pytest.raises(ValueError, match="blank"):
        preprocess_digit(np.full((28, 28, 4), 255, np.uint8))


@pytest.mark.parametrize("shape", [(28,), (2, 28, 28, 1, 1), (28, 28, 2), (28, 28, 5)])
def test_wrong_shapes_are_refused(shape):
    with pytest.raises(
        ValueError,
        match=r"to_gray: expected an image of shape \(H, W\), "
        r"\(H, W, 3\) or \(H, W, 4\), got",
    ):
        preprocess_digit(np.ones(shape))


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="to_gray: the image is empty"):
        to_gray(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="NaN"):
        to_gray(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="expected an array of real numbers"):
        to_gray(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\)"):
        preprocess_digit(ring(), threshold=1.5)


# -- normalisation and the model's input --------------------------------------------------
def test_normalize():
    x = np.array([0.0, 0.5, 1.0], np.float32)
    got = normalize(x, 0.5, 0.25)
    np.testing.assert_allclose(got, [-2.0, 0.0, 2.0])
    assert got.dtype == np.float32
    assert normalize(x.astype(np.float64), 0.5, 0.25).dtype == np.float64
    assert normalize(np.array([0, 255], np.uint8), 0.0, 1.0).dtype == np.float32
    with pytest.raises(ValueError, match="normalize: std must be a positive finite number, got 0"):
        normalize(x, 0.5, 0)
    with pytest.raises(ValueError, match="normalize: mean must be a finite number"):
        normalize(x, float("nan"), 1.0)


def test_to_model_input():
    batch = to_model_input(ring())
    assert batch.shape == (1, 1, 28, 28) and batch.dtype == np.float32
    expected = (preprocess_digit(ring()) - MNIST_MEAN) / MNIST_STD
    np.testing.assert_allclose(batch[0, 0], expected, rtol=1e-5, atol=1e-5)


def test_load_image_round_trip(tmp_path):
    from PIL import Image

    picture = (255 * (1 - ring())).astype(np.uint8)
    Image.fromarray(picture).save(tmp_path / "zero.png")
    loaded = load_image(tmp_path / "zero.png")
    np.testing.assert_array_equal(loaded, picture)
    Image.fromarray(picture).convert("P").save(tmp_path / "palette.png")
    assert load_image(tmp_path / "palette.png").ndim == 3
    with pytest.raises(ValueError, match="load_image: no such file"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="is not an image PIL can read"):
        load_image(tmp_path / "text.png")
