"""lenet5(batch_norm=True): chapter 7's modernised LeNet-5."""

import numpy as np
import pytest

from edu_cnn import BatchNorm1d, BatchNorm2d, modelfile
from edu_cnn.init import manual_seed
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5
from edu_cnn.optim import Adam
from edu_cnn.training import fit


def test_batch_norm_after_each_hidden_layer_before_the_activation():
    model = lenet5(batch_norm=True)
    names = [type(layer).__name__ for layer in model]
    assert names == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
    ]
    assert [
        layer.num_features for layer in model if isinstance(layer, (BatchNorm1d, BatchNorm2d))
    ] == [6, 16, 120, 84]
    assert model.num_parameters() == lenet5().num_parameters() + 2 * (6 + 16 + 120 + 84) == 62_158
    assert [type(layer).__name__ for layer in lenet5()].count("BatchNorm2d") == 0


def test_trains_and_round_trips_through_a_model_file(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64)
    manual_seed(0)
    model = lenet5(batch_norm=True)
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=1e-3),
        x,
        y,
        epochs=3,
        batch_size=16,
        verbose=False,
    )
    assert history.loss[-1] < history.loss[0]
    path = modelfile.save(model, tmp_path / "bn.educnn")
    loaded = modelfile.load(path)
    model.eval()
    np.testing.assert_array_equal(
        loaded.forward(x[:5]), model.forward(x[:5])
    )  # running statistics kept
    one = model.forward(x[:1])
    np.testing.assert_allclose(
        one, model.forward(x[:5])[:1], rtol=1e-5, atol=1e-6
    )  # eval: no batch mixing


def test_exports_to_onnx_and_agrees_in_onnx_runtime(tmp_path):
    pytest.importorskip("onnxruntime")
    from edu_cnn.onnx_export import export_onnx, onnx_session, run_onnx

    manual_seed(1)
    model = lenet5(batch_norm=True)
    x = np.random.default_rng(2).normal(size=(8, 1, 28, 28)).astype(np.float32)
    model.train()
    model.forward(x)  # moves the running statistics
    model.eval()
    export_onnx(model, tmp_path / "bn.onnx")
    np.testing.assert_allclose(
        run_onnx(onnx_session(tmp_path / "bn.onnx"), x), model.forward(x), rtol=1e-4, atol=1e-5
    )
