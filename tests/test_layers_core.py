"""Linear, Flatten, activations, Dropout, Sequential and gradcheck itself."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn import (
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    gradcheck,
    manual_seed,
)
from edu_cnn.activations import (
    activation_backward_reference,
    activation_forward_reference,
    activation_layer,
    softmax_backward_reference,
    softmax_forward_reference,
)
from edu_cnn.layer import Layer
from edu_cnn.linear import (
    linear_backward,
    linear_backward_reference,
    linear_forward,
    linear_forward_reference,
)

THRESHOLD = 1e-6  # float64 central differences: a correct backward gives ~1e-9


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- gradient checks ------------------------------------------------------------------
@pytest.mark.parametrize("n, n_in, n_out", [(1, 1, 1), (3, 4, 5), (7, 2, 3)])
def test_linear_gradcheck(n, n_in, n_out):
    result = gradcheck(Linear(n_in, n_out), rng().normal(size=(n, n_in)))
    assert result.passed(THRESHOLD), str(result)


def test_linear_without_bias_gradcheck():
    layer = Linear(4, 3, bias=False)
    assert layer.bias is None and len(layer.parameters()) == 1
    assert gradcheck(layer, rng().normal(size=(2, 4))).passed(THRESHOLD)


@pytest.mark.parametrize(
    "layer",
    [ReLU(), LeakyReLU(0.2), Sigmoid(), Tanh(), Softmax(dim=1)],
    ids=lambda layer: type(layer).__name__,
)
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 4)])
def test_activation_gradcheck(layer, shape):
    # Keep inputs away from the kink of (leaky) ReLU at 0, where the derivative jumps.
    x = rng(1).normal(size=shape)
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    result = gradcheck(layer, x)
    assert result.passed(THRESHOLD), str(result)


def test_sequential_gradcheck_through_every_layer():
    manual_seed(3)
    model = Sequential(Linear(4, 6), Tanh(), Linear(6, 5), Sigmoid(), Linear(5, 3), Softmax())
    result = gradcheck(model, rng(2).normal(size=(4, 4)))
    # Each layer passes 1e-6 on its own (tests above); through five layers the gradient
    # of the input becomes small and rounding in L shows, so the chain gets 1e-5
    # (CS231n: "the deeper the network, the higher the relative errors will be").
    assert result.passed(1e-5), str(result)
    assert set(result.errors) == {
        "input",
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "4.weight",
        "4.bias",
    }


class _FixedMaskDropout(Dropout):
    """Dropout whose random mask is the same in every forward (needed by a numerical check)."""

    def forward(self, x):
        self._rng = np.random.default_rng(7)
        return super().forward(x)


def test_dropout_gradcheck_and_scaling():
    layer = _FixedMaskDropout(0.4)
    assert gradcheck(layer, rng().normal(size=(3, 10))).passed(THRESHOLD)
    y = Dropout(0.25, rng=rng(5))(np.ones((400, 100), np.float32))
    kept = y[y != 0]
    assert np.allclose(kept, 1 / 0.75)  # inverted dropout scale
    assert abs((y == 0).mean() - 0.25) < 0.01  # drops about p of them
    assert abs(y.mean() - 1.0) < 0.02  # expectation unchanged


def test_dropout_eval_is_identity():
    layer = Dropout(0.5).eval()
    x = rng().normal(size=(4, 4))
    assert np.array_equal(layer(x), x)
    assert np.array_equal(layer.backward(x), x)


def test_gradcheck_catches_a_wrong_backward():
    class WrongTanh(Tanh):
        def _backward(self, grad_y, y):
            return grad_y * (1 - y)  # forgot the square

    result = gradcheck(WrongTanh(), rng().normal(size=(3, 4)))
    assert not result.passed(THRESHOLD)
    assert result.max_rel_error > 1e-2 and result.verdict == "wrong"
    assert result.where.startswith("input[")


def test_gradcheck_names_the_wrong_parameter():
    class WrongBias(Linear):
        def backward(self, grad_y):
            dx = super().backward(grad_y)
            self.bias.grad = self.bias.grad * 2
            return dx

    result = gradcheck(WrongBias(3, 2), rng().normal(size=(4, 3)))
    assert result.where.startswith("bias[") and result.errors["weight"] < THRESHOLD


# -- fast vs reference ----------------------------------------------------------------
def test_linear_fast_equals_reference():
    x, w, b = rng().normal(size=(5, 7)), rng(1).normal(size=(3, 7)), rng(2).normal(size=3)
    assert np.allclose(linear_forward(x, w, b), linear_forward_reference(x, w, b), atol=1e-10)
    g = rng(3).normal(size=(5, 3))
    for fast, ref in zip(linear_backward(g, x, w), linear_backward_reference(g, x, w), strict=True):
        assert np.allclose(fast, ref, atol=1e-10)


@pytest.mark.parametrize(
    "name, layer",
    [("ReLU", ReLU()), ("LeakyReLU", LeakyReLU(0.01)), ("Sigmoid", Sigmoid()), ("Tanh", Tanh())],
)
def test_activation_fast_equals_reference(name, layer):
    z = rng().normal(size=(3, 4, 5)) * 5
    assert np.allclose(layer(z), activation_forward_reference(name, z, 0.01), atol=1e-12)
    g = rng(1).normal(size=z.shape)
    assert np.allclose(
        layer.backward(g), activation_backward_reference(name, g, z, 0.01), atol=1e-12
    )


def test_softmax_fast_equals_reference_and_is_stable():
    z = rng().normal(size=(4, 6)) * 300  # would overflow exp without the max shift
    layer = Softmax()
    s = layer(z)
    assert np.all(np.isfinite(s)) and np.allclose(s.sum(axis=1), 1)
    assert np.allclose(s, softmax_forward_reference(z))
    g = rng(1).normal(size=z.shape)
    assert np.allclose(layer.backward(g), softmax_backward_reference(g, s))


def test_float32_stays_float32():
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2), Softmax())
    y = model(np.ones((2, 3), np.float32))
    assert y.dtype == np.float32
    assert model.backward(np.ones_like(y), input_grad=True).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


# -- Sequential ----------------------------------------------------------------------
def test_summary_counts_parameters_and_shapes():
    model = Sequential(Flatten(), Linear(12, 5), ReLU(), Linear(5, 2), input_shape=(3, 2, 2))
    text = model.summary(show=False)
    assert "Total parameters: 77" in text
    assert "(N, 12)" in text and "(N, 2)" in text
    assert model.layer_shapes() == [(12,), (5,), (5,), (2,)]


def test_state_dict_round_trip_uses_pytorch_names():
    manual_seed(0)
    a = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    b = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    assert list(a.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    b.load_state_dict(a.state_dict())
    x = rng().normal(size=(5, 3)).astype(np.float32)
    assert np.array_equal(a(x), b(x))


def test_train_eval_propagates():
    model = Sequential(Linear(2, 2), Dropout(0.5))
    model.eval()
    assert not model[1].training
    model.train()
    assert model[1].training


def test_manual_seed_makes_weights_reproducible():
    manual_seed(42)
    w1 = Linear(5, 5).weight.data.copy()
    manual_seed(42)
    assert np.array_equal(Linear(5, 5).weight.data, w1)


# -- bad input: one test per class of mistake, asserting the message -------------------
def test_linear_wrong_number_of_features():
    with pytest.raises(ValueError, match=r"Linear\(4→2\): expected input \(N, 4\), got \(3, 5\)"):
        Linear(4, 2)(np.ones((3, 5)))


def test_linear_image_input_suggests_flatten():
    with pytest.raises(
        ValueError, match=r"Linear\(4→2\).*\(N, 4\) with 2 axes, got shape \(3, 1, 2, 2\)"
    ):
        Linear(4, 2)(np.ones((3, 1, 2, 2)))


@pytest.mark.parametrize(
    "layer",
    [Linear(2, 2), ReLU(), Sigmoid(), Tanh(), Softmax(), Flatten(), Dropout(0.5)],
    ids=lambda layer: type(layer).__name__,
)
def test_backward_before_forward(layer):
    with pytest.raises(ValueError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.ones((1, 2)))


def test_backward_with_wrong_gradient_shape():
    layer = Linear(3, 2)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected a gradient of shape \(4, 2\).*got \(4, 3\)"):
        layer.backward(np.ones((4, 3)))


def test_sequential_names_the_failing_layer():
    model = Sequential(Linear(3, 4), ReLU(), Linear(5, 2))
    with pytest.raises(
        ValueError,
        match=r"Sequential layer 2 \(Linear\): Linear\(5→2\): "
        r"expected input \(N, 5\), got \(1, 4\)",
    ):
        model(np.ones((1, 3)))


def test_sequential_rejects_non_layers():
    with pytest.raises(ValueError, match="argument 1 must be a Layer"):
        Sequential(Linear(2, 2), np.tanh)


def test_non_numeric_input():
    with pytest.raises(ValueError, match="ReLU: expected an array of real numbers, got dtype <U1"):
        ReLU()(np.array(["a", "b"]))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="Linear: in_features must be a positive integer, got 0"):
        Linear(0, 3)
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\), got 1.0"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation_layer("swish")


def test_layer_base_finds_parameters_in_order():
    assert [p.name for p in Linear(2, 3).parameters()] == ["weight", "bias"]
    assert Layer().parameters() == []


def test_sequential_backward_skips_the_input_gradient_unless_asked():
    """The default: the same parameter gradients as input_grad=True, no ∂L/∂x."""
    from edu_cnn.conv import Conv2d

    def build():
        manual_seed(3)
        return Sequential(Sequential(Conv2d(1, 2, 3), ReLU()), Flatten(), Linear(2 * 3 * 3, 2))

    x = np.random.default_rng(0).normal(size=(4, 1, 5, 5))
    g = np.random.default_rng(1).normal(size=(4, 2))
    full, fast = build(), build()
    full(x)
    fast(x)
    dx = full.backward(g, input_grad=True)
    assert dx.shape == x.shape
    assert fast.backward(g) is None
    for (name, p), q in zip(full.named_parameters().items(), fast.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=name)
    assert fast[0][0].needs_input_grad  # the setting is put back


# -- hostile input (issue 17, defect 11) ---------------------------------------------------------
def test_softmax_dim_must_be_an_integer():
    from edu_cnn.activations import Softmax

    for dim in (None, 1.7, True, "1"):
        with pytest.raises(ValueError, match="Softmax: dim must be an integer axis"):
            Softmax(dim)


@pytest.mark.parametrize("dtype", [complex, object])
def test_complex_and_object_gradients_are_refused(dtype):
    from edu_cnn.activations import ReLU
    from edu_cnn.linear import Linear

    for layer, shape in ((ReLU(), (2, 3)), (Linear(3, 2), (2, 2))):
        layer(np.ones((2, 3), np.float32))
        with pytest.raises(ValueError, match=r"backward\(\): expected an array of real numbers"):
            layer.backward(np.ones(shape, dtype))


def test_ragged_lists_and_empty_batches_name_the_layer():
    from edu_cnn.linear import Flatten, Linear

    with pytest.raises(ValueError, match=r"Linear.*ragged nested list"):
        Linear(3, 2)([[1, 2, 3], [1, 2]])
    assert Flatten()(np.zeros((0, 1, 2, 2), np.float32)).shape == (0, 4)
