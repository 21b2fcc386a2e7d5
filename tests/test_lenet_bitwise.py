"""A LeNet-5 training step gives bitwise the same weights, whatever path computes it.

Speed work on the fast paths (issue 20) may only change *how* the numbers are computed,
never *which* numbers come out – the notebooks' stored accuracies depend on it. Four
checks:

* the same step twice in one process gives the same bits (reused buffers leak nothing);
* the plain ``model.backward(δ)`` – which skips the first layer's ∂L/∂x and runs each
  ReLU → max-pool pair's backward as one pass – leaves every weight bit as asking for ∂L/∂x
  (``model.backward(δ, input_grad=True)``), the first layer's ``needs_input_grad = False``
  flag, and every layer's own ``backward`` called one after the other leave it;
* on the machine where they were recorded, the weights after two SGD-with-momentum steps
  hash to the values the code gave before the speed work (one OpenBLAS thread, in a child
  process). Elsewhere this check is skipped: another CPU or BLAS build sums in another
  order;
* started with ``OPENBLAS_NUM_THREADS`` 2 or 3 – the layers then cut their big passes into
  pieces on that many threads (``edu_cnn.threads``) – the hashes, of the plain path and
  of the layer-by-layer one, are those of one thread, on any machine.

Run ``OPENBLAS_NUM_THREADS=1 python tests/test_lenet_bitwise.py`` to print this machine's
fingerprint and hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edu_cnn.activations import ReLU
from edu_cnn.conv import Conv2d
from edu_cnn.linear import Flatten, Linear
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.optim import SGD
from edu_cnn.pooling import MaxPool2d
from edu_cnn.sequential import Sequential

BATCHES = (8, 64, 300)

# Recorded from commit 4776185 (before the speed work) with OPENBLAS_NUM_THREADS=1.
RECORDED = {
    "fingerprint": {
        "numpy": "2.4.6",
        "blas": (
            "OpenBLAS 0.3.31.188.0  USE64BITINT DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
        ),
        "cpu": "AMD EPYC",
        "avx512f": False,
    },
    "hashes": {
        "8": "41b2d434efdb5b5274ab89bdbe9348d2a2f8541069c7000b92067ff7c077a576",
        "64": "e89043d8a628727a93715cd18bb932bb1688e922f6479cf9db6c97f09be82a20",
        "300": "3f4ff6c6ebc5faeb6191102b09d99949e932bad033ac97a4abe9294a90c8053f",
    },
}


def fingerprint() -> dict[str, object]:
    """What decides the order in which the BLAS sums: numpy, its OpenBLAS build, the CPU."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_text = blas.get("openblas configuration", blas.get("name", "?"))
    except Exception:  # noqa: BLE001 - only a label
        blas_text = "unknown"
    cpu, avx512 = "unknown", False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    avx512 = "avx512f" in line.split()
                    break
    except OSError:
        pass
    return {"numpy": np.__version__, "blas": blas_text, "cpu": cpu, "avx512f": avx512}


def lenet(rng: np.random.Generator) -> Sequential:
    return Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(6, 16, 5, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(400, 120, rng=rng),
        ReLU(),
        Linear(120, 84, rng=rng),
        ReLU(),
        Linear(84, 10, rng=rng),
    )


def weights_after_steps(batch: int, steps: int = 2, path: str = "plain") -> str:
    """SHA-256 of every parameter after ``steps`` steps of SGD with momentum.

    ``path``: ``"plain"`` (``model.backward(δ)``), ``"input_grad=True"``,
    ``"needs_input_grad"`` (the first layer's flag, with ``input_grad=True``) or
    ``"layer by layer"`` (each layer's ``backward`` in turn: no fused passes, every ∂L/∂x).
    """
    rng = np.random.default_rng(0)
    model = lenet(rng)
    if path == "needs_input_grad":
        model[0].needs_input_grad = False
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    x[:, :, :4] = 0.0  # flat regions: ties in max pooling, zeros through ReLU
    y = rng.integers(0, 10, size=batch)
    loss_fn = CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        loss_fn(model.forward(x), y)
        if path == "plain":
            model.backward(loss_fn.backward())
        elif path == "layer by layer":
            grad = loss_fn.backward()
            for layer in reversed(model.layers):
                grad = layer.backward(grad)
        else:
            model.backward(loss_fn.backward(), input_grad=True)
        opt.step()
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(np.ascontiguousarray(p.data).tobytes())
    return digest.hexdigest()


def test_same_step_twice_gives_the_same_bits() -> None:
    assert weights_after_steps(64) == weights_after_steps(64)


@pytest.mark.parametrize("path", ["input_grad=True", "needs_input_grad", "layer by layer"])
@pytest.mark.parametrize("batch", [8, 64])
def test_the_plain_backward_changes_no_weight_bit(batch: int, path: str) -> None:
    assert weights_after_steps(batch, path=path) == weights_after_steps(batch)


def test_weights_bitwise_as_before_the_speed_work() -> None:
    here = child_hashes(1)
    recorded = RECORDED["fingerprint"]
    differs = {
        k: (v, here["fingerprint"][k])
        for k, v in recorded.items()
        if v is not None and here["fingerprint"][k] != v
    }
    if differs:
        pytest.skip(
            f"recorded on another machine/BLAS (recorded vs here: {differs}); "
            f"the hashes depend on the order OpenBLAS sums in"
        )
    assert here["hashes"] == RECORDED["hashes"]


def child_hashes(
    n_threads: int, min_elements: int | None = None, set_threads: bool = False
) -> dict[str, object]:
    """This file run as a script with ``OPENBLAS_NUM_THREADS=n_threads`` (edu_cnn's
    ``threads.MIN_ELEMENTS`` set to ``min_elements``; ``set_threads``: also
    ``threads.set_num_threads(n_threads)``, since OpenBLAS uses at most one thread per
    core): its fingerprint and hashes.
    """
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": str(n_threads),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    extra = [] if min_elements is None else ["--min-elements", str(min_elements)]
    extra += ["--threads", str(n_threads)] if set_threads else []
    out = subprocess.run(
        [sys.executable, __file__, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return json.loads(out)


@pytest.mark.parametrize(
    ("n_threads", "min_elements", "set_threads"), [(2, None, False), (3, 1, True)]
)
def test_any_thread_count_gives_the_one_thread_bits(
    n_threads: int, min_elements: int | None, set_threads: bool
) -> None:
    """The layers cut their big passes into pieces on as many threads as OpenBLAS may use
    (``edu_cnn.threads``); the weights after two steps are the same bits as with one.
    ``min_elements=1`` cuts even the smallest pass.
    """
    one, many = child_hashes(1), child_hashes(n_threads, min_elements, set_threads)
    if many["threads"] == 1:
        pytest.skip("no OpenBLAS (pthreads build) here, or one core: edu_cnn runs on one thread")
    assert many["threads"] == n_threads
    assert many["hashes"] == one["hashes"]
    assert many["layer by layer"] == one["layer by layer"] == one["hashes"]


if __name__ == "__main__":
    from edu_cnn import threads

    if "--min-elements" in sys.argv:
        threads.MIN_ELEMENTS = int(sys.argv[sys.argv.index("--min-elements") + 1])
    if "--threads" in sys.argv:
        threads.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    print(
        json.dumps(
            {
                "fingerprint": fingerprint(),
                "hashes": {str(b): weights_after_steps(b) for b in BATCHES},
                "layer by layer": {
                    str(b): weights_after_steps(b, path="layer by layer") for b in BATCHES
                },
                "threads": threads.get_num_threads(),
            }
        )
    )
