r"""Export an ``edu_cnn`` model to ONNX, run it in ONNX Runtime, and look at its graph.

ONNX (Open Neural Network Exchange) describes a network as a **computation graph**
(计算图): a list of **nodes** (节点), each applying one **operator** (算子) such as ``Conv``
or ``Gemm`` to named input tensors and producing named output tensors. Nodes are joined
by nothing but these names: the output ``"0.output"`` of the first node is an input of
every node that lists ``"0.output"``. Weights are **initializers** – constant tensors with
names too (here the ``state_dict`` keys: ``"0.weight"``, ``"0.bias"``, …).

What each edu_cnn layer becomes (opset 17 by default):

=====================  ==================================================================
edu_cnn layer          ONNX node
=====================  ==================================================================
``Linear``             ``Gemm`` with ``transB=1``: :math:`Y = X W^\top + b`
``Flatten``            ``Flatten`` with ``axis=1``
``Conv2d``             ``Conv``; ``pads = [top, left, bottom, right]``
``ConvTranspose2d``    ``ConvTranspose``; weight (C_in, C_out, kH, kW) as in PyTorch
``MaxPool2d``          ``MaxPool``
``AvgPool2d``          ``AveragePool`` (``count_include_pad`` as the layer counts)
``Upsample``           ``Resize`` with scales ``[1, 1, s_h, s_w]``
``BatchNorm1d/2d``     ``BatchNormalization`` with the running statistics (evaluation mode)
``ReLU`` / ``LeakyReLU`` / ``Sigmoid`` / ``Tanh`` / ``Softmax``  the operator of that name
``Dropout``            nothing: in inference (推理) dropout is the identity
=====================  ==================================================================

``MaxUnpool2d`` cannot be exported on its own: it needs the arg-max indices recorded by a
``MaxPool2d`` as a second input, which a chain of layers does not carry.

The batch axis is dynamic (named ``"N"``), so one exported file serves batch 1 and 64.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .layer import Layer
from .linear import Flatten, Linear
from .modelfile import atomic_write
from .pooling import AvgPool2d, MaxPool2d, MaxUnpool2d, Upsample
from .shapes import pair

DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"


def _onnx():
    try:
        import onnx
    except ImportError as error:  # pragma: no cover - onnx is in requirements.txt
        raise ImportError("export_onnx needs the 'onnx' package: pip install onnx") from error
    return onnx


@dataclass
class _Graph:
    """What the exporters add to: nodes, initializers, and the running shape."""

    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)

    def constant(self, name: str, array: np.ndarray) -> str:
        onnx = _onnx()
        self.initializers.append(
            onnx.numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)
        )
        return name

    def node(
        self, op: str, inputs: list[str], output: str, name: str, doc: str = "", **attributes: Any
    ) -> str:
        onnx = _onnx()
        node = onnx.helper.make_node(op, inputs, [output], name=name, **attributes)
        if doc:
            node.doc_string = doc
        self.nodes.append(node)
        return output


# -- one exporter per layer type: (layer, graph, input name, key prefix) -> output name ----
Exporter = Callable[[Layer, _Graph, str, str], str]


def _params(layer: Layer, graph: _Graph, prefix: str) -> list[str]:
    return [
        graph.constant(prefix + name, p.data)
        for name, p in layer.named_parameters().items()
        if p is not None
    ]


def _pads(layer: Layer, kernel: tuple[int, int], where: str) -> list[int]:
    """ONNX's ``pads = [top, left, bottom, right]`` from the layer's ``padding``."""
    padding = layer.config().get("padding", 0)
    if padding == "same":
        # PyTorch's 'same' (stride 1): k − 1 zeros in all, the extra one at the end
        before = [(k - 1) // 2 for k in kernel]
        after = [(k - 1) - b for k, b in zip(kernel, before, strict=True)]
        return before + after
    if padding == "valid":
        return [0, 0, 0, 0]
    ph, pw = pair(padding, "padding", where)
    return [ph, pw, ph, pw]


def _linear(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    return graph.node(
        "Gemm",
        [x, *_params(layer, graph, prefix)],
        f"{prefix}output",
        f"{prefix}Linear",
        "y = x Wᵀ + b",
        transB=1,
    )


def _flatten(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    return graph.node("Flatten", [x], f"{prefix}output", f"{prefix}Flatten", axis=1)


def _conv(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    config = layer.config()
    kernel = pair(config["kernel_size"], "kernel_size", "Conv2d")
    return graph.node(
        "Conv",
        [x, *_params(layer, graph, prefix)],
        f"{prefix}output",
        f"{prefix}Conv2d",
        kernel_shape=list(kernel),
        strides=list(pair(config.get("stride", 1), "stride", "Conv2d")),
        pads=_pads(layer, kernel, "Conv2d"),
    )


def _conv_transpose(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    config = layer.config()
    kernel = pair(config["kernel_size"], "kernel_size", "ConvTranspose2d")
    attributes: dict[str, Any] = {
        "kernel_shape": list(kernel),
        "strides": list(pair(config.get("stride", 1), "stride", "ConvTranspose2d")),
        "pads": _pads(layer, kernel, "ConvTranspose2d"),
    }
    output_padding = pair(config.get("output_padding", 0), "output_padding", "ConvTranspose2d")
    if any(output_padding):
        attributes["output_padding"] = list(output_padding)
    return graph.node(
        "ConvTranspose",
        [x, *_params(layer, graph, prefix)],
        f"{prefix}output",
        f"{prefix}ConvTranspose2d",
        **attributes,
    )


def _pool(op: str) -> Exporter:
    def export(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
        config = layer.config()
        kind = type(layer).__name__
        kernel = pair(config["kernel_size"], "kernel_size", kind)
        stride = config.get("stride")
        attributes: dict[str, Any] = {
            "kernel_shape": list(kernel),
            "strides": list(kernel if stride is None else pair(stride, "stride", kind)),
            "pads": _pads(layer, kernel, kind),
        }
        if config.get("return_indices"):
            raise ValueError(
                "export_onnx: MaxPool2d(return_indices=True) gives two outputs "
                "(values and indices), which a chain of layers does not carry"
            )
        if op == "AveragePool":  # PyTorch's default counts the zero padding in the mean
            attributes["count_include_pad"] = int(config.get("count_include_pad", True))
        return graph.node(op, [x], f"{prefix}output", f"{prefix}{kind}", **attributes)

    return export


def _upsample(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    config = layer.config()
    mode = config.get("mode", "nearest")
    sh, sw = pair(config["scale_factor"], "scale_factor", "Upsample")
    scales = graph.constant(f"{prefix}scales", np.array([1, 1, sh, sw], np.float32))
    if mode != "nearest":
        raise ValueError(f"export_onnx: Upsample mode {mode!r} has no ONNX translation here")
    # output pixel i copies input pixel ⌊i / s⌋: 'asymmetric' maps i to i / s, 'floor' rounds
    attributes = {
        "mode": "nearest",
        "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor",
    }
    # Resize's inputs are X, roi, scales[, sizes]; an empty name leaves roi out
    return graph.node(
        "Resize", [x, "", scales], f"{prefix}output", f"{prefix}Upsample", **attributes
    )


def _elementwise(op: str, **fixed: Any) -> Exporter:
    def export(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
        attributes = dict(fixed)
        if op == "LeakyRelu":
            attributes["alpha"] = float(layer.config().get("negative_slope", 0.01))
        if op == "Softmax":
            attributes["axis"] = int(layer.config().get("dim", 1))
        return graph.node(
            op, [x], f"{prefix}output", f"{prefix}{type(layer).__name__}", **attributes
        )

    return export


def _identity(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    return x  # dropout does nothing at inference time: no node at all


def _not_exportable(reason: str) -> Exporter:
    def export(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
        raise ValueError(f"export_onnx: {type(layer).__name__} cannot be exported: {reason}")

    return export


def _batch_norm(layer: Layer, graph: _Graph, x: str, prefix: str) -> str:
    # an exported model is for inference: the running statistics are used, whatever the mode
    if not layer.track_running_stats:
        raise ValueError(
            f"export_onnx: {type(layer).__name__}(track_running_stats=False) "
            "normalises with each batch's own statistics, which ONNX's "
            "BatchNormalization (inference) does not do"
        )
    c = layer.num_features
    weight = layer.weight.data if layer.weight is not None else np.ones(c, np.float32)
    bias = layer.bias.data if layer.bias is not None else np.zeros(c, np.float32)
    inputs = [
        x,
        graph.constant(f"{prefix}weight", weight),
        graph.constant(f"{prefix}bias", bias),
        graph.constant(f"{prefix}running_mean", layer.running_mean),
        graph.constant(f"{prefix}running_var", layer.running_var),
    ]
    return graph.node(
        "BatchNormalization",
        inputs,
        f"{prefix}output",
        f"{prefix}{type(layer).__name__}",
        "y = γ (x − running_mean)/√(running_var + ε) + β (evaluation mode)",
        epsilon=float(layer.eps),
    )


# Keyed by class; a subclass is exported as the nearest class listed here (its MRO).
EXPORTERS: dict[type[Layer], Exporter] = {
    Linear: _linear,
    Flatten: _flatten,
    Conv2d: _conv,
    ConvTranspose2d: _conv_transpose,
    MaxPool2d: _pool("MaxPool"),
    AvgPool2d: _pool("AveragePool"),
    Upsample: _upsample,
    BatchNorm1d: _batch_norm,
    BatchNorm2d: _batch_norm,
    ReLU: _elementwise("Relu"),
    LeakyReLU: _elementwise("LeakyRelu"),
    Sigmoid: _elementwise("Sigmoid"),
    Tanh: _elementwise("Tanh"),
    Softmax: _elementwise("Softmax"),
    Dropout: _identity,
    MaxUnpool2d: _not_exportable(
        "it needs the arg-max indices recorded by a MaxPool2d as a second input, which a "
        "chain of layers does not carry; use Upsample (Resize) or ConvTranspose2d instead"
    ),
}


def exporter_for(cls: type[Layer]) -> Exporter | None:
    """The exporter of a layer class: its own entry in ``EXPORTERS`` or its nearest base
    class's (so a subclass of ``Conv2d`` exports as ``Conv``); ``None`` if there is none.
    """
    for base in cls.__mro__:
        if base in EXPORTERS:
            return EXPORTERS[base]
    return None


def _exportable_names() -> str:
    return ", ".join(sorted(cls.__name__ for cls in EXPORTERS if cls is not MaxUnpool2d))


def _export_layer(
    layer: Layer, graph: _Graph, x: str, prefix: str, shape: tuple[int, ...]
) -> tuple[str, tuple[int, ...]]:
    where = f"layer {prefix.rstrip('.')}" if prefix else "the model"
    kind = type(layer).__name__
    children = layer.children()
    if children:
        for i, child in enumerate(children):
            x, shape = _export_layer(child, graph, x, f"{prefix}{i}.", shape)
        return x, shape
    try:
        out_shape = tuple(layer.output_shape(shape))
    except ValueError as error:
        raise ValueError(
            f"export_onnx: {where} ({kind}) does not accept the input shape "
            f"(N, {', '.join(map(str, shape))}): {error}"
        ) from None
    exporter = exporter_for(type(layer))
    if exporter is None:
        raise ValueError(
            f"export_onnx: {where} ({kind}) cannot be exported to ONNX: there "
            f"is no ONNX translation for {kind}; exportable layers are "
            f"{_exportable_names()}"
        )
    try:
        return exporter(layer, graph, x, prefix), out_shape
    except ValueError as error:
        raise ValueError(f"{error} ({where})") from None


def to_onnx(
    model: Layer,
    input_shape: Sequence[int] | None = None,
    opset: int = DEFAULT_OPSET,
    name: str = "edu_cnn_model",
):
    """Build the ONNX ``ModelProto`` of ``model`` (not written, not yet checked).

    Parameters
    ----------
    model : Layer
        A ``Sequential`` (or a single layer) of exportable layers.
    input_shape : tuple of int, optional
        One sample's shape, e.g. ``(1, 28, 28)``; default: ``model.input_shape``.
    opset : int
        The ONNX operator set version (13 or later).
    name : str
        The graph's name.
    """
    onnx = _onnx()
    helper = onnx.helper
    if not isinstance(model, Layer):
        raise ValueError(
            f"export_onnx: expected an edu_cnn Layer or Sequential, got {type(model).__name__}"
        )
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None)
    if input_shape is None:
        raise ValueError(
            "export_onnx: give the shape of one sample, e.g. input_shape=(1, 28, 28) "
            "(the model has no input_shape of its own)"
        )
    shape = tuple(int(s) for s in input_shape)
    if not isinstance(opset, int) or opset < 13:
        raise ValueError(f"export_onnx: opset must be an int ≥ 13, got {opset!r}")

    graph = _Graph()
    last, out_shape = _export_layer(model, graph, INPUT_NAME, "", shape)
    if graph.nodes and last == graph.nodes[-1].output[0]:
        # rename the final tensor "output" everywhere it is written
        graph.nodes[-1].output[0] = OUTPUT_NAME
    else:  # e.g. a model that is only Dropout: the output is the input
        graph.node("Identity", [last], OUTPUT_NAME, "Identity")

    float32 = onnx.TensorProto.FLOAT
    proto_graph = helper.make_graph(
        graph.nodes,
        name,
        [helper.make_tensor_value_info(INPUT_NAME, float32, ["N", *shape])],
        [helper.make_tensor_value_info(OUTPUT_NAME, float32, ["N", *out_shape])],
        initializer=graph.initializers,
    )
    opset_ids = [helper.make_opsetid("", opset)]
    proto = helper.make_model(proto_graph, opset_imports=opset_ids, producer_name="edu_cnn")
    # the oldest IR version that knows this opset, so older ONNX Runtimes can read the file
    proto.ir_version = helper.find_min_ir_version_for(opset_ids)
    contract = {"input_shape": list(shape)}
    preprocessing = getattr(model, "preprocessing", None)
    if preprocessing is not None:
        contract["preprocessing"] = preprocessing.to_json()
    class_names = getattr(model, "class_names", None)
    if class_names:
        contract["class_names"] = list(class_names)
    from .modelfile import leaf_layers
    from .preprocess import DIGIT_CONTRACT

    leaves = [layer for _, layer in leaf_layers(model)]
    last = leaves[-1] if leaves else model
    contract["output"] = "probabilities" if type(last).__name__ == "Softmax" else "logits"
    if int(np.prod(shape)) == 28 * 28:  # a digit model: the image geometry travels too
        contract["preprocess"] = DIGIT_CONTRACT
    helper.set_model_props(proto, {f"edu_cnn.{k}": json.dumps(v) for k, v in contract.items()})
    return proto


def export_onnx(
    model: Layer,
    path: str | os.PathLike[str],
    input_shape: Sequence[int] | None = None,
    opset: int = DEFAULT_OPSET,
):
    """Write ``model`` as an ONNX file that passes ``onnx.checker.check_model``.

    The pre-processing contract of a loaded model goes into the file's metadata
    (``metadata_props``, keys ``edu_cnn.*``, JSON values): ``input_shape``,
    ``preprocessing`` (pixel range, mean / std), ``class_names``, ``output`` (``"logits"``
    or ``"probabilities"``) and, for a 28×28 digit model, ``preprocess`` – polarity and
    geometry (:data:`edu_cnn.preprocess.DIGIT_CONTRACT`).
    The file is written atomically. Returns the ``onnx.ModelProto``.

    Raises
    ------
    ValueError
        For a layer with no ONNX translation (naming it), or an input shape the model
        does not accept.
    """
    onnx = _onnx()
    proto = to_onnx(model, input_shape, opset)
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(Path(path), "export_onnx") as handle:
        handle.write(proto.SerializeToString())
    return proto


# -- running ------------------------------------------------------------------------------------
def onnx_session(model: Any, providers: Sequence[str] | None = None, threads: int | None = None):
    """An ONNX Runtime ``InferenceSession`` for a path, serialized bytes or a ``ModelProto``.

    ``providers`` lists execution providers in order of preference, e.g.
    ``["CUDAExecutionProvider", "CPUExecutionProvider"]``; the default is the CPU.
    ``onnxruntime.get_available_providers()`` says which this installation has.
    """
    import onnxruntime as ort

    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    elif isinstance(model, (str, os.PathLike)):
        model = str(model)
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model, sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
    )


def run_onnx(session: Any, x: np.ndarray) -> np.ndarray:
    """Run a session (or anything :func:`onnx_session` accepts) on a float32 batch."""
    if not hasattr(session, "run"):
        session = onnx_session(session)
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def measure_latency(
    function: Callable[[np.ndarray], Any], x: np.ndarray, repeats: int = 20, warmup: int = 2
) -> float:
    """The median time of ``function(x)`` in seconds, after ``warmup`` untimed calls.

    The median, not the mean: one call slowed down by another program should not count.
    """
    import time

    if repeats < 1 or warmup < 0:
        raise ValueError(
            f"measure_latency: repeats must be ≥ 1 and warmup ≥ 0, got {repeats} and {warmup}"
        )
    for _ in range(warmup):
        function(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# -- looking at the graph -------------------------------------------------------------------------
def graph_table(proto: Any) -> list[dict[str, str]]:
    """One row per node: its name, operator, inputs and outputs (how nodes are joined)."""
    if isinstance(proto, (str, os.PathLike)):
        proto = _onnx().load(str(proto))
    return [
        {
            "node": n.name,
            "op": n.op_type,
            "inputs": ", ".join(i for i in n.input if i),
            "outputs": ", ".join(n.output),
        }
        for n in proto.graph.node
    ]


def format_graph_table(proto: Any) -> str:
    """:func:`graph_table` as aligned text."""
    rows = graph_table(proto)
    heads = ["node", "op", "inputs", "outputs"]
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in heads]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(r[h].ljust(w) for h, w in zip(heads, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def tensor_shapes(proto: Any) -> dict[str, tuple[Any, ...]]:
    """The shape of every named tensor (graph input, intermediate, output, initializer)."""
    onnx = _onnx()
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes: dict[str, tuple[Any, ...]] = {}
    graph = inferred.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = tuple(d.dim_param or d.dim_value for d in dims)
    for init in graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def draw_graph(proto: Any, columns: int = 5, ax: Any = None):
    """Draw the graph: a box per node (operator, name, weights), arrows labelled with the
    tensor names and shapes that join them. Nodes are laid out in reading order,
    ``columns`` per row. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    shapes = tensor_shapes(proto)
    graph = proto.graph
    weights = {init.name for init in graph.initializer}
    items = [("input", graph.input[0].name, [], [graph.input[0].name])]
    items += [("node", n.op_type, list(n.input), list(n.output)) for n in graph.node]
    items += [("output", graph.output[0].name, [graph.output[0].name], [])]
    rows = (len(items) + columns - 1) // columns
    if ax is None:
        fig, ax = plt.subplots(figsize=(2.7 * columns, 1.9 * rows))
    fig = ax.figure
    width, height = 1.8, 0.95

    def position(i: int) -> tuple[float, float]:
        row, col = divmod(i, columns)
        if row % 2:  # snake: odd rows run right to left, so arrows stay short
            col = columns - 1 - col
        return 2.6 * col, -1.8 * row

    producer: dict[str, int] = {}
    for i, (kind, label, inputs, outputs) in enumerate(items):
        x, y = position(i)
        colour = {"input": "#d9ead3", "output": "#fce5cd", "node": "#dae8fc"}[kind]
        ax.add_patch(
            FancyBboxPatch(
                (x - width / 2, y - height / 2),
                width,
                height,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=colour,
                edgecolor="#333333",
            )
        )
        consts = [f"{n} {shapes.get(n, ())}" for n in inputs if n in weights]
        if kind == "node":
            name = graph.node[i - 1].name
            text = f"$\\bf{{{label}}}$\n{name}" + "".join(f"\n{c}" for c in consts)
        else:
            dims = ", ".join(map(str, shapes.get(label, ())))
            text = f"$\\bf{{{kind}}}$\n{label}\n({dims})"
        ax.text(x, y, text, ha="center", va="center", fontsize=7)
        for name in outputs:
            producer[name] = i
    for i, (_, _, inputs, _) in enumerate(items):
        for name in inputs:
            if name in producer and name not in weights:
                (x0, y0), (x1, y1) = position(producer[name]), position(i)
                dx, dy = x1 - x0, y1 - y0
                scale = max(abs(dx) / (width / 2 + 0.05), abs(dy) / (height / 2 + 0.05), 1e-9)
                start = (x0 + dx / scale, y0 + dy / scale)
                end = (x1 - dx / scale, y1 - dy / scale)
                ax.annotate(
                    "", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "#333333"}
                )
                if name != graph.output[0].name and producer[name] != 0:
                    dims = "×".join(map(str, shapes.get(name, ())))
                    mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
                    if abs(dx) > abs(dy):  # name above the arrow, shape below
                        ax.text(
                            mx,
                            my + 0.08,
                            name,
                            ha="center",
                            va="bottom",
                            fontsize=6,
                            color="#1f4e79",
                        )
                        ax.text(
                            mx,
                            my - 0.08,
                            dims,
                            ha="center",
                            va="top",
                            fontsize=5.5,
                            color="#555555",
                        )
                    else:
                        ax.text(
                            mx + 0.1,
                            my,
                            f"{name}\n{dims}",
                            ha="left",
                            va="center",
                            fontsize=6,
                            color="#1f4e79",
                        )
    xs = [position(i)[0] for i in range(len(items))]
    ys = [position(i)[1] for i in range(len(items))]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


__all__ = [
    "DEFAULT_OPSET",
    "EXPORTERS",
    "draw_graph",
    "export_onnx",
    "exporter_for",
    "format_graph_table",
    "graph_table",
    "measure_latency",
    "onnx_session",
    "run_onnx",
    "tensor_shapes",
    "to_onnx",
]
