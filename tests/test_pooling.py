"""Pooling, unpooling and up-sampling: loops vs fast paths, numerical gradients, shapes,
and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edu_cnn.gradcheck import gradcheck
from edu_cnn.layer import Layer
from edu_cnn.pooling import (
    AvgPool2d,
    MaxPool2d,
    MaxUnpool2d,
    Upsample,
    avg_pool2d_backward,
    avg_pool2d_backward_reference,
    avg_pool2d_forward,
    avg_pool2d_forward_reference,
    max_pool2d_backward,
    max_pool2d_backward_reference,
    max_pool2d_forward,
    max_pool2d_forward_reference,
    max_unpool2d_backward,
    max_unpool2d_backward_reference,
    max_unpool2d_forward,
    max_unpool2d_forward_reference,
    upsample_nearest_backward,
    upsample_nearest_backward_reference,
    upsample_nearest_forward,
    upsample_nearest_forward_reference,
)

# (N, C, H, W, kernel, stride, padding): non-overlapping, overlapping (k=3, s=2), padding,
# non-square windows and strides, odd sizes that leave rows over, stride > kernel
CASES = [
    (2, 3, 8, 8, 2, None, 0),
    (2, 3, 7, 9, 3, 2, 1),
    (1, 2, 6, 5, (2, 3), (1, 2), (1, 1)),
    (2, 2, 9, 9, 3, None, 0),
    (1, 4, 7, 7, 2, 3, 0),
]


def _x(case, seed=0, ties=False):
    n, c, h, w = case[:4]
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many windows with several equal maxima (like after ReLU)
        return rng.integers(0, 3, size=(n, c, h, w)).astype(np.float64)
    # distinct values at least 0.01 apart: ε = 1e-6 in the gradient check cannot change the arg-max
    return (rng.permutation(n * c * h * w).reshape(n, c, h, w) * 0.01).astype(np.float64)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_max_pool_fast_equals_the_loops(case, ties):
    x = _x(case, ties=ties)
    k, s, p = case[4:]
    y, idx = max_pool2d_forward(x, k, s, p, return_indices=True)
    y_ref, idx_ref = max_pool2d_forward_reference(x, k, s, p, return_indices=True)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    g = np.random.default_rng(1).standard_normal(y.shape)
    np.testing.assert_allclose(
        max_pool2d_backward(g, x, k, s, p),
        max_pool2d_backward_reference(g, x, k, s, p),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("case", CASES)
def test_avg_pool_fast_equals_the_loops(case):
    x = _x(case)
    k, s, p = case[4:]
    y = avg_pool2d_forward(x, k, s, p)
    np.testing.assert_allclose(y, avg_pool2d_forward_reference(x, k, s, p), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(2).standard_normal(y.shape)
    np.testing.assert_allclose(
        avg_pool2d_backward(g, x, k, s, p),
        avg_pool2d_backward_reference(g, x, k, s, p),
        rtol=1e-12,
        atol=1e-12,
    )


def test_float32_stays_float32_and_matches_within_1e_5():
    x = np.random.default_rng(3).standard_normal((4, 3, 10, 10)).astype(np.float32)
    for layer in (MaxPool2d(2), AvgPool2d(3, 2, 1)):
        y = layer(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32
    np.testing.assert_allclose(
        AvgPool2d(3, 2, 1)(x),
        avg_pool2d_forward_reference(x.astype(np.float64), 3, 2, 1),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_array_equal(MaxPool2d(2)(x), max_pool2d_forward_reference(x, 2))


# -- backward rules -----------------------------------------------------------------------
def test_max_pool_sends_delta_to_the_first_maximum_only():
    x = np.array(
        [[[[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 3.0, 2.0]]]]
    )  # left window all ties, right window a tie of 3s
    layer = MaxPool2d(2)
    np.testing.assert_array_equal(layer(x), [[[[0.0, 3.0]]]])
    dx = layer.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(dx, [[[[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_mean_pool_spreads_delta_evenly():
    layer = AvgPool2d(2)
    layer(np.arange(16.0).reshape(1, 1, 4, 4))
    dx = layer.backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]))
    np.testing.assert_array_equal(
        dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    )


@pytest.mark.parametrize("case", CASES)
def test_pooling_gradcheck(case):
    k, s, p = case[4:]
    x = _x(case, seed=4)
    for layer in (MaxPool2d(k, s, p), AvgPool2d(k, s, p)):
        result = gradcheck(layer, x)
        assert result.max_rel_error < 1e-6, f"{layer!r}: {result}"


class _UnpoolWith(Layer):
    """MaxUnpool2d with fixed indices, so the gradient check sees a one-input layer."""

    def __init__(self, indices, output_size=None):
        super().__init__()
        self.inner, self.indices, self.output_size = MaxUnpool2d(2), indices, output_size

    def forward(self, x):
        return self.inner(x, self.indices, self.output_size)

    def backward(self, grad_y):
        return self.inner.backward(grad_y)


def test_unpool_and_upsample_gradcheck():
    x = _x((2, 3, 7, 6))
    y, idx = MaxPool2d(2, return_indices=True)(x)
    assert gradcheck(_UnpoolWith(idx, (7, 6)), y).max_rel_error < 1e-6
    assert gradcheck(Upsample(scale_factor=(2, 3)), y).max_rel_error < 1e-6


def test_a_wrong_backward_fails_the_gradcheck():
    """The check can fail: a max pool that spreads δ over the window like a mean pool."""

    class Broken(MaxPool2d):
        def backward(self, grad_y):
            return np.repeat(np.repeat(grad_y, 2, axis=2), 2, axis=3) / 4

    assert gradcheck(Broken(2), _x((1, 1, 4, 4))).max_rel_error > 0.1


# -- unpooling and up-sampling ------------------------------------------------------------
def test_unpool_and_upsample_fast_equal_the_loops():
    x = _x((2, 3, 8, 6), seed=5)
    y, idx = max_pool2d_forward(x, 2, return_indices=True)
    u = max_unpool2d_forward(y, idx, (8, 6))
    np.testing.assert_array_equal(u, max_unpool2d_forward_reference(y, idx, (8, 6)))
    g = np.random.default_rng(6).standard_normal(u.shape)
    np.testing.assert_array_equal(
        max_unpool2d_backward(g, idx), max_unpool2d_backward_reference(g, idx)
    )
    up = upsample_nearest_forward(y, (2, 3))
    np.testing.assert_array_equal(up, upsample_nearest_forward_reference(y, (2, 3)))
    g = np.random.default_rng(7).standard_normal(up.shape)
    np.testing.assert_allclose(
        upsample_nearest_backward(g, (2, 3)),
        upsample_nearest_backward_reference(g, (2, 3)),
        rtol=1e-12,
        atol=1e-12,
    )


def test_unpool_puts_the_maxima_back_and_zeros_elsewhere():
    x = _x((1, 2, 4, 4))
    y, idx = MaxPool2d(2, return_indices=True)(x)
    u = MaxUnpool2d(2)(y, idx)
    assert u.shape == x.shape
    kept = u != 0
    np.testing.assert_array_equal(u[kept], x[kept])
    assert kept.sum() == y.size
    # up-sampling copies instead: every pixel of a block gets the pooled value
    np.testing.assert_array_equal(
        Upsample(scale_factor=2)(y)[0, 0, :2, :2], np.full((2, 2), y[0, 0, 0, 0])
    )


def test_same_indices_as_pytorch():
    torch = pytest.importorskip("torch")
    x = _x((2, 3, 7, 9), ties=True)
    for k, s, p in ((2, None, 0), (3, 2, 1)):
        y, idx = max_pool2d_forward(x, k, s, p, return_indices=True)
        ty, tidx = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, return_indices=True)
        np.testing.assert_array_equal(y, ty.numpy())
        np.testing.assert_array_equal(idx, tidx.numpy())
    np.testing.assert_array_equal(
        avg_pool2d_forward(x, 3, 2, 1),
        torch.nn.functional.avg_pool2d(torch.from_numpy(x), 3, 2, 1).numpy(),
    )


# -- shapes -----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 4), data=st.data())
def test_output_size_formula(n, k, s, data):
    p = data.draw(st.integers(0, k // 2))
    if n + 2 * p < k:
        return
    for layer in (MaxPool2d(k, s, p), AvgPool2d(k, s, p)):
        y = layer(np.zeros((2, 3, n, n + 2), np.float32))
        expected = ((n + 2 * p - k) // s + 1, (n + 2 + 2 * p - k) // s + 1)
        assert y.shape == (2, 3, *expected)
        assert layer.output_shape((3, n, n + 2)) == y.shape[1:]


def test_stride_defaults_to_the_kernel_and_config():
    layer = MaxPool2d(3)
    assert layer.stride == (3, 3)
    assert layer.output_shape((6, 28, 28)) == (6, 9, 9)
    assert MaxPool2d(**layer.config()).config() == layer.config()
    assert AvgPool2d(**AvgPool2d(2, 1, 1).config()).config() == AvgPool2d(2, 1, 1).config()
    assert MaxUnpool2d(2).output_shape((3, 4, 5)) == (3, 8, 10)
    assert Upsample(scale_factor=3).output_shape((1, 2, 2)) == (1, 6, 6)


# -- bad input ----------------------------------------------------------------------------
def test_window_bigger_than_the_input_gives_no_output():
    with pytest.raises(
        ValueError,
        match=r"MaxPool2d\(k=5, s=2\): output height ⌊\(n \+ 2p − k\)/s⌋ \+ 1 = "
        r"⌊\(3 \+ 2·0 − 5\)/2⌋ \+ 1 = 0",
    ):
        MaxPool2d(5, 2)(np.zeros((1, 1, 3, 8)))


def test_padding_more_than_half_the_kernel():
    with pytest.raises(
        ValueError,
        match=r"AvgPool2d: padding must be at most half the kernel size \(p ≤ k/2\), "
        r"got padding 2 for kernel 2",
    ):
        AvgPool2d(2, padding=2)


def test_wrong_number_of_axes():
    with pytest.raises(
        ValueError,
        match=r"MaxPool2d\(k=2, s=2\): expected input \(N, C, H, W\) with 4 axes, "
        r"got shape \(28, 28\)",
    ):
        MaxPool2d(2)(np.zeros((28, 28)))


def test_backward_before_forward():
    for layer in (MaxPool2d(2), AvgPool2d(2), MaxUnpool2d(2), Upsample(scale_factor=2)):
        with pytest.raises(ValueError, match=r"backward\(\) called before forward\(\)"):
            layer.backward(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize(
    ("layer", "x_shape", "message"),
    [
        (
            MaxPool2d(2),
            (4, 6, 28, 28),
            r"MaxPool2d\(k=2, s=2\): backward\(\) expected a gradient of shape "
            r"\(4, 6, 14, 14\) \(the shape of the forward output\), got \(4, 6, 28, 28\)",
        ),
        (
            Upsample(scale_factor=2),
            (1, 1, 3, 3),
            r"Upsample\(scale_factor=2\): backward\(\) expected a gradient of shape "
            r"\(1, 1, 6, 6\)",
        ),
    ],
)
def test_wrong_gradient_shape(layer, x_shape, message):
    """The forward input itself is the wrong gradient: the output has another shape."""
    layer(np.zeros(x_shape))
    with pytest.raises(ValueError, match=message):
        layer.backward(np.zeros(x_shape))


def test_unpool_checks_its_indices():
    with pytest.raises(
        ValueError,
        match=r"MaxUnpool2d\(k=2, s=2\): indices must lie in \[0, 16\) for an output "
        r"of 4×4, got values from 0 to 99",
    ):
        MaxUnpool2d(2)(np.zeros((1, 1, 2, 2)), np.array([[[[0, 1], [2, 99]]]]))
    with pytest.raises(
        ValueError, match=r"needs the indices from MaxPool2d\(..., return_indices=True\)"
    ):
        MaxUnpool2d(2)(np.zeros((1, 1, 2, 2)))


def test_upsample_only_nearest():
    with pytest.raises(
        ValueError, match=r"Upsample: only mode='nearest' is implemented, got 'bilinear'"
    ):
        Upsample(scale_factor=2, mode="bilinear")


def test_functions_check_their_gradients_too():
    x = np.zeros((1, 2, 4, 4))
    with pytest.raises(
        ValueError,
        match=r"max_pool2d_backward_reference: backward\(\) expected a gradient of "
        r"shape \(1, 2, 2, 2\)",
    ):
        max_pool2d_backward_reference(np.zeros((1, 2, 4, 4)), x, 2)
    with pytest.raises(
        ValueError,
        match=r"upsample_nearest_backward: gradient \(1, 2, 5, 4\) is not a whole "
        r"number of 2×2 blocks",
    ):
        upsample_nearest_backward(np.zeros((1, 2, 5, 4)), 2)


def test_pytorch_argument_order_traps_are_closed():
    """Arguments after PyTorch's positional ones are keyword-only; Upsample reads like PyTorch."""
    from edu_cnn import Conv2d

    with pytest.raises(TypeError):
        MaxPool2d(2, 2, 0, True)  # PyTorch's 4th positional argument is dilation
    with pytest.raises(TypeError):
        Conv2d(1, 2, 3, 1, 0, False)  # PyTorch's 6th is dilation, not bias
    assert repr(Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert (
        repr(Upsample(scale_factor=(2, 3))) == "Upsample(scale_factor=(2.0, 3.0), mode='nearest')"
    )
    assert Upsample(scale_factor=2.0).scale_factor == (2, 2)
    with pytest.raises(
        ValueError,
        match=r"Upsample: size=2 \(a fixed output size, PyTorch's first "
        r"argument\) is not implemented; for a scale factor write "
        r"Upsample\(scale_factor=2\)",
    ):
        Upsample(2)
    with pytest.raises(ValueError, match=r"Upsample: give scale_factor"):
        Upsample()
    with pytest.raises(ValueError, match=r"scale_factor must be an int or a pair of ints, got 1.5"):
        Upsample(scale_factor=1.5)
    assert Upsample(**Upsample(scale_factor=3).config()).scale_factor == (3, 3)
