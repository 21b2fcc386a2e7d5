"""Chapters 4–6 exercises: independent right answers pass, typical wrong answers fail
with a message that says what is wrong."""

import numpy as np
import pytest
from scipy.ndimage import maximum_filter
from scipy.signal import convolve2d, correlate2d

from edu_cnn.exercises import check, show_solution
from edu_cnn.exercises.checker import get_exercise

NAMES = [
    "conv_output_size",
    "cross_correlate2d",
    "maxpool_forward",
    "maxpool_backward",
    "conv_dW",
    "conv_delta",
]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_and_a_stub_is_not_done(name, capsys):
    assert check(name, get_exercise(name).reference)

    def stub(*args, **kwargs):
        raise NotImplementedError

    result = check(name, stub)
    assert not result and "not done yet" in result.message
    show_solution(name)
    assert "def " in capsys.readouterr().out


# -- independent right answers --------------------------------------------------------------
def test_output_size_from_counting_windows():
    def by_counting(n, k, p=0, s=1):
        return len(range(0, n + 2 * p - k + 1, s))

    assert check("conv_output_size", by_counting)


def test_cross_correlation_with_scipy():
    assert check(
        "cross_correlate2d", lambda image, kernel: correlate2d(image, kernel, mode="valid")
    )


def test_maxpool_forward_with_scipy_maximum_filter():
    def pooled(x, size, stride):
        m = maximum_filter(
            x,
            size=size,
            origin=-((size - 1) // 2) if size % 2 else -(size // 2),
            mode="constant",
            cval=-np.inf,
        )
        oh = (x.shape[0] - size) // stride + 1
        ow = (x.shape[1] - size) // stride + 1
        return m[: oh * stride : stride, : ow * stride : stride]

    assert check("maxpool_forward", pooled)


def test_maxpool_backward_with_a_numerical_gradient():
    """Where the maximum of a window is unique, the gradient is the numerical one (at a tie
    max is not differentiable; the hidden cases with ties are tested with the index rule below)."""
    forward = get_exercise("maxpool_forward").reference
    exercise = get_exercise("maxpool_backward")

    def numerical(x, grad_out, size, stride):
        g = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[index] = 1e-6
            g[index] = (
                np.sum(grad_out * (forward(x + e, size, stride) - forward(x - e, size, stride)))
                / 2e-6
            )
        return g

    unique = 0
    for args, kwargs in exercise.hidden_cases():
        x, size, stride = kwargs["x"], kwargs["size"], kwargs["stride"]
        windows = np.lib.stride_tricks.sliding_window_view(x, (size, size))[::stride, ::stride]
        if all((w == w.max()).sum() == 1 for w in windows.reshape(-1, size, size)):
            unique += 1
            np.testing.assert_allclose(numerical(**kwargs), exercise.reference(**kwargs), atol=1e-6)
    assert unique >= 3


def test_maxpool_backward_with_first_argmax_indices():
    """An independent right answer: the flat index of each window's first maximum."""

    def by_indices(x, grad_out, size, stride):
        windows = np.lib.stride_tricks.sliding_window_view(x, (size, size))[::stride, ::stride]
        oh, ow = grad_out.shape
        first = windows[:oh, :ow].reshape(oh, ow, -1).argmax(axis=2)
        g = np.zeros_like(x, dtype=float)
        for (i, j), f in np.ndenumerate(first):
            np.add.at(g, (i * stride + f // size, j * stride + f % size), grad_out[i, j])
        return g

    assert check("maxpool_backward", by_indices)


def test_conv_gradients_with_scipy_and_a_numerical_gradient():
    assert check("conv_delta", lambda delta, kernel: convolve2d(delta, kernel, mode="full"))
    assert check("conv_dW", lambda a_prev, delta: correlate2d(a_prev, delta, mode="valid"))

    def numerical_dw(a_prev, delta):  # L = sum(delta * (a_prev ⋆ W)), differentiated in W
        kh, kw = a_prev.shape[0] - delta.shape[0] + 1, a_prev.shape[1] - delta.shape[1] + 1
        w = np.zeros((kh, kw))
        g = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            e = np.zeros_like(w)
            e[index] = 1.0
            g[index] = np.sum(delta * correlate2d(a_prev, w + e, mode="valid"))
        return g

    assert check("conv_dW", numerical_dw)


# -- typical wrong answers ------------------------------------------------------------------
def test_forgetting_the_plus_one_is_caught():
    result = check("conv_output_size", lambda n, k, p=0, s=1: (n + 2 * p - k) // s, verbose=False)
    assert not result and "expected" in result.message and "Hint" in result.message
    result = check("conv_output_size", lambda n, k, p=0, s=1: (n + p - k) // s + 1, verbose=False)
    assert not result


def test_true_convolution_is_not_cross_correlation():
    result = check(
        "cross_correlate2d",
        lambda image, kernel: convolve2d(image, kernel, mode="valid"),
        verbose=False,
    )
    assert not result and "wrong at index" in result.message


def test_same_size_output_is_a_shape_error():
    result = check(
        "cross_correlate2d",
        lambda image, kernel: correlate2d(image, kernel, mode="same"),
        verbose=False,
    )
    assert not result and "should have shape" in result.message


def test_mean_pooling_is_not_max_pooling():
    def mean_pool(x, size, stride):
        oh = (x.shape[0] - size) // stride + 1
        ow = (x.shape[1] - size) // stride + 1
        return np.array(
            [
                [
                    x[i * stride : i * stride + size, j * stride : j * stride + size].mean()
                    for j in range(ow)
                ]
                for i in range(oh)
            ]
        )

    assert not check("maxpool_forward", mean_pool, verbose=False)


def test_spreading_the_gradient_evenly_is_wrong_for_max_pooling():
    def spread(x, grad_out, size, stride):
        g = np.zeros_like(x)
        for i, j in np.ndindex(grad_out.shape):
            g[i * stride : i * stride + size, j * stride : j * stride + size] += (
                grad_out[i, j] / size**2
            )
        return g

    assert not check("maxpool_backward", spread, verbose=False)


def test_overwriting_instead_of_adding_fails_for_overlapping_windows():
    def overwrite(x, grad_out, size, stride):
        g = np.zeros_like(x)
        for i, j in np.ndindex(grad_out.shape):
            w = x[i * stride : i * stride + size, j * stride : j * stride + size]
            r, c = np.unravel_index(np.argmax(w), w.shape)
            g[i * stride + r, j * stride + c] = grad_out[i, j]
        return g

    result = check("maxpool_backward", overwrite, verbose=False)
    assert not result and "use +=" in result.message  # the hint for overlapping windows


def test_unrotated_kernel_and_valid_mode_are_caught_in_conv_delta():
    assert not check(
        "conv_delta", lambda delta, kernel: correlate2d(delta, kernel, mode="full"), verbose=False
    )
    result = check(
        "conv_delta", lambda delta, kernel: convolve2d(delta, kernel, mode="same"), verbose=False
    )
    assert not result and "shape" in result.message


def test_dw_with_the_wrong_sign_or_a_flip_is_caught():
    result = check(
        "conv_dW", lambda a_prev, delta: -correlate2d(a_prev, delta, mode="valid"), verbose=False
    )
    assert not result and "opposite sign" in result.message
    assert not check(
        "conv_dW", lambda a_prev, delta: convolve2d(a_prev, delta, mode="valid"), verbose=False
    )
