"""One registry of layer classes: every public layer saves, loads, and exports (or says why not).

A new layer class registers itself (``Layer.__init_subclass__``); this test then fails until
it has an example below, so a layer cannot be added without checking it round-trips
through a model file and either exports to ONNX or refuses with a clear message.
"""

from __future__ import annotations

import numpy as np
import pytest

import edu_cnn
from edu_cnn import modelfile, nn
from edu_cnn.layer import Layer, registered_layers

# class name -> (a layer built with non-default arguments, one sample's input shape)
EXAMPLES = {
    "Linear": (lambda: nn.Linear(6, 4), (6,)),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 3)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, (3, 2), stride=2, padding=1), (2, 7, 6)),
    "ConvTranspose2d": (
        lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
        (2, 4, 4),
    ),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (2, 6, 6)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 7, 6)),
    "MaxUnpool2d": (lambda: nn.MaxUnpool2d(2), (2, 3, 3)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), (2, 3, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(5, momentum=0.2), (5,)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2, eps=1e-3), (2, 4, 4)),
    "ReLU": (lambda: nn.ReLU(), (5,)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (5,)),
    "Sigmoid": (lambda: nn.Sigmoid(), (5,)),
    "Tanh": (lambda: nn.Tanh(), (5,)),
    "Softmax": (lambda: nn.Softmax(dim=1), (5,)),
    "Dropout": (lambda: nn.Dropout(0.3), (5,)),
    "Sequential": (lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU()), (3,)),
}
# what a layer that cannot be exported must say
NOT_EXPORTABLE = {"MaxUnpool2d": r"MaxUnpool2d cannot be exported: it needs the arg-max indices"}


def test_every_public_layer_is_registered_and_has_an_example():
    public = {
        name
        for name in dir(nn)
        if isinstance(getattr(nn, name), type)
        and issubclass(getattr(nn, name), Layer)
        and getattr(nn, name) is not Layer
    }
    assert set(registered_layers()) == public
    assert set(EXAMPLES) == public, "add an example for each new layer here"
    for name in public:  # the top level and edu_cnn.nn give the same classes
        assert getattr(edu_cnn, name) is getattr(nn, name)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_layer_loads_from_a_model_file(name, tmp_path):
    build, shape = EXAMPLES[name]
    layer = build()
    loaded = modelfile.load(modelfile.save(layer, tmp_path / "m.educnn"))
    assert type(loaded) is type(layer)
    assert repr(loaded) == repr(layer)
    state = layer.state_dict()
    assert loaded.state_dict().keys() == state.keys()
    for key, value in state.items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_layer_exports_or_says_it_cannot(name, tmp_path):
    pytest.importorskip("onnxruntime")
    from edu_cnn.onnx_export import export_onnx, onnx_session, run_onnx

    build, shape = EXAMPLES[name]
    model = nn.Sequential(build(), input_shape=shape).eval()
    if name in NOT_EXPORTABLE:
        with pytest.raises(ValueError, match=NOT_EXPORTABLE[name]):
            export_onnx(model, tmp_path / "m.onnx")
        return
    export_onnx(model, tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32)
    np.testing.assert_allclose(
        run_onnx(onnx_session(tmp_path / "m.onnx"), x), model(x), rtol=1e-5, atol=1e-5
    )


def test_a_subclass_exports_as_its_base_class(tmp_path):
    pytest.importorskip("onnx")
    from edu_cnn.onnx_export import to_onnx

    class MyConv(nn.Conv2d):
        """A student's subclass (not registered for model files, but exportable)."""

    proto = to_onnx(nn.Sequential(MyConv(1, 2, 3)), input_shape=(1, 5, 5))
    assert [n.op_type for n in proto.graph.node] == ["Conv"]
    assert "MyConv" not in registered_layers()


def test_a_class_outside_edu_cnn_needs_register_layer(tmp_path):
    class Doubling(Layer):
        def forward(self, x):
            return 2 * x

    with pytest.raises(modelfile.ModelFileError, match=r"Doubling, which model files cannot name"):
        modelfile.save(nn.Sequential(Doubling()), tmp_path / "m.educnn")
