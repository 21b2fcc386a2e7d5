"""ONNX export: every layer type checked against ONNX Runtime (an independent oracle)."""

from __future__ import annotations

import json
import re

import numpy as np
import onnx
import pytest

from edu_cnn import init, modelfile
from edu_cnn.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from edu_cnn.conv import Conv2d, ConvTranspose2d
from edu_cnn.dropout import Dropout
from edu_cnn.exercises import check
from edu_cnn.exercises.checker import get_exercise
from edu_cnn.layer import Layer
from edu_cnn.linear import Flatten, Linear
from edu_cnn.models import lenet5
from edu_cnn.onnx_export import (
    draw_graph,
    export_onnx,
    format_graph_table,
    graph_table,
    onnx_session,
    run_onnx,
    to_onnx,
)
from edu_cnn.pooling import AvgPool2d, MaxPool2d, MaxUnpool2d, Upsample
from edu_cnn.sequential import Sequential

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

# (id, layers, one sample's shape, the ONNX operators expected in the graph)
CASES = [
    ("linear", lambda: [Linear(6, 4)], (6,), ["Gemm"]),
    ("linear-no-bias", lambda: [Linear(6, 4, bias=False)], (6,), ["Gemm"]),
    ("flatten", lambda: [Flatten(), Linear(2 * 3 * 3, 5)], (2, 3, 3), ["Flatten", "Gemm"]),
    ("conv", lambda: [Conv2d(2, 3, 3)], (2, 7, 6), ["Conv"]),
    (
        "conv-stride-pad-rect",
        lambda: [Conv2d(2, 3, (3, 5), stride=2, padding=(1, 2))],
        (2, 9, 8),
        ["Conv"],
    ),
    ("conv-valid", lambda: [Conv2d(2, 3, 3, padding="valid")], (2, 6, 5), ["Conv"]),
    (
        "conv-same-no-bias",
        lambda: [Conv2d(1, 4, 5, padding="same", bias=False)],
        (1, 8, 8),
        ["Conv"],
    ),
    (
        "conv-transpose",
        lambda: [ConvTranspose2d(3, 2, 3, stride=2, padding=1)],
        (3, 4, 5),
        ["ConvTranspose"],
    ),
    (
        "conv-transpose-output-padding",
        lambda: [ConvTranspose2d(3, 2, 3, stride=(2, 3), padding=1, output_padding=(1, 2))],
        (3, 4, 5),
        ["ConvTranspose"],
    ),
    (
        "conv-transpose-k2s2",
        lambda: [ConvTranspose2d(2, 2, 2, stride=2)],
        (2, 3, 3),
        ["ConvTranspose"],
    ),
    ("maxpool", lambda: [MaxPool2d(2)], (2, 6, 7), ["MaxPool"]),
    ("maxpool-pad", lambda: [MaxPool2d(3, stride=2, padding=1)], (2, 7, 6), ["MaxPool"]),
    ("avgpool", lambda: [AvgPool2d(2)], (2, 6, 6), ["AveragePool"]),
    ("avgpool-pad", lambda: [AvgPool2d(3, stride=2, padding=1)], (2, 7, 6), ["AveragePool"]),
    ("upsample", lambda: [Upsample(scale_factor=2)], (2, 3, 4), ["Resize"]),
    ("upsample-rect", lambda: [Upsample(scale_factor=(2, 3))], (1, 3, 2), ["Resize"]),
    ("relu", lambda: [ReLU()], (5,), ["Relu"]),
    ("leaky-relu", lambda: [LeakyReLU(0.2)], (2, 3, 3), ["LeakyRelu"]),
    ("sigmoid", lambda: [Sigmoid()], (5,), ["Sigmoid"]),
    ("tanh", lambda: [Tanh()], (5,), ["Tanh"]),
    ("softmax", lambda: [Linear(4, 6), Softmax(dim=1)], (4,), ["Gemm", "Softmax"]),
    ("dropout-is-dropped", lambda: [Linear(4, 5), Dropout(0.5), ReLU()], (4,), ["Gemm", "Relu"]),
    ("dropout-only", lambda: [Dropout(0.5)], (4,), ["Identity"]),
    (
        "nested",
        lambda: [Sequential(Conv2d(1, 2, 3), ReLU()), Flatten(), Linear(2 * 4 * 4, 3)],
        (1, 6, 6),
        ["Conv", "Relu", "Flatten", "Gemm"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_layer_type_matches_onnxruntime(case, tmp_path):
    _, layers, shape, ops = case
    init.manual_seed(0)
    model = Sequential(*layers(), input_shape=shape).eval()
    path = tmp_path / "model.onnx"
    proto = export_onnx(model, path)
    assert [n.op_type for n in proto.graph.node] == ops
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = onnx_session(path)
    rng = np.random.default_rng(1)
    for batch in (1, 3):  # the batch axis is dynamic
        x = rng.normal(size=(batch, *shape)).astype(np.float32)
        expected = model(x)
        got = run_onnx(session, x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_lenet_matches_onnxruntime_at_batch_1_and_64(tmp_path):
    init.manual_seed(0)
    model = lenet5().eval()
    proto = export_onnx(model, tmp_path / "lenet.onnx")
    assert [n.op_type for n in proto.graph.node] == [
        "Conv",
        "Relu",
        "MaxPool",
        "Conv",
        "Relu",
        "MaxPool",
        "Flatten",
        "Gemm",
        "Relu",
        "Gemm",
        "Relu",
        "Gemm",
    ]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    session = onnx_session(tmp_path / "lenet.onnx")
    for batch in (1, 64):
        x = np.random.default_rng(batch).normal(size=(batch, 1, 28, 28)).astype(np.float32)
        np.testing.assert_allclose(run_onnx(session, x), model(x), **TOLERANCE)


def test_names_join_the_nodes(tmp_path):
    proto = to_onnx(lenet5())
    table = graph_table(proto)
    weights = {i.name for i in proto.graph.initializer}
    assert weights == set(lenet5().named_parameters())  # the state_dict keys
    produced = {"input"}
    for row in table:
        inputs = row["inputs"].split(", ")
        assert all(name in produced or name in weights for name in inputs), row
        produced.update(row["outputs"].split(", "))
    assert table[0] == {
        "node": "0.Conv2d",
        "op": "Conv",
        "inputs": "input, 0.weight, 0.bias",
        "outputs": "0.output",
    }
    assert table[-1]["outputs"] == "output"
    text = format_graph_table(proto)
    assert text.splitlines()[0].split() == ["node", "op", "inputs", "outputs"]
    assert re.search(
        r"^7\.Linear +Gemm +6\.output, 7\.weight, 7\.bias +7\.output$", text, re.MULTILINE
    )


def test_conv_attributes_follow_onnx_conventions():
    layer = Conv2d(2, 3, (3, 5), stride=(2, 1), padding=(1, 2))
    node = to_onnx(Sequential(layer), input_shape=(2, 8, 8)).graph.node[0]
    attributes = {a.name: list(a.ints) for a in node.attribute}
    # pads = [top, left, bottom, right]
    assert attributes == {"kernel_shape": [3, 5], "strides": [2, 1], "pads": [1, 2, 1, 2]}


def test_the_contract_travels_in_the_metadata(tmp_path):
    model = Sequential(Flatten(), Linear(4, 3), input_shape=(1, 2, 2))
    modelfile.save(model, tmp_path / "m.educnn", mean=0.5, std=0.25, class_names=["a", "b", "c"])
    proto = export_onnx(modelfile.load(tmp_path / "m.educnn"), tmp_path / "m.onnx")
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert props["edu_cnn.preprocessing"]["mean"] == 0.5
    assert props["edu_cnn.preprocessing"]["std"] == 0.25
    assert props["edu_cnn.class_names"] == ["a", "b", "c"]
    assert props["edu_cnn.input_shape"] == [1, 2, 2]
    assert props["edu_cnn.output"] in ("logits", "probabilities")


def test_float64_models_export_as_float32(tmp_path):
    init.manual_seed(2)
    model = Sequential(Linear(3, 2), Tanh(), input_shape=(3,)).astype(np.float64)
    x = np.random.default_rng(0).normal(size=(4, 3))
    got = run_onnx(export_onnx(model, tmp_path / "m.onnx"), x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, model(x), **TOLERANCE)


# -- what cannot be exported -----------------------------------------------------------------------
def test_max_unpool_is_refused_with_the_reason(tmp_path):
    model = Sequential(MaxUnpool2d(2), input_shape=(1, 3, 3))
    with pytest.raises(
        ValueError,
        match=r"MaxUnpool2d cannot be exported: it needs the arg-max "
        r"indices.*\(layer 0\)",
    ):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_max_pool_with_indices_is_refused():
    with pytest.raises(ValueError, match=r"return_indices=True\) gives two outputs"):
        to_onnx(Sequential(MaxPool2d(2, return_indices=True)), input_shape=(1, 4, 4))


def test_unknown_layer_is_refused_by_name():
    class Custom(Layer):
        pass

    with pytest.raises(
        ValueError,
        match=r"layer 1 \(Custom\) cannot be exported to ONNX: there is "
        r"no ONNX translation for Custom; exportable layers are .*Conv2d",
    ):
        to_onnx(Sequential(Linear(2, 2), Custom()), input_shape=(2,))


def test_input_shape_is_needed_and_checked():
    with pytest.raises(
        ValueError, match=r"give the shape of one sample, e.g. input_shape=\(1, 28, 28\)"
    ):
        to_onnx(Sequential(Linear(2, 2)))
    with pytest.raises(
        ValueError, match=r"layer 0 \(Linear\) does not accept the input shape \(N, 5\)"
    ):
        to_onnx(Sequential(Linear(2, 2)), input_shape=(5,))
    with pytest.raises(ValueError, match="opset must be an int ≥ 13"):
        to_onnx(Sequential(Linear(2, 2)), input_shape=(2,), opset=9)


def test_draw_graph_has_a_box_per_node():
    import matplotlib

    matplotlib.use("Agg")
    proto = to_onnx(lenet5())
    fig = draw_graph(proto, columns=5)
    boxes = [p for p in fig.axes[0].patches if type(p).__name__ == "FancyBboxPatch"]
    assert len(boxes) == len(proto.graph.node) + 2  # + input and output
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "0.weight (6, 1, 5, 5)" in texts and "N×6×14×14" in texts
    import matplotlib.pyplot as plt

    plt.close(fig)


# -- chapter 8 exercises, checked against ONNX Runtime ---------------------------------------------
EXERCISES = ["gemm", "execution_order", "resize_nearest", "prepare_request"]


def _single_node_session(
    op: str, node_inputs: list[str], inputs: dict, attributes: dict, constants: dict | None = None
):
    """An ONNX Runtime session for a graph of one node (the operator under test)."""
    helper = onnx.helper
    float32 = onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node(op, node_inputs, ["y"], **attributes)],
        "one",
        [helper.make_tensor_value_info(k, float32, list(np.shape(v))) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", float32, None)],
        initializer=[
            onnx.numpy_helper.from_array(np.asarray(v, np.float32), k)
            for k, v in (constants or {}).items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return onnx_session(model)


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_reference_passes_and_a_stub_is_not_done(name, capsys):
    assert check(name, get_exercise(name).reference)

    def stub(*args, **kwargs):
        raise NotImplementedError

    assert "not done yet" in check(name, stub).message


def test_gemm_reference_is_onnxruntime_gemm():
    exercise = get_exercise("gemm")
    for _args, kwargs in exercise.hidden_cases():
        kwargs = dict(kwargs)
        tensors = {k: kwargs.pop(k) for k in ("A", "B", "C")}
        session = _single_node_session("Gemm", ["A", "B", "C"], tensors, kwargs)
        got = session.run(None, {k: np.asarray(v, np.float32) for k, v in tensors.items()})[0]
        np.testing.assert_allclose(
            exercise.reference(**tensors, **kwargs), got, rtol=1e-5, atol=1e-5
        )


def test_resize_reference_is_onnxruntime_resize():
    exercise = get_exercise("resize_nearest")
    for _, case in exercise.hidden_cases():
        x = case["x"]
        session = _single_node_session(
            "Resize",
            ["x", "", "scales"],
            {"x": x},
            {
                "mode": "nearest",
                "coordinate_transformation_mode": "asymmetric",
                "nearest_mode": "floor",
            },
            {"scales": np.array([1, 1, case["scale_h"], case["scale_w"]], np.float32)},
        )
        got = session.run(None, {"x": x.astype(np.float32)})[0]
        np.testing.assert_allclose(exercise.reference(**case), got, rtol=1e-6)


def test_execution_order_runs_the_real_lenet_graph():
    proto = to_onnx(lenet5())
    nodes = [
        {"name": n.name, "inputs": list(n.input), "outputs": list(n.output)}
        for n in reversed(proto.graph.node)
    ]
    available = ["input"] + [i.name for i in proto.graph.initializer]
    order = get_exercise("execution_order").reference(nodes, available)
    assert order == [n.name for n in proto.graph.node]


def test_prepare_request_is_the_preprocess_contract():
    from edu_cnn.preprocess import normalize

    for _, case in get_exercise("prepare_request").hidden_cases():
        expected = normalize(case["image"] / 255.0, case["mean"], case["std"]).astype(np.float32)
        got = get_exercise("prepare_request").reference(**case)
        assert got.dtype == np.float32 and got.shape == (1, 1, 28, 28)
        np.testing.assert_allclose(got[0, 0], expected, rtol=1e-6, atol=1e-6)


def test_typical_mistakes_are_named():
    def forgot_255(image, mean, std):
        return ((image.astype(np.float32) - mean) / std).reshape(1, 1, 28, 28)

    assert "wrong at index" in check("prepare_request", forgot_255, verbose=False).message

    def forgot_transpose(A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0):
        return alpha * (A @ B) + beta * C

    assert "raised ValueError" in check("gemm", forgot_transpose, verbose=False).message

    def round_instead_of_floor(x, scale_h, scale_w):
        h, w = x.shape[2], x.shape[3]
        rows = np.minimum(np.round(np.arange(int(h * scale_h)) / scale_h).astype(int), h - 1)
        cols = np.minimum(np.round(np.arange(int(w * scale_w)) / scale_w).astype(int), w - 1)
        return x[:, :, rows][:, :, :, cols]

    assert not check("resize_nearest", round_instead_of_floor, verbose=False)


def test_measure_latency_takes_the_median():
    from edu_cnn.onnx_export import measure_latency

    calls = []
    assert measure_latency(calls.append, np.zeros(1), repeats=5, warmup=2) >= 0
    assert len(calls) == 7
    with pytest.raises(ValueError, match="repeats must be ≥ 1"):
        measure_latency(calls.append, np.zeros(1), repeats=0)


def test_a_digit_model_carries_its_whole_contract(tmp_path):
    """Polarity, crop / scale / centre geometry and "the output is logits" travel too."""
    from edu_cnn import modelfile
    from edu_cnn.models import lenet5
    from edu_cnn.preprocess import DIGIT_CONTRACT

    path = modelfile.save(
        lenet5(), tmp_path / "lenet.educnn", input_shape=(1, 28, 28), mean=0.1307, std=0.3081
    )
    proto = to_onnx(modelfile.load(path), (1, 28, 28))
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert props["edu_cnn.output"] == "logits"
    assert props["edu_cnn.preprocess"] == DIGIT_CONTRACT
    assert props["edu_cnn.preprocess"]["scale"]["longer_side"] == 20
    assert props["edu_cnn.preprocess"]["center"]["by"] == "center of mass"
    assert "bright digit" in props["edu_cnn.preprocess"]["polarity"]
