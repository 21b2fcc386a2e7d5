"""Data augmentation (edu_cnn.data.augment) and fit(..., augment=...)."""

import numpy as np
import pytest

from edu_cnn.data.augment import RandomShift, random_shift, random_shift_reference, shift_image
from edu_cnn.init import manual_seed
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5
from edu_cnn.optim import SGD
from edu_cnn.training import fit


def test_shift_image_moves_down_and_right_and_repeats_the_edge():
    image = np.arange(16).reshape(4, 4)
    down = shift_image(image, 1, 0)
    assert np.array_equal(down[1:], image[:-1]) and np.array_equal(down[0], image[0])
    left = shift_image(image, 0, -2)
    assert np.array_equal(left[:, :2], image[:, 2:])
    assert np.array_equal(left[:, 2:], np.repeat(image[:, 3:], 2, axis=1))
    assert np.array_equal(shift_image(image, 0, 0), image)


@pytest.mark.parametrize(
    "shape, max_shift", [((50, 1, 28, 28), 2), ((7, 3, 9, 12), 3), ((20, 10, 10), 1)]
)
def test_fast_version_equals_the_reference(shape, max_shift):
    x = np.random.default_rng(1).random(shape).astype(np.float32)
    fast = random_shift(x, max_shift, np.random.default_rng(5))
    reference = random_shift_reference(x, max_shift, np.random.default_rng(5))
    assert fast.dtype == x.dtype and fast.shape == x.shape
    assert np.array_equal(fast, reference)


def test_every_offset_occurs_and_pixels_are_only_moved():
    x = np.zeros((2000, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the middle
    out = random_shift(x, 2, np.random.default_rng(0))
    rows, cols = np.nonzero(out[:, 0].sum(axis=0))
    assert set(rows) == set(range(2, 7)) and set(cols) == set(range(2, 7))  # all 25 offsets
    assert np.array_equal(out.reshape(2000, -1).sum(axis=1), np.ones(2000))  # nothing lost
    assert x[:, 0, 4, 4].all(), "the input must not change"


def test_channels_move_together_and_standardised_background_stays_background():
    rng = np.random.default_rng(2)
    x = np.full((30, 3, 12, 12), -0.42, np.float32)  # background of a standardised image
    x[:, :, 4:8, 4:8] = rng.random((30, 3, 4, 4))
    out = random_shift(x, 2, np.random.default_rng(3))
    for img_in, img_out in zip(x, out, strict=True):
        moves = {
            tuple(np.argwhere(img_out[c] != -0.42).min(axis=0) - 4)
            for c in range(3)
            if (img_out[c] != -0.42).any()
        }
        assert len(moves) == 1
    assert out.min() == pytest.approx(-0.42)


def test_zero_shift_and_empty_batch():
    x = np.random.default_rng(0).random((4, 1, 5, 5))
    assert np.array_equal(random_shift(x, 0), x)
    assert random_shift(x[:0], 2).shape == (0, 1, 5, 5)


@pytest.mark.parametrize(
    "bad, message",
    [
        (-1, "non-negative integer"),
        (1.5, "non-negative integer"),
        (True, "non-negative integer"),
        (5, "smaller than the image"),
    ],
)
def test_bad_shift_is_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        random_shift(np.zeros((2, 1, 5, 5)), bad)


def test_bad_images_are_a_clear_error():
    with pytest.raises(
        ValueError, match=r"random_shift: expected images \(N, H, W\) or \(N, C, H, W\)"
    ):
        random_shift(np.zeros((5, 5)), 1)
    with pytest.raises(ValueError, match="RandomShift: max_shift"):
        RandomShift(-2)


def test_random_shift_is_reproducible_from_its_seed():
    x = np.random.default_rng(0).random((16, 1, 28, 28)).astype(np.float32)
    a, b = RandomShift(2, seed=7), RandomShift(2, seed=7)
    assert np.array_equal(a(x), b(x)) and np.array_equal(a(x), b(x))
    assert not np.array_equal(RandomShift(2, seed=8)(x), RandomShift(2, seed=7)(x))
    assert repr(a) == "RandomShift(max_shift=2, seed=7)"


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


def test_fit_applies_augment_to_training_batches_only():
    x, y = _data()
    seen = []

    def spy(batch):
        seen.append(batch.shape)
        return batch

    manual_seed(0)
    model = lenet5()
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.01),
        x,
        y,
        epochs=2,
        batch_size=16,
        validation_data=(x[:8], y[:8]),
        verbose=False,
        augment=spy,
    )
    assert seen == [(16, 1, 28, 28)] * 8  # 4 batches × 2 epochs, never validation


def test_fit_with_augment_trains_on_the_augmented_batches():
    x, y = _data()

    def run(augment):
        manual_seed(0)
        model = lenet5()
        history = fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.01),
            x,
            y,
            epochs=1,
            batch_size=16,
            verbose=False,
            augment=augment,
        )
        return history.batch_loss

    plain = run(None)
    assert run(lambda b: b) == plain  # the identity changes nothing
    shifted = run(RandomShift(2, seed=0))
    assert shifted[0] != plain[0] and shifted == run(RandomShift(2, seed=0))


def test_fit_refuses_an_augment_that_is_not_callable():
    x, y = _data(8)
    model = lenet5()
    with pytest.raises(ValueError, match="fit: augment must be a callable"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.01), x, y, augment=2)
