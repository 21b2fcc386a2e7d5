"""``Sequential.backward``: the input gradient only when asked, nested models, the fused
ReLU → max-pool pass (issue 20).

The reference every test compares with is the plain chain rule: each layer's own
``backward`` called from the last layer to the first, with every ∂L/∂x computed.
"""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.activations import ReLU, Tanh
from edu_cnn.conv import Conv2d
from edu_cnn.gradcheck import gradcheck
from edu_cnn.layer import Layer
from edu_cnn.linear import Flatten, Linear
from edu_cnn.pooling import MaxPool2d
from edu_cnn.sequential import Sequential


def leaves(layer: Layer) -> list[Layer]:
    """The single layers of a model, nested ``Sequential``s opened, in forward order."""
    if isinstance(layer, Sequential):
        return [leaf for inner in layer for leaf in leaves(inner)]
    return [layer]


def chain_rule(model: Sequential, grad: np.ndarray) -> np.ndarray:
    """The reference: every single layer's backward, last to first; returns ∂L/∂x."""
    for layer in reversed(leaves(model)):
        grad = layer.backward(grad)
    return grad


def grads(model: Layer) -> dict[str, np.ndarray]:
    return {name: p.grad.copy() for name, p in model.named_parameters().items()}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit, the sign of every zero included."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def nested_model(rng: np.random.Generator) -> Sequential:
    """A LeNet-like model whose second block is a ``Sequential`` inside the outer one: the
    outer model needs the inner one's ∂L/∂(its input) to reach the first convolution."""
    return Sequential(
        Conv2d(1, 3, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Sequential(Conv2d(3, 4, 3, rng=rng), ReLU(), MaxPool2d(2)),
        Flatten(),
        Linear(4 * 2 * 2, 5, rng=rng),
    )


def data(dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 1, 12, 12)).astype(dtype)
    x[:, :, :3] = 0.0  # flat rows: ties in max pooling, zeros through ReLU
    return x, rng.standard_normal((3, 5)).astype(dtype)


@pytest.mark.parametrize("input_grad", [False, True])
def test_a_nested_sequential_gives_its_input_gradient_to_the_outer_one(input_grad: bool) -> None:
    x, g = data()
    model, reference = (
        nested_model(np.random.default_rng(0)),
        nested_model(np.random.default_rng(0)),
    )
    model(x)
    reference(x)
    dx_reference = chain_rule(reference, g)
    dx = model.backward(g, input_grad=input_grad)
    want = grads(reference)
    got = grads(model)
    assert list(got) == list(want)
    for name in want:
        assert same_bits(got[name], want[name]), name
    if input_grad:
        assert same_bits(dx, dx_reference)
    else:
        assert dx is None


def test_the_inner_sequential_alone_skips_its_input_gradient_by_default() -> None:
    rng = np.random.default_rng(1)
    inner = Sequential(Conv2d(3, 4, 3, rng=rng), ReLU(), MaxPool2d(2))
    y = inner(rng.standard_normal((2, 3, 6, 6)))
    assert inner.backward(np.ones_like(y)) is None
    assert inner.backward(np.ones_like(y), input_grad=True).shape == (2, 3, 6, 6)


def test_gradcheck_asks_a_sequential_for_its_input_gradient() -> None:
    x = np.random.default_rng(9).standard_normal((2, 1, 12, 12))  # no ties: differentiable
    result = gradcheck(nested_model(np.random.default_rng(2)), x, max_entries=40)
    assert "input" in result.errors
    assert result.max_rel_error < 1e-5, str(result)


def test_layers_before_the_first_parameter_are_not_run_by_default() -> None:
    calls = []

    class CountingFlatten(Flatten, register=False):
        def backward(self, grad_y: np.ndarray) -> np.ndarray:
            calls.append(1)
            return super().backward(grad_y)

    model = Sequential(CountingFlatten(), Linear(12, 2))
    y = model(np.ones((4, 3, 2, 2), np.float32))
    assert model.backward(np.ones_like(y)) is None
    assert calls == []
    model.backward(np.ones_like(y), input_grad=True)
    assert calls == [1]


@pytest.mark.parametrize("flatten", [False, True])
def test_an_mlp_skips_its_first_linear_input_gradient(flatten: bool) -> None:
    """The first Linear's δW is not computed by default; every gradient keeps its bits."""
    rng = np.random.default_rng(11)
    layers = [Flatten()] if flatten else []
    model = Sequential(*layers, Linear(12, 8, rng=rng), ReLU(), Linear(8, 3, rng=rng))
    x = rng.standard_normal((5, 3, 2, 2) if flatten else (5, 12)).astype(np.float32)
    g = rng.standard_normal((5, 3)).astype(np.float32)
    model(x)
    first = model[1 if flatten else 0]
    calls = []
    original = first.backward

    def spy(grad_y: np.ndarray) -> np.ndarray | None:
        calls.append(first.needs_input_grad)
        return original(grad_y)

    first.backward = spy
    assert model.backward(g) is None
    skipped = grads(model)
    dx = model.backward(g, input_grad=True)
    assert calls == [False, True] and first.needs_input_grad  # the flag is put back
    assert dx.shape == x.shape
    for name, value in grads(model).items():
        assert same_bits(skipped[name], value), name


def test_linear_without_input_gradient() -> None:
    rng = np.random.default_rng(12)
    a, b = Linear(4, 3, rng=np.random.default_rng(0)), Linear(4, 3, rng=np.random.default_rng(0))
    b.needs_input_grad = False
    x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    a(x)
    b(x)
    assert a.backward(g).shape == (6, 4) and b.backward(g) is None
    assert same_bits(a.weight.grad, b.weight.grad) and same_bits(a.bias.grad, b.bias.grad)


def test_a_model_without_parameters() -> None:
    model = Sequential(ReLU(), MaxPool2d(2))
    x = np.random.default_rng(3).standard_normal((2, 1, 4, 4))
    y = model(x)
    assert model.backward(np.ones_like(y)) is None
    dx = model.backward(np.ones_like(y), input_grad=True)
    assert same_bits(dx, chain_rule(model, np.ones_like(y)))


# -- ReLU → max pooling, one backward pass ------------------------------------------------
CASES = [
    # (kernel, stride, padding, input H×W): disjoint windows, tiled or not, with padding
    (2, 2, 0, (8, 8)),
    (2, 2, 0, (9, 7)),
    (3, 3, 1, (8, 8)),
    ((2, 3), (2, 3), 0, (6, 9)),
    (2, 3, 0, (8, 8)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("k", "s", "p", "hw"), CASES)
@pytest.mark.parametrize("batch_last", [False, True])
def test_fused_relu_max_pool_backward_is_bitwise_the_two_passes(
    dtype: type, k, s, p, hw, batch_last: bool
) -> None:
    rng = np.random.default_rng(5)
    z = rng.standard_normal((3, 2, *hw)).astype(dtype)
    z[:, :, :2] = 0.0  # windows of zeros: ties, and y = 0
    z[:, :, -1] = -1.0  # negative rows: ReLU makes them 0
    if batch_last:  # the layout Conv2d hands over
        z = np.ascontiguousarray(z.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    relu, pool = ReLU(), MaxPool2d(k, s, p)
    y = pool(relu(z))
    delta = rng.standard_normal(y.shape).astype(dtype)  # C-ordered, as from Flatten
    delta[0] = -delta[0]
    assert pool.can_fuse_relu_backward(relu)
    fused = pool.backward_through_relu(delta, relu)
    separate = relu.backward(pool.backward(delta))
    assert same_bits(fused, separate)
    assert np.signbit(fused[fused == 0]).any()  # signed zeros were compared too


def test_sequential_fuses_only_disjoint_windows_after_the_relu_that_fed_them() -> None:
    relu, pool = ReLU(), MaxPool2d(3, 2)  # overlapping windows: not fused
    x = np.random.default_rng(6).standard_normal((2, 1, 7, 7))
    pool(relu(x))
    assert not pool.can_fuse_relu_backward(relu)
    relu, pool = ReLU(), MaxPool2d(2)
    pool(relu(x[:, :, :6, :6]))
    assert pool.can_fuse_relu_backward(relu)
    assert not pool.can_fuse_relu_backward(ReLU())  # not the array this pool saw
    tanh = Tanh()
    pool(tanh(x[:, :, :6, :6]))
    assert not pool.can_fuse_relu_backward(tanh)  # the array it saw, but not a ReLU's
    with pytest.raises(ValueError, match=r"MaxPool2d\(k=2, s=2\)\.backward_through_relu"):
        pool.backward_through_relu(np.ones((2, 1, 3, 3)), ReLU())


@pytest.mark.parametrize("kernel_stride", [(2, 2), (3, 2)])
def test_sequential_with_and_without_the_fused_pass_agrees_with_the_chain_rule(
    kernel_stride: tuple[int, int],
) -> None:
    k, s = kernel_stride
    rng = np.random.default_rng(8)
    model = Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(k, s), Flatten())
    x = rng.standard_normal((2, 1, 9, 9)).astype(np.float32)
    y = model(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = model.backward(g, input_grad=True)
    want_w = model[0].weight.grad.copy()
    model(x)
    assert same_bits(dx, chain_rule(model, g))
    assert same_bits(model[0].weight.grad, want_w)


def test_an_error_in_the_fused_pass_names_the_layer() -> None:
    model = Sequential(Conv2d(1, 2, 3, padding=1), ReLU(), MaxPool2d(2))
    model(np.ones((2, 1, 6, 6), np.float32))
    with pytest.raises(ValueError, match=r"Sequential layer 2 \(MaxPool2d\): .*expected"):
        model.backward(np.ones((2, 2, 4, 4), np.float32))
