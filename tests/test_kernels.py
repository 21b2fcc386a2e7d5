"""The classic kernels do what their descriptions say, checked on synthetic images."""

import numpy as np
import pytest
from scipy.ndimage import correlate

from edu_cnn.kernels import KERNELS, describe_kernel, get_kernel, kernel_names

NAMES = [
    "identity",
    "sharpen",
    "box blur",
    "gaussian blur",
    "vertical edge",
    "horizontal edge",
    "sobel-x",
    "sobel-y",
    "surround",
    "emboss",
]


def apply(name, image):
    return correlate(image, get_kernel(name), mode="nearest")


def step_image(axis):
    """Dark (0) before the middle, bright (1) after it, along ``axis`` (1: left→right)."""
    ramp = (np.arange(8) >= 4).astype(float)
    return np.tile(ramp, (8, 1)) if axis == 1 else np.tile(ramp[:, None], (1, 8))


def test_all_ten_kernels_are_there_in_course_order():
    assert kernel_names() == NAMES
    for name in NAMES:
        assert get_kernel(name).shape == (3, 3)
        assert len(describe_kernel(name)) > 20


def test_identity_keeps_the_image():
    image = np.random.default_rng(0).random((6, 7))
    np.testing.assert_allclose(apply("identity", image), image)


@pytest.mark.parametrize(
    "name", ["box blur", "gaussian blur", "surround", "sharpen", "identity", "emboss"]
)
def test_brightness_keeping_kernels_sum_to_one(name):
    assert get_kernel(name).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["vertical edge", "horizontal edge", "sobel-x", "sobel-y"])
def test_edge_kernels_ignore_flat_regions(name):
    assert get_kernel(name).sum() == pytest.approx(0.0)
    assert np.allclose(apply(name, np.full((5, 5), 0.7)), 0.0)


def test_sobel_x_finds_a_dark_to_bright_step_from_left_to_right():
    response = apply("sobel-x", step_image(axis=1))
    assert response[:, 3:5].min() > 0  # the step, as a positive answer
    assert np.allclose(response[:, :2], 0) and np.allclose(response[:, 6:], 0)
    assert np.allclose(apply("sobel-x", step_image(axis=0)), 0)  # blind to horizontal edges


def test_sobel_y_finds_a_step_from_top_to_bottom():
    response = apply("sobel-y", step_image(axis=0))
    assert response[3:5, :].min() > 0
    assert np.allclose(apply("sobel-y", step_image(axis=1)), 0)


def test_vertical_and_horizontal_edge_kernels_have_the_documented_sign():
    # "large where a vertical edge runs, bright on the left": a bright-left step is positive
    bright_left = 1 - step_image(axis=1)
    assert apply("vertical edge", bright_left)[:, 3:5].min() > 0
    bright_top = 1 - step_image(axis=0)
    assert apply("horizontal edge", bright_top)[3:5, :].min() > 0


def test_blur_lowers_the_variance_and_sharpen_raises_it():
    image = np.random.default_rng(1).random((32, 32))
    assert apply("box blur", image).var() < 0.3 * image.var()
    assert apply("gaussian blur", image).var() < image.var()
    assert apply("sharpen", image).var() > image.var()


def test_surround_leaves_the_centre_out():
    image = np.zeros((5, 5))
    image[2, 2] = 8.0
    response = apply("surround", image)
    assert response[2, 2] == 0 and response[1, 1] == pytest.approx(1.0)


def test_names_are_forgiving_and_copies_are_independent():
    np.testing.assert_array_equal(get_kernel("Sobel_X"), get_kernel("sobel-x"))
    np.testing.assert_array_equal(get_kernel("Gaussian Blur"), KERNELS["gaussian blur"].weights)
    k = get_kernel("identity")
    k[1, 1] = 42
    assert get_kernel("identity")[1, 1] == 1


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"get_kernel: no kernel called 'laplace'.*sobel-x"):
        get_kernel("laplace")
    with pytest.raises(ValueError, match="no kernel called"):
        describe_kernel("nope")
