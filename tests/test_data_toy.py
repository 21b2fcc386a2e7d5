"""Toy sets, the X/O generator, the sample photo, mini-batches and the split."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.data import (
    LOGIC_GATES,
    XO_CLASS_NAMES,
    circles,
    house_prices,
    iterate_minibatches,
    linear_data,
    logic_gate,
    sample_photo,
    spirals,
    to_gray,
    train_val_split,
    two_moons,
    xo_images,
    xo_prototype,
    xor_blobs,
)

# -- logic gates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, rule",
    [
        ("AND", lambda a, b: a and b),
        ("OR", lambda a, b: a or b),
        ("NAND", lambda a, b: not (a and b)),
        ("NOR", lambda a, b: not (a or b)),
        ("XOR", lambda a, b: a != b),
        ("XNOR", lambda a, b: a == b),
    ],
)
def test_two_input_gates_follow_their_rule(name, rule):
    x, y = logic_gate(name.lower())
    assert x.shape == (4, 2) and x.dtype == np.float32 and y.dtype == np.int64
    for (a, b), out in zip(x.astype(bool), y, strict=True):
        assert out == int(rule(a, b))


def test_not_gate():
    x, y = logic_gate("NOT")
    assert x.tolist() == [[0.0], [1.0]] and y.tolist() == [1, 0]


def test_unknown_gate():
    with pytest.raises(ValueError, match=r"logic_gate: expected one of AND, OR, .* got 'IMPLIES'"):
        logic_gate("IMPLIES")
    assert set(LOGIC_GATES) >= {"AND", "OR", "NAND", "NOR", "XOR", "NOT"}


# -- regression sets ---------------------------------------------------------------------


def test_linear_data_recovers_its_line():
    x, y = linear_data(500, weight=-3.0, bias=4.0, noise=0.5, seed=1)
    assert x.shape == (500, 1) and y.shape == (500,) and x.dtype == y.dtype == np.float32
    slope, intercept = np.polyfit(x[:, 0], y, 1)
    assert slope == pytest.approx(-3.0, abs=0.05) and intercept == pytest.approx(4.0, abs=0.2)


def test_house_prices_units_differ_and_rule_holds():
    houses = house_prices(400, seed=2)
    assert houses.x.shape == (400, 3) and houses.y.shape == (400,)
    assert houses.feature_names == ("area", "rooms", "distance")
    assert houses.units == ("m²", "rooms", "km")
    spans = np.ptp(houses.x, axis=0)
    assert spans[0] > 20 * spans[1]  # m² vary far more than rooms: normalisation matters
    assert set(np.unique(houses.x[:, 1])) <= set(range(1, 8))
    design = np.column_stack([houses.x, np.ones(400)]).astype(np.float64)
    residual = houses.y - design @ np.append(houses.true_weights, houses.true_bias)
    assert residual.std() == pytest.approx(20.0, rel=0.15)  # the default noise, in k€
    exact = house_prices(400, noise=0.0, seed=2)
    solution = np.linalg.lstsq(design, exact.y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(solution, [3.0, 12.0, -4.0, 50.0], rtol=1e-3)


# -- 2-D classification sets -------------------------------------------------------------


@pytest.mark.parametrize("make", [two_moons, circles, xor_blobs])
def test_binary_sets_shapes_balance_and_seed(make):
    x, y = make(101, seed=3)
    assert x.shape == (101, 2) and x.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(y.tolist()) == {0, 1} and abs(int(y.sum()) - 50) <= 1
    x2, y2 = make(101, seed=3)
    np.testing.assert_array_equal(x, x2) and np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(make(101, seed=4)[0], x)


def test_spirals_k_classes():
    x, y = spirals(301, classes=4, seed=0)
    assert x.shape == (301, 2) and np.bincount(y).tolist() == [76, 75, 75, 75]
    assert np.abs(x).max() < 1.6


def test_circles_radii():
    x, y = circles(400, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)


def test_xor_blobs_follow_xor_of_signs():
    x, y = xor_blobs(400, spread=0.1, seed=0)
    np.testing.assert_array_equal(y, ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64))


def test_moons_are_not_linearly_separable_but_close():
    x, y = two_moons(400, noise=0.05, seed=0)
    design = np.column_stack([x, np.ones(len(x))])
    w = np.linalg.lstsq(design, 2.0 * y - 1, rcond=None)[0]
    accuracy = ((design @ w > 0) == y).mean()
    assert 0.75 < accuracy < 0.97


def test_toy_set_argument_errors():
    with pytest.raises(ValueError, match=r"two_moons: n must be an integer ≥ 2, got 1"):
        two_moons(1)
    with pytest.raises(ValueError, match=r"spirals: classes must be an integer ≥ 2, got 1"):
        spirals(10, classes=1)
    with pytest.raises(ValueError, match=r"circles: factor must be between 0 and 1, got 1.5"):
        circles(10, factor=1.5)


# -- X vs O ------------------------------------------------------------------------------


def test_xo_images_shape_values_balance():
    x, y = xo_images(40, size=20, seed=0)
    assert x.shape == (40, 1, 20, 20) and x.dtype == np.float32
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [20, 20]
    assert set(np.unique(x).tolist()) <= {0.0, 1.0}
    assert XO_CLASS_NAMES == ("X", "O")


def test_xo_images_deterministic_for_a_seed():
    a, b = xo_images(16, seed=7), xo_images(16, seed=7)
    np.testing.assert_array_equal(a[0], b[0]) and np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(xo_images(16, seed=8)[0], a[0])


def test_xo_images_vary():
    x, y = xo_images(20, seed=1, noise=0.0)
    xs = x[y == 0].reshape(10, -1)
    assert len({row.tobytes() for row in xs}) == 10  # no two X alike
    ink = x.reshape(20, -1).mean(axis=1)
    assert ink.min() > 0.03 and ink.max() < 0.5


def test_xo_letters_have_their_shape():
    """Without noise: an X has ink at its centre, an O has a hole there."""
    x, y = xo_images(60, size=28, seed=2, noise=0.0, max_shift=0.0)
    centre = x[:, 0, 12:16, 12:16].mean(axis=(1, 2))
    assert centre[y == 0].min() > 0.4
    assert centre[y == 1].max() == 0.0


def test_xo_noise_flips_the_requested_share():
    clean, _ = xo_images(50, seed=3, noise=0.0)
    noisy, _ = xo_images(50, seed=3, noise=0.1)
    assert (clean != noisy).mean() == pytest.approx(0.1, abs=0.01)


def test_xo_prototypes_match_the_classic_9x9():
    x = xo_prototype("X")
    assert x.shape == (9, 9) and x.dtype == np.float32
    eye = np.eye(7)
    np.testing.assert_array_equal(x[1:8, 1:8], np.maximum(eye, eye[::-1]))
    assert x[0].sum() == x[-1].sum() == 0
    o = xo_prototype("o")
    assert o[4, 4] == 0 and o[4, 1] == 1 and o[1, 4] == 1
    np.testing.assert_array_equal(o, o.T) and np.testing.assert_array_equal(o, o[::-1])
    assert xo_prototype("X", size=28).shape == (28, 28)


def test_xo_argument_errors():
    with pytest.raises(ValueError, match=r"xo_prototype: kind must be 'X' or 'O', got 'Y'"):
        xo_prototype("Y")
    with pytest.raises(ValueError, match=r"xo_images: size must be an integer ≥ 7, got 4"):
        xo_images(2, size=4)
    with pytest.raises(ValueError, match=r"xo_images: noise must be .* got 0.7"):
        xo_images(2, noise=0.7)


# -- photo -------------------------------------------------------------------------------


def test_sample_photo_gray_and_colour():
    gray = sample_photo()
    assert gray.shape == (600, 512) and gray.dtype == np.float32
    assert 0.0 <= gray.min() and gray.max() <= 1.0 and gray.std() > 0.1
    colour = sample_photo(gray=False, size=512)
    assert colour.shape == (512, 512, 3) and colour.dtype == np.float32
    np.testing.assert_allclose(to_gray(colour), sample_photo(size=512), atol=1e-6)
    assert sample_photo(size=64).shape == (64, 64)


def test_sample_photo_bad_size():
    with pytest.raises(
        ValueError, match=r"sample_photo: size must be a positive integer or None, got 0"
    ):
        sample_photo(size=0)


# -- mini-batches and the split ----------------------------------------------------------


def test_minibatches_cover_everything_once():
    x, y = np.arange(23)[:, None] * np.ones((1, 3)), np.arange(23)
    batches = list(iterate_minibatches(x, y, batch_size=5, seed=0))
    assert [len(b) for _, b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b for _, b in batches])
    assert sorted(seen.tolist()) == list(range(23)) and seen.tolist() != list(range(23))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)  # pairs stay together


def test_minibatches_seeded_and_unshuffled():
    x, y = np.arange(10), np.arange(10)
    order = lambda **kw: np.concatenate([b for _, b in iterate_minibatches(x, y, 3, **kw)])
    np.testing.assert_array_equal(order(seed=1), order(seed=1))
    assert not np.array_equal(order(seed=1), order(seed=2))
    assert order(shuffle=False).tolist() == list(range(10))
    rng = np.random.default_rng(0)
    assert not np.array_equal(order(seed=rng), order(seed=rng))  # a Generator moves on
    assert [len(b) for _, b in iterate_minibatches(x, y, 3, drop_last=True)] == [3, 3, 3]


def test_minibatch_errors():
    with pytest.raises(
        ValueError,
        match=r"iterate_minibatches: x and y must have the same number .*"
        r"got x \(4, 2\) and y \(3,\)",
    ):
        next(iterate_minibatches(np.zeros((4, 2)), np.zeros(3), 2))
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer, got 0"):
        next(iterate_minibatches(np.zeros(4), np.zeros(4), 0))


def test_train_val_split_stratified():
    y = np.repeat(np.arange(4), [40, 20, 20, 20])
    x = np.arange(100) * 10
    x_tr, x_val, _y_tr, y_val = train_val_split(x, y, val_fraction=0.25, seed=0)
    assert len(x_val) == 25 and len(x_tr) == 75
    assert np.bincount(y_val).tolist() == [10, 5, 5, 5]
    assert sorted(np.concatenate([x_tr, x_val]).tolist()) == x.tolist()  # a partition
    np.testing.assert_array_equal(y[x_val // 10], y_val)  # pairs stay together
    again = train_val_split(x, y, val_fraction=0.25, seed=0)
    np.testing.assert_array_equal(again[1], x_val)


def test_train_val_split_regression_targets():
    x, y = linear_data(40, seed=0)
    _x_tr, _x_val, y_tr, y_val = train_val_split(x, y, val_fraction=0.2, seed=1)
    assert len(y_val) == 8 and len(y_tr) == 32


def test_train_val_split_errors():
    with pytest.raises(
        ValueError, match=r"val_fraction must be between 0 and 1 \(exclusive\), got 1.0"
    ):
        train_val_split(np.zeros(5), np.zeros(5), 1.0)
    with pytest.raises(ValueError, match=r"leaves 2 for training and 0 for validation"):
        train_val_split(np.zeros(2), np.zeros(2), 0.1)
