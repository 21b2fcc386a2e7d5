"""Where does a LeNet-5 training step of edu_cnn spend its time? Per layer, per pass.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lenet_profile.py          # batch 64, 256
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lenet_profile.py --batches 256 --steps 20

Runs the plain API step of ``lenet_speed.py`` (``model.forward`` → loss → ``model.backward``
→ ``opt.step()``, on chapter 7's ``lenet5()``) and times, with the CPU clock of this process
(median over the steps), every call ``Sequential`` makes into a layer – ``forward``,
``backward``, and ``backward_through_relu`` where it runs a ReLU → max-pool pair as one
pass (those rows read "MaxPool2d (+ ReLU)"; the ReLU then has no backward row, and the
first convolution's backward skips ∂L/∂x) – plus the loss and the optimiser step. Set the
thread count with ``OPENBLAS_NUM_THREADS`` (one thread shows the work most clearly).
``--cprofile`` prints the 25 functions with the most own time instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from edu_cnn.init import manual_seed
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5
from edu_cnn.optim import SGD


def profile(batch: int, steps: int) -> None:
    manual_seed(0)
    model = lenet5()
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    loss_fn = CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=0.01)
    times: dict[str, list[float]] = {}

    def clocked(key: str, fn):
        def run(*args):
            start = time.process_time()
            out = fn(*args)
            times.setdefault(key, []).append(time.process_time() - start)
            return out

        return run

    # every call Sequential makes into a layer goes through a clock (instance attributes
    # shadow the class's methods, so model.forward / model.backward run unchanged)
    for i, layer in enumerate(model):
        name = f"{i:2d} {type(layer).__name__}"
        layer.forward = clocked(f"forward  {name}", layer.forward)
        layer.backward = clocked(f"backward {name}", layer.backward)
        if hasattr(layer, "backward_through_relu"):
            fused = clocked(f"backward {name} (+ ReLU {i - 1})", layer.backward_through_relu)
            layer.backward_through_relu = fused
    loss_forward = clocked("loss forward", loss_fn)
    loss_backward = clocked("loss backward", loss_fn.backward)
    step = clocked("SGD step", opt.step)

    for _ in range(steps + 2):
        loss_forward(model.forward(x), y)
        model.backward(loss_backward())
        step()
    medians = {k: statistics.median(v[2:]) * 1e3 for k, v in times.items()}
    total = sum(medians.values())
    print(
        f"\nbatch {batch}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '?')}, "
        f"load {os.getloadavg()[0]:.1f}: {total:.2f} ms CPU per step "
        f"({1e3 * total / batch:.1f} µs per image)"
    )
    print("| part | ms CPU | share |\n| --- | ---: | ---: |")
    forward = sorted(k for k in medians if k.startswith("forward"))
    backward = sorted((k for k in medians if k.startswith("backward")), reverse=True)
    for key in [*forward, "loss forward", "loss backward", *backward, "SGD step"]:
        ms = medians[key]
        print(f"| {key} | {ms:.3f} | {100 * ms / total:.1f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    for batch in (int(b) for b in args.batches.split(",")):
        if args.cprofile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(profile, batch, args.steps)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        else:
            profile(batch, args.steps)


if __name__ == "__main__":
    main()
