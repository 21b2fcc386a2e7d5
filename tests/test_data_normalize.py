"""MinMaxScaler, MeanNormalizer, StandardScaler: formulas, round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edu_cnn.data import MeanNormalizer, MinMaxScaler, StandardScaler, house_prices

SCALERS = [MinMaxScaler, MeanNormalizer, StandardScaler]


def test_min_max_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    out = MinMaxScaler().fit_transform(x)
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.5, 1.0], [1.0, 0.5]])
    out = MinMaxScaler(feature_range=(-1, 1)).fit_transform(x)
    np.testing.assert_allclose(out, [[-1.0, -1.0], [0.0, 1.0], [1.0, 0.0]])


def test_mean_normalisation_by_hand():
    x = np.array([[0.0], [2.0], [10.0]])  # mean 4, range 10
    np.testing.assert_allclose(MeanNormalizer().fit_transform(x).ravel(), [-0.4, -0.2, 0.6])


def test_z_score_by_hand():
    x = np.array([[2.0], [4.0], [4.0], [4.0], [5.0], [5.0], [7.0], [9.0]])  # mean 5, sd 2
    np.testing.assert_allclose(
        StandardScaler().fit_transform(x).ravel(), [-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2]
    )


def test_z_score_matches_numpy_on_house_prices():
    houses = house_prices(300, seed=4)
    z = StandardScaler().fit_transform(houses.x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)


def test_test_set_uses_training_statistics():
    train = np.array([[0.0], [10.0]])
    test = np.array([[20.0], [5.0]])
    scaler = MinMaxScaler().fit(train)
    np.testing.assert_allclose(scaler.transform(test).ravel(), [2.0, 0.5])  # may leave [0, 1]


def test_labels_one_dimensional():
    y = np.array([100.0, 200.0, 300.0])
    scaler = StandardScaler().fit(y)
    z = scaler.transform(y)
    assert z.shape == (3,)
    np.testing.assert_allclose(scaler.inverse_transform(z), y)


def test_per_feature_false_uses_one_statistic_for_images():
    images = np.stack([np.full((2, 2), 0, np.uint8), np.full((2, 2), 255, np.uint8)])[:, None]
    scaler = MinMaxScaler(per_feature=False).fit(images)
    out = scaler.transform(images)
    assert out.dtype == np.float32 and out.shape == (2, 1, 2, 2)
    np.testing.assert_allclose(out[0], 0) and np.testing.assert_allclose(out[1], 1)
    # with per_feature=False the scaler accepts images of any size
    assert scaler.transform(np.full((3, 1, 5, 5), 51, np.uint8)).max() == pytest.approx(0.2)


def test_per_feature_on_images_is_per_pixel():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (50, 1, 4, 4)).astype(np.float32)
    z = StandardScaler().fit_transform(images)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)


@pytest.mark.parametrize("scaler_class", SCALERS)
@settings(max_examples=30, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(2, 20), st.integers(1, 5)),
        elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
    )
)
def test_round_trip(scaler_class, x):
    if np.any(np.ptp(x, axis=0) < 1e-3):
        return  # constant feature: tested separately
    scaler = scaler_class().fit(x)
    back = scaler.inverse_transform(scaler.transform(x))
    np.testing.assert_allclose(back, x, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("scaler_class", SCALERS)
def test_transform_before_fit(scaler_class):
    name = scaler_class.__name__
    with pytest.raises(ValueError, match=rf"{name}\.transform: call fit\(x_train\) first"):
        scaler_class().transform(np.ones((2, 2)))
    with pytest.raises(ValueError, match=rf"{name}\.inverse_transform: call fit"):
        scaler_class().inverse_transform(np.ones((2, 2)))


@pytest.mark.parametrize("scaler_class", SCALERS)
def test_wrong_number_of_features(scaler_class):
    scaler = scaler_class().fit(np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0]]))
    with pytest.raises(
        ValueError, match=r"fitted on data of shape \(N, 3\) \(3 features\), got shape \(5, 2\)"
    ):
        scaler.transform(np.ones((5, 2)))


@pytest.mark.parametrize("scaler_class", SCALERS)
def test_zero_range_names_the_feature(scaler_class):
    x = np.array([[1.0, 5.0, 0.0], [2.0, 5.0, 1.0]])
    with pytest.raises(
        ValueError, match=rf"{scaler_class.__name__}\.fit: feature\(s\) 1 have zero"
    ):
        scaler_class().fit(x)
    with pytest.raises(ValueError, match=r"all values are equal"):
        scaler_class(per_feature=False).fit(np.full((3, 2), 7.0))


def test_empty_input():
    with pytest.raises(
        ValueError, match=r"StandardScaler\.fit: expected at least one example, got shape \(0, 3\)"
    ):
        StandardScaler().fit(np.zeros((0, 3)))


def test_bad_feature_range():
    with pytest.raises(
        ValueError, match=r"feature_range must be \(low, high\) with low < high, got \(1, 0\)"
    ):
        MinMaxScaler(feature_range=(1, 0))


def test_float32_stays_float32_and_input_is_not_modified():
    x = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    copy = x.copy()
    out = MeanNormalizer().fit_transform(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(x, copy)


def test_repr():
    scaler = StandardScaler()
    assert repr(scaler) == "StandardScaler(per_feature=True) [not fitted]"
    scaler.fit(np.array([[0.0], [1.0]]))
    assert repr(scaler).endswith("[fitted]")
