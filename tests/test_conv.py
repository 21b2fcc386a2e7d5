"""Conv2d, ConvTranspose2d and the functions behind them.

Three independent checks: the plain-loop references against the fast paths, numerical
gradients (central differences in float64; a correct linear layer gives relative errors
around 1e-9, so the 1e-6 threshold leaves room only for rounding), and scipy / numpy as
outside oracles for single-channel correlation and convolution.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from edu_cnn.conv import (
    Conv2d,
    ConvTranspose2d,
    col2im,
    conv2d_backward,
    conv2d_backward_reference,
    conv2d_forward,
    conv2d_forward_reference,
    conv2d_input_grad_by_full_convolution,
    conv_transpose2d_backward,
    conv_transpose2d_backward_reference,
    conv_transpose2d_forward,
    conv_transpose2d_forward_by_zero_insertion,
    conv_transpose2d_forward_reference,
    convolve1d,
    convolve2d,
    correlate1d,
    correlate2d,
    im2col,
)
from edu_cnn.gradcheck import gradcheck

# (N, C_in, H, W, C_out, kernel, stride, padding): stride 2, padding, odd and non-square
# sizes, several channels, non-square kernels and strides
CASES = [
    (2, 3, 7, 6, 4, 3, 1, 0),
    (2, 3, 8, 9, 2, 3, 2, 1),
    (1, 2, 5, 5, 3, (2, 3), (2, 1), (1, 0)),
    (3, 1, 6, 6, 2, 5, 3, 2),
    (2, 4, 9, 7, 3, 1, 2, 0),
]


def _pair(v):
    return (v, v) if isinstance(v, int) else v


def _data(case, seed=0, dtype=np.float64):
    n, c, h, w, co, k, s, p = case
    kh, kw = _pair(k)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((co, c, kh, kw)).astype(dtype)
    bias = rng.standard_normal(co).astype(dtype)
    return x, weight, bias, s, p


# -- fast == reference ------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_fast_forward_and_backward_equal_the_loops(case):
    x, w, b, s, p = _data(case)
    y = conv2d_forward(x, w, b, s, p)
    y_ref = conv2d_forward_reference(x, w, b, s, p)
    assert y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(1).standard_normal(y.shape)
    for fast, ref, name in zip(
        conv2d_backward(g, x, w, s, p),
        conv2d_backward_reference(g, x, w, s, p),
        ("dx", "dW", "db"),
        strict=True,
    ):
        np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("case", CASES)
def test_input_gradient_as_full_convolution_with_rotated_kernel(case):
    x, w, b, s, p = _data(case)
    g = np.random.default_rng(2).standard_normal(conv2d_forward(x, w, b, s, p).shape)
    dx_ref = conv2d_backward_reference(g, x, w, s, p)[0]
    np.testing.assert_allclose(
        conv2d_input_grad_by_full_convolution(g, w, x.shape[2:], s, p),
        dx_ref,
        rtol=1e-10,
        atol=1e-10,
    )


def test_float32_layer_matches_float64_reference():
    x, w, b, s, p = _data(CASES[1], dtype=np.float32)
    layer = Conv2d(3, 2, 3, stride=2, padding=1)
    layer.load_state_dict({"weight": w, "bias": b})
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(
        y,
        conv2d_forward_reference(
            x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), s, p
        ),
        rtol=1e-5,
        atol=1e-5,
    )
    g = np.ones_like(y)
    dx = layer.backward(g)
    assert dx.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    dx_ref, dw_ref, db_ref = conv2d_backward_reference(
        g.astype(np.float64), x.astype(np.float64), w.astype(np.float64), s, p
    )
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad, dw_ref, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad, db_ref, rtol=1e-5, atol=1e-4)


def test_float64_passes_through():
    layer = Conv2d(2, 3, 3).astype(np.float64)
    y = layer(np.zeros((1, 2, 5, 5)))
    assert y.dtype == np.float64 and layer.backward(np.ones_like(y)).dtype == np.float64


# -- numerical gradients ----------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("layer_class", "seed"), [(Conv2d, 3), (ConvTranspose2d, 5)])
def test_conv_layer_gradcheck(case, layer_class, seed):
    n, c, h, w, co, k, s, p = case
    layer = layer_class(c, co, k, stride=s, padding=p, rng=np.random.default_rng(seed))
    x = np.random.default_rng(seed + 1).standard_normal((n, c, h, w))
    result = gradcheck(layer, x)
    assert result.max_rel_error < 1e-6, str(result)


def test_conv2d_valid_padding_is_zero_padding():
    layer = Conv2d(1, 2, 3, padding="valid")
    assert layer.padding == (0, 0)
    assert layer.output_shape((1, 6, 5)) == (2, 4, 3)
    assert repr(layer) == "Conv2d(1, 2, 3, padding='valid')"
    assert Conv2d(**layer.config()).config() == layer.config()
    with pytest.raises(
        ValueError, match=r"padding must be an int, a pair, 'valid' or 'same', got 'full'"
    ):
        Conv2d(1, 2, 3, padding="full")


def test_conv2d_same_padding_gradcheck_and_shape():
    layer = Conv2d(2, 3, (3, 5), padding="same", rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 7))
    assert layer(x).shape == (2, 3, 6, 7)
    assert layer.output_shape((2, 6, 7)) == (3, 6, 7)
    assert gradcheck(layer, x).max_rel_error < 1e-6


def test_a_wrong_backward_fails_the_gradcheck():
    """The check can fail: a Conv2d whose backward forgets the bias gradient."""

    class Broken(Conv2d):
        def backward(self, grad_y):
            dx = super().backward(grad_y)
            self.bias.grad = self.bias.grad * 0.5
            return dx

    layer = Broken(2, 2, 3, rng=np.random.default_rng(0))
    assert (
        gradcheck(layer, np.random.default_rng(1).standard_normal((2, 2, 5, 5))).max_rel_error > 0.1
    )


# -- transposed convolution: three ways agree -------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_transposed_convolution_scatter_equals_zero_insertion_equals_fast(case):
    n, c, h, w, co, k, s, p = case
    kh, kw = _pair(k)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((c, co, kh, kw))  # PyTorch layout (C_in, C_out, kh, kw)
    b = rng.standard_normal(co)
    y_scatter = conv_transpose2d_forward_reference(x, weight, b, s, p)
    sh, sw = _pair(s)
    ph, pw = _pair(p)
    assert y_scatter.shape == (n, co, (h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw)
    np.testing.assert_allclose(
        conv_transpose2d_forward_by_zero_insertion(x, weight, b, s, p),
        y_scatter,
        rtol=1e-10,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        conv_transpose2d_forward(x, weight, b, s, p), y_scatter, rtol=1e-10, atol=1e-10
    )
    g = rng.standard_normal(y_scatter.shape)
    for fast, ref in zip(
        conv_transpose2d_backward(g, x, weight, s, p),
        conv_transpose2d_backward_reference(g, x, weight, s, p),
        strict=True,
    ):
        np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-10)


# (N, C_in, H, W, C_out, kernel, stride, padding, output_padding)
OUTPUT_PADDING_CASES = [
    (2, 3, 4, 5, 2, 3, 2, 1, 1),
    (1, 2, 3, 3, 3, (2, 3), (3, 2), (1, 0), (2, 1)),
    (2, 1, 5, 4, 2, 4, 3, 2, (0, 2)),
]


@pytest.mark.parametrize("case", OUTPUT_PADDING_CASES)
def test_output_padding_three_ways_agree_and_gradcheck(case):
    n, c, h, w, co, k, s, p, op = case
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = _pair(k), _pair(s), _pair(p), _pair(op)
    rng = np.random.default_rng(17)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((c, co, kh, kw))
    b = rng.standard_normal(co)
    y_scatter = conv_transpose2d_forward_reference(x, weight, b, s, p, op)
    assert y_scatter.shape == (
        n,
        co,
        (h - 1) * sh - 2 * ph + kh + oh,
        (w - 1) * sw - 2 * pw + kw + ow,
    )
    np.testing.assert_allclose(
        conv_transpose2d_forward_by_zero_insertion(x, weight, b, s, p, op),
        y_scatter,
        rtol=1e-10,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        conv_transpose2d_forward(x, weight, b, s, p, op), y_scatter, rtol=1e-10, atol=1e-10
    )
    g = rng.standard_normal(y_scatter.shape)
    for fast, ref in zip(
        conv_transpose2d_backward(g, x, weight, s, p, op),
        conv_transpose2d_backward_reference(g, x, weight, s, p, op),
        strict=True,
    ):
        np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-10)
    layer = ConvTranspose2d(
        c, co, k, stride=s, padding=p, output_padding=op, rng=np.random.default_rng(5)
    )
    assert layer.output_shape((c, h, w)) == y_scatter.shape[1:]
    result = gradcheck(layer, x)
    assert result.max_rel_error < 1e-6, str(result)


def test_output_padding_undoes_a_strided_conv_size():
    """28 → 14 by a stride-2 Conv2d; without output_padding the way back gives 27, with it 28."""
    down = Conv2d(1, 4, 3, stride=2, padding=1)
    assert down.output_shape((1, 28, 28)) == (4, 14, 14)
    assert ConvTranspose2d(4, 1, 3, stride=2, padding=1).output_shape((4, 14, 14)) == (1, 27, 27)
    up = ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1)
    assert up.output_shape((4, 14, 14)) == (1, 28, 28)
    assert repr(up) == "ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1)"
    assert ConvTranspose2d(**up.config()).config() == up.config()


def test_output_padding_must_be_smaller_than_the_stride():
    with pytest.raises(
        ValueError,
        match=r"ConvTranspose2d\(1→1, k=3\): output_padding must be smaller "
        r"than the stride .* got output_padding=2 with stride \(2, 2\)",
    ):
        ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"output_padding must be ≥ 0, got -1"):
        ConvTranspose2d(1, 1, 3, stride=2, output_padding=-1)
    with pytest.raises(
        ValueError, match=r"conv_transpose2d_forward: output_padding must be smaller"
    ):
        conv_transpose2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), None, 1, 0, 1)


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x), z> = <x, conv_transpose(z)> for the same weight (9 + 2·1 − 3 is a multiple
    of the stride 2, so the transposed convolution gives back the full 9×9)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 9, 9))
    w = rng.standard_normal((4, 3, 3, 3))
    y = conv2d_forward(x, w, None, 2, 1)
    z = rng.standard_normal(y.shape)
    back = conv_transpose2d_forward(z, w, None, 2, 1)  # weight (4, 3, …) read as (C_in=4, C_out=3)
    assert back.shape == x.shape
    assert np.isclose(np.sum(y * z), np.sum(x * back))


# -- outside oracles --------------------------------------------------------------------
def test_single_channel_conv2d_equals_scipy_correlate2d():
    rng = np.random.default_rng(9)
    image, kernel = rng.standard_normal((11, 9)), rng.standard_normal((3, 4))
    layer = Conv2d(1, 1, (3, 4), bias=False).astype(np.float64)
    layer.load_state_dict({"weight": kernel[None, None]})
    expected = scipy.signal.correlate2d(image, kernel, mode="valid")
    np.testing.assert_allclose(layer(image[None, None])[0, 0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(correlate2d(image, kernel), expected, rtol=1e-12, atol=1e-12)


def test_convolve2d_equals_scipy_and_flips_the_kernel():
    rng = np.random.default_rng(10)
    image, kernel = rng.standard_normal((8, 10)), rng.standard_normal((3, 3))
    np.testing.assert_allclose(
        convolve2d(image, kernel),
        scipy.signal.convolve2d(image, kernel, "valid"),
        rtol=1e-12,
        atol=1e-12,
    )
    # padding k − 1 gives scipy's 'full' convolution
    np.testing.assert_allclose(
        convolve2d(image, kernel, padding=2),
        scipy.signal.convolve2d(image, kernel, "full"),
        rtol=1e-12,
        atol=1e-12,
    )
    assert not np.allclose(convolve2d(image, kernel), correlate2d(image, kernel))
    np.testing.assert_allclose(convolve2d(image, kernel), correlate2d(image, kernel[::-1, ::-1]))


def test_one_dimensional_correlation_and_convolution_equal_numpy():
    signal = np.array([0.0, 1, 3, 2, -1, 4, 0, 2])
    kernel = np.array([1.0, 0, -2])
    np.testing.assert_allclose(correlate1d(signal, kernel), np.correlate(signal, kernel, "valid"))
    np.testing.assert_allclose(convolve1d(signal, kernel), np.convolve(signal, kernel, "valid"))
    np.testing.assert_allclose(
        convolve1d(signal, kernel, padding=2), np.convolve(signal, kernel, "full")
    )
    np.testing.assert_allclose(
        correlate1d(signal, kernel, stride=2), np.correlate(signal, kernel, "valid")[::2]
    )


# -- im2col -----------------------------------------------------------------------------
def test_im2col_columns_are_the_receptive_fields():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    cols = im2col(x, 2, 2)
    assert cols.shape == (4, 4)
    np.testing.assert_array_equal(cols[:, 0], [0, 1, 3, 4])
    np.testing.assert_array_equal(cols[:, 1], [1, 2, 4, 5])
    np.testing.assert_array_equal(cols[:, 3], [4, 5, 7, 8])


def test_convolution_is_one_matrix_product_of_im2col():
    x, w, b, s, p = _data(CASES[1])
    cols = im2col(x, 3, 3, s, p)
    y = (
        (w.reshape(w.shape[0], -1) @ cols)
        .reshape(w.shape[0], 4, 5, x.shape[0])
        .transpose(3, 0, 1, 2)
    )
    np.testing.assert_allclose(
        y + b[None, :, None, None], conv2d_forward_reference(x, w, b, s, p), atol=1e-12
    )


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = im2col(x, 3, 2, (2, 1), 1)
    c = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, 3, 2, (2, 1), 1)))


# -- shapes -----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 6),
    p=st.integers(0, 3),
    s=st.integers(1, 4),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
)
def test_output_size_formula(n, k, p, s, c_in, c_out):
    if n + 2 * p < k:
        return
    layer = Conv2d(c_in, c_out, k, stride=s, padding=p)
    expected = (n + 2 * p - k) // s + 1
    y = layer(np.zeros((1, c_in, n, n + 1), np.float32))
    assert y.shape == (1, c_out, expected, (n + 1 + 2 * p - k) // s + 1)
    assert layer.output_shape((c_in, n, n + 1)) == y.shape[1:]


def test_lenet_shapes_and_parameter_counts():
    conv1, conv2 = Conv2d(1, 6, 5, padding=2), Conv2d(6, 16, 5)
    assert conv1.output_shape((1, 28, 28)) == (6, 28, 28)
    assert conv2.output_shape((6, 14, 14)) == (16, 10, 10)
    assert conv1.num_parameters() == 6 * 25 + 6 and conv2.num_parameters() == 16 * 6 * 25 + 16
    assert conv1.weight.shape == (6, 1, 5, 5)
    assert ConvTranspose2d(4, 2, 3).weight.shape == (4, 2, 3, 3)


def test_config_rebuilds_the_layer():
    layer = Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), bias=False)
    assert Conv2d(**layer.config()).config() == layer.config()
    assert Conv2d(3, 8, 3, padding="same").config()["padding"] == "same"
    t = ConvTranspose2d(3, 8, 4, stride=2, padding=1)
    assert ConvTranspose2d(**t.config()).config() == t.config()


# -- the fast path's buffers and options --------------------------------------------------
def test_outputs_are_not_overwritten_by_the_next_batch():
    layer = Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((4, 1, 6, 6)), rng.standard_normal((4, 1, 6, 6))
    y1 = layer(x1)
    kept = y1.copy()
    dx1 = layer.backward(np.ones_like(y1))
    dx1_kept = dx1.copy()
    layer(x2)
    layer.backward(np.full_like(y1, 2.0))
    np.testing.assert_array_equal(y1, kept)
    np.testing.assert_array_equal(dx1, dx1_kept)


def test_backward_refers_to_the_last_forward_batch():
    layer = Conv2d(2, 3, 3, rng=np.random.default_rng(0)).astype(np.float64)
    rng = np.random.default_rng(1)
    layer(rng.standard_normal((5, 2, 8, 8)))
    x = rng.standard_normal((2, 2, 6, 7))
    g = rng.standard_normal(layer(x).shape)
    dx = layer.backward(g)
    dx_ref, dw_ref, _ = conv2d_backward_reference(g, x, layer.weight.data)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, dw_ref, atol=1e-12)


def test_without_input_gradient_the_parameter_gradients_are_the_same():
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8)).astype(np.float32)
    a, b = (
        Conv2d(1, 4, 3, rng=np.random.default_rng(1)),
        Conv2d(1, 4, 3, rng=np.random.default_rng(1)),
    )
    b.needs_input_grad = False
    g = np.ones((3, 4, 6, 6), np.float32)
    a(x), b(x)
    assert a.backward(g) is not None and b.backward(g) is None
    np.testing.assert_array_equal(a.weight.grad, b.weight.grad)
    np.testing.assert_array_equal(a.bias.grad, b.bias.grad)


# -- bad input: one test per kind of mistake, asserting the message -----------------------
def test_wrong_number_of_channels():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3→16, k=5\): expected input \(N, 3, H, W\) with "
        r"H, W ≥ 5, got \(8, 1, 28, 28\)",
    ):
        Conv2d(3, 16, 5)(np.zeros((8, 1, 28, 28)))
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3→16, k=5\): expected input \(N, 3, H, W\) with "
        r"H, W ≥ 5, got \(N, 1, 28, 28\)",
    ):
        Conv2d(3, 16, 5).output_shape((1, 28, 28))


def test_image_smaller_than_the_kernel():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(1→6, k=5\): expected input \(N, 1, H, W\) with "
        r"H, W ≥ 5, got \(2, 1, 4, 28\)",
    ):
        Conv2d(1, 6, 5)(np.zeros((2, 1, 4, 28)))
    with pytest.raises(
        ValueError,
        match=r"conv2d_forward: expected input \(N, C, H, W\) with 4 axes, "
        r"got shape \(1, 28, 28\)",
    ):
        conv2d_forward(np.zeros((1, 28, 28)), np.zeros((6, 1, 5, 5)), None)


def test_stride_or_padding_that_gives_no_output():
    with pytest.raises(
        ValueError,
        match=r"conv2d_forward: output height ⌊\(n \+ 2p − k\)/s⌋ \+ 1 = "
        r"⌊\(3 \+ 2·0 − 5\)/2⌋ \+ 1 = 0",
    ):
        conv2d_forward(np.zeros((1, 1, 3, 9)), np.zeros((1, 1, 5, 5)), None, stride=2)
    with pytest.raises(ValueError, match=r"Conv2d.*stride must be ≥ 1, got 0"):
        Conv2d(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match=r"Conv2d\(1→1, k=3\): padding must be ≥ 0, got -1"):
        Conv2d(1, 1, 3, padding=-1)
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1 and an odd kernel"):
        Conv2d(1, 1, 4, padding="same")
    with pytest.raises(
        ValueError,
        match=r"ConvTranspose2d\(1→1, k=2\): output size \(n − 1\)·s − 2p \+ k "
        r"= \(1 − 1\)·1 − 2·1 \+ 2 = 0",
    ):
        ConvTranspose2d(1, 1, 2, padding=1)(np.zeros((1, 1, 1, 1)))


def test_backward_before_forward():
    for layer in (Conv2d(1, 2, 3), ConvTranspose2d(1, 2, 3)):
        with pytest.raises(ValueError, match=r"backward\(\) called before forward\(\)"):
            layer.backward(np.zeros((1, 2, 3, 3)))


@pytest.mark.parametrize(
    ("make_layer", "x_shape", "wrong_shape", "message"),
    [
        (
            lambda: Conv2d(1, 2, 3),
            (4, 1, 8, 8),
            (4, 2, 8, 8),
            r"Conv2d\(1→2, k=3\): backward\(\) expected a gradient of shape "
            r"\(4, 2, 6, 6\) \(the shape of the forward output\), got \(4, 2, 8, 8\)",
        ),
        (
            lambda: ConvTranspose2d(2, 1, 3),
            (1, 2, 4, 4),
            (1, 1, 4, 4),
            r"ConvTranspose2d\(2→1, k=3\): backward\(\) expected a gradient "
            r"of shape \(1, 1, 6, 6\)",
        ),
    ],
)
def test_wrong_gradient_shape(make_layer, x_shape, wrong_shape, message):
    layer = make_layer()
    layer(np.zeros(x_shape))
    with pytest.raises(ValueError, match=message):
        layer.backward(np.zeros(wrong_shape))


def test_transposed_convolution_checks_channels():
    with pytest.raises(
        ValueError,
        match=r"ConvTranspose2d\(3→2, k=3\): expected input \(N, 3, H, W\), "
        r"got \(1, 2, 4, 4\)",
    ):
        ConvTranspose2d(3, 2, 3)(np.zeros((1, 2, 4, 4)))


# -- PyTorch, if installed (a benchmark-only extra): same weights, same numbers -----------
def test_same_numbers_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 9, 8))
    conv = Conv2d(3, 4, 3, stride=2, padding=1).astype(np.float64)
    ref = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1).double()
    with torch.no_grad():
        conv.load_state_dict({"weight": ref.weight.numpy(), "bias": ref.bias.numpy()})
    np.testing.assert_allclose(conv(x), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    tconv = ConvTranspose2d(3, 4, 4, stride=2, padding=1).astype(np.float64)
    tref = torch.nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1).double()
    with torch.no_grad():
        tconv.load_state_dict({"weight": tref.weight.numpy(), "bias": tref.bias.numpy()})
    np.testing.assert_allclose(tconv(x), tref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    pconv = ConvTranspose2d(3, 2, 3, stride=(2, 3), padding=1, output_padding=(1, 2)).astype(
        np.float64
    )
    pref = torch.nn.ConvTranspose2d(
        3, 2, 3, stride=(2, 3), padding=1, output_padding=(1, 2)
    ).double()
    with torch.no_grad():
        pconv.load_state_dict({"weight": pref.weight.numpy(), "bias": pref.bias.numpy()})
    np.testing.assert_allclose(pconv(x), pref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


def test_functions_check_their_arguments_too():
    with pytest.raises(
        ValueError,
        match=r"conv2d_backward_reference: backward\(\) expected a gradient of shape "
        r"\(1, 2, 3, 3\)",
    ):
        conv2d_backward_reference(
            np.zeros((1, 2, 5, 5)), np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3))
        )
    with pytest.raises(
        ValueError,
        match=r"correlate2d: output width ⌊\(n \+ 2p − k\)/s⌋ \+ 1 = ⌊\(2 \+ 2·0 − 3\)/1⌋",
    ):
        correlate2d(np.zeros((5, 2)), np.zeros((3, 3)))
