"""Chapter 8 exercises: what an ONNX runtime does, one operator and one rule at a time.

* ``gemm`` – the ONNX ``Gemm`` operator, which every ``Linear`` layer becomes;
* ``execution_order`` – run a graph whose nodes are joined only by tensor names;
* ``resize_nearest`` – the ONNX ``Resize`` operator that ``Upsample`` becomes;
* ``prepare_request`` – the pre-processing contract of a deployed MNIST model.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


# -- Gemm ---------------------------------------------------------------------------------------
def _gemm_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        # a Linear layer: Y = X Wᵀ + b
        {"A": rng.normal(size=(4, 3)), "B": rng.normal(size=(2, 3)), "C": rng.normal(size=2),
             "transB": 1},
        {"A": rng.normal(size=(1, 5)), "B": rng.normal(size=(5, 4)), "C": rng.normal(size=(1, 4))},
        {"A": rng.normal(size=(3, 2)), "B": rng.normal(size=(3, 4)), "C": rng.normal(size=(2, 4)),
             "transA": 1, "alpha": 0.5, "beta": 2.0},
        {"A": rng.normal(size=(2, 6)), "B": rng.normal(size=(3, 6)), "C": np.array(1.5),
             "transB": 1, "alpha": -1.0},
        {"A": rng.normal(size=(5, 3)), "B": rng.normal(size=(4, 5)), "C": rng.normal(size=(3, 1)),
             "transA": 1, "transB": 1, "beta": 0.0},
    ]
    return cases


@exercise(
    "gemm",
    cases=_gemm_cases,
    hint="Transpose A when transA = 1 and B when transB = 1 first, then "
         "Y = alpha · (A @ B) + beta · C, with C broadcast to Y's shape (numpy does this).",
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
    chain = [_node("conv", ["input", "w1", "b1"], ["t1"]), _node("relu", ["t1"], ["t2"]),
             _node("pool", ["t2"], ["t3"]), _node("flatten", ["t3"], ["t4"]),
             _node("gemm", ["t4", "w2", "b2"], ["output"])]
    residual = [_node("conv_a", ["x", "wa"], ["a"]), _node("relu_a", ["a"], ["a2"]),
                _node("conv_b", ["a2", "wb"], ["b"]), _node("add", ["b", "x"], ["s"]),
                _node("relu_out", ["s"], ["y"])]
    two_heads = [_node("trunk", ["img", "w"], ["f"]), _node("head_1", ["f", "w1"], ["p1"]),
                 _node("head_2", ["f", "w2"], ["p2"]), _node("concat", ["p1", "p2"], ["out"])]
    cases = [{"nodes": chain, "available": ["input", "w1", "b1", "w2", "b2"]}]
    for graph, available in ((chain, ["input", "w1", "b1", "w2", "b2"]),
                             (residual, ["x", "wa", "wb"]), (two_heads, ["img", "w", "w1", "w2"])):
        for _ in range(2):
            shuffled = [graph[i] for i in rng.permutation(len(graph))]
            cases.append({"nodes": shuffled, "available": list(available)})
    return cases


@exercise(
    "execution_order",
    cases=_order_cases,
    hint="Keep a set of the tensor names that exist (start with `available`). Repeatedly "
         "scan the nodes in list order and run the first one not yet run whose inputs all "
         "exist; add its outputs to the set. Stop when every node has run.",
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


@exercise(
    "resize_nearest",
    cases=_resize_cases,
    hint="Output size: H_out = ⌊H · scale_h⌋ (same for W). Output row i reads input row "
         "⌊i / scale_h⌋, clipped to H − 1; columns likewise. Fancy indexing "
         "x[:, :, rows][:, :, :, cols] does it in one go.",
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
    hint="Three steps: pixels 0…255 → [0, 1] (divide by 255 as floats), then (x − mean) / std "
         "with the training set's mean and std, then reshape to the batch (1, 1, 28, 28) in "
         "float32.",
)
def prepare_request(image, mean, std):
    """A 28×28 uint8 MNIST-style digit → the normalised (1, 1, 28, 28) float32 batch."""
    x = image.astype(np.float32) / 255.0
    x = (x - np.float32(mean)) / np.float32(std)
    return x.reshape(1, 1, 28, 28).astype(np.float32)
