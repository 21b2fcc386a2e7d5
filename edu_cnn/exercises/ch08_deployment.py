"""Chapter 8 exercises: what an ONNX runtime does, one operator and one rule at a time.

* ``gemm`` – the ONNX ``Gemm`` operator, which every ``Linear`` layer becomes;
* ``execution_order`` – run a graph whose nodes are joined only by tensor names;
* ``resize_nearest`` – the ONNX ``Resize`` operator that ``Upsample`` becomes;
* ``prepare_request`` – the pre-processing contract of a deployed MNIST model.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise


# -- Gemm ---------------------------------------------------------------------------------------
def _gemm_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        # a Linear layer: Y = X Wᵀ + b
        {
            "A": rng.normal(size=(4, 3)),
            "B": rng.normal(size=(2, 3)),
            "C": rng.normal(size=2),
            "transB": 1,
        },
        {"A": rng.normal(size=(1, 5)), "B": rng.normal(size=(5, 4)), "C": rng.normal(size=(1, 4))},
        {
            "A": rng.normal(size=(3, 2)),
            "B": rng.normal(size=(3, 4)),
            "C": rng.normal(size=(2, 4)),
            "transA": 1,
            "alpha": 0.5,
            "beta": 2.0,
        },
        {
            "A": rng.normal(size=(2, 6)),
            "B": rng.normal(size=(3, 6)),
            "C": np.array(1.5),
            "transB": 1,
            "alpha": -1.0,
        },
        {
            "A": rng.normal(size=(5, 3)),
            "B": rng.normal(size=(4, 5)),
            "C": rng.normal(size=(3, 1)),
            "transA": 1,
            "transB": 1,
            "beta": 0.0,
        },
    ]
    return cases


@exercise(
    "gemm",
    cases=_gemm_cases,
    hint="Gemm is one matrix product, scaled, plus a scaled C – but read transA and transB first.",
    hints=[
        (
            "Transpose A when transA = 1 and B when transB = 1; multiply the two; "
            "scale the product by alpha and C by beta, "
            "and add them (numpy broadcasts C to the product's shape)."
        ),
        "a = A.T if transA else A; b = B.T if transB else B; return alpha * (a @ b) + beta * C",
    ],
    mistakes=[
        Mistake(
            "no alpha",
            lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: gemm(
                A, B, C, 1.0, beta, transA, transB
            ),
            "alpha is missing: it scales the product A′B′.",
        ),
        Mistake(
            "no beta",
            lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: gemm(
                A, B, C, alpha, 1.0, transA, transB
            ),
            "beta is missing: it scales C.",
        ),
        Mistake(
            "alpha on everything",
            lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: (
                alpha * (gemm(A, B, C, 1.0, beta, transA, transB))
            ),
            "alpha scaled C too: Y = alpha · (A′B′) + beta · C – "
            "alpha multiplies the product only.",
        ),
        Mistake(
            "scales swapped",
            lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: gemm(
                A, B, C, beta, alpha, transA, transB
            ),
            "alpha and beta are swapped: alpha scales the product, beta scales C.",
        ),
    ],
)
def gemm(A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0):
    """ONNX Gemm: Y = alpha · A' B' + beta · C, where A' = Aᵀ if transA else A (same for B)."""
    a = A.T if transA else A
    b = B.T if transB else B
    return alpha * (a @ b) + beta * C


# -- running a graph by names ---------------------------------------------------------------------
def _node(name: str, inputs: list[str], outputs: list[str]) -> dict:
    return {"name": name, "inputs": inputs, "outputs": outputs}


def _order_cases(rng: np.random.Generator) -> list[dict]:
    chain = [
        _node("conv", ["input", "w1", "b1"], ["t1"]),
        _node("relu", ["t1"], ["t2"]),
        _node("pool", ["t2"], ["t3"]),
        _node("flatten", ["t3"], ["t4"]),
        _node("gemm", ["t4", "w2", "b2"], ["output"]),
    ]
    residual = [
        _node("conv_a", ["x", "wa"], ["a"]),
        _node("relu_a", ["a"], ["a2"]),
        _node("conv_b", ["a2", "wb"], ["b"]),
        _node("add", ["b", "x"], ["s"]),
        _node("relu_out", ["s"], ["y"]),
    ]
    two_heads = [
        _node("trunk", ["img", "w"], ["f"]),
        _node("head_1", ["f", "w1"], ["p1"]),
        _node("head_2", ["f", "w2"], ["p2"]),
        _node("concat", ["p1", "p2"], ["out"]),
    ]
    cases = [{"nodes": chain, "available": ["input", "w1", "b1", "w2", "b2"]}]
    for graph, available in (
        (chain, ["input", "w1", "b1", "w2", "b2"]),
        (residual, ["x", "wa", "wb"]),
        (two_heads, ["img", "w", "w1", "w2"]),
    ):
        for _ in range(2):
            shuffled = [graph[i] for i in rng.permutation(len(graph))]
            cases.append({"nodes": shuffled, "available": list(available)})
    return cases


def _one_pass(nodes, available):
    known, done = set(available), []
    for node in nodes:
        if all(name in known for name in node["inputs"]):
            done.append(node["name"])
            known.update(node["outputs"])
    return done


@exercise(
    "execution_order",
    cases=_order_cases,
    hint="A node can run once every tensor it reads exists; running it makes its outputs exist. "
    "Make sure each pass of your loop runs a node (or stops).",
    hints=[
        (
            "Keep a set of the tensor names that exist (start with `available`). "
            "Repeatedly scan the nodes not yet run, in list order, "
            "and run the first one whose inputs all exist; add its outputs to the set. "
            "Stop when every node has run."
        ),
        (
            "while waiting: node = first in waiting with all(i in known for i in node['inputs']); "
            "done.append(node['name']); known.update(node['outputs']); waiting.remove(node)."
        ),
    ],
    mistakes=[
        Mistake(
            "list order",
            lambda nodes, available: [n["name"] for n in nodes],
            "That is the order of the list, which is shuffled: a node may only run after the nodes "
            "that make its inputs.",
        ),
        Mistake(
            "reversed",
            lambda nodes, available: [n["name"] for n in reversed(nodes)],
            "That is the list reversed: a node may only run once its inputs exist.",
        ),
        Mistake(
            "one pass",
            lambda nodes, available: _one_pass(nodes, available),
            "Only one pass over the list: nodes whose inputs appeared later were never run – "
            "keep scanning until every node has run.",
        ),
    ],
)
def execution_order(nodes, available):
    """The names of ``nodes`` in an order in which each node's inputs already exist.

    ``nodes`` is a list of ``{"name", "inputs", "outputs"}``; ``available`` lists the graph
    inputs and initializers. Rule: always run the first node (in list order) that can run.
    """
    known = set(available)
    done: list[str] = []
    waiting = list(nodes)
    while waiting:
        for node in waiting:
            if all(name in known for name in node["inputs"]):
                done.append(node["name"])
                known.update(node["outputs"])
                waiting.remove(node)
                break
        else:
            raise ValueError("execution_order: some nodes can never run (a missing input)")
    return done


# -- Resize (nearest) ----------------------------------------------------------------------------
def _resize_cases(rng: np.random.Generator) -> list[dict]:
    return [
        {"x": np.arange(4.0).reshape(1, 1, 2, 2), "scale_h": 2.0, "scale_w": 2.0},
        {"x": rng.normal(size=(2, 3, 3, 4)), "scale_h": 2.0, "scale_w": 3.0},
        {"x": rng.normal(size=(1, 2, 4, 6)), "scale_h": 1.5, "scale_w": 1.5},
        {"x": rng.normal(size=(1, 1, 8, 6)), "scale_h": 0.5, "scale_w": 0.5},
        {"x": rng.normal(size=(2, 1, 5, 3)), "scale_h": 1.0, "scale_w": 2.5},
    ]


def _resize(x, scale_h, scale_w, rounding, inverse=False):
    h, w = x.shape[2], x.shape[3]
    h_out, w_out = int(np.floor(h * scale_h)), int(np.floor(w * scale_w))
    rows = rounding(np.arange(h_out) * scale_h if inverse else np.arange(h_out) / scale_h)
    cols = rounding(np.arange(w_out) * scale_w if inverse else np.arange(w_out) / scale_w)
    rows = np.minimum(rows.astype(int), h - 1)
    cols = np.minimum(cols.astype(int), w - 1)
    return x[:, :, rows][:, :, :, cols]


@exercise(
    "resize_nearest",
    cases=_resize_cases,
    hint="Work out two things: how big the output is, and which input pixel each output pixel "
    "copies (the nearest one, found by scaling its coordinate back).",
    hints=[
        (
            "Output size: H_out = ⌊H · scale_h⌋ (same for W). Output row i reads input row "
            "⌊i / scale_h⌋ (floor, not round), clipped to H − 1; columns likewise."
        ),
        (
            "rows = np.minimum(np.floor(np.arange(h_out) / scale_h).astype(int), h - 1) "
            "(same for cols); return x[:, :, rows][:, :, :, cols]"
        ),
    ],
    mistakes=[
        Mistake(
            "round",
            lambda x, scale_h, scale_w: _resize(x, scale_h, scale_w, np.round),
            "Output pixel i read input ⌊i / scale⌉ rounded to nearest: "
            "nearest_mode='floor' takes ⌊i / scale⌋.",
        ),
        Mistake(
            "ceil",
            lambda x, scale_h, scale_w: _resize(x, scale_h, scale_w, np.ceil),
            "Output pixel i read input ⌈i / scale⌉: nearest_mode='floor' takes ⌊i / scale⌋.",
        ),
        Mistake(
            "times scale",
            lambda x, scale_h, scale_w: _resize(x, scale_h, scale_w, np.floor, inverse=True),
            "Output pixel i read input ⌊i · scale⌋: scale the coordinate back, ⌊i / scale⌋.",
        ),
        Mistake(
            "axes swapped",
            lambda x, scale_h, scale_w: _resize(x, scale_w, scale_h, np.floor),
            "scale_h and scale_w are swapped: scale_h acts on the rows (axis 2), "
            "scale_w on the columns.",
        ),
    ],
)
def resize_nearest(x, scale_h, scale_w):
    """ONNX Resize with mode='nearest', coordinate_transformation_mode='asymmetric',
    nearest_mode='floor' on a batch (N, C, H, W)."""
    h, w = x.shape[2], x.shape[3]
    h_out, w_out = int(np.floor(h * scale_h)), int(np.floor(w * scale_w))
    rows = np.minimum(np.floor(np.arange(h_out) / scale_h).astype(int), h - 1)
    cols = np.minimum(np.floor(np.arange(w_out) / scale_w).astype(int), w - 1)
    return x[:, :, rows][:, :, :, cols]


# -- the pre-processing contract ------------------------------------------------------------------
def _request_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for mean, std in ((0.1307, 0.3081), (0.5, 0.5), (0.0, 1.0), (0.2, 0.25)):
        image = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
        cases.append({"image": image, "mean": mean, "std": std})
    return cases


@exercise(
    "prepare_request",
    cases=_request_cases,
    hint="The model must see the numbers it was trained on, in the shape and dtype it was "
    "exported with: think of the scale, the normalisation, the batch and the dtype.",
    hints=[
        (
            "Three steps: pixels 0…255 → [0, 1] (divide by 255 as floats), then (x − mean) / std "
            "with the training set's mean and std, then a batch of one image with one channel, "
            "(1, 1, 28, 28), in float32."
        ),
        (
            "x = image.astype(np.float32) / 255; x = (x − mean) / std; "
            "return x.reshape(1, 1, 28, 28).astype(np.float32)"
        ),
    ],
    dtype="float32",
    mistakes=[
        Mistake(
            "no /255",
            lambda image, mean, std: ((image.astype(np.float32) - mean) / std).reshape(
                1, 1, 28, 28
            ),
            "The pixels were not scaled to [0, 1] first: divide by 255 before normalising.",
        ),
        Mistake(
            "mean/std swapped",
            lambda image, mean, std: ((image / 255.0 - std) / mean).reshape(1, 1, 28, 28),
            "mean and std are swapped: subtract the mean, divide by the std.",
        ),
        Mistake(
            "no normalisation",
            lambda image, mean, std: (image / 255.0).reshape(1, 1, 28, 28),
            "The pixels were not normalised: (x − mean) / std with the training set's numbers.",
        ),
        Mistake(
            "multiplied by std",
            lambda image, mean, std: ((image / 255.0 - mean) * std).reshape(1, 1, 28, 28),
            "The std multiplies: divide by it, (x − mean) / std.",
        ),
    ],
)
def prepare_request(image, mean, std):
    """A 28×28 uint8 MNIST-style digit → the normalised (1, 1, 28, 28) float32 batch."""
    x = image.astype(np.float32) / 255.0
    x = (x - np.float32(mean)) / np.float32(std)
    return x.reshape(1, 1, 28, 28).astype(np.float32)
