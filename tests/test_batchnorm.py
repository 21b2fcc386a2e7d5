"""BatchNorm1d / BatchNorm2d: reference = fast, gradient checks, train/eval, files, ONNX, torch."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn import modelfile
from edu_cnn.batchnorm import (
    BatchNorm1d,
    BatchNorm2d,
    batch_norm_backward,
    batch_norm_backward_reference,
    batch_norm_forward,
    batch_norm_forward_reference,
)
from edu_cnn.conv import Conv2d
from edu_cnn.gradcheck import gradcheck
from edu_cnn.linear import Flatten, Linear
from edu_cnn.sequential import Sequential

SHAPES = [(6, 3), (4, 3, 5), (3, 2, 4, 5)]


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=shape)
    c = shape[1]
    return x, rng.normal(size=c), rng.normal(size=c), rng.normal(size=shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_fast_equals_reference(shape, affine):
    x, gamma, beta, g = _data(shape)
    if not affine:
        gamma = beta = None
    y_ref, mean_ref, var_ref = batch_norm_forward_reference(x, gamma, beta)
    y, x_hat, mean, var = batch_norm_forward(x, gamma, beta)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-12)
    np.testing.assert_allclose(var, var_ref, rtol=1e-12)
    for fast, ref in zip(
        batch_norm_backward(g, x_hat, var, gamma),
        batch_norm_backward_reference(g, x, gamma),
        strict=True,
    ):
        np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-10)


def test_normalises_each_channel_over_batch_and_pixels():
    x, _, _, _ = _data((8, 3, 4, 4), seed=1)
    y = BatchNorm2d(3)(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)  # var/(var + ε)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (BatchNorm1d(3), (5, 3)),
        (BatchNorm1d(3), (4, 3, 3)),
        (BatchNorm2d(2), (3, 2, 3, 4)),
        (BatchNorm2d(2, affine=False), (3, 2, 3, 3)),
    ],
)
def test_gradcheck_in_training_mode(layer, shape):
    rng = np.random.default_rng(2)
    if layer.weight is not None:  # not the trivial γ = 1, β = 0
        layer.weight.data = rng.normal(size=layer.weight.shape).astype(np.float32)
        layer.bias.data = rng.normal(size=layer.bias.shape).astype(np.float32)
    result = gradcheck(layer, rng.normal(size=shape))
    assert result.max_rel_error < 1e-6, str(result)


def test_gradcheck_in_eval_mode():
    layer = BatchNorm2d(2)
    layer.running_mean = np.array([0.5, -1.0], np.float32)
    layer.running_var = np.array([2.0, 0.25], np.float32)
    layer.eval()
    result = gradcheck(layer, np.random.default_rng(3).normal(size=(2, 2, 3, 3)))
    assert result.max_rel_error < 1e-6, str(result)


def test_a_wrong_backward_fails_the_gradcheck():
    """Dropping the terms through μ and σ² (treating the statistics as constants) is caught."""

    class Broken(BatchNorm1d):
        def backward(self, grad_y):
            super().backward(grad_y)
            _, _, _, var = self._cache
            return grad_y * self.weight.data / np.sqrt(var + self.eps)

    assert gradcheck(Broken(3), np.random.default_rng(4).normal(size=(5, 3))).max_rel_error > 0.1


def test_running_statistics_follow_pytorchs_rule():
    x, _, _, _ = _data((4, 2, 3, 3), seed=5)
    layer = BatchNorm2d(2, momentum=0.25)
    layer(x)
    m = 4 * 3 * 3
    mean = x.mean(axis=(0, 2, 3))
    unbiased = x.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(layer.running_mean, 0.75 * 0 + 0.25 * mean, rtol=1e-6)
    np.testing.assert_allclose(layer.running_var, 0.75 * 1 + 0.25 * unbiased, rtol=1e-6)
    assert layer.running_mean.dtype == np.float32


def test_eval_mode_uses_running_statistics_and_changes_nothing():
    layer = BatchNorm1d(2)
    layer.running_mean = np.array([1.0, -2.0], np.float32)
    layer.running_var = np.array([4.0, 9.0], np.float32)
    layer.weight.data[:] = [2.0, 1.0]
    layer.bias.data[:] = [0.5, 0.0]
    layer.eval()
    x = np.array([[3.0, 1.0]])  # one sample is fine in eval mode
    expected = [2.0 * (3 - 1) / np.sqrt(4 + 1e-5) + 0.5, (1 + 2) / np.sqrt(9 + 1e-5)]
    np.testing.assert_allclose(layer(x)[0], expected, rtol=1e-6)
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0])


def test_names_arguments_and_repr_are_pytorchs():
    layer = BatchNorm2d(16)
    assert list(layer.named_parameters()) == ["weight", "bias"]
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    assert (layer.eps, layer.momentum) == (1e-5, 0.1)
    assert repr(layer) == "BatchNorm2d(16)"
    assert (
        repr(BatchNorm1d(4, momentum=0.2, affine=False))
        == "BatchNorm1d(4, momentum=0.2, affine=False)"
    )
    assert layer.num_parameters() == 32
    assert BatchNorm1d(3, track_running_stats=False).state_dict().keys() == {"weight", "bias"}


def test_bad_input_is_refused_clearly():
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d\(3\): expected input \(N, C, H, W\) with "
        r"C = 3, got shape \(2, 4, 5, 5\)",
    ):
        BatchNorm2d(3)(np.zeros((2, 4, 5, 5)))
    with pytest.raises(
        ValueError, match=r"BatchNorm1d\(3\): expected input \(N, C\) or \(N, C, L\)"
    ):
        BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"training mode needs more than 1 value per channel"):
        BatchNorm1d(3)(np.zeros((1, 3)))
    with pytest.raises(
        ValueError, match=r"BatchNorm1d: num_features must be a positive integer, got 0"
    ):
        BatchNorm1d(0)
    with pytest.raises(ValueError, match=r"momentum=None .* not supported"):
        BatchNorm1d(2, momentum=None)
    with pytest.raises(ValueError, match=r"backward\(\) called before forward\(\)"):
        BatchNorm1d(2).backward(np.zeros((2, 2)))


def test_model_file_keeps_running_statistics(tmp_path):
    model = Sequential(
        Conv2d(1, 2, 3),
        BatchNorm2d(2),
        Flatten(),
        Linear(8, 3),
        BatchNorm1d(3),
        input_shape=(1, 4, 4),
    )
    rng = np.random.default_rng(6)
    for _ in range(3):
        model(rng.normal(size=(5, 1, 4, 4)))
    model.eval()
    path = modelfile.save(model, tmp_path / "bn.educnn")
    loaded = modelfile.load(path)
    assert set(loaded.state_dict()) >= {"1.running_mean", "1.running_var", "4.running_var"}
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)
    x = rng.normal(size=(2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), model(x))


def test_onnx_export_matches_onnxruntime_in_eval_mode(tmp_path):
    pytest.importorskip("onnxruntime")
    from edu_cnn.onnx_export import export_onnx, onnx_session, run_onnx

    model = Sequential(
        Conv2d(2, 3, 3),
        BatchNorm2d(3),
        Flatten(),
        Linear(12, 4),
        BatchNorm1d(4),
        input_shape=(2, 4, 4),
    )
    rng = np.random.default_rng(7)
    for _ in range(3):
        model(rng.normal(1.0, 2.0, size=(6, 2, 4, 4)))
    model.eval()
    proto = export_onnx(model, tmp_path / "bn.onnx")
    assert [n.op_type for n in proto.graph.node] == [
        "Conv",
        "BatchNormalization",
        "Flatten",
        "Gemm",
        "BatchNormalization",
    ]
    x = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(
        run_onnx(onnx_session(tmp_path / "bn.onnx"), x), model(x), rtol=1e-5, atol=1e-5
    )
    with pytest.raises(ValueError, match=r"track_running_stats=False"):
        export_onnx(
            Sequential(BatchNorm1d(2, track_running_stats=False), input_shape=(2,)),
            tmp_path / "no.onnx",
        )


def test_same_numbers_as_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here; CI installs it")
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 3, 5, 5))
    ours = BatchNorm2d(3, momentum=0.3).astype(np.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(rng.normal(size=3)))
        theirs.bias.copy_(torch.from_numpy(rng.normal(size=3)))
    ours.weight.data = theirs.weight.detach().numpy().copy()
    ours.bias.data = theirs.bias.detach().numpy().copy()
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = theirs(tx)
    g = rng.normal(size=ty.shape)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours(x), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), atol=1e-12)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
