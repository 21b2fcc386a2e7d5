"""Chapters 4–6 widgets: the pure functions against independent oracles, and the wiring
(set a control, assert on the state) without any front end."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import correlate
from scipy.signal import convolve2d as scipy_convolve2d
from scipy.signal import correlate2d as scipy_correlate2d

from edu_cnn.data import xo_prototype
from edu_cnn.exercises.checker import get_exercise
from edu_cnn.kernels import get_kernel
from edu_cnn.widgets import backprop as bw
from edu_cnn.widgets import convolution as cw
from edu_cnn.widgets import pooling as pw
from edu_cnn.widgets.blit import UpdatingRenderer

RNG = np.random.default_rng(0)


# -- convolution stepper ---------------------------------------------------------------------
@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (1, 3)])
def test_stepper_output_matches_scipy_and_each_window_is_its_patch(padding, stride):
    image = RNG.integers(-3, 6, (6, 7)).astype(float)
    kernel = RNG.normal(size=(3, 3))
    expected = scipy_correlate2d(np.pad(image, padding), kernel, mode="valid")[::stride, ::stride]
    last = cw.conv_step_state(image, kernel, padding, stride, 10**6)
    np.testing.assert_allclose(last.output, expected)
    assert last.position == expected.size - 1 and last.filled.all()
    for position in range(expected.size):
        state = cw.conv_step_state(image, kernel, padding, stride, position)
        r, c = divmod(position, expected.shape[1])
        assert (state.row, state.col) == (r, c)
        np.testing.assert_allclose(
            state.patch,
            np.pad(image, padding)[r * stride : r * stride + 3, c * stride : c * stride + 3],
        )
        assert state.value == pytest.approx(expected[r, c])
        assert state.filled.sum() == position + 1


def test_stepper_formula_and_bad_input():
    state = cw.conv_step_state(np.eye(3), -np.ones((2, 2)), position=0)
    assert state.formula.startswith("1·(-1) + 0·(-1)") and state.formula.endswith("= -2")
    with pytest.raises(ValueError, match="conv_step_state: expected a 2-D image"):
        cw.conv_step_state(np.ones((1, 4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="conv_step_state.*does not fit"):
        cw.conv_step_state(np.ones((2, 2)), np.ones((3, 3)))


def test_stepper_widget_wiring_and_hooks():
    stepper = cw.conv_stepper()
    slider = stepper.controls["position"]
    assert slider.description == "Position" and "educnn-conv-stepper" in stepper.widget._dom_classes
    assert "educnn-conv-figure" in stepper.image._dom_classes
    assert "educnn-conv-value" in stepper.caption._dom_classes
    slider.value = 7
    assert (
        stepper.state.position == 7 and f"= {stepper.state.value:g} &nbsp;" in stepper.caption.value
    )
    stepper.controls["padding"].value = 1  # 6×6 input, 3×3 kernel: 6×6 outputs
    assert slider.max == 35 and stepper.state.output.shape == (6, 6)
    stepper.controls["stride"].value = 2  # ⌊(8 − 3)/2⌋ + 1 = 3: 9 outputs, slider clipped
    assert slider.max == 8 and stepper.state.position == min(7, 8)
    assert stepper.image.value[:4] == b"\x89PNG"


def _pixels(png):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def _stepper_states():
    image, kernel = cw.DEFAULT_STEPPER_IMAGE, get_kernel("sobel-x")
    return [cw.conv_step_state(image, kernel, 1, 2, position) for position in (0, 3, 7, 6)]


def _pool_states():
    x = pw.DEFAULT_POOL_INPUT
    return [
        pw.pool_state(x, "max", 2, 2, 0, 0),
        pw.pool_state(x, "max", 2, 2, 9, 2),
        pw.pool_state(x, "max", 2, 2, 5, 1),
        pw.pool_state(x, "max", 2, 2, 5, 3),
    ]


def _multichannel_states():
    image = np.random.default_rng(2).random((12, 12, 3))
    filters = list(cw.MULTICHANNEL_FILTERS.values())
    return [
        cw.multichannel_state(image, filters[0], 0.0),
        cw.multichannel_state(image, filters[2], 0.3),
        cw.multichannel_state(image, filters[1], -0.5),
        cw.multichannel_state(image, filters[1], 0.5),
    ]


@pytest.mark.parametrize(
    "figure, key, states",
    [
        ("ConvStepFigure", lambda st: (st.padding, st.stride), _stepper_states),
        ("PoolFigure", lambda st: (st.mode, st.size, st.stride), _pool_states),
        ("MultichannelFigure", lambda st: None, _multichannel_states),
    ],
)
def test_fast_redraw_gives_the_same_picture_as_a_fresh_one(figure, key, states):
    """The widgets redraw only what moves (blitting); the picture must equal a full draw."""
    figure_class = getattr(cw, figure, None) or getattr(pw, figure)
    *_, before_last, last = states()
    moving = UpdatingRenderer(figure_class, key)
    for state in states()[:-1] + [last]:
        moved = moving(state)
    fresh = UpdatingRenderer(figure_class, key)(last)
    np.testing.assert_array_equal(_pixels(moved), _pixels(fresh))
    other = UpdatingRenderer(figure_class, key)(before_last)
    assert not np.array_equal(_pixels(other), _pixels(fresh))


# -- kernel explorer ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sobel-x", "emboss", "box blur"])
def test_feature_map_is_zero_padded_cross_correlation(name):
    image = RNG.random((12, 10)).astype(np.float32)
    k = get_kernel(name)
    np.testing.assert_allclose(
        cw.kernel_feature_map(image, k), scipy_correlate2d(image, k, mode="same"), atol=1e-5
    )
    np.testing.assert_allclose(
        cw.kernel_feature_map(image, k, convolution=True),
        correlate(image, k[::-1, ::-1], mode="constant"),
        atol=1e-5,
    )


def test_kernel_explorer_state_names_symmetry_and_limits():
    state = cw.kernel_explorer_state("X", "sobel-x", compare=True, size=64)
    assert state["name"] == "sobel-x" and not state["same"]
    np.testing.assert_allclose(
        state["convolution"], -state["feature_map"], atol=1e-5
    )  # antisymmetric
    low, high = state["limits"]
    assert low == -high > 0 or low < 0 < high
    blur = cw.kernel_explorer_state("O", np.full((3, 3), 1 / 9), compare=True, size=64)
    assert (
        blur["name"] == "box blur" and blur["same"] and blur["limits"] == (0.0, pytest.approx(1.0))
    )
    custom = cw.kernel_explorer_state("photo", np.arange(9.0).reshape(3, 3), size=32)
    assert custom["name"] == "custom" and custom["image"].shape == (32, 32)
    with pytest.raises(ValueError, match="expected a 3×3 kernel, got shape"):
        cw.kernel_explorer_state("X", np.ones((2, 2)))
    with pytest.raises(ValueError, match="explorer_image: expected one of"):
        cw.explorer_image("cat")


def test_kernel_explorer_wiring_hooks_and_speed():
    explorer = cw.kernel_explorer(size=512)
    dropdown = explorer.controls["kernel"]
    assert (
        dropdown.description == "Kernel"
        and "educnn-kernel-explorer" in explorer.widget._dom_classes
    )
    assert "educnn-feature-map" in explorer.image._dom_classes
    times = []
    for name in ["identity", "sharpen", "gaussian blur", "sobel-y", "emboss"]:
        before = explorer.image.value
        dropdown.value = name
        times.append(explorer.last_update_ms)
        np.testing.assert_allclose(explorer.state["kernel"], get_kernel(name), atol=1e-4)
        assert explorer.image.value != before
    assert np.median(times) < 300  # < 100 ms on a laptop; generous for a shared CI core
    explorer.controls["w11"].value = 7.0  # editing a number makes the kernel "custom"
    assert dropdown.value == "custom" and explorer.state["kernel"][1, 1] == 7.0
    dropdown.value = "identity"  # and picking a name rewrites the numbers
    assert explorer.controls["w11"].value == 1.0 and explorer.controls["w00"].value == 0.0
    np.testing.assert_allclose(explorer.state["feature_map"], explorer.state["image"], atol=1e-6)


# -- padding / stride -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, k, p, s, size",
    [
        (5, 3, 0, 1, 3),
        (5, 3, 1, 1, 5),
        (5, 3, 2, 1, 7),
        (7, 3, 0, 2, 3),
        (6, 3, 0, 2, 2),
        (28, 5, 2, 1, 28),
    ],
)
def test_padding_stride_formula(n, k, p, s, size):
    state = cw.padding_stride_state(n, k, p, s)
    assert state.valid and state.size == size and len(state.starts) == size
    assert state.starts[-1] + k <= n + 2 * p
    assert state.left_over == n + 2 * p - (state.starts[-1] + k)
    assert state.formula.endswith(f"= {size}")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 9), st.integers(0, 5), st.integers(1, 5))
def test_padding_stride_counts_the_windows_that_fit(n, k, p, s):
    state = cw.padding_stride_state(n, k, p, s)
    windows = list(range(0, n + 2 * p - k + 1, s))  # every start whose window fits
    assert state.valid == bool(windows)
    if windows:
        assert state.size == len(windows) and state.starts == windows
        assert 0 <= state.left_over < s
    else:
        assert "does not fit" in state.message


def test_padding_stride_names_the_cases_and_explains_invalid_settings():
    assert "valid" in cw.padding_stride_state(5, 3, 0, 1).message
    assert "same" in cw.padding_stride_state(5, 3, 1, 1).message
    assert "full" in cw.padding_stride_state(5, 3, 2, 1).message
    assert "never visited" in cw.padding_stride_state(6, 3, 0, 2).message
    bad = cw.padding_stride_state(3, 7, 1, 1)
    assert not bad.valid and "does not fit" in bad.message and bad.formula.endswith("no output")
    explorer = cw.padding_stride_explorer()
    explorer.controls["k"].value = 7
    explorer.controls["n"].value = 2  # would crash a naive widget
    assert not explorer.state.valid and "does not fit" in explorer.caption.value
    explorer.controls["p"].value = 3
    assert explorer.state.size == 2  # 2 + 6 − 7 + 1


# -- multi-channel --------------------------------------------------------------------------
def test_multichannel_sums_the_channels_like_conv2d():
    from edu_cnn.conv import conv2d_forward_reference

    image = RNG.random((9, 8, 3))
    weight = RNG.normal(size=(3, 3, 3))
    state = cw.multichannel_state(image, weight, bias=0.5)
    x = image.transpose(2, 0, 1)
    for c in range(3):
        np.testing.assert_allclose(
            state["channel_maps"][c], scipy_correlate2d(x[c], weight[c], mode="valid")
        )
    expected = conv2d_forward_reference(x[None], weight[None], np.array([0.5]))[0, 0]
    np.testing.assert_allclose(state["output"], expected)
    with pytest.raises(ValueError, match="multichannel_state: expected an image"):
        cw.multichannel_state(image, np.ones((2, 3, 3)))
    explorer = cw.multichannel_explorer(image)
    explorer.controls["filter"].value = "red minus green"
    np.testing.assert_allclose(explorer.state["output"], (x[0] - x[1])[1:-1, 1:-1], atol=1e-12)


# -- pooling explorer -----------------------------------------------------------------------


def _loops(x, size, stride, reduce):
    oh, ow = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    return np.array(
        [
            [
                reduce(x[i * stride : i * stride + size, j * stride : j * stride + size])
                for j in range(ow)
            ]
            for i in range(oh)
        ]
    )


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 3), (3, 2), (2, 1)])
def test_pool_state_matches_loops_and_finds_the_winner(size, stride):
    x = RNG.normal(size=(7, 8))
    for mode, reduce in (("max", np.max), ("mean", np.mean)):
        state = pw.pool_state(x, mode, size, stride, position=3, shift=1)
        np.testing.assert_allclose(state.output, _loops(x, size, stride, reduce))
        np.testing.assert_allclose(
            state.shifted_output, _loops(pw.shift_right(x, 1), size, stride, reduce)
        )
        assert state.value == pytest.approx(reduce(state.window))
        np.testing.assert_array_equal(
            state.upsampled, np.kron(state.output, np.ones((stride, stride)))
        )
    state = pw.pool_state(x, "max", size, stride, position=3)
    assert x[state.winner] == state.value
    assert state.winner[0] // stride >= 0 and state.window.max() == x[state.winner]


def test_unpooling_puts_each_maximum_back_and_zeros_elsewhere():
    state = pw.pool_state(pw.DEFAULT_POOL_INPUT, "max", 2, 2)
    un = state.unpooled
    assert un.shape == (8, 8) and np.count_nonzero(un) <= 16
    np.testing.assert_allclose(
        _loops(un, 2, 2, np.max), state.output
    )  # pooling it again gives the same
    assert all(un[r, c] in (0, pw.DEFAULT_POOL_INPUT[r, c]) for r, c in np.ndindex(8, 8))
    assert pw.pool_state(pw.DEFAULT_POOL_INPUT, "mean").unpooled is None


def test_pooling_tolerates_small_shifts_of_a_sparse_map():
    state = pw.pool_state(pw.DEFAULT_POOL_INPUT, "max", 2, 2, shift=1)
    assert state.input_similarity == 0.0 and state.output_similarity > 0.5
    assert pw.cosine_similarity(np.ones(3), 2 * np.ones(3)) == pytest.approx(1.0)
    np.testing.assert_array_equal(pw.shift_right(np.arange(4.0)[None], 1), [[0, 0, 1, 2]])


def test_pool_state_bad_input_and_explorer_wiring():
    with pytest.raises(ValueError, match="pool_state: expected a 2-D feature map"):
        pw.pool_state(np.ones((1, 4, 4)))
    with pytest.raises(ValueError, match="pool_state: mode must be 'max' or 'mean'"):
        pw.pool_state(np.ones((4, 4)), "median")
    with pytest.raises(ValueError, match="pool_state.*does not fit"):
        pw.pool_state(np.ones((2, 2)), "max", 3, 1)
    explorer = pw.pooling_explorer()
    assert "educnn-pooling-explorer" in explorer.widget._dom_classes
    explorer.controls["position"].value = 5
    assert (explorer.state.row, explorer.state.col) == (1, 1) and explorer.state.value == 5.0
    explorer.controls["size"].value = 3  # ⌊(8 − 3)/2⌋ + 1 = 3: 9 windows
    assert explorer.controls["position"].max == 8 and explorer.state.output.shape == (3, 3)
    explorer.controls["mode"].value = "mean"
    assert explorer.state.unpooled is None and "mean(" in explorer.caption.value


# -- backprop stepper -----------------------------------------------------------------------


def _panel(step, label):
    return next(np.asarray(a) for name, a in step.panels if name == label)


@pytest.mark.parametrize("kind, label, seed", [("X", 0, 0), ("O", 1, 3), ("X", 1, 7)])
def test_backprop_trace_matches_the_formulas_written_out_with_numpy(kind, label, seed):
    image = xo_prototype(kind, 10).astype(np.float64)
    steps = bw.backprop_trace(image, label, seed)
    conv, _, _, _, fc = bw.tiny_cnn(seed, 10)
    W, b = conv.weight.data[:, 0], conv.bias.data
    # forward, independently
    z1 = np.stack([scipy_correlate2d(image, W[c], mode="valid") + b[c] for c in range(2)])
    a1 = np.maximum(z1, 0)
    a2 = np.stack([_loops(a1[c], 2, 2, np.max) for c in range(2)])
    z4 = fc.weight.data @ a2.ravel() + fc.bias.data
    y = np.exp(z4 - z4.max()) / np.exp(z4 - z4.max()).sum()
    np.testing.assert_allclose(_panel(steps[1], "z¹ channel 1"), z1[1])
    np.testing.assert_allclose(_panel(steps[3], "a² channel 0"), a2[0])
    np.testing.assert_allclose(_panel(steps[5], "y = softmax(z⁴)")[0], y)
    assert f"{-np.log(y[label]):.4f}" in steps[5].formula
    # backward, independently
    d4 = y - np.eye(2)[label]
    np.testing.assert_allclose(_panel(steps[6], "δ⁴ = y − t")[0], d4)
    np.testing.assert_allclose(_panel(steps[7], "dW⁴ (2×32)"), np.outer(d4, a2.ravel()))
    d3 = fc.weight.data.T @ d4
    np.testing.assert_allclose(_panel(steps[7], "δ³ (32 values)").ravel(), d3)
    d2 = d3.reshape(2, 4, 4)
    pool_back = get_exercise("maxpool_backward").reference
    d1a = np.stack([pool_back(a1[c] + 1e-9 * (a1[c] > 0), d2[c], 2, 2) for c in range(2)])
    d1z = d1a * (z1 > 0)
    np.testing.assert_allclose(_panel(steps[10], "δ¹ = ∂L/∂z¹ channel 0"), d1z[0], atol=1e-12)
    for c in range(2):
        np.testing.assert_allclose(
            _panel(steps[11], f"dW¹[{c}]"),
            scipy_correlate2d(image, d1z[c], mode="valid"),
            atol=1e-12,
        )
    d0 = sum(scipy_convolve2d(d1z[c], W[c], mode="full") for c in range(2))
    np.testing.assert_allclose(_panel(steps[11], "δ⁰ = ∂L/∂a⁰"), d0, atol=1e-12)


def test_every_layer_passes_its_gradient_check():
    steps = bw.backprop_trace(seed=0)
    checked = [s for s in steps if s.check is not None]
    assert [s.index for s in checked] == [6, 7, 9, 10, 11]
    for step in checked:
        assert step.check.max_rel_error < 1e-7 and step.check.verdict == "correct", step.layer
    assert [s.direction for s in steps] == ["forward"] * 6 + ["backward"] * 6
    assert "a⁰ ⋆ δ¹" in steps[11].formula and "y − t" in steps[6].formula


def test_backprop_bad_input_and_stepper_wiring():
    with pytest.raises(ValueError, match="backprop_trace: expected a square 2-D image"):
        bw.backprop_trace(np.ones((3, 5)))
    with pytest.raises(ValueError, match="label must be 0"):
        bw.backprop_trace(label=2)
    stepper = bw.backprop_stepper()
    assert "educnn-backprop-stepper" in stepper.widget._dom_classes
    stepper.back_button.click()  # already at the start: stays at 0
    assert stepper.state.index == 0
    for _ in range(20):
        stepper.forward_button.click()
    assert stepper.state.index == 11 and "gradient check" in stepper.caption.value
    stepper.controls["step"].value = 6
    assert stepper.state.direction == "backward" and "correct" in stepper.caption.value


# -- what the notebooks' course-check cells used to test (chapters 4–6) ------------------------
def test_ch04_conv_stepper_with_padding_and_stride():
    probe = cw.conv_stepper()
    probe.controls["padding"].value = 1
    probe.controls["stride"].value = 2
    assert probe.state.output.shape == (3, 3) and probe.controls["position"].max == 8
    probe.controls["position"].value = 4
    assert probe.state.value == probe.state.products.sum() == probe.state.output[1, 1]


def test_ch04_kernel_boxes_follow_the_menu_and_an_edit_makes_it_custom():
    from edu_cnn.kernels import KERNELS

    probe = cw.kernel_explorer()
    probe.controls["kernel"].value = "emboss"
    assert np.allclose(probe.state["kernel"], get_kernel("emboss"), atol=1e-4)
    assert probe.controls["w22"].value == 2.0  # the nine boxes follow the dropdown
    probe.controls["w11"].value = 9.0  # editing a box makes it "custom"
    assert probe.controls["kernel"].value == "custom"
    for name in KERNELS:
        probe.controls["kernel"].value = name
        assert np.allclose(probe.state["kernel"], get_kernel(name), atol=1e-4)
        assert probe.last_update_ms > 0


def test_ch04_padding_stride_explorer_counts_and_explains_a_window_too_big():
    probe = cw.padding_stride_explorer(n=7, k=3, p=1, s=2)
    probe.controls["n"].value, probe.controls["k"].value = 6, 3
    probe.controls["s"].value = 2
    probe.controls["p"].value = 0
    assert probe.state.size == 2 and probe.state.left_over == 1  # ⌊3/2⌋ + 1, one cell unused
    probe.controls["k"].value = 7  # too big: explained, no crash
    assert not probe.state.valid and "does not fit" in probe.caption.value


def test_ch04_multichannel_view_is_what_conv2d_computes():
    from edu_cnn.conv import Conv2d

    probe = cw.multichannel_explorer()
    probe.controls["filter"].value = "red minus green"
    probe.controls["bias"].value = 0.5
    state = probe.state
    assert state["channel_maps"].shape[0] == 3 and state["output"].ndim == 2
    layer = Conv2d(3, 1, 3)
    layer.weight.data[...] = state["weight"][None]
    layer.bias.data[...] = 0.5
    y = layer(state["image"][None].astype(np.float32))
    np.testing.assert_allclose(y[0, 0], state["output"], atol=1e-5)


def test_ch05_pooling_explorer_window_size_and_mean_mode():
    probe = pw.pooling_explorer()
    probe.controls["position"].value = 5
    assert probe.state.value == 5.0 and probe.state.winner == (3, 3)
    probe.controls["size"].value = 3  # ⌊(8 − 3)/2⌋ + 1 = 3
    assert probe.state.output.shape == (3, 3) and probe.controls["position"].max == 8
    probe.controls["mode"].value = "mean"
    assert probe.state.unpooled is None


def test_ch06_backprop_stepper_buttons_slider_and_gradient_checks():
    probe = bw.backprop_stepper()
    probe.forward_button.click()
    probe.forward_button.click()
    assert probe.state.index == 2 and probe.state.layer == "ReLU"
    probe.controls["step"].value = 11
    assert "a⁰ ⋆ δ¹" in probe.state.formula and probe.state.check.verdict == "correct"
    assert all(s.check.max_rel_error < 1e-7 for s in probe.steps if s.check is not None)
